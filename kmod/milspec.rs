// SPDX-License-Identifier: GPL-2.0

//! `dell_milspec`: status, security level and event interface for Dell MIL-SPEC
//! class laptops.
//!
//! What this module does (and nothing more):
//! * binds only to a supported Dell platform, read from DMI (fail closed: `-ENODEV`
//!   elsewhere unless `force=1`);
//! * reads Dell's OEM SMBIOS structures (0xDA tokens, 0xB1), read-only;
//! * keeps a security level (ratchet from `paranoid` up, which also pins the
//!   module and enforces a module-load allowlist) and an event log of level and
//!   allowlist changes, module loads/unloads and refusals;
//! * records that posture (version, level, lock, allowlist digest) as IMA critical
//!   data at load and on every change, for TPM-backed attestation
//!   (`docs/attestation.md`);
//! * exposes `/proc/milspec/{status,tokens}` (see `docs/status.md`) and
//!   `/dev/milspec` with the ioctls of `abi/src/uapi/` (see `docs/abi.md`).
//!
//! Hardware access is read-only DMI/SMBIOS. The C shim (`milspec_shim.c`) holds
//! module parameters, struct layouts and inline helpers; all logic is here. Every C
//! function the module calls is declared in `ffi.rs`, behind safe wrappers.

use kernel::prelude::*;

// Shared with user space verbatim: items are `pub` (and re-exported) for the
// user-space crates, and the module does not use every one of them.
#[allow(dead_code, unreachable_pub, unused_imports)]
#[path = "../abi/src/uapi/mod.rs"]
mod abi;
#[allow(dead_code, unreachable_pub)]
#[path = "../smbios/src/dell.rs"]
mod dell_smbios;

mod allowlist;
mod events;
mod ffi;
mod ioctl;
mod lockdown;
mod measure;
mod miscdev;
mod modwatch;
mod platform;
mod procfs;
mod smbios;
mod state;
mod status;
mod text;
mod version;

module! {
    type: MilspecModule,
    name: "dell_milspec",
    author: "milspec developers",
    description: "Dell MIL-SPEC platform status, security level and event interface",
    license: "GPL",
}

/// Everything the module registered. Fields drop in declaration order: the
/// interfaces that call into the state go away before the state is freed.
struct MilspecModule {
    _device: miscdev::Registration,
    _proc: procfs::Registration,
    _modwatch: modwatch::Registration,
    _state: state::Published,
}

impl kernel::Module for MilspecModule {
    fn init(module: &'static ThisModule) -> Result<Self> {
        if version::TEST_FAIL_INIT {
            pr_err!(
                "test build {}: init fails on purpose\n",
                version::MODULE_VERSION
            );
            return Err(EIO);
        }
        let level_param = ffi::level_param();
        let Some(level) = level_param
            .to_str()
            .ok()
            .and_then(abi::SecurityLevel::parse)
        else {
            pr_err!(
                "invalid level='{}': use disabled, standard, enhanced, paranoid, paranoid_plus or 0-4\n",
                text::Printable::cstr(Some(level_param))
            );
            return Err(EINVAL);
        };
        let platform = platform::Platform::detect(ffi::force_param())?;
        let smbios = smbios::Scan::walk()?;
        let state = state::Published::new(state::State::new(platform, smbios, module)?)?;
        let modwatch = modwatch::Registration::new()?;
        let proc = procfs::Registration::new()?;
        let device = miscdev::Registration::new()?;

        state::with(|st| -> Result {
            pr_info!(
                "{} loaded on {} {} ({})\n",
                version::MODULE_VERSION,
                text::Printable::cstr(st.platform.vendor),
                text::Printable::cstr(st.platform.product),
                st.platform.state.as_str()
            );
            st.record_load_events();
            // Last, so that a pinned module never fails init afterwards.
            st.set_level(level)?;
            st.measure_load();
            Ok(())
        })
        .ok_or(ENODEV)??;

        Ok(MilspecModule {
            _device: device,
            _proc: proc,
            _modwatch: modwatch,
            _state: state,
        })
    }
}

impl Drop for MilspecModule {
    fn drop(&mut self) {
        pr_info!("unloading\n");
    }
}
