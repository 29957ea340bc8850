//! In-guest test suite against the real `dell_milspec` module. Prints TAP-style
//! lines (`ok - name` / `not ok - name: why`) that the VM harness counts, and
//! `# ...` lines with figures; exits 1 if any test failed.
//!
//! Usage: milspec-guest-tests [options] [GROUP...]
//!   groups: basic api (default), tokens, fuzz, fuzz-user, stress, race, paranoid, bench,
//!           daemon-bench, daemon-rates, daemon-load
//!   --expect-state supported|forced    platform state the VM should produce
//!   --expect-tokens ID:LOC:VAL,...     tokens (hex) the SMBIOS fixture holds, or "none"
//!   --expect-smbios STATE              present (default) | absent | invalid
//!   --fuzz-iters N (1000000)  --fuzz-seed N  --fuzz-allow-locking
//!   --stress-threads N (8)  --stress-ops N (100000)
//!   --ko PATH (race: the module file)  --race-rounds N (200)
//!   --test-modules DIR (paranoid: milspec_probe_{ok,denied}.ko)
//!   --idle-secs N (daemon-bench: idle period measured, 60)
//!   --refusals N (refusals: refused SET_LEVEL calls as uid 1000, 100000)
//!   group refuse-tokens: 3 refused GET_TOKENS calls as uid 1000 (for daemon.sh)
//!   --writers N (8)  --load-secs N (60)  --metrics FILE (daemon-load: milspecd's
//!           textfile, /run/milspec/milspec.prom)

mod api;
mod basic;
mod bench;
mod daemon_bench;
mod daemon_rates;
mod event_load;
mod fuzz;
mod paranoid;
mod refusals;
mod stress;
mod util;

use milspec_abi::PlatformState;
use std::path::PathBuf;
use util::TestResult;

pub struct Config {
    pub expect_state: PlatformState,
    pub expect_tokens: Vec<(u16, u16, u16)>,
    pub expect_smbios: Option<String>,
    pub milspecctl: String,
    pub milspecd: String,
    fuzz_iters: u64,
    fuzz_seed: u64,
    fuzz_allow_locking: bool,
    stress_threads: usize,
    stress_ops: u64,
    ko: PathBuf,
    race_rounds: u32,
    test_modules: PathBuf,
    idle_secs: u64,
    refusals: u64,
    writers: usize,
    load_secs: u64,
    metrics: PathBuf,
}

type Test = (&'static str, Box<dyn Fn(&Config) -> TestResult>);

fn group(name: &str) -> Option<Vec<Test>> {
    fn t(name: &'static str, f: impl Fn(&Config) -> TestResult + 'static) -> Test {
        (name, Box::new(f))
    }
    Some(match name {
        "basic" => vec![
            t(
                "status file has every key in order",
                basic::status_file_has_every_key_in_order,
            ),
            t(
                "status matches the VM's SMBIOS",
                basic::status_matches_smbios_of_the_vm,
            ),
            t(
                "GET_INFO agrees with the status file",
                basic::get_info_agrees_with_status_file,
            ),
            t(
                "GET_INFO fills the whole struct",
                basic::get_info_fills_the_whole_struct,
            ),
            t(
                "unknown ioctls return ENOTTY",
                basic::unknown_ioctls_are_enotty,
            ),
            t("bad pointers return EFAULT", basic::bad_pointers_are_efault),
            t(
                "read-only buffer returns EFAULT",
                basic::read_only_page_is_efault_and_unchanged,
            ),
            t(
                "malformed requests return EINVAL",
                basic::malformed_requests_are_einval,
            ),
            t(
                "device and status file modes",
                basic::nodes_have_documented_modes,
            ),
            t(
                "unprivileged user can query",
                basic::unprivileged_user_can_query,
            ),
            t("milspecctl --json status", basic::milspecctl_status_json),
            t("milspecd --once verdict", basic::milspecd_once_verdict),
        ],
        "api" => vec![
            t(
                "GET_STATUS agrees with the status file",
                api::get_status_agrees_with_status_file,
            ),
            t(
                "level changes are events with uid and pid",
                api::level_changes_are_events,
            ),
            t("events are gapless and ordered", api::events_are_ordered),
            t(
                "ring overflow is counted and reported as a gap",
                api::overflow_is_counted_and_visible,
            ),
            t(
                "poll wakes on a new event; read returns it",
                api::poll_wakes_and_read_returns_events,
            ),
            t(
                "uid 1000: EPERM for every change, queries work",
                api::unprivileged_gets_eperm_for_changes,
            ),
            t(
                "every command rejects bad sizes, ranges, pointers",
                api::every_command_rejects_bad_input,
            ),
            t(
                "C client (dell_milspec.h) agrees with the Rust client",
                api::c_client_agrees,
            ),
        ],
        "tokens" => vec![t(
            "tokens match the SMBIOS fixture",
            api::tokens_match_fixture,
        )],
        "fuzz" => vec![t("random ioctls as root", |c: &Config| {
            fuzz::run(c.fuzz_iters, c.fuzz_seed, c.fuzz_allow_locking)
        })],
        "fuzz-user" => vec![t("random ioctls as uid 1000", |c: &Config| {
            let iters = c.fuzz_iters.to_string();
            util::run_as(1000, &["--as-user-fuzz", &iters])
        })],
        "stress" => vec![t(
            "concurrent mixed ioctls with a poll reader",
            |c: &Config| stress::mixed_ioctls_with_reader(c.stress_threads, c.stress_ops),
        )],
        "race" => vec![t("unload races open/ioctl/close", |c: &Config| {
            stress::unload_races_open_ioctl_close(&c.ko, c.race_rounds)
        })],
        "bench" => vec![t("deployment benchmark (figures only)", |_: &Config| {
            bench::run(std::path::Path::new("/lib/milspec/versions"))
        })],
        "daemon-bench" => vec![t(
            "milspecd event latency, RSS, idle wakeups (figures; idle must not wake)",
            |c: &Config| daemon_bench::run(c.idle_secs),
        )],
        "daemon-rates" => vec![t(
            "milspecd at 10 to 20,000 events/s: every event handled or reported lost (figures)",
            |_: &Config| daemon_rates::run(),
        )],
        "refusals" => vec![t(
            "uid 1000's refused calls evict no event, are exact counts",
            |c: &Config| refusals::flood_keeps_every_root_event(c.refusals),
        )],
        "refuse-tokens" => vec![t("uid 1000: 3 refused GET_TOKENS calls", |_: &Config| {
            util::run_as(1000, &["--as-user-refuse", "get_tokens", "3"])
        })],
        "daemon-load" => vec![t(
            "milspecd under load: every event handled or reported lost, peak RSS <= 10 MiB",
            |c: &Config| event_load::run(c.writers, c.load_secs, &c.metrics),
        )],
        "paranoid" => vec![t(
            "paranoid: ratchet, pinning, allowlist enforcement",
            |c: &Config| paranoid::ratchet_pin_and_allowlist(&c.test_modules),
        )],
        _ => return None,
    })
}

fn parse_tokens(s: &str) -> Vec<(u16, u16, u16)> {
    if s == "none" {
        return Vec::new();
    }
    s.split(',')
        .map(|t| {
            let p: Vec<u16> = t
                .split(':')
                .map(|x| {
                    u16::from_str_radix(x.trim_start_matches("0x"), 16)
                        .unwrap_or_else(|_| usage(&format!("bad token {t}")))
                })
                .collect();
            match p[..] {
                [a, b, c] => (a, b, c),
                _ => usage(&format!("bad token {t}")),
            }
        })
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--as-nobody-query") => std::process::exit(basic::nobody_query()),
        Some("--as-user-checks") => exit_with(api::user_checks()),
        Some("--as-user-refuse") => {
            let cmd = match args.get(1).map(String::as_str) {
                Some("get_tokens") => milspec_abi::IOC_GET_TOKENS,
                _ => milspec_abi::IOC_SET_LEVEL,
            };
            let n = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1);
            exit_with(refusals::user_refuse(cmd, n))
        }
        Some("--as-user-fuzz") => {
            let iters = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1000);
            exit_with(fuzz::run(iters, 0x00F0_0D5E, false))
        }
        _ => {}
    }
    let mut cfg = Config {
        expect_state: PlatformState::Supported,
        expect_tokens: Vec::new(),
        expect_smbios: None,
        milspecctl: "/bin/milspecctl".into(),
        milspecd: "/bin/milspecd".into(),
        fuzz_iters: 1_000_000,
        fuzz_seed: 0x5EED,
        fuzz_allow_locking: false,
        stress_threads: 8,
        stress_ops: 100_000,
        ko: "/lib/milspec/dell_milspec.ko".into(),
        race_rounds: 200,
        idle_secs: 60,
        refusals: 100_000,
        writers: 8,
        load_secs: 60,
        metrics: "/run/milspec/milspec.prom".into(),
        test_modules: "/lib/milspec/test".into(),
    };
    let mut groups = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = || {
            it.next()
                .cloned()
                .unwrap_or_else(|| usage(&format!("{a} needs a value")))
        };
        let num = |v: String| {
            v.parse::<u64>()
                .unwrap_or_else(|_| usage(&format!("{a}: not a number")))
        };
        match a.as_str() {
            "--expect-state" => {
                let v = val();
                cfg.expect_state =
                    PlatformState::parse(&v).unwrap_or_else(|| usage(&format!("bad state {v}")))
            }
            "--expect-tokens" => cfg.expect_tokens = parse_tokens(&val()),
            "--expect-smbios" => cfg.expect_smbios = Some(val()),
            "--milspecctl" => cfg.milspecctl = val(),
            "--milspecd" => cfg.milspecd = val(),
            "--fuzz-iters" => cfg.fuzz_iters = num(val()),
            "--fuzz-seed" => cfg.fuzz_seed = num(val()),
            "--fuzz-allow-locking" => cfg.fuzz_allow_locking = true,
            "--stress-threads" => cfg.stress_threads = num(val()) as usize,
            "--stress-ops" => cfg.stress_ops = num(val()),
            "--ko" => cfg.ko = val().into(),
            "--race-rounds" => cfg.race_rounds = num(val()) as u32,
            "--idle-secs" => cfg.idle_secs = num(val()),
            "--refusals" => cfg.refusals = num(val()),
            "--writers" => cfg.writers = num(val()) as usize,
            "--load-secs" => cfg.load_secs = num(val()),
            "--metrics" => cfg.metrics = val().into(),
            "--test-modules" => cfg.test_modules = val().into(),
            g if !g.starts_with('-') => groups.push(g.to_owned()),
            other => usage(&format!("unknown option {other}")),
        }
    }
    if groups.is_empty() {
        groups = vec!["basic".into(), "api".into()];
    }
    let mut failed = 0;
    for g in &groups {
        let tests = group(g).unwrap_or_else(|| usage(&format!("unknown group {g}")));
        for (name, test) in tests {
            match test(&cfg) {
                Ok(()) => println!("ok - {name}"),
                Err(why) => {
                    failed += 1;
                    println!("not ok - {name}: {why}");
                }
            }
        }
    }
    std::process::exit(if failed == 0 { 0 } else { 1 });
}

fn exit_with(r: TestResult) -> ! {
    match r {
        Ok(()) => std::process::exit(0),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1)
        }
    }
}

fn usage(msg: &str) -> ! {
    eprintln!("milspec-guest-tests: {msg}");
    std::process::exit(64);
}
