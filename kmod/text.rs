// SPDX-License-Identifier: GPL-2.0

//! Printing firmware- and user-provided strings safely.

use core::ffi::CStr;
use core::fmt::{self, Write};

/// Displays bytes from firmware or user space with every byte outside printable
/// ASCII replaced by `?`, so such a string cannot break the `key: value` line
/// format of the status file or inject control characters into the kernel log.
/// Empty shows as `unknown`.
pub(crate) struct Printable<'a>(pub(crate) &'a [u8]);

impl<'a> Printable<'a> {
    /// A C string that may be missing (e.g. a DMI field the firmware lacks).
    pub(crate) fn cstr(s: Option<&'a CStr>) -> Self {
        Printable(s.map(CStr::to_bytes).unwrap_or(&[]))
    }
}

impl fmt::Display for Printable<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("unknown");
        }
        for &b in self.0 {
            f.write_char(if (0x20..0x7f).contains(&b) {
                char::from(b)
            } else {
                '?'
            })?;
        }
        Ok(())
    }
}
