//! Host tests of the refusal table: coalescing per (uid, command), the overflow
//! bucket, and when a summary event is due.

use milspec_abi::*;

const S: u64 = 1_000_000_000;

#[test]
fn one_key_counts_every_refusal_and_is_due_once_per_window() {
    let mut t = RefusalTable::new();
    let first = t.record(1000, IOC_SET_LEVEL, 5 * S);
    assert!(
        first.summary_due,
        "the first refusal of a key is reported at once"
    );
    t.summarized(first.slot, 5 * S);
    let mut due = 0;
    for i in 1..100_000u64 {
        // 100k calls spread over 9.99 s: all inside the window.
        let r = t.record(1000, IOC_SET_LEVEL, 5 * S + i * 99_900);
        due += u32::from(r.summary_due);
    }
    assert_eq!(due, 0);
    let later = t.record(1000, IOC_SET_LEVEL, 5 * S + REFUSAL_SUMMARY_WINDOW_NS);
    assert!(later.summary_due, "a window after the last summary");
    assert_eq!(later.entry.count, 100_001);
    assert_eq!(later.entry.first_ns, 5 * S);
    assert_eq!(later.entry.last_ns, 15 * S);
    assert_eq!(t.total(), 100_001);
    assert_eq!(t.keys(), 1);
}

#[test]
fn a_summary_the_ring_had_no_room_for_stays_due() {
    let mut t = RefusalTable::new();
    assert!(t.record(1000, IOC_GET_TOKENS, S).summary_due);
    // Not noted as written: the next refusal is still due.
    let r = t.record(1000, IOC_GET_TOKENS, S + 1);
    assert!(r.summary_due);
    t.summarized(r.slot, S + 1);
    assert!(!t.record(1000, IOC_GET_TOKENS, S + 2).summary_due);
}

#[test]
fn keys_are_uid_and_command() {
    let mut t = RefusalTable::new();
    t.record(1000, IOC_SET_LEVEL, 1);
    t.record(1000, IOC_SET_ALLOWLIST, 2);
    t.record(1001, IOC_SET_LEVEL, 3);
    t.record(1000, IOC_SET_LEVEL, 4);
    let got: Vec<(u32, u32, u64)> = t.entries().map(|e| (e.uid, e.cmd, e.count)).collect();
    assert_eq!(
        got,
        [
            (1000, IOC_SET_LEVEL, 2),
            (1000, IOC_SET_ALLOWLIST, 1),
            (1001, IOC_SET_LEVEL, 1)
        ]
    );
    assert_eq!(t.total(), 4);
}

#[test]
fn keys_past_the_slots_share_the_overflow_bucket() {
    let mut t = RefusalTable::new();
    for uid in 0..REFUSAL_SLOTS as u32 {
        t.record(uid, IOC_SET_LEVEL, 1);
    }
    assert_eq!(
        t.keys(),
        REFUSAL_SLOTS,
        "no overflow entry while it is empty"
    );
    let a = t.record(500, IOC_SET_LEVEL, 10);
    let b = t.record(501, IOC_GET_TOKENS, 20);
    assert_eq!(a.slot, REFUSAL_SLOTS);
    assert_eq!(b.slot, REFUSAL_SLOTS);
    assert!(a.summary_due);
    let last = t.entries().last().copied().unwrap();
    assert_eq!(
        (last.uid, last.cmd, last.count, last.first_ns, last.last_ns),
        (REFUSAL_UID_OTHER, 0, 2, 10, 20)
    );
    assert_eq!(t.keys(), REFUSAL_ENTRIES_MAX);
    // Existing keys keep their own slot.
    assert_eq!(t.record(3, IOC_SET_LEVEL, 30).slot, 3);
    assert_eq!(t.total(), REFUSAL_SLOTS as u64 + 3);
}

#[test]
fn refusals_request_validation() {
    assert_eq!(RefusalsRequest::new(0x1000, 17).validate(), Ok(()));
    let mut r = RefusalsRequest::new(0x1000, 17);
    r.total = 1;
    assert_eq!(r.validate(), Err(AbiError::ReservedNotZero));
    let mut r = RefusalsRequest::new(0x1000, 17);
    r.size = 32;
    assert_eq!(r.validate(), Err(AbiError::BadSize));
    let mut r = RefusalsRequest::new(0x1000, 17);
    r.reserved[7] = 1;
    assert_eq!(r.validate(), Err(AbiError::ReservedNotZero));
}

#[test]
fn command_names_cover_every_command() {
    for cmd in ALL_COMMANDS {
        assert!(command_name(cmd).is_some(), "{cmd:#x}");
    }
    assert_eq!(command_name(IOC_SET_LEVEL), Some("set_level"));
    assert_eq!(command_name(0x1234), None);
}

#[test]
fn refusal_entry_round_trips() {
    let e = RefusalEntry {
        uid: 1000,
        cmd: IOC_SET_LEVEL,
        count: 100_000,
        first_ns: 1,
        last_ns: 2,
    };
    assert_eq!(RefusalEntry::from_bytes(&e.to_bytes()), e);
    assert_eq!(REFUSAL_ENTRY_SIZE, RefusalEntry::SIZE);
}

#[test]
fn summaries_never_overwrite_other_events_and_stay_within_budget() {
    let refusals = EventKind::Refusals as u32;
    // Ring not full: up to the budget.
    assert!(summary_fits(None, 0));
    assert!(summary_fits(None, REFUSAL_SUMMARY_BUDGET - 1));
    assert!(!summary_fits(None, REFUSAL_SUMMARY_BUDGET));
    // Ring full: only an old summary may go, whatever the count.
    assert!(summary_fits(Some(refusals), REFUSAL_SUMMARY_BUDGET));
    for kind in [
        EventKind::LevelChanged,
        EventKind::ModuleDenied,
        EventKind::TokenTableInvalid,
        EventKind::ForcedLoad,
    ] {
        assert!(!summary_fits(Some(kind as u32), 0), "{kind:?}");
    }
    // The budget leaves most of the ring to the other events.
    assert!(REFUSAL_SUMMARY_BUDGET as usize * 16 <= EVENT_RING_CAPACITY);
}
