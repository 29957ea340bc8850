//! The sections of the policy file (`[level]`, `[modules]`, `[actions]`,
//! `[alert]`, `[health]`, `[metrics]`) and their defaults.

use super::values::{Action, BelowMinimum, HumanDuration, Level, Sha256Hex, ViolationKind};
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;
use toml::Spanned;

type ActionList = Spanned<Vec<Action>>;

fn log_only() -> ActionList {
    Spanned::new(0..0, vec![Action::Log])
}

/// `[level]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LevelPolicy {
    /// Lowest acceptable level; none = no minimum.
    pub minimum: Option<Level>,
    #[serde(default)]
    pub on_below: BelowMinimum,
    /// Level to set (and so lock) after the allowlist was pushed; must lock.
    pub lock_at: Option<Spanned<Level>>,
}

/// `[modules]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModulesPolicy {
    /// Module versions allowed to run; empty = any.
    #[serde(default)]
    pub allowed_versions: Vec<String>,
    /// SHA-256 of allowed `.ko` files (as in milspecctl's store manifests); empty = any.
    #[serde(default)]
    pub allowed_sha256: Vec<Sha256Hex>,
    /// Module names pushed with SET_ALLOWLIST before locking; empty = none pushed.
    #[serde(default = "empty_allowlist")]
    pub allowlist: Spanned<Vec<String>>,
    /// Root under which milspecctl keeps its store (`var/lib/milspec`), for the
    /// hashes and the rollback action.
    #[serde(default = "default_store_root")]
    pub store_root: PathBuf,
}

fn empty_allowlist() -> Spanned<Vec<String>> {
    Spanned::new(0..0, Vec::new())
}

fn default_store_root() -> PathBuf {
    PathBuf::from("/")
}

impl Default for ModulesPolicy {
    fn default() -> Self {
        ModulesPolicy {
            allowed_versions: Vec::new(),
            allowed_sha256: Vec::new(),
            allowlist: empty_allowlist(),
            store_root: default_store_root(),
        }
    }
}

/// `[actions]`: what to do per violation kind (default: log only).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionsPolicy {
    #[serde(default = "log_only")]
    pub level_below_minimum: ActionList,
    #[serde(default = "log_only")]
    pub module_denied: ActionList,
    #[serde(default = "log_only")]
    pub module_not_allowed: ActionList,
    #[serde(default = "log_only")]
    pub ioctl_denied: ActionList,
    #[serde(default = "log_only")]
    pub events_lost: ActionList,
    #[serde(default = "log_only")]
    pub module_absent: ActionList,
}

impl Default for ActionsPolicy {
    fn default() -> Self {
        ActionsPolicy {
            level_below_minimum: log_only(),
            module_denied: log_only(),
            module_not_allowed: log_only(),
            ioctl_denied: log_only(),
            events_lost: log_only(),
            module_absent: log_only(),
        }
    }
}

impl ActionsPolicy {
    pub(super) fn list(&self, kind: ViolationKind) -> &ActionList {
        match kind {
            ViolationKind::LevelBelowMinimum => &self.level_below_minimum,
            ViolationKind::ModuleDenied => &self.module_denied,
            ViolationKind::ModuleNotAllowed => &self.module_not_allowed,
            ViolationKind::IoctlDenied => &self.ioctl_denied,
            ViolationKind::EventsLost => &self.events_lost,
            ViolationKind::ModuleAbsent => &self.module_absent,
        }
    }

    /// The actions for `kind`.
    pub fn for_kind(&self, kind: ViolationKind) -> &[Action] {
        self.list(kind).get_ref()
    }
}

/// `[alert]`: the hook the `alert` action runs.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertPolicy {
    /// Program and arguments (no shell); the violation is written to its stdin.
    pub command: Vec<String>,
    /// The hook is killed after this long.
    #[serde(default = "default_alert_timeout")]
    pub timeout: HumanDuration,
}

fn default_alert_timeout() -> HumanDuration {
    HumanDuration(Duration::from_secs(5))
}

/// `[health]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthPolicy {
    #[serde(default = "default_health_file")]
    pub file: PathBuf,
    /// How often health and metrics are refreshed without events ("0s" = only on
    /// events and watchdog ticks).
    #[serde(default = "default_refresh")]
    pub refresh: HumanDuration,
    #[serde(default = "default_warning")]
    pub cpu_warning_percent: Spanned<f64>,
    #[serde(default = "default_critical")]
    pub cpu_critical_percent: Spanned<f64>,
    #[serde(default = "default_warning")]
    pub memory_warning_percent: Spanned<f64>,
    #[serde(default = "default_critical")]
    pub memory_critical_percent: Spanned<f64>,
}

fn default_health_file() -> PathBuf {
    PathBuf::from("/run/milspec/health.json")
}
fn default_refresh() -> HumanDuration {
    HumanDuration(Duration::from_secs(60))
}
fn default_warning() -> Spanned<f64> {
    Spanned::new(0..0, 80.0)
}
fn default_critical() -> Spanned<f64> {
    Spanned::new(0..0, 95.0)
}

impl Default for HealthPolicy {
    fn default() -> Self {
        HealthPolicy {
            file: default_health_file(),
            refresh: default_refresh(),
            cpu_warning_percent: default_warning(),
            cpu_critical_percent: default_critical(),
            memory_warning_percent: default_warning(),
            memory_critical_percent: default_critical(),
        }
    }
}

/// `[metrics]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsPolicy {
    /// Directory of node_exporter's textfile collector; `milspec.prom` is written
    /// there. None = no textfile.
    pub textfile_dir: Option<PathBuf>,
    /// Serve `http://127.0.0.1:<port>/metrics` (opt-in).
    pub listen_port: Option<Spanned<u16>>,
}
