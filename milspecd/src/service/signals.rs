//! Signals arrive through a signalfd polled by the loop: SIGTERM/SIGINT stop,
//! SIGHUP reloads the policy, SIGUSR1 releases the device for an unload,
//! SIGCHLD reaps alert hooks.

use super::link::Link;
use super::Service;
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use std::time::Instant;

/// Blocks the handled signals in this thread (threads spawned later inherit the
/// mask) and returns the fd that delivers them instead.
pub(super) fn signal_fd() -> std::io::Result<SignalFd> {
    let mut mask = SigSet::empty();
    for s in [
        Signal::SIGTERM,
        Signal::SIGINT,
        Signal::SIGHUP,
        Signal::SIGUSR1,
        Signal::SIGCHLD,
    ] {
        mask.add(s);
    }
    mask.thread_block()?;
    Ok(SignalFd::with_flags(
        &mask,
        SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC,
    )?)
}

impl Service {
    pub(super) fn handle_signals(&mut self) {
        while let Ok(Some(info)) = self.signals.read_signal() {
            match Signal::try_from(info.ssi_signo as i32) {
                Ok(Signal::SIGTERM) | Ok(Signal::SIGINT) => {
                    tracing::info!("stopping");
                    self.notifier.stopping();
                    self.stop = true;
                }
                Ok(Signal::SIGHUP) => self.reload(),
                Ok(Signal::SIGUSR1) => self.release(),
                Ok(Signal::SIGCHLD) => self.reap_alerts(Instant::now()),
                _ => {}
            }
        }
    }

    fn reload(&mut self) {
        self.notifier.reloading();
        match self.policy.reload() {
            Ok(()) => {
                tracing::info!("policy reloaded from {}", self.policy.path.display());
                if self.http.as_ref().map(|h| h.port()) != self.policy.policy.metrics_port() {
                    tracing::warn!("metrics.listen_port changes take effect after a restart");
                }
                self.schedule_refresh(Instant::now());
                if matches!(self.link, Link::Connected(_)) {
                    self.enforce_full();
                    if let Some(v) = self.verdict.module_version.clone() {
                        self.check_module_allowed(&v);
                    }
                }
            }
            Err(e) => {
                self.metrics.policy_reload_failures += 1;
                tracing::error!("policy reload refused, keeping the previous policy: {e}");
            }
        }
        // Health first, so whoever sees READY=1 reads the reload's outcome.
        self.flush();
        self.notifier.reloaded();
    }
}
