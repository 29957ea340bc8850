//! Clock readings only milspecd needs: RFC 3339 text and the module's monotonic
//! clock. Unix time is `milspec_host::clock`, shared with milspecctl.

use std::time::SystemTime;

/// RFC 3339 UTC to the second (health.json, alert payloads).
pub fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

/// CLOCK_MONOTONIC in nanoseconds: the clock of the module's event timestamps.
pub fn monotonic_now_ns() -> u64 {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC)
        .map(|t| t.tv_sec() as u64 * 1_000_000_000 + t.tv_nsec() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn readings_agree_with_the_system_clock() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000);
        assert_eq!(rfc3339(t), "2026-09-21T14:13:20Z");
        let a = monotonic_now_ns();
        assert!(a > 0 && monotonic_now_ns() >= a);
    }
}
