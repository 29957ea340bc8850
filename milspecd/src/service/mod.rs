//! The service: one thread blocked in `poll()` on the device, a signalfd and an
//! inotify watch (only while the device is missing); the optional metrics
//! endpoint runs on threads of its own ([`http`]) so no client can delay the
//! loop. The poll timeout is the nearest deadline (watchdog, health refresh,
//! a rate-limited flush, a running alert's timeout, a reconnect retry); with
//! none pending the daemon sleeps until something happens.
//!
//! The device pins the module while open, so `milspecctl unload`/`rollback` send
//! SIGUSR1 first: the daemon closes the device, watches `/dev` and reconnects
//! when the (new) module's device appears, or after [`RELEASE_WAIT`] if the
//! module stayed.
//!
//! One concern per file: [`link`] (device connection), [`cursor`] (resume
//! position), [`events`], [`enforce`] (level, allowlist, lock), [`violations`]
//! (actions), [`refusals`] (refused calls), [`signals`] (and reload), [`flush`]
//! (health, metrics, STATUS=),
//! [`http`] (metrics endpoint), [`policy_holder`].

mod cursor;
mod enforce;
mod events;
mod flush;
mod http;
mod link;
mod policy_holder;
mod refusals;
mod signals;
mod violations;

pub use policy_holder::{PolicyHolder, ReloadError};

use crate::actions::RunningAlert;
use crate::hostinfo::HostSampler;
use crate::metrics::Metrics;
use crate::notify::{self, Notifier};
use crate::privileges;
use crate::verdict::{assess, Verdict};
use http::MetricsEndpoint;
use link::Link;
use milspec_host::paths::ModulePaths;
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout};
use nix::sys::inotify::{InitFlags, Inotify, WatchDescriptor};
use nix::sys::signalfd::SignalFd;
use std::collections::BTreeMap;
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

/// How long the device stays released after SIGUSR1 if the module is not unloaded.
pub const RELEASE_WAIT: Duration = Duration::from_secs(10);
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

/// The running daemon.
pub struct Service {
    opts: Options,
    policy: PolicyHolder,
    link: Link,
    inotify: Inotify,
    watch: Option<WatchDescriptor>,
    signals: SignalFd,
    http: Option<MetricsEndpoint>,
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
    /// Refusal counts per (uid, command) at the last reading of the module's table.
    refusals_seen: BTreeMap<(u32, u32), u64>,
    /// The one-line verdict last written (systemd's STATUS=).
    status_line: String,
    stop: bool,
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
        let signals = signals::signal_fd()?;
        let inotify = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC)?;
        // Bound here, while privileged; served from `run`, after the drop.
        let http = policy
            .policy
            .metrics_port()
            .map(MetricsEndpoint::bind)
            .transpose()?;
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
            refusals_seen: BTreeMap::new(),
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
        // The first flush publishes the metrics text before anyone can ask for it.
        self.flush();
        if let Some(Err(e)) = self.http.as_mut().map(MetricsEndpoint::serve) {
            tracing::error!("cannot start the metrics endpoint: {e}");
            return 1;
        }
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
            let (sig, dev, ino) = {
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
                match nix::poll::poll(&mut fds, timeout) {
                    Ok(_) | Err(Errno::EINTR) => {}
                    Err(e) => {
                        tracing::error!("poll failed: {e}");
                        return 1;
                    }
                }
                let ready = |i: usize| fds[i].revents().is_some_and(|r| !r.is_empty());
                (ready(0), dev_idx.is_some_and(ready), ready(ino_idx))
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
        }
        self.shutdown();
        0
    }

    fn schedule_refresh(&mut self, now: Instant) {
        let every = self.policy.policy.health.refresh.0;
        self.next_refresh = (!every.is_zero()).then(|| now + every);
    }

    pub(super) fn next_deadline(&self) -> Option<Instant> {
        [
            self.next_watchdog,
            self.next_refresh,
            self.flush_at,
            self.link.deadline(),
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

    fn shutdown(&mut self) {
        for mut a in self.alerts.drain(..) {
            let _ = a.child.kill();
            let _ = a.child.wait();
        }
        self.flush();
        tracing::info!("stopped");
    }
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
}
