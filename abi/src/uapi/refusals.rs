// SPDX-License-Identifier: GPL-2.0 OR MIT
//! Refused calls (a privileged ioctl without `CAP_SYS_ADMIN`), coalesced per
//! (uid, command) so unprivileged noise never floods the event ring: the table,
//! its wire entry, the [`IOC_GET_REFUSALS`](super::IOC_GET_REFUSALS) request, and
//! the rule for when a `refusals` summary event is due. The module keeps one
//! table, allocated at load; recording a refusal never allocates.

use super::types::AbiError;
use super::wire::{check_header, wire_struct, Reader, Wire, Writer};

/// Keys (uid, command) the table tracks one by one.
pub const REFUSAL_SLOTS: usize = 16;
/// Entries GET_REFUSALS can return: the slots plus the overflow bucket.
pub const REFUSAL_ENTRIES_MAX: usize = REFUSAL_SLOTS + 1;
/// `uid` of the overflow bucket: every refusal whose key found no free slot.
pub const REFUSAL_UID_OTHER: u32 = u32::MAX;
/// At most one `refusals` summary event per key in this window (ns).
pub const REFUSAL_SUMMARY_WINDOW_NS: u64 = 10_000_000_000;
/// Most `refusals` summary events the ring holds at once (of its 256 slots).
pub const REFUSAL_SUMMARY_BUDGET: u32 = 16;

/// What a `refusals` summary may take in the event ring. `overwrites` is the
/// kind of the event the next slot still holds (`None` while the ring is not
/// full); `held` is the number of summaries the ring holds. A summary never
/// overwrites another kind of event, and the ring holds at most
/// [`REFUSAL_SUMMARY_BUDGET`] of them (replacing an old summary keeps that number).
pub fn summary_fits(overwrites: Option<u32>, held: u32) -> bool {
    match overwrites {
        None => held < REFUSAL_SUMMARY_BUDGET,
        Some(kind) => kind == super::EventKind::Refusals as u32,
    }
}

/// Size of one [`RefusalEntry`].
pub const REFUSAL_ENTRY_SIZE: usize = 32;

wire_struct! {
    /// One key of the table, as GET_REFUSALS returns it.
    pub struct RefusalEntry [32] {
        /// uid of the callers ([`REFUSAL_UID_OTHER`] for the overflow bucket).
        pub uid: u32,
        /// The refused ioctl command (0 for the overflow bucket).
        pub cmd: u32,
        /// Refused calls since load.
        pub count: u64,
        /// CLOCK_MONOTONIC (ns) of the first and the last one.
        pub first_ns: u64,
        pub last_ns: u64,
    }
}

/// Size of [`RefusalsRequest`].
pub const REFUSALS_REQUEST_SIZE: usize = 40;

wire_struct! {
    /// Argument of [`IOC_GET_REFUSALS`](super::IOC_GET_REFUSALS).
    pub struct RefusalsRequest [40] {
        pub size: u32,
        /// Room at `entries_ptr`, in entries (at most [`REFUSAL_ENTRIES_MAX`] are used).
        pub capacity: u32,
        /// User address of `capacity` × [`REFUSAL_ENTRY_SIZE`] bytes.
        pub entries_ptr: u64,
        /// Out: entries written.
        pub count: u32,
        /// Out: keys in the table (may exceed `capacity`).
        pub keys: u32,
        /// Out: refused calls since load, all keys.
        pub total: u64,
        pub reserved: [u8; 8],
    }
}

impl RefusalsRequest {
    /// A request for up to `capacity` entries into `entries_ptr`.
    pub fn new(entries_ptr: u64, capacity: u32) -> Self {
        RefusalsRequest {
            size: REFUSALS_REQUEST_SIZE as u32,
            capacity,
            entries_ptr,
            ..RefusalsRequest::zeroed()
        }
    }

    /// Checks the caller-controlled parts (outputs must be zero on input).
    pub fn validate(&self) -> Result<(), AbiError> {
        check_header(self.size, REFUSALS_REQUEST_SIZE, &self.reserved)?;
        if self.count != 0 || self.keys != 0 || self.total != 0 {
            return Err(AbiError::ReservedNotZero);
        }
        Ok(())
    }
}

/// One key's counters plus when its last summary event was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Slot {
    entry: RefusalEntry,
    /// CLOCK_MONOTONIC of the last summary event; `None` before the first.
    summarized_ns: Option<u64>,
}

const EMPTY: Slot = Slot {
    entry: RefusalEntry {
        uid: 0,
        cmd: 0,
        count: 0,
        first_ns: 0,
        last_ns: 0,
    },
    summarized_ns: None,
};

/// Where a refusal was counted, and whether its key is due a summary event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Recorded {
    /// Index of the key (pass it to [`RefusalTable::summarized`]).
    pub slot: usize,
    /// The key's entry after counting this refusal.
    pub entry: RefusalEntry,
    /// No summary for this key yet, or the last one is a window old.
    pub summary_due: bool,
}

/// The fixed table: [`REFUSAL_SLOTS`] keys, first come first served, then the
/// overflow bucket. Keys are never evicted, so a count only ever grows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefusalTable {
    /// `slots[..used]` are keys; `slots[REFUSAL_SLOTS]` is the overflow bucket.
    slots: [Slot; REFUSAL_ENTRIES_MAX],
    used: usize,
    total: u64,
}

impl Default for RefusalTable {
    fn default() -> Self {
        Self::new()
    }
}

impl RefusalTable {
    /// An empty table.
    pub const fn new() -> Self {
        RefusalTable {
            slots: [EMPTY; REFUSAL_ENTRIES_MAX],
            used: 0,
            total: 0,
        }
    }

    /// Counts one refusal of `cmd` by `uid` at `now_ns`.
    pub fn record(&mut self, uid: u32, cmd: u32, now_ns: u64) -> Recorded {
        let found = self
            .slots
            .iter()
            .take(self.used)
            .position(|s| s.entry.uid == uid && s.entry.cmd == cmd);
        let slot = match found {
            Some(i) => i,
            None if self.used < REFUSAL_SLOTS => {
                self.used += 1;
                self.used - 1
            }
            None => REFUSAL_SLOTS,
        };
        self.total = self.total.saturating_add(1);
        let Some(s) = self.slots.get_mut(slot) else {
            // Unreachable: `slot` is at most REFUSAL_SLOTS.
            return Recorded {
                slot,
                entry: EMPTY.entry,
                summary_due: false,
            };
        };
        if slot == REFUSAL_SLOTS {
            s.entry.uid = REFUSAL_UID_OTHER;
            s.entry.cmd = 0;
        } else if found.is_none() {
            s.entry.uid = uid;
            s.entry.cmd = cmd;
        }
        if s.entry.count == 0 {
            s.entry.first_ns = now_ns;
        }
        s.entry.count = s.entry.count.saturating_add(1);
        s.entry.last_ns = now_ns;
        let summary_due = match s.summarized_ns {
            None => true,
            Some(t) => now_ns.saturating_sub(t) >= REFUSAL_SUMMARY_WINDOW_NS,
        };
        Recorded {
            slot,
            entry: s.entry,
            summary_due,
        }
    }

    /// Notes that a summary event for `slot` was written at `now_ns` (starts its
    /// window). A summary the ring had no room for is not noted, so the key stays due.
    pub fn summarized(&mut self, slot: usize, now_ns: u64) {
        if let Some(s) = self.slots.get_mut(slot) {
            s.summarized_ns = Some(now_ns);
        }
    }

    /// Refused calls since load, all keys.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Keys with at least one refusal: the slots in first-seen order, then the
    /// overflow bucket if it counted any.
    pub fn entries(&self) -> impl Iterator<Item = &RefusalEntry> {
        let (keys, overflow) = self.slots.split_at(REFUSAL_SLOTS);
        keys.iter()
            .take(self.used)
            .chain(overflow.iter().filter(|s| s.entry.count > 0))
            .map(|s| &s.entry)
    }

    /// Number of keys [`entries`](Self::entries) yields.
    pub fn keys(&self) -> usize {
        self.entries().count()
    }
}
