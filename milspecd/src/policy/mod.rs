//! The policy file (`/etc/milspec/policy.toml`): what the daemon enforces and what
//! it does about violations. Parsing is strict (`deny_unknown_fields`): a typo is an
//! error that names the line and the key, never a silently ignored setting.
//!
//! [`values`] has the value types, [`sections`] the tables, [`validate`] the
//! rules across keys.

mod sections;
mod validate;
mod values;

pub use sections::{
    ActionsPolicy, AlertPolicy, HealthPolicy, LevelPolicy, MetricsPolicy, ModulesPolicy,
};
pub use values::{
    Action, BelowMinimum, HumanDuration, Level, Sha256Hex, ValueError, ViolationKind,
};

use milspec_abi::SecurityLevel;
use serde::Deserialize;
use std::collections::BTreeSet;
use std::path::Path;

/// Default location of the policy file.
pub const DEFAULT_POLICY_PATH: &str = "/etc/milspec/policy.toml";

/// Why a policy file was refused.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("cannot read policy {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    /// Syntax, unknown key, wrong type or value; `message` has line and key.
    #[error("invalid policy {path}: {source}")]
    Invalid { path: String, source: InvalidPolicy },
}

/// What is wrong with policy text.
#[derive(Debug, thiserror::Error)]
pub enum InvalidPolicy {
    /// TOML syntax, an unknown key, a wrong type or value (from the parser).
    #[error("{}{message}", line_prefix(*line))]
    Parse {
        line: Option<usize>,
        message: String,
    },
    /// A rule across keys (see [`validate`]).
    #[error("{}{key}: {message}", line_prefix(*line))]
    Rule {
        line: Option<usize>,
        key: String,
        message: String,
    },
}

fn line_prefix(line: Option<usize>) -> String {
    line.map(|l| format!("line {l}: ")).unwrap_or_default()
}

/// The whole policy.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    #[serde(default)]
    pub level: LevelPolicy,
    #[serde(default)]
    pub modules: ModulesPolicy,
    #[serde(default)]
    pub actions: ActionsPolicy,
    pub alert: Option<AlertPolicy>,
    #[serde(default)]
    pub health: HealthPolicy,
    #[serde(default)]
    pub metrics: MetricsPolicy,
}

impl Policy {
    /// Reads and validates the policy at `path`.
    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Policy::parse(&text).map_err(|source| PolicyError::Invalid {
            path: path.display().to_string(),
            source,
        })
    }

    /// Parses and validates policy text; the error names line and key.
    pub fn parse(text: &str) -> Result<Policy, InvalidPolicy> {
        let policy: Policy = toml::from_str(text).map_err(|e| InvalidPolicy::Parse {
            line: e.span().map(|s| validate::line_of(text, s.start)),
            message: e.message().trim_end().to_owned(),
        })?;
        policy.validate(text)?;
        Ok(policy)
    }

    /// Every action any violation kind may run.
    pub fn all_actions(&self) -> BTreeSet<Action> {
        ViolationKind::ALL
            .iter()
            .flat_map(|k| self.actions.for_kind(*k).iter().copied())
            .collect()
    }

    /// The daemon changes kernel state (levels, allowlist): needs CAP_SYS_ADMIN.
    pub fn changes_kernel_state(&self) -> bool {
        (self.level.minimum.is_some() && self.level.on_below == BelowMinimum::Raise)
            || self.level.lock_at.is_some()
            || !self.modules.allowlist.get_ref().is_empty()
    }

    pub fn lock_at(&self) -> Option<SecurityLevel> {
        self.level.lock_at.as_ref().map(|l| l.get_ref().0)
    }

    pub fn allowlist(&self) -> &[String] {
        self.modules.allowlist.get_ref()
    }

    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics.listen_port.as_ref().map(|p| *p.get_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const FULL: &str = r#"
[level]
minimum = "enhanced"
on_below = "raise"
lock_at = "paranoid"

[modules]
allowed_versions = ["0.1.0"]
allowed_sha256 = ["ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef0123456789"]
allowlist = ["ext4", "milspec_probe_ok"]
store_root = "/"

[actions]
module_denied = ["log", "alert"]
level_below_minimum = ["alert", "lockdown"]
module_not_allowed = ["rollback"]

[alert]
command = ["/usr/local/sbin/hook", "--json"]
timeout = "2s"

[health]
file = "/run/milspec/health.json"
refresh = "30s"
cpu_warning_percent = 70

[metrics]
textfile_dir = "/var/lib/prometheus/node-exporter"
listen_port = 9477
"#;

    #[test]
    fn full_policy_parses() {
        let p = Policy::parse(FULL).unwrap();
        assert_eq!(p.level.minimum, Some(Level(SecurityLevel::Enhanced)));
        assert_eq!(p.lock_at(), Some(SecurityLevel::Paranoid));
        assert_eq!(p.allowlist(), ["ext4", "milspec_probe_ok"]);
        assert_eq!(
            p.modules.allowed_sha256[0].as_str(),
            "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789"
        );
        assert_eq!(
            p.actions.for_kind(ViolationKind::ModuleDenied),
            [Action::Log, Action::Alert]
        );
        assert_eq!(p.actions.for_kind(ViolationKind::EventsLost), [Action::Log]);
        assert_eq!(p.alert.as_ref().unwrap().timeout.0, Duration::from_secs(2));
        assert_eq!(*p.health.cpu_warning_percent.get_ref(), 70.0);
        assert_eq!(*p.health.cpu_critical_percent.get_ref(), 95.0);
        assert_eq!(p.metrics_port(), Some(9477));
        assert!(p.changes_kernel_state());
        assert!(p.all_actions().contains(&Action::Rollback));
    }

    #[test]
    fn empty_policy_is_all_defaults() {
        let p = Policy::parse("").unwrap();
        assert!(p.level.minimum.is_none());
        assert!(!p.changes_kernel_state());
        assert_eq!(
            p.all_actions().into_iter().collect::<Vec<_>>(),
            [Action::Log]
        );
        assert_eq!(p.health.file, Path::new("/run/milspec/health.json"));
        assert_eq!(p.health.refresh.0, Duration::from_secs(60));
        assert_eq!(p.metrics_port(), None);
    }

    /// Each kind of bad file: the error names the line and the key.
    #[test]
    fn bad_policies_name_line_and_key() {
        let cases: &[(&str, &[&str])] = &[
            (
                "[level]\nminimum = \"high\"\n",
                &["line 2", "unknown level `high`"],
            ),
            (
                "[level]\nminimun = \"enhanced\"\n",
                &["line 2", "unknown field `minimun`"],
            ),
            ("[levels]\n", &["line 1", "unknown field `levels`"]),
            ("[level]\nminimum = 3\n", &["line 2", "invalid type"]),
            ("[level\n", &["line 1"]),
            (
                "[level]\nlock_at = \"enhanced\"\n",
                &["line 2", "level.lock_at", "does not lock"],
            ),
            (
                "[level]\nminimum = \"paranoid_plus\"\nlock_at = \"paranoid\"\n",
                &["line 3", "level.lock_at", "below level.minimum"],
            ),
            (
                "[modules]\nallowed_sha256 = [\"abc\"]\n",
                &["line 2", "not a SHA-256 digest"],
            ),
            (
                "[modules]\n\nallowlist = [\"bad name\"]\n",
                &["line 3", "modules.allowlist", "bad name"],
            ),
            (
                "[actions]\nmodule_denied = [\"alert\"]\n",
                &["line 2", "actions.module_denied", "[alert] section"],
            ),
            (
                "[actions]\nmodule_denied = [\"explode\"]\n",
                &["line 2", "unknown variant `explode`"],
            ),
            (
                "[actions]\nmodule_denied = [\"log\", \"log\"]\n",
                &["line 2", "listed twice"],
            ),
            ("[alert]\ncommand = []\n", &["alert.command"]),
            (
                "[alert]\ncommand = [\"x\"]\ntimeout = \"soon\"\n",
                &["line 3", "not a duration"],
            ),
            (
                "[health]\ncpu_warning_percent = 120\n",
                &["line 2", "health.cpu_warning_percent", "not a percentage"],
            ),
            (
                "[health]\nmemory_warning_percent = 96\n",
                &[
                    "line 2",
                    "health.memory_warning_percent",
                    "above the critical",
                ],
            ),
            (
                "[metrics]\nlisten_port = 0\n",
                &["line 2", "metrics.listen_port"],
            ),
            ("[metrics]\nlisten_port = 70000\n", &["line 2"]),
        ];
        for (text, wants) in cases {
            let err = Policy::parse(text).expect_err(text).to_string();
            for want in *wants {
                assert!(err.contains(want), "{text:?}: {err:?} lacks {want:?}");
            }
        }
    }

    #[test]
    fn load_reports_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("policy.toml");
        let err = Policy::load(&path).unwrap_err();
        assert!(err.to_string().contains("cannot read policy"), "{err}");
        std::fs::write(&path, "[level]\nminimum = \"x\"\n").unwrap();
        let err = Policy::load(&path).unwrap_err().to_string();
        assert!(err.contains(&path.display().to_string()) && err.contains("line 2"));
    }
}
