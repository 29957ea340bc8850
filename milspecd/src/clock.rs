//! Clock readings in the forms milspecd needs, in one place (a shared host
//! library is to take these over for the whole workspace).

use std::time::{Duration, SystemTime};

/// Time since the Unix epoch; zero for a clock set before 1970.
pub fn since_epoch(t: SystemTime) -> Duration {
    t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default()
}

/// Now as Unix time in seconds with fractions (Prometheus timestamps).
pub fn unix_now() -> f64 {
    since_epoch(SystemTime::now()).as_secs_f64()
}

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

    #[test]
    fn readings_agree_with_the_system_clock() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000);
        assert_eq!(since_epoch(t).as_secs(), 1_790_000_000);
        assert_eq!(rfc3339(t), "2026-09-21T14:13:20Z");
        assert_eq!(
            since_epoch(SystemTime::UNIX_EPOCH - Duration::from_secs(1)),
            Duration::ZERO
        );
        assert!(unix_now() > 1_700_000_000.0);
        let a = monotonic_now_ns();
        assert!(a > 0 && monotonic_now_ns() >= a);
    }
}
