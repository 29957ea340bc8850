//! The store commands of `milspecctl` (install, list, remove, history, audit):
//! each recovers an interrupted operation first and records itself in the audit
//! log.

use crate::cli::{error_chain, Failure, Outcome};
use milspec_host::audit::{Action, AuditLog};
use milspec_host::dkms::{find_build, DkmsBuild, DkmsError};
use milspec_host::exit;
use milspec_host::store::{EntryId, Recovery, Store, StoreError};
use milspec_host::txn::{self, Check, Deployment, Host, TxnError};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

fn audit_log(root: &Path) -> AuditLog {
    AuditLog::new(&root.join("var/log/milspec"))
}

fn uid() -> u32 {
    nix::unistd::getuid().as_raw()
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        let (code, kind) = match &e {
            StoreError::NotAModule { .. }
            | StoreError::WrongModule { .. }
            | StoreError::NoVersion { .. } => (exit::FAILURE, "invalid_module"),
            StoreError::AlreadyInstalled(_) => (exit::NOTHING_TO_DO, "already_installed"),
            StoreError::NotInstalled(_) => (exit::FAILURE, "not_installed"),
            StoreError::Corrupt { .. } => (exit::VERIFY_FAILED, "store_corrupt"),
            StoreError::Io { .. } | StoreError::Injected(_) => (exit::FAILURE, "io"),
        };
        Failure {
            code,
            kind,
            message: error_chain(&e),
        }
    }
}

fn audit_failure(e: milspec_host::audit::AuditError) -> Failure {
    Failure {
        code: exit::VERIFY_FAILED,
        kind: "audit",
        message: error_chain(&e),
    }
}

/// Opens the store and finishes or undoes an interrupted operation. Returns a
/// note for the output when something was repaired.
fn open_store(root: &Path) -> Result<(Store, Option<String>), Failure> {
    let store = Store::open(root)?;
    let mut note = match store.recover()? {
        Recovery::Clean => None,
        Recovery::RolledForward(j) => Some(format!("completed an interrupted operation: {j:?}")),
        Recovery::RolledBack(j) => Some(format!("undid an interrupted operation: {j:?}")),
    };
    if let Some(n) = txn::reconcile(&store, &Host::real()).map_err(txn_failure)? {
        note = Some(n);
    }
    if let Some(n) = &note {
        record(root, "recover", "ok", BTreeMap::new(), 0.0, Some(n.clone()))?;
    }
    Ok((store, note))
}

fn record(
    root: &Path,
    action: &str,
    result: &str,
    versions: BTreeMap<String, String>,
    duration: f64,
    detail: Option<String>,
) -> Result<(), Failure> {
    audit_log(root)
        .append(
            Action {
                action: action.into(),
                result: result.into(),
                deployment_id: None,
                component_versions: versions,
                rollback_occurred: false,
                duration_seconds: duration,
                detail,
            },
            uid(),
        )
        .map(|_| ())
        .map_err(audit_failure)
}

fn with_note(mut text: String, note: &Option<String>) -> String {
    if let Some(n) = note {
        text = format!("note: {n}\n{text}");
    }
    text
}

pub(crate) fn install(root: &Path, file: &Path, reinstall: bool) -> Result<Outcome, Failure> {
    let (store, note) = open_store(root)?;
    install_into(root, &store, note, file, reinstall, EntryId::Version, None)
}

fn dkms_failure(e: DkmsError) -> Failure {
    let kind = match e {
        DkmsError::Io { .. } => "io",
        DkmsError::Compressed { .. } => "invalid_module",
        _ => "dkms_not_built",
    };
    Failure {
        code: exit::FAILURE,
        kind,
        message: error_chain(&e),
    }
}

/// `install --from-dkms`: the module DKMS built for `kernel` (default: the
/// running one), stored as `<version>+<kernel>`.
pub(crate) fn install_from_dkms(
    root: &Path,
    tree: Option<&Path>,
    kernel: Option<&str>,
    version: Option<&str>,
    reinstall: bool,
) -> Result<Outcome, Failure> {
    let tree = tree
        .map(Path::to_path_buf)
        .unwrap_or_else(|| root.join("var/lib/dkms"));
    let kernel = kernel
        .map(str::to_owned)
        .unwrap_or_else(|| Host::real().release());
    let (store, note) = open_store(root)?;
    let build = match find_build(&tree, &kernel, version) {
        Ok(b) => b,
        Err(e) => {
            let f = dkms_failure(e);
            record(
                root,
                "install",
                "failed",
                BTreeMap::new(),
                0.0,
                Some(f.message.clone()),
            )?;
            return Err(f);
        }
    };
    install_into(
        root,
        &store,
        note,
        &build.path,
        reinstall,
        EntryId::VersionAndKernel,
        Some(&build),
    )
}

/// DKMS's directory says which kernel it built for; the module's vermagic must
/// agree, or the store would file it under another kernel.
fn dkms_vermagic_agrees(file: &Path, dkms: Option<&DkmsBuild>) -> Result<(), StoreError> {
    let Some(b) = dkms else { return Ok(()) };
    let bytes = std::fs::read(file).map_err(|source| StoreError::Io {
        path: file.display().to_string(),
        source,
    })?;
    let m = milspec_host::modfile::inspect(&bytes).map_err(|source| StoreError::NotAModule {
        path: file.display().to_string(),
        source,
    })?;
    let release = milspec_host::modfile::vermagic_release(&m.vermagic);
    if release == b.kernel {
        return Ok(());
    }
    Err(StoreError::Corrupt {
        version: b.package_version.clone(),
        reason: format!(
            "{} is in DKMS's directory for kernel {}, but its vermagic says {release}: not stored",
            file.display(),
            b.kernel
        ),
    })
}

fn install_into(
    root: &Path,
    store: &Store,
    note: Option<String>,
    file: &Path,
    reinstall: bool,
    naming: EntryId,
    dkms: Option<&DkmsBuild>,
) -> Result<Outcome, Failure> {
    let start = Instant::now();
    let result = dkms_vermagic_agrees(file, dkms).and_then(|()| {
        store.install_as(
            file,
            reinstall,
            if dkms.is_some() { "dkms" } else { "file" },
            naming,
        )
    });
    let secs = start.elapsed().as_secs_f64();
    match result {
        Ok(m) => {
            let versions = BTreeMap::from([("installed".to_owned(), m.id.clone())]);
            record(
                root,
                "install",
                "ok",
                versions,
                secs,
                Some(m.sha256.clone()),
            )?;
            let from = dkms.map(|b| {
                json!({ "package_version": b.package_version, "kernel": b.kernel,
                        "path": b.path.display().to_string() })
            });
            Ok(Outcome {
                code: exit::OK,
                json: json!({ "installed": m, "dkms": from, "repaired": note }),
                text: with_note(
                    format!(
                        "installed {} {}{} (sha256 {}, for kernel {}, {})",
                        m.module_name,
                        m.module_version,
                        if m.id == m.module_version {
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
                    &note,
                ),
            })
        }
        Err(e) => {
            let f = Failure::from(e);
            record(
                root,
                "install",
                "failed",
                BTreeMap::new(),
                secs,
                Some(f.message.clone()),
            )?;
            Err(f)
        }
    }
}

pub(crate) fn list(root: &Path) -> Result<Outcome, Failure> {
    let (store, note) = open_store(root)?;
    let all = store.list()?;
    let mut text: Vec<String> = all
        .iter()
        .map(|m| {
            format!(
                "{:<12} kernel {:<16} sha256 {} {}",
                m.id,
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
        json: json!({ "versions": all, "repaired": note }),
        text: with_note(text.join("\n"), &note),
    })
}

pub(crate) fn remove(root: &Path, version: &str) -> Result<Outcome, Failure> {
    let start = Instant::now();
    let (store, note) = open_store(root)?;
    let state = txn::State::read(&store)?;
    let role = if state.current.as_deref() == Some(version) {
        Some("the deployed version")
    } else if state.previous.as_deref() == Some(version) {
        Some("the rollback target")
    } else {
        None
    };
    if let Some(role) = role {
        return Err(Failure {
            code: exit::REFUSED,
            kind: "refused",
            message: format!("{version} is {role}; deploy another version first"),
        });
    }
    store.remove(version)?;
    let versions = BTreeMap::from([("removed".to_owned(), version.to_owned())]);
    record(
        root,
        "remove",
        "ok",
        versions,
        start.elapsed().as_secs_f64(),
        None,
    )?;
    Ok(Outcome {
        code: exit::OK,
        json: json!({ "removed": version, "repaired": note }),
        text: with_note(format!("removed {version}"), &note),
    })
}

pub(crate) fn history(root: &Path) -> Result<Outcome, Failure> {
    let log = audit_log(root);
    let n = log.verify().map_err(audit_failure)?;
    let text = std::fs::read_to_string(log.path()).unwrap_or_default();
    let records: Vec<milspec_host::audit::Record> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let mut lines: Vec<String> = records
        .iter()
        .map(|r| {
            let versions: Vec<String> = r
                .action
                .component_versions
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            let when = std::time::UNIX_EPOCH + std::time::Duration::from_secs(r.timestamp);
            format!(
                "{} uid={} {:<8} {:<7} {} {:.3}s",
                humantime::format_rfc3339_seconds(when),
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
        json: json!({ "entries": records, "count": n }),
        text: lines.join("\n"),
    })
}

pub(crate) fn audit_verify(root: &Path) -> Result<Outcome, Failure> {
    let log = audit_log(root);
    let n = log.verify().map_err(audit_failure)?;
    Ok(Outcome {
        code: exit::OK,
        json: json!({ "audit_log": log.path().display().to_string(), "lines": n, "intact": true }),
        text: format!("audit log intact: {n} lines, hash chain verified"),
    })
}

fn txn_failure(e: TxnError) -> Failure {
    match e {
        TxnError::Store(s) => Failure::from(s),
        TxnError::Refused(m) => Failure {
            code: exit::REFUSED,
            kind: "refused",
            message: m,
        },
        TxnError::Failed(m) => Failure {
            code: exit::FAILURE,
            kind: "load_failed",
            message: m,
        },
    }
}

fn checks_text(checks: &[Check]) -> String {
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

fn run_deployment(
    root: &Path,
    action: &str,
    store: &Store,
    version: &str,
    params: &[String],
    note: Option<String>,
) -> Result<Outcome, Failure> {
    let start = Instant::now();
    let host = Host::real();
    let result = txn::deploy(store, &host, version, params);
    let secs = start.elapsed().as_secs_f64();
    let (code, result_word, versions, rollback, text, detail) = match &result {
        Ok(Deployment::Deployed {
            from,
            to,
            checks,
            deployment_id,
        }) => (
            exit::OK,
            "ok",
            BTreeMap::from([
                (
                    "from".to_owned(),
                    from.clone().unwrap_or_else(|| "none".into()),
                ),
                ("to".to_owned(), to.clone()),
            ]),
            false,
            format!(
                "{action}: {} -> {to} (deployment {deployment_id}, {secs:.2} s)\n{}",
                from.as_deref().unwrap_or("none"),
                checks_text(checks)
            ),
            None,
        ),
        Ok(Deployment::RolledBack {
            attempted,
            restored,
            reason,
            deployment_id,
        }) => (
            exit::ROLLED_BACK,
            "rolled_back",
            BTreeMap::from([
                ("attempted".to_owned(), attempted.clone()),
                ("restored".to_owned(), restored.clone()),
            ]),
            true,
            format!(
                "{action} of {attempted} FAILED and was rolled back: {restored} is loaded again \
                 (deployment {deployment_id})\nreason: {reason}"
            ),
            Some(reason.clone()),
        ),
        Ok(Deployment::NothingToDo { version }) => (
            exit::NOTHING_TO_DO,
            "nothing_to_do",
            BTreeMap::from([("current".to_owned(), version.clone())]),
            false,
            format!("{version} is already loaded with these parameters: nothing to do"),
            None,
        ),
        Err(e) => (
            0,
            "",
            BTreeMap::new(),
            false,
            String::new(),
            Some(e.to_string()),
        ),
    };
    let deployment_id = match &result {
        Ok(
            Deployment::Deployed { deployment_id, .. }
            | Deployment::RolledBack { deployment_id, .. },
        ) => Some(deployment_id.clone()),
        _ => None,
    };
    let failure = result.as_ref().err().map(|e| match e {
        TxnError::Refused(m) => ("refused", m.clone()),
        other => ("failed", other.to_string()),
    });
    audit_log(root)
        .append(
            Action {
                action: action.into(),
                result: failure.as_ref().map(|f| f.0).unwrap_or(result_word).into(),
                deployment_id,
                component_versions: versions,
                rollback_occurred: rollback,
                duration_seconds: secs,
                detail: detail.clone(),
            },
            uid(),
        )
        .map_err(audit_failure)?;
    let deployment = result.map_err(txn_failure)?;
    Ok(Outcome {
        code,
        json: json!({ "deployment": deployment, "duration_seconds": secs, "repaired": note }),
        text: with_note(text, &note),
    })
}

pub(crate) fn deploy(
    root: &Path,
    version: Option<&str>,
    params: &[String],
) -> Result<Outcome, Failure> {
    let (store, note) = open_store(root)?;
    let version = match version {
        Some(v) => v.to_owned(),
        None => store
            .default_candidate(&Host::real().release())?
            .map(|m| m.id)
            .ok_or_else(|| Failure {
                code: exit::REFUSED,
                kind: "refused",
                message: "no version installed: run milspecctl install FILE first".into(),
            })?,
    };
    run_deployment(root, "load", &store, &version, params, note)
}

pub(crate) fn rollback(
    root: &Path,
    to: Option<&str>,
    allow_older: bool,
) -> Result<Outcome, Failure> {
    let (store, note) = open_store(root)?;
    let state = txn::State::read(&store)?;
    let target = txn::rollback_target(&state, to, allow_older).map_err(txn_failure)?;
    run_deployment(
        root,
        "rollback",
        &store,
        &target,
        &state.current_params,
        note,
    )
}

/// `milspecctl rollback` to the previous deployment, for `milspecd`'s rollback
/// action: the result line(s) on success, the failure message otherwise.
pub fn rollback_to_previous(root: &Path) -> Result<String, String> {
    match rollback(root, None, false) {
        Ok(o) if o.code == exit::OK => Ok(o.text),
        Ok(o) => Err(o.text),
        Err(f) => Err(f.message),
    }
}

pub(crate) fn verify(root: &Path) -> Result<Outcome, Failure> {
    let (store, note) = open_store(root)?;
    let checks = txn::verify(&store, &Host::real(), &audit_log(root)).map_err(txn_failure)?;
    let ok = txn::all_ok(&checks);
    Ok(Outcome {
        code: if ok { exit::OK } else { exit::VERIFY_FAILED },
        json: json!({ "ok": ok, "checks": checks, "repaired": note }),
        text: with_note(
            format!(
                "{}\n{}",
                if ok { "verify: ok" } else { "verify: FAILED" },
                checks_text(&checks)
            ),
            &note,
        ),
    })
}

pub(crate) fn preflight(root: &Path, version: Option<&str>) -> Result<Outcome, Failure> {
    let (store, note) = open_store(root)?;
    let checks = txn::preflight(&store, &Host::real(), version).map_err(txn_failure)?;
    let ok = txn::all_ok(&checks);
    Ok(Outcome {
        code: if ok { exit::OK } else { exit::REFUSED },
        json: json!({ "ok": ok, "checks": checks, "repaired": note }),
        text: with_note(
            format!(
                "{}\n{}",
                if ok {
                    "preflight: ok"
                } else {
                    "preflight: FAILED"
                },
                checks_text(&checks)
            ),
            &note,
        ),
    })
}
