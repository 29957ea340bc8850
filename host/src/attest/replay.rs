//! Replaying IMA's log into PCR values, one per TPM bank: starting from zeros,
//! `PCR = H(PCR || H(template data))` for every entry of that PCR; a violation
//! extends all-ones instead.

use super::error::{AttestError, Result};
use super::imalog::Entry;
use serde::Serialize;
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// The PCR IMA extends (`CONFIG_IMA_MEASURE_PCR_IDX`, and the TCG registry's).
pub const IMA_PCR: u32 = 10;

/// A TPM PCR bank this tool replays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Bank {
    Sha1,
    Sha256,
}

impl Bank {
    pub const ALL: [Bank; 2] = [Bank::Sha1, Bank::Sha256];

    pub fn as_str(self) -> &'static str {
        match self {
            Bank::Sha1 => "sha1",
            Bank::Sha256 => "sha256",
        }
    }

    /// TPM2 algorithm identifier (`TPM_ALG_SHA1`, `TPM_ALG_SHA256`).
    pub fn tpm_alg(self) -> u16 {
        match self {
            Bank::Sha1 => 0x0004,
            Bank::Sha256 => 0x000B,
        }
    }

    pub fn from_tpm_alg(alg: u16) -> Option<Bank> {
        Bank::ALL.into_iter().find(|b| b.tpm_alg() == alg)
    }

    pub fn digest_len(self) -> usize {
        match self {
            Bank::Sha1 => 20,
            Bank::Sha256 => 32,
        }
    }

    pub fn hash(self, parts: &[&[u8]]) -> Vec<u8> {
        match self {
            Bank::Sha1 => {
                let mut h = Sha1::new();
                parts.iter().for_each(|p| h.update(p));
                h.finalize().to_vec()
            }
            Bank::Sha256 => {
                let mut h = Sha256::new();
                parts.iter().for_each(|p| h.update(p));
                h.finalize().to_vec()
            }
        }
    }
}

/// Checks every entry (see [`Entry::check`]) and replays `pcr` in `bank`.
pub fn replay(entries: &[Entry], pcr: u32, bank: Bank) -> Result<Vec<u8>> {
    let mut value = vec![0u8; bank.digest_len()];
    for (i, e) in entries.iter().enumerate() {
        e.check(i)?;
        if e.pcr != pcr {
            continue;
        }
        let digest = if e.is_violation() {
            vec![0xFF; bank.digest_len()]
        } else {
            bank.hash(&[&e.data])
        };
        value = bank.hash(&[&value, &digest]);
    }
    Ok(value)
}

/// Compares a replayed value with the TPM's (or the quote's).
pub fn compare(bank: Bank, replayed: &[u8], tpm: &[u8], source: &str) -> Result<()> {
    if replayed == tpm {
        return Ok(());
    }
    Err(AttestError::PcrMismatch(format!(
        "PCR {IMA_PCR} {}: the log replays to {}, {source} has {}",
        bank.as_str(),
        hex::encode(replayed),
        hex::encode(tpm)
    )))
}
