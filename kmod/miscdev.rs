// SPDX-License-Identifier: GPL-2.0

//! `/dev/milspec`: the misc device. The C shim owns the `miscdevice` and
//! `file_operations` structs (their layouts are not in 6.12's Rust bindings);
//! their callbacks land here.

use crate::ioctl;
use core::ffi::{c_int, c_long, c_uint, c_ulong};
use kernel::bindings;
use kernel::prelude::*;

extern "C" {
    fn milspec_shim_misc_register() -> c_int;
    fn milspec_shim_misc_deregister();
}

/// The registered misc device; deregistered on drop.
pub(crate) struct Registration(());

impl Registration {
    /// Registers `/dev/milspec` (dynamic minor, mode 0444).
    pub(crate) fn new() -> Result<Self> {
        // SAFETY: registers the shim's static miscdevice once; `Registration` is
        // created at most once per module instance and deregisters it on drop.
        kernel::error::to_result(unsafe { milspec_shim_misc_register() })?;
        Ok(Registration(()))
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // SAFETY: the device was registered in `new`.
        unsafe { milspec_shim_misc_deregister() };
    }
}

/// `unlocked_ioctl` (and, through `compat_ptr_ioctl`, `compat_ioctl`) of
/// `/dev/milspec`.
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
