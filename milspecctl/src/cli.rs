//! Command line of `milspecctl`: argument parsing, output (human or `--json`) and
//! exit codes. `main.rs` only calls [`run`].

use crate::exit;
use crate::kmod::{self, KmodError};
use crate::paths::ModulePaths;
use crate::snapshot::{Snapshot, SnapshotError};
use clap::{Parser, Subcommand};
use serde_json::{json, Value};
use std::io::Write;
use std::path::PathBuf;

const AFTER_HELP: &str = "\
Exit codes:
  0   done
  1   failed
  2   nothing to do (e.g. unload when not loaded)
  3   module not loaded (status)
  4   the module's status file and ioctl disagree, or its ABI is not this tool's
  64  usage error

With --json, stdout carries exactly one JSON document (errors too, as
{\"error\": {\"kind\": ..., \"message\": ...}}) and nothing is printed on stderr.

Environment: MILSPEC_PROC_STATUS and MILSPEC_DEVICE override /proc/milspec/status
and /dev/milspec (for tests).";

/// Manage the dell_milspec kernel module.
#[derive(Debug, Parser)]
#[command(name = "milspecctl", version, after_help = AFTER_HELP)]
pub struct Cli {
    /// Print one JSON document on stdout instead of text.
    #[arg(long, global = true)]
    pub json: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show the module's status, read from /proc/milspec/status and the GET_INFO ioctl.
    Status,
    /// Load a module file into the running kernel (finit_module).
    ///
    /// This loads the given file directly; the versioned module store is not
    /// implemented yet.
    Load {
        /// The .ko file to load.
        #[arg(long, value_name = "PATH")]
        file: PathBuf,
        /// Module parameter, repeatable (e.g. --param force=1).
        #[arg(long = "param", value_name = "KEY=VALUE")]
        params: Vec<String>,
    },
    /// Unload the module (delete_module, non-blocking like rmmod).
    Unload,
}

/// Result of a command: exit code plus what to print.
struct Outcome {
    code: i32,
    json: Value,
    text: String,
}

/// A failure with a stable `kind` for `--json` consumers.
struct Failure {
    code: i32,
    kind: &'static str,
    message: String,
}

impl From<SnapshotError> for Failure {
    fn from(e: SnapshotError) -> Self {
        let kind = match e {
            SnapshotError::Read { .. } => "io",
            SnapshotError::Parse { .. } => "status_parse",
            SnapshotError::Device(_) => "device",
        };
        Failure {
            code: exit::FAILURE,
            kind,
            message: error_chain(&e),
        }
    }
}

impl From<KmodError> for Failure {
    fn from(e: KmodError) -> Self {
        let kind = match e {
            KmodError::Open { .. } => "io",
            KmodError::BadParam(_) => "usage",
            KmodError::Load { .. } | KmodError::Unload { .. } => "kernel_refused",
        };
        let code = if kind == "usage" {
            exit::USAGE
        } else {
            exit::FAILURE
        };
        Failure {
            code,
            kind,
            message: error_chain(&e),
        }
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut msg = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        let part = s.to_string();
        if !msg.contains(&part) {
            msg.push_str(": ");
            msg.push_str(&part);
        }
        src = s.source();
    }
    msg
}

fn status(paths: &ModulePaths) -> Result<Outcome, Failure> {
    let Some(snap) = Snapshot::take(paths)? else {
        return Ok(Outcome {
            code: exit::NOT_LOADED,
            json: json!({ "module_loaded": false }),
            text: format!("{} is not loaded", milspec_abi::MODULE_NAME),
        });
    };
    let p = &snap.proc;
    let mut text = format!(
        "{} {} (ABI {}) loaded\n  platform: {} {} (BIOS {})\n  state:    {}",
        milspec_abi::MODULE_NAME,
        p.module_version,
        p.abi_version,
        p.platform_vendor,
        p.platform_product,
        p.bios_version,
        p.platform_state.0.as_str(),
    );
    for problem in &snap.problems {
        text.push_str("\n  PROBLEM:  ");
        text.push_str(problem);
    }
    Ok(Outcome {
        code: if snap.is_consistent() {
            exit::OK
        } else {
            exit::INCONSISTENT
        },
        json: json!({
            "module_loaded": true,
            "consistent": snap.is_consistent(),
            "status": p.fields,
            "info": snap.info,
            "problems": snap.problems,
        }),
        text,
    })
}

fn load(file: &std::path::Path, params: &[String]) -> Result<Outcome, Failure> {
    kmod::load_file(file, params)?;
    Ok(Outcome {
        code: exit::OK,
        json: json!({ "loaded": file.display().to_string(), "params": params }),
        text: format!("loaded {}", file.display()),
    })
}

fn unload() -> Result<Outcome, Failure> {
    let name = milspec_abi::MODULE_NAME;
    Ok(if kmod::unload(name)? {
        Outcome {
            code: exit::OK,
            json: json!({ "unloaded": name }),
            text: format!("unloaded {name}"),
        }
    } else {
        Outcome {
            code: exit::NOTHING_TO_DO,
            json: json!({ "unloaded": null, "reason": "not loaded" }),
            text: format!("{name} is not loaded: nothing to do"),
        }
    })
}

/// Parses `args`, runs the command, prints its result and returns the exit code.
pub fn run<I, T>(args: I, stdout: &mut dyn Write, stderr: &mut dyn Write) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let args: Vec<std::ffi::OsString> = args.into_iter().map(Into::into).collect();
    let json_wanted = args.iter().any(|a| a == "--json");
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                let _ = write!(stdout, "{e}");
                return exit::OK;
            }
            if json_wanted {
                let doc = json!({"error": {"kind": "usage", "message": e.to_string().trim()}});
                let _ = writeln!(stdout, "{doc}");
            } else {
                let _ = write!(stderr, "{}", e.render());
            }
            return exit::USAGE;
        }
    };
    let paths = ModulePaths::from_env();
    let result = match &cli.command {
        Command::Status => status(&paths),
        Command::Load { file, params } => load(file, params),
        Command::Unload => unload(),
    };
    match result {
        Ok(out) => {
            let _ = if cli.json {
                writeln!(stdout, "{}", out.json)
            } else {
                writeln!(stdout, "{}", out.text)
            };
            out.code
        }
        Err(f) => {
            if cli.json {
                let doc = json!({"error": {"kind": f.kind, "message": f.message}});
                let _ = writeln!(stdout, "{doc}");
            } else {
                let _ = writeln!(stderr, "milspecctl: {}", f.message);
            }
            f.code
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_capture(args: &[&str]) -> (i32, String, String) {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = run(
            std::iter::once("milspecctl").chain(args.iter().copied()),
            &mut out,
            &mut err,
        );
        (
            code,
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }

    #[test]
    fn usage_error_exits_64_and_json_stays_on_stdout() {
        let (code, out, err) = run_capture(&["frobnicate"]);
        assert_eq!(code, exit::USAGE);
        assert!(out.is_empty() && err.contains("frobnicate"));
        let (code, out, err) = run_capture(&["--json", "frobnicate"]);
        assert_eq!(code, exit::USAGE);
        assert!(err.is_empty());
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["error"]["kind"], "usage");
    }

    #[test]
    fn help_mentions_exit_codes() {
        let (code, out, _) = run_capture(&["--help"]);
        assert_eq!(code, 0);
        assert!(out.contains("Exit codes") && out.contains("64"));
    }

    #[test]
    fn bad_param_is_a_usage_error_before_touching_the_kernel() {
        let (code, out, _) = run_capture(&["--json", "load", "--file", "/x.ko", "--param", "oops"]);
        assert_eq!(code, exit::USAGE, "{out}");
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["error"]["kind"], "usage");
    }
}
