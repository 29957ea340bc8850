// SPDX-License-Identifier: GPL-2.0

//! `/proc/milspec/` and its files.

use crate::state::{self, State};
use crate::status;
use core::ffi::{c_char, c_int, c_void, CStr};
use core::fmt;
use kernel::bindings;
use kernel::prelude::*;

type ShowFn = unsafe extern "C" fn(*mut bindings::seq_file, *mut c_void) -> c_int;

// `seq_file` reaches structs that are empty in this config (e.g. `uprobes_state`),
// which rustc flags although C never looks inside them through these pointers.
#[allow(improper_ctypes)]
extern "C" {
    // `proc_fs.h` is not in 6.12's Rust bindings. These prototypes take only
    // pointers and scalars, so they cannot drift with the kernel config.
    fn proc_mkdir(
        name: *const c_char,
        parent: *mut bindings::proc_dir_entry,
    ) -> *mut bindings::proc_dir_entry;
    fn proc_create_single_data(
        name: *const c_char,
        mode: bindings::umode_t,
        parent: *mut bindings::proc_dir_entry,
        show: Option<ShowFn>,
        data: *mut c_void,
    ) -> *mut bindings::proc_dir_entry;
    fn proc_remove(de: *mut bindings::proc_dir_entry);
}

/// `fmt::Write` into a seq_file. On overflow `seq_write` marks the seq_file and
/// the seq_file core calls `show` again with a bigger buffer, so errors are ignored.
struct SeqWriter(*mut bindings::seq_file);

impl fmt::Write for SeqWriter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        // SAFETY: `self.0` is the seq_file passed to the running `show` callback and
        // `s` is a valid buffer of `s.len()` bytes.
        unsafe { bindings::seq_write(self.0, s.as_ptr().cast(), s.len()) };
        Ok(())
    }
}

/// Runs `write` against the published state into `seq`.
fn show(
    seq: *mut bindings::seq_file,
    write: fn(&mut dyn fmt::Write, &State) -> fmt::Result,
) -> c_int {
    let mut w = SeqWriter(seq);
    match state::with(|st| write(&mut w, st)) {
        Some(_) => 0,
        None => ENODEV.to_errno(),
    }
}

/// `show` callback of `/proc/milspec/status`.
///
/// # Safety
///
/// Called by the seq_file core with a valid `seq_file`.
unsafe extern "C" fn status_show(seq: *mut bindings::seq_file, _v: *mut c_void) -> c_int {
    show(seq, status::write)
}

/// `show` callback of `/proc/milspec/tokens`.
///
/// # Safety
///
/// Called by the seq_file core with a valid `seq_file`.
unsafe extern "C" fn tokens_show(seq: *mut bindings::seq_file, _v: *mut c_void) -> c_int {
    show(seq, status::write_tokens)
}

/// `/proc/milspec` with its files; removed (with everything under it) on drop.
pub(crate) struct Registration {
    dir: *mut bindings::proc_dir_entry,
}

// SAFETY: the pointer is only used to remove the directory, which procfs allows
// from any thread.
unsafe impl Send for Registration {}
// SAFETY: `&Registration` gives no access to the pointer.
unsafe impl Sync for Registration {}

impl Registration {
    /// Creates `/proc/milspec/status` (mode 0444) and `/proc/milspec/tokens` (0400:
    /// tokens are for root only).
    pub(crate) fn new() -> Result<Self> {
        // SAFETY: the name is a NUL-terminated static string; NULL parent = /proc.
        let dir = unsafe { proc_mkdir(c"milspec".as_ptr(), core::ptr::null_mut()) };
        if dir.is_null() {
            pr_err!("cannot create /proc/milspec (does it already exist?)\n");
            return Err(ENOMEM);
        }
        // From here on, `reg` removes the directory if anything below fails.
        let reg = Registration { dir };
        reg.add_file(c"status", 0o444, status_show)?;
        reg.add_file(c"tokens", 0o400, tokens_show)?;
        Ok(reg)
    }

    fn add_file(&self, name: &'static CStr, mode: bindings::umode_t, show: ShowFn) -> Result {
        // SAFETY: `self.dir` is the live directory, `name` is a static C string,
        // `show` matches the prototype and ignores `data`.
        let file = unsafe {
            proc_create_single_data(
                name.as_ptr(),
                mode,
                self.dir,
                Some(show),
                core::ptr::null_mut(),
            )
        };
        if file.is_null() {
            return Err(ENOMEM);
        }
        Ok(())
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // SAFETY: `self.dir` was returned by `proc_mkdir` and is removed only here.
        // `proc_remove` waits for running callbacks and removes the whole subtree.
        unsafe { proc_remove(self.dir) };
    }
}
