//! Enforcement against the connected module: raise the level to the minimum,
//! push the allowlist, lock, and check the module's version and file hash.

use super::Service;
use crate::actions::Violation;
use crate::metrics::ActionResult;
use crate::policy::{BelowMinimum, ViolationKind};
use milspec_abi::{status_flags, SecurityLevel};

impl Service {
    /// Raises the level, pushes the allowlist and locks, as the policy says.
    pub(super) fn enforce_full(&mut self) {
        self.enforcement_problems.clear();
        self.check_level();
        let Some(status) = self.device().and_then(|d| d.status().ok()) else {
            return;
        };
        let locked = status.flags & status_flags::LEVEL_LOCKED != 0;
        let names: Vec<String> = self.policy.policy.allowlist().to_vec();
        if !names.is_empty() {
            if !locked {
                let refs: Vec<&str> = names.iter().map(String::as_str).collect();
                match self.device().map(|d| d.set_allowlist(&refs)) {
                    Some(Ok(())) => {
                        tracing::info!("pushed the module allowlist ({} names)", names.len())
                    }
                    Some(Err(e)) => self
                        .enforcement_problems
                        .push(format!("cannot push the allowlist: {e}")),
                    None => {}
                }
            } else if status.allowlist_len as usize != names.len() {
                self.enforcement_problems.push(format!(
                    "the level is locked with an allowlist of {} entries, the policy has {}; \
                     it can only change after a reboot",
                    status.allowlist_len,
                    names.len()
                ));
            }
        }
        if let Some(lock) = self.policy.policy.lock_at() {
            let level = SecurityLevel::from_u32(status.security_level);
            if level.is_some_and(|l| l < lock) {
                match self.device().map(|d| d.set_level(lock)) {
                    Some(Ok(())) => {
                        tracing::info!("level set to {} (locked until reboot)", lock.as_str())
                    }
                    Some(Err(e)) => self
                        .enforcement_problems
                        .push(format!("cannot lock at {}: {e}", lock.as_str())),
                    None => {}
                }
            }
        }
    }

    /// Checks the level against the minimum; raises it when the policy says so.
    pub(super) fn check_level(&mut self) {
        let Some(min) = self.policy.policy.level.minimum.map(|l| l.0) else {
            return;
        };
        let Some(status) = self.device().and_then(|d| d.status().ok()) else {
            return;
        };
        let Some(level) = SecurityLevel::from_u32(status.security_level) else {
            return;
        };
        if level >= min {
            return;
        }
        self.violation(Violation::new(
            ViolationKind::LevelBelowMinimum,
            format!(
                "security level {} is below the policy minimum {}",
                level.as_str(),
                min.as_str()
            ),
        ));
        if self.policy.policy.level.on_below == BelowMinimum::Raise {
            let result = self.device().map(|d| d.set_level(min));
            match result {
                Some(Ok(())) => {
                    tracing::warn!(
                        "raised the level from {} to {}",
                        level.as_str(),
                        min.as_str()
                    );
                    self.metrics.count_action("raise_level", ActionResult::Ok);
                }
                Some(Err(e)) => {
                    tracing::error!("cannot raise the level to {}: {e}", min.as_str());
                    self.metrics
                        .count_action("raise_level", ActionResult::Failed);
                    self.enforcement_problems
                        .push(format!("cannot raise the level to {}: {e}", min.as_str()));
                }
                None => {}
            }
        }
    }

    pub(super) fn check_module_allowed(&mut self, version: &str) {
        let m = &self.policy.policy.modules;
        let mut problems = Vec::new();
        if !m.allowed_versions.is_empty() && !m.allowed_versions.iter().any(|v| v == version) {
            problems.push(format!(
                "module version {version} is not in modules.allowed_versions"
            ));
        }
        if !m.allowed_sha256.is_empty() {
            // DKMS builds are stored per kernel as <version>+<release>.
            let release = milspec_host::paths::kernel_release();
            let dkms_id = milspec_host::store::dkms_id(version, &release);
            let manifest = milspec_host::store::read_manifest(&m.store_root, &dkms_id)
                .or_else(|_| milspec_host::store::read_manifest(&m.store_root, &version.into()));
            match manifest {
                Ok(man) if m.allowed_sha256.iter().any(|h| h.as_str() == man.sha256) => {}
                Ok(man) => problems.push(format!(
                    "module {version} (sha256 {}) is not in modules.allowed_sha256",
                    man.sha256
                )),
                Err(e) => problems.push(format!(
                    "the file hash of module {version} is unknown ({e}); load it with milspecctl"
                )),
            }
        }
        for p in problems {
            self.violation(Violation::new(ViolationKind::ModuleNotAllowed, p));
        }
    }
}
