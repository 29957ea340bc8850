//! Wall-clock time as Unix time, in one place.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Time since the Unix epoch of `t`; zero for a time before 1970 (a clock that
/// is that wrong yields 0 rather than an error nobody can act on).
pub fn since_epoch(t: SystemTime) -> Duration {
    t.duration_since(UNIX_EPOCH).unwrap_or_default()
}

/// Now, as whole seconds since the epoch.
pub fn unix_secs() -> u64 {
    since_epoch(SystemTime::now()).as_secs()
}

/// Now, as seconds since the epoch with a fraction.
pub fn unix_secs_f64() -> f64 {
    since_epoch(SystemTime::now()).as_secs_f64()
}

/// The time `secs` seconds after the epoch.
pub fn from_unix_secs(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_clamps() {
        assert_eq!(
            since_epoch(from_unix_secs(1_790_000_000)).as_secs(),
            1_790_000_000
        );
        assert_eq!(
            since_epoch(UNIX_EPOCH - Duration::from_secs(5)),
            Duration::ZERO
        );
        assert!(unix_secs() > 1_700_000_000);
        assert!(unix_secs_f64() > 1.7e9);
    }
}
