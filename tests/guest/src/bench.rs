//! Deployment benchmark (make bench). The floor is the kernel's own cost: a bare
//! `delete_module` + `finit_module` on the store files of 1.0.0 and 1.0.1, called
//! directly (no process spawned). Against it: `milspecctl load 1.0.0` /
//! `load 1.0.1` and `milspecctl rollback`, each a whole process spawned by this
//! program (fork + exec, as a shell does), which also verify, journal, place the
//! module for modprobe and audit. Then install+load+verify, and how `list`,
//! `load` and `verify` scale with the number of entries in the store.
//!
//! Prints medians, the ratios and, from `MILSPEC_TRACE_PHASES=1`, the median of
//! each phase; asserts nothing about time (the host is shared and noisy: only
//! figures from one run are compared with each other).

use crate::util::{check, TestResult};
use milspec_abi::MODULE_NAME;
use nix::kmod::{delete_module, finit_module, DeleteModuleFlags, ModuleInitFlags};
use std::collections::BTreeMap;
use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Alternations per series.
const SWAPS: usize = 21;
/// install+load+verify rounds.
const FULL: usize = 11;
/// Store sizes of the scaling curves.
const SIZES: [usize; 4] = [1, 10, 100, 500];
/// Runs per command and store size.
const CURVE_RUNS: usize = 11;

const STORE: &str = "/var/lib/milspec/versions";

/// Phase name -> durations (µs) of every traced run.
type Phases = BTreeMap<String, Vec<u64>>;

/// Runs milspecctl with the phase trace on; returns its phases.
fn ctl(args: &[&str], phases: &mut Phases) -> TestResult {
    let out = Command::new("/bin/milspecctl")
        .args(args)
        .env(milspec_host::phases::ENV, "1")
        .output()
        .map_err(|e| e.to_string())?;
    check(out.status.success(), || {
        format!(
            "milspecctl {args:?}: {} {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
    })?;
    for line in String::from_utf8_lossy(&out.stderr).lines() {
        let mut w = line.split_whitespace();
        if let (Some("milspec-phase"), Some(name), Some(us)) = (w.next(), w.next(), w.next()) {
            if let Ok(us) = us.parse() {
                phases.entry(name.to_owned()).or_default().push(us);
            }
        }
    }
    Ok(())
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The test version not loaded now (so that a `load` of it is a real swap).
fn other() -> &'static str {
    let loaded = std::fs::read_to_string(milspec_abi::PROC_STATUS_PATH).unwrap_or_default();
    if loaded.lines().any(|l| l == "module_version: 1.0.0") {
        "1.0.1"
    } else {
        "1.0.0"
    }
}

/// `delete_module` + `finit_module`, nothing else.
fn bare_swap(name: &CString, ko: &Path) -> TestResult {
    delete_module(name, DeleteModuleFlags::O_NONBLOCK)
        .map_err(|e| format!("delete_module: {e}"))?;
    let f = std::fs::File::open(ko).map_err(|e| e.to_string())?;
    finit_module(&f, c"", ModuleInitFlags::empty()).map_err(|e| format!("finit_module: {e}"))
}

fn print_phases(what: &str, phases: &Phases, runs: usize) {
    let order = [
        "main",
        "open",
        "precheck",
        "checkpoint",
        "loaded_id",
        "journal",
        "unload",
        "load",
        "verify",
        "commit",
        "placement",
        "audit",
        "record",
    ];
    let mut row = Vec::new();
    let mut sum = 0;
    for name in order.iter().copied().chain(
        phases
            .keys()
            .map(String::as_str)
            .filter(|k| !order.contains(k)),
    ) {
        if let Some(v) = phases.get(name) {
            let mut v = v.clone();
            v.sort();
            let m = v[v.len() / 2];
            if name != "main" {
                sum += m;
            }
            row.push(format!("{name} {:.1}", m as f64 / 1e3));
        }
    }
    println!(
        "# bench: phases of {what} (median ms of {runs} runs; main = all of the process but its start and exit): {}; sum of phases {:.1}",
        row.join(", "),
        sum as f64 / 1e3
    );
}

/// A fake store entry `0.0.N`: a copy of an installed entry's files with its
/// own id and version in the manifest (for the scaling curves only).
fn fake_entry(src: &Path, n: usize) -> TestResult {
    let id = format!("0.0.{n}");
    let dir = PathBuf::from(STORE).join(&id);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    std::fs::copy(src.join("dell_milspec.ko"), dir.join("dell_milspec.ko"))
        .map_err(|e| e.to_string())?;
    let text = std::fs::read_to_string(src.join("manifest.json")).map_err(|e| e.to_string())?;
    let mut m: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    m["id"] = id.clone().into();
    m["module_version"] = id.into();
    std::fs::write(dir.join("manifest.json"), m.to_string()).map_err(|e| e.to_string())
}

fn timed(args: &[&str], phases: &mut Phases) -> Result<Duration, String> {
    let t = Instant::now();
    ctl(args, phases)?;
    Ok(t.elapsed())
}

fn curves() -> TestResult {
    let src = PathBuf::from(STORE).join("1.0.0");
    let mut made = 0;
    let mut rows: Vec<(usize, [f64; 3])> = Vec::new();
    let mut p = Phases::new();
    for &size in &SIZES {
        // 1.0.0 and 1.0.1 are there: fill up with fakes to `size` entries in all.
        while made + 2 < size {
            fake_entry(&src, made)?;
            made += 1;
        }
        let total = std::fs::read_dir(STORE).map_err(|e| e.to_string())?.count();
        let (mut list, mut load, mut verify) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..CURVE_RUNS {
            list.push(timed(&["list"], &mut p)?);
            load.push(timed(&["load", other()], &mut p)?);
            verify.push(timed(&["verify"], &mut p)?);
        }
        rows.push((
            total,
            [ms(median(list)), ms(median(load)), ms(median(verify))],
        ));
    }
    println!("# bench: scaling with the store (median ms of {CURVE_RUNS} runs)");
    println!("# curve-store entries list load verify");
    for (n, [l, d, v]) in &rows {
        println!("# curve-store {n} {l:.1} {d:.1} {v:.1}");
    }
    if let (Some(first), Some(last)) = (rows.first(), rows.last()) {
        println!(
            "# bench: {} vs {} entries: list {:.2}x, load {:.2}x, verify {:.2}x",
            last.0,
            first.0,
            last.1[0] / first.1[0],
            last.1[1] / first.1[1],
            last.1[2] / first.1[2]
        );
    }
    for n in 0..made {
        let _ = std::fs::remove_dir_all(PathBuf::from(STORE).join(format!("0.0.{n}")));
    }
    Ok(())
}

pub fn run(versions: &Path) -> TestResult {
    let ko = |v: &str| versions.join(format!("{v}.ko"));
    let mut ignore = Phases::new();
    for v in ["1.0.0", "1.0.1"] {
        ctl(
            &["install", "--reinstall", ko(v).to_str().unwrap_or_default()],
            &mut ignore,
        )?;
    }
    let _ = milspec_host::kmod::unload(MODULE_NAME);
    ctl(&["load", "1.0.0"], &mut ignore)?;
    ctl(&["load", "1.0.1"], &mut ignore)?;

    // One round: the floor (the two syscalls on the store's files), then
    // `load` of the other version, then `rollback`: each a real swap, and
    // interleaved so that the host's load drifts over all three series alike
    // (run one after the other, a busy minute landed on one series only).
    // After a bare swap state.json names the version no longer loaded; `load`
    // finds the loaded module by its version, so it is a real swap too.
    let name = CString::new(MODULE_NAME).map_err(|e| e.to_string())?;
    let mut bare = Vec::new();
    let mut load_phases = Phases::new();
    let mut load = Vec::new();
    let mut rb_phases = Phases::new();
    let mut rollback = Vec::new();
    for _ in 0..SWAPS {
        let ko = PathBuf::from(STORE).join(other()).join("dell_milspec.ko");
        let t = Instant::now();
        bare_swap(&name, &ko)?;
        bare.push(t.elapsed());
        load.push(timed(&["load", other()], &mut load_phases)?);
        rollback.push(timed(&["rollback"], &mut rb_phases)?);
    }
    let mut full = Vec::new();
    for _ in 0..FULL {
        let v = other();
        let t = Instant::now();
        ctl(
            &["install", "--reinstall", ko(v).to_str().unwrap_or_default()],
            &mut ignore,
        )?;
        ctl(&["load", v], &mut ignore)?;
        ctl(&["verify"], &mut ignore)?;
        full.push(t.elapsed());
    }

    // The floor of any spawned milspecctl: exec, start, exit (clap prints the version).
    let mut spawn = Vec::new();
    for _ in 0..SWAPS {
        spawn.push(timed(&["--version"], &mut ignore)?);
    }
    let (b, l, r, f) = (median(bare), median(load), median(rollback), median(full));
    println!(
        "# bench: milspecctl --version (spawn, start, exit) median {:.1} ms",
        ms(median(spawn))
    );
    println!(
        "# bench: bare delete_module+finit_module median {:.1} ms; milspecctl load median {:.1} ms \
         (ratio {:.2}); milspecctl rollback median {:.1} ms (ratio {:.2}); \
         install+load+verify median {:.1} ms ({SWAPS} / {SWAPS} / {SWAPS} / {FULL} runs, TCG VM)",
        ms(b),
        ms(l),
        l.as_secs_f64() / b.as_secs_f64(),
        ms(r),
        r.as_secs_f64() / b.as_secs_f64(),
        ms(f),
    );
    print_phases("milspecctl load", &load_phases, SWAPS);
    print_phases("milspecctl rollback", &rb_phases, SWAPS);
    curves()
}
