//! Named checks: of a loaded module against its manifest, `verify` (the deployed
//! version) and `preflight` (can a version be loaded here?).

use super::error::TxnError;
use super::host::Host;
use super::signature::{self, Enforcement, Verdict};
use super::state::State;
use crate::audit::AuditLog;
use crate::snapshot::Snapshot;
use crate::store::{Manifest, Store, StoreId};
use serde::Serialize;

/// One named check of `verify` or `preflight`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub ok: bool,
    /// A failed mandatory check fails the command.
    pub mandatory: bool,
    pub detail: String,
}

pub(super) fn check(
    name: &'static str,
    ok: bool,
    mandatory: bool,
    detail: impl Into<String>,
) -> Check {
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
    let src = host.srcversion();
    out.push(check(
        "srcversion",
        src.is_some() && src == m.srcversion,
        true,
        format!("loaded {src:?}, manifest {:?}", m.srcversion),
    ));
    let enforced = host.sig_enforced();
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
    match crate::phases::time("file_hash", || store.verify_entry(&cur)) {
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
    out.push(
        match crate::phases::time("audit_verify", || audit.verify()) {
            Ok(n) => check("audit_log", true, true, format!("{n} lines, chain intact")),
            Err(e) => check("audit_log", false, true, e.to_string()),
        },
    );
    Ok(out)
}

/// `preflight`: can entry `id` (default: the newest installed) be loaded here?
pub fn preflight(store: &Store, host: &Host, id: Option<&StoreId>) -> Result<Vec<Check>, TxnError> {
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
    let candidate = match id {
        Some(v) => Some(v.clone()),
        None => store.default_candidate(&release)?.map(|m| m.id),
    };
    match candidate.as_ref().map(|v| store.verify_entry(v)) {
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
            out.push(signature_check(host, store, &m));
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
    out.push(check(
        "lockdown",
        true,
        false,
        host.lockdown()
            .unwrap_or_else(|| "not available (no securityfs or lockdown LSM)".into()),
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

/// The check's name in `preflight` (a failure is `signature_rejected`).
pub const SIGNATURE_CHECK: &str = "module_signatures";

/// Will the kernel accept the entry's signature (see [`signature::gate`]; may
/// probe with `finit_module` while the old version stays loaded).
fn signature_check(host: &Host, store: &Store, m: &Manifest) -> Check {
    let signed = if m.signature.is_some() {
        "signed"
    } else {
        "unsigned"
    };
    let (ok, detail) = match signature::gate(host, &store.ko_path(&m.id)) {
        Verdict::NotEnforced => (
            true,
            format!("the kernel does not enforce module signatures; module {signed}"),
        ),
        Verdict::Signed(s) => (
            true,
            format!(
                "{s}; the kernel enforces signatures ({}) and checks it at load",
                Enforcement::read(host).describe()
            ),
        ),
        Verdict::Accepted(s) => (true, s),
        Verdict::Rejected(s) => (false, s),
    };
    check(SIGNATURE_CHECK, ok, true, detail)
}

/// Whether the running kernel has CONFIG_RUST, if its config can be read.
fn rust_kernel(release: &str) -> Option<bool> {
    let text = std::fs::read_to_string(format!("/boot/config-{release}")).ok()?;
    Some(text.lines().any(|l| l == "CONFIG_RUST=y"))
}
