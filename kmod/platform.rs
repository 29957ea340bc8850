// SPDX-License-Identifier: GPL-2.0

//! Platform detection: fail closed unless vendor and product are on the list.

use crate::abi::PlatformState;
use crate::ffi::{dmi_system_info, DmiField};
use crate::text::Printable;
use core::ffi::CStr;
use kernel::prelude::*;

/// DMI `sys_vendor` of every supported machine.
const DELL_VENDOR: &[u8] = b"Dell Inc.";

/// DMI `product_name`s this module binds to without `force=1`: the MIL-SPEC class
/// Latitudes whose real SMBIOS tables the VM suite boots (`tests/vm/firmware`);
/// the evidence for each is in `docs/platforms.md`.
const SUPPORTED_PRODUCTS: &[&[u8]] = &[
    b"Latitude 5450",
    b"Latitude 5440",
    b"Latitude 5550",
    b"Latitude 7450",
    b"Latitude 5420 Rugged",
    b"Latitude 5430 Rugged",
    b"Latitude 7330 Rugged Extreme",
];

/// What the module knows about the machine it runs on.
pub(crate) struct Platform {
    pub(crate) vendor: Option<&'static CStr>,
    pub(crate) product: Option<&'static CStr>,
    pub(crate) bios_version: Option<&'static CStr>,
    pub(crate) state: PlatformState,
}

/// `s` without leading and trailing ASCII whitespace (firmware pads strings).
fn trimmed(s: Option<&CStr>) -> &[u8] {
    // Not `<[u8]>::trim_ascii`: the kernel's clippy holds code to its minimum rustc
    // (1.78), and that arrived in 1.80.
    let mut b = s.map(CStr::to_bytes).unwrap_or(&[]);
    while let [first, rest @ ..] = b {
        if !first.is_ascii_whitespace() {
            break;
        }
        b = rest;
    }
    while let [rest @ .., last] = b {
        if !last.is_ascii_whitespace() {
            break;
        }
        b = rest;
    }
    b
}

/// True if `vendor` and `product` name a supported machine.
fn is_supported(vendor: &[u8], product: &[u8]) -> bool {
    vendor == DELL_VENDOR && SUPPORTED_PRODUCTS.contains(&product)
}

impl Platform {
    /// Reads DMI and decides whether to bind. Returns `ENODEV` on an unsupported
    /// machine unless `force` is set.
    pub(crate) fn detect(force: bool) -> Result<Self> {
        let vendor = dmi_system_info(DmiField::SysVendor);
        let product = dmi_system_info(DmiField::ProductName);
        let bios_version = dmi_system_info(DmiField::BiosVersion);
        let state = if is_supported(trimmed(vendor), trimmed(product)) {
            PlatformState::Supported
        } else if force {
            pr_warn!(
                "force=1: binding to unsupported platform '{}' '{}'; status shows 'forced'\n",
                Printable::cstr(vendor),
                Printable::cstr(product)
            );
            PlatformState::Forced
        } else {
            pr_info!(
                "platform '{}' '{}' is not a supported Dell MIL-SPEC machine; not loading (force=1 overrides)\n",
                Printable::cstr(vendor),
                Printable::cstr(product)
            );
            return Err(ENODEV);
        };
        Ok(Platform {
            vendor,
            product,
            bios_version,
            state,
        })
    }
}
