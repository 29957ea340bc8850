// SPDX-License-Identifier: GPL-2.0

//! The module-load allowlist: names of modules that may load while the level is
//! locked (`paranoid` and up). Empty means off.

use crate::abi::{allowlist_digest, module_names_equal, NAME_LEN, SHA256_LEN};
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
    digest: Digest,
}

/// What the measured posture records of a list: distinct names and their SHA-256
/// (`abi::allowlist_digest`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Digest {
    pub(crate) distinct: u32,
    pub(crate) sha256: [u8; SHA256_LEN],
}

impl Digest {
    /// Digests `entries`. Allocates a scratch copy: call before taking the lock.
    pub(crate) fn of(entries: &[Entry]) -> Result<Self> {
        let mut names = KVec::with_capacity(entries.len(), GFP_KERNEL)?;
        for e in entries {
            names.push(e.raw, GFP_KERNEL)?;
        }
        let (distinct, sha256) = allowlist_digest(&mut names);
        Ok(Digest { distinct, sha256 })
    }
}

impl Allowlist {
    pub(crate) fn new() -> Self {
        let (distinct, sha256) = allowlist_digest(&mut []);
        Allowlist {
            entries: KVec::new(),
            digest: Digest { distinct, sha256 },
        }
    }

    pub(crate) fn digest(&self) -> Digest {
        self.digest
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

    /// Whether `entries` are the current entries, in the same order.
    pub(crate) fn same_entries(&self, entries: &[Entry]) -> bool {
        if self.entries.len() != entries.len() {
            return false;
        }
        let mut i = 0;
        while let (Some(a), Some(b)) = (self.entries.get(i), entries.get(i)) {
            if a.name() != b.name() {
                return false;
            }
            i += 1;
        }
        true
    }

    /// Replaces the whole list; `digest` is `Digest::of(&entries)`.
    pub(crate) fn replace(&mut self, entries: KVec<Entry>, digest: Digest) {
        self.entries = entries;
        self.digest = digest;
    }
}
