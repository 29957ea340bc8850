//! Rules across keys that serde cannot express; each error names the key and,
//! where the file has it, the line.

use super::values::{Action, ViolationKind};
use super::{InvalidPolicy, Policy};
use std::collections::BTreeSet;

/// 1-based line of byte `offset` in `text`.
pub(super) fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

impl Policy {
    /// Rules across keys that serde cannot express.
    pub(super) fn validate(&self, text: &str) -> Result<(), InvalidPolicy> {
        // Defaults have an empty span: no line to name.
        let at = |span: std::ops::Range<usize>, key: &str, message: String| InvalidPolicy::Rule {
            line: (!span.is_empty()).then(|| line_of(text, span.start)),
            key: key.to_owned(),
            message,
        };
        if let Some(lock) = &self.level.lock_at {
            let l = lock.get_ref().0;
            if !l.is_locking() {
                return Err(at(
                    lock.span(),
                    "level.lock_at",
                    format!(
                        "`{}` does not lock; use paranoid or paranoid_plus",
                        l.as_str()
                    ),
                ));
            }
            if let Some(min) = self.level.minimum {
                if l < min.0 {
                    return Err(at(
                        lock.span(),
                        "level.lock_at",
                        format!(
                            "`{}` is below level.minimum `{}`",
                            l.as_str(),
                            min.0.as_str()
                        ),
                    ));
                }
            }
        }
        let allowlist = &self.modules.allowlist;
        for name in allowlist.get_ref() {
            let fits = name.len() < milspec_abi::NAME_LEN;
            if !fits || milspec_abi::validate_module_name(&milspec_abi::fixed_str(name)).is_err() {
                return Err(at(
                    allowlist.span(),
                    "modules.allowlist",
                    format!(
                        "`{name}` is not a module name (1-{} of A-Z a-z 0-9 _ -)",
                        milspec_abi::NAME_LEN - 1
                    ),
                ));
            }
        }
        if allowlist.get_ref().len() > milspec_abi::ALLOWLIST_MAX as usize {
            return Err(at(
                allowlist.span(),
                "modules.allowlist",
                format!("more than {} names", milspec_abi::ALLOWLIST_MAX),
            ));
        }
        for kind in ViolationKind::ALL {
            let list = self.actions.list(kind);
            let key = format!("actions.{kind}");
            if list.get_ref().contains(&Action::Alert) && self.alert.is_none() {
                return Err(at(
                    list.span(),
                    &key,
                    "the alert action needs an [alert] section with a command".into(),
                ));
            }
            let unique: BTreeSet<_> = list.get_ref().iter().collect();
            if unique.len() != list.get_ref().len() {
                return Err(at(list.span(), &key, "an action is listed twice".into()));
            }
        }
        if let Some(alert) = &self.alert {
            if alert.command.first().is_none_or(|c| c.is_empty()) {
                return Err(at(0..0, "alert.command", "must name a program".into()));
            }
            if alert.timeout.0.is_zero() {
                return Err(at(0..0, "alert.timeout", "must be more than 0s".into()));
            }
        }
        let h = &self.health;
        for (key, warn, crit) in [
            ("cpu", &h.cpu_warning_percent, &h.cpu_critical_percent),
            (
                "memory",
                &h.memory_warning_percent,
                &h.memory_critical_percent,
            ),
        ] {
            for (name, v) in [("warning", warn), ("critical", crit)] {
                if !(0.0..=100.0).contains(v.get_ref()) {
                    return Err(at(
                        v.span(),
                        &format!("health.{key}_{name}_percent"),
                        format!("{} is not a percentage (0-100)", v.get_ref()),
                    ));
                }
            }
            if warn.get_ref() > crit.get_ref() {
                return Err(at(
                    warn.span(),
                    &format!("health.{key}_warning_percent"),
                    "is above the critical threshold".into(),
                ));
            }
        }
        if let Some(port) = &self.metrics.listen_port {
            if *port.get_ref() == 0 {
                return Err(at(
                    port.span(),
                    "metrics.listen_port",
                    "0 is not a port (leave the key out to serve nothing)".into(),
                ));
            }
        }
        Ok(())
    }
}
