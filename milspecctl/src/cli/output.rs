//! What a command prints and returns: an [`Outcome`] (exit code, JSON, text) or
//! a failure (`milspec_host::error::Error`, whose kind gives the JSON
//! `error.kind` and the exit code), and the device-error mapping of the device
//! commands.

use milspec_host::device::{Device, DeviceError};
use milspec_host::error::{error_chain, Error, ErrorKind};
use milspec_host::paths::ModulePaths;
use milspec_host::txn::Check;
use serde_json::{json, Value};
use std::io::Write;

/// Result of a command: exit code plus what to print.
pub(crate) struct Outcome {
    pub(crate) code: i32,
    pub(crate) json: Value,
    pub(crate) text: String,
}

/// What a command returns.
pub(crate) type CmdResult = Result<Outcome, Error>;

/// Prints `result` (JSON on stdout with `--json`; otherwise text on stdout,
/// errors on stderr) and returns the exit code.
pub(crate) fn emit(
    result: CmdResult,
    json_mode: bool,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> i32 {
    match result {
        Ok(out) => {
            let _ = if json_mode {
                writeln!(stdout, "{}", out.json)
            } else {
                writeln!(stdout, "{}", out.text)
            };
            out.code
        }
        Err(f) => {
            if json_mode {
                let _ = writeln!(stdout, "{}", error_json(f.kind, &f.message));
            } else {
                let _ = writeln!(stderr, "milspecctl: {}", f.message);
            }
            f.exit_code()
        }
    }
}

/// `{"error": {"kind": ..., "message": ...}}`.
pub(crate) fn error_json(kind: ErrorKind, message: &str) -> Value {
    json!({"error": {"kind": kind.as_str(), "message": message}})
}

/// Opens the device; a missing device means the module is not loaded.
pub(crate) fn device(paths: &ModulePaths) -> Result<Device, Error> {
    Device::open(&paths.device).map_err(|e| {
        let not_loaded = matches!(&e, DeviceError::Open { source, .. } if source.kind() == std::io::ErrorKind::NotFound);
        Error::from_source(
            if not_loaded {
                ErrorKind::NotLoaded
            } else {
                ErrorKind::Device
            },
            &e,
        )
    })
}

/// A failed ioctl, with a hint for the errnos people hit.
pub(crate) fn ioctl_failure(e: DeviceError) -> Error {
    use nix::errno::Errno;
    let errno = match &e {
        DeviceError::Ioctl { source, .. } => Some(*source),
        _ => None,
    };
    let (kind, hint) = match errno {
        Some(Errno::EPERM) => (
            ErrorKind::PermissionDenied,
            " (needs CAP_SYS_ADMIN; or the level is locked and cannot be lowered)",
        ),
        Some(Errno::EBUSY) => (
            ErrorKind::Locked,
            " (the security level is locked until reboot)",
        ),
        Some(Errno::EINVAL) => (ErrorKind::InvalidArgument, ""),
        _ => (ErrorKind::Device, ""),
    };
    Error::new(kind, format!("{}{hint}", error_chain(&e)))
}

/// `note: <what recovery repaired>` above the text, when it repaired something.
pub(crate) fn with_note(mut text: String, note: &Option<String>) -> String {
    if let Some(n) = note {
        text = format!("note: {n}\n{text}");
    }
    text
}

/// One line per check.
pub(crate) fn checks_text(checks: &[Check]) -> String {
    checks
        .iter()
        .map(|c| {
            format!(
                "  {:<4} {:<18} {}{}",
                if c.ok { "ok" } else { "FAIL" },
                c.name,
                c.detail,
                if !c.ok && !c.mandatory {
                    " (advisory)"
                } else {
                    ""
                }
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}
