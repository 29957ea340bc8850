// SPDX-License-Identifier: GPL-2.0 OR MIT
//! Value enums of the ABI: how they travel (`u32`) and the words the status file uses.

/// Why a struct passed in by the caller was rejected. The module maps each to `EINVAL`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AbiError {
    /// The `size` field does not match the struct this command takes.
    BadSize,
    /// A reserved byte (or an output field) is not zero.
    ReservedNotZero,
    /// A value is outside what the command accepts.
    OutOfRange,
    /// The level is locked: it cannot be lowered and the allowlist cannot change.
    Locked,
}

/// How the module decided to bind to this machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum PlatformState {
    /// Vendor and product are on the supported list.
    Supported = 1,
    /// Not on the list; loaded because the administrator passed `force=1`.
    Forced = 2,
}

impl PlatformState {
    /// The word used in `/proc/milspec/status` and in `--json` output.
    pub const fn as_str(self) -> &'static str {
        match self {
            PlatformState::Supported => "supported",
            PlatformState::Forced => "forced",
        }
    }

    /// Decodes the wire value; `None` for values this ABI does not define.
    pub const fn from_u32(v: u32) -> Option<Self> {
        match v {
            1 => Some(PlatformState::Supported),
            2 => Some(PlatformState::Forced),
            _ => None,
        }
    }

    /// Parses the word used in `/proc/milspec/status`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "supported" => Some(PlatformState::Supported),
            "forced" => Some(PlatformState::Forced),
            _ => None,
        }
    }
}

/// State of the Dell 0xDA calling-interface structure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum SmbiosState {
    /// No 0xDA structure in the SMBIOS table.
    Absent = 0,
    /// Present and parsed.
    Present = 1,
    /// Present but malformed; no tokens are reported.
    Invalid = 2,
}

impl SmbiosState {
    /// Word used in the status file.
    pub const fn as_str(self) -> &'static str {
        match self {
            SmbiosState::Absent => "absent",
            SmbiosState::Present => "present",
            SmbiosState::Invalid => "invalid",
        }
    }

    /// Decodes a wire value.
    pub const fn from_u32(v: u32) -> Option<Self> {
        match v {
            0 => Some(SmbiosState::Absent),
            1 => Some(SmbiosState::Present),
            2 => Some(SmbiosState::Invalid),
            _ => None,
        }
    }
}

/// Kernel lockdown state as the module sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Lockdown {
    /// Lockdown LSM present, not locked.
    None = 0,
    /// `integrity`.
    Integrity = 1,
    /// `confidentiality`.
    Confidentiality = 2,
    /// The kernel cannot tell (no lockdown LSM).
    Unsupported = 3,
}

impl Lockdown {
    /// Word used in the status file.
    pub const fn as_str(self) -> &'static str {
        match self {
            Lockdown::None => "none",
            Lockdown::Integrity => "integrity",
            Lockdown::Confidentiality => "confidentiality",
            Lockdown::Unsupported => "unsupported",
        }
    }

    /// Decodes a wire value.
    pub const fn from_u32(v: u32) -> Option<Self> {
        match v {
            0 => Some(Lockdown::None),
            1 => Some(Lockdown::Integrity),
            2 => Some(Lockdown::Confidentiality),
            3 => Some(Lockdown::Unsupported),
            _ => None,
        }
    }
}

/// Event kinds. Each event's `arg0`, `arg1` and `name` are documented per kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum EventKind {
    /// Level changed: `arg0` old, `arg1` new level.
    LevelChanged = 1,
    /// Allowlist replaced: `arg1` number of entries.
    AllowlistChanged = 2,
    /// A module finished loading: `name`.
    ModuleLoaded = 3,
    /// A module was unloaded: `name`.
    ModuleUnloaded = 4,
    /// A module load was refused by the allowlist: `name`.
    ModuleDenied = 5,
    // 6 was `ioctl_denied` (one event per refused call) in ABI 1; retired.
    /// The 0xDA token table is malformed: `name` the reason.
    TokenTableInvalid = 7,
    /// Loaded with `force=1` on an unsupported platform: `name` the product.
    ForcedLoad = 8,
    /// Summary of refused calls of one (uid, command) key: `uid` the callers'
    /// uid, `pid` the last caller, `arg0` the command, `arg1` the key's refusals
    /// since load (saturating), `name` the command's name. See [`super::RefusalTable`].
    Refusals = 9,
}

impl EventKind {
    /// Name used in logs and JSON.
    pub const fn as_str(self) -> &'static str {
        match self {
            EventKind::LevelChanged => "level_changed",
            EventKind::AllowlistChanged => "allowlist_changed",
            EventKind::ModuleLoaded => "module_loaded",
            EventKind::ModuleUnloaded => "module_unloaded",
            EventKind::ModuleDenied => "module_denied",
            EventKind::TokenTableInvalid => "token_table_invalid",
            EventKind::ForcedLoad => "forced_load",
            EventKind::Refusals => "refusals",
        }
    }

    /// Decodes a wire value.
    pub const fn from_u32(v: u32) -> Option<Self> {
        match v {
            1 => Some(EventKind::LevelChanged),
            2 => Some(EventKind::AllowlistChanged),
            3 => Some(EventKind::ModuleLoaded),
            4 => Some(EventKind::ModuleUnloaded),
            5 => Some(EventKind::ModuleDenied),
            7 => Some(EventKind::TokenTableInvalid),
            8 => Some(EventKind::ForcedLoad),
            9 => Some(EventKind::Refusals),
            _ => None,
        }
    }
}
