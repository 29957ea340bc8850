// SPDX-License-Identifier: GPL-2.0

//! Kernel lockdown and module-signature enforcement, as reported in the status.

use crate::abi::Lockdown;
#[cfg(CONFIG_SECURITY_LOCKDOWN_LSM)]
use kernel::bindings;

/// The current lockdown level. `security_locked_down()` is the only exported way
/// to ask; while locked down it logs a rate-limited "Lockdown: ... is restricted"
/// notice for each query.
pub(crate) fn state() -> Lockdown {
    #[cfg(CONFIG_SECURITY_LOCKDOWN_LSM)]
    {
        let kcore = bindings::lockdown_reason_LOCKDOWN_KCORE;
        // SAFETY: `security_locked_down` takes any `lockdown_reason` and has no
        // other preconditions; it returns 0 or -EPERM.
        let confidential = unsafe { bindings::security_locked_down(kcore) };
        if confidential != 0 {
            return Lockdown::Confidentiality;
        }
        // SAFETY: as above.
        let integrity = unsafe {
            bindings::security_locked_down(bindings::lockdown_reason_LOCKDOWN_MODULE_SIGNATURE)
        };
        if integrity != 0 {
            return Lockdown::Integrity;
        }
        Lockdown::None
    }
    #[cfg(not(CONFIG_SECURITY_LOCKDOWN_LSM))]
    Lockdown::Unsupported
}

/// Whether the kernel refuses unsigned modules.
pub(crate) fn module_sig_enforced() -> bool {
    // SAFETY: reads a boolean; no preconditions.
    unsafe { kernel::bindings::is_module_sig_enforced() }
}
