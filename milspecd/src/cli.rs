//! Command line of `milspecd`.

use crate::policy::{Policy, DEFAULT_POLICY_PATH};
use crate::service::{Options, PolicyHolder, Service, EXIT_CONFIG};
use crate::verdict::assess;
use clap::Parser;
use milspec_host::paths::ModulePaths;
use milspec_host::snapshot::Snapshot;
use std::io::Write;
use std::path::PathBuf;

/// Usage error exit code (sysexits.h `EX_USAGE`).
pub const EXIT_USAGE: i32 = 64;

const AFTER_HELP: &str = "\
Without --once or --check-config, milspecd runs as a service (systemd Type=notify):
it waits in poll() on /dev/milspec, enforces the policy, writes health.json and
metrics, reloads the policy on SIGHUP and releases the device on SIGUSR1 (sent by
milspecctl before an unload). Log level: MILSPECD_LOG=error|warn|info|debug.

Exit codes: service 0 stopped cleanly, 1 runtime failure, 78 invalid policy;
--once 0 healthy, 1 degraded, 2 unhealthy; --check-config 0 valid, 78 invalid;
64 usage error.";

/// Health and policy daemon for the dell_milspec kernel module.
#[derive(Debug, Parser)]
#[command(name = "milspecd", version, after_help = AFTER_HELP)]
pub struct Cli {
    /// Read the module's state once, print a health verdict and exit.
    #[arg(long)]
    pub once: bool,
    /// Print the verdict as one JSON document (with --once).
    #[arg(long, requires = "once")]
    pub json: bool,
    /// Validate a policy file and exit.
    #[arg(long, value_name = "FILE", conflicts_with = "once")]
    pub check_config: Option<PathBuf>,
    /// The policy file.
    #[arg(long, value_name = "FILE", env = "MILSPECD_POLICY", default_value = DEFAULT_POLICY_PATH)]
    pub policy: PathBuf,
    /// Directory for runtime state (the event cursor).
    #[arg(
        long,
        value_name = "DIR",
        env = "MILSPECD_RUNTIME_DIR",
        default_value = "/run/milspec"
    )]
    pub runtime_dir: PathBuf,
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
    if let Some(path) = &cli.check_config {
        return match Policy::load(path) {
            Ok(_) => {
                let _ = writeln!(stdout, "{}: valid", path.display());
                0
            }
            Err(e) => {
                let _ = writeln!(stderr, "milspecd: {e}");
                EXIT_CONFIG
            }
        };
    }
    if !cli.once {
        return serve(&cli, stderr);
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

/// The service mode.
fn serve(cli: &Cli, stderr: &mut dyn Write) -> i32 {
    crate::logging::init();
    let policy = match PolicyHolder::load(&cli.policy) {
        Ok(p) => p,
        Err(e) => {
            let _ = writeln!(stderr, "milspecd: refusing to start: {e}");
            return EXIT_CONFIG;
        }
    };
    tracing::info!(
        "milspecd {} starting with policy {}",
        env!("CARGO_PKG_VERSION"),
        cli.policy.display()
    );
    let opts = Options::system(cli.policy.clone(), cli.runtime_dir.clone());
    match Service::start(opts, policy) {
        Ok(mut svc) => {
            svc.drop_privileges();
            svc.run()
        }
        Err(e) => {
            tracing::error!("cannot start: {e}");
            1
        }
    }
}
