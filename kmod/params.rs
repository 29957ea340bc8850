// SPDX-License-Identifier: GPL-2.0

//! Module parameters. 6.12 has no Rust module parameters, so the C shim declares
//! them with `module_param()` and exposes getters.

extern "C" {
    fn milspec_shim_force() -> bool;
}

/// `force=1`: bind even when the platform is not on the supported list.
pub(crate) fn force() -> bool {
    // SAFETY: the shim function only reads a `bool` module parameter that the kernel
    // set before `init` ran; it has no preconditions.
    unsafe { milspec_shim_force() }
}
