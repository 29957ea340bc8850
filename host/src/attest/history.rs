//! Our entries in IMA's log, decoded: the posture history since boot.

use super::error::{AttestError, Result};
use super::imalog::Entry;
use milspec_abi::{Posture, IMA_EVENT_NAME};
use serde::Serialize;

/// One posture entry (see `abi/src/uapi/posture.rs`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PostureRecord {
    /// Index of the entry in IMA's log.
    pub log_index: usize,
    pub seq: u64,
    pub reason: &'static str,
    pub module_version: String,
    pub abi: u32,
    pub level: &'static str,
    /// Numeric level (0-4), for comparisons.
    pub level_value: u32,
    pub locked: bool,
    pub allowlist_entries: u32,
    pub allowlist_sha256: String,
    /// `<entries>:<sha256>` as the buffer writes it (what a policy lists).
    pub allowlist: String,
    /// SHA-256 of the buffer (the `d-ng` digest; what Keylime's `ima-buf` lists).
    pub buffer_sha256: String,
}

/// Every `milspec-posture` entry of `entries`, in log order. An entry with our
/// name whose buffer is not a posture is an error: only the module writes it.
pub fn decode(entries: &[Entry]) -> Result<Vec<PostureRecord>> {
    let mut out = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let Some(f) = e.fields() else { continue };
        if f.name != IMA_EVENT_NAME {
            continue;
        }
        let buf = f.buf.as_deref().ok_or_else(|| {
            AttestError::LogTampered(format!("entry {i}: {IMA_EVENT_NAME} without a buffer"))
        })?;
        let p = Posture::parse(buf)
            .map_err(|err| AttestError::LogTampered(format!("entry {i}: {err}")))?;
        out.push(PostureRecord {
            log_index: i,
            seq: p.seq,
            reason: p.reason.as_str(),
            module_version: p.module_version.to_owned(),
            abi: p.abi,
            level: p.level.as_str(),
            level_value: p.level as u32,
            locked: p.locked,
            allowlist_entries: p.allowlist_entries,
            allowlist_sha256: hex::encode(p.allowlist_sha256),
            allowlist: format!(
                "{}:{}",
                p.allowlist_entries,
                hex::encode(p.allowlist_sha256)
            ),
            buffer_sha256: hex::encode(&f.digest),
        });
    }
    Ok(out)
}
