//! milspecd at fixed event rates (make bench; figures only): level changes paced
//! at 10, 100, 1,000 events/s and higher, each step's latency percentiles (from
//! the daemon's `event handled ... latency_us=` log lines) and what it reported
//! lost (`N events lost (seq A to B)`). A step's sequence numbers must all be
//! accounted for, handled or reported lost: an unreported gap fails. The
//! highest step with nothing lost is the rate the daemon follows.

use crate::daemon_bench::{handled_latencies, percentile, BenchDaemon};
use crate::util::{check, open_device, TestResult};
use milspec_abi::SecurityLevel;
use std::time::{Duration, Instant};

/// Target rates (events/s) and each step's length.
const RATES: [u64; 7] = [10, 100, 1_000, 2_000, 5_000, 10_000, 20_000];
const STEP: Duration = Duration::from_secs(3);

/// Sequence numbers in `from..=to` the daemon reported lost.
fn reported_lost(log: &str, from: u64, to: u64) -> u64 {
    log.lines()
        .filter(|l| l.contains("events lost (seq "))
        .filter_map(|l| {
            let range = l.split("(seq ").nth(1)?;
            let a: u64 = range.split(' ').next()?.parse().ok()?;
            let b: u64 = range
                .split(" to ")
                .nth(1)?
                .split(')')
                .next()?
                .parse()
                .ok()?;
            let (a, b) = (a.max(from), b.min(to));
            (a <= b).then_some(b - a + 1)
        })
        .sum()
}

/// Sends level changes at `rate` per second for `STEP`; returns the first and
/// last sequence number and the achieved rate.
fn paced(rate: u64) -> Result<(u64, u64, f64), String> {
    let dev = open_device()?;
    let first = dev.status().map_err(|e| e.to_string())?.next_seq;
    let n = (rate * STEP.as_secs()).max(20);
    let t0 = Instant::now();
    for i in 0..n {
        let due = t0 + Duration::from_secs_f64(i as f64 / rate as f64);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let level = if i % 2 == 0 {
            SecurityLevel::Enhanced
        } else {
            SecurityLevel::Standard
        };
        dev.set_level(level).map_err(|e| e.to_string())?;
    }
    let achieved = n as f64 / t0.elapsed().as_secs_f64();
    Ok((first, first + n - 1, achieved))
}

pub fn run() -> TestResult {
    let daemon = BenchDaemon::start("/tmp/milspecd-rates")?;
    let mut followed = None;
    println!("# curve-daemon target_per_s achieved_per_s handled lost p50_us p99_us max_us");
    for rate in RATES {
        let (first, last, achieved) = paced(rate)?;
        let want = last - first + 1;
        let t = Instant::now();
        let (mut lat, lost) = loop {
            let log = daemon.log()?;
            let (lat, lost) = (
                handled_latencies(&log, first, last),
                reported_lost(&log, first, last),
            );
            if lat.len() as u64 + lost >= want {
                break (lat, lost);
            }
            check(t.elapsed() < Duration::from_secs(60), || {
                format!(
                    "{rate}/s: {} of {want} events handled or reported lost after 60 s (unreported gap)",
                    lat.len() as u64 + lost
                )
            })?;
            std::thread::sleep(Duration::from_millis(200));
        };
        lat.sort_unstable();
        let pct = |p| {
            if lat.is_empty() {
                0
            } else {
                percentile(&lat, p)
            }
        };
        println!(
            "# curve-daemon {rate} {achieved:.0} {} {lost} {} {} {}",
            lat.len(),
            pct(0.50),
            pct(0.99),
            lat.last().copied().unwrap_or(0)
        );
        if lost == 0 {
            followed = Some(achieved);
        }
    }
    match followed {
        Some(r) => println!("# daemon rates: followed with nothing lost up to {r:.0} events/s"),
        None => println!("# daemon rates: lost events at every rate"),
    }
    Ok(())
}
