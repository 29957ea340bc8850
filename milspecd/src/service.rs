//! The service: one thread blocked in `poll()` on the device, a signalfd, an
//! inotify watch (only while the device is missing) and the optional metrics
//! socket. The poll timeout is the nearest deadline (watchdog, health refresh,
//! a rate-limited flush, a running alert's timeout, a reconnect retry); with
//! none pending the daemon sleeps until something happens.
//!
//! The device pins the module while open, so `milspecctl unload`/`rollback` send
//! SIGUSR1 first: the daemon closes the device, watches `/dev` and reconnects
//! when the (new) module's device appears, or after [`RELEASE_WAIT`] if the
//! module stayed.

use crate::actions::{self, EventView, RunningAlert, Violation};
use crate::health::{self, HealthInputs};
use crate::hostinfo::HostSampler;
use crate::metrics::{ActionResult, Metrics, ModuleGauges};
use crate::notify::{self, Notifier};
use crate::policy::{Action, BelowMinimum, Policy, ViolationKind};
use crate::privileges;
use crate::verdict::{assess, Health, Verdict};
use caps::CapsHashSet;
use milspec_abi::{status_flags, Event, EventKind, SecurityLevel};
use milspec_host::device::Device;
use milspec_host::paths::ModulePaths;
use milspec_host::snapshot::Snapshot;
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout};
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify, WatchDescriptor};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsFd, AsRawFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

/// How long the device stays released after SIGUSR1 if the module is not unloaded.
pub const RELEASE_WAIT: Duration = Duration::from_secs(10);
/// Health and metrics files are rewritten at most this often while events flow.
const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// The rollback action runs at most once in this window (no ping-pong between
/// two versions that both violate the policy).
const ROLLBACK_QUIET: Duration = Duration::from_secs(300);
/// Exit code for an invalid policy at startup (sysexits.h `EX_CONFIG`).
pub const EXIT_CONFIG: i32 = 78;

/// Where things are; every path can be moved for tests.
#[derive(Clone, Debug)]
pub struct Options {
    pub policy_path: PathBuf,
    /// Holds the event cursor (default `/run/milspec`).
    pub runtime_dir: PathBuf,
    pub module: ModulePaths,
    pub lockdown_path: PathBuf,
}

impl Options {
    /// The real system's paths (`MILSPEC_DEVICE`/`MILSPEC_PROC_STATUS` honoured).
    pub fn system(policy_path: PathBuf, runtime_dir: PathBuf) -> Self {
        Options {
            policy_path,
            runtime_dir,
            module: ModulePaths::from_env(),
            lockdown_path: PathBuf::from(milspec_host::paths::LOCKDOWN),
        }
    }
}

/// The policy in force and the last reload's error.
#[derive(Debug)]
pub struct PolicyHolder {
    pub path: PathBuf,
    pub policy: Policy,
    pub reload_error: Option<String>,
    /// Capabilities given up at start; a policy needing one cannot be loaded.
    pub dropped: CapsHashSet,
}

impl PolicyHolder {
    pub fn load(path: &Path) -> Result<Self, crate::policy::PolicyError> {
        Ok(PolicyHolder {
            path: path.to_owned(),
            policy: Policy::load(path)?,
            reload_error: None,
            dropped: CapsHashSet::new(),
        })
    }

    /// Re-reads the file. On error the previous policy stays in force and the
    /// error is kept for health; `Ok` means the new policy now applies.
    pub fn reload(&mut self) -> Result<(), String> {
        let outcome = Policy::load(&self.path)
            .map_err(|e| e.to_string())
            .and_then(|p| {
                let missing: CapsHashSet = privileges::needed(&p)
                    .intersection(&self.dropped)
                    .copied()
                    .collect();
                if missing.is_empty() {
                    Ok(p)
                } else {
                    Err(format!(
                        "the new policy needs {} which milspecd dropped at start; restart the service",
                        privileges::names(&missing)
                    ))
                }
            });
        match outcome {
            Ok(p) => {
                self.policy = p;
                self.reload_error = None;
                Ok(())
            }
            Err(e) => {
                self.reload_error = Some(e.clone());
                Err(e)
            }
        }
    }
}

/// Where event reading resumes after a daemon restart (same module instance).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Cursor {
    loaded_at_ns: u64,
    next_seq: u64,
}

struct Connection {
    dev: Device,
    loaded_at_ns: u64,
    /// Events below this were handled before a restart of the daemon.
    resume_seq: u64,
    /// The next sequence number expected (gap detection).
    expected: Option<u64>,
}

enum Link {
    Connected(Connection),
    /// No device; waiting for it to appear.
    Absent,
    /// Released for an unload; reconnect at `until` if the module stayed.
    Released {
        until: Instant,
    },
    /// The device exists but could not be read yet (a module still starting).
    Retrying {
        at: Instant,
        backoff: Duration,
    },
}

/// The running daemon.
pub struct Service {
    opts: Options,
    policy: PolicyHolder,
    link: Link,
    inotify: Inotify,
    watch: Option<WatchDescriptor>,
    signals: SignalFd,
    http: Option<TcpListener>,
    notifier: Notifier,
    watchdog: Option<Duration>,
    next_watchdog: Option<Instant>,
    next_refresh: Option<Instant>,
    flush_at: Option<Instant>,
    last_flush: Option<Instant>,
    metrics: Metrics,
    sampler: HostSampler,
    verdict: Verdict,
    enforcement_problems: Vec<String>,
    last_gap: Option<SystemTime>,
    alerts: Vec<RunningAlert>,
    last_rollback: Option<Instant>,
    /// The one-line verdict last written (systemd's STATUS=).
    status_line: String,
    stop: bool,
}

fn now_mono_ns() -> u64 {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC)
        .map(|t| t.tv_sec() as u64 * 1_000_000_000 + t.tv_nsec() as u64)
        .unwrap_or(0)
}

fn unix_now() -> f64 {
    milspec_host::clock::unix_secs_f64()
}

/// Poll timeout for a deadline, rounded up to whole milliseconds so an early
/// wakeup never spins.
fn timeout_until(deadline: Option<Instant>, now: Instant) -> PollTimeout {
    match deadline {
        None => PollTimeout::NONE,
        Some(d) => {
            let us = d.saturating_duration_since(now).as_micros();
            let ms = us.div_ceil(1000).min(i32::MAX as u128) as i32;
            PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX)
        }
    }
}

impl Service {
    /// Sets everything up (policy already validated); connects if it can.
    pub fn start(opts: Options, policy: PolicyHolder) -> std::io::Result<Self> {
        let mut mask = SigSet::empty();
        for s in [
            Signal::SIGTERM,
            Signal::SIGINT,
            Signal::SIGHUP,
            Signal::SIGUSR1,
            Signal::SIGCHLD,
        ] {
            mask.add(s);
        }
        mask.thread_block()?;
        let signals = SignalFd::with_flags(&mask, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)?;
        let inotify = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC)?;
        let http = match policy.policy.metrics_port() {
            Some(port) => {
                let l = TcpListener::bind(("127.0.0.1", port)).map_err(|e| {
                    std::io::Error::new(e.kind(), format!("metrics on 127.0.0.1:{port}: {e}"))
                })?;
                l.set_nonblocking(true)?;
                tracing::info!("serving metrics on http://127.0.0.1:{port}/metrics");
                Some(l)
            }
            None => None,
        };
        if let Some(dir) = policy.policy.health.file.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::create_dir_all(&opts.runtime_dir)?;
        let mut svc = Service {
            opts,
            policy,
            link: Link::Absent,
            inotify,
            watch: None,
            signals,
            http,
            notifier: Notifier::new(),
            watchdog: notify::watchdog_interval(),
            next_watchdog: None,
            next_refresh: None,
            flush_at: None,
            last_flush: None,
            metrics: Metrics::default(),
            sampler: HostSampler::new(),
            verdict: assess(&Ok(None)),
            enforcement_problems: Vec::new(),
            last_gap: None,
            alerts: Vec::new(),
            last_rollback: None,
            status_line: String::new(),
            stop: false,
        };
        svc.metrics.resources = svc.sampler.sample();
        svc.connect();
        Ok(svc)
    }

    /// Drops the capabilities the policy does not need (after `start`, which
    /// opened the device and bound the metrics port).
    pub fn drop_privileges(&mut self) {
        let keep = privileges::needed(&self.policy.policy);
        let before = caps::read(None, caps::CapSet::Permitted).unwrap_or_default();
        match privileges::drop_all_but(&keep) {
            Ok(()) => {
                self.policy.dropped = before.difference(&keep).copied().collect();
                tracing::info!("capabilities dropped; kept: {}", privileges::names(&keep))
            }
            Err(e) => tracing::warn!("cannot drop capabilities: {e}"),
        }
    }

    /// Runs until SIGTERM/SIGINT; returns the exit code.
    pub fn run(mut self) -> i32 {
        self.flush();
        let line = self.status_line.clone();
        self.notifier.ready(&line);
        let now = Instant::now();
        self.next_watchdog = self.watchdog.map(|w| now + w);
        self.schedule_refresh(now);
        if let Some(w) = self.watchdog {
            tracing::info!("watchdog: pinging every {} ms", w.as_millis());
        }
        while !self.stop {
            self.run_due(Instant::now());
            if self.stop {
                break;
            }
            let timeout = timeout_until(self.next_deadline(), Instant::now());
            let (sig, dev, ino, net) = {
                let mut fds = vec![PollFd::new(self.signals.as_fd(), PollFlags::POLLIN)];
                let dev_idx = match &self.link {
                    Link::Connected(c) => {
                        fds.push(PollFd::new(c.dev.fd(), PollFlags::POLLIN));
                        Some(fds.len() - 1)
                    }
                    _ => None,
                };
                fds.push(PollFd::new(self.inotify.as_fd(), PollFlags::POLLIN));
                let ino_idx = fds.len() - 1;
                let net_idx = self.http.as_ref().map(|l| {
                    fds.push(PollFd::new(l.as_fd(), PollFlags::POLLIN));
                    fds.len() - 1
                });
                match nix::poll::poll(&mut fds, timeout) {
                    Ok(_) | Err(Errno::EINTR) => {}
                    Err(e) => {
                        tracing::error!("poll failed: {e}");
                        return 1;
                    }
                }
                let ready = |i: usize| fds[i].revents().is_some_and(|r| !r.is_empty());
                (
                    ready(0),
                    dev_idx.is_some_and(ready),
                    ready(ino_idx),
                    net_idx.is_some_and(ready),
                )
            };
            if sig {
                self.handle_signals();
            }
            if dev {
                self.drain_events();
            }
            if ino {
                self.handle_inotify();
            }
            if net {
                self.serve_metrics();
            }
        }
        self.shutdown();
        0
    }

    // ---- deadlines ----

    fn schedule_refresh(&mut self, now: Instant) {
        let every = self.policy.policy.health.refresh.0;
        self.next_refresh = (!every.is_zero()).then(|| now + every);
    }

    fn next_deadline(&self) -> Option<Instant> {
        let link = match &self.link {
            Link::Released { until } => Some(*until),
            Link::Retrying { at, .. } => Some(*at),
            _ => None,
        };
        [
            self.next_watchdog,
            self.next_refresh,
            self.flush_at,
            link,
            self.alerts.iter().map(|a| a.deadline).min(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn run_due(&mut self, now: Instant) {
        if self.next_watchdog.is_some_and(|t| t <= now) {
            self.notifier.watchdog();
            self.next_watchdog = self.watchdog.map(|w| now + w);
        }
        if self.next_refresh.is_some_and(|t| t <= now) {
            self.refresh();
            self.schedule_refresh(now);
        }
        match self.link {
            Link::Released { until } if until <= now => {
                tracing::info!("the module was not unloaded; taking the device back");
                self.connect();
            }
            Link::Retrying { at, .. } if at <= now => self.connect(),
            _ => {}
        }
        if !self.alerts.is_empty() {
            self.reap_alerts(now);
        }
        if self.flush_at.is_some_and(|t| t <= now) {
            self.flush();
        }
    }

    /// Health and metrics soon, but not more than once per [`FLUSH_EVERY`].
    fn mark_dirty(&mut self) {
        let now = Instant::now();
        let at = match self.last_flush {
            Some(t) if now < t + FLUSH_EVERY => t + FLUSH_EVERY,
            _ => now,
        };
        self.flush_at = Some(self.flush_at.map_or(at, |f| f.min(at)));
    }

    // ---- connection ----

    fn watch_dev_dir(&mut self) {
        if self.watch.is_some() {
            return;
        }
        let dir = self
            .opts
            .module
            .device
            .parent()
            .unwrap_or(Path::new("/dev"))
            .to_owned();
        match self.inotify.add_watch(
            &dir,
            AddWatchFlags::IN_CREATE | AddWatchFlags::IN_DELETE | AddWatchFlags::IN_ATTRIB,
        ) {
            Ok(wd) => self.watch = Some(wd),
            Err(e) => {
                // Without inotify, fall back to a bounded back-off.
                tracing::warn!("cannot watch {}: {e}; polling instead", dir.display());
                self.link = Link::Retrying {
                    at: Instant::now() + Duration::from_secs(1),
                    backoff: Duration::from_secs(5),
                };
            }
        }
    }

    fn unwatch_dev_dir(&mut self) {
        if let Some(wd) = self.watch.take() {
            let _ = self.inotify.rm_watch(wd);
        }
        // Drop anything already queued for the old watch.
        let _ = self.inotify.read_events();
    }

    fn go_absent(&mut self, why: &str) {
        let was_present = matches!(self.link, Link::Connected(_) | Link::Released { .. });
        self.watch_dev_dir();
        if !matches!(self.link, Link::Retrying { .. }) {
            self.link = Link::Absent;
        }
        self.verdict = assess(&Ok(None));
        self.metrics.module = ModuleGauges::default();
        if was_present || !self.notifier.is_ready() {
            self.violation(Violation::new(ViolationKind::ModuleAbsent, why));
        }
        self.flush();
    }

    /// Connects to the module if its device is there; otherwise waits for it.
    fn connect(&mut self) {
        let device = self.opts.module.device.clone();
        // Watch first, so a device appearing right after the check is not missed.
        self.watch_dev_dir();
        if !device.exists() {
            return self.go_absent(&format!(
                "{} is not loaded ({} is missing)",
                milspec_abi::MODULE_NAME,
                device.display()
            ));
        }
        let snap = match Snapshot::take(&self.opts.module) {
            Ok(Some(s)) => s,
            other => {
                let backoff = match &self.link {
                    Link::Retrying { backoff, .. } => (*backoff * 2).min(Duration::from_secs(5)),
                    _ => Duration::from_millis(20),
                };
                let why = match other {
                    Err(e) => e.to_string(),
                    _ => "status file missing".into(),
                };
                tracing::debug!(
                    "module not readable yet ({why}); retry in {} ms",
                    backoff.as_millis()
                );
                self.link = Link::Retrying {
                    at: Instant::now() + backoff,
                    backoff,
                };
                return;
            }
        };
        let dev = match Device::open(&device) {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!("{e}");
                self.link = Link::Retrying {
                    at: Instant::now() + Duration::from_secs(1),
                    backoff: Duration::from_secs(1),
                };
                return;
            }
        };
        if let Err(e) = nix::fcntl::fcntl(
            dev.fd().as_raw_fd(),
            nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
        ) {
            tracing::warn!("cannot make the device non-blocking: {e}");
        }
        let status = match dev.status() {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("{e}");
                return self.go_absent(&e.to_string());
            }
        };
        let resume_seq = self
            .read_cursor()
            .filter(|c| c.loaded_at_ns == status.loaded_at_ns)
            .map_or(0, |c| c.next_seq);
        self.unwatch_dev_dir();
        self.link = Link::Connected(Connection {
            dev,
            loaded_at_ns: status.loaded_at_ns,
            resume_seq,
            expected: None,
        });
        self.verdict = assess(&Ok(Some(snap.clone())));
        self.metrics.last_check_unix = Some(unix_now());
        tracing::info!(
            "connected to {} {} (level {}, {} events recorded{})",
            milspec_abi::MODULE_NAME,
            snap.proc.module_version,
            SecurityLevel::from_u32(status.security_level)
                .map(|l| l.as_str())
                .unwrap_or("?"),
            status.events_total,
            if resume_seq > 0 {
                format!(", resuming after seq {}", resume_seq - 1)
            } else {
                String::new()
            }
        );
        self.enforce_full();
        self.check_module_allowed(&snap.proc.module_version);
        self.drain_events();
        self.update_gauges();
        self.flush();
    }

    fn disconnect(&mut self) {
        self.save_cursor();
        self.link = Link::Absent;
    }

    fn cursor_path(&self) -> PathBuf {
        self.opts.runtime_dir.join("cursor.json")
    }

    fn read_cursor(&self) -> Option<Cursor> {
        serde_json::from_slice(&std::fs::read(self.cursor_path()).ok()?).ok()
    }

    fn save_cursor(&self) {
        if let Link::Connected(c) = &self.link {
            let cur = Cursor {
                loaded_at_ns: c.loaded_at_ns,
                next_seq: c.expected.unwrap_or(c.resume_seq).max(c.resume_seq),
            };
            if let Ok(bytes) = serde_json::to_vec(&cur) {
                if let Err(e) =
                    milspec_host::fsutil::write_atomic(&self.cursor_path(), &bytes, 0o644)
                {
                    tracing::warn!("cannot save the event cursor: {e}");
                }
            }
        }
    }

    // ---- policy enforcement ----

    fn device(&self) -> Option<&Device> {
        match &self.link {
            Link::Connected(c) => Some(&c.dev),
            _ => None,
        }
    }

    /// Raises the level, pushes the allowlist and locks, as the policy says.
    fn enforce_full(&mut self) {
        self.enforcement_problems.clear();
        self.check_level();
        let Some(status) = self.device().and_then(|d| d.status().ok()) else {
            return;
        };
        let locked = status.flags & status_flags::LEVEL_LOCKED != 0;
        let names: Vec<String> = self.policy.policy.allowlist().to_vec();
        if !names.is_empty() {
            if !locked {
                let refs: Vec<&str> = names.iter().map(String::as_str).collect();
                match self.device().map(|d| d.set_allowlist(&refs)) {
                    Some(Ok(())) => {
                        tracing::info!("pushed the module allowlist ({} names)", names.len())
                    }
                    Some(Err(e)) => self
                        .enforcement_problems
                        .push(format!("cannot push the allowlist: {e}")),
                    None => {}
                }
            } else if status.allowlist_len as usize != names.len() {
                self.enforcement_problems.push(format!(
                    "the level is locked with an allowlist of {} entries, the policy has {}; \
                     it can only change after a reboot",
                    status.allowlist_len,
                    names.len()
                ));
            }
        }
        if let Some(lock) = self.policy.policy.lock_at() {
            let level = SecurityLevel::from_u32(status.security_level);
            if level.is_some_and(|l| l < lock) {
                match self.device().map(|d| d.set_level(lock)) {
                    Some(Ok(())) => {
                        tracing::info!("level set to {} (locked until reboot)", lock.as_str())
                    }
                    Some(Err(e)) => self
                        .enforcement_problems
                        .push(format!("cannot lock at {}: {e}", lock.as_str())),
                    None => {}
                }
            }
        }
    }

    /// Checks the level against the minimum; raises it when the policy says so.
    fn check_level(&mut self) {
        let Some(min) = self.policy.policy.level.minimum.map(|l| l.0) else {
            return;
        };
        let Some(status) = self.device().and_then(|d| d.status().ok()) else {
            return;
        };
        let Some(level) = SecurityLevel::from_u32(status.security_level) else {
            return;
        };
        if level >= min {
            return;
        }
        self.violation(Violation::new(
            ViolationKind::LevelBelowMinimum,
            format!(
                "security level {} is below the policy minimum {}",
                level.as_str(),
                min.as_str()
            ),
        ));
        if self.policy.policy.level.on_below == BelowMinimum::Raise {
            let result = self.device().map(|d| d.set_level(min));
            match result {
                Some(Ok(())) => {
                    tracing::warn!(
                        "raised the level from {} to {}",
                        level.as_str(),
                        min.as_str()
                    );
                    self.metrics.count_action("raise_level", ActionResult::Ok);
                }
                Some(Err(e)) => {
                    tracing::error!("cannot raise the level to {}: {e}", min.as_str());
                    self.metrics
                        .count_action("raise_level", ActionResult::Failed);
                    self.enforcement_problems
                        .push(format!("cannot raise the level to {}: {e}", min.as_str()));
                }
                None => {}
            }
        }
    }

    fn check_module_allowed(&mut self, version: &str) {
        let m = &self.policy.policy.modules;
        let mut problems = Vec::new();
        if !m.allowed_versions.is_empty() && !m.allowed_versions.iter().any(|v| v == version) {
            problems.push(format!(
                "module version {version} is not in modules.allowed_versions"
            ));
        }
        if !m.allowed_sha256.is_empty() {
            // DKMS builds are stored per kernel as <version>+<release>.
            let release = milspec_host::paths::kernel_release();
            let dkms_id = milspec_host::store::dkms_id(version, &release);
            let manifest = milspec_host::store::read_manifest(&m.store_root, &dkms_id)
                .or_else(|_| milspec_host::store::read_manifest(&m.store_root, &version.into()));
            match manifest {
                Ok(man) if m.allowed_sha256.iter().any(|h| h.as_str() == man.sha256) => {}
                Ok(man) => problems.push(format!(
                    "module {version} (sha256 {}) is not in modules.allowed_sha256",
                    man.sha256
                )),
                Err(e) => problems.push(format!(
                    "the file hash of module {version} is unknown ({e}); load it with milspecctl"
                )),
            }
        }
        for p in problems {
            self.violation(Violation::new(ViolationKind::ModuleNotAllowed, p));
        }
    }

    // ---- events ----

    fn drain_events(&mut self) {
        loop {
            let batch = match &self.link {
                Link::Connected(c) => c.dev.read_events(64),
                _ => return,
            };
            match batch {
                Ok(events) if events.is_empty() => return,
                Ok(events) => {
                    for ev in &events {
                        self.handle_event(ev);
                    }
                    self.mark_dirty();
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    tracing::error!("reading events failed: {e}; reconnecting");
                    self.disconnect();
                    self.link = Link::Retrying {
                        at: Instant::now() + Duration::from_secs(1),
                        backoff: Duration::from_secs(1),
                    };
                    return;
                }
            }
        }
    }

    fn handle_event(&mut self, ev: &Event) {
        let Link::Connected(c) = &mut self.link else {
            return;
        };
        if ev.seq < c.resume_seq {
            return; // handled before this daemon restarted
        }
        let gap = match c.expected {
            Some(exp) if ev.seq > exp => Some((exp, ev.seq - exp)),
            _ => None,
        };
        c.expected = Some(ev.seq + 1);
        if let Some((from, lost)) = gap {
            self.metrics.events_lost += lost;
            self.last_gap = Some(SystemTime::now());
            self.violation(Violation::new(
                ViolationKind::EventsLost,
                format!(
                    "{lost} events lost (seq {from} to {}) before milspecd could read them",
                    ev.seq - 1
                ),
            ));
        }
        let kind = EventKind::from_u32(ev.kind);
        self.metrics
            .count_event(kind.map(|k| k.as_str()).unwrap_or("unknown"));
        let view = EventView::from_event(ev);
        match kind {
            Some(EventKind::ModuleDenied) => {
                let mut v = Violation::new(
                    ViolationKind::ModuleDenied,
                    format!(
                        "the kernel refused to load module {} (not on the allowlist; uid {}, pid {})",
                        view.name, ev.uid, ev.pid
                    ),
                );
                v.module = Some(view.name.clone());
                v.event = Some(view.clone());
                self.violation(v);
            }
            Some(EventKind::IoctlDenied) => {
                let mut v = Violation::new(
                    ViolationKind::IoctlDenied,
                    format!(
                        "uid {} (pid {}) tried to change the module's state without CAP_SYS_ADMIN",
                        ev.uid, ev.pid
                    ),
                );
                v.event = Some(view.clone());
                self.violation(v);
            }
            Some(EventKind::LevelChanged) => {
                self.check_level();
                self.update_gauges();
            }
            Some(EventKind::TokenTableInvalid) | Some(EventKind::ForcedLoad) => {
                self.refresh_verdict();
            }
            _ => {}
        }
        let handled = now_mono_ns();
        tracing::debug!(
            seq = ev.seq,
            kind = view.kind.as_str(),
            name = view.name.as_str(),
            latency_us = handled.saturating_sub(ev.timestamp_ns) / 1000,
            "event handled"
        );
    }

    // ---- violations and actions ----

    fn violation(&mut self, v: Violation) {
        self.metrics.count_violation(v.kind);
        tracing::warn!(kind = v.kind.as_str(), "policy violation: {}", v.detail);
        let actions: Vec<Action> = self.policy.policy.actions.for_kind(v.kind).to_vec();
        for a in actions {
            match a {
                Action::Log => self.metrics.count_action("log", ActionResult::Ok),
                Action::Alert => self.alert(&v),
                Action::Lockdown => {
                    let (result, msg) = actions::lockdown(&self.opts.lockdown_path);
                    tracing::warn!(result = result.as_str(), "lockdown: {msg}");
                    self.metrics.count_action("lockdown", result);
                }
                Action::Rollback => self.rollback(),
            }
        }
        self.mark_dirty();
    }

    fn alert(&mut self, v: &Violation) {
        let Some(alert) = self.policy.policy.alert.clone() else {
            return;
        };
        match actions::start_alert(&alert, v) {
            Ok(a) => self.alerts.push(a),
            Err(e) => {
                tracing::error!("cannot run the alert hook {:?}: {e}", alert.command);
                self.metrics.count_action("alert", ActionResult::Failed);
            }
        }
    }

    fn reap_alerts(&mut self, now: Instant) {
        let mut i = 0;
        while i < self.alerts.len() {
            match actions::poll_alert(&mut self.alerts[i], now) {
                Some(result) => {
                    let a = self.alerts.swap_remove(i);
                    tracing::info!(
                        kind = a.kind.as_str(),
                        result = result.as_str(),
                        "alert hook finished"
                    );
                    self.metrics.count_action("alert", result);
                    self.mark_dirty();
                }
                None => i += 1,
            }
        }
    }

    fn rollback(&mut self) {
        if self
            .last_rollback
            .is_some_and(|t| t.elapsed() < ROLLBACK_QUIET)
        {
            tracing::warn!(
                "rollback skipped: the last one was less than {} s ago",
                ROLLBACK_QUIET.as_secs()
            );
            self.metrics.count_action("rollback", ActionResult::Skipped);
            return;
        }
        self.last_rollback = Some(Instant::now());
        // Our open device would pin the module: let go first.
        self.disconnect();
        let root = self.policy.policy.modules.store_root.clone();
        match milspec_host::rollback_to_previous(&root) {
            Ok(r) if r.is_deployed() => {
                tracing::warn!(
                    "rollback: {} -> {} (deployment {})",
                    r.previous.as_ref().map_or("none", |p| p.as_str()),
                    r.store_id,
                    r.deployment_id.as_deref().unwrap_or("?")
                );
                self.metrics.count_action("rollback", ActionResult::Ok);
            }
            Ok(r) => {
                let why = match &r.outcome {
                    milspec_host::txn::Deployment::RolledBack {
                        reason, restored, ..
                    } => {
                        format!(
                            "{} failed and {restored} was loaded again: {reason}",
                            r.store_id
                        )
                    }
                    _ => format!("{} is already loaded: nothing to do", r.store_id),
                };
                tracing::error!("rollback failed: {why}");
                self.metrics.count_action("rollback", ActionResult::Failed);
            }
            Err(e) => {
                tracing::error!("rollback failed: {e}");
                self.metrics.count_action("rollback", ActionResult::Failed);
            }
        }
        self.connect();
    }

    // ---- signals, inotify, http ----

    fn handle_signals(&mut self) {
        while let Ok(Some(info)) = self.signals.read_signal() {
            match Signal::try_from(info.ssi_signo as i32) {
                Ok(Signal::SIGTERM) | Ok(Signal::SIGINT) => {
                    tracing::info!("stopping");
                    self.notifier.stopping();
                    self.stop = true;
                }
                Ok(Signal::SIGHUP) => self.reload(),
                Ok(Signal::SIGUSR1) => self.release(),
                Ok(Signal::SIGCHLD) => self.reap_alerts(Instant::now()),
                _ => {}
            }
        }
    }

    fn reload(&mut self) {
        self.notifier.reloading();
        match self.policy.reload() {
            Ok(()) => {
                tracing::info!("policy reloaded from {}", self.policy.path.display());
                if self
                    .http
                    .as_ref()
                    .and_then(|l| l.local_addr().ok())
                    .map(|a| a.port())
                    != self.policy.policy.metrics_port()
                {
                    tracing::warn!("metrics.listen_port changes take effect after a restart");
                }
                self.schedule_refresh(Instant::now());
                if matches!(self.link, Link::Connected(_)) {
                    self.enforce_full();
                    if let Some(v) = self.verdict.module_version.clone() {
                        self.check_module_allowed(&v);
                    }
                }
            }
            Err(e) => {
                self.metrics.policy_reload_failures += 1;
                tracing::error!("policy reload refused, keeping the previous policy: {e}");
            }
        }
        // Health first, so whoever sees READY=1 reads the reload's outcome.
        self.flush();
        self.notifier.reloaded();
    }

    fn release(&mut self) {
        if !matches!(self.link, Link::Connected(_)) {
            return;
        }
        tracing::info!("releasing /dev/milspec for an unload");
        self.watch_dev_dir();
        self.save_cursor();
        self.link = Link::Released {
            until: Instant::now() + RELEASE_WAIT,
        };
        self.flush();
    }

    fn handle_inotify(&mut self) {
        let events = match self.inotify.read_events() {
            Ok(e) => e,
            Err(_) => return,
        };
        let name = self.opts.module.device.file_name().map(|n| n.to_owned());
        for e in events {
            if e.name.as_deref() != name.as_deref() {
                continue;
            }
            if e.mask.contains(AddWatchFlags::IN_DELETE) {
                if matches!(self.link, Link::Released { .. }) {
                    self.go_absent(&format!("{} was unloaded", milspec_abi::MODULE_NAME));
                }
            } else if !matches!(self.link, Link::Connected(_)) {
                self.connect();
            }
        }
    }

    fn serve_metrics(&mut self) {
        let Some(listener) = &self.http else { return };
        while let Ok((stream, _)) = listener.accept() {
            let body = self.metrics.render();
            if let Err(e) = answer_http(stream, &body) {
                tracing::debug!("metrics request: {e}");
            }
        }
    }

    // ---- health ----

    fn refresh_verdict(&mut self) {
        let reading = Snapshot::take(&self.opts.module);
        if matches!(reading, Ok(Some(_))) {
            self.metrics.last_check_unix = Some(unix_now());
        }
        self.verdict = assess(&reading);
    }

    fn refresh(&mut self) {
        self.metrics.resources = self.sampler.sample();
        if matches!(self.link, Link::Connected(_)) {
            self.refresh_verdict();
            self.check_level();
            self.update_gauges();
        }
        self.flush();
    }

    fn update_gauges(&mut self) {
        let Some(status) = self.device().and_then(|d| d.status().ok()) else {
            return;
        };
        self.metrics.module = ModuleGauges {
            loaded: true,
            version: self.verdict.module_version.clone(),
            platform_state: milspec_abi::PlatformState::from_u32(status.platform_state)
                .map(|p| p.as_str().to_owned()),
            security_level: Some(status.security_level),
            level_locked: status.flags & status_flags::LEVEL_LOCKED != 0,
            kernel_events_lost: Some(status.events_lost),
        };
    }

    fn flush(&mut self) {
        self.flush_at = None;
        self.last_flush = Some(Instant::now());
        let p = &self.policy.policy;
        let report = health::evaluate(&HealthInputs {
            module: &self.verdict,
            enforcement_problems: &self.enforcement_problems,
            reload_error: self.policy.reload_error.as_deref(),
            policy_path: &self.policy.path,
            events_lost: self.metrics.events_lost,
            last_gap: self.last_gap,
            resources: self.metrics.resources,
            thresholds: &p.health,
            now: SystemTime::now(),
        });
        self.metrics.health = match report.status {
            Health::Healthy => 0,
            Health::Degraded => 1,
            Health::Unhealthy => 2,
        };
        if let Err(e) = health::write(&p.health.file, &report) {
            tracing::warn!("cannot write {}: {e}", p.health.file.display());
        }
        if let Some(dir) = &p.metrics.textfile_dir {
            let path = dir.join("milspec.prom");
            if let Err(e) =
                milspec_host::fsutil::write_atomic(&path, self.metrics.render().as_bytes(), 0o644)
            {
                tracing::warn!("cannot write {}: {e}", path.display());
            }
        }
        self.save_cursor();
        let mut line = report.summary;
        match &self.link {
            Link::Absent => line.push_str("; waiting for /dev/milspec"),
            Link::Released { .. } => line.push_str("; device released for an unload"),
            _ => {}
        }
        if self.notifier.is_ready() {
            self.notifier.status(&line);
        }
        self.status_line = line;
    }

    fn shutdown(&mut self) {
        for mut a in self.alerts.drain(..) {
            let _ = a.child.kill();
            let _ = a.child.wait();
        }
        self.flush();
        tracing::info!("stopped");
    }
}

/// Answers one HTTP/1.x request: `GET /metrics` gets the exposition text.
fn answer_http(mut stream: TcpStream, body: &str) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(1)))?;
    stream.set_write_timeout(Some(Duration::from_secs(1)))?;
    let mut req = Vec::new();
    let mut buf = [0u8; 1024];
    while !req.windows(4).any(|w| w == b"\r\n\r\n") && req.len() < 8192 {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        req.extend_from_slice(&buf[..n]);
    }
    let first = String::from_utf8_lossy(&req);
    let first = first.lines().next().unwrap_or("");
    let (status, ctype, body) = if first.starts_with("GET /metrics ") || first == "GET /metrics" {
        ("200 OK", "text/plain; version=0.0.4; charset=utf-8", body)
    } else {
        (
            "404 Not Found",
            "text/plain; charset=utf-8",
            "try /metrics\n",
        )
    };
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_round_up() {
        let now = Instant::now();
        assert_eq!(timeout_until(None, now), PollTimeout::NONE);
        let t = timeout_until(Some(now + Duration::from_micros(300)), now);
        assert_eq!(i32::from(t), 1);
        let t = timeout_until(Some(now - Duration::from_secs(1)), now);
        assert_eq!(i32::from(t), 0);
    }

    #[test]
    fn reload_keeps_the_last_good_policy() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("policy.toml");
        std::fs::write(
            &path,
            "[level]\nminimum = \"enhanced\"\non_below = \"alert\"\n",
        )
        .unwrap();
        let mut h = PolicyHolder::load(&path).unwrap();
        std::fs::write(&path, "[level]\nminimum = \"nonsense\"\n").unwrap();
        let err = h.reload().unwrap_err();
        assert!(err.contains("line 2") && err.contains("nonsense"), "{err}");
        assert_eq!(
            h.policy.level.minimum.map(|l| l.0),
            Some(SecurityLevel::Enhanced),
            "old policy kept"
        );
        assert!(h.reload_error.is_some());
        std::fs::write(
            &path,
            "[level]\nminimum = \"standard\"\non_below = \"alert\"\n",
        )
        .unwrap();
        h.reload().unwrap();
        assert_eq!(
            h.policy.level.minimum.map(|l| l.0),
            Some(SecurityLevel::Standard)
        );
        assert!(h.reload_error.is_none());
        // A policy needing a capability given up at start is refused.
        h.dropped.insert(caps::Capability::CAP_SYS_ADMIN);
        std::fs::write(&path, "[level]\nminimum = \"enhanced\"\n").unwrap();
        let err = h.reload().unwrap_err();
        assert!(
            err.contains("CAP_SYS_ADMIN") && err.contains("restart"),
            "{err}"
        );
        assert_eq!(
            h.policy.level.on_below,
            BelowMinimum::Alert,
            "old policy kept"
        );
        std::fs::remove_file(&path).unwrap();
        assert!(h.reload().unwrap_err().contains("cannot read policy"));
    }

    #[test]
    fn http_answers_metrics_and_404() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        for (path, want) in [("/metrics", "200 OK"), ("/", "404 Not Found")] {
            let t = std::thread::spawn(move || {
                let mut s = TcpStream::connect(addr).unwrap();
                write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
                let mut out = String::new();
                s.read_to_string(&mut out).unwrap();
                out
            });
            let (stream, _) = l.accept().unwrap();
            answer_http(stream, "milspec_up 1\n").unwrap();
            let out = t.join().unwrap();
            assert!(out.starts_with(&format!("HTTP/1.1 {want}")), "{out}");
            if want == "200 OK" {
                assert!(out.ends_with("\r\n\r\nmilspec_up 1\n"), "{out}");
            }
        }
    }
}
