// SPDX-License-Identifier: GPL-2.0

//! `/dev/milspec`: the misc device. The C shim owns the `miscdevice` and
//! `file_operations` structs (their layouts are not in 6.12's Rust bindings); their
//! callbacks land here. Each open file has a read cursor for `read()`/`poll()`.

use crate::abi::{EVENT_RING_CAPACITY, EVENT_SIZE};
use crate::{ffi, ioctl, state};
use core::ffi::{c_int, c_long, c_uint, c_ulong};
use core::sync::atomic::{AtomicU64, Ordering};
use kernel::bindings;
use kernel::prelude::*;

const EPOLLIN: c_uint = 0x0001;
const EPOLLRDNORM: c_uint = 0x0040;

/// The registered misc device; deregistered on drop.
pub(crate) struct Registration {
    _device: ffi::MiscDevice,
}

impl Registration {
    /// Registers `/dev/milspec` (dynamic minor, mode 0444).
    pub(crate) fn new() -> Result<Self> {
        Ok(Registration {
            _device: ffi::MiscDevice::register()?,
        })
    }
}

/// Per-open-file state, owned through `file->private_data`.
struct OpenFile {
    /// Sequence number of the next event `read()` returns.
    cursor: AtomicU64,
}

/// The `OpenFile` of `file`.
///
/// # Safety
///
/// `file` must be an open file of this device (between `milspec_open` and
/// `milspec_release`).
unsafe fn open_file<'a>(file: *mut bindings::file) -> &'a OpenFile {
    // SAFETY: `milspec_open` stored a leaked `KBox<OpenFile>` in `private_data`,
    // freed only by `milspec_release`, after the last use of the file.
    unsafe { &*(*file).private_data.cast::<OpenFile>() }
}

/// `open`: allocates the read cursor, starting at the oldest event still held.
///
/// # Safety
///
/// Called by the misc core with a valid file being opened.
#[no_mangle]
pub(crate) unsafe extern "C" fn milspec_open(
    _inode: *mut bindings::inode,
    file: *mut bindings::file,
) -> c_int {
    let Some(oldest) = state::with(|st| st.inner.lock().events.oldest_seq()) else {
        return ENODEV.to_errno();
    };
    let Ok(of) = KBox::new(
        OpenFile {
            cursor: AtomicU64::new(oldest),
        },
        GFP_KERNEL,
    ) else {
        return ENOMEM.to_errno();
    };
    // SAFETY: `file` is valid; `private_data` is ours from now on (the misc core
    // set it to the miscdevice, which we do not need).
    unsafe { (*file).private_data = KBox::into_raw(of).cast() };
    0
}

/// `release`: frees the read cursor.
///
/// # Safety
///
/// Called by the VFS once, after the last use of a file `milspec_open` set up.
#[no_mangle]
pub(crate) unsafe extern "C" fn milspec_release(
    _inode: *mut bindings::inode,
    file: *mut bindings::file,
) -> c_int {
    // SAFETY: `private_data` holds the `KBox<OpenFile>` leaked in `milspec_open`;
    // nothing uses it after release.
    drop(unsafe { KBox::from_raw((*file).private_data.cast::<OpenFile>()) });
    0
}

/// `unlocked_ioctl` (and, through `compat_ptr_ioctl`, `compat_ioctl`).
///
/// # Safety
///
/// Called by the VFS with a valid open file of this device.
#[no_mangle]
pub(crate) unsafe extern "C" fn milspec_ioctl(
    _file: *mut bindings::file,
    cmd: c_uint,
    arg: c_ulong,
) -> c_long {
    match ioctl::dispatch(cmd, arg as usize) {
        Ok(()) => 0,
        Err(e) => e.to_errno() as c_long,
    }
}

/// `read`: the next events after this file's cursor, as whole `abi::Event`s
/// (`count` must hold at least one). Blocks until one exists unless `O_NONBLOCK`.
///
/// # Safety
///
/// Called by the VFS with a valid open file of this device and a user buffer.
#[no_mangle]
pub(crate) unsafe extern "C" fn milspec_read(
    file: *mut bindings::file,
    buf: *mut u8,
    count: usize,
    _ppos: *mut bindings::loff_t,
) -> isize {
    // SAFETY: `file` is an open file of this device.
    let of = unsafe { open_file(file) };
    // SAFETY: `file` is valid; `f_flags` is a plain integer field.
    let nonblock = unsafe { (*file).f_flags } & bindings::O_NONBLOCK != 0;
    match read_events(of, buf as usize, count, nonblock) {
        Ok(n) => n as isize,
        Err(e) => e.to_errno() as isize,
    }
}

fn read_events(of: &OpenFile, buf: usize, count: usize, nonblock: bool) -> Result<usize> {
    let want = (count / EVENT_SIZE).min(EVENT_RING_CAPACITY);
    if want == 0 {
        return Err(EINVAL);
    }
    loop {
        let cursor = of.cursor.load(Ordering::Acquire);
        let next = state::with(|st| st.next_seq()).ok_or(ENODEV)?;
        if next > cursor {
            break;
        }
        if nonblock {
            return Err(EAGAIN);
        }
        ffi::wait_events_after(cursor)?;
    }
    let cursor = of.cursor.load(Ordering::Acquire);
    let batch = state::with(|st| st.events_from(cursor, want)).ok_or(ENODEV)??;
    batch.copy_to_user(buf)?;
    // Concurrent readers of one file may both deliver an event; the cursor only
    // moves forward.
    of.cursor.fetch_max(batch.next_seq, Ordering::AcqRel);
    Ok(batch.len())
}

/// Readiness for `poll()`: readable when an event after the cursor exists.
///
/// # Safety
///
/// Called by the shim's `poll` with a valid open file of this device.
#[no_mangle]
pub(crate) unsafe extern "C" fn milspec_poll_mask(file: *mut bindings::file) -> c_uint {
    // SAFETY: `file` is an open file of this device.
    let of = unsafe { open_file(file) };
    let cursor = of.cursor.load(Ordering::Acquire);
    match state::with(|st| st.next_seq() > cursor) {
        Some(true) => EPOLLIN | EPOLLRDNORM,
        _ => 0,
    }
}

/// Wait condition of `read()`: an event after `seq` exists.
#[no_mangle]
pub(crate) extern "C" fn milspec_events_after(seq: u64) -> bool {
    state::with(|st| st.next_seq() > seq).unwrap_or(true)
}
