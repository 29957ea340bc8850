//! The policy in force, the last reload's error, and the rule that a reload may
//! not need a capability the daemon already dropped.

use crate::policy::{Policy, PolicyError};
use crate::privileges;
use caps::CapsHashSet;
use std::path::{Path, PathBuf};

/// The policy in force and the last reload's error.
#[derive(Debug)]
pub struct PolicyHolder {
    pub path: PathBuf,
    pub policy: Policy,
    pub reload_error: Option<ReloadError>,
    /// Capabilities given up at start; a policy needing one cannot be loaded.
    pub dropped: CapsHashSet,
}

/// Why a reload was refused.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// Names the capabilities, e.g. `CAP_SYS_ADMIN`.
    #[error("the new policy needs {0} which milspecd dropped at start; restart the service")]
    NeedsDroppedCapabilities(String),
}

impl PolicyHolder {
    pub fn load(path: &Path) -> Result<Self, PolicyError> {
        Ok(PolicyHolder {
            path: path.to_owned(),
            policy: Policy::load(path)?,
            reload_error: None,
            dropped: CapsHashSet::new(),
        })
    }

    /// Re-reads the file. On error the previous policy stays in force and the
    /// error is kept for health; `Ok` means the new policy now applies.
    pub fn reload(&mut self) -> Result<(), &ReloadError> {
        let outcome = Policy::load(&self.path)
            .map_err(ReloadError::from)
            .and_then(|p| {
                let missing: CapsHashSet = privileges::needed(&p)
                    .intersection(&self.dropped)
                    .copied()
                    .collect();
                if missing.is_empty() {
                    Ok(p)
                } else {
                    Err(ReloadError::NeedsDroppedCapabilities(privileges::names(
                        &missing,
                    )))
                }
            });
        match outcome {
            Ok(p) => {
                self.policy = p;
                self.reload_error = None;
                Ok(())
            }
            Err(e) => Err(self.reload_error.insert(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::BelowMinimum;
    use milspec_abi::SecurityLevel;

    #[test]
    fn reload_keeps_the_last_good_policy() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("policy.toml");
        std::fs::write(
            &path,
            "[level]\nminimum = \"enhanced\"\non_below = \"alert\"\n",
        )
        .unwrap();
        let mut h = PolicyHolder::load(&path).unwrap();
        std::fs::write(&path, "[level]\nminimum = \"nonsense\"\n").unwrap();
        let err = h.reload().unwrap_err().to_string();
        assert!(err.contains("line 2") && err.contains("nonsense"), "{err}");
        assert_eq!(
            h.policy.level.minimum.map(|l| l.0),
            Some(SecurityLevel::Enhanced),
            "old policy kept"
        );
        assert!(h.reload_error.is_some());
        std::fs::write(
            &path,
            "[level]\nminimum = \"standard\"\non_below = \"alert\"\n",
        )
        .unwrap();
        h.reload().unwrap();
        assert_eq!(
            h.policy.level.minimum.map(|l| l.0),
            Some(SecurityLevel::Standard)
        );
        assert!(h.reload_error.is_none());
        // A policy needing a capability given up at start is refused.
        h.dropped.insert(caps::Capability::CAP_SYS_ADMIN);
        std::fs::write(&path, "[level]\nminimum = \"enhanced\"\n").unwrap();
        let err = h.reload().unwrap_err().to_string();
        assert!(
            err.contains("CAP_SYS_ADMIN") && err.contains("restart"),
            "{err}"
        );
        assert_eq!(
            h.policy.level.on_below,
            BelowMinimum::Alert,
            "old policy kept"
        );
        std::fs::remove_file(&path).unwrap();
        assert!(h
            .reload()
            .unwrap_err()
            .to_string()
            .contains("cannot read policy"));
    }
}
