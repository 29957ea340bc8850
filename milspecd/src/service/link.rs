//! The link to the module: connecting to `/dev/milspec`, the states in between
//! (absent, released for an unload, retrying) and the inotify watch on `/dev`
//! that is only held while the device is missing.

use super::cursor::Cursor;
use super::{Service, RELEASE_WAIT};
use crate::actions::Violation;
use crate::metrics::ModuleGauges;
use crate::policy::ViolationKind;
use crate::verdict::assess;
use milspec_abi::SecurityLevel;
use milspec_host::device::Device;
use milspec_host::snapshot::Snapshot;
use nix::sys::inotify::AddWatchFlags;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::time::{Duration, Instant};

/// An open device and where reading its events stands.
pub(super) struct Connection {
    pub(super) dev: Device,
    pub(super) loaded_at_ns: u64,
    /// Events below this were handled before a restart of the daemon.
    pub(super) resume_seq: u64,
    /// The next sequence number expected (gap detection).
    pub(super) expected: Option<u64>,
}

pub(super) enum Link {
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

impl Link {
    /// When the link wants the loop back without an fd event.
    pub(super) fn deadline(&self) -> Option<Instant> {
        match self {
            Link::Released { until } => Some(*until),
            Link::Retrying { at, .. } => Some(*at),
            _ => None,
        }
    }
}

impl Service {
    pub(super) fn device(&self) -> Option<&Device> {
        match &self.link {
            Link::Connected(c) => Some(&c.dev),
            _ => None,
        }
    }

    pub(super) fn watch_dev_dir(&mut self) {
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

    pub(super) fn unwatch_dev_dir(&mut self) {
        if let Some(wd) = self.watch.take() {
            let _ = self.inotify.rm_watch(wd);
        }
        // Drop anything already queued for the old watch.
        let _ = self.inotify.read_events();
    }

    pub(super) fn go_absent(&mut self, why: &str) {
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
    pub(super) fn connect(&mut self) {
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
        let resume_seq = Cursor::read(&self.cursor_path())
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
        self.metrics.last_check_unix = Some(milspec_host::clock::unix_secs_f64());
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
        self.check_refusals();
        self.update_gauges();
        self.flush();
    }

    pub(super) fn disconnect(&mut self) {
        self.save_cursor();
        self.link = Link::Absent;
    }

    pub(super) fn release(&mut self) {
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

    pub(super) fn handle_inotify(&mut self) {
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
}
