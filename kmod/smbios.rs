// SPDX-License-Identifier: GPL-2.0

//! Reads Dell's OEM SMBIOS structures with `dmi_walk`: the 0xDA calling-interface
//! token table and the 0xB1 flags. Parsing is done by the shared, fuzzed parser in
//! `smbios/src/dell.rs`; this file only walks the table and keeps the result.

use crate::abi::SmbiosState;
use crate::dell_smbios::{
    parse_calling_interface, parse_misc_bios_flags, TableError, Token, TYPE_CALLING_INTERFACE,
    TYPE_MISC_BIOS_FLAGS,
};
use crate::ffi;
use kernel::prelude::*;

/// What the walk found.
pub(crate) struct Scan {
    pub(crate) state: SmbiosState,
    /// Tokens of every valid 0xDA structure, first occurrence of an id only.
    pub(crate) tokens: KVec<Token>,
    /// Why the table is invalid, if it is.
    pub(crate) error: Option<TableError>,
    /// 0xB1 `flags0` bit 1, if a 0xB1 structure exists.
    pub(crate) acpi_wmi: Option<bool>,
    /// A token could not be stored (out of memory).
    alloc_failed: bool,
}

impl Scan {
    fn feed(&mut self, structure: &[u8]) {
        match structure.first() {
            Some(&TYPE_CALLING_INTERFACE) => match parse_calling_interface(structure) {
                Ok(ci) => {
                    if self.state == SmbiosState::Absent {
                        self.state = SmbiosState::Present;
                    }
                    for t in ci.tokens() {
                        if self.tokens.iter().any(|have| have.id == t.id) {
                            continue; // firmware duplicates: the first one wins
                        }
                        if self.tokens.push(t, GFP_KERNEL).is_err() {
                            self.alloc_failed = true;
                        }
                    }
                }
                Err(e) => {
                    self.state = SmbiosState::Invalid;
                    self.error.get_or_insert(e);
                }
            },
            Some(&TYPE_MISC_BIOS_FLAGS) => {
                if let Ok(f) = parse_misc_bios_flags(structure) {
                    self.acpi_wmi = Some(f.acpi_wmi());
                }
            }
            _ => {}
        }
    }

    /// Walks the SMBIOS table. Never fails for firmware reasons: a missing table
    /// is `Absent`, a malformed one `Invalid`. Fails only when out of memory.
    pub(crate) fn walk() -> Result<Self> {
        let mut scan = Scan {
            state: SmbiosState::Absent,
            tokens: KVec::new(),
            error: None,
            acpi_wmi: None,
            alloc_failed: false,
        };
        ffi::dmi_walk_structures(|structure| scan.feed(structure));
        if scan.alloc_failed {
            return Err(ENOMEM);
        }
        if scan.state == SmbiosState::Invalid {
            scan.tokens = KVec::new();
        }
        Ok(scan)
    }
}
