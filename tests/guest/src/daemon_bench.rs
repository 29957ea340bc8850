//! milspecd benchmark (figures only, asserts nothing about time): latency from a
//! kernel event to the daemon having handled it, over 1000 SET_LEVEL events from
//! this process. The kernel stamps each event (CLOCK_MONOTONIC); the daemon logs
//! `latency_us` when it has handled the event (counted, violations checked). Also
//! the daemon's RSS and its wakeups and CPU time over 60 s of idle.

use crate::util::{check, open_device, TestResult};
use milspec_abi::SecurityLevel;
use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const EVENTS: usize = 1000;

fn proc_field(pid: u32, key: &str) -> Result<u64, String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).map_err(|e| e.to_string())?;
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| format!("no {key} in /proc/{pid}/status"))
}

/// utime + stime in clock ticks.
fn cpu_ticks(pid: u32) -> Result<u64, String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).map_err(|e| e.to_string())?;
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    // Fields after the comm: state is index 0, utime 11, stime 12.
    let t = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    Ok(t(11) + t(12))
}

fn switches(pid: u32) -> Result<u64, String> {
    Ok(proc_field(pid, "voluntary_ctxt_switches:")?
        + proc_field(pid, "nonvoluntary_ctxt_switches:")?)
}

pub fn percentile(sorted: &[u64], p: f64) -> u64 {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

/// A milspecd started for a benchmark, with its policy, health file and debug
/// log in `dir`; killed when dropped.
pub struct BenchDaemon {
    pub dir: String,
    child: Child,
}

impl BenchDaemon {
    /// Starts milspecd (no watchdog, health refresh off) and waits until it
    /// reports healthy.
    pub fn start(dir: &str) -> Result<Self, String> {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let policy = format!("{dir}/policy.toml");
        std::fs::write(
            &policy,
            format!(
                "[level]\nminimum = \"standard\"\n[health]\nfile = \"{dir}/health.json\"\nrefresh = \"0s\"\n"
            ),
        )
        .map_err(|e| e.to_string())?;
        let log = std::fs::File::create(format!("{dir}/daemon.log")).map_err(|e| e.to_string())?;
        let child = Command::new("/bin/milspecd")
            .args(["--policy", &policy, "--runtime-dir", dir])
            .env("MILSPECD_LOG", "debug")
            .env_remove("NOTIFY_SOCKET")
            .env_remove("WATCHDOG_USEC")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("milspecd: {e}"))?;
        let d = BenchDaemon {
            dir: dir.to_owned(),
            child,
        };
        let health = format!("{dir}/health.json");
        let t = Instant::now();
        while !std::fs::read_to_string(&health).is_ok_and(|h| h.contains("\"healthy\"")) {
            check(t.elapsed() < Duration::from_secs(20), || {
                "milspecd did not report healthy in 20 s".into()
            })?;
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(d)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log(&self) -> Result<String, String> {
        let mut text = String::new();
        std::fs::File::open(format!("{}/daemon.log", self.dir))
            .and_then(|mut f| f.read_to_string(&mut text))
            .map_err(|e| e.to_string())?;
        Ok(text)
    }
}

impl Drop for BenchDaemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `latency_us` of every level change the daemon logged as handled with a
/// sequence number in `from..=to`.
pub fn handled_latencies(log: &str, from: u64, to: u64) -> Vec<u64> {
    log.lines()
        .filter(|l| l.contains("event handled") && l.contains("kind=\"level_changed\""))
        .filter_map(|l| {
            let seq: u64 = l.split("seq=").nth(1)?.split(' ').next()?.parse().ok()?;
            let us: u64 = l
                .split("latency_us=")
                .nth(1)?
                .split(' ')
                .next()?
                .parse()
                .ok()?;
            (seq >= from && seq <= to).then_some(us)
        })
        .collect()
}

pub fn run(idle_secs: u64) -> TestResult {
    let daemon = BenchDaemon::start("/tmp/milspecd-bench")?;
    let pid = daemon.pid();
    let dev = open_device()?;
    let start_seq = dev.status().map_err(|e| e.to_string())?.next_seq;
    for i in 0..EVENTS {
        let level = if i % 2 == 0 {
            SecurityLevel::Enhanced
        } else {
            SecurityLevel::Standard
        };
        dev.set_level(level).map_err(|e| e.to_string())?;
        // Spaced out, so each event is handled on its own wakeup.
        std::thread::sleep(Duration::from_millis(2));
    }
    let last_seq = start_seq + EVENTS as u64 - 1;
    let t = Instant::now();
    let latencies = loop {
        let mut lat = handled_latencies(&daemon.log()?, start_seq, last_seq);
        if lat.len() >= EVENTS {
            lat.sort_unstable();
            break lat;
        }
        check(t.elapsed() < Duration::from_secs(30), || {
            format!("the daemon handled {} of {EVENTS} events", lat.len())
        })?;
        std::thread::sleep(Duration::from_millis(100));
    };
    let rss_kib = proc_field(pid, "VmRSS:")?;
    let hwm_kib = proc_field(pid, "VmHWM:")?;

    // Idle: nothing happens; count the daemon's context switches and CPU time.
    // The health file is rewritten at most once a second after events; let that
    // last deferred write happen first.
    std::thread::sleep(Duration::from_millis(2500));
    let (sw0, cpu0) = (switches(pid)?, cpu_ticks(pid)?);
    std::thread::sleep(Duration::from_secs(idle_secs));
    let (sw1, cpu1) = (switches(pid)?, cpu_ticks(pid)?);
    println!(
        "# daemon bench: {} events, latency p50 {} us, p99 {} us, max {} us; \
         RSS {} KiB (peak {} KiB); idle {} s: {} wakeups, {} CPU ticks (TCG VM, no watchdog, refresh off)",
        latencies.len(),
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or(0),
        rss_kib,
        hwm_kib,
        idle_secs,
        sw1 - sw0,
        cpu1 - cpu0
    );
    check(sw1 == sw0, || {
        format!("the idle daemon woke up {} times", sw1 - sw0)
    })
}
