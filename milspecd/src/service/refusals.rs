//! Refused calls: the module counts privileged ioctls made without
//! `CAP_SYS_ADMIN` per (uid, command) instead of logging each one (ABI 2). The
//! daemon reads that table when a `refusals` summary event arrives, at connect and
//! at every health refresh, and reports what grew since its last reading as one
//! `ioctl_denied` violation per key, with the count.

use super::Service;
use crate::actions::{RefusalReport, Violation};
use crate::policy::ViolationKind;
use milspec_abi::REFUSAL_UID_OTHER;

impl Service {
    pub(super) fn check_refusals(&mut self) {
        let Some(table) = self.device().and_then(|d| match d.refusals() {
            Ok(t) => Some(t),
            Err(e) => {
                tracing::debug!("{e}");
                None
            }
        }) else {
            return;
        };
        self.metrics.kernel_refused_calls.clear();
        for e in &table.entries {
            let other = e.uid == REFUSAL_UID_OTHER;
            let command = if other {
                "other".to_owned()
            } else {
                milspec_abi::command_name(e.cmd)
                    .map_or_else(|| format!("{:#x}", e.cmd), str::to_owned)
            };
            let uid = if other {
                "other".to_owned()
            } else {
                e.uid.to_string()
            };
            self.metrics
                .kernel_refused_calls
                .insert((uid.clone(), command.clone()), e.count);
            let seen = self.refusals_seen.insert((e.uid, e.cmd), e.count);
            // A lower count than last time: the module was reloaded.
            let new = match seen {
                Some(s) if s <= e.count => e.count - s,
                _ => e.count,
            };
            if new == 0 {
                continue;
            }
            let who = if other {
                "users past the module's 16 tracked keys".to_owned()
            } else {
                format!("uid {uid}")
            };
            let mut v = Violation::new(
                ViolationKind::IoctlDenied,
                format!(
                    "{who} made {new} refused {command} calls without CAP_SYS_ADMIN ({} since the module loaded)",
                    e.count
                ),
            );
            v.refusals = Some(RefusalReport {
                uid: (!other).then_some(e.uid),
                command: (!other).then_some(command),
                count: new,
                total: e.count,
            });
            self.violation(v);
        }
        self.mark_dirty();
    }
}
