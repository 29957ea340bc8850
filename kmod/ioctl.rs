// SPDX-License-Identifier: GPL-2.0

//! ioctl commands of `/dev/milspec` (ABI in `abi/src/uapi/`, documented in
//! `docs/abi.md`). Every user struct is read exactly once into a small fixed
//! buffer and validated before use; arrays are moved through heap buffers, never
//! through the stack. State changes need `CAP_SYS_ADMIN`, checked before any user
//! memory is touched; a refusal is counted per (uid, command), never one event
//! each (`State::refused`).

use crate::abi::{
    self, status_flags, validate_module_name, AllowlistRequest, EventsRequest, Info, LevelRequest,
    RefusalsRequest, Status, TokenEntry, TokensRequest, EVENTS_FLAG_GAP, EVENT_RING_CAPACITY,
    INFO_SIZE, NAME_LEN, REFUSAL_ENTRIES_MAX, REFUSAL_ENTRY_SIZE, STATUS_SIZE, TOKEN_ENTRY_SIZE,
};
use crate::allowlist::Entry;
use crate::ffi;
use crate::lockdown;
use crate::state::{self, abi_errno, State};
use crate::version::MODULE_VERSION;
use kernel::prelude::*;
use kernel::uaccess::UserSlice;

// The ABI crate computes ioctl numbers by hand; check they agree with the kernel's.
const _: () = {
    use kernel::ioctl::{_IOW, _IOWR};
    assert!(abi::IOC_GET_INFO == _IOWR::<[u8; INFO_SIZE]>(abi::IOCTL_MAGIC, 0x01));
    assert!(abi::IOC_GET_STATUS == _IOWR::<[u8; STATUS_SIZE]>(abi::IOCTL_MAGIC, 0x02));
    assert!(abi::IOC_SET_LEVEL == _IOW::<[u8; LevelRequest::SIZE]>(abi::IOCTL_MAGIC, 0x03));
    assert!(abi::IOC_GET_EVENTS == _IOWR::<[u8; EventsRequest::SIZE]>(abi::IOCTL_MAGIC, 0x04));
    assert!(abi::IOC_SET_ALLOWLIST == _IOW::<[u8; AllowlistRequest::SIZE]>(abi::IOCTL_MAGIC, 0x05));
    assert!(abi::IOC_GET_TOKENS == _IOWR::<[u8; TokensRequest::SIZE]>(abi::IOCTL_MAGIC, 0x06));
    assert!(abi::IOC_GET_REFUSALS == _IOWR::<[u8; RefusalsRequest::SIZE]>(abi::IOCTL_MAGIC, 0x07));
};

/// Runs command `cmd` with user argument `arg`.
pub(crate) fn dispatch(cmd: u32, arg: usize) -> Result {
    state::with(|st| match cmd {
        abi::IOC_GET_INFO => get_info(st, arg),
        abi::IOC_GET_STATUS => get_status(st, arg),
        abi::IOC_SET_LEVEL => privileged(st, cmd, || set_level(st, arg)),
        abi::IOC_GET_EVENTS => get_events(st, arg),
        abi::IOC_SET_ALLOWLIST => privileged(st, cmd, || set_allowlist(st, arg)),
        abi::IOC_GET_TOKENS => privileged(st, cmd, || get_tokens(st, arg)),
        abi::IOC_GET_REFUSALS => get_refusals(st, arg),
        _ => Err(ENOTTY),
    })
    .ok_or(ENODEV)?
}

/// Runs `f` if the caller has `CAP_SYS_ADMIN`; otherwise counts the refusal and
/// fails with `EPERM`.
fn privileged(st: &State, cmd: u32, f: impl FnOnce() -> Result) -> Result {
    if ffi::capable_sys_admin() {
        f()
    } else {
        st.refused(cmd);
        Err(EPERM)
    }
}

/// Reads the fixed-size argument struct (once) from `arg`.
fn read_arg<const N: usize>(arg: usize) -> Result<[u8; N]> {
    let mut raw = [0u8; N];
    UserSlice::new(arg, N).reader().read_slice(&mut raw)?;
    Ok(raw)
}

fn write_arg(arg: usize, bytes: &[u8]) -> Result {
    UserSlice::new(arg, bytes.len()).writer().write_slice(bytes)
}

/// GET_INFO: the module's identity.
fn get_info(st: &State, arg: usize) -> Result {
    Info::from_bytes(&read_arg(arg)?)
        .validate_request()
        .map_err(abi_errno)?;
    let mut info = Info::request();
    info.abi_version = abi::ABI_VERSION;
    info.set_module_version(MODULE_VERSION);
    info.platform_state = st.platform.state as u32;
    write_arg(arg, &info.to_bytes())
}

/// GET_STATUS: the same data as the status file, binary.
fn get_status(st: &State, arg: usize) -> Result {
    Status::from_bytes(&read_arg(arg)?)
        .validate_request()
        .map_err(abi_errno)?;
    let mut out = Status::request();
    {
        let inner = st.inner.lock();
        out.security_level = inner.level as u32;
        let mut flags = 0;
        if inner.locked {
            flags |= status_flags::LEVEL_LOCKED;
        }
        if inner.pinned {
            flags |= status_flags::MODULE_PINNED;
        }
        if inner.allowlist_enforcing() {
            flags |= status_flags::ALLOWLIST_ENFORCING;
        }
        out.flags = flags;
        out.allowlist_len = inner.allowlist.len() as u32;
        out.events_total = inner.events.total();
        out.events_lost = inner.events.lost();
        out.next_seq = inner.events.next_seq();
        out.refusals_total = inner.refusals.total();
    }
    if lockdown::module_sig_enforced() {
        out.flags |= status_flags::MODULE_SIG_ENFORCED;
    }
    out.abi_version = abi::ABI_VERSION;
    out.platform_state = st.platform.state as u32;
    out.smbios_calling_interface = st.smbios.state as u32;
    out.token_count = st.smbios.tokens.len() as u32;
    out.lockdown = lockdown::state() as u32;
    out.loaded_at_ns = st.loaded_at_ns;
    write_arg(arg, &out.to_bytes())
}

/// SET_LEVEL: ratchet rule in `abi::decide_level`.
fn set_level(st: &State, arg: usize) -> Result {
    let level = LevelRequest::from_bytes(&read_arg(arg)?)
        .validate()
        .map_err(abi_errno)?;
    st.set_level(level)
}

/// GET_EVENTS: events from `from_seq` on, oldest first, into the caller's array.
fn get_events(st: &State, arg: usize) -> Result {
    let mut req = EventsRequest::from_bytes(&read_arg(arg)?);
    req.validate().map_err(abi_errno)?;
    let want = (req.capacity as usize).min(EVENT_RING_CAPACITY);
    let batch = st.events_from(req.from_seq, want)?;
    // `oldest_seq <= next_seq` always, so this is also "and from_seq < next_seq".
    if req.from_seq < batch.oldest_seq {
        req.flags |= EVENTS_FLAG_GAP;
    }
    req.next_seq = batch.next_seq.max(req.from_seq);
    req.oldest_seq = batch.oldest_seq;
    req.count = batch.count() as u32;
    // The array first: if it is not writable, the caller sees EFAULT and the
    // request struct keeps its inputs.
    batch.copy_to_user(req.events_ptr as usize)?;
    write_arg(arg, &req.to_bytes())
}

/// SET_ALLOWLIST: validates every name, then replaces the list atomically.
fn set_allowlist(st: &State, arg: usize) -> Result {
    let req = AllowlistRequest::from_bytes(&read_arg(arg)?);
    req.validate().map_err(abi_errno)?;
    let count = req.count as usize;
    let mut raw = KVec::from_elem(0u8, count * NAME_LEN, GFP_KERNEL)?;
    UserSlice::new(req.names_ptr as usize, count * NAME_LEN)
        .reader()
        .read_slice(&mut raw)?;
    let mut entries = KVec::with_capacity(count, GFP_KERNEL)?;
    for chunk in raw.chunks_exact(NAME_LEN) {
        let mut name = [0u8; NAME_LEN];
        for (dst, src) in name.iter_mut().zip(chunk) {
            *dst = *src;
        }
        let len = validate_module_name(&name).map_err(abi_errno)?;
        entries.push(Entry { raw: name, len }, GFP_KERNEL)?;
    }
    st.set_allowlist(entries)
}

/// GET_TOKENS: the Dell SMBIOS tokens (root only).
fn get_tokens(st: &State, arg: usize) -> Result {
    let mut req = TokensRequest::from_bytes(&read_arg(arg)?);
    req.validate().map_err(abi_errno)?;
    let tokens = &st.smbios.tokens;
    let n = tokens.len().min(req.capacity as usize);
    let mut out = KVec::with_capacity(n * TOKEN_ENTRY_SIZE, GFP_KERNEL)?;
    for t in tokens.iter().take(n) {
        let e = TokenEntry {
            id: t.id,
            location: t.location,
            value: t.value,
            reserved: 0,
        };
        out.extend_from_slice(&e.to_bytes(), GFP_KERNEL)?;
    }
    req.count = n as u32;
    req.total = tokens.len() as u32;
    req.state = st.smbios.state as u32;
    UserSlice::new(req.tokens_ptr as usize, out.len())
        .writer()
        .write_slice(&out)?;
    write_arg(arg, &req.to_bytes())
}

/// GET_REFUSALS: the refusal table (anyone: events already show uids and pids).
fn get_refusals(st: &State, arg: usize) -> Result {
    let mut req = RefusalsRequest::from_bytes(&read_arg(arg)?);
    req.validate().map_err(abi_errno)?;
    let want = (req.capacity as usize).min(REFUSAL_ENTRIES_MAX);
    // Reserved before the lock; filling it below does not reallocate.
    let mut out = KVec::with_capacity(want * REFUSAL_ENTRY_SIZE, GFP_KERNEL)?;
    {
        let inner = st.inner.lock();
        for e in inner.refusals.entries().take(want) {
            out.extend_from_slice(&e.to_bytes(), GFP_KERNEL)?;
        }
        req.keys = inner.refusals.keys() as u32;
        req.total = inner.refusals.total();
    }
    req.count = (out.len() / REFUSAL_ENTRY_SIZE) as u32;
    UserSlice::new(req.entries_ptr as usize, out.len())
        .writer()
        .write_slice(&out)?;
    write_arg(arg, &req.to_bytes())
}
