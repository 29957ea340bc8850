// SPDX-License-Identifier: GPL-2.0

//! `/proc/milspec/` and its files.

use crate::ffi::ProcDir;
use crate::state::{self, State};
use crate::status;
use core::ffi::{c_int, c_void};
use core::fmt;
use kernel::bindings;
use kernel::prelude::*;

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
    _dir: ProcDir,
}

impl Registration {
    /// Creates `/proc/milspec/status` (mode 0444) and `/proc/milspec/tokens` (0400:
    /// tokens are for root only).
    pub(crate) fn new() -> Result<Self> {
        let Some(dir) = ProcDir::new(c"milspec") else {
            pr_err!("cannot create /proc/milspec (does it already exist?)\n");
            return Err(ENOMEM);
        };
        // From here on, dropping `dir` removes the directory if anything below fails.
        dir.add_single(c"status", 0o444, status_show)?;
        dir.add_single(c"tokens", 0o400, tokens_show)?;
        Ok(Registration { _dir: dir })
    }
}
