//! What a verifier accepts: a minimum level (from the first entry after the
//! last load on, or for the whole history), allowlist digests, module versions.

use super::error::{AttestError, Result};
use super::history::PostureRecord;
use milspec_abi::SecurityLevel;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AttestPolicy {
    /// The current (last) posture must be at least this level.
    pub min_level: Option<SecurityLevel>,
    /// The current posture's allowlist must be one of these, each
    /// `<entries>:<sha256 hex>` as the buffer writes it.
    pub allowlists: Vec<String>,
    /// Every entry's module version must be one of these.
    pub module_versions: Vec<String>,
    /// Require at least one posture entry (a host that never loaded the module
    /// proves nothing).
    pub require_entries: bool,
}

impl AttestPolicy {
    /// The violations of `history`; empty when it complies.
    pub fn violations(&self, history: &[PostureRecord]) -> Vec<String> {
        let mut out = Vec::new();
        let Some(last) = history.last() else {
            if self.require_entries || self.min_level.is_some() {
                out.push("no milspec-posture entry in the log: the module never measured".into());
            }
            return out;
        };
        if let Some(min) = self.min_level {
            if last.level_value < min as u32 {
                out.push(format!(
                    "current level {} (seq {}) is below {}",
                    last.level,
                    last.seq,
                    min.as_str()
                ));
            }
        }
        if !self.allowlists.is_empty()
            && !self
                .allowlists
                .iter()
                .any(|d| d.eq_ignore_ascii_case(&last.allowlist))
        {
            out.push(format!(
                "current allowlist {} is not allowed",
                last.allowlist
            ));
        }
        if !self.module_versions.is_empty() {
            for r in history {
                if !self.module_versions.contains(&r.module_version) {
                    out.push(format!(
                        "entry seq {} was made by module version {}, not allowed",
                        r.seq, r.module_version
                    ));
                }
            }
        }
        out
    }

    /// `Err(Policy)` listing every violation.
    pub fn check(&self, history: &[PostureRecord]) -> Result<()> {
        let v = self.violations(history);
        if v.is_empty() {
            Ok(())
        } else {
            Err(AttestError::Policy(v.join("; ")))
        }
    }
}
