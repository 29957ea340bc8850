// SPDX-License-Identifier: GPL-2.0

//! `dell_milspec`: status and ioctl interface for Dell MIL-SPEC class laptops.
//!
//! What this module does (and nothing more):
//! * binds only to a supported Dell platform, read from DMI (fail closed: `-ENODEV`
//!   elsewhere unless `force=1`);
//! * exposes `/proc/milspec/status` (see `docs/status.md`);
//! * exposes `/dev/milspec` with the ioctls of `abi/src/uapi.rs` (see `docs/abi.md`).
//!
//! Hardware access is read-only DMI. The C shim (`milspec_shim.c`) only holds the
//! module parameter and the `file_operations`/`miscdevice` layouts; all logic is here.

use kernel::prelude::*;

// The ABI is shared with user space verbatim: its items are `pub` for the
// milspec-abi crate, and the module does not use every one of them.
#[allow(dead_code, unreachable_pub)]
#[path = "../abi/src/uapi.rs"]
mod abi;
mod dmi;
mod ioctl;
mod miscdev;
mod params;
mod platform;
mod procfs;
mod state;
mod status;
mod text;
mod version;

module! {
    type: MilspecModule,
    name: "dell_milspec",
    author: "milspec developers",
    description: "Dell MIL-SPEC platform status and security interface",
    license: "GPL",
}

/// Everything the module registered. Fields drop in declaration order: the user
/// interfaces go away before the state they read is freed.
struct MilspecModule {
    _device: miscdev::Registration,
    _proc: procfs::Registration,
    _state: state::Published,
}

impl kernel::Module for MilspecModule {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let platform = platform::Platform::detect(params::force())?;
        let state = state::Published::new(state::State { platform })?;
        let proc = procfs::Registration::new()?;
        let device = miscdev::Registration::new()?;
        state::with(|st| {
            pr_info!(
                "{} loaded on {} {} ({})\n",
                version::MODULE_VERSION,
                text::Printable(st.platform.vendor),
                text::Printable(st.platform.product),
                st.platform.state.as_str()
            )
        });
        Ok(MilspecModule {
            _device: device,
            _proc: proc,
            _state: state,
        })
    }
}

impl Drop for MilspecModule {
    fn drop(&mut self) {
        pr_info!("unloading\n");
    }
}
