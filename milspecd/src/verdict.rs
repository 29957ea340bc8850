//! Health verdict: one word plus reasons, from one reading of the module's state.

use milspec_abi::PlatformState;
use milspec_host::snapshot::{RefusalsView, Snapshot, SnapshotError};
use milspec_host::status::Measurement;
use serde::Serialize;

/// Overall health, worst first when compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    Healthy,
    Degraded,
    Unhealthy,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Healthy => "healthy",
            Health::Degraded => "degraded",
            Health::Unhealthy => "unhealthy",
        }
    }

    /// Process exit code of `milspecd --once`.
    pub fn exit_code(self) -> i32 {
        match self {
            Health::Healthy => 0,
            Health::Degraded => 1,
            Health::Unhealthy => 2,
        }
    }
}

/// The verdict with the reasons behind it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub health: Health,
    pub reasons: Vec<String>,
    pub module_version: Option<String>,
    /// `vendor product`, when the module could be read.
    pub platform: Option<String>,
    /// Privileged calls the module refused, per (uid, command), when it could be
    /// read. Not a health matter: the policy's `ioctl_denied` actions handle them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused_calls: Option<RefusalsView>,
    /// The measured posture's state, when the module reports it.
    pub measurement: Option<Measurement>,
}

impl Verdict {
    /// One line for humans and for systemd's `STATUS=`.
    pub fn summary(&self) -> String {
        let mut line = self.health.as_str().to_owned();
        if let (Some(v), Some(p)) = (&self.module_version, &self.platform) {
            line.push_str(&format!(": {} {v} on {p}", milspec_abi::MODULE_NAME));
        }
        if !self.reasons.is_empty() {
            line.push_str(if self.module_version.is_some() {
                "; "
            } else {
                ": "
            });
            line.push_str(&self.reasons.join("; "));
        }
        line
    }
}

/// Judges one attempt to read the module's state.
pub fn assess(reading: &Result<Option<Snapshot>, SnapshotError>) -> Verdict {
    let mut reasons = Vec::new();
    let snap = match reading {
        Err(e) => {
            return Verdict {
                health: Health::Unhealthy,
                reasons: vec![format!("cannot read module state: {e}")],
                module_version: None,
                platform: None,
                refused_calls: None,
                measurement: None,
            }
        }
        Ok(None) => {
            return Verdict {
                health: Health::Unhealthy,
                reasons: vec![format!("{} is not loaded", milspec_abi::MODULE_NAME)],
                module_version: None,
                platform: None,
                refused_calls: None,
                measurement: None,
            }
        }
        Ok(Some(s)) => s,
    };
    let mut health = Health::Healthy;
    if !snap.is_consistent() {
        health = Health::Unhealthy;
        reasons.extend(snap.problems.iter().cloned());
    }
    if snap.proc.platform_state.0 == PlatformState::Forced {
        health = health.max(Health::Degraded);
        reasons.push(format!(
            "platform forced: {} {} is not on the supported list",
            snap.proc.platform_vendor, snap.proc.platform_product
        ));
    }
    Verdict {
        health,
        reasons,
        module_version: Some(snap.proc.module_version.clone()),
        platform: Some(format!(
            "{} {}",
            snap.proc.platform_vendor, snap.proc.platform_product
        )),
        refused_calls: Some(snap.refusals.clone()),
        measurement: snap.proc.measurement(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use milspec_host::device::DeviceInfo;
    use milspec_host::status::ProcStatus;

    fn snapshot(state: &str, info_version: &str) -> Snapshot {
        let proc = ProcStatus::parse(&format!(
            "abi_version: {}\nmodule_version: 0.1.0\nplatform_vendor: V\nplatform_product: P\n\
bios_version: 1\nplatform_state: {state}\nsecurity_level: standard (1)\n\
security_level_locked: no\nevents_total: 1\nevents_lost: 0\ntokens: 0\n",
            milspec_abi::ABI_VERSION
        ))
        .unwrap();
        let info = DeviceInfo {
            abi_version: milspec_abi::ABI_VERSION,
            module_version: info_version.into(),
            platform_state: PlatformState::parse(state).unwrap(),
        };
        Snapshot::from_parts(proc, &info, None)
    }

    #[test]
    fn supported_and_consistent_is_healthy() {
        let v = assess(&Ok(Some(snapshot("supported", "0.1.0"))));
        assert_eq!(v.health, Health::Healthy);
        assert_eq!(v.summary(), "healthy: dell_milspec 0.1.0 on V P");
        assert_eq!(v.module_version.as_deref(), Some("0.1.0"));
    }

    #[test]
    fn forced_platform_is_degraded() {
        let v = assess(&Ok(Some(snapshot("forced", "0.1.0"))));
        assert_eq!(v.health, Health::Degraded);
        assert!(v
            .summary()
            .starts_with("degraded: dell_milspec 0.1.0 on V P; platform forced"));
    }

    #[test]
    fn inconsistency_outranks_forced() {
        let v = assess(&Ok(Some(snapshot("forced", "9.9.9"))));
        assert_eq!(v.health, Health::Unhealthy);
        assert_eq!(v.reasons.len(), 2);
    }

    #[test]
    fn absent_module_is_unhealthy() {
        let v = assess(&Ok(None));
        assert_eq!(v.health, Health::Unhealthy);
        assert_eq!(v.health.exit_code(), 2);
        assert_eq!(v.summary(), "unhealthy: dell_milspec is not loaded");
    }
}
