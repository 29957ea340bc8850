// SPDX-License-Identifier: GPL-2.0 OR MIT
//! Definitions shared by the kernel module and user space.
//!
//! This file is compiled twice: as the body of the `milspec-abi` crate and as a
//! module of the kernel crate. It must therefore stay plain `core` Rust: no
//! crate attributes, no dependencies, no `unsafe`, no panicking paths.
//!
//! Rules for every ioctl struct (see `docs/abi.md`):
//! * `#[repr(C)]`, fixed size, native endianness, first field `size: u32` set by the
//!   caller to the struct size it was built with;
//! * ends in reserved bytes that the caller must zero (`EINVAL` otherwise);
//! * (de)serialised field by field with `to_bytes`/`from_bytes`, so neither side needs
//!   a transmute.

/// Version of this ABI. Bumped on any incompatible change of an ioctl or of the
/// meaning of a `/proc/milspec/status` key.
pub const ABI_VERSION: u32 = 1;

/// ioctl "type" byte. 0xD1 is unassigned in the 6.12 tree's
/// `Documentation/userspace-api/ioctl/ioctl-number.rst` (no 0xD0-0xDA entries).
pub const IOCTL_MAGIC: u32 = 0xD1;

/// Name of the kernel module (as `lsmod`/`/sys/module` show it).
pub const MODULE_NAME: &str = "dell_milspec";
/// Character device node (misc device, created by devtmpfs/udev).
pub const DEVICE_PATH: &str = "/dev/milspec";
/// Misc device name (the node's name under `/dev`).
pub const DEVICE_NAME: &str = "milspec";
/// Directory the module creates in procfs.
pub const PROC_DIR: &str = "/proc/milspec";
/// The status file: `key: value` lines, see [`status_keys`].
pub const PROC_STATUS_PATH: &str = "/proc/milspec/status";

// ioctl number encoding of asm-generic/ioctl.h, which x86 uses.
const IOC_NRBITS: u32 = 8;
const IOC_TYPEBITS: u32 = 8;
const IOC_SIZEBITS: u32 = 14;
const IOC_NRSHIFT: u32 = 0;
const IOC_TYPESHIFT: u32 = IOC_NRSHIFT + IOC_NRBITS;
const IOC_SIZESHIFT: u32 = IOC_TYPESHIFT + IOC_TYPEBITS;
const IOC_DIRSHIFT: u32 = IOC_SIZESHIFT + IOC_SIZEBITS;
const IOC_WRITE: u32 = 1;
const IOC_READ: u32 = 2;

/// Encodes an ioctl number like the C `_IOC()` macro.
pub const fn ioc(dir: u32, nr: u32, size: usize) -> u32 {
    (dir << IOC_DIRSHIFT)
        | (IOCTL_MAGIC << IOC_TYPESHIFT)
        | (nr << IOC_NRSHIFT)
        | ((size as u32) << IOC_SIZESHIFT)
}

/// `_IOWR(IOCTL_MAGIC, nr, size)`: the caller passes a struct in and gets it back filled.
pub const fn iowr(nr: u32, size: usize) -> u32 {
    ioc(IOC_READ | IOC_WRITE, nr, size)
}

/// `_IOW(IOCTL_MAGIC, nr, size)`: the caller passes a struct in.
pub const fn iow(nr: u32, size: usize) -> u32 {
    ioc(IOC_WRITE, nr, size)
}

/// Length of the NUL-padded module version string in [`Info`].
pub const VERSION_LEN: usize = 32;

/// Size in bytes of [`Info`] on the wire.
pub const INFO_SIZE: usize = 64;

/// `MILSPEC_IOC_GET_INFO`: ABI version, module version, platform state.
pub const IOC_GET_INFO: u32 = iowr(0x01, INFO_SIZE);

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

/// Encoding of one field type on the wire (native endianness).
trait Wire: Sized {
    fn put(&self, w: &mut Writer<'_>);
    fn get(r: &mut Reader<'_>) -> Self;
}

impl Wire for u16 {
    fn put(&self, w: &mut Writer<'_>) {
        w.bytes(&self.to_ne_bytes());
    }
    fn get(r: &mut Reader<'_>) -> Self {
        u16::from_ne_bytes(r.array())
    }
}

impl Wire for u32 {
    fn put(&self, w: &mut Writer<'_>) {
        w.bytes(&self.to_ne_bytes());
    }
    fn get(r: &mut Reader<'_>) -> Self {
        u32::from_ne_bytes(r.array())
    }
}

impl Wire for u64 {
    fn put(&self, w: &mut Writer<'_>) {
        w.bytes(&self.to_ne_bytes());
    }
    fn get(r: &mut Reader<'_>) -> Self {
        u64::from_ne_bytes(r.array())
    }
}

impl<const N: usize> Wire for [u8; N] {
    fn put(&self, w: &mut Writer<'_>) {
        w.bytes(self);
    }
    fn get(r: &mut Reader<'_>) -> Self {
        r.array()
    }
}

/// Defines a wire struct: `#[repr(C)]`, a compile-time size check (which also
/// proves there is no hidden padding, since `SIZE` is the sum of the fields), and
/// field-by-field `to_bytes`/`from_bytes`.
macro_rules! wire_struct {
    (
        $(#[$meta:meta])*
        pub struct $name:ident [$size:expr] {
            $( $(#[$fmeta:meta])* pub $field:ident : $ty:ty, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[repr(C)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $ty, )*
        }

        const _: () = assert!(core::mem::size_of::<$name>() == $size);

        impl $name {
            /// Size in bytes on the wire.
            pub const SIZE: usize = $size;

            /// All fields zero.
            pub fn zeroed() -> Self {
                Self::from_bytes(&[0u8; $size])
            }

            /// Wire representation.
            pub fn to_bytes(&self) -> [u8; $size] {
                let mut out = [0u8; $size];
                let mut w = Writer::new(&mut out);
                $( Wire::put(&self.$field, &mut w); )*
                out
            }

            /// Decodes the wire representation (no validation).
            pub fn from_bytes(raw: &[u8; $size]) -> Self {
                let mut r = Reader::new(raw);
                $name { $( $field: Wire::get(&mut r), )* }
            }
        }
    };
}

/// Checks the `size` field and that `reserved` is all zero.
fn check_header(size: u32, expected: usize, reserved: &[u8]) -> Result<(), AbiError> {
    if size as usize != expected {
        return Err(AbiError::BadSize);
    }
    if reserved.iter().any(|&b| b != 0) {
        return Err(AbiError::ReservedNotZero);
    }
    Ok(())
}

/// Copies `s` into a NUL-padded array, truncated so that a NUL always follows.
pub fn fixed_str<const N: usize>(s: &str) -> [u8; N] {
    let mut out = [0u8; N];
    for (dst, src) in out.iter_mut().take(N.saturating_sub(1)).zip(s.bytes()) {
        *dst = src;
    }
    out
}

/// The string in a NUL-padded array up to the first NUL; `None` if not UTF-8.
pub fn fixed_str_get(raw: &[u8]) -> Option<&str> {
    let len = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
    core::str::from_utf8(raw.get(..len)?).ok()
}

wire_struct! {
    /// Argument of [`IOC_GET_INFO`]. The caller sets `size` and zeroes the rest;
    /// the module fills every other field.
    pub struct Info [64] {
        /// `INFO_SIZE`, set by the caller.
        pub size: u32,
        /// [`ABI_VERSION`] of the running module.
        pub abi_version: u32,
        /// A [`PlatformState`] value.
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
        let s = s.trim_ascii();
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
/// `MILSPEC_IOC_GET_STATUS`: counters and state (same data as the status file).
pub const IOC_GET_STATUS: u32 = iowr(0x02, STATUS_SIZE);

wire_struct! {
    /// Argument of [`IOC_GET_STATUS`]: the caller sets `size`, zeroes the rest.
    pub struct Status [128] {
        pub size: u32,
        pub abi_version: u32,
        /// A [`SecurityLevel`] value.
        pub security_level: u32,
        /// [`status_flags`] bits.
        pub flags: u32,
        /// A [`PlatformState`] value.
        pub platform_state: u32,
        /// A [`SmbiosState`] value.
        pub smbios_calling_interface: u32,
        /// Tokens in the 0xDA table.
        pub token_count: u32,
        /// Entries in the module-load allowlist (0 = off).
        pub allowlist_len: u32,
        /// A [`Lockdown`] value.
        pub lockdown: u32,
        pub reserved0: u32,
        /// Events ever recorded.
        pub events_total: u64,
        /// Events overwritten before anyone could read them.
        pub events_lost: u64,
        /// Sequence number the next event will get.
        pub next_seq: u64,
        /// CLOCK_MONOTONIC (ns) at load.
        pub loaded_at_ns: u64,
        pub reserved: [u8; 56],
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
/// `MILSPEC_IOC_SET_LEVEL` (needs `CAP_SYS_ADMIN`). Lowering a locked level is `EPERM`.
pub const IOC_SET_LEVEL: u32 = iow(0x03, LEVEL_REQUEST_SIZE);

wire_struct! {
    /// Argument of [`IOC_SET_LEVEL`].
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
    /// A state-changing ioctl without `CAP_SYS_ADMIN`: `arg0` the command.
    IoctlDenied = 6,
    /// The 0xDA token table is malformed: `name` the reason.
    TokenTableInvalid = 7,
    /// Loaded with `force=1` on an unsupported platform: `name` the product.
    ForcedLoad = 8,
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
            EventKind::IoctlDenied => "ioctl_denied",
            EventKind::TokenTableInvalid => "token_table_invalid",
            EventKind::ForcedLoad => "forced_load",
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
            6 => Some(EventKind::IoctlDenied),
            7 => Some(EventKind::TokenTableInvalid),
            8 => Some(EventKind::ForcedLoad),
            _ => None,
        }
    }
}

/// Length of the name field of events and allowlist entries (the kernel's
/// `MODULE_NAME_LEN` on 64-bit).
pub const NAME_LEN: usize = 56;
/// Size of one [`Event`].
pub const EVENT_SIZE: usize = 96;
/// Events the kernel keeps; older ones are overwritten and counted as lost.
pub const EVENT_RING_CAPACITY: usize = 256;

wire_struct! {
    /// One event as [`IOC_GET_EVENTS`] and `read()` return it.
    pub struct Event [96] {
        /// Sequence number, starting at 1, without gaps in the kernel.
        pub seq: u64,
        /// CLOCK_MONOTONIC (ns) when it happened.
        pub timestamp_ns: u64,
        /// An [`EventKind`] value.
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
/// `MILSPEC_IOC_GET_EVENTS`: events with `seq >= from_seq`, oldest first.
pub const IOC_GET_EVENTS: u32 = iowr(0x04, EVENTS_REQUEST_SIZE);
/// [`EventsRequest::flags`]: events between `from_seq` and the oldest returned one
/// were overwritten before they could be read.
pub const EVENTS_FLAG_GAP: u32 = 1;

wire_struct! {
    /// Argument of [`IOC_GET_EVENTS`].
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
/// `MILSPEC_IOC_SET_ALLOWLIST` (needs `CAP_SYS_ADMIN`; `EBUSY` once the level is
/// locked). Replaces the list; `count` 0 turns it off.
pub const IOC_SET_ALLOWLIST: u32 = iow(0x05, ALLOWLIST_REQUEST_SIZE);

wire_struct! {
    /// Argument of [`IOC_SET_ALLOWLIST`].
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

/// Validates one allowlist entry: NUL-terminated within [`NAME_LEN`], non-empty,
/// only `[A-Za-z0-9_-]`. Returns the name's length; `-` counts as `_` when matching,
/// as the kernel treats them alike in module names.
pub fn validate_module_name(raw: &[u8; NAME_LEN]) -> Result<usize, AbiError> {
    let len = raw
        .iter()
        .position(|&b| b == 0)
        .ok_or(AbiError::OutOfRange)?;
    let name = raw.get(..len).ok_or(AbiError::OutOfRange)?;
    if name.is_empty()
        || !name
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        || raw.iter().skip(len).any(|&b| b != 0)
    {
        return Err(AbiError::OutOfRange);
    }
    Ok(len)
}

/// Whether module names `a` and `b` are the same module (`-` and `_` alike).
pub fn module_names_equal(a: &[u8], b: &[u8]) -> bool {
    let norm = |c: &u8| if *c == b'-' { b'_' } else { *c };
    a.len() == b.len() && a.iter().map(norm).eq(b.iter().map(norm))
}

/// Size of one [`TokenEntry`].
pub const TOKEN_ENTRY_SIZE: usize = 8;
/// Size of [`TokensRequest`].
pub const TOKENS_REQUEST_SIZE: usize = 32;
/// `MILSPEC_IOC_GET_TOKENS` (needs `CAP_SYS_ADMIN`: tokens are root-only).
pub const IOC_GET_TOKENS: u32 = iowr(0x06, TOKENS_REQUEST_SIZE);

/// Every command of this ABI, in number order.
pub const ALL_COMMANDS: [u32; 6] = [
    IOC_GET_INFO,
    IOC_GET_STATUS,
    IOC_SET_LEVEL,
    IOC_GET_EVENTS,
    IOC_SET_ALLOWLIST,
    IOC_GET_TOKENS,
];

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
    /// Argument of [`IOC_GET_TOKENS`].
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
        /// Out: a [`SmbiosState`] value.
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

/// Sequential writer over a fixed buffer. Writing past the end is a no-op for the
/// excess bytes instead of a panic; the size asserts keep layouts in range.
struct Writer<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl<'a> Writer<'a> {
    fn new(buf: &'a mut [u8]) -> Self {
        Writer { buf, pos: 0 }
    }

    fn bytes(&mut self, src: &[u8]) {
        let dst = self.buf.iter_mut().skip(self.pos);
        for (d, s) in dst.zip(src) {
            *d = *s;
        }
        self.pos += src.len();
    }
}

/// Sequential reader over a fixed buffer; bytes past the end read as zero.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    fn array<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        for (d, s) in out.iter_mut().zip(self.buf.iter().skip(self.pos)) {
            *d = *s;
        }
        self.pos += N;
        out
    }
}

/// Keys of `/proc/milspec/status`, in the order the module prints them.
/// The format is `key: value` per line; see `docs/status.md`.
pub mod status_keys {
    /// [`super::ABI_VERSION`] of the module, decimal.
    pub const ABI_VERSION: &str = "abi_version";
    /// Module version string.
    pub const MODULE_VERSION: &str = "module_version";
    /// DMI system vendor (`sys_vendor`), or `unknown`.
    pub const PLATFORM_VENDOR: &str = "platform_vendor";
    /// DMI product name, or `unknown`.
    pub const PLATFORM_PRODUCT: &str = "platform_product";
    /// DMI BIOS version, or `unknown`.
    pub const BIOS_VERSION: &str = "bios_version";
    /// `supported` or `forced`, see [`super::PlatformState`].
    pub const PLATFORM_STATE: &str = "platform_state";
    /// `<name> (<number>)`, see [`super::SecurityLevel`].
    pub const SECURITY_LEVEL: &str = "security_level";
    /// `yes` once a level of `paranoid` or above was set (until reboot).
    pub const SECURITY_LEVEL_LOCKED: &str = "security_level_locked";
    /// `yes` when the module holds a reference on itself (cannot be unloaded).
    pub const MODULE_PINNED: &str = "module_pinned";
    /// Events recorded since load.
    pub const EVENTS_TOTAL: &str = "events_total";
    /// Events overwritten before they could be read.
    pub const EVENTS_LOST: &str = "events_lost";
    /// Number of Dell SMBIOS tokens.
    pub const TOKENS: &str = "tokens";
    /// `present`, `absent` or `invalid`, see [`super::SmbiosState`].
    pub const SMBIOS_CALLING_INTERFACE: &str = "smbios_calling_interface";
    /// 0xB1 structure: `yes`/`no` (ACPI-WMI interface flag), or `absent`.
    pub const SMBIOS_ACPI_WMI: &str = "smbios_acpi_wmi";
    /// `off`, `set, N entries (enforced from paranoid)` or `enforcing, N entries`.
    pub const MODULE_LOAD_ALLOWLIST: &str = "module_load_allowlist";
    /// `none`, `integrity`, `confidentiality` or `unsupported`.
    pub const KERNEL_LOCKDOWN: &str = "kernel_lockdown";
    /// `yes` if the kernel refuses unsigned modules.
    pub const MODULE_SIG_ENFORCE: &str = "module_sig_enforce";
    /// CLOCK_MONOTONIC seconds at load, `S.UUUUUU`.
    pub const LOADED_AT: &str = "loaded_at";
    /// Feature lines: `real`, `unsupported` or `not-present`.
    pub const FEATURE_PLATFORM_DETECTION: &str = "feature_platform_detection";
    /// Security levels with their effects.
    pub const FEATURE_SECURITY_LEVELS: &str = "feature_security_levels";
    /// Event log with poll().
    pub const FEATURE_EVENT_LOG: &str = "feature_event_log";
    /// Module-load allowlist.
    pub const FEATURE_MODULE_ALLOWLIST: &str = "feature_module_allowlist";
    /// Dell SMBIOS tokens (read-only): `real` when a valid 0xDA table exists.
    pub const FEATURE_SMBIOS_TOKENS: &str = "feature_smbios_tokens";
    /// Lockdown reporting: `unsupported` without the lockdown LSM.
    pub const FEATURE_LOCKDOWN_REPORT: &str = "feature_lockdown_report";
    /// Writing SMBIOS tokens: never done.
    pub const FEATURE_SMBIOS_TOKEN_WRITE: &str = "feature_smbios_token_write";
    /// TPM measurement: not done.
    pub const FEATURE_TPM_MEASUREMENT: &str = "feature_tpm_measurement";

    /// Every key the module prints, in order.
    pub const ALL: &[&str] = &[
        ABI_VERSION,
        MODULE_VERSION,
        PLATFORM_VENDOR,
        PLATFORM_PRODUCT,
        BIOS_VERSION,
        PLATFORM_STATE,
        SECURITY_LEVEL,
        SECURITY_LEVEL_LOCKED,
        MODULE_PINNED,
        EVENTS_TOTAL,
        EVENTS_LOST,
        TOKENS,
        SMBIOS_CALLING_INTERFACE,
        SMBIOS_ACPI_WMI,
        MODULE_LOAD_ALLOWLIST,
        KERNEL_LOCKDOWN,
        MODULE_SIG_ENFORCE,
        LOADED_AT,
        FEATURE_PLATFORM_DETECTION,
        FEATURE_SECURITY_LEVELS,
        FEATURE_EVENT_LOG,
        FEATURE_MODULE_ALLOWLIST,
        FEATURE_SMBIOS_TOKENS,
        FEATURE_LOCKDOWN_REPORT,
        FEATURE_SMBIOS_TOKEN_WRITE,
        FEATURE_TPM_MEASUREMENT,
    ];
}
