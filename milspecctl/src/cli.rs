//! Command line of `milspecctl`: argument parsing, output (human or `--json`) and
//! exit codes. `main.rs` only calls [`run`].

use clap::{Parser, Subcommand};
use milspec_abi::{status_flags, EventKind, SecurityLevel};
use milspec_host::device::{Device, DeviceError};
use milspec_host::exit;
use milspec_host::kmod::{self, KmodError};
use milspec_host::paths::ModulePaths;
use milspec_host::snapshot::{Snapshot, SnapshotError};
use serde_json::{json, Value};
use std::io::Write;
use std::path::PathBuf;

const AFTER_HELP: &str = "\
Exit codes:
  0   done
  1   failed
  2   nothing to do (e.g. unload when not loaded, level already set)
  3   module not loaded
  4   the module's status file and ioctl disagree, or its ABI is not this tool's
  5   verification failed (audit log tampered, store file corrupt, verify)
  6   refused before touching anything (preflight failed, module pinned)
  7   the new version failed and the previous one was loaded again (rolled back)
  64  usage error

With --json, stdout carries exactly one JSON document (errors too, as
{\"error\": {\"kind\": ..., \"message\": ...}}) and nothing is printed on stderr.

Environment: MILSPEC_ROOT (as --root); MILSPEC_PROC_STATUS and MILSPEC_DEVICE
override /proc/milspec/status and /dev/milspec (for tests).";

/// Manage the dell_milspec kernel module.
#[derive(Debug, Parser)]
#[command(name = "milspecctl", version, after_help = AFTER_HELP)]
pub struct Cli {
    /// Print one JSON document on stdout instead of text.
    #[arg(long, global = true)]
    pub json: bool,

    /// Root for the module store and the audit log (<DIR>/var/lib/milspec,
    /// <DIR>/var/log/milspec); also MILSPEC_ROOT. Default: /.
    #[arg(
        long,
        global = true,
        value_name = "DIR",
        env = "MILSPEC_ROOT",
        default_value = "/"
    )]
    pub root: std::path::PathBuf,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show the module's status, read from /proc/milspec/status and the GET_INFO ioctl.
    Status,
    /// Load a version from the store as a transaction: preflight, checkpoint,
    /// unload the current module, load, verify, commit. If loading or verifying
    /// fails, the previous version is loaded again (exit 7).
    ///
    /// With --file, load that .ko directly instead (no store, no transaction).
    Load {
        /// Version to load (default: the newest installed).
        version: Option<String>,
        /// Load this .ko file directly, outside the store.
        #[arg(long, value_name = "PATH", conflicts_with = "version")]
        file: Option<PathBuf>,
        /// Module parameter, repeatable (e.g. --param force=1).
        #[arg(long = "param", value_name = "KEY=VALUE")]
        params: Vec<String>,
    },
    /// Load the previous deployment again (or --to VERSION), as a transaction.
    Rollback {
        /// Version to go to instead of the previous one.
        #[arg(long, value_name = "VERSION")]
        to: Option<String>,
        /// Allow --to a version older than the current one.
        #[arg(long)]
        allow_older: bool,
    },
    /// Check the deployed version: file hash, vermagic, signature, srcversion,
    /// status ABI, GET_INFO, kernel taint, audit log. Exit 5 if a mandatory check
    /// fails.
    Verify,
    /// Check whether a version (default: newest installed) can be loaded here.
    /// Exit 6 if a mandatory check fails.
    Preflight { version: Option<String> },
    /// Unload the module (delete_module, non-blocking like rmmod).
    Unload,
    /// Show the security level, or set it (needs CAP_SYS_ADMIN).
    ///
    /// Levels: disabled (0), standard (1), enhanced (2), paranoid (3),
    /// paranoid_plus (4). From paranoid up the level cannot be lowered until
    /// reboot, the module cannot be unloaded, and the allowlist is enforced.
    Level {
        /// New level (name or number); omit to show the current one.
        level: Option<String>,
    },
    /// List events from the module's event log (GET_EVENTS).
    Events {
        /// First sequence number to show (default: the oldest still held).
        #[arg(long, default_value_t = 1)]
        from: u64,
        /// At most this many events.
        #[arg(long, default_value_t = 256)]
        limit: u32,
    },
    /// List the Dell SMBIOS tokens (needs CAP_SYS_ADMIN).
    Tokens,
    /// Install a module file into the versioned store (checks that it is an x86_64
    /// ELF kernel module named dell_milspec and reads its .modinfo).
    ///
    /// With --from-dkms, install the module DKMS built for a kernel instead: it is
    /// stored as <version>+<kernel release>, so the builds for several kernels
    /// (and several versions) coexist and rollback works across DKMS rebuilds.
    Install {
        /// The .ko file.
        #[arg(required_unless_present = "from_dkms", conflicts_with = "from_dkms")]
        file: Option<PathBuf>,
        /// Replace a version that is already installed.
        #[arg(long)]
        reinstall: bool,
        /// Take the module from the DKMS tree (package "milspec").
        #[arg(long)]
        from_dkms: bool,
        /// Kernel release of the DKMS build (default: the running kernel).
        #[arg(long, value_name = "RELEASE", conflicts_with = "file")]
        kernel: Option<String>,
        /// DKMS package version (default: the newest built for that kernel).
        #[arg(long, value_name = "VERSION", conflicts_with = "file")]
        dkms_version: Option<String>,
        /// DKMS tree (default: <root>/var/lib/dkms).
        #[arg(long, value_name = "DIR", conflicts_with = "file")]
        dkms_tree: Option<PathBuf>,
    },
    /// List the versions in the store.
    List,
    /// Remove a version from the store.
    Remove {
        /// The version to remove.
        version: String,
    },
    /// Show the audit log: every action milspecctl took.
    History,
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions { shell: clap_complete::Shell },
    /// Print the man page (roff, section 8), generated from this help.
    Man,
    /// Check the audit log's hash chain.
    Audit {
        #[command(subcommand)]
        action: AuditAction,
    },
    /// Set or clear the module-load allowlist (needs CAP_SYS_ADMIN; only before the
    /// level is locked).
    Allowlist {
        #[command(subcommand)]
        action: AllowlistAction,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditAction {
    /// Verify that no line was edited, removed or reordered.
    Verify,
}

#[derive(Debug, Subcommand)]
pub enum AllowlistAction {
    /// Replace the list with these module names.
    Set {
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Empty the list (no enforcement).
    Clear,
}

/// Result of a command: exit code plus what to print.
pub(crate) struct Outcome {
    pub(crate) code: i32,
    pub(crate) json: Value,
    pub(crate) text: String,
}

/// A failure with a stable `kind` for `--json` consumers.
pub(crate) struct Failure {
    pub(crate) code: i32,
    pub(crate) kind: &'static str,
    pub(crate) message: String,
}

impl From<SnapshotError> for Failure {
    fn from(e: SnapshotError) -> Self {
        let kind = match e {
            SnapshotError::Read { .. } => "io",
            SnapshotError::Parse { .. } => "status_parse",
            SnapshotError::Device(DeviceError::Open { .. }) => "not_loaded",
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

pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
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
    let field = |k: &str| p.fields.get(k).map(String::as_str).unwrap_or("?");
    let mut text = format!(
        "{} {} (ABI {}) loaded\n  platform:  {} {} (BIOS {}), {}\n  level:     {}{}\n  events:    {} recorded, {} lost\n  tokens:    {} (Dell calling interface {})\n  allowlist: {}\n  lockdown:  {}, module signatures {}",
        milspec_abi::MODULE_NAME,
        p.module_version,
        p.abi_version,
        p.platform_vendor,
        p.platform_product,
        p.bios_version,
        p.platform_state.0.as_str(),
        field(milspec_abi::status_keys::SECURITY_LEVEL),
        if p.security_level_locked { ", locked until reboot" } else { "" },
        p.events_total,
        p.events_lost,
        p.tokens,
        field(milspec_abi::status_keys::SMBIOS_CALLING_INTERFACE),
        field(milspec_abi::status_keys::MODULE_LOAD_ALLOWLIST),
        field(milspec_abi::status_keys::KERNEL_LOCKDOWN),
        if field(milspec_abi::status_keys::MODULE_SIG_ENFORCE) == "yes" { "enforced" } else { "not enforced" },
    );
    for problem in &snap.problems {
        text.push_str("\n  PROBLEM:   ");
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

fn device(paths: &ModulePaths) -> Result<Device, Failure> {
    Device::open(&paths.device).map_err(|e| {
        let not_loaded = matches!(&e, DeviceError::Open { source, .. } if source.kind() == std::io::ErrorKind::NotFound);
        Failure {
            code: if not_loaded { exit::NOT_LOADED } else { exit::FAILURE },
            kind: if not_loaded { "not_loaded" } else { "device" },
            message: error_chain(&e),
        }
    })
}

fn ioctl_failure(e: DeviceError) -> Failure {
    let (kind, hint) = match &e {
        DeviceError::Ioctl {
            source: nix::errno::Errno::EPERM,
            ..
        } => (
            "permission_denied",
            " (needs CAP_SYS_ADMIN; or the level is locked and cannot be lowered)",
        ),
        DeviceError::Ioctl {
            source: nix::errno::Errno::EBUSY,
            ..
        } => ("locked", " (the security level is locked until reboot)"),
        DeviceError::Ioctl {
            source: nix::errno::Errno::EINVAL,
            ..
        } => ("invalid_argument", ""),
        _ => ("device", ""),
    };
    Failure {
        code: if kind == "invalid_argument" {
            exit::USAGE
        } else {
            exit::FAILURE
        },
        kind,
        message: format!("{}{hint}", error_chain(&e)),
    }
}

fn level(paths: &ModulePaths, requested: Option<&str>) -> Result<Outcome, Failure> {
    let dev = device(paths)?;
    let current = dev.status().map_err(ioctl_failure)?;
    let cur = SecurityLevel::from_u32(current.security_level)
        .map(SecurityLevel::as_str)
        .unwrap_or("unknown");
    let locked = current.flags & status_flags::LEVEL_LOCKED != 0;
    let Some(requested) = requested else {
        return Ok(Outcome {
            code: exit::OK,
            json: json!({ "security_level": cur, "number": current.security_level, "locked": locked }),
            text: format!(
                "{cur} ({}){}",
                current.security_level,
                if locked { ", locked until reboot" } else { "" }
            ),
        });
    };
    let new = SecurityLevel::parse(requested).ok_or_else(|| Failure {
        code: exit::USAGE,
        kind: "usage",
        message: format!("unknown level {requested:?}: use disabled, standard, enhanced, paranoid, paranoid_plus or 0-4"),
    })?;
    if new as u32 == current.security_level {
        return Ok(Outcome {
            code: exit::NOTHING_TO_DO,
            json: json!({ "security_level": new.as_str(), "changed": false }),
            text: format!("already {}: nothing to do", new.as_str()),
        });
    }
    dev.set_level(new).map_err(ioctl_failure)?;
    Ok(Outcome {
        code: exit::OK,
        json: json!({ "security_level": new.as_str(), "previous": cur, "changed": true }),
        text: format!(
            "security level {cur} -> {}{}",
            new.as_str(),
            if new.is_locking() {
                " (locked until reboot; module pinned)"
            } else {
                ""
            }
        ),
    })
}

fn event_json(e: &milspec_abi::Event) -> serde_json::Value {
    json!({
        "seq": e.seq,
        "timestamp_ns": e.timestamp_ns,
        "kind": EventKind::from_u32(e.kind).map(EventKind::as_str).unwrap_or("unknown"),
        "uid": e.uid,
        "pid": e.pid,
        "arg0": e.arg0,
        "arg1": e.arg1,
        "name": milspec_abi::fixed_str_get(&e.name).unwrap_or(""),
    })
}

fn event_line(e: &milspec_abi::Event) -> String {
    let kind = EventKind::from_u32(e.kind);
    let name = milspec_abi::fixed_str_get(&e.name).unwrap_or("?");
    let level = |v: u32| {
        SecurityLevel::from_u32(v)
            .map(SecurityLevel::as_str)
            .unwrap_or("?")
    };
    let detail = match kind {
        Some(EventKind::LevelChanged) => format!("{} -> {}", level(e.arg0), level(e.arg1)),
        Some(EventKind::AllowlistChanged) => format!("{} entries", e.arg1),
        Some(EventKind::IoctlDenied) => format!("cmd {:#x}", e.arg0),
        _ => name.to_owned(),
    };
    format!(
        "#{:<6} {:>8}.{:06} {:<20} uid={} pid={} {}",
        e.seq,
        e.timestamp_ns / 1_000_000_000,
        e.timestamp_ns / 1000 % 1_000_000,
        kind.map(EventKind::as_str).unwrap_or("unknown"),
        e.uid,
        e.pid,
        detail
    )
}

fn events(paths: &ModulePaths, from: u64, limit: u32) -> Result<Outcome, Failure> {
    let dev = device(paths)?;
    let batch = dev
        .events(from, limit.min(milspec_abi::EVENTS_MAX_PER_CALL))
        .map_err(ioctl_failure)?;
    let mut text: Vec<String> = Vec::new();
    if batch.gap {
        text.push(format!(
            "(events before #{} were overwritten)",
            batch.oldest_seq
        ));
    }
    text.extend(batch.events.iter().map(event_line));
    if batch.events.is_empty() {
        text.push("no events".into());
    }
    Ok(Outcome {
        code: exit::OK,
        json: json!({
            "events": batch.events.iter().map(event_json).collect::<Vec<_>>(),
            "next_seq": batch.next_seq,
            "oldest_seq": batch.oldest_seq,
            "gap": batch.gap,
        }),
        text: text.join("\n"),
    })
}

fn tokens(paths: &ModulePaths) -> Result<Outcome, Failure> {
    let table = device(paths)?.tokens().map_err(ioctl_failure)?;
    let state = milspec_abi::SmbiosState::from_u32(table.state)
        .map(|s| s.as_str())
        .unwrap_or("unknown");
    let mut text = vec![format!(
        "calling interface: {state}, {} tokens",
        table.tokens.len()
    )];
    text.extend(
        table
            .tokens
            .iter()
            .map(|t| format!("{:#06x} {:#06x} {:#06x}", t.id, t.location, t.value)),
    );
    Ok(Outcome {
        code: exit::OK,
        json: json!({
            "state": state,
            "tokens": table.tokens.iter().map(|t| json!({"id": t.id, "location": t.location, "value": t.value})).collect::<Vec<_>>(),
        }),
        text: text.join("\n"),
    })
}

fn allowlist(paths: &ModulePaths, action: &AllowlistAction) -> Result<Outcome, Failure> {
    let names: Vec<&str> = match action {
        AllowlistAction::Set { names } => names.iter().map(String::as_str).collect(),
        AllowlistAction::Clear => Vec::new(),
    };
    device(paths)?
        .set_allowlist(&names)
        .map_err(ioctl_failure)?;
    Ok(Outcome {
        code: exit::OK,
        json: json!({ "allowlist": names }),
        text: if names.is_empty() {
            "allowlist cleared".into()
        } else {
            format!("allowlist: {}", names.join(" "))
        },
    })
}

fn load(file: &std::path::Path, params: &[String]) -> Result<Outcome, Failure> {
    if let Err(e) = kmod::load_file(file, params) {
        let mut f = Failure::from(e);
        // The kernel only says ENOEXEC; say which check it most likely was.
        if let Some(hint) = vermagic_hint(file) {
            f.message = format!("{}; {hint}", f.message);
        }
        return Err(f);
    }
    Ok(Outcome {
        code: exit::OK,
        json: json!({ "loaded": file.display().to_string(), "params": params }),
        text: format!("loaded {}", file.display()),
    })
}

/// The vermagic check's message when `file` was built for another kernel.
fn vermagic_hint(file: &std::path::Path) -> Option<String> {
    let bytes = std::fs::read(file).ok()?;
    let m = milspec_host::modfile::inspect(&bytes).ok()?;
    let running = milspec_host::txn::Host::real().release();
    let c = milspec_host::txn::vermagic_check(
        milspec_host::modfile::vermagic_release(&m.vermagic),
        &running,
    );
    (!c.ok).then_some(c.detail)
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
        Command::Load {
            file: Some(file),
            params,
            ..
        } => load(file, params),
        Command::Load {
            file: None,
            version,
            params,
        } => crate::store_cmds::deploy(&cli.root, version.as_deref(), params),
        Command::Rollback { to, allow_older } => {
            crate::store_cmds::rollback(&cli.root, to.as_deref(), *allow_older)
        }
        Command::Verify => crate::store_cmds::verify(&cli.root),
        Command::Preflight { version } => {
            crate::store_cmds::preflight(&cli.root, version.as_deref())
        }
        Command::Unload => unload(),
        Command::Level { level: l } => level(&paths, l.as_deref()),
        Command::Events { from, limit } => events(&paths, *from, *limit),
        Command::Tokens => tokens(&paths),
        Command::Allowlist { action } => allowlist(&paths, action),
        Command::Install {
            file: Some(file),
            reinstall,
            ..
        } => crate::store_cmds::install(&cli.root, file, *reinstall),
        Command::Install {
            file: None,
            reinstall,
            kernel,
            dkms_version,
            dkms_tree,
            ..
        } => crate::store_cmds::install_from_dkms(
            &cli.root,
            dkms_tree.as_deref(),
            kernel.as_deref(),
            dkms_version.as_deref(),
            *reinstall,
        ),
        Command::List => crate::store_cmds::list(&cli.root),
        Command::Remove { version } => crate::store_cmds::remove(&cli.root, version),
        Command::History => crate::store_cmds::history(&cli.root),
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut buf = Vec::new();
            clap_complete::generate(*shell, &mut cmd, "milspecctl", &mut buf);
            let _ = stdout.write_all(&buf);
            return exit::OK;
        }
        Command::Man => {
            let cmd = <Cli as clap::CommandFactory>::command();
            let mut buf = Vec::new();
            // Section 8: milspecctl is an administration command, installed in /usr/sbin.
            return match clap_mangen::Man::new(cmd).section("8").render(&mut buf) {
                Ok(()) => {
                    let _ = stdout.write_all(&buf);
                    exit::OK
                }
                Err(e) => {
                    let _ = writeln!(stderr, "milspecctl: {e}");
                    exit::FAILURE
                }
            };
        }
        Command::Audit {
            action: AuditAction::Verify,
        } => crate::store_cmds::audit_verify(&cli.root),
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
    fn completions_and_man_page_are_generated() {
        let (code, out, _) = run_capture(&["completions", "bash"]);
        assert_eq!(code, 0);
        assert!(out.contains("milspecctl") && out.contains("rollback"));
        let (code, out, _) = run_capture(&["man"]);
        assert_eq!(code, 0);
        assert!(
            out.contains(".TH milspecctl 8 ") && out.contains("preflight"),
            "{out}"
        );
        let (code, _, _) = run_capture(&["completions", "tcsh"]);
        assert_eq!(code, exit::USAGE);
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
