//! The policy file (`/etc/milspec/policy.toml`): what the daemon enforces and what
//! it does about violations. Parsing is strict (`deny_unknown_fields`): a typo is an
//! error that names the line and the key, never a silently ignored setting.

use milspec_abi::SecurityLevel;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::Spanned;

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
    #[error("invalid policy {path}: {message}")]
    Invalid { path: String, message: String },
}

/// A security level as written in the policy (`"paranoid"`, `"enhanced"`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Level(pub SecurityLevel);

impl TryFrom<String> for Level {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        SecurityLevel::parse(&s).map(Level).ok_or_else(|| {
            let names: Vec<_> = SecurityLevel::ALL.iter().map(|l| l.as_str()).collect();
            format!("unknown level `{s}`, expected one of {}", names.join(", "))
        })
    }
}

impl From<Level> for String {
    fn from(l: Level) -> String {
        l.0.as_str().to_owned()
    }
}

/// A SHA-256 digest in lower-case hex.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Sha256Hex(String);

impl TryFrom<String> for Sha256Hex {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let lower = s.to_ascii_lowercase();
        if lower.len() == 64 && lower.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(Sha256Hex(lower))
        } else {
            Err(format!("`{s}` is not a SHA-256 digest (64 hex digits)"))
        }
    }
}

impl From<Sha256Hex> for String {
    fn from(h: Sha256Hex) -> String {
        h.0
    }
}

impl Sha256Hex {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A duration written the humantime way (`"5s"`, `"250ms"`, `"1m"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct HumanDuration(pub Duration);

impl TryFrom<String> for HumanDuration {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        humantime::parse_duration(&s)
            .map(HumanDuration)
            .map_err(|e| format!("`{s}` is not a duration like \"5s\" or \"250ms\": {e}"))
    }
}

impl From<HumanDuration> for String {
    fn from(d: HumanDuration) -> String {
        humantime::format_duration(d.0).to_string()
    }
}

/// What the daemon does when the level is below the minimum.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BelowMinimum {
    /// Raise it with SET_LEVEL (needs CAP_SYS_ADMIN), then run the actions.
    #[default]
    Raise,
    /// Only run the actions.
    Alert,
}

/// An action on a violation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// A log line (always done, listed for clarity).
    Log,
    /// Run `[alert] command` with the violation as JSON on stdin.
    Alert,
    /// Write `integrity` to the kernel's lockdown file.
    Lockdown,
    /// Roll the module back to the previous deployment (milspecctl's store).
    Rollback,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Log => "log",
            Action::Alert => "alert",
            Action::Lockdown => "lockdown",
            Action::Rollback => "rollback",
        }
    }
}

/// Kinds of policy violation; each has its own action list in `[actions]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ViolationKind {
    /// The security level is below `[level] minimum`.
    LevelBelowMinimum,
    /// The kernel refused a module that is not on the allowlist.
    ModuleDenied,
    /// The loaded module's version or file hash is not allowed.
    ModuleNotAllowed,
    /// A state-changing ioctl came from a process without CAP_SYS_ADMIN.
    IoctlDenied,
    /// Events were overwritten before the daemon read them.
    EventsLost,
    /// The module is not loaded.
    ModuleAbsent,
}

impl ViolationKind {
    pub const ALL: [ViolationKind; 6] = [
        ViolationKind::LevelBelowMinimum,
        ViolationKind::ModuleDenied,
        ViolationKind::ModuleNotAllowed,
        ViolationKind::IoctlDenied,
        ViolationKind::EventsLost,
        ViolationKind::ModuleAbsent,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ViolationKind::LevelBelowMinimum => "level_below_minimum",
            ViolationKind::ModuleDenied => "module_denied",
            ViolationKind::ModuleNotAllowed => "module_not_allowed",
            ViolationKind::IoctlDenied => "ioctl_denied",
            ViolationKind::EventsLost => "events_lost",
            ViolationKind::ModuleAbsent => "module_absent",
        }
    }
}

impl fmt::Display for ViolationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

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
    fn list(&self, kind: ViolationKind) -> &ActionList {
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

/// 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

impl Policy {
    /// Reads and validates the policy at `path`.
    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Policy::parse(&text).map_err(|message| PolicyError::Invalid {
            path: path.display().to_string(),
            message,
        })
    }

    /// Parses and validates policy text; the error names line and key.
    pub fn parse(text: &str) -> Result<Policy, String> {
        let policy: Policy = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_of(text, s.start));
            let msg = e.message().trim_end().to_owned();
            match line {
                Some(l) => format!("line {l}: {msg}"),
                None => msg,
            }
        })?;
        policy.validate(text)?;
        Ok(policy)
    }

    /// Rules across keys that serde cannot express.
    fn validate(&self, text: &str) -> Result<(), String> {
        let at = |span: std::ops::Range<usize>, key: &str, msg: String| {
            if span.is_empty() {
                format!("{key}: {msg}")
            } else {
                format!("line {}: {key}: {msg}", line_of(text, span.start))
            }
        };
        if let Some(lock) = &self.level.lock_at {
            let l = lock.get_ref().0;
            if !l.is_locking() {
                return Err(at(
                    lock.span(),
                    "level.lock_at",
                    format!(
                        "`{}` does not lock; use paranoid or paranoid_plus",
                        l.as_str()
                    ),
                ));
            }
            if let Some(min) = self.level.minimum {
                if l < min.0 {
                    return Err(at(
                        lock.span(),
                        "level.lock_at",
                        format!(
                            "`{}` is below level.minimum `{}`",
                            l.as_str(),
                            min.0.as_str()
                        ),
                    ));
                }
            }
        }
        let allowlist = &self.modules.allowlist;
        for name in allowlist.get_ref() {
            let fits = name.len() < milspec_abi::NAME_LEN;
            if !fits || milspec_abi::validate_module_name(&milspec_abi::fixed_str(name)).is_err() {
                return Err(at(
                    allowlist.span(),
                    "modules.allowlist",
                    format!(
                        "`{name}` is not a module name (1-{} of A-Z a-z 0-9 _ -)",
                        milspec_abi::NAME_LEN - 1
                    ),
                ));
            }
        }
        if allowlist.get_ref().len() > milspec_abi::ALLOWLIST_MAX as usize {
            return Err(at(
                allowlist.span(),
                "modules.allowlist",
                format!("more than {} names", milspec_abi::ALLOWLIST_MAX),
            ));
        }
        for kind in ViolationKind::ALL {
            let list = self.actions.list(kind);
            let key = format!("actions.{kind}");
            if list.get_ref().contains(&Action::Alert) && self.alert.is_none() {
                return Err(at(
                    list.span(),
                    &key,
                    "the alert action needs an [alert] section with a command".into(),
                ));
            }
            let unique: BTreeSet<_> = list.get_ref().iter().collect();
            if unique.len() != list.get_ref().len() {
                return Err(at(list.span(), &key, "an action is listed twice".into()));
            }
        }
        if let Some(alert) = &self.alert {
            if alert.command.first().is_none_or(|c| c.is_empty()) {
                return Err("alert.command: must name a program".into());
            }
            if alert.timeout.0.is_zero() {
                return Err("alert.timeout: must be more than 0s".into());
            }
        }
        let h = &self.health;
        for (key, warn, crit) in [
            ("cpu", &h.cpu_warning_percent, &h.cpu_critical_percent),
            (
                "memory",
                &h.memory_warning_percent,
                &h.memory_critical_percent,
            ),
        ] {
            for (name, v) in [("warning", warn), ("critical", crit)] {
                if !(0.0..=100.0).contains(v.get_ref()) {
                    return Err(at(
                        v.span(),
                        &format!("health.{key}_{name}_percent"),
                        format!("{} is not a percentage (0-100)", v.get_ref()),
                    ));
                }
            }
            if warn.get_ref() > crit.get_ref() {
                return Err(at(
                    warn.span(),
                    &format!("health.{key}_warning_percent"),
                    "is above the critical threshold".into(),
                ));
            }
        }
        if let Some(port) = &self.metrics.listen_port {
            if *port.get_ref() == 0 {
                return Err(at(
                    port.span(),
                    "metrics.listen_port",
                    "0 is not a port (leave the key out to serve nothing)".into(),
                ));
            }
        }
        Ok(())
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
            let err = Policy::parse(text).expect_err(text);
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
