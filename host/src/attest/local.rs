//! Where a host's evidence is: IMA's binary log in securityfs and the TPM's PCR
//! values in sysfs (Linux 6.12 has `pcr-<bank>/<n>` files for TPM 2.0 chips).

use super::error::{AttestError, Result};
use super::replay::{Bank, IMA_PCR};
use std::path::PathBuf;

/// Paths, overridable for tests (`MILSPEC_IMA_LOG`, `MILSPEC_TPM_SYSFS`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sources {
    pub ima_log: PathBuf,
    pub tpm_sysfs: PathBuf,
}

impl Default for Sources {
    fn default() -> Self {
        Sources {
            ima_log: "/sys/kernel/security/ima/binary_runtime_measurements".into(),
            tpm_sysfs: "/sys/class/tpm/tpm0".into(),
        }
    }
}

impl Sources {
    pub fn from_env() -> Self {
        let mut s = Sources::default();
        if let Some(p) = std::env::var_os("MILSPEC_IMA_LOG") {
            s.ima_log = p.into();
        }
        if let Some(p) = std::env::var_os("MILSPEC_TPM_SYSFS") {
            s.tpm_sysfs = p.into();
        }
        s
    }

    /// IMA's log; `Unavailable` without IMA (or securityfs).
    pub fn read_log(&self) -> Result<Vec<u8>> {
        std::fs::read(&self.ima_log).map_err(|e| {
            AttestError::Unavailable(format!(
                "{}: {e} (kernel without IMA, or securityfs not mounted)",
                self.ima_log.display()
            ))
        })
    }

    /// Whether a TPM 2.0 with PCR files is there.
    pub fn has_tpm(&self) -> bool {
        self.tpm_sysfs.join("pcr-sha256").is_dir() || self.tpm_sysfs.join("pcr-sha1").is_dir()
    }

    /// PCR 10 of `bank`; `Ok(None)` when the TPM has no such bank.
    pub fn read_pcr(&self, bank: Bank) -> Result<Option<Vec<u8>>> {
        let dir = self.tpm_sysfs.join(format!("pcr-{}", bank.as_str()));
        if !dir.is_dir() {
            return Ok(None);
        }
        let path = dir.join(IMA_PCR.to_string());
        let text = std::fs::read_to_string(&path).map_err(|source| AttestError::Io {
            path: path.clone(),
            source,
        })?;
        hex::decode(text.trim())
            .map(Some)
            .map_err(|e| AttestError::Invalid(format!("{}: {e}", path.display())))
    }
}
