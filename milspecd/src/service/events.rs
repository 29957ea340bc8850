//! Reading the module's events: sequence gaps (lost events), resuming after a
//! restart, and what each event kind means for the policy.

use super::link::Link;
use super::Service;
use crate::actions::{EventView, Violation};
use crate::clock;
use crate::policy::ViolationKind;
use milspec_abi::{Event, EventKind};
use std::time::{Duration, Instant, SystemTime};

impl Service {
    /// Reads batches until the device is empty, or until a deadline (the
    /// watchdog above all) is due: under a flood of events the device never
    /// empties, and the loop must get back to its deadlines. `poll()` is level
    /// triggered, so what is left is read on the next turn.
    pub(super) fn drain_events(&mut self) {
        loop {
            if self.next_deadline().is_some_and(|t| t <= Instant::now()) {
                return;
            }
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

    pub(super) fn handle_event(&mut self, ev: &Event) {
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
            // A summary: the counts are in the module's table.
            Some(EventKind::Refusals) => self.check_refusals(),
            Some(EventKind::LevelChanged) => {
                self.check_level();
                self.update_gauges();
            }
            Some(EventKind::TokenTableInvalid) | Some(EventKind::ForcedLoad) => {
                self.refresh_verdict();
            }
            _ => {}
        }
        let handled = clock::monotonic_now_ns();
        tracing::debug!(
            seq = ev.seq,
            kind = view.kind.as_str(),
            name = view.name.as_str(),
            latency_us = handled.saturating_sub(ev.timestamp_ns) / 1000,
            "event handled"
        );
    }
}
