// SPDX-License-Identifier: GPL-2.0

//! Safe wrappers around the C shim (`milspec_shim.c`): module parameters, the
//! readers' wait queue and the caller's identity.

use core::ffi::{c_char, c_int, CStr};

extern "C" {
    fn milspec_shim_force() -> bool;
    fn milspec_shim_level() -> *const c_char;
    fn milspec_shim_wake_readers();
    fn milspec_shim_wait_events_after(seq: u64) -> c_int;
    fn milspec_shim_caller(uid: *mut u32, pid: *mut u32);
}

/// `force=1`: bind even when the platform is not on the supported list.
pub(crate) fn force_param() -> bool {
    // SAFETY: reads a `bool` module parameter the kernel set before `init`; no
    // preconditions.
    unsafe { milspec_shim_force() }
}

/// The `level=` module parameter as given (validated by the caller).
pub(crate) fn level_param() -> &'static CStr {
    // SAFETY: the shim returns the `charp` parameter or a static "" and never NULL;
    // parameter strings live as long as the module (they are read-only, 0444).
    unsafe { CStr::from_ptr(milspec_shim_level()) }
}

/// Wakes `poll()`/`read()` waiters after new events.
pub(crate) fn wake_readers() {
    // SAFETY: wakes the shim's static wait queue; callable from any process context.
    unsafe { milspec_shim_wake_readers() }
}

/// Sleeps (interruptibly) until an event with a sequence number after `seq`
/// exists. `Err(ERESTARTSYS)` on a signal.
pub(crate) fn wait_events_after(seq: u64) -> kernel::error::Result {
    // SAFETY: sleeps on the shim's static wait queue; called from `read()` in
    // process context without any lock held.
    kernel::error::to_result(unsafe { milspec_shim_wait_events_after(seq) })
}

/// uid (in the initial user namespace) and tgid of the current task.
pub(crate) fn caller() -> (u32, u32) {
    let (mut uid, mut pid) = (0u32, 0u32);
    // SAFETY: both pointers are valid for writes for the duration of the call.
    unsafe { milspec_shim_caller(&mut uid, &mut pid) };
    (uid, pid)
}
