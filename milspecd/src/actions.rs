//! Actions on violations: the alert hook (a child process fed the violation as
//! JSON, killed at its timeout; the event loop reaps it on SIGCHLD, so an alert
//! never blocks event handling), kernel lockdown, and rollback.

use crate::metrics::ActionResult;
use crate::policy::{AlertPolicy, ViolationKind};
use serde::Serialize;
use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Instant, SystemTime};

/// One policy violation, as the alert hook receives it on stdin.
#[derive(Clone, Debug, Serialize)]
pub struct Violation {
    pub kind: ViolationKind,
    /// What happened, for humans.
    pub detail: String,
    /// RFC 3339 UTC.
    pub timestamp: String,
    /// Module name involved (module_denied), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
    /// The kernel event behind it, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<EventView>,
    /// Refused calls of one (uid, command) key (ioctl_denied), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refusals: Option<RefusalReport>,
}

/// Refused calls of one key, as an `ioctl_denied` violation reports them.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct RefusalReport {
    /// `None` for the module's overflow bucket (keys past its 16 slots).
    pub uid: Option<u32>,
    /// Command name (`set_level`, ...); `None` for the overflow bucket.
    pub command: Option<String>,
    /// Refusals since the daemon's previous reading.
    pub count: u64,
    /// Refusals of this key since the module loaded.
    pub total: u64,
}

/// A kernel event in JSON.
#[derive(Clone, Debug, Serialize)]
pub struct EventView {
    pub seq: u64,
    pub kind: String,
    pub timestamp_ns: u64,
    pub uid: u32,
    pub pid: u32,
    pub arg0: u32,
    pub arg1: u32,
    pub name: String,
}

impl EventView {
    pub fn from_event(e: &milspec_abi::Event) -> Self {
        EventView {
            seq: e.seq,
            kind: milspec_abi::EventKind::from_u32(e.kind)
                .map(|k| k.as_str().to_owned())
                .unwrap_or_else(|| format!("unknown({})", e.kind)),
            timestamp_ns: e.timestamp_ns,
            uid: e.uid,
            pid: e.pid,
            arg0: e.arg0,
            arg1: e.arg1,
            name: milspec_abi::fixed_str_get(&e.name).unwrap_or("").to_owned(),
        }
    }
}

impl Violation {
    pub fn new(kind: ViolationKind, detail: impl Into<String>) -> Self {
        Violation {
            kind,
            detail: detail.into(),
            timestamp: crate::clock::rfc3339(SystemTime::now()),
            module: None,
            event: None,
            refusals: None,
        }
    }
}

/// A running alert hook.
#[derive(Debug)]
pub struct RunningAlert {
    pub child: Child,
    pub deadline: Instant,
    pub kind: ViolationKind,
}

/// Starts the alert hook with the violation on stdin. The JSON is far below the
/// pipe buffer, so writing it does not block; stdin is closed afterwards.
pub fn start_alert(alert: &AlertPolicy, v: &Violation) -> std::io::Result<RunningAlert> {
    let (program, args) = alert
        .command
        .split_first()
        .ok_or_else(|| std::io::Error::other("empty alert command"))?;
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .env("MILSPEC_VIOLATION", v.kind.as_str())
        .spawn()?;
    let mut json = serde_json::to_vec(v).map_err(std::io::Error::other)?;
    json.push(b'\n');
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that exits without reading makes this fail with EPIPE; its exit
        // status is what counts.
        let _ = stdin.write_all(&json);
    }
    Ok(RunningAlert {
        child,
        deadline: Instant::now() + alert.timeout.0,
        kind: v.kind,
    })
}

/// Checks a running hook: `Some(result)` once it has finished or was killed at
/// its deadline.
pub fn poll_alert(a: &mut RunningAlert, now: Instant) -> Option<ActionResult> {
    match a.child.try_wait() {
        Ok(Some(status)) if status.success() => Some(ActionResult::Ok),
        Ok(Some(status)) => {
            tracing::warn!(kind = a.kind.as_str(), "alert hook failed: {status}");
            Some(ActionResult::Failed)
        }
        Ok(None) if now >= a.deadline => {
            let _ = a.child.kill();
            let _ = a.child.wait();
            tracing::warn!(
                kind = a.kind.as_str(),
                "alert hook killed: it ran past its timeout"
            );
            Some(ActionResult::Timeout)
        }
        Ok(None) => None,
        Err(e) => {
            tracing::warn!("cannot wait for the alert hook: {e}");
            Some(ActionResult::Failed)
        }
    }
}

/// Puts the kernel into integrity lockdown through securityfs. `Unsupported`
/// when securityfs or the lockdown LSM is absent; `Skipped` when the kernel is
/// already locked down at least that far.
pub fn lockdown(path: &Path) -> (ActionResult, String) {
    let current = match std::fs::read_to_string(path) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return (
                ActionResult::Unsupported,
                format!(
                    "{} does not exist (no securityfs or no lockdown LSM)",
                    path.display()
                ),
            )
        }
        Err(e) => return (ActionResult::Failed, format!("{}: {e}", path.display())),
    };
    // The file lists the modes with the active one in brackets.
    if current.contains("[integrity]") || current.contains("[confidentiality]") {
        return (
            ActionResult::Skipped,
            format!("already locked down: {}", current.trim()),
        );
    }
    match std::fs::write(path, "integrity") {
        Ok(()) => (ActionResult::Ok, "kernel lockdown set to integrity".into()),
        Err(e) => (
            ActionResult::Failed,
            format!("cannot write {}: {e}", path.display()),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::HumanDuration;
    use std::time::Duration;

    fn alert(cmd: &[&str], timeout_ms: u64) -> AlertPolicy {
        AlertPolicy {
            command: cmd.iter().map(|s| s.to_string()).collect(),
            timeout: HumanDuration(Duration::from_millis(timeout_ms)),
        }
    }

    fn finish(a: &mut RunningAlert) -> ActionResult {
        loop {
            if let Some(r) = poll_alert(a, Instant::now()) {
                return r;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn hook_gets_the_violation_as_json() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.json");
        let script = format!("cat > {}", out.display());
        let mut v = Violation::new(ViolationKind::ModuleDenied, "module x denied");
        v.module = Some("x".into());
        let mut a = start_alert(&alert(&["/bin/sh", "-c", &script], 5000), &v).unwrap();
        assert_eq!(finish(&mut a), ActionResult::Ok);
        let got: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
        assert_eq!(got["kind"], "module_denied");
        assert_eq!(got["module"], "x");
        assert_eq!(got["detail"], "module x denied");
    }

    #[test]
    fn failing_and_slow_hooks_are_reported() {
        let v = Violation::new(ViolationKind::EventsLost, "gap");
        let mut a = start_alert(&alert(&["/bin/false"], 5000), &v).unwrap();
        assert_eq!(finish(&mut a), ActionResult::Failed);
        let start = Instant::now();
        let mut a = start_alert(&alert(&["/bin/sleep", "30"], 100), &v).unwrap();
        assert_eq!(finish(&mut a), ActionResult::Timeout);
        assert!(start.elapsed() < Duration::from_secs(10));
        assert!(start_alert(&alert(&["/nonexistent/hook"], 100), &v).is_err());
    }

    #[test]
    fn lockdown_outcomes() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("lockdown");
        assert_eq!(lockdown(&f).0, ActionResult::Unsupported);
        std::fs::write(&f, "[none] integrity confidentiality\n").unwrap();
        assert_eq!(lockdown(&f).0, ActionResult::Ok);
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "integrity");
        std::fs::write(&f, "none [integrity] confidentiality\n").unwrap();
        assert_eq!(lockdown(&f).0, ActionResult::Skipped);
    }
}
