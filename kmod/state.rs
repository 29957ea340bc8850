// SPDX-License-Identifier: GPL-2.0

//! The module's state, its rules (level ratchet, pinning, allowlist enforcement),
//! and how callbacks reach it.
//!
//! Callbacks from procfs, the misc device and the module notifier are plain C
//! function pointers, so the state is published through one global pointer. It is
//! set before any of them is registered and cleared only after all of them are
//! unregistered (see the field order of `MilspecModule`), so no callback sees it
//! dangling.

use crate::abi::{
    self, decide_level, AbiError, EventKind, MeasureReason, RefusalTable, SecurityLevel,
};
use crate::allowlist::{Allowlist, Digest, Entry};
use crate::events::{new_event, Batch, EventRing};
use crate::ffi;
use crate::measure::Measurements;
use crate::platform::Platform;
use crate::smbios::Scan;
use crate::text::Printable;
use core::ptr;
use core::sync::atomic::{AtomicPtr, AtomicU64, Ordering};
use kernel::prelude::*;
use kernel::sync::{new_mutex, Mutex};

/// Everything behind the state mutex.
pub(crate) struct Inner {
    pub(crate) level: SecurityLevel,
    pub(crate) locked: bool,
    pub(crate) pinned: bool,
    pub(crate) allowlist: Allowlist,
    pub(crate) events: EventRing,
    /// Refused calls, coalesced per (uid, command); allocated at load.
    pub(crate) refusals: KBox<RefusalTable>,
    pub(crate) measurements: Measurements,
}

impl Inner {
    /// Whether module loads are checked against the allowlist: it is set
    /// (non-empty) and the level is locked (`paranoid` and up). The one place this
    /// rule is written; the notifier, GET_STATUS and the status file all ask here.
    pub(crate) fn allowlist_enforcing(&self) -> bool {
        self.locked && !self.allowlist.is_empty()
    }

    /// Measures the current posture into IMA (see `measure.rs`).
    fn measure(&mut self, reason: MeasureReason) {
        let digest = self.allowlist.digest();
        let posture = abi::Posture {
            seq: 0,
            reason,
            module_version: crate::version::MODULE_VERSION,
            abi: abi::ABI_VERSION,
            level: self.level,
            locked: self.locked,
            allowlist_entries: digest.distinct,
            allowlist_sha256: digest.sha256,
        };
        self.measurements.record(reason, posture);
    }
}

/// The module's state.
#[pin_data]
pub(crate) struct State {
    pub(crate) platform: Platform,
    pub(crate) smbios: Scan,
    /// CLOCK_MONOTONIC at load, ns.
    pub(crate) loaded_at_ns: u64,
    module: &'static ThisModule,
    /// Copy of `events.next_seq()`, readable without the lock (poll, wait).
    next_seq: AtomicU64,
    #[pin]
    pub(crate) inner: Mutex<Inner>,
}

impl State {
    /// Initializer for a pinned `State`.
    pub(crate) fn new(
        platform: Platform,
        smbios: Scan,
        module: &'static ThisModule,
    ) -> Result<impl PinInit<Self, Error>> {
        let events = EventRing::new()?;
        let refusals = KBox::new(RefusalTable::new(), GFP_KERNEL)?;
        Ok(try_pin_init!(State {
            platform,
            smbios,
            loaded_at_ns: kernel::time::Ktime::ktime_get().to_ns() as u64,
            module,
            next_seq: AtomicU64::new(events.next_seq()),
            inner <- new_mutex!(Inner {
                level: SecurityLevel::Disabled,
                locked: false,
                pinned: false,
                allowlist: Allowlist::new(),
                events,
                refusals,
                measurements: Measurements::new(),
            }, "milspec_state"),
        }? Error))
    }

    /// Records an event (caller holds the lock) and wakes readers.
    pub(crate) fn record(&self, inner: &mut Inner, ev: abi::Event) {
        inner.events.push(ev);
        self.published(inner);
    }

    /// Publishes the ring's new `next_seq` and wakes readers.
    fn published(&self, inner: &Inner) {
        self.next_seq
            .store(inner.events.next_seq(), Ordering::Release);
        ffi::wake_readers();
    }

    /// Up to `max` events from `from_seq` on (or from the oldest one still held),
    /// copied out of the ring under the lock, for user space.
    pub(crate) fn events_from(&self, from_seq: u64, max: usize) -> Result<Batch> {
        // Allocated before the lock is taken; filling it does not allocate.
        let mut batch = Batch::with_capacity(max)?;
        self.inner.lock().events.copy_out(from_seq, &mut batch)?;
        Ok(batch)
    }

    /// Sequence number the next event will get, without taking the lock.
    pub(crate) fn next_seq(&self) -> u64 {
        self.next_seq.load(Ordering::Acquire)
    }

    /// Changes the security level under the ratchet rule. Locking pins the module.
    pub(crate) fn set_level(&self, requested: SecurityLevel) -> Result {
        let mut inner = self.inner.lock();
        let change = match decide_level(inner.level, inner.locked, requested) {
            Ok(Some(c)) => c,
            Ok(None) => return Ok(()),
            Err(_) => {
                pr_notice!(
                    "refused to lower the locked security level {} to {}\n",
                    inner.level.as_str(),
                    requested.as_str()
                );
                return Err(EPERM);
            }
        };
        inner.level = change.to;
        if change.locks {
            inner.locked = true;
        }
        if inner.locked && !inner.pinned {
            if ffi::pin_module(self.module) {
                inner.pinned = true;
                pr_info!(
                    "security level {} is locked until reboot; module pinned: unloading is refused (EBUSY/EWOULDBLOCK)\n",
                    change.to.as_str()
                );
            }
        }
        let (uid, pid) = ffi::caller();
        pr_info!(
            "security level {} -> {} (uid {}, pid {})\n",
            change.from.as_str(),
            change.to.as_str(),
            uid,
            pid
        );
        if change.to == SecurityLevel::ParanoidPlus {
            // The daemon raises lockdown; the module reports where it stands.
            pr_info!(
                "paranoid_plus: kernel lockdown is {}\n",
                crate::lockdown::state().as_str()
            );
        }
        let ev = new_event(
            EventKind::LevelChanged,
            change.from as u32,
            change.to as u32,
            change.to.as_str().as_bytes(),
        );
        self.record(&mut inner, ev);
        // The level set during init is part of the load entry.
        if inner.measurements.active() {
            inner.measure(MeasureReason::Level);
        }
        Ok(())
    }

    /// The load entry of the measured posture: the state init ends with.
    pub(crate) fn measure_load(&self) {
        let mut inner = self.inner.lock();
        inner.measure(MeasureReason::Load);
        let m = &inner.measurements;
        match m.last_seq() {
            Some(seq) => pr_info!(
                "posture recorded by IMA (seq {}): tpm_measurement {}\n",
                seq,
                m.state().as_str()
            ),
            None => pr_info!(
                "posture not measured: tpm_measurement {}\n",
                m.state().as_str()
            ),
        }
    }

    /// Replaces the allowlist; refused (`EBUSY`) once the level is locked.
    /// Re-setting the same list records the event but is not a posture change:
    /// it is neither digested nor measured (daemons re-apply their policy often).
    pub(crate) fn set_allowlist(&self, entries: KVec<Entry>) -> Result {
        let mut inner = self.inner.lock();
        if inner.locked {
            return Err(EBUSY);
        }
        let n = entries.len() as u32;
        let measure = if inner.allowlist.same_entries(&entries) {
            let digest = inner.allowlist.digest();
            inner.allowlist.replace(entries, digest);
            false
        } else {
            // Allocates under the mutex (process context, may sleep): only for a
            // list that differs from the current one.
            let digest = Digest::of(&entries)?;
            let same_set = digest == inner.allowlist.digest();
            inner.allowlist.replace(entries, digest);
            !same_set
        };
        let ev = new_event(EventKind::AllowlistChanged, 0, n, b"");
        self.record(&mut inner, ev);
        if measure {
            inner.measure(MeasureReason::Allowlist);
        }
        Ok(())
    }

    /// Events about the load itself: a forced platform, an invalid token table.
    pub(crate) fn record_load_events(&self) {
        let mut inner = self.inner.lock();
        if self.platform.state == abi::PlatformState::Forced {
            let product = self.platform.product.map(|p| p.to_bytes()).unwrap_or(b"");
            let ev = new_event(EventKind::ForcedLoad, 0, 0, product);
            self.record(&mut inner, ev);
        }
        let report = &self.smbios.report;
        for r in report.rejected() {
            pr_warn!(
                "Dell SMBIOS 0xDA structure #{} of {} (handle {:#06x}) rejected ({}); its tokens are not reported, {} other structure(s) are used\n",
                r.index,
                report.structures(),
                r.handle.unwrap_or(0xFFFF),
                r.error.as_str(),
                report.accepted()
            );
            let ev = new_event(
                EventKind::TokenTableInvalid,
                r.index,
                u32::from(r.handle.unwrap_or(0xFFFF)),
                r.error.as_str().as_bytes(),
            );
            self.record(&mut inner, ev);
        }
        if self.smbios.state == abi::SmbiosState::Invalid {
            pr_warn!(
                "Dell SMBIOS calling-interface table is invalid (no valid structure among {}); no tokens are reported\n",
                report.structures()
            );
        }
    }

    /// A privileged ioctl was refused for lack of `CAP_SYS_ADMIN`: counted in the
    /// refusal table; the ring gets a `refusals` summary only when the key is due
    /// one (first refusal, then once per window) and the ring has room for it.
    pub(crate) fn refused(&self, cmd: u32) {
        let mut inner = self.inner.lock();
        let mut ev = new_event(EventKind::Refusals, cmd, 0, b"");
        let r = inner.refusals.record(ev.uid, cmd, ev.timestamp_ns);
        if !r.summary_due {
            return;
        }
        ev.uid = r.entry.uid;
        ev.arg0 = r.entry.cmd;
        ev.arg1 = u32::try_from(r.entry.count).unwrap_or(u32::MAX);
        let name = if r.entry.uid == abi::REFUSAL_UID_OTHER {
            "other"
        } else {
            abi::command_name(cmd).unwrap_or("unknown")
        };
        for (dst, src) in ev.name.iter_mut().zip(name.bytes()) {
            *dst = src;
        }
        if inner.events.push_summary(ev).is_some() {
            inner.refusals.summarized(r.slot, ev.timestamp_ns);
            self.published(&inner);
        }
    }

    /// Module notifier: records loads/unloads from `standard` up and enforces the
    /// allowlist while locked. Returns `Err(EPERM)` to refuse a module.
    pub(crate) fn module_event(&self, action: ModuleAction, name: &[u8]) -> Result {
        let mut inner = self.inner.lock();
        match action {
            ModuleAction::Coming => {
                if inner.allowlist_enforcing() && !inner.allowlist.contains(name) {
                    pr_warn!(
                        "refused to load module '{}': not on the allowlist (level {})\n",
                        Printable(name),
                        inner.level.as_str()
                    );
                    let ev = new_event(EventKind::ModuleDenied, 0, 0, name);
                    self.record(&mut inner, ev);
                    return Err(EPERM);
                }
            }
            ModuleAction::Live if inner.level.records_modules() => {
                let ev = new_event(EventKind::ModuleLoaded, 0, 0, name);
                self.record(&mut inner, ev);
            }
            ModuleAction::Going if inner.level.records_modules() => {
                let ev = new_event(EventKind::ModuleUnloaded, 0, 0, name);
                self.record(&mut inner, ev);
            }
            _ => {}
        }
        Ok(())
    }
}

/// Module notifier actions we act on.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum ModuleAction {
    Coming,
    Live,
    Going,
}

/// Maps an ABI validation error to an errno.
pub(crate) fn abi_errno(e: AbiError) -> Error {
    match e {
        AbiError::Locked => EPERM,
        AbiError::BadSize | AbiError::ReservedNotZero | AbiError::OutOfRange => EINVAL,
    }
}

static STATE: AtomicPtr<State> = AtomicPtr::new(ptr::null_mut());

/// Owner of the published state; unpublishes and frees it on drop.
pub(crate) struct Published(*mut State);

// SAFETY: `State` is `Sync` (immutable parts plus a mutex and atomics); `Published`
// only owns it and frees it once.
unsafe impl Send for Published {}
// SAFETY: `&Published` gives no access to the state.
unsafe impl Sync for Published {}

impl Published {
    /// Allocates and initializes the state in place, then publishes it.
    pub(crate) fn new(init: impl PinInit<State, Error>) -> Result<Self> {
        let pinned = KBox::pin_init(init, GFP_KERNEL)?;
        // SAFETY: the box is turned into a raw pointer and never moved again; it is
        // freed in place by `KBox::from_raw` in `drop`.
        let raw = KBox::into_raw(unsafe { Pin::into_inner_unchecked(pinned) });
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
        // Every interface that could read the state is unregistered before this.
        // SAFETY: `self.0` came from `KBox::into_raw` in `new` and is unpublished.
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
    // SAFETY: a non-NULL `STATE` points to a live, pinned `State` owned by
    // `Published`, which stays alive until every caller of `with` is gone.
    Some(f(unsafe { &*raw }))
}
