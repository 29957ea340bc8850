//! Who has `/dev/milspec` open. An open file pins the module (the kernel refuses
//! to unload it), so before an unload `milspecctl` asks `milspecd` to let go of the
//! device (SIGUSR1) and names any other process still holding it.

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::path::Path;
use std::time::{Duration, Instant};

/// Name of the daemon's process (`/proc/PID/comm`).
pub const DAEMON_COMM: &str = "milspecd";

/// A process with the device open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holder {
    pub pid: u32,
    pub comm: String,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "pid {} ({})", self.pid, self.comm)
    }
}

/// Processes (other than this one) with `device` open, found through
/// `/proc/*/fd` (complete only with the privileges to read other processes' fds).
pub fn device_holders(proc_root: &Path, device: &Path) -> Vec<Holder> {
    let me = std::process::id();
    let Ok(entries) = std::fs::read_dir(proc_root) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in entries.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(e.path().join("fd")) else {
            continue;
        };
        let holds = fds
            .flatten()
            .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|t| t == device));
        if holds {
            let comm = std::fs::read_to_string(e.path().join("comm"))
                .map(|s| s.trim().to_owned())
                .unwrap_or_default();
            out.push(Holder { pid, comm });
        }
    }
    out.sort_by_key(|h| h.pid);
    out
}

/// Asks every `milspecd` holding `device` to release it and waits up to `timeout`
/// for all holders to go. Returns the processes that still hold it.
pub fn release_device(device: &Path, timeout: Duration) -> Vec<Holder> {
    let proc_root = Path::new("/proc");
    let holders = device_holders(proc_root, device);
    let mut asked = false;
    for h in holders.iter().filter(|h| h.comm == DAEMON_COMM) {
        if let Ok(pid) = i32::try_from(h.pid) {
            asked |= kill(Pid::from_raw(pid), Signal::SIGUSR1).is_ok();
        }
    }
    if !asked {
        return holders;
    }
    let deadline = Instant::now() + timeout;
    loop {
        let left = device_holders(proc_root, device);
        if left.iter().all(|h| h.comm != DAEMON_COMM) || Instant::now() >= deadline {
            return left;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_child_holding_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("dev");
        std::fs::write(&file, "x").unwrap();
        // A child that keeps the file open on stdin.
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .stdin(std::fs::File::open(&file).unwrap())
            .spawn()
            .unwrap();
        let holders = device_holders(Path::new("/proc"), &file);
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(
            holders,
            [Holder {
                pid: child.id(),
                comm: "sleep".into()
            }]
        );
        // Nobody else: a process that is not a milspecd is not signalled.
        assert!(release_device(&file, Duration::from_millis(10)).is_empty());
    }
}
