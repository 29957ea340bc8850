// SPDX-License-Identifier: GPL-2.0

//! The event log: a fixed-capacity ring of `abi::Event`s with gapless sequence
//! numbers. When it is full, the oldest event is overwritten and counted in
//! `lost`; readers see the gap in the sequence numbers.

use crate::abi::{Event, EventKind, EVENT_RING_CAPACITY, NAME_LEN};
use crate::shim;
use kernel::prelude::*;

const CAP: u64 = EVENT_RING_CAPACITY as u64;

/// Ring storage plus counters. Protected by the state mutex.
pub(crate) struct EventRing {
    /// Always `EVENT_RING_CAPACITY` slots; slot `seq % CAP` holds event `seq`.
    slots: KVec<Event>,
    /// Sequence number of the next event (the first is 1).
    next_seq: u64,
    /// Events overwritten so far.
    lost: u64,
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
        })
    }

    /// Stores `ev` with the next sequence number; returns that number.
    pub(crate) fn push(&mut self, mut ev: Event) -> u64 {
        let seq = self.next_seq;
        ev.seq = seq;
        if seq > CAP {
            self.lost += 1;
        }
        if let Some(slot) = self.slots.get_mut((seq % CAP) as usize) {
            *slot = ev;
        }
        self.next_seq = seq + 1;
        seq
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
}

/// A new event of `kind` caused by the current task, stamped with CLOCK_MONOTONIC.
pub(crate) fn new_event(kind: EventKind, arg0: u32, arg1: u32, name: &[u8]) -> Event {
    let (uid, pid) = shim::caller();
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
