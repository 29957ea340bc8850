// SPDX-License-Identifier: GPL-2.0 OR MIT
//! Definitions shared by the kernel module and user space.
//!
//! This directory is compiled twice: as the body of the `milspec-abi` crate and as
//! a module of the kernel crate (`#[path]` to this file; the files below resolve
//! next to it). It must therefore stay plain `core` Rust: no crate attributes, no
//! dependencies, no `unsafe`, no panicking paths.
//!
//! One concern per file, everything re-exported here:
//! * `wire`: the byte encoding and the `wire_struct!` macro;
//! * `types`: value enums shared by the status file and the ioctls;
//! * `level`: security levels and the ratchet rule;
//! * `structs`: the ioctl argument structs and their sizes;
//! * `names`: module-name rules of the allowlist;
//! * `ioctl`: ioctl numbers;
//! * `refusals`: refused calls, coalesced per (uid, command);
//! * `status_keys`: keys of `/proc/milspec/status`;
//! * `posture`: the buffer measured into IMA (and `sha256`, its digest of the
//!   allowlist).
//!
//! Rules for every ioctl struct (see `docs/abi.md`):
//! * `#[repr(C)]`, fixed size, native endianness, first field `size: u32` set by the
//!   caller to the struct size it was built with;
//! * ends in reserved bytes that the caller must zero (`EINVAL` otherwise);
//! * (de)serialised field by field with `to_bytes`/`from_bytes`, so neither side needs
//!   a transmute.

mod ioctl;
mod level;
mod names;
mod posture;
mod refusals;
mod sha256;
pub mod status_keys;
mod structs;
mod types;
mod wire;

pub use ioctl::*;
pub use level::*;
pub use names::*;
pub use posture::*;
pub use refusals::*;
pub use sha256::*;
pub use structs::*;
pub use types::*;
pub use wire::{fixed_str, fixed_str_get};

/// Version of this ABI. Bumped on any incompatible change of an ioctl or of the
/// meaning of a `/proc/milspec/status` key. 2: refused calls are coalesced
/// (`refusals` events, GET_REFUSALS, `Status::refusals_total`) instead of one
/// `ioctl_denied` event each.
pub const ABI_VERSION: u32 = 2;

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
