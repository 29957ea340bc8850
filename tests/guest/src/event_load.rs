//! milspecd under load (the full-system tier, daemon run by systemd): N writer
//! threads change the security level flat out for S seconds, each change one
//! kernel event. Afterwards every sequence number the kernel gave out must be
//! accounted for by the daemon, as handled or as reported lost (its metrics
//! `milspec_events_total` and `milspec_events_lost_total`, from the textfile it
//! writes), and its peak RSS must stay within 10 MiB. Prints the figures. (The
//! watchdog is checked by the calling script, from systemd's side.)

use crate::util::{check, open_device, TestResult};
use milspec_abi::SecurityLevel;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Peak RSS allowed (KiB).
const RSS_LIMIT_KIB: u64 = 10 << 10;

/// The daemon's counters: events handled (all kinds) and reported lost.
fn daemon_counts(metrics: &Path) -> Result<(u64, u64), String> {
    let text =
        std::fs::read_to_string(metrics).map_err(|e| format!("{}: {e}", metrics.display()))?;
    let mut handled = 0u64;
    let mut lost = None;
    for l in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((name, value)) = l.rsplit_once(' ') else {
            continue;
        };
        let v = value.parse::<f64>().unwrap_or(0.0) as u64;
        if name.starts_with("milspec_events_total") {
            handled += v;
        } else if name == "milspec_events_lost_total" {
            lost = Some(v);
        }
    }
    let lost =
        lost.ok_or_else(|| format!("no milspec_events_lost_total in {}", metrics.display()))?;
    Ok((handled, lost))
}

fn daemon_pid() -> Result<u32, String> {
    for e in std::fs::read_dir("/proc")
        .map_err(|e| e.to_string())?
        .flatten()
    {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .is_ok_and(|c| c.trim() == "milspecd")
        {
            return Ok(pid);
        }
    }
    Err("no milspecd process".into())
}

fn kib(pid: u32, key: &str) -> Result<u64, String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).map_err(|e| e.to_string())?;
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| format!("no {key} in /proc/{pid}/status"))
}

/// The daemon's counts once they stop moving (two reads a flush period apart).
fn settled(metrics: &Path, limit: Duration) -> Result<(u64, u64), String> {
    let t = Instant::now();
    let mut last = daemon_counts(metrics).ok();
    loop {
        std::thread::sleep(Duration::from_millis(1500));
        let now = daemon_counts(metrics).ok();
        if now.is_some() && now == last {
            return now.ok_or_else(String::new);
        }
        check(t.elapsed() < limit, || {
            format!(
                "the daemon's counters did not settle in {} s",
                limit.as_secs()
            )
        })?;
        last = now;
    }
}

pub fn run(writers: usize, secs: u64, metrics: &Path) -> TestResult {
    let pid = daemon_pid()?;
    let (handled0, lost0) = settled(metrics, Duration::from_secs(60))?;
    let dev = open_device()?;
    let st0 = dev.status().map_err(|e| e.to_string())?;

    let stop = AtomicBool::new(false);
    let calls = AtomicU64::new(0);
    let failures = AtomicU64::new(0);
    let t = Instant::now();
    std::thread::scope(|s| {
        for w in 0..writers {
            let (stop, calls, failures) = (&stop, &calls, &failures);
            s.spawn(move || {
                let Ok(d) = open_device() else {
                    failures.fetch_add(1, Ordering::Relaxed);
                    return;
                };
                let mut i = w;
                while !stop.load(Ordering::Relaxed) {
                    let level = if i % 2 == 0 {
                        SecurityLevel::Enhanced
                    } else {
                        SecurityLevel::Standard
                    };
                    match d.set_level(level) {
                        Ok(()) => calls.fetch_add(1, Ordering::Relaxed),
                        Err(_) => failures.fetch_add(1, Ordering::Relaxed),
                    };
                    i += 1;
                }
            });
        }
        std::thread::sleep(Duration::from_secs(secs));
        stop.store(true, Ordering::Relaxed);
    });
    let elapsed = t.elapsed().as_secs_f64();
    let st1 = dev.status().map_err(|e| e.to_string())?;
    let produced = st1.next_seq - st0.next_seq;
    let kernel_lost = st1.events_lost - st0.events_lost;

    // Wait for the daemon to account for every sequence number given out.
    let t = Instant::now();
    let (handled, lost) = loop {
        let (h, l) = daemon_counts(metrics)?;
        let (h, l) = (h - handled0, l - lost0);
        if h + l >= produced || t.elapsed() > Duration::from_secs(60) {
            break (h, l);
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    let rss = kib(pid, "VmRSS:")?;
    let hwm = kib(pid, "VmHWM:")?;
    println!(
        "# daemon load: {writers} writers, {elapsed:.1} s: {produced} events ({:.0}/s), \
         {} SET_LEVEL calls, {} failed; daemon handled {handled}, reported lost {lost} \
         (kernel overwrote {kernel_lost}), unaccounted {}; RSS {rss} KiB, peak {hwm} KiB",
        produced as f64 / elapsed,
        calls.load(Ordering::Relaxed),
        failures.load(Ordering::Relaxed),
        produced as i64 - (handled + lost) as i64,
    );
    check(failures.load(Ordering::Relaxed) == 0, || {
        format!(
            "{} SET_LEVEL calls failed",
            failures.load(Ordering::Relaxed)
        )
    })?;
    check(handled + lost == produced, || {
        format!(
            "the kernel gave out {produced} sequence numbers; the daemon handled {handled} and \
             reported {lost} lost: {} unaccounted",
            produced as i64 - (handled + lost) as i64
        )
    })?;
    check(lost <= kernel_lost, || {
        format!("the daemon reported {lost} lost, the kernel overwrote only {kernel_lost}")
    })?;
    check(daemon_pid()? == pid, || "milspecd was restarted".into())?;
    check(hwm <= RSS_LIMIT_KIB, || {
        format!("peak RSS {hwm} KiB > {RSS_LIMIT_KIB} KiB")
    })
}
