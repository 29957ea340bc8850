//! Deployment benchmark (make bench): bare rmmod+insmod of two versions vs.
//! `milspecctl rollback` (which also verifies, journals and audits), and
//! install+load+verify. Prints medians and the ratio; asserts nothing about time.

use crate::util::{check, TestResult};
use milspec_abi::MODULE_NAME;
use milspec_host::kmod;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const ROUNDS: usize = 11;

fn ctl(args: &[&str]) -> TestResult {
    let out = Command::new("/bin/milspecctl")
        .args(args)
        .output()
        .map_err(|e| e.to_string())?;
    check(out.status.success(), || {
        format!(
            "milspecctl {args:?}: {} {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

pub fn run(versions: &Path) -> TestResult {
    let ko = |v: &str| versions.join(format!("{v}.ko"));
    for v in ["1.0.0", "1.0.1"] {
        ctl(&["install", "--reinstall", ko(v).to_str().unwrap_or_default()])?;
    }
    let _ = kmod::unload(MODULE_NAME);
    ctl(&["load", "1.0.0"])?;
    ctl(&["load", "1.0.1"])?;

    // Bare swap: what an admin does by hand, without any checks.
    let store = Path::new("/var/lib/milspec/versions");
    let mut bare = Vec::new();
    for i in 0..ROUNDS * 2 {
        let v = if i % 2 == 0 { "1.0.0" } else { "1.0.1" };
        let t = Instant::now();
        kmod::unload(MODULE_NAME).map_err(|e| e.to_string())?;
        kmod::load_file(&store.join(v).join("dell_milspec.ko"), &[]).map_err(|e| e.to_string())?;
        bare.push(t.elapsed());
    }
    // Ends with 1.0.1 loaded, as state.json says.

    let mut rollback = Vec::new();
    for _ in 0..ROUNDS * 2 {
        let t = Instant::now();
        ctl(&["rollback"])?; // alternates 1.0.1 -> 1.0.0 -> 1.0.1 ...
        rollback.push(t.elapsed());
    }

    let mut full = Vec::new();
    for i in 0..ROUNDS {
        let v = if i % 2 == 0 { "1.0.0" } else { "1.0.1" };
        let t = Instant::now();
        ctl(&["install", "--reinstall", ko(v).to_str().unwrap_or_default()])?;
        ctl(&["load", v])?;
        ctl(&["verify"])?;
        full.push(t.elapsed());
    }

    let (b, r, f) = (median(bare), median(rollback), median(full));
    println!(
        "# bench: bare rmmod+insmod median {:.1} ms; milspecctl rollback (incl. verify) median {:.1} ms; \
         ratio {:.2}; install+load+verify median {:.1} ms ({} / {} / {} runs, TCG VM)",
        b.as_secs_f64() * 1e3,
        r.as_secs_f64() * 1e3,
        r.as_secs_f64() / b.as_secs_f64(),
        f.as_secs_f64() * 1e3,
        ROUNDS * 2,
        ROUNDS * 2,
        ROUNDS
    );
    Ok(())
}
