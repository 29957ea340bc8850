// SPDX-License-Identifier: GPL-2.0

//! The module's state and how callbacks reach it.
//!
//! Callbacks from procfs and the misc device are plain C function pointers with no
//! context argument that we control, so the state is published through one global
//! pointer. It is set before any interface is registered and cleared only after all
//! of them are unregistered (see the field order of `MilspecModule`), so a callback
//! never sees it dangling.

use crate::platform::Platform;
use core::ptr;
use core::sync::atomic::{AtomicPtr, Ordering};
use kernel::prelude::*;

/// Everything the interfaces report. Immutable after init.
pub(crate) struct State {
    pub(crate) platform: Platform,
}

static STATE: AtomicPtr<State> = AtomicPtr::new(ptr::null_mut());

/// Owner of the published state; unpublishes and frees it on drop.
pub(crate) struct Published(*mut State);

// SAFETY: `Published` only owns a heap `State`, which holds `'static` data
// (`&'static CStr` and plain values) and is never mutated after publication.
unsafe impl Send for Published {}
// SAFETY: as above; shared access only ever reads.
unsafe impl Sync for Published {}

impl Published {
    /// Moves `state` to the heap and publishes it. Fails with `EBUSY` if a state is
    /// already published (cannot happen: one module instance).
    pub(crate) fn new(state: State) -> Result<Self> {
        let raw = KBox::into_raw(KBox::new(state, GFP_KERNEL)?);
        if STATE
            .compare_exchange(ptr::null_mut(), raw, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            // SAFETY: `raw` came from `KBox::into_raw` above and was not published.
            drop(unsafe { KBox::from_raw(raw) });
            return Err(EBUSY);
        }
        Ok(Published(raw))
    }
}

impl Drop for Published {
    fn drop(&mut self) {
        STATE.store(ptr::null_mut(), Ordering::Release);
        // SAFETY: `self.0` came from `KBox::into_raw` in `new`; it is no longer
        // published, and every interface that could read it has been unregistered
        // before this field is dropped.
        drop(unsafe { KBox::from_raw(self.0) });
    }
}

/// Runs `f` with the published state; `None` if there is none (only possible in a
/// callback racing with a failed init, which the registration order rules out).
pub(crate) fn with<R>(f: impl FnOnce(&State) -> R) -> Option<R> {
    let raw = STATE.load(Ordering::Acquire);
    if raw.is_null() {
        return None;
    }
    // SAFETY: a non-NULL `STATE` points to a live `State` owned by `Published`,
    // which stays alive until every caller of `with` is gone (see module docs).
    Some(f(unsafe { &*raw }))
}
