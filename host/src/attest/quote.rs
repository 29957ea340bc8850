//! TPM2 quotes: the `TPMS_ATTEST` structure a quote signs (parsed here, so that
//! the nonce and the PCR digest are checked by this code with distinct errors),
//! and the tpm2-tools commands that make one.
//!
//! Why tpm2-tools and not a Rust TSS crate: `tss-esapi` links the same tpm2-tss C
//! libraries (plus bindgen at build time) and is far larger than the three
//! commands needed here; tpm2-tools is Debian's packaged, maintained front end to
//! those libraries, and quotes are made on the attested host only. Verification
//! needs neither: the structure is parsed here and the RSA signature is checked
//! with `openssl`, present on any verifier.

use super::error::{AttestError, Result};
use super::replay::Bank;
use std::path::Path;
use std::process::Command;

/// `TPM_GENERATED_VALUE`: every structure the TPM signs starts with it.
const TPM_GENERATED: u32 = 0xff54_4347;
/// `TPM_ST_ATTEST_QUOTE`.
const ST_ATTEST_QUOTE: u16 = 0x8018;
/// Persistent handle of our attestation key (owner range, TCG's AK convention).
pub const AK_HANDLE: &str = "0x81010002";

/// What a quote attests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuoteInfo {
    /// `extraData`: the verifier's nonce.
    pub nonce: Vec<u8>,
    /// Selected PCRs, in the order the digest covers them: (bank alg, pcr).
    pub selection: Vec<(u16, u32)>,
    /// Digest of the selected PCR values, concatenated in that order.
    pub pcr_digest: Vec<u8>,
    pub reset_count: u32,
    pub restart_count: u32,
}

struct Be<'a>(&'a [u8]);

impl<'a> Be<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        (self.0.len() >= n).then(|| {
            let (h, r) = self.0.split_at(n);
            self.0 = r;
            h
        })
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn tpm2b(&mut self) -> Option<&'a [u8]> {
        let n = self.u16()?;
        self.take(n as usize)
    }
}

/// Parses a `TPMS_ATTEST` of type quote.
pub fn parse_attest(msg: &[u8]) -> Result<QuoteInfo> {
    let bad = || AttestError::Signature("the quote is not a TPMS_ATTEST quote structure".into());
    let mut r = Be(msg);
    if r.u32() != Some(TPM_GENERATED) || r.u16() != Some(ST_ATTEST_QUOTE) {
        return Err(bad());
    }
    r.tpm2b().ok_or_else(bad)?; // qualifiedSigner
    let nonce = r.tpm2b().ok_or_else(bad)?.to_vec();
    r.take(8).ok_or_else(bad)?; // clock
    let reset_count = r.u32().ok_or_else(bad)?;
    let restart_count = r.u32().ok_or_else(bad)?;
    r.u8().ok_or_else(bad)?; // safe
    r.take(8).ok_or_else(bad)?; // firmwareVersion
    let count = r.u32().filter(|c| *c <= 16).ok_or_else(bad)?;
    let mut selection = Vec::new();
    for _ in 0..count {
        let alg = r.u16().ok_or_else(bad)?;
        let size = r.u8().ok_or_else(bad)?;
        let bits = r.take(size as usize).ok_or_else(bad)?;
        for (byte_i, byte) in bits.iter().enumerate() {
            for bit in 0..8 {
                if byte & (1 << bit) != 0 {
                    selection.push((alg, (byte_i * 8 + bit) as u32));
                }
            }
        }
    }
    let pcr_digest = r.tpm2b().ok_or_else(bad)?.to_vec();
    if !r.0.is_empty() {
        return Err(bad());
    }
    Ok(QuoteInfo {
        nonce,
        selection,
        pcr_digest,
        reset_count,
        restart_count,
    })
}

fn run(dir: &Path, tool: &str, args: &[&str]) -> Result<()> {
    let out = Command::new(tool)
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(|e| AttestError::Unavailable(format!("{tool}: {e} (install tpm2-tools)")))?;
    if out.status.success() {
        return Ok(());
    }
    Err(AttestError::Unavailable(format!(
        "{tool} {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr).trim()
    )))
}

/// Flushes transient objects and sessions: without a resource manager
/// (`/dev/tpm0`, a TCP simulator) tpm2-tools leave them loaded, and the TPM has
/// only a few slots. With `/dev/tpmrm0` there is nothing to flush.
fn flush(dir: &Path) {
    let _ = run(dir, "tpm2_flushcontext", &["-t"]);
    let _ = run(dir, "tpm2_flushcontext", &["-s"]);
}

/// The attestation key's public part (PEM), creating and persisting the key
/// under the endorsement key at [`AK_HANDLE`] on first use.
pub fn ensure_ak(dir: &Path) -> Result<String> {
    let read = |dir: &Path| {
        run(
            dir,
            "tpm2_readpublic",
            &["-c", AK_HANDLE, "-f", "pem", "-o", "ak.pem"],
        )
    };
    if read(dir).is_err() {
        flush(dir);
        run(
            dir,
            "tpm2_createek",
            &["-c", "ek.ctx", "-G", "rsa", "-u", "ek.pub"],
        )?;
        run(
            dir,
            "tpm2_createak",
            &[
                "-C", "ek.ctx", "-c", "ak.ctx", "-G", "rsa", "-g", "sha256", "-s", "rsassa", "-u",
                "ak.pub", "-n", "ak.name",
            ],
        )?;
        flush(dir);
        run(
            dir,
            "tpm2_evictcontrol",
            &["-C", "o", "-c", "ak.ctx", AK_HANDLE],
        )?;
        read(dir)?;
    }
    let pem = dir.join("ak.pem");
    std::fs::read_to_string(&pem).map_err(|source| AttestError::Io { path: pem, source })
}

/// Quotes PCR 10 of both banks with the AK over `nonce`: (TPMS_ATTEST, signature
/// as a plain RSASSA-SHA256 signature).
pub fn quote(dir: &Path, nonce: &[u8]) -> Result<(Vec<u8>, Vec<u8>)> {
    let nonce_hex = hex::encode(nonce);
    run(
        dir,
        "tpm2_quote",
        &[
            "-c",
            AK_HANDLE,
            "-l",
            "sha1:10+sha256:10",
            "-q",
            &nonce_hex,
            "-g",
            "sha256",
            "-m",
            "quote.msg",
            "-s",
            "quote.sig",
            "-f",
            "plain",
        ],
    )?;
    let read = |name: &str| {
        let p = dir.join(name);
        std::fs::read(&p).map_err(|source| AttestError::Io { path: p, source })
    };
    Ok((read("quote.msg")?, read("quote.sig")?))
}

/// Checks an RSASSA-SHA256 signature over `msg` with the PEM public key, using
/// `openssl dgst -verify`.
pub fn verify_signature(dir: &Path, ak_pem: &str, msg: &[u8], sig: &[u8]) -> Result<()> {
    let write = |name: &str, data: &[u8]| {
        let p = dir.join(name);
        std::fs::write(&p, data).map_err(|source| AttestError::Io { path: p, source })
    };
    write("ak.pem", ak_pem.as_bytes())?;
    write("quote.msg", msg)?;
    write("quote.sig", sig)?;
    let out = Command::new("openssl")
        .args([
            "dgst",
            "-sha256",
            "-verify",
            "ak.pem",
            "-signature",
            "quote.sig",
            "quote.msg",
        ])
        .current_dir(dir)
        .output()
        .map_err(|e| AttestError::Unavailable(format!("openssl: {e}")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(AttestError::Signature(format!(
            "openssl: {}",
            String::from_utf8_lossy(&out.stdout).trim()
        )))
    }
}

/// The digest a quote states for `values` (PCR values in selection order).
pub fn pcr_digest(values: &[&[u8]]) -> Vec<u8> {
    Bank::Sha256.hash(values)
}
