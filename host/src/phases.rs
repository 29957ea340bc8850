//! Phase timings for benchmarks: with `MILSPEC_TRACE_PHASES=1` in the
//! environment, each timed phase of a command prints one line to stderr,
//! `milspec-phase NAME MICROSECONDS`. Without it nothing is measured or printed,
//! and no output format (text or JSON on stdout) changes either way.

use std::sync::OnceLock;
use std::time::Instant;

/// The environment variable that turns the trace on.
pub const ENV: &str = "MILSPEC_TRACE_PHASES";

fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var_os(ENV).is_some_and(|v| v == "1"))
}

/// Runs `f` as phase `name`, reporting its duration when tracing is on.
pub fn time<T>(name: &str, f: impl FnOnce() -> T) -> T {
    if !enabled() {
        return f();
    }
    let t = Instant::now();
    let out = f();
    eprintln!("milspec-phase {name} {}", t.elapsed().as_micros());
    out
}
