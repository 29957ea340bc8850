// SPDX-License-Identifier: GPL-2.0

//! The module-load allowlist: names of modules that may load while the level is
//! locked (`paranoid` and up). Empty means off.

use crate::abi::{module_names_equal, NAME_LEN};
use kernel::prelude::*;

/// One validated, NUL-padded module name and its length.
pub(crate) struct Entry {
    pub(crate) raw: [u8; NAME_LEN],
    pub(crate) len: usize,
}

impl Entry {
    pub(crate) fn name(&self) -> &[u8] {
        self.raw.get(..self.len).unwrap_or(&[])
    }
}

/// The list. Protected by the state mutex.
pub(crate) struct Allowlist {
    entries: KVec<Entry>,
}

impl Allowlist {
    pub(crate) fn new() -> Self {
        Allowlist {
            entries: KVec::new(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether module `name` is on the list (`-` and `_` alike, as the kernel does).
    pub(crate) fn contains(&self, name: &[u8]) -> bool {
        self.entries
            .iter()
            .any(|e| module_names_equal(e.name(), name))
    }

    /// Replaces the whole list.
    pub(crate) fn replace(&mut self, entries: KVec<Entry>) {
        self.entries = entries;
    }
}
