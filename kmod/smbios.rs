// SPDX-License-Identifier: GPL-2.0

//! Reads Dell's OEM SMBIOS structures with `dmi_walk`: the 0xDA calling-interface
//! token table and the 0xB1 flags. Parsing, and the policy for a malformed 0xDA
//! structure among several (`TableReport`: reject it alone, keep the others), live
//! in the shared, fuzzed `smbios/src/dell.rs`; this file only walks the table and
//! keeps the result.

use crate::abi::SmbiosState;
use crate::dell_smbios::{
    parse_misc_bios_flags, TableReport, TableState, Token, TYPE_MISC_BIOS_FLAGS,
};
use crate::ffi;
use kernel::prelude::*;

/// What the walk found.
pub(crate) struct Scan {
    pub(crate) state: SmbiosState,
    /// Tokens of every accepted 0xDA structure, first occurrence of an id only.
    pub(crate) tokens: KVec<Token>,
    /// Which 0xDA structures were seen, accepted and rejected (and why).
    pub(crate) report: TableReport,
    /// 0xB1 `flags0` bit 1, if a 0xB1 structure exists.
    pub(crate) acpi_wmi: Option<bool>,
    /// A token could not be stored (out of memory).
    alloc_failed: bool,
}

impl Scan {
    fn feed(&mut self, structure: &[u8]) {
        if let Some(ci) = self.report.feed(structure) {
            for t in ci.tokens() {
                if self.tokens.iter().any(|have| have.id == t.id) {
                    continue; // firmware duplicates: the first one wins
                }
                if self.tokens.push(t, GFP_KERNEL).is_err() {
                    self.alloc_failed = true;
                }
            }
        } else if structure.first() == Some(&TYPE_MISC_BIOS_FLAGS) {
            if let Ok(f) = parse_misc_bios_flags(structure) {
                self.acpi_wmi = Some(f.acpi_wmi());
            }
        }
    }

    /// Walks the SMBIOS table. Never fails for firmware reasons: a missing table
    /// is `Absent`, one whose every 0xDA structure is malformed `Invalid`; a
    /// malformed structure among valid ones is rejected alone (see `report`).
    /// Fails only when out of memory.
    pub(crate) fn walk() -> Result<Self> {
        let mut scan = Scan {
            state: SmbiosState::Absent,
            tokens: KVec::new(),
            report: TableReport::new(),
            acpi_wmi: None,
            alloc_failed: false,
        };
        ffi::dmi_walk_structures(|structure| scan.feed(structure));
        if scan.alloc_failed {
            return Err(ENOMEM);
        }
        scan.state = match scan.report.state() {
            TableState::Absent => SmbiosState::Absent,
            TableState::Present => SmbiosState::Present,
            TableState::Invalid => SmbiosState::Invalid,
        };
        Ok(scan)
    }
}
