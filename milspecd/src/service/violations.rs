//! What the loop does about a violation: count it, log it and run the policy's
//! actions (alert hooks run as children reaped on SIGCHLD; rollback lets go of
//! the device first).

use super::Service;
use crate::actions::{self, Violation};
use crate::metrics::ActionResult;
use crate::policy::Action;
use std::time::{Duration, Instant};

/// The rollback action runs at most once in this window (no ping-pong between
/// two versions that both violate the policy).
const ROLLBACK_QUIET: Duration = Duration::from_secs(300);

impl Service {
    pub(super) fn violation(&mut self, v: Violation) {
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

    pub(super) fn alert(&mut self, v: &Violation) {
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

    pub(super) fn reap_alerts(&mut self, now: Instant) {
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

    pub(super) fn rollback(&mut self) {
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
                    } => format!(
                        "{} failed and {restored} was loaded again: {reason}",
                        r.store_id
                    ),
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
}
