//! The evidence a host sends a verifier: quote, signature, AK public key, the
//! quoted PCR values and IMA's log, as one JSON document
//! (`milspec-attest-bundle/1`, documented in `docs/attestation.md`).

use super::error::{AttestError, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

pub const BUNDLE_FORMAT: &str = "milspec-attest-bundle/1";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bundle {
    pub format: String,
    /// The verifier's nonce (hex), as given to `--nonce`.
    pub nonce: String,
    /// `TPMS_ATTEST` (hex).
    pub quote: String,
    /// RSASSA-SHA256 signature over `quote` (hex).
    pub signature: String,
    /// The attestation key's public part, PEM.
    pub ak_public_pem: String,
    /// PCR 10 per bank (hex), read around the quote.
    pub pcr10_sha1: String,
    pub pcr10_sha256: String,
    /// IMA's binary log (hex), read after the quote.
    pub ima_log: String,
}

fn unhex(field: &str, s: &str) -> Result<Vec<u8>> {
    hex::decode(s).map_err(|e| AttestError::Invalid(format!("bundle field {field}: {e}")))
}

impl Bundle {
    pub fn quote_bytes(&self) -> Result<Vec<u8>> {
        unhex("quote", &self.quote)
    }
    pub fn signature_bytes(&self) -> Result<Vec<u8>> {
        unhex("signature", &self.signature)
    }
    pub fn log_bytes(&self) -> Result<Vec<u8>> {
        unhex("ima_log", &self.ima_log)
    }
    pub fn pcr_bytes(&self) -> Result<(Vec<u8>, Vec<u8>)> {
        Ok((
            unhex("pcr10_sha1", &self.pcr10_sha1)?,
            unhex("pcr10_sha256", &self.pcr10_sha256)?,
        ))
    }

    pub fn read(path: &Path) -> Result<Bundle> {
        let text = std::fs::read_to_string(path).map_err(|source| AttestError::Io {
            path: path.into(),
            source,
        })?;
        let b: Bundle = serde_json::from_str(&text)
            .map_err(|e| AttestError::Invalid(format!("{}: {e}", path.display())))?;
        if b.format != BUNDLE_FORMAT {
            return Err(AttestError::Invalid(format!(
                "{}: format {:?}, expected {BUNDLE_FORMAT}",
                path.display(),
                b.format
            )));
        }
        Ok(b)
    }
}

/// The same key, whatever the PEM line wrapping.
pub fn same_key(a_pem: &str, b_pem: &str) -> bool {
    let norm = |s: &str| s.split_whitespace().collect::<String>();
    norm(a_pem) == norm(b_pem)
}
