//! Unprivileged noise cannot evict security events (ABI 2): uid 1000 floods the
//! module with refused SET_LEVEL calls between root events; every event held
//! before is still held after, nothing is counted as lost, and the refusals are
//! exact counts in GET_REFUSALS, GET_STATUS and the status file.

use crate::api::status_fields;
use crate::util::{check, open_device, raw_ioctl, run_as, TestResult};
use milspec_abi::*;
use milspec_host::device::{Device, Refusals};
use std::os::fd::AsRawFd;
use std::time::Instant;

fn count_of(r: &Refusals, uid: u32, cmd: u32) -> u64 {
    r.entries
        .iter()
        .find(|e| e.uid == uid && e.cmd == cmd)
        .map_or(0, |e| e.count)
}

fn all_events(dev: &Device, from: u64) -> Result<Vec<Event>, String> {
    let b = dev
        .events(from, EVENTS_MAX_PER_CALL)
        .map_err(|e| e.to_string())?;
    Ok(b.events)
}

/// Root events as ABI 1 lost them: a level change there and back (the level
/// ends as it was; it must be below `paranoid`) and an allowlist change.
fn root_events(dev: &Device) -> TestResult {
    let level = dev.status().map_err(|e| e.to_string())?.security_level;
    let level = SecurityLevel::from_u32(level).ok_or("bad level")?;
    let other = if level == SecurityLevel::Enhanced {
        SecurityLevel::Standard
    } else {
        SecurityLevel::Enhanced
    };
    dev.set_level(other).map_err(|e| e.to_string())?;
    dev.set_level(level).map_err(|e| e.to_string())?;
    dev.set_allowlist(&[]).map_err(|e| e.to_string())
}

fn is_root(e: &Event, kind: EventKind) -> bool {
    e.uid == 0 && e.kind == kind as u32
}

/// Root events, flood of `n` refusals as uid 1000, root events; then the checks.
pub fn flood_keeps_every_root_event(n: u64) -> TestResult {
    let dev = open_device()?;
    let before = dev.status().map_err(|e| e.to_string())?;
    let ref_before = dev.refusals().map_err(|e| e.to_string())?;
    root_events(&dev)?;
    let held_before = all_events(&dev, 1)?;
    let first_seq = held_before.first().map_or(0, |e| e.seq);

    let t0 = Instant::now();
    run_as(1000, &["--as-user-refuse", "set_level", &n.to_string()])?;
    let secs = t0.elapsed().as_secs_f64();
    println!(
        "# {n} refused SET_LEVEL ioctls as uid 1000: {secs:.1} s ({:.0}/s)",
        n as f64 / secs.max(1e-9)
    );
    root_events(&dev)?;

    let after = dev.status().map_err(|e| e.to_string())?;
    let ref_after = dev.refusals().map_err(|e| e.to_string())?;
    check(after.events_lost == before.events_lost, || {
        format!(
            "events_lost {} -> {}",
            before.events_lost, after.events_lost
        )
    })?;
    // Every event held before is held after, unchanged, from the same seq on.
    let held_after = all_events(&dev, first_seq)?;
    check(
        held_after.get(..held_before.len()) == Some(&held_before[..]),
        || {
            format!(
                "{} events held before (from seq {first_seq}), now {} from seq {:?}",
                held_before.len(),
                held_after.len(),
                held_after.first().map(|e| e.seq)
            )
        },
    )?;
    // The root events just before the flood are among them.
    let tail = held_before.len().saturating_sub(3);
    let kinds = [
        EventKind::LevelChanged,
        EventKind::LevelChanged,
        EventKind::AllowlistChanged,
    ];
    let root_ok =
        |evs: &[Event]| evs.len() == 3 && evs.iter().zip(kinds).all(|(e, k)| is_root(e, k));
    check(root_ok(&held_after[tail..held_before.len()]), || {
        format!("root events before the flood: {:?}", &held_before[tail..])
    })?;
    // What came after: refusal summaries of uid 1000 (within the budget), then
    // the three root events, with no gap.
    let new = held_after.get(held_before.len()..).unwrap_or(&[]);
    let seqs_ok = new
        .iter()
        .zip(held_before.last().map_or(first_seq, |e| e.seq + 1)..)
        .all(|(e, want)| e.seq == want);
    let split = new.len().saturating_sub(3);
    let (summaries, last) = new.split_at(split);
    check(
        seqs_ok && root_ok(last) && last.last().map(|e| e.seq) == Some(after.next_seq - 1),
        || format!("events after the flood: {new:?}"),
    )?;
    let summaries_ok = summaries.iter().all(|e| {
        e.kind == EventKind::Refusals as u32
            && e.uid == 1000
            && e.arg0 == IOC_SET_LEVEL
            && fixed_str_get(&e.name) == Some("set_level")
    });
    check(
        summaries_ok && summaries.len() as u32 <= REFUSAL_SUMMARY_BUDGET,
        || format!("{} summaries: {summaries:?}", summaries.len()),
    )?;
    println!(
        "# {} refusals summary events for {n} refused calls",
        summaries.len()
    );
    // Exact counts: GET_REFUSALS, GET_STATUS, the status file.
    let grew =
        count_of(&ref_after, 1000, IOC_SET_LEVEL) - count_of(&ref_before, 1000, IOC_SET_LEVEL);
    check(grew == n && ref_after.total - ref_before.total == n, || {
        format!(
            "GET_REFUSALS grew by {grew} (total {} -> {})",
            ref_before.total, ref_after.total
        )
    })?;
    check(after.refusals_total == ref_after.total, || {
        format!("GET_STATUS refusals_total {}", after.refusals_total)
    })?;
    let f = status_fields()?;
    let by = f
        .get(status_keys::REFUSED_CALLS_BY)
        .cloned()
        .unwrap_or_default();
    let want = format!(
        "1000:set_level={}",
        count_of(&ref_after, 1000, IOC_SET_LEVEL)
    );
    check(
        f.get(status_keys::REFUSED_CALLS) == Some(&ref_after.total.to_string())
            && by.split(", ").any(|item| item == want),
        || {
            format!(
                "status file: refused_calls {:?}, by {by:?}",
                f.get(status_keys::REFUSED_CALLS)
            )
        },
    )
}

/// Child side (uid 1000): `n` calls of `cmd` (SET_LEVEL or GET_TOKENS with a
/// valid request), each must be EPERM.
pub fn user_refuse(cmd: u32, n: u64) -> TestResult {
    let dev = open_device()?;
    let fd = dev.fd().as_raw_fd();
    let mut tokens = [0u8; 64 * TOKEN_ENTRY_SIZE];
    let req: Vec<u8> = if cmd == IOC_GET_TOKENS {
        TokensRequest::new(tokens.as_mut_ptr() as u64, 64)
            .to_bytes()
            .to_vec()
    } else {
        LevelRequest::new(SecurityLevel::Disabled)
            .to_bytes()
            .to_vec()
    };
    for i in 0..n {
        let got = raw_ioctl(fd, cmd, req.as_ptr() as usize);
        check(got == Err(libc::EPERM), || format!("call {i}: {got:?}"))?;
    }
    Ok(())
}
