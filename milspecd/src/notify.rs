//! The systemd notify protocol (`Type=notify`) through the `sd-notify` crate:
//! READY, STATUS, WATCHDOG, RELOADING, STOPPING. Outside systemd (no
//! `NOTIFY_SOCKET`) every call is a no-op.

use sd_notify::NotifyState;
use std::time::Duration;

/// Talks to the service manager; remembers the last STATUS so it is only sent when
/// it changes.
#[derive(Debug, Default)]
pub struct Notifier {
    last_status: Option<String>,
    ready: bool,
}

impl Notifier {
    pub fn new() -> Self {
        Notifier::default()
    }

    fn send(&self, states: &[NotifyState]) {
        if let Err(e) = sd_notify::notify(states) {
            tracing::warn!("cannot notify the service manager: {e}");
        }
    }

    /// READY=1 with the first status line (once).
    pub fn ready(&mut self, status: &str) {
        if self.ready {
            return self.status(status);
        }
        self.ready = true;
        self.last_status = Some(status.to_owned());
        self.send(&[NotifyState::Ready, NotifyState::Status(status)]);
    }

    pub fn is_ready(&self) -> bool {
        self.ready
    }

    /// STATUS=<line> when it differs from the last one sent.
    pub fn status(&mut self, status: &str) {
        if self.last_status.as_deref() == Some(status) {
            return;
        }
        self.last_status = Some(status.to_owned());
        self.send(&[NotifyState::Status(status)]);
    }

    pub fn watchdog(&self) {
        self.send(&[NotifyState::Watchdog]);
    }

    /// RELOADING=1 (with MONOTONIC_USEC, which systemd 253+ requires).
    pub fn reloading(&self) {
        match NotifyState::monotonic_usec_now() {
            Ok(now) => self.send(&[NotifyState::Reloading, now]),
            Err(_) => self.send(&[NotifyState::Reloading]),
        }
    }

    /// READY=1 again after a reload.
    pub fn reloaded(&self) {
        self.send(&[NotifyState::Ready]);
    }

    pub fn stopping(&self) {
        self.send(&[NotifyState::Stopping]);
    }
}

/// How often to send WATCHDOG=1: half of `WATCHDOG_USEC` (systemd's advice), or
/// never when the watchdog is off.
pub fn watchdog_interval() -> Option<Duration> {
    sd_notify::watchdog_enabled().map(|d| d / 2)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::os::unix::net::UnixDatagram;

    /// A fake service manager: a datagram socket the test reads. Env changes are
    /// process-wide, so every test touching NOTIFY_SOCKET holds this lock.
    pub static ENV_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

    pub struct FakeManager {
        sock: UnixDatagram,
        _dir: tempfile::TempDir,
    }

    impl FakeManager {
        pub fn install() -> Self {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("notify");
            let sock = UnixDatagram::bind(&path).unwrap();
            sock.set_nonblocking(true).unwrap();
            std::env::set_var("NOTIFY_SOCKET", &path);
            FakeManager { sock, _dir: dir }
        }

        /// Every message received so far.
        pub fn messages(&self) -> Vec<String> {
            let mut out = Vec::new();
            let mut buf = [0u8; 4096];
            while let Ok(n) = self.sock.recv(&mut buf) {
                out.push(String::from_utf8_lossy(&buf[..n]).into_owned());
            }
            out
        }
    }

    impl Drop for FakeManager {
        fn drop(&mut self) {
            std::env::remove_var("NOTIFY_SOCKET");
        }
    }

    #[test]
    fn ready_status_watchdog_stopping_reach_the_manager() {
        let _g = ENV_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let fake = FakeManager::install();
        let mut n = Notifier::new();
        n.ready("healthy: dell_milspec 0.1.0");
        n.status("healthy: dell_milspec 0.1.0");
        n.status("unhealthy: dell_milspec is not loaded");
        n.watchdog();
        n.reloading();
        n.reloaded();
        n.stopping();
        let msgs = fake.messages();
        assert_eq!(msgs[0], "READY=1\nSTATUS=healthy: dell_milspec 0.1.0\n");
        // The repeated status was not sent again.
        assert_eq!(msgs[1], "STATUS=unhealthy: dell_milspec is not loaded\n");
        assert_eq!(msgs[2], "WATCHDOG=1\n");
        assert!(
            msgs[3].starts_with("RELOADING=1\nMONOTONIC_USEC="),
            "{msgs:?}"
        );
        assert_eq!(msgs[4], "READY=1\n");
        assert_eq!(msgs[5], "STOPPING=1\n");
        assert_eq!(msgs.len(), 6);
    }

    #[test]
    fn watchdog_interval_is_half_of_watchdog_usec() {
        let _g = ENV_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        std::env::set_var("WATCHDOG_USEC", "6000000");
        std::env::set_var("WATCHDOG_PID", std::process::id().to_string());
        assert_eq!(watchdog_interval(), Some(Duration::from_secs(3)));
        std::env::set_var("WATCHDOG_PID", "1");
        assert_eq!(watchdog_interval(), None, "meant for another process");
        std::env::remove_var("WATCHDOG_USEC");
        std::env::remove_var("WATCHDOG_PID");
        assert_eq!(watchdog_interval(), None);
    }
}
