// SPDX-License-Identifier: GPL-2.0

//! Module notifier: sees every module load and unload in the kernel. The
//! `notifier_block` lives in the C shim; the callback and its rules are here (the
//! rules themselves in `State::module_event`).

use crate::ffi;
use crate::state::{self, ModuleAction};
use core::ffi::{c_int, c_ulong, c_void};
use kernel::bindings;
use kernel::prelude::*;

const NOTIFY_DONE: c_int = bindings::NOTIFY_DONE as c_int;
const NOTIFY_STOP_MASK: c_int = bindings::NOTIFY_STOP_MASK as c_int;
const NOTIFY_OK: c_int = bindings::NOTIFY_OK as c_int;

/// `notifier_from_errno()`: how a notifier refuses, with an errno.
fn notifier_from_errno(err: Error) -> c_int {
    NOTIFY_STOP_MASK | (NOTIFY_OK - err.to_errno())
}

/// The registered module notifier; unregistered on drop.
pub(crate) struct Registration {
    _notifier: ffi::ModuleNotifier,
}

impl Registration {
    /// Registers the notifier; from now on every module load and unload is seen.
    pub(crate) fn new() -> Result<Self> {
        Ok(Registration {
            _notifier: ffi::ModuleNotifier::register()?,
        })
    }
}

/// Module notifier callback.
///
/// # Safety
///
/// Called by the module loader's notifier chain with `data` pointing to the
/// `struct module` the notification is about, valid for the duration of the call.
#[no_mangle]
pub(crate) unsafe extern "C" fn milspec_module_notify(
    _nb: *mut bindings::notifier_block,
    action: c_ulong,
    data: *mut c_void,
) -> c_int {
    let action = match action as bindings::module_state {
        bindings::module_state_MODULE_STATE_COMING => ModuleAction::Coming,
        bindings::module_state_MODULE_STATE_LIVE => ModuleAction::Live,
        bindings::module_state_MODULE_STATE_GOING => ModuleAction::Going,
        _ => return NOTIFY_DONE,
    };
    // SAFETY: `data` is a valid `struct module` during the call (see above); its
    // `name` is a fixed array, NUL-terminated by the loader. The kernel builds with
    // `-funsigned-char`, so `char` is `u8` in the bindings.
    let raw: &[u8] = unsafe { &(*data.cast::<bindings::module>()).name };
    let len = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
    let name = raw.get(..len).unwrap_or(&[]);
    match state::with(|st| st.module_event(action, name)) {
        Some(Err(e)) => notifier_from_errno(e),
        _ => NOTIFY_DONE,
    }
}
