//! The value types a policy is written in: levels, digests, durations, actions
//! and violation kinds, each checked as it is parsed.

use milspec_abi::SecurityLevel;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

/// A value of the right type that still makes no sense (serde adds line and key).
#[derive(Debug, thiserror::Error)]
pub enum ValueError {
    #[error("unknown level `{given}`, expected one of {expected}")]
    UnknownLevel { given: String, expected: String },
    #[error("`{0}` is not a SHA-256 digest (64 hex digits)")]
    NotSha256(String),
    #[error("`{given}` is not a duration like \"5s\" or \"250ms\": {reason}")]
    NotDuration {
        given: String,
        reason: humantime::DurationError,
    },
}

/// A security level as written in the policy (`"paranoid"`, `"enhanced"`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Level(pub SecurityLevel);

impl TryFrom<String> for Level {
    type Error = ValueError;
    fn try_from(s: String) -> Result<Self, ValueError> {
        SecurityLevel::parse(&s).map(Level).ok_or_else(|| {
            let names: Vec<_> = SecurityLevel::ALL.iter().map(|l| l.as_str()).collect();
            ValueError::UnknownLevel {
                given: s,
                expected: names.join(", "),
            }
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
    type Error = ValueError;
    fn try_from(s: String) -> Result<Self, ValueError> {
        let lower = s.to_ascii_lowercase();
        if lower.len() == 64 && lower.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(Sha256Hex(lower))
        } else {
            Err(ValueError::NotSha256(s))
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
    type Error = ValueError;
    fn try_from(s: String) -> Result<Self, ValueError> {
        humantime::parse_duration(&s)
            .map(HumanDuration)
            .map_err(|reason| ValueError::NotDuration { given: s, reason })
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
