// SPDX-License-Identifier: GPL-2.0

//! Read-only access to the DMI (SMBIOS) strings the kernel decoded at boot.

use core::ffi::{c_char, c_int, CStr};
use kernel::bindings;

extern "C" {
    // `dmi.h` is not in 6.12's Rust bindings; this prototype matches
    // `const char *dmi_get_system_info(int field)`.
    fn dmi_get_system_info(field: c_int) -> *const c_char;
}

/// The DMI fields this module reads.
#[derive(Clone, Copy)]
pub(crate) enum Field {
    SysVendor,
    ProductName,
    BiosVersion,
}

impl Field {
    fn raw(self) -> c_int {
        let f = match self {
            Field::SysVendor => bindings::dmi_field_DMI_SYS_VENDOR,
            Field::ProductName => bindings::dmi_field_DMI_PRODUCT_NAME,
            Field::BiosVersion => bindings::dmi_field_DMI_BIOS_VERSION,
        };
        f as c_int
    }
}

/// The string of `field`, or `None` if the firmware did not provide it.
pub(crate) fn system_info(field: Field) -> Option<&'static CStr> {
    // SAFETY: `dmi_get_system_info` accepts any field index below DMI_STRING_MAX
    // (all of ours are) and returns NULL or a pointer to a NUL-terminated string.
    let ptr = unsafe { dmi_get_system_info(field.raw()) };
    if ptr.is_null() {
        return None;
    }
    // SAFETY: non-NULL results point into the DMI string table, which is filled once
    // at boot and never freed or modified: valid and unchanging for `'static`.
    Some(unsafe { CStr::from_ptr(ptr) })
}
