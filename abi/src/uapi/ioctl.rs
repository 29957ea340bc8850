// SPDX-License-Identifier: GPL-2.0 OR MIT
//! ioctl numbers of `/dev/milspec`, encoded like the C `_IOC()` macros.

use super::refusals::REFUSALS_REQUEST_SIZE;
use super::structs::{
    ALLOWLIST_REQUEST_SIZE, EVENTS_REQUEST_SIZE, INFO_SIZE, LEVEL_REQUEST_SIZE, STATUS_SIZE,
    TOKENS_REQUEST_SIZE,
};

/// ioctl "type" byte. 0xD1 is unassigned in the 6.12 tree's
/// `Documentation/userspace-api/ioctl/ioctl-number.rst` (no 0xD0-0xDA entries).
pub const IOCTL_MAGIC: u32 = 0xD1;

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

/// `MILSPEC_IOC_GET_INFO`: ABI version, module version, platform state.
pub const IOC_GET_INFO: u32 = iowr(0x01, INFO_SIZE);

/// `MILSPEC_IOC_GET_STATUS`: counters and state (same data as the status file).
pub const IOC_GET_STATUS: u32 = iowr(0x02, STATUS_SIZE);

/// `MILSPEC_IOC_SET_LEVEL` (needs `CAP_SYS_ADMIN`). Lowering a locked level is `EPERM`.
pub const IOC_SET_LEVEL: u32 = iow(0x03, LEVEL_REQUEST_SIZE);

/// `MILSPEC_IOC_GET_EVENTS`: events with `seq >= from_seq`, oldest first.
pub const IOC_GET_EVENTS: u32 = iowr(0x04, EVENTS_REQUEST_SIZE);

/// `MILSPEC_IOC_SET_ALLOWLIST` (needs `CAP_SYS_ADMIN`; `EBUSY` once the level is
/// locked). Replaces the list; `count` 0 turns it off.
pub const IOC_SET_ALLOWLIST: u32 = iow(0x05, ALLOWLIST_REQUEST_SIZE);

/// `MILSPEC_IOC_GET_TOKENS` (needs `CAP_SYS_ADMIN`: tokens are root-only).
pub const IOC_GET_TOKENS: u32 = iowr(0x06, TOKENS_REQUEST_SIZE);

/// `MILSPEC_IOC_GET_REFUSALS`: refused calls per (uid, command) (anyone; ABI 2).
pub const IOC_GET_REFUSALS: u32 = iowr(0x07, REFUSALS_REQUEST_SIZE);

/// Every command of this ABI, in number order.
pub const ALL_COMMANDS: [u32; 7] = [
    IOC_GET_INFO,
    IOC_GET_STATUS,
    IOC_SET_LEVEL,
    IOC_GET_EVENTS,
    IOC_SET_ALLOWLIST,
    IOC_GET_TOKENS,
    IOC_GET_REFUSALS,
];

/// Short name of a command (`set_level`, ...), as refusal summaries and the
/// status file use it; `None` for a number this ABI does not define.
pub const fn command_name(cmd: u32) -> Option<&'static str> {
    Some(match cmd {
        IOC_GET_INFO => "get_info",
        IOC_GET_STATUS => "get_status",
        IOC_SET_LEVEL => "set_level",
        IOC_GET_EVENTS => "get_events",
        IOC_SET_ALLOWLIST => "set_allowlist",
        IOC_GET_TOKENS => "get_tokens",
        IOC_GET_REFUSALS => "get_refusals",
        _ => return None,
    })
}
