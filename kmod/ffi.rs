// SPDX-License-Identifier: GPL-2.0

//! The module's boundary with C: every C function it calls that the `kernel` crate
//! does not wrap is declared here, once, and used only through the small safe
//! wrappers below. The rest of the module calls no `extern "C"` function directly.
//!
//! Two kinds of declarations: the thin C shim (`milspec_shim.c`, prototypes in
//! `milspec_shim.h`: module parameters, the misc device and notifier block whose
//! layouts it owns, the readers' wait queue, the caller's identity), and exported
//! kernel functions whose headers are not in 6.12's Rust bindings (`proc_fs.h`,
//! `dmi.h`, `ima.h`). Those prototypes take only pointers and scalars, so they
//! cannot drift with the kernel config. The callbacks C makes into Rust (`milspec_open`, ...) live
//! with their concern (`miscdev.rs`, `modwatch.rs`).

use core::ffi::{c_char, c_int, c_void, CStr};
use kernel::bindings;
use kernel::prelude::*;

// milspec_shim.c
extern "C" {
    fn milspec_shim_force() -> bool;
    fn milspec_shim_level() -> *const c_char;
    fn milspec_shim_misc_register() -> c_int;
    fn milspec_shim_misc_deregister();
    fn milspec_shim_module_notifier_register() -> c_int;
    fn milspec_shim_module_notifier_unregister();
    fn milspec_shim_wake_readers();
    fn milspec_shim_wait_events_after(seq: u64) -> c_int;
    fn milspec_shim_caller(uid: *mut u32, pid: *mut u32);
    fn milspec_shim_tpm_present() -> bool;
}

/// A `show` callback of a single-open procfs file.
pub(crate) type ShowFn = unsafe extern "C" fn(*mut bindings::seq_file, *mut c_void) -> c_int;

// <linux/proc_fs.h>. `seq_file` reaches structs that are empty in this config (e.g.
// `uprobes_state`), which rustc flags although C never looks inside them through
// these pointers.
#[allow(improper_ctypes)]
extern "C" {
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

/// The SMBIOS structure header, as `struct dmi_header` (fixed by the SMBIOS spec,
/// `__packed` in C: structures follow each other at any byte offset).
#[repr(C, packed)]
struct DmiHeader {
    ty: u8,
    length: u8,
    handle: u16,
}

type DecodeFn = unsafe extern "C" fn(*const DmiHeader, *mut c_void);

// <linux/dmi.h>
extern "C" {
    // const char *dmi_get_system_info(int field);
    fn dmi_get_system_info(field: c_int) -> *const c_char;
    // int dmi_walk(void (*decode)(const struct dmi_header *, void *), void *private_data);
    fn dmi_walk(decode: Option<DecodeFn>, private_data: *mut c_void) -> c_int;
}

// <linux/ima.h>. Only declared when the kernel has IMA: without it the symbol does
// not exist (the header's inline stub is not reachable from Rust) and modpost would
// refuse an undefined reference.
#[cfg(CONFIG_IMA)]
extern "C" {
    // int ima_measure_critical_data(const char *event_label, const char *event_name,
    //                               const void *buf, size_t buf_len,
    //                               bool hash, u8 *digest, size_t digest_len);
    fn ima_measure_critical_data(
        event_label: *const c_char,
        event_name: *const c_char,
        buf: *const c_void,
        buf_len: usize,
        hash: bool,
        digest: *mut u8,
        digest_len: usize,
    ) -> c_int;
}

/// Whether this kernel was built with IMA.
pub(crate) const IMA_BUILT: bool = cfg!(CONFIG_IMA);

/// Hands `buf` to IMA as critical data under policy label `label` and event name
/// `name`: if the policy has `measure func=CRITICAL_DATA label=<label>`, IMA
/// appends an `ima-buf` entry to its log and extends every allocated bank of its
/// PCR. `Err(ENOENT)`: the policy does not measure `label` (or the kernel has no
/// IMA); `Err(EEXIST)`: IMA already logged this exact entry and skipped it.
/// May sleep (hashing, the TPM command).
pub(crate) fn ima_measure(label: &CStr, name: &CStr, buf: &[u8]) -> Result {
    if buf.is_empty() {
        return Err(EINVAL);
    }
    #[cfg(CONFIG_IMA)]
    {
        // SAFETY: both strings are NUL-terminated and outlive the call; `buf` is
        // valid for reads of `buf.len()` bytes and IMA copies what it keeps; NULL
        // digest with length 0 asks for no digest back (`hash = false`: the buffer
        // itself is logged). Called in process context, without a spinlock held.
        let rc = unsafe {
            ima_measure_critical_data(
                label.as_ptr(),
                name.as_ptr(),
                buf.as_ptr().cast(),
                buf.len(),
                false,
                core::ptr::null_mut(),
                0,
            )
        };
        kernel::error::to_result(rc)
    }
    #[cfg(not(CONFIG_IMA))]
    {
        let _ = (label, name);
        Err(ENOENT)
    }
}

/// Whether a TPM chip is registered (IMA extends PCRs only with one; without it IMA
/// runs in TPM-bypass mode and only keeps its log).
pub(crate) fn tpm_present() -> bool {
    // SAFETY: looks up the default chip and drops the reference it took; no
    // preconditions, may sleep (process context).
    unsafe { milspec_shim_tpm_present() }
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
/// exists. `Err(ERESTARTSYS)` on a signal. Must not be called with a lock held.
pub(crate) fn wait_events_after(seq: u64) -> Result {
    // SAFETY: sleeps on the shim's static wait queue; the only caller is `read()`,
    // in process context without any lock held.
    kernel::error::to_result(unsafe { milspec_shim_wait_events_after(seq) })
}

/// uid (in the initial user namespace) and tgid of the current task.
pub(crate) fn caller() -> (u32, u32) {
    let (mut uid, mut pid) = (0u32, 0u32);
    // SAFETY: both pointers are valid for writes for the duration of the call.
    unsafe { milspec_shim_caller(&mut uid, &mut pid) };
    (uid, pid)
}

/// Whether the current task has `CAP_SYS_ADMIN` (in the initial user namespace).
pub(crate) fn capable_sys_admin() -> bool {
    // SAFETY: `capable` checks the current task's credentials; no preconditions.
    unsafe { bindings::capable(bindings::CAP_SYS_ADMIN as c_int) }
}

/// Takes a reference on `module` so that it cannot be unloaded; `false` if it is
/// already going away. The reference is never dropped (pinned until reboot).
pub(crate) fn pin_module(module: &'static ThisModule) -> bool {
    // SAFETY: `as_ptr` is this module, which is live while its code runs.
    unsafe { bindings::try_module_get(module.as_ptr()) }
}

/// The shim's misc device (`/dev/milspec`, dynamic minor, mode 0444), registered
/// while this value lives.
pub(crate) struct MiscDevice(());

impl MiscDevice {
    /// Registers the device. Call at most once at a time (the device is static).
    pub(crate) fn register() -> Result<Self> {
        // SAFETY: registers the shim's static miscdevice; the module keeps at most
        // one `MiscDevice`, which deregisters it on drop.
        kernel::error::to_result(unsafe { milspec_shim_misc_register() })?;
        Ok(MiscDevice(()))
    }
}

impl Drop for MiscDevice {
    fn drop(&mut self) {
        // SAFETY: the device was registered in `register`.
        unsafe { milspec_shim_misc_deregister() };
    }
}

/// The shim's module notifier block, registered while this value lives.
pub(crate) struct ModuleNotifier(());

impl ModuleNotifier {
    /// Registers the notifier. Call at most once at a time (the block is static).
    pub(crate) fn register() -> Result<Self> {
        // SAFETY: registers the shim's static notifier block; the module keeps at
        // most one `ModuleNotifier`, which unregisters it on drop.
        kernel::error::to_result(unsafe { milspec_shim_module_notifier_register() })?;
        Ok(ModuleNotifier(()))
    }
}

impl Drop for ModuleNotifier {
    fn drop(&mut self) {
        // SAFETY: registered in `register`; unregistering waits for running callbacks.
        unsafe { milspec_shim_module_notifier_unregister() };
    }
}

/// A directory under `/proc`; removed, with everything under it, on drop.
pub(crate) struct ProcDir(*mut bindings::proc_dir_entry);

// SAFETY: the pointer is only used to add files and to remove the directory, which
// procfs allows from any thread.
unsafe impl Send for ProcDir {}
// SAFETY: `&ProcDir` only adds files, which procfs serialises itself.
unsafe impl Sync for ProcDir {}

impl ProcDir {
    /// Creates `/proc/<name>`; `None` if that fails (e.g. it exists).
    pub(crate) fn new(name: &'static CStr) -> Option<Self> {
        // SAFETY: the name is a NUL-terminated static string; NULL parent = /proc.
        let dir = unsafe { proc_mkdir(name.as_ptr(), core::ptr::null_mut()) };
        if dir.is_null() {
            None
        } else {
            Some(ProcDir(dir))
        }
    }

    /// Adds a seq_file `name` with `mode` whose content `show` writes. `show` is
    /// called with the `seq_file` and a NULL data pointer.
    pub(crate) fn add_single(
        &self,
        name: &'static CStr,
        mode: bindings::umode_t,
        show: ShowFn,
    ) -> Result {
        // SAFETY: `self.0` is the live directory, `name` is a static C string, `show`
        // matches the prototype; the data pointer is NULL.
        let file = unsafe {
            proc_create_single_data(
                name.as_ptr(),
                mode,
                self.0,
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

impl Drop for ProcDir {
    fn drop(&mut self) {
        // SAFETY: `self.0` was returned by `proc_mkdir` and is removed only here.
        // `proc_remove` waits for running callbacks and removes the whole subtree.
        unsafe { proc_remove(self.0) };
    }
}

/// The DMI fields this module reads.
#[derive(Clone, Copy)]
pub(crate) enum DmiField {
    SysVendor,
    ProductName,
    BiosVersion,
}

impl DmiField {
    fn raw(self) -> c_int {
        let f = match self {
            DmiField::SysVendor => bindings::dmi_field_DMI_SYS_VENDOR,
            DmiField::ProductName => bindings::dmi_field_DMI_PRODUCT_NAME,
            DmiField::BiosVersion => bindings::dmi_field_DMI_BIOS_VERSION,
        };
        f as c_int
    }
}

/// The DMI string of `field` the kernel decoded at boot, or `None` if the firmware
/// did not provide it.
pub(crate) fn dmi_system_info(field: DmiField) -> Option<&'static CStr> {
    // SAFETY: `dmi_get_system_info` accepts any field index below DMI_STRING_MAX
    // (all of `DmiField` are) and returns NULL or a NUL-terminated string.
    let ptr = unsafe { dmi_get_system_info(field.raw()) };
    if ptr.is_null() {
        return None;
    }
    // SAFETY: non-NULL results point into the DMI string table, which is filled once
    // at boot and never freed or modified: valid and unchanging for `'static`.
    Some(unsafe { CStr::from_ptr(ptr) })
}

/// Calls `f` with the formatted area (header included) of every SMBIOS structure,
/// in table order. Without an SMBIOS table, `f` is never called.
pub(crate) fn dmi_walk_structures<F: FnMut(&[u8])>(mut f: F) {
    // The return value only says whether a table exists (-ENXIO if not).
    // SAFETY: `decode::<F>` matches the callback prototype and is given a pointer to
    // `f`, which outlives the synchronous walk and is only used through it meanwhile.
    unsafe { dmi_walk(Some(decode::<F>), core::ptr::from_mut(&mut f).cast()) };
}

/// `dmi_walk` callback: hands one structure to the closure in `private`.
///
/// # Safety
///
/// `dh` must point to a structure whose formatted area (`length` bytes) lies inside
/// the mapped SMBIOS table (`dmi_decode_table` checks this before each call), and
/// `private` to the `F` passed by `dmi_walk_structures`, not otherwise aliased.
unsafe extern "C" fn decode<F: FnMut(&[u8])>(dh: *const DmiHeader, private: *mut c_void) {
    // SAFETY: `dh` is valid for reads of the header (see the function's contract).
    let length = usize::from(unsafe { (*dh).length });
    // SAFETY: the formatted area of `length` bytes lies inside the table, which is
    // mapped for the duration of the walk; it is only read.
    let bytes = unsafe { core::slice::from_raw_parts(dh.cast::<u8>(), length) };
    // SAFETY: `private` is the `&mut F` given to `dmi_walk`, not aliased.
    let f = unsafe { &mut *private.cast::<F>() };
    f(bytes);
}
