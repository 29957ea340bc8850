//! The store commands (install, list, remove, history, audit, load from the
//! store, rollback, verify, preflight): `milspec_host::ops` does the work; this
//! renders its typed results as text and JSON and picks the exit code.

use super::output::{checks_text, with_note, CmdResult, Outcome};
use milspec_host::clock;
use milspec_host::exit;
use milspec_host::ops::{self, Checked, DeploymentRecord};
use milspec_host::store::StoreId;
use milspec_host::txn::Deployment;
use serde_json::json;
use std::path::Path;

pub(super) fn install(root: &Path, file: &Path, reinstall: bool, check_sig: bool) -> CmdResult {
    installed(ops::install(root, file, reinstall, check_sig)?)
}

pub(super) fn install_from_dkms(
    root: &Path,
    tree: Option<&Path>,
    kernel: Option<&str>,
    package_version: Option<&str>,
    reinstall: bool,
    check_sig: bool,
) -> CmdResult {
    installed(ops::install_from_dkms(
        root,
        tree,
        kernel,
        package_version,
        reinstall,
        check_sig,
    )?)
}

fn installed(i: ops::Installed) -> CmdResult {
    let m = &i.manifest;
    let from = i.dkms.as_ref().map(|b| {
        json!({ "package_version": b.package_version, "kernel": b.kernel,
                "path": b.path.display().to_string() })
    });
    Ok(Outcome {
        code: exit::OK,
        json: json!({ "installed": m, "dkms": from, "repaired": i.repaired }),
        text: with_note(
            format!(
                "installed {} {}{} (sha256 {}, for kernel {}, {})",
                m.module_name,
                m.module_version,
                if m.id == m.module_version.as_str() {
                    String::new()
                } else {
                    format!(" as {} from DKMS", m.id)
                },
                &m.sha256[..16],
                m.kernel_release,
                if m.signature.is_some() {
                    "signed"
                } else {
                    "unsigned"
                }
            ),
            &i.repaired,
        ),
    })
}

/// `json`: whether the JSON form is wanted (it holds every manifest, which
/// costs a millisecond per 500 entries natively and ~30x that under emulation:
/// not built for text output).
pub(super) fn list(root: &Path, json: bool) -> CmdResult {
    let (all, note) = ops::list(root)?;
    let mut text: Vec<String> = all
        .iter()
        .map(|m| {
            format!(
                "{:<12} kernel {:<16} sha256 {} {}",
                m.id.as_str(),
                m.kernel_release,
                &m.sha256[..16],
                if m.signature.is_some() {
                    "signed"
                } else {
                    "unsigned"
                }
            )
        })
        .collect();
    if text.is_empty() {
        text.push("no versions installed".into());
    }
    Ok(Outcome {
        code: exit::OK,
        json: if json {
            json!({ "versions": all, "repaired": note })
        } else {
            serde_json::Value::Null
        },
        text: with_note(text.join("\n"), &note),
    })
}

pub(super) fn remove(root: &Path, id: &StoreId) -> CmdResult {
    let note = ops::remove(root, id)?;
    Ok(Outcome {
        code: exit::OK,
        json: json!({ "removed": id, "repaired": note }),
        text: with_note(format!("removed {id}"), &note),
    })
}

pub(super) fn history(root: &Path) -> CmdResult {
    let h = ops::history(root)?;
    let mut lines: Vec<String> = h
        .records
        .iter()
        .map(|r| {
            let versions: Vec<String> = r
                .action
                .component_versions
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            format!(
                "{} uid={} {:<8} {:<7} {} {:.3}s",
                humantime::format_rfc3339_seconds(clock::from_unix_secs(r.timestamp)),
                r.uid,
                r.action.action,
                r.action.result,
                versions.join(" "),
                r.action.duration_seconds
            )
        })
        .collect();
    if lines.is_empty() {
        lines.push("no history".into());
    }
    Ok(Outcome {
        code: exit::OK,
        json: json!({ "entries": h.records, "count": h.lines }),
        text: lines.join("\n"),
    })
}

pub(super) fn audit_verify(root: &Path) -> CmdResult {
    let (path, n) = ops::audit_verify(root)?;
    Ok(Outcome {
        code: exit::OK,
        json: json!({ "audit_log": path.display().to_string(), "lines": n, "intact": true }),
        text: format!("audit log intact: {n} lines, hash chain verified"),
    })
}

/// A deployment's exit code and text.
fn deployment(r: DeploymentRecord) -> CmdResult {
    let action = r.action.as_str();
    let secs = r.duration_seconds;
    let (code, text) = match &r.outcome {
        Deployment::Deployed {
            from,
            to,
            checks,
            deployment_id,
        } => (
            exit::OK,
            format!(
                "{action}: {} -> {to} (deployment {deployment_id}, {secs:.2} s)\n{}",
                from.as_ref().map_or("none", StoreId::as_str),
                checks_text(checks)
            ),
        ),
        Deployment::RolledBack {
            attempted,
            restored,
            reason,
            deployment_id,
        } => (
            exit::ROLLED_BACK,
            format!(
                "{action} of {attempted} FAILED and was rolled back: {restored} is loaded again \
                 (deployment {deployment_id})\nreason: {reason}"
            ),
        ),
        Deployment::NothingToDo { id } => (
            exit::NOTHING_TO_DO,
            format!("{id} is already loaded with these parameters: nothing to do"),
        ),
    };
    Ok(Outcome {
        code,
        json: json!({ "deployment": r.outcome, "duration_seconds": secs, "repaired": r.repaired }),
        text: with_note(text, &r.repaired),
    })
}

pub(super) fn deploy(
    root: &Path,
    id: Option<&StoreId>,
    params: &[String],
    deployment_id: Option<&str>,
) -> CmdResult {
    deployment(ops::deploy(root, id, params, deployment_id)?)
}

pub(super) fn rollback(
    root: &Path,
    to: Option<&StoreId>,
    allow_older: bool,
    deployment_id: Option<&str>,
) -> CmdResult {
    deployment(ops::rollback(root, to, allow_older, deployment_id)?)
}

/// `verify` or `preflight` results; a failed mandatory check exits `fail_code`
/// (or its kind's code). A failure with a kind adds `error.kind` to the JSON.
fn checked(c: Checked, name: &str, fail_code: i32) -> CmdResult {
    let mut json = json!({ "ok": c.ok, "checks": c.checks, "repaired": c.repaired });
    if let Some(kind) = c.kind {
        let failed: Vec<String> = c
            .checks
            .iter()
            .filter(|k| !k.ok && k.mandatory)
            .map(|k| format!("{}: {}", k.name, k.detail))
            .collect();
        json["error"] = json!({ "kind": kind.as_str(), "message": failed.join("; ") });
    }
    Ok(Outcome {
        code: match (c.ok, c.kind) {
            (true, _) => exit::OK,
            (false, Some(k)) => k.exit_code(),
            (false, None) => fail_code,
        },
        json,
        text: with_note(
            format!(
                "{name}: {}\n{}",
                if c.ok { "ok" } else { "FAILED" },
                checks_text(&c.checks)
            ),
            &c.repaired,
        ),
    })
}

pub(super) fn verify(root: &Path) -> CmdResult {
    checked(ops::verify(root)?, "verify", exit::VERIFY_FAILED)
}

pub(super) fn preflight(root: &Path, id: Option<&StoreId>) -> CmdResult {
    checked(ops::preflight(root, id)?, "preflight", exit::REFUSED)
}
