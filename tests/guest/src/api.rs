//! The full ioctl interface: status, levels, events (GET_EVENTS, read, poll),
//! permissions, bad input, tokens.

use crate::util::{check, open_device, raw_ioctl, run_as, unmapped_addr, Mapping, TestResult};
use crate::Config;
use milspec_abi::*;
use milspec_host::status::ProcStatus;
use std::os::fd::AsRawFd;
use std::time::Duration;

fn status_text() -> Result<ProcStatus, String> {
    let text = std::fs::read_to_string(PROC_STATUS_PATH).map_err(|e| e.to_string())?;
    ProcStatus::parse(&text).map_err(|e| e.to_string())
}

/// Every `key: value` of the status file.
pub fn status_fields() -> Result<std::collections::BTreeMap<String, String>, String> {
    status_text().map(|s| s.fields)
}

fn field(s: &ProcStatus, key: &str) -> String {
    s.fields.get(key).cloned().unwrap_or_default()
}

/// GET_STATUS and the status file agree on everything that does not move.
pub fn get_status_agrees_with_status_file(_: &Config) -> TestResult {
    let dev = open_device()?;
    let st = dev.status().map_err(|e| e.to_string())?;
    let text = status_text()?;
    let level = SecurityLevel::from_u32(st.security_level).ok_or("bad level")?;
    check(
        field(&text, status_keys::SECURITY_LEVEL)
            == format!("{} ({})", level.as_str(), level as u32),
        || {
            format!(
                "level {:?} vs {}",
                level,
                field(&text, status_keys::SECURITY_LEVEL)
            )
        },
    )?;
    check(
        field(&text, status_keys::TOKENS) == st.token_count.to_string(),
        || "token count differs".into(),
    )?;
    let smb = SmbiosState::from_u32(st.smbios_calling_interface).ok_or("bad smbios state")?;
    check(
        field(&text, status_keys::SMBIOS_CALLING_INTERFACE) == smb.as_str(),
        || "smbios state differs".into(),
    )?;
    let lock = Lockdown::from_u32(st.lockdown).ok_or("bad lockdown")?;
    check(
        field(&text, status_keys::KERNEL_LOCKDOWN) == lock.as_str(),
        || "lockdown differs".into(),
    )?;
    check(
        st.abi_version == ABI_VERSION && st.flags & !status_flags::ALL == 0,
        || format!("abi {} flags {:#x}", st.abi_version, st.flags),
    )?;
    check(st.next_seq == st.events_total + 1, || {
        format!("next_seq {} total {}", st.next_seq, st.events_total)
    })?;
    check(
        field(&text, status_keys::FEATURE_SMBIOS_TOKEN_WRITE) == "not-present",
        || "token write".into(),
    )?;
    // The feature row follows the measurement's outcome (docs/status.md).
    let measured = field(&text, status_keys::TPM_MEASUREMENT);
    let feature = field(&text, status_keys::FEATURE_TPM_MEASUREMENT);
    let want = match measured.as_str() {
        "measured" | "failed" => "real",
        "pending" | "no-ima" | "no-tpm" | "no-policy" => "unsupported",
        other => return Err(format!("tpm_measurement: {other}")),
    };
    check(feature == want, || {
        format!("feature_tpm_measurement {feature} with tpm_measurement {measured}")
    })?;
    Ok(())
}

/// Levels below paranoid can go up and down; each change is an event with our
/// uid and pid; out-of-range levels are EINVAL.
pub fn level_changes_are_events(_: &Config) -> TestResult {
    let dev = open_device()?;
    let before = dev.status().map_err(|e| e.to_string())?;
    let start = SecurityLevel::from_u32(before.security_level).ok_or("level")?;
    dev.set_level(SecurityLevel::Enhanced)
        .map_err(|e| e.to_string())?;
    check(
        status_text()?.fields[status_keys::SECURITY_LEVEL] == "enhanced (2)",
        || "status file did not follow".into(),
    )?;
    dev.set_level(start).map_err(|e| e.to_string())?;
    dev.set_level(start).map_err(|e| e.to_string())?; // no-op: no event
    let batch = dev.events(before.next_seq, 16).map_err(|e| e.to_string())?;
    let lv: Vec<_> = batch
        .events
        .iter()
        .filter(|e| e.kind == EventKind::LevelChanged as u32)
        .collect();
    check(lv.len() == 2, || format!("{} level events", lv.len()))?;
    check(
        lv[0].arg0 == start as u32 && lv[0].arg1 == 2 && lv[1].arg1 == start as u32,
        || format!("{lv:?}"),
    )?;
    check(lv[0].uid == 0 && lv[0].pid == std::process::id(), || {
        format!("uid {} pid {}", lv[0].uid, lv[0].pid)
    })?;
    let mut bad = LevelRequest::new(SecurityLevel::Standard);
    bad.level = 5;
    let got = raw_ioctl(
        dev.fd().as_raw_fd(),
        IOC_SET_LEVEL,
        bad.to_bytes().as_ptr() as usize,
    );
    check(got == Err(libc::EINVAL), || format!("level 5: {got:?}"))
}

/// Sequence numbers are gapless and increasing; timestamps do not go back.
pub fn events_are_ordered(_: &Config) -> TestResult {
    let dev = open_device()?;
    for _ in 0..10 {
        dev.set_allowlist(&[]).map_err(|e| e.to_string())?;
    }
    let st = dev.status().map_err(|e| e.to_string())?;
    let from = st.next_seq.saturating_sub(10).max(1);
    let batch = dev.events(from, 64).map_err(|e| e.to_string())?;
    check(batch.events.len() == 10, || {
        format!("{} events", batch.events.len())
    })?;
    for w in batch.events.windows(2) {
        check(w[1].seq == w[0].seq + 1, || {
            format!("seq {} then {}", w[0].seq, w[1].seq)
        })?;
        check(w[1].timestamp_ns >= w[0].timestamp_ns, || {
            "time went back".into()
        })?;
    }
    check(batch.next_seq == st.next_seq && !batch.gap, || {
        format!("next {} gap {}", batch.next_seq, batch.gap)
    })?;
    // Nothing new: an empty answer that keeps the cursor.
    let empty = dev.events(st.next_seq, 64).map_err(|e| e.to_string())?;
    check(
        empty.events.is_empty() && empty.next_seq == st.next_seq,
        || format!("{} events, next {}", empty.events.len(), empty.next_seq),
    )
}

/// More events than the ring holds: the oldest are overwritten, counted in
/// events_lost, and GET_EVENTS reports the gap.
pub fn overflow_is_counted_and_visible(_: &Config) -> TestResult {
    let dev = open_device()?;
    let before = dev.status().map_err(|e| e.to_string())?;
    let n = EVENT_RING_CAPACITY as u64 + 50;
    for _ in 0..n {
        dev.set_allowlist(&[]).map_err(|e| e.to_string())?;
    }
    let after = dev.status().map_err(|e| e.to_string())?;
    check(after.events_total == before.events_total + n, || {
        format!("total {} -> {}", before.events_total, after.events_total)
    })?;
    check(
        after.events_lost
            == after
                .events_total
                .saturating_sub(EVENT_RING_CAPACITY as u64),
        || format!("lost {} of {}", after.events_lost, after.events_total),
    )?;
    let batch = dev
        .events(before.next_seq, EVENTS_MAX_PER_CALL)
        .map_err(|e| e.to_string())?;
    check(batch.gap, || "no gap flag".into())?;
    check(
        batch.oldest_seq == after.next_seq - EVENT_RING_CAPACITY as u64,
        || format!("oldest {}", batch.oldest_seq),
    )?;
    check(batch.events.len() == EVENT_RING_CAPACITY, || {
        format!("{} events", batch.events.len())
    })?;
    check(batch.events[0].seq == batch.oldest_seq, || {
        "first is not oldest".into()
    })?;
    let text = status_text()?;
    check(
        text.fields[status_keys::EVENTS_LOST] == after.events_lost.to_string(),
        || "status file events_lost differs".into(),
    )
}

/// poll() wakes when an event arrives; read() returns it whole.
pub fn poll_wakes_and_read_returns_events(_: &Config) -> TestResult {
    let reader = open_device()?;
    // Drain what is there: the cursor starts at the oldest event.
    set_nonblocking(&reader)?;
    while !reader.read_events(64).unwrap_or_default().is_empty() {}
    let fd = reader.fd().as_raw_fd();
    check(poll_in(fd, 0) == 0, || "readable with nothing new".into())?;
    let writer = std::thread::spawn(|| {
        std::thread::sleep(Duration::from_millis(300));
        open_device().and_then(|d| d.set_allowlist(&[]).map_err(|e| e.to_string()))
    });
    let ready = poll_in(fd, 10_000);
    writer.join().map_err(|_| "writer panicked")??;
    check(ready == 1, || format!("poll returned {ready}"))?;
    let evs = reader.read_events(8).map_err(|e| e.to_string())?;
    check(
        evs.len() == 1 && evs[0].kind == EventKind::AllowlistChanged as u32,
        || format!("{evs:?}"),
    )?;
    let again = reader.read_events(8);
    check(
        matches!(&again, Err(e) if e.raw_os_error() == Some(libc::EAGAIN)),
        || format!("second read: {again:?}"),
    )?;
    // A buffer smaller than one event is EINVAL.
    let mut small = [0u8; EVENT_SIZE - 1];
    // SAFETY: reading into a valid local buffer.
    let n = unsafe { libc::read(fd, small.as_mut_ptr().cast(), small.len()) };
    let err = std::io::Error::last_os_error().raw_os_error();
    check(n == -1 && err == Some(libc::EINVAL), || {
        format!("short read {n} {err:?}")
    })
}

fn set_nonblocking(dev: &milspec_host::device::Device) -> TestResult {
    let fd = dev.fd().as_raw_fd();
    // SAFETY: fcntl on our own open fd.
    let rc = unsafe { libc::fcntl(fd, libc::F_SETFL, libc::O_NONBLOCK) };
    check(rc == 0, || "fcntl".into())
}

/// poll(2) for POLLIN; returns the number of ready fds (or -1).
pub fn poll_in(fd: i32, timeout_ms: i32) -> i32 {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    unsafe { libc::poll(&mut p, 1, timeout_ms) }
}

/// As an unprivileged user: every state change is EPERM (and counted per uid and
/// command, with at most one summary event per key), every query works, the
/// tokens file is unreadable.
pub fn unprivileged_gets_eperm_for_changes(_: &Config) -> TestResult {
    let dev = open_device()?;
    let before = dev.status().map_err(|e| e.to_string())?;
    let ref_before = dev.refusals().map_err(|e| e.to_string())?;
    run_as(1000, &["--as-user-checks"])?;
    let ref_after = dev.refusals().map_err(|e| e.to_string())?;
    let count = |r: &milspec_host::device::Refusals, cmd| {
        r.entries
            .iter()
            .find(|e| e.uid == 1000 && e.cmd == cmd)
            .map_or(0, |e| e.count)
    };
    let grew: Vec<u64> = [IOC_SET_LEVEL, IOC_SET_ALLOWLIST, IOC_GET_TOKENS]
        .iter()
        .map(|&c| count(&ref_after, c) - count(&ref_before, c))
        .collect();
    check(
        grew == [1, 1, 1] && ref_after.total == ref_before.total + 3,
        || format!("refusals grew by {grew:?}"),
    )?;
    let batch = dev.events(before.next_seq, 64).map_err(|e| e.to_string())?;
    check(
        batch.events.len() <= 3
            && batch
                .events
                .iter()
                .all(|e| e.uid == 1000 && e.kind == EventKind::Refusals as u32),
        || format!("events after the refusals: {:?}", batch.events),
    )?;
    let after = dev.status().map_err(|e| e.to_string())?;
    check(after.security_level == before.security_level, || {
        "level changed".into()
    })
}

/// Child side of `unprivileged_gets_eperm_for_changes` (runs as uid 1000).
pub fn user_checks() -> TestResult {
    let dev = open_device()?;
    let fd = dev.fd().as_raw_fd();
    let lv = LevelRequest::new(SecurityLevel::Disabled).to_bytes();
    let got = raw_ioctl(fd, IOC_SET_LEVEL, lv.as_ptr() as usize);
    check(got == Err(libc::EPERM), || format!("SET_LEVEL {got:?}"))?;
    let al = AllowlistRequest::new(0, 0).to_bytes();
    let got = raw_ioctl(fd, IOC_SET_ALLOWLIST, al.as_ptr() as usize);
    check(got == Err(libc::EPERM), || format!("SET_ALLOWLIST {got:?}"))?;
    // EPERM comes before the pointer is looked at.
    let got = raw_ioctl(fd, IOC_GET_TOKENS, 0);
    check(got == Err(libc::EPERM), || format!("GET_TOKENS {got:?}"))?;
    dev.status().map_err(|e| format!("GET_STATUS: {e}"))?;
    dev.info().map_err(|e| format!("GET_INFO: {e}"))?;
    dev.events(1, 8).map_err(|e| format!("GET_EVENTS: {e}"))?;
    std::fs::read_to_string(PROC_STATUS_PATH).map_err(|e| format!("status: {e}"))?;
    let tokens = std::fs::read_to_string("/proc/milspec/tokens");
    check(
        matches!(&tokens, Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied),
        || format!("tokens file: {tokens:?}"),
    )
}

/// Every command rejects bad sizes, reserved bytes, ranges and pointers.
pub fn every_command_rejects_bad_input(_: &Config) -> TestResult {
    let dev = open_device()?;
    let fd = dev.fd().as_raw_fd();
    let unmapped = unmapped_addr()?;
    let kernel_addr = 0xffff_ffff_8100_0000usize;
    let mut buf = Mapping::new(1 << 20)?;

    // Each command with: bad struct pointers -> EFAULT.
    for cmd in ALL_COMMANDS {
        for arg in [0usize, 1, unmapped, kernel_addr, usize::MAX] {
            let got = raw_ioctl(fd, cmd, arg);
            check(got == Err(libc::EFAULT), || {
                format!("cmd {cmd:#x} arg {arg:#x}: {got:?}")
            })?;
        }
    }
    let mut einval = |what: &str, cmd: u32, bytes: &[u8]| -> TestResult {
        buf.write(0, bytes);
        let got = raw_ioctl(fd, cmd, buf.addr());
        check(got == Err(libc::EINVAL), || format!("{what}: {got:?}"))
    };
    let mut st = Status::request();
    st.size = 64;
    einval("GET_STATUS size", IOC_GET_STATUS, &st.to_bytes())?;
    let mut st = Status::request();
    st.reserved[47] = 1;
    einval("GET_STATUS reserved", IOC_GET_STATUS, &st.to_bytes())?;
    let mut lv = LevelRequest::new(SecurityLevel::Standard);
    lv.level = u32::MAX;
    einval("SET_LEVEL range", IOC_SET_LEVEL, &lv.to_bytes())?;
    let mut lv = LevelRequest::new(SecurityLevel::Standard);
    lv.reserved[0] = 1;
    einval("SET_LEVEL reserved", IOC_SET_LEVEL, &lv.to_bytes())?;
    let ev = EventsRequest::new(1, 0, u32::MAX);
    einval("GET_EVENTS huge capacity", IOC_GET_EVENTS, &ev.to_bytes())?;
    let mut ev = EventsRequest::new(1, 0, 1);
    ev.count = 7;
    einval("GET_EVENTS output not zero", IOC_GET_EVENTS, &ev.to_bytes())?;
    let al = AllowlistRequest::new(0, ALLOWLIST_MAX + 1);
    einval("SET_ALLOWLIST count", IOC_SET_ALLOWLIST, &al.to_bytes())?;
    let mut tk = TokensRequest::new(0, 1);
    tk.size = 1 << 20;
    einval("GET_TOKENS size", IOC_GET_TOKENS, &tk.to_bytes())?;
    let mut rf = RefusalsRequest::new(0, 1);
    rf.keys = 1;
    einval(
        "GET_REFUSALS output not zero",
        IOC_GET_REFUSALS,
        &rf.to_bytes(),
    )?;
    let mut rf = RefusalsRequest::new(0, 1);
    rf.reserved[0] = 1;
    einval("GET_REFUSALS reserved", IOC_GET_REFUSALS, &rf.to_bytes())?;

    // Invalid module names: EINVAL, and the list is unchanged.
    for bad in ["", "has space", "semi;colon"] {
        let names = milspec_abi::fixed_str::<NAME_LEN>(bad);
        let mut m = Mapping::new(4096)?;
        m.write(0, &names);
        let req = AllowlistRequest::new(m.addr() as u64, 1).to_bytes();
        let got = raw_ioctl(fd, IOC_SET_ALLOWLIST, req.as_ptr() as usize);
        check(got == Err(libc::EINVAL), || {
            format!("name {bad:?}: {got:?}")
        })?;
    }

    // Arrays behind bad pointers: EFAULT.
    let ev = EventsRequest::new(1, unmapped as u64, 8).to_bytes();
    let got = raw_ioctl(fd, IOC_GET_EVENTS, ev.as_ptr() as usize);
    check(got == Err(libc::EFAULT), || format!("events_ptr: {got:?}"))?;
    let al = AllowlistRequest::new(kernel_addr as u64, 2).to_bytes();
    let got = raw_ioctl(fd, IOC_SET_ALLOWLIST, al.as_ptr() as usize);
    check(got == Err(libc::EFAULT), || format!("names_ptr: {got:?}"))?;
    let tk = TokensRequest::new(unmapped as u64, 64).to_bytes();
    let got = raw_ioctl(fd, IOC_GET_TOKENS, tk.as_ptr() as usize);
    let expect = if dev.status().map_err(|e| e.to_string())?.token_count > 0 {
        Err(libc::EFAULT)
    } else {
        Ok(0) // nothing to write: the pointer is never used
    };
    check(got == expect, || format!("tokens_ptr: {got:?}"))?;

    // A command number of ours with a size that is not the command's: ENOTTY.
    let got = raw_ioctl(fd, iowr(0x02, 64), buf.addr());
    check(got == Err(libc::ENOTTY), || {
        format!("GET_STATUS/64: {got:?}")
    })?;
    let status = dev.status().map_err(|e| e.to_string())?;
    check(status.allowlist_len == 0, || {
        "allowlist changed by bad input".into()
    })
}

/// GET_TOKENS and /proc/milspec/tokens list exactly `cfg.expect_tokens`.
pub fn tokens_match_fixture(cfg: &Config) -> TestResult {
    let dev = open_device()?;
    let table = dev.tokens().map_err(|e| e.to_string())?;
    let got: Vec<(u16, u16, u16)> = table
        .tokens
        .iter()
        .map(|t| (t.id, t.location, t.value))
        .collect();
    check(got == cfg.expect_tokens, || format!("GET_TOKENS {got:x?}"))?;
    let text = std::fs::read_to_string("/proc/milspec/tokens").map_err(|e| e.to_string())?;
    let want: String = cfg
        .expect_tokens
        .iter()
        .map(|(i, l, v)| format!("{i:#06x} {l:#06x} {v:#06x}\n"))
        .collect();
    check(text == want, || format!("tokens file {text:?}"))?;
    let expect_state = match &cfg.expect_smbios {
        Some(s) => s.clone(),
        None => "present".into(),
    };
    check(
        SmbiosState::from_u32(table.state).map(|s| s.as_str()) == Some(expect_state.as_str()),
        || format!("state {}", table.state),
    )
}

/// The C client (compiled against include/uapi/linux/dell_milspec.h) sees what the
/// Rust client sees.
pub fn c_client_agrees(_: &Config) -> TestResult {
    let out = std::process::Command::new("/bin/milspec-c-query")
        .output()
        .map_err(|e| format!("milspec-c-query: {e}"))?;
    check(out.status.success(), || {
        format!(
            "exit {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
    })?;
    let text = String::from_utf8_lossy(&out.stdout);
    let c: std::collections::BTreeMap<&str, &str> =
        text.lines().filter_map(|l| l.split_once('=')).collect();
    let dev = open_device()?;
    let info = dev.info().map_err(|e| e.to_string())?;
    let st = dev.status().map_err(|e| e.to_string())?;
    let want = [
        ("abi_version", info.abi_version.to_string()),
        ("module_version", info.module_version.clone()),
        ("platform_state", (info.platform_state as u32).to_string()),
        ("security_level", st.security_level.to_string()),
        ("flags", st.flags.to_string()),
        (
            "smbios_calling_interface",
            st.smbios_calling_interface.to_string(),
        ),
        ("token_count", st.token_count.to_string()),
        ("lockdown", st.lockdown.to_string()),
        ("loaded_at_ns", st.loaded_at_ns.to_string()),
    ];
    for (k, v) in want {
        check(c.get(k) == Some(&v.as_str()), || {
            format!("{k}: C {:?}, Rust {v}", c.get(k))
        })?;
    }
    Ok(())
}
