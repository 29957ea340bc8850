//! Concurrency: many threads hammering the ioctls while a reader follows the event
//! stream with poll()/read(); and module unload racing open/ioctl/close.

use crate::api::poll_in;
use crate::util::{check, open_device, TestResult};
use milspec_abi::*;
use milspec_host::kmod;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// `threads` × `ops` mixed ioctls (reads and event-producing writes) plus one
/// reader that must see every event or count it as lost.
pub fn mixed_ioctls_with_reader(threads: usize, ops: u64) -> TestResult {
    let dev = open_device()?;
    let before = dev.status().map_err(|e| e.to_string())?;
    let level = SecurityLevel::from_u32(before.security_level).ok_or("level")?;
    let stop = Arc::new(AtomicBool::new(false));
    let writes = Arc::new(AtomicU64::new(0));

    let reader = {
        let stop = stop.clone();
        std::thread::spawn(move || -> Result<(u64, u64), String> {
            let dev = open_device()?;
            let fd = dev.fd().as_raw_fd();
            // SAFETY: fcntl on our own fd.
            unsafe { libc::fcntl(fd, libc::F_SETFL, libc::O_NONBLOCK) };
            let mut last = before.next_seq - 1;
            let (mut seen, mut gaps) = (0u64, 0u64);
            loop {
                let done = stop.load(Ordering::Acquire);
                poll_in(fd, 50);
                match dev.read_events(64) {
                    Ok(evs) => {
                        for e in evs {
                            if e.seq < before.next_seq {
                                continue; // history from before the test
                            }
                            if e.seq <= last {
                                return Err(format!("seq {} after {}", e.seq, last));
                            }
                            gaps += e.seq - last - 1;
                            last = e.seq;
                            seen += 1;
                        }
                    }
                    Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => {
                        if done {
                            return Ok((seen, gaps));
                        }
                    }
                    Err(e) => return Err(e.to_string()),
                }
            }
        })
    };

    let start = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let writes = writes.clone();
            std::thread::spawn(move || -> TestResult {
                let dev = open_device()?;
                let mut rng = fastrand::Rng::with_seed(t as u64);
                for _ in 0..ops {
                    let r = match rng.u8(..5) {
                        0 => dev.info().map(|_| ()),
                        1 => dev.status().map(|_| ()),
                        2 => dev.events(rng.u64(1..100_000), 4).map(|_| ()),
                        3 => {
                            writes.fetch_add(1, Ordering::Relaxed);
                            dev.set_allowlist(&["milspec_probe_ok"])
                        }
                        _ => dev.set_level(level), // no-op: same level
                    };
                    r.map_err(|e| e.to_string())?;
                }
                Ok(())
            })
        })
        .collect();
    for w in workers {
        w.join().map_err(|_| "worker panicked")??;
    }
    let secs = start.elapsed().as_secs_f64();
    stop.store(true, Ordering::Release);
    let (seen, gaps) = reader.join().map_err(|_| "reader panicked")??;
    dev.set_allowlist(&[]).map_err(|e| e.to_string())?;
    let after = dev.status().map_err(|e| e.to_string())?;
    let total_ops = threads as u64 * ops;
    let w = writes.load(Ordering::Relaxed);
    println!(
        "# stress: {threads} threads x {ops} ioctls = {total_ops} in {secs:.1} s ({:.0} ioctls/s); \
         {w} events written, reader saw {seen}, gaps {gaps}, events_lost +{}",
        total_ops as f64 / secs,
        after.events_lost - before.events_lost
    );
    // +1: the final set_allowlist above.
    check(after.events_total - before.events_total == w + 1, || {
        format!(
            "events_total grew by {}, {} writes",
            after.events_total - before.events_total,
            w + 1
        )
    })?;
    check(seen + gaps == w, || {
        format!("reader: {seen} seen + {gaps} gaps != {w}")
    })?;
    check(gaps <= after.events_lost - before.events_lost, || {
        format!(
            "{gaps} gaps but only {} counted lost",
            after.events_lost - before.events_lost
        )
    })
}

/// Unload/reload the module while threads open, query and close the device.
pub fn unload_races_open_ioctl_close(ko: &Path, rounds: u32) -> TestResult {
    let stop = Arc::new(AtomicBool::new(false));
    let calls = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..4)
        .map(|t| {
            let stop = stop.clone();
            let calls = calls.clone();
            std::thread::spawn(move || {
                let mut rng = fastrand::Rng::with_seed(t);
                while !stop.load(Ordering::Acquire) {
                    if let Ok(dev) = open_device() {
                        let _ = dev.info();
                        let _ = dev.status();
                        calls.fetch_add(1, Ordering::Relaxed);
                    }
                    // Leave windows in which no file is open, so unloads can win.
                    std::thread::sleep(std::time::Duration::from_micros(rng.u64(0..2000)));
                }
            })
        })
        .collect();
    let mut rng = fastrand::Rng::with_seed(0xACE);
    let (mut unloaded, mut busy) = (0u32, 0u32);
    for _ in 0..rounds {
        std::thread::sleep(std::time::Duration::from_micros(rng.u64(0..3000)));
        match kmod::unload(MODULE_NAME) {
            Ok(true) => {
                unloaded += 1;
                kmod::load_file(ko, &[]).map_err(|e| e.to_string())?;
            }
            Ok(false) => return Err("module vanished".into()),
            Err(e)
                if matches!(
                    e.errno(),
                    Some(nix::errno::Errno::EWOULDBLOCK | nix::errno::Errno::EBUSY)
                ) =>
            {
                busy += 1
            }
            Err(e) => return Err(e.to_string()),
        }
    }
    stop.store(true, Ordering::Release);
    for w in workers {
        w.join().map_err(|_| "worker panicked")?;
    }
    println!(
        "# race: {rounds} unload attempts: {unloaded} unloaded+reloaded, {busy} refused while open; {} open/ioctl/close cycles",
        calls.load(Ordering::Relaxed)
    );
    check(unloaded > 0, || "never managed to unload".into())?;
    check(Path::new(DEVICE_PATH).exists(), || {
        "device missing at the end".into()
    })
}
