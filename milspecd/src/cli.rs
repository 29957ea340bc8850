//! Command line of `milspecd`.

use crate::verdict::assess;
use clap::Parser;
use milspecctl::paths::ModulePaths;
use milspecctl::snapshot::Snapshot;
use std::io::Write;

/// Usage error exit code (sysexits.h `EX_USAGE`).
pub const EXIT_USAGE: i32 = 64;

const AFTER_HELP: &str = "\
Exit codes of --once: 0 healthy, 1 degraded, 2 unhealthy, 64 usage error.

Only --once is implemented so far; the long-running, event-driven service mode
(systemd notify, policy, metrics) is not present yet.";

/// Health and policy daemon for the dell_milspec kernel module.
#[derive(Debug, Parser)]
#[command(name = "milspecd", version, after_help = AFTER_HELP)]
pub struct Cli {
    /// Read the module's state once, print a health verdict and exit.
    #[arg(long)]
    pub once: bool,
    /// Print the verdict as one JSON document.
    #[arg(long)]
    pub json: bool,
}

/// Runs `milspecd` with `args`; returns the exit code.
pub fn run<I, T>(args: I, stdout: &mut dyn Write, stderr: &mut dyn Write) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                let _ = write!(stdout, "{e}");
                return 0;
            }
            let _ = write!(stderr, "{}", e.render());
            return EXIT_USAGE;
        }
    };
    if !cli.once {
        let _ = writeln!(
            stderr,
            "milspecd: service mode is not implemented yet; use --once"
        );
        return EXIT_USAGE;
    }
    let verdict = assess(&Snapshot::take(&ModulePaths::from_env()));
    let _ = if cli.json {
        writeln!(
            stdout,
            "{}",
            serde_json::to_string(&verdict).unwrap_or_else(|e| format!(
                "{{\"error\":{{\"kind\":\"internal\",\"message\":\"{e}\"}}}}"
            ))
        )
    } else {
        writeln!(stdout, "{}", verdict.summary())
    };
    verdict.health.exit_code()
}
