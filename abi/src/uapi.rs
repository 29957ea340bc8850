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
    /// A reserved byte is not zero.
    ReservedNotZero,
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

    /// Checks the caller-controlled parts of a request.
    pub fn validate_request(&self) -> Result<(), AbiError> {
        check_header(self.size, INFO_SIZE, &self.reserved)
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

    /// Every key the module prints, in order.
    pub const ALL: &[&str] = &[
        ABI_VERSION,
        MODULE_VERSION,
        PLATFORM_VENDOR,
        PLATFORM_PRODUCT,
        BIOS_VERSION,
        PLATFORM_STATE,
    ];
}
