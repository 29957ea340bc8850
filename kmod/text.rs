// SPDX-License-Identifier: GPL-2.0

//! Printing firmware-provided strings safely.

use core::ffi::CStr;
use core::fmt::{self, Write};

/// Displays a C string from firmware with every byte outside printable ASCII
/// replaced by `?`, so a DMI string cannot break the `key: value` line format of
/// the status file or inject control characters into the kernel log. A missing or
/// empty string shows as `unknown`.
pub(crate) struct Printable<'a>(pub(crate) Option<&'a CStr>);

impl fmt::Display for Printable<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes = self.0.map(CStr::to_bytes).unwrap_or(&[]);
        if bytes.is_empty() {
            return f.write_str("unknown");
        }
        for &b in bytes {
            f.write_char(if (0x20..0x7f).contains(&b) {
                char::from(b)
            } else {
                '?'
            })?;
        }
        Ok(())
    }
}
