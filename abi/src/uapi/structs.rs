// SPDX-License-Identifier: GPL-2.0 OR MIT
//! The ioctl argument structs, their sizes and their request validation.

use super::level::SecurityLevel;
use super::types::AbiError;
use super::wire::{check_header, fixed_str, fixed_str_get, wire_struct, Reader, Wire, Writer};

/// Length of the NUL-padded module version string in [`Info`].
pub const VERSION_LEN: usize = 32;

/// Size in bytes of [`Info`] on the wire.
pub const INFO_SIZE: usize = 64;

wire_struct! {
    /// Argument of [`IOC_GET_INFO`](super::IOC_GET_INFO). The caller sets `size` and zeroes the rest;
    /// the module fills every other field.
    pub struct Info [64] {
        /// `INFO_SIZE`, set by the caller.
        pub size: u32,
        /// [`ABI_VERSION`](super::ABI_VERSION) of the running module.
        pub abi_version: u32,
        /// A [`PlatformState`](super::PlatformState) value.
        pub platform_state: u32,
        /// Module version, UTF-8, NUL-padded.
        pub module_version: [u8; VERSION_LEN],
        /// Must be zero.
        pub reserved: [u8; 20],
    }
}

const _: () = assert!(Info::SIZE == INFO_SIZE);
const _: () = assert!(core::mem::offset_of!(Info, module_version) == 12);
const _: () = assert!(core::mem::offset_of!(Info, reserved) == 44);

impl Info {
    /// A request as the caller sends it: `size` set, everything else zero.
    pub fn request() -> Self {
        Info {
            size: INFO_SIZE as u32,
            ..Info::zeroed()
        }
    }

    /// Checks a request: right `size`, every other field zero (outputs and
    /// reserved bytes alike, so they can gain a meaning later).
    pub fn validate_request(&self) -> Result<(), AbiError> {
        check_header(self.size, INFO_SIZE, &self.reserved)?;
        if *self != Info::request() {
            return Err(AbiError::ReservedNotZero);
        }
        Ok(())
    }

    /// Stores `version` NUL-padded, truncated to `VERSION_LEN - 1` bytes.
    pub fn set_module_version(&mut self, version: &str) {
        self.module_version = fixed_str(version);
    }

    /// The module version up to the first NUL; `None` if it is not UTF-8.
    pub fn module_version_str(&self) -> Option<&str> {
        fixed_str_get(&self.module_version)
    }
}

/// Bits of [`Status::flags`].
pub mod status_flags {
    /// The level can no longer be lowered (until reboot).
    pub const LEVEL_LOCKED: u32 = 1 << 0;
    /// The module holds a reference on itself and cannot be unloaded.
    pub const MODULE_PINNED: u32 = 1 << 1;
    /// The allowlist is set and enforced (level locked).
    pub const ALLOWLIST_ENFORCING: u32 = 1 << 2;
    /// The kernel enforces module signatures.
    pub const MODULE_SIG_ENFORCED: u32 = 1 << 3;
    /// Every bit defined in this ABI.
    pub const ALL: u32 = LEVEL_LOCKED | MODULE_PINNED | ALLOWLIST_ENFORCING | MODULE_SIG_ENFORCED;
}

/// Size of [`Status`].
pub const STATUS_SIZE: usize = 128;

wire_struct! {
    /// Argument of [`IOC_GET_STATUS`](super::IOC_GET_STATUS): the caller sets `size`, zeroes the rest.
    pub struct Status [128] {
        pub size: u32,
        pub abi_version: u32,
        /// A [`SecurityLevel`] value.
        pub security_level: u32,
        /// [`status_flags`] bits.
        pub flags: u32,
        /// A [`PlatformState`](super::PlatformState) value.
        pub platform_state: u32,
        /// A [`SmbiosState`](super::SmbiosState) value.
        pub smbios_calling_interface: u32,
        /// Tokens in the 0xDA table.
        pub token_count: u32,
        /// Entries in the module-load allowlist (0 = off).
        pub allowlist_len: u32,
        /// A [`Lockdown`](super::Lockdown) value.
        pub lockdown: u32,
        pub reserved0: u32,
        /// Events ever recorded.
        pub events_total: u64,
        /// Events overwritten before anyone could read them (refused calls are
        /// never events: they cannot make this grow).
        pub events_lost: u64,
        /// Sequence number the next event will get.
        pub next_seq: u64,
        /// CLOCK_MONOTONIC (ns) at load.
        pub loaded_at_ns: u64,
        /// Privileged calls refused for lack of `CAP_SYS_ADMIN` since load (ABI 2).
        pub refusals_total: u64,
        pub reserved: [u8; 48],
    }
}

impl Status {
    /// A request as the caller sends it.
    pub fn request() -> Self {
        Status {
            size: STATUS_SIZE as u32,
            ..Status::zeroed()
        }
    }

    /// Checks a request: right `size`, every other field zero.
    pub fn validate_request(&self) -> Result<(), AbiError> {
        check_header(self.size, STATUS_SIZE, &self.reserved)?;
        if *self != Status::request() {
            return Err(AbiError::ReservedNotZero);
        }
        Ok(())
    }
}

/// Size of [`LevelRequest`].
pub const LEVEL_REQUEST_SIZE: usize = 16;

wire_struct! {
    /// Argument of [`IOC_SET_LEVEL`](super::IOC_SET_LEVEL).
    pub struct LevelRequest [16] {
        pub size: u32,
        /// A [`SecurityLevel`] value; anything else is `EINVAL`.
        pub level: u32,
        pub reserved: [u8; 8],
    }
}

impl LevelRequest {
    /// A request for `level`.
    pub fn new(level: SecurityLevel) -> Self {
        LevelRequest {
            size: LEVEL_REQUEST_SIZE as u32,
            level: level as u32,
            reserved: [0; 8],
        }
    }

    /// Checks the request; returns the level asked for.
    pub fn validate(&self) -> Result<SecurityLevel, AbiError> {
        check_header(self.size, LEVEL_REQUEST_SIZE, &self.reserved)?;
        SecurityLevel::from_u32(self.level).ok_or(AbiError::OutOfRange)
    }
}

/// Length of the name field of events and allowlist entries (the kernel's
/// `MODULE_NAME_LEN` on 64-bit).
pub const NAME_LEN: usize = 56;
/// Size of one [`Event`].
pub const EVENT_SIZE: usize = 96;
/// Events the kernel keeps; older ones are overwritten and counted as lost. At
/// most [`REFUSAL_SUMMARY_BUDGET`](super::REFUSAL_SUMMARY_BUDGET) of them are
/// `refusals` summaries.
pub const EVENT_RING_CAPACITY: usize = 256;

wire_struct! {
    /// One event as [`IOC_GET_EVENTS`](super::IOC_GET_EVENTS) and `read()` return it.
    pub struct Event [96] {
        /// Sequence number, starting at 1, without gaps in the kernel.
        pub seq: u64,
        /// CLOCK_MONOTONIC (ns) when it happened.
        pub timestamp_ns: u64,
        /// An [`EventKind`](super::EventKind) value.
        pub kind: u32,
        /// uid of the task that caused it (in the initial user namespace).
        pub uid: u32,
        /// tgid of that task (0 for the kernel itself).
        pub pid: u32,
        pub arg0: u32,
        pub arg1: u32,
        pub reserved: u32,
        /// NUL-padded name (module name, reason, ...).
        pub name: [u8; NAME_LEN],
    }
}

/// Size of [`EventsRequest`].
pub const EVENTS_REQUEST_SIZE: usize = 64;
/// Most events one GET_EVENTS call returns.
pub const EVENTS_MAX_PER_CALL: u32 = 4096;

/// [`EventsRequest::flags`]: events between `from_seq` and the oldest returned one
/// were overwritten before they could be read.
pub const EVENTS_FLAG_GAP: u32 = 1;

wire_struct! {
    /// Argument of [`IOC_GET_EVENTS`](super::IOC_GET_EVENTS).
    pub struct EventsRequest [64] {
        pub size: u32,
        /// Room in `events_ptr`, in events (at most [`EVENTS_MAX_PER_CALL`]).
        pub capacity: u32,
        /// First sequence number wanted.
        pub from_seq: u64,
        /// User address of `capacity` × [`EVENT_SIZE`] bytes.
        pub events_ptr: u64,
        /// Out: events written.
        pub count: u32,
        /// Out: [`EVENTS_FLAG_GAP`].
        pub flags: u32,
        /// Out: `from_seq` for the next call.
        pub next_seq: u64,
        /// Out: oldest sequence number still held.
        pub oldest_seq: u64,
        pub reserved: [u8; 16],
    }
}

impl EventsRequest {
    /// A request for up to `capacity` events from `from_seq` into `events_ptr`.
    pub fn new(from_seq: u64, events_ptr: u64, capacity: u32) -> Self {
        EventsRequest {
            size: EVENTS_REQUEST_SIZE as u32,
            capacity,
            from_seq,
            events_ptr,
            ..EventsRequest::zeroed()
        }
    }

    /// Checks the caller-controlled parts (outputs must be zero on input).
    pub fn validate(&self) -> Result<(), AbiError> {
        check_header(self.size, EVENTS_REQUEST_SIZE, &self.reserved)?;
        if self.count != 0 || self.flags != 0 || self.next_seq != 0 || self.oldest_seq != 0 {
            return Err(AbiError::ReservedNotZero);
        }
        if self.capacity > EVENTS_MAX_PER_CALL {
            return Err(AbiError::OutOfRange);
        }
        Ok(())
    }
}

/// Most entries in the module-load allowlist.
pub const ALLOWLIST_MAX: u32 = 64;
/// Size of [`AllowlistRequest`].
pub const ALLOWLIST_REQUEST_SIZE: usize = 24;

wire_struct! {
    /// Argument of [`IOC_SET_ALLOWLIST`](super::IOC_SET_ALLOWLIST).
    pub struct AllowlistRequest [24] {
        pub size: u32,
        /// Entries at `names_ptr` (at most [`ALLOWLIST_MAX`]).
        pub count: u32,
        /// User address of `count` × [`NAME_LEN`]-byte NUL-padded module names.
        pub names_ptr: u64,
        pub reserved: [u8; 8],
    }
}

impl AllowlistRequest {
    /// A request for `count` names at `names_ptr`.
    pub fn new(names_ptr: u64, count: u32) -> Self {
        AllowlistRequest {
            size: ALLOWLIST_REQUEST_SIZE as u32,
            count,
            names_ptr,
            reserved: [0; 8],
        }
    }

    /// Checks the request.
    pub fn validate(&self) -> Result<(), AbiError> {
        check_header(self.size, ALLOWLIST_REQUEST_SIZE, &self.reserved)?;
        if self.count > ALLOWLIST_MAX {
            return Err(AbiError::OutOfRange);
        }
        Ok(())
    }
}

/// Size of one [`TokenEntry`].
pub const TOKEN_ENTRY_SIZE: usize = 8;
/// Size of [`TokensRequest`].
pub const TOKENS_REQUEST_SIZE: usize = 32;

wire_struct! {
    /// One Dell SMBIOS token.
    pub struct TokenEntry [8] {
        pub id: u16,
        pub location: u16,
        pub value: u16,
        pub reserved: u16,
    }
}

wire_struct! {
    /// Argument of [`IOC_GET_TOKENS`](super::IOC_GET_TOKENS).
    pub struct TokensRequest [32] {
        pub size: u32,
        /// Room at `tokens_ptr`, in entries.
        pub capacity: u32,
        /// User address of `capacity` × [`TOKEN_ENTRY_SIZE`] bytes.
        pub tokens_ptr: u64,
        /// Out: entries written.
        pub count: u32,
        /// Out: tokens in the table (may exceed `capacity`).
        pub total: u32,
        /// Out: a [`SmbiosState`](super::SmbiosState) value.
        pub state: u32,
        pub reserved: [u8; 4],
    }
}

impl TokensRequest {
    /// A request for up to `capacity` tokens into `tokens_ptr`.
    pub fn new(tokens_ptr: u64, capacity: u32) -> Self {
        TokensRequest {
            size: TOKENS_REQUEST_SIZE as u32,
            capacity,
            tokens_ptr,
            ..TokensRequest::zeroed()
        }
    }

    /// Checks the caller-controlled parts (outputs must be zero on input).
    pub fn validate(&self) -> Result<(), AbiError> {
        check_header(self.size, TOKENS_REQUEST_SIZE, &self.reserved)?;
        if self.count != 0 || self.total != 0 || self.state != 0 {
            return Err(AbiError::ReservedNotZero);
        }
        Ok(())
    }
}
