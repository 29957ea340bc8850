// SPDX-License-Identifier: GPL-2.0 OR MIT
//! Security levels ("Mode 5") and the ratchet rule of SET_LEVEL.

use super::types::AbiError;

/// Security levels ("Mode 5"). From `Paranoid` up the level is locked until reboot,
/// the module pins itself and the module-load allowlist (if set) is enforced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u32)]
pub enum SecurityLevel {
    /// Nothing recorded, nothing enforced.
    Disabled = 0,
    /// Module load/unload events are recorded.
    Standard = 1,
    /// As standard (reserved for stricter checks; same effects today).
    Enhanced = 2,
    /// Locked until reboot, module pinned, allowlist enforced.
    Paranoid = 3,
    /// As paranoid, and kernel lockdown is reported for the daemon to raise.
    ParanoidPlus = 4,
}

impl SecurityLevel {
    /// Every level, lowest first.
    pub const ALL: [SecurityLevel; 5] = [
        SecurityLevel::Disabled,
        SecurityLevel::Standard,
        SecurityLevel::Enhanced,
        SecurityLevel::Paranoid,
        SecurityLevel::ParanoidPlus,
    ];

    /// Name used in the status file, module parameter and tools.
    pub const fn as_str(self) -> &'static str {
        match self {
            SecurityLevel::Disabled => "disabled",
            SecurityLevel::Standard => "standard",
            SecurityLevel::Enhanced => "enhanced",
            SecurityLevel::Paranoid => "paranoid",
            SecurityLevel::ParanoidPlus => "paranoid_plus",
        }
    }

    /// Decodes a wire value.
    pub const fn from_u32(v: u32) -> Option<Self> {
        match v {
            0 => Some(SecurityLevel::Disabled),
            1 => Some(SecurityLevel::Standard),
            2 => Some(SecurityLevel::Enhanced),
            3 => Some(SecurityLevel::Paranoid),
            4 => Some(SecurityLevel::ParanoidPlus),
            _ => None,
        }
    }

    /// Parses a name (`paranoid`) or a number (`3`).
    pub fn parse(s: &str) -> Option<Self> {
        // Not `str::trim_ascii`: the kernel's clippy holds code to its minimum rustc
        // (1.78), and that arrived in 1.80. The same characters are trimmed.
        let s = s.trim_matches(|c: char| c.is_ascii_whitespace());
        SecurityLevel::ALL
            .iter()
            .copied()
            .find(|l| l.as_str() == s)
            .or_else(|| s.parse::<u32>().ok().and_then(SecurityLevel::from_u32))
    }

    /// Whether this level locks itself, pins the module and enforces the allowlist.
    pub const fn is_locking(self) -> bool {
        self as u32 >= SecurityLevel::Paranoid as u32
    }

    /// Whether module load/unload events are recorded at this level.
    pub const fn records_modules(self) -> bool {
        self as u32 >= SecurityLevel::Standard as u32
    }
}

/// A level change that [`decide_level`] allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LevelChange {
    /// Level before.
    pub from: SecurityLevel,
    /// Level after.
    pub to: SecurityLevel,
    /// The change locks the level (and pins the module) from now on.
    pub locks: bool,
}

/// The ratchet rule of SET_LEVEL: any change is allowed while unlocked; once locked
/// (a level of `paranoid` or above was reached), only raising is. `Ok(None)` means
/// nothing to do.
pub fn decide_level(
    current: SecurityLevel,
    locked: bool,
    requested: SecurityLevel,
) -> Result<Option<LevelChange>, AbiError> {
    if requested == current {
        return Ok(None);
    }
    if locked && requested < current {
        return Err(AbiError::Locked);
    }
    Ok(Some(LevelChange {
        from: current,
        to: requested,
        locks: !locked && requested.is_locking(),
    }))
}
