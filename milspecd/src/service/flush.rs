//! Health and metrics: re-reading the module's state, resource sampling, and the
//! rate-limited flush that writes health.json, the metrics textfile, the event
//! cursor and systemd's STATUS= line.

use super::link::Link;
use super::Service;
use crate::health::{self, HealthInputs};
use crate::metrics::ModuleGauges;
use crate::verdict::{assess, Health};
use milspec_abi::status_flags;
use milspec_host::snapshot::Snapshot;
use std::time::{Duration, Instant, SystemTime};

/// Health and metrics files are rewritten at most this often while events flow.
const FLUSH_EVERY: Duration = Duration::from_secs(1);

impl Service {
    /// Health and metrics soon, but not more than once per [`FLUSH_EVERY`].
    pub(super) fn mark_dirty(&mut self) {
        let now = Instant::now();
        let at = match self.last_flush {
            Some(t) if now < t + FLUSH_EVERY => t + FLUSH_EVERY,
            _ => now,
        };
        self.flush_at = Some(self.flush_at.map_or(at, |f| f.min(at)));
    }

    pub(super) fn refresh_verdict(&mut self) {
        let reading = Snapshot::take(&self.opts.module);
        if matches!(reading, Ok(Some(_))) {
            self.metrics.last_check_unix = Some(milspec_host::clock::unix_secs_f64());
        }
        self.verdict = assess(&reading);
    }

    pub(super) fn refresh(&mut self) {
        self.metrics.resources = self.sampler.sample();
        if matches!(self.link, Link::Connected(_)) {
            self.refresh_verdict();
            self.check_level();
            self.update_gauges();
            self.check_refusals();
        }
        self.flush();
    }

    pub(super) fn update_gauges(&mut self) {
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
            measurement: self.verdict.measurement.clone(),
        };
    }

    pub(super) fn flush(&mut self) {
        self.flush_at = None;
        self.last_flush = Some(Instant::now());
        let p = &self.policy.policy;
        let reload_error = self.policy.reload_error.as_ref().map(ToString::to_string);
        let report = health::evaluate(&HealthInputs {
            module: &self.verdict,
            enforcement_problems: &self.enforcement_problems,
            reload_error: reload_error.as_deref(),
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
        if p.metrics.textfile_dir.is_some() || self.http.is_some() {
            let text = self.metrics.render();
            if let Some(dir) = &p.metrics.textfile_dir {
                let path = dir.join("milspec.prom");
                if let Err(e) = milspec_host::fsutil::write_atomic(&path, text.as_bytes(), 0o644) {
                    tracing::warn!("cannot write {}: {e}", path.display());
                }
            }
            // The endpoint serves what the textfile says: the state of this flush.
            if let Some(http) = &self.http {
                http.publish(text);
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
}
