// SPDX-License-Identifier: GPL-2.0

//! The event log: a fixed-capacity ring of `abi::Event`s with gapless sequence
//! numbers. When it is full, the oldest event is overwritten and counted in
//! `lost`; readers see the gap in the sequence numbers.
//!
//! `refusals` summaries (refused calls by unprivileged users, see `abi::RefusalTable`)
//! go through `push_summary`, which never overwrites any other kind of event and
//! keeps at most `REFUSAL_SUMMARY_BUDGET` of them in the ring (`abi::summary_fits`):
//! noise can neither evict a security event nor shrink the history the others keep.

use crate::abi::{summary_fits, Event, EventKind, EVENT_RING_CAPACITY, EVENT_SIZE, NAME_LEN};
use crate::ffi;
use kernel::prelude::*;
use kernel::uaccess::UserSlice;

const CAP: u64 = EVENT_RING_CAPACITY as u64;

/// Ring storage plus counters. Protected by the state mutex.
pub(crate) struct EventRing {
    /// Always `EVENT_RING_CAPACITY` slots; slot `seq % CAP` holds event `seq`.
    slots: KVec<Event>,
    /// Sequence number of the next event (the first is 1).
    next_seq: u64,
    /// Events overwritten so far.
    lost: u64,
    /// `refusals` summaries among the events held.
    summaries: u32,
}

impl EventRing {
    /// Allocates the ring (24 KiB, on the heap).
    pub(crate) fn new() -> Result<Self> {
        let mut slots = KVec::with_capacity(EVENT_RING_CAPACITY, GFP_KERNEL)?;
        for _ in 0..EVENT_RING_CAPACITY {
            slots.push(Event::zeroed(), GFP_KERNEL)?;
        }
        Ok(EventRing {
            slots,
            next_seq: 1,
            lost: 0,
            summaries: 0,
        })
    }

    /// Stores `ev` with the next sequence number; returns that number.
    pub(crate) fn push(&mut self, mut ev: Event) -> u64 {
        let seq = self.next_seq;
        ev.seq = seq;
        let full = seq > CAP;
        if full {
            self.lost += 1;
        }
        if let Some(slot) = self.slots.get_mut((seq % CAP) as usize) {
            if full && is_summary(slot) {
                self.summaries = self.summaries.saturating_sub(1);
            }
            if is_summary(&ev) {
                self.summaries = self.summaries.saturating_add(1);
            }
            *slot = ev;
        }
        self.next_seq = seq + 1;
        seq
    }

    /// Stores a `refusals` summary if that overwrites no other kind of event and
    /// keeps the summaries within their budget; `None` (nothing stored) otherwise.
    pub(crate) fn push_summary(&mut self, ev: Event) -> Option<u64> {
        let seq = self.next_seq;
        let overwrites = self
            .slots
            .get((seq % CAP) as usize)
            .filter(|_| seq > CAP)
            .map(|old| old.kind);
        summary_fits(overwrites, self.summaries).then(|| self.push(ev))
    }

    /// Sequence number the next event will get.
    pub(crate) fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Oldest sequence number still held (== `next_seq` when empty).
    pub(crate) fn oldest_seq(&self) -> u64 {
        self.next_seq.saturating_sub(CAP).max(1)
    }

    /// Events recorded since load.
    pub(crate) fn total(&self) -> u64 {
        self.next_seq - 1
    }

    /// Events overwritten before they could be read.
    pub(crate) fn lost(&self) -> u64 {
        self.lost
    }

    /// Event `seq`, if still held.
    pub(crate) fn get(&self, seq: u64) -> Option<&Event> {
        if seq < self.oldest_seq() || seq >= self.next_seq {
            return None;
        }
        self.slots.get((seq % CAP) as usize)
    }

    /// Appends events from `from_seq` on (or from the oldest one still held), oldest
    /// first, until `batch` is full or none is left. Records where it stopped.
    pub(crate) fn copy_out(&self, from_seq: u64, batch: &mut Batch) -> Result {
        let mut seq = from_seq.max(self.oldest_seq());
        while seq < self.next_seq && batch.count() < batch.max {
            if let Some(ev) = self.get(seq) {
                batch.bytes.extend_from_slice(&ev.to_bytes(), GFP_KERNEL)?;
            }
            seq += 1;
        }
        batch.next_seq = seq;
        batch.oldest_seq = self.oldest_seq();
        Ok(())
    }
}

/// Events copied out of the ring, as whole `abi::Event`s, for `read()` and
/// GET_EVENTS. They are copied under the state lock into this heap buffer, then to
/// user space without the lock (a page fault must not happen while holding it).
pub(crate) struct Batch {
    bytes: KVec<u8>,
    /// Most events this batch takes.
    max: usize,
    /// Sequence number after the last event copied (where to go on from).
    pub(crate) next_seq: u64,
    /// Oldest sequence number the ring held when copying.
    pub(crate) oldest_seq: u64,
}

impl Batch {
    /// An empty batch with room for `max` events (allocated now, not while
    /// copying under the lock).
    pub(crate) fn with_capacity(max: usize) -> Result<Self> {
        Ok(Batch {
            bytes: KVec::with_capacity(max * EVENT_SIZE, GFP_KERNEL)?,
            max,
            next_seq: 0,
            oldest_seq: 0,
        })
    }

    /// Events in the batch.
    pub(crate) fn count(&self) -> usize {
        self.bytes.len() / EVENT_SIZE
    }

    /// Size of the batch in bytes.
    pub(crate) fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Writes the events to the user buffer at `addr` (`EFAULT` if it is not
    /// writable for the batch's length).
    pub(crate) fn copy_to_user(&self, addr: usize) -> Result {
        UserSlice::new(addr, self.bytes.len())
            .writer()
            .write_slice(&self.bytes)
    }
}

fn is_summary(ev: &Event) -> bool {
    ev.kind == EventKind::Refusals as u32
}

/// A new event of `kind` caused by the current task, stamped with CLOCK_MONOTONIC.
pub(crate) fn new_event(kind: EventKind, arg0: u32, arg1: u32, name: &[u8]) -> Event {
    let (uid, pid) = ffi::caller();
    let mut ev = Event::zeroed();
    ev.timestamp_ns = kernel::time::Ktime::ktime_get().to_ns() as u64;
    ev.kind = kind as u32;
    ev.uid = uid;
    ev.pid = pid;
    ev.arg0 = arg0;
    ev.arg1 = arg1;
    for (dst, src) in ev.name.iter_mut().take(NAME_LEN - 1).zip(name) {
        *dst = *src;
    }
    ev
}
