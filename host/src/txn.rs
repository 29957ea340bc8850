//! Deployments: `load` and `rollback` as transactions over the store and the
//! kernel, plus the `verify` and `preflight` checks.
//!
//! A deployment: preflight → checkpoint (what is loaded, with which parameters)
//! → journal → unload the current module → load the new one → verify → commit
//! (state.json) → clear the journal. If loading or verifying fails, the new module
//! is unloaded and the checkpointed version is loaded again from the store.

use crate::audit::AuditLog;
use crate::fsutil::write_atomic;
use crate::kmod;
use crate::paths::ModulePaths;
use crate::snapshot::Snapshot;
use crate::store::{compare_versions, Journal, Manifest, Store, StoreError};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What milspecctl deployed (`<store>/state.json`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub current: Option<String>,
    pub previous: Option<String>,
    pub current_params: Vec<String>,
    pub deployments: u64,
    /// Id of the deployment that made `current` current.
    #[serde(default)]
    pub deployment_id: Option<String>,
    /// `/proc/sys/kernel/tainted` right after the current version was loaded.
    pub taint_at_load: Option<u64>,
}

impl State {
    fn path(store: &Store) -> PathBuf {
        store.dir().join("state.json")
    }

    pub fn read(store: &Store) -> Result<State, StoreError> {
        match std::fs::read(Self::path(store)) {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| StoreError::Corrupt {
                version: "state".into(),
                reason: format!("state.json: {e}"),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::default()),
            Err(source) => Err(StoreError::Io {
                path: Self::path(store).display().to_string(),
                source,
            }),
        }
    }

    fn write(&self, store: &Store) -> Result<(), StoreError> {
        let path = Self::path(store);
        let data = serde_json::to_vec_pretty(self).map_err(|e| StoreError::Io {
            path: path.display().to_string(),
            source: std::io::Error::other(e),
        })?;
        write_atomic(&path, &data, 0o600).map_err(|source| StoreError::Io {
            path: path.display().to_string(),
            source,
        })
    }
}

/// Where the kernel's view of the module lives (relocatable for tests).
#[derive(Clone, Debug)]
pub struct Host {
    pub module: ModulePaths,
    pub sys_module: PathBuf,
    pub tainted: PathBuf,
    pub osrelease: PathBuf,
    pub sig_enforce: PathBuf,
    pub lockdown: PathBuf,
}

impl Host {
    pub fn real() -> Self {
        Host {
            module: ModulePaths::from_env(),
            sys_module: PathBuf::from("/sys/module").join(milspec_abi::MODULE_NAME),
            tainted: "/proc/sys/kernel/tainted".into(),
            osrelease: "/proc/sys/kernel/osrelease".into(),
            sig_enforce: "/sys/module/module/parameters/sig_enforce".into(),
            lockdown: "/sys/kernel/security/lockdown".into(),
        }
    }

    fn read(path: &Path) -> Option<String> {
        std::fs::read_to_string(path)
            .ok()
            .map(|s| s.trim().to_owned())
    }

    pub fn release(&self) -> String {
        Self::read(&self.osrelease).unwrap_or_default()
    }

    pub fn taint(&self) -> Option<u64> {
        Self::read(&self.tainted).and_then(|s| s.parse().ok())
    }

    /// Version and parameters of the loaded module, and whether it is pinned.
    pub fn loaded(&self) -> Option<Loaded> {
        let text = std::fs::read_to_string(&self.module.proc_status).ok()?;
        let status = crate::status::ProcStatus::parse(&text).ok();
        let mut params = Vec::new();
        for p in ["force", "level"] {
            if let Some(v) = Self::read(&self.sys_module.join("parameters").join(p)) {
                let v = match (p, v.as_str()) {
                    ("force", "Y") => "1".to_owned(),
                    ("force", _) => continue,
                    _ => v,
                };
                params.push(format!("{p}={v}"));
            }
        }
        Some(Loaded {
            version: status.as_ref().map(|s| s.module_version.clone()),
            pinned: status
                .and_then(|s| s.fields.get("module_pinned").cloned())
                .is_some_and(|v| v == "yes"),
            params,
        })
    }
}

/// The loaded module, as seen before a deployment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Loaded {
    pub version: Option<String>,
    pub pinned: bool,
    pub params: Vec<String>,
}

/// One named check of `verify` or `preflight`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub ok: bool,
    /// A failed mandatory check fails the command.
    pub mandatory: bool,
    pub detail: String,
}

fn check(name: &'static str, ok: bool, mandatory: bool, detail: impl Into<String>) -> Check {
    Check {
        name,
        ok,
        mandatory,
        detail: detail.into(),
    }
}

/// True if every mandatory check passed.
pub fn all_ok(checks: &[Check]) -> bool {
    checks.iter().all(|c| c.ok || !c.mandatory)
}

/// How a deployment ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Deployment {
    /// The version asked for is loaded and verified.
    Deployed {
        deployment_id: String,
        from: Option<String>,
        to: String,
        checks: Vec<Check>,
    },
    /// It failed; the previous version was loaded again.
    RolledBack {
        deployment_id: String,
        attempted: String,
        restored: String,
        reason: String,
    },
    /// That version is already loaded with those parameters.
    NothingToDo { version: String },
}

/// Why a deployment did not happen or failed beyond repair.
#[derive(Debug, thiserror::Error)]
pub enum TxnError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("refused: {0}")]
    Refused(String),
    #[error("{0}")]
    Failed(String),
}

/// Checks of a loaded module against its manifest.
pub fn verify_loaded(host: &Host, m: &Manifest, state: &State) -> Vec<Check> {
    let mut out = Vec::new();
    out.push(vermagic_check(&m.kernel_release, &host.release()));
    let snap = Snapshot::take(&host.module);
    match &snap {
        Ok(Some(s)) => {
            out.push(check(
                "status_abi",
                s.proc.abi_version == milspec_abi::ABI_VERSION,
                true,
                format!(
                    "/proc/milspec/status parses, abi_version {}",
                    s.proc.abi_version
                ),
            ));
            out.push(check(
                "get_info",
                s.is_consistent(),
                true,
                if s.is_consistent() {
                    "GET_INFO and GET_STATUS agree with the status file".to_owned()
                } else {
                    s.problems.join("; ")
                },
            ));
            out.push(check(
                "loaded_version",
                s.proc.module_version == m.module_version,
                true,
                format!(
                    "loaded {}, manifest {}",
                    s.proc.module_version, m.module_version
                ),
            ));
        }
        Ok(None) => out.push(check("status_abi", false, true, "module not loaded")),
        Err(e) => out.push(check("status_abi", false, true, e.to_string())),
    }
    let src = Host::read(&host.sys_module.join("srcversion"));
    out.push(check(
        "srcversion",
        src.is_some() && src == m.srcversion,
        true,
        format!("loaded {src:?}, manifest {:?}", m.srcversion),
    ));
    let enforced = Host::read(&host.sig_enforce).is_some_and(|v| v == "Y");
    out.push(check(
        "signature",
        m.signature.is_some() || !enforced,
        enforced,
        match &m.signature {
            Some(s) => format!(
                "signed ({}, signer {}, key {})",
                s.hash_algo.as_deref().unwrap_or("unknown hash"),
                s.signer.as_deref().unwrap_or("unknown"),
                s.key_id.as_deref().unwrap_or("unknown")
            ),
            None => format!(
                "unsigned; the kernel {} signatures",
                if enforced {
                    "enforces"
                } else {
                    "does not enforce"
                }
            ),
        },
    ));
    let now = host.taint();
    let new_bits = match (now, state.taint_at_load) {
        (Some(n), Some(t)) => n & !t,
        (Some(n), None) => n & (1 << 7),
        _ => 0,
    };
    out.push(check(
        "taint",
        new_bits == 0 && now.is_some_and(|n| n & (1 << 7) == 0),
        true,
        format!(
            "tainted={} at load={:?}; new bits {new_bits:#x} (bit 7 = oops)",
            now.map(|n| n.to_string()).unwrap_or_else(|| "?".into()),
            state.taint_at_load
        ),
    ));
    out
}

/// The module's vermagic (the kernel release it was built for) against the
/// running kernel's release. The kernel refuses a module built for another
/// release ("disagrees about version of symbol" / "version magic"), so this is
/// mandatory and says what to do.
pub fn vermagic_check(built_for: &str, running: &str) -> Check {
    let ok = built_for == running;
    check(
        "vermagic",
        ok,
        true,
        if ok {
            format!("module built for {built_for}, running {running}")
        } else {
            format!(
                "vermagic mismatch: module built for kernel {built_for}, but {running} is running; \
                 the kernel would refuse it (rebuild it for this kernel, e.g. dkms autoinstall, \
                 then milspecctl install --from-dkms)"
            )
        },
    )
}

/// Module parameters with the module's defaults (`force` off, `level=standard`)
/// dropped and sorted, so that "no parameters" equals what sysfs shows for them.
fn effective(params: &[String]) -> Vec<String> {
    let mut out: Vec<String> = params
        .iter()
        .filter(|p| {
            !matches!(
                p.as_str(),
                "level=standard" | "level=1" | "force=0" | "force=N" | "force=n"
            )
        })
        .cloned()
        .collect();
    out.sort();
    out
}

fn deployment_id(state: &State) -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format!("dep-{secs}-{}", state.deployments + 1)
}

/// Resolves a deployment interrupted by a crash, from what the kernel has loaded.
/// Returns a description when it did something.
pub fn reconcile(store: &Store, host: &Host) -> Result<Option<String>, TxnError> {
    let Some(Journal::Load {
        deployment_id,
        from,
        from_params,
        to,
    }) = store.pending()?
    else {
        return Ok(None);
    };
    let loaded = host.loaded().and_then(|l| l.version);
    // Journal entries name store ids; the kernel reports module versions.
    let version_of = |id: &str| {
        store
            .manifest(id)
            .map(|m| m.module_version)
            .unwrap_or_else(|_| id.to_owned())
    };
    let mut state = State::read(store)?;
    let what = if loaded.as_deref() == Some(version_of(&to).as_str()) {
        if from.as_deref() != Some(to.as_str()) {
            state.previous = from.clone();
        }
        state.current = Some(to.clone());
        state.deployments += 1;
        state.deployment_id = Some(deployment_id.clone());
        state.taint_at_load = host.taint();
        state.write(store)?;
        format!("deployment {deployment_id} had loaded {to}: committed")
    } else if loaded.is_some() && loaded == from.as_deref().map(version_of) {
        format!("deployment {deployment_id} had not changed anything: cleared")
    } else if let (None, Some(f)) = (&loaded, &from) {
        kmod::load_file(&store.ko_path(f), &from_params)
            .map_err(|e| TxnError::Failed(format!("reloading {f}: {e}")))?;
        format!("deployment {deployment_id} was interrupted with nothing loaded: reloaded {f}")
    } else {
        format!("deployment {deployment_id} interrupted; loaded now: {loaded:?}")
    };
    store.clear_journal()?;
    Ok(Some(what))
}

/// The store id of the loaded module, whose kernel-reported version is `version`:
/// the current deployment if it is that build, else the entry with that id (a
/// file install), else the entry of that version for this kernel with the loaded
/// srcversion (a DKMS build loaded by other means), else `version` itself.
fn loaded_id(store: &Store, host: &Host, state: &State, version: &str, release: &str) -> String {
    let src = Host::read(&host.sys_module.join("srcversion"));
    let same = |m: &Manifest| {
        m.module_version == version
            && (m.srcversion.is_none() || src.is_none() || m.srcversion == src)
    };
    if let Some(cur) = &state.current {
        if store.manifest(cur).is_ok_and(|m| same(&m)) {
            return cur.clone();
        }
    }
    if store.manifest(version).is_ok_and(|m| same(&m)) {
        return version.to_owned();
    }
    store
        .list()
        .ok()
        .and_then(|all| {
            all.into_iter()
                .find(|m| same(m) && m.kernel_release == release)
        })
        .map(|m| m.id)
        .unwrap_or_else(|| version.to_owned())
}

/// Loads `version` from the store as a transaction (see the module docs).
pub fn deploy(
    store: &Store,
    host: &Host,
    version: &str,
    params: &[String],
) -> Result<Deployment, TxnError> {
    let manifest = store.verify_version(version)?;
    let release = host.release();
    let vm = vermagic_check(&manifest.kernel_release, &release);
    if !vm.ok {
        return Err(TxnError::Refused(format!("{version}: {}", vm.detail)));
    }
    kmod::param_string(params).map_err(|e| TxnError::Refused(e.to_string()))?;
    // Checkpoint.
    let before = host.loaded();
    if let Some(l) = &before {
        if l.pinned {
            return Err(TxnError::Refused(
                "the loaded module is pinned (security level paranoid or above): it cannot be \
                 unloaded until reboot"
                    .into(),
            ));
        }
        let same_build = l.version.as_deref() == Some(manifest.module_version.as_str())
            && (manifest.srcversion.is_none()
                || Host::read(&host.sys_module.join("srcversion")) == manifest.srcversion);
        if same_build && effective(&l.params) == effective(params) {
            return Ok(Deployment::NothingToDo {
                version: version.into(),
            });
        }
    }
    let mut state = State::read(store)?;
    let from = before
        .as_ref()
        .and_then(|l| l.version.as_deref())
        .map(|v| loaded_id(store, host, &state, v, &release));
    let from_params = before.map(|l| l.params).unwrap_or_default();
    let id = deployment_id(&state);
    store.write_journal(&Journal::Load {
        deployment_id: id.clone(),
        from: from.clone(),
        from_params: from_params.clone(),
        to: version.into(),
    })?;

    if from.is_some() {
        if let Err(e) = kmod::unload(milspec_abi::MODULE_NAME) {
            store.clear_journal()?;
            return Err(TxnError::Failed(format!(
                "could not unload the current module: {e}"
            )));
        }
    }
    let failure = match kmod::load_file(&store.ko_path(version), params) {
        Err(e) => Some(e.to_string()),
        Ok(()) => {
            // Loading an unsigned out-of-tree module taints by itself (O, E); what
            // must not appear afterwards is anything new, an oops above all.
            let st = State {
                taint_at_load: host.taint(),
                ..state.clone()
            };
            let checks = verify_loaded(host, &manifest, &st);
            if all_ok(&checks) {
                if from.as_deref() != Some(version) {
                    state.previous = from.clone();
                }
                state.current = Some(version.into());
                state.current_params = params.to_vec();
                state.deployments += 1;
                state.deployment_id = Some(id.clone());
                state.taint_at_load = st.taint_at_load;
                state.write(store)?;
                store.clear_journal()?;
                let mut checks = checks;
                checks.push(match place_for_modprobe(store, version, &release) {
                    Ok(d) => check("modprobe_placement", true, false, d),
                    Err(d) => check("modprobe_placement", false, false, d),
                });
                return Ok(Deployment::Deployed {
                    deployment_id: id,
                    from,
                    to: version.into(),
                    checks,
                });
            }
            let failed: Vec<String> = checks
                .iter()
                .filter(|c| !c.ok && c.mandatory)
                .map(|c| format!("{}: {}", c.name, c.detail))
                .collect();
            let _ = kmod::unload(milspec_abi::MODULE_NAME);
            Some(format!("verification failed: {}", failed.join("; ")))
        }
    };
    let reason = failure.unwrap_or_default();
    // Roll back to the checkpoint.
    let Some(prev) = from else {
        store.clear_journal()?;
        return Err(TxnError::Failed(format!(
            "loading {version} failed ({reason}); nothing was loaded before, so nothing is loaded now"
        )));
    };
    if store.verify_version(&prev).is_err() {
        store.clear_journal()?;
        return Err(TxnError::Failed(format!(
            "loading {version} failed ({reason}), and the previous version {prev} is not in the \
             store: nothing is loaded now"
        )));
    }
    kmod::load_file(&store.ko_path(&prev), &from_params).map_err(|e| {
        TxnError::Failed(format!(
            "loading {version} failed ({reason}); reloading {prev} failed too: {e}"
        ))
    })?;
    state.taint_at_load = host.taint();
    state.write(store)?;
    store.clear_journal()?;
    Ok(Deployment::RolledBack {
        deployment_id: id,
        attempted: version.into(),
        restored: prev,
        reason,
    })
}

/// Puts the deployed module where `modprobe` finds it after a reboot
/// (`<root>/lib/modules/<release>/updates/dell_milspec.ko`, which depmod ranks
/// above the kernel's own tree) and refreshes the module index with depmod.
fn place_for_modprobe(store: &Store, version: &str, release: &str) -> Result<String, String> {
    let dir = store
        .root()
        .join("lib/modules")
        .join(release)
        .join("updates");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let bytes = std::fs::read(store.ko_path(version)).map_err(|e| e.to_string())?;
    let target = dir.join(crate::store::KO_NAME);
    write_atomic(&target, &bytes, 0o644).map_err(|e| format!("{}: {e}", target.display()))?;
    let depmod = std::process::Command::new("depmod")
        .arg("-b")
        .arg(store.root())
        .arg(release)
        .output();
    match depmod {
        Ok(o) if o.status.success() => Ok(format!("{} (depmod done)", target.display())),
        Ok(o) => Err(format!(
            "{} written, but depmod failed: {}",
            target.display(),
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Err(e) => Err(format!(
            "{} written, but depmod could not run: {e}",
            target.display()
        )),
    }
}

/// The version `rollback` goes to: `to`, or the previous deployment. Going to an
/// older version than the current one with `--to` needs `allow_older`.
pub fn rollback_target(
    state: &State,
    to: Option<&str>,
    allow_older: bool,
) -> Result<String, TxnError> {
    match to {
        None => state.previous.clone().ok_or_else(|| {
            TxnError::Refused("no previous deployment to roll back to (use --to VERSION)".into())
        }),
        Some(v) => {
            if let Some(cur) = &state.current {
                if compare_versions(v, cur).is_lt() && !allow_older {
                    return Err(TxnError::Refused(format!(
                        "{v} is older than the current {cur}; pass --allow-older"
                    )));
                }
            }
            Ok(v.to_owned())
        }
    }
}

/// `verify`: the deployed version against its manifest, the kernel, the audit log.
pub fn verify(store: &Store, host: &Host, audit: &AuditLog) -> Result<Vec<Check>, TxnError> {
    let state = State::read(store)?;
    let mut out = Vec::new();
    let Some(cur) = state.current.clone() else {
        out.push(check(
            "deployed",
            false,
            true,
            "no version was deployed with milspecctl load",
        ));
        return Ok(out);
    };
    out.push(check("deployed", true, true, format!("current {cur}")));
    match store.verify_version(&cur) {
        Ok(m) => {
            out.push(check(
                "file_hash",
                true,
                true,
                format!("sha256 {} matches the manifest", m.sha256),
            ));
            out.extend(verify_loaded(host, &m, &state));
        }
        Err(e) => out.push(check("file_hash", false, true, e.to_string())),
    }
    out.push(match audit.verify() {
        Ok(n) => check("audit_log", true, true, format!("{n} lines, chain intact")),
        Err(e) => check("audit_log", false, true, e.to_string()),
    });
    Ok(out)
}

/// `preflight`: can `version` (default: newest installed) be loaded here?
pub fn preflight(
    store: &Store,
    host: &Host,
    version: Option<&str>,
) -> Result<Vec<Check>, TxnError> {
    let mut out = Vec::new();
    let euid = nix::unistd::geteuid().as_raw();
    out.push(check(
        "privileges",
        euid == 0,
        true,
        if euid == 0 {
            "running as root".to_owned()
        } else {
            format!("euid {euid}: loading modules needs root (CAP_SYS_MODULE)")
        },
    ));
    let free = nix::sys::statvfs::statvfs(store.dir())
        .map(|s| s.blocks_available() * s.fragment_size())
        .unwrap_or(0);
    out.push(check(
        "disk_space",
        free >= 16 << 20,
        true,
        format!("{} MiB free in {}", free >> 20, store.dir().display()),
    ));
    let release = host.release();
    let candidate = match version {
        Some(v) => Some(v.to_owned()),
        None => store.default_candidate(&release)?.map(|m| m.id),
    };
    let enforced = Host::read(&host.sig_enforce).is_some_and(|v| v == "Y");
    match candidate.as_deref().map(|v| store.verify_version(v)) {
        None => out.push(check("candidate", false, true, "no version installed")),
        Some(Err(e)) => out.push(check("candidate", false, true, e.to_string())),
        Some(Ok(m)) => {
            out.push(check(
                "candidate",
                true,
                true,
                format!("{} (file verified)", m.id),
            ));
            out.push(vermagic_check(&m.kernel_release, &release));
            out.push(check(
                "module_signatures",
                m.signature.is_some() || !enforced,
                true,
                format!(
                    "kernel {} signatures; module {}",
                    if enforced {
                        "enforces"
                    } else {
                        "does not enforce"
                    },
                    if m.signature.is_some() {
                        "signed"
                    } else {
                        "unsigned"
                    }
                ),
            ));
        }
    }
    let rust = rust_kernel(&release);
    out.push(check(
        "rust_kernel",
        rust != Some(false),
        true,
        match rust {
            Some(true) => "CONFIG_RUST=y".to_owned(),
            Some(false) => "the running kernel has no Rust support (CONFIG_RUST is off)".to_owned(),
            None => "unknown (no /proc/config.gz or /boot/config-*): the vermagic check decides"
                .to_owned(),
        },
    ));
    let lockdown = Host::read(&host.lockdown);
    out.push(check(
        "lockdown",
        true,
        false,
        lockdown.unwrap_or_else(|| "not available (no securityfs or lockdown LSM)".into()),
    ));
    let dkms = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join("dkms").is_file()))
        .unwrap_or(false);
    out.push(check(
        "dkms",
        true,
        false,
        if dkms {
            "dkms found"
        } else {
            "dkms not installed"
        },
    ));
    let pinned = host.loaded().is_some_and(|l| l.pinned);
    out.push(check(
        "not_pinned",
        !pinned,
        true,
        if pinned {
            "the loaded module is pinned at level paranoid or above: no load until reboot"
        } else {
            "the loaded module (if any) can be replaced"
        },
    ));
    Ok(out)
}

/// Whether the running kernel has CONFIG_RUST, if its config can be read.
fn rust_kernel(release: &str) -> Option<bool> {
    let text = std::fs::read_to_string(format!("/boot/config-{release}")).ok()?;
    Some(text.lines().any(|l| l == "CONFIG_RUST=y"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rollback_target_rules() {
        let st = State {
            current: Some("1.0.1".into()),
            previous: Some("1.0.0".into()),
            ..State::default()
        };
        assert_eq!(rollback_target(&st, None, false).unwrap(), "1.0.0");
        assert!(matches!(
            rollback_target(&st, Some("0.9.0"), false),
            Err(TxnError::Refused(_))
        ));
        assert_eq!(rollback_target(&st, Some("0.9.0"), true).unwrap(), "0.9.0");
        assert_eq!(rollback_target(&st, Some("2.0.0"), false).unwrap(), "2.0.0");
        assert!(matches!(
            rollback_target(&State::default(), None, false),
            Err(TxnError::Refused(_))
        ));
    }

    #[test]
    fn default_parameters_compare_equal() {
        assert_eq!(effective(&["level=standard".into()]), effective(&[]));
        assert_eq!(
            effective(&["level=paranoid".into(), "force=1".into()]),
            effective(&["force=1".into(), "level=paranoid".into()])
        );
        assert_ne!(effective(&["force=1".into()]), effective(&[]));
    }

    #[test]
    fn vermagic_must_match_the_running_kernel() {
        let c = vermagic_check("6.12.117", "6.12.117");
        assert!(c.ok && c.mandatory, "{c:?}");
        let c = vermagic_check("6.12.117", "6.12.117-upgrade");
        assert!(!c.ok && c.mandatory);
        assert!(
            c.detail.contains("vermagic mismatch")
                && c.detail.contains("built for kernel 6.12.117,")
                && c.detail.contains("6.12.117-upgrade is running"),
            "{}",
            c.detail
        );
        // A release that only shares a prefix is another kernel.
        assert!(!vermagic_check("6.12.117", "6.12.1").ok);
    }

    /// A deployment's `from` must be a store id (what rollback goes back to), not
    /// the version the kernel reports: DKMS builds are stored as <version>+<kernel>.
    #[test]
    fn the_loaded_module_is_named_by_its_store_id() {
        use crate::store::EntryId;
        let d = tempfile::tempdir().unwrap();
        let store = Store::open(d.path()).unwrap();
        let put = |name: &str, ver: &str, src: &str, rel: &str, naming| {
            let p = d.path().join(name);
            std::fs::write(&p, crate::fake_ko::dell_milspec_for(ver, src, rel)).unwrap();
            store.install_as(&p, false, "test", naming).unwrap().id
        };
        let k1 = put("a.ko", "0.1.0", "S1", "6.12.117", EntryId::VersionAndKernel);
        let k2 = put(
            "b.ko",
            "0.1.0",
            "S2",
            "6.12.117-upgrade",
            EntryId::VersionAndKernel,
        );
        let file = put("c.ko", "1.0.0", "S3", "6.12.117-upgrade", EntryId::Version);
        let sys = d.path().join("sys");
        std::fs::create_dir_all(&sys).unwrap();
        let host = Host {
            sys_module: sys.clone(),
            ..Host::real()
        };
        let rel = "6.12.117-upgrade";
        let state = State {
            current: Some(k2.clone()),
            ..State::default()
        };
        std::fs::write(sys.join("srcversion"), "S2\n").unwrap();
        assert_eq!(loaded_id(&store, &host, &state, "0.1.0", rel), k2);
        // Not the current deployment: found by version, kernel and srcversion.
        let none = State::default();
        assert_eq!(loaded_id(&store, &host, &none, "0.1.0", rel), k2);
        assert_eq!(loaded_id(&store, &host, &none, "1.0.0", rel), file);
        std::fs::write(sys.join("srcversion"), "S1\n").unwrap();
        assert_eq!(loaded_id(&store, &host, &none, "0.1.0", "6.12.117"), k1);
        // Loaded from elsewhere (no such build in the store): its version.
        std::fs::write(sys.join("srcversion"), "OTHER\n").unwrap();
        assert_eq!(loaded_id(&store, &host, &state, "0.1.0", rel), "0.1.0");
    }

    #[test]
    fn all_ok_ignores_optional_failures() {
        let c = vec![check("a", true, true, ""), check("b", false, false, "")];
        assert!(all_ok(&c));
        let c = vec![check("a", false, true, "")];
        assert!(!all_ok(&c));
    }
}
