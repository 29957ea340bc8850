//! The locking levels, for real: ratchet, pinning, allowlist enforcement against
//! real test modules. Destructive (the module stays pinned until reboot), so it
//! runs in its own VM boot.

use crate::util::{check, open_device, TestResult};
use milspec_abi::*;
use milspec_host::kmod;
use milspec_host::status::ProcStatus;
use nix::errno::Errno;
use std::path::Path;

const OK_MODULE: &str = "milspec_probe_ok";
const DENIED_MODULE: &str = "milspec_probe_denied";

fn ko(dir: &Path, name: &str) -> std::path::PathBuf {
    dir.join(format!("{name}.ko"))
}

fn names_of(batch: &milspec_host::device::EventBatch, kind: EventKind) -> Vec<String> {
    batch
        .events
        .iter()
        .filter(|e| e.kind == kind as u32)
        .map(|e| fixed_str_get(&e.name).unwrap_or("?").to_owned())
        .collect()
}

pub fn ratchet_pin_and_allowlist(test_modules: &Path) -> TestResult {
    let dev = open_device()?;
    dev.set_allowlist(&[OK_MODULE]).map_err(|e| e.to_string())?;
    let before = dev.status().map_err(|e| e.to_string())?;
    check(
        before.flags & status_flags::ALLOWLIST_ENFORCING == 0,
        || "enforcing before lock".into(),
    )?;
    // Below paranoid the allowlist is not enforced.
    kmod::load_file(&ko(test_modules, DENIED_MODULE), &[]).map_err(|e| e.to_string())?;
    kmod::unload(DENIED_MODULE).map_err(|e| e.to_string())?;

    dev.set_level(SecurityLevel::Paranoid)
        .map_err(|e| e.to_string())?;
    let st = dev.status().map_err(|e| e.to_string())?;
    let want = status_flags::LEVEL_LOCKED
        | status_flags::MODULE_PINNED
        | status_flags::ALLOWLIST_ENFORCING;
    check(st.flags & want == want, || format!("flags {:#x}", st.flags))?;

    let lower = dev.set_level(SecurityLevel::Standard);
    check(
        matches!(
            &lower,
            Err(milspec_host::device::DeviceError::Ioctl {
                source: Errno::EPERM,
                ..
            })
        ),
        || format!("lowering: {lower:?}"),
    )?;
    let allow = dev.set_allowlist(&[]);
    check(
        matches!(
            &allow,
            Err(milspec_host::device::DeviceError::Ioctl {
                source: Errno::EBUSY,
                ..
            })
        ),
        || format!("allowlist change when locked: {allow:?}"),
    )?;
    let unload = kmod::unload(MODULE_NAME);
    check(
        matches!(
            unload.as_ref().map_err(|e| e.errno()),
            Err(Some(Errno::EWOULDBLOCK | Errno::EBUSY))
        ),
        || format!("unload when pinned: {unload:?}"),
    )?;

    let denied = kmod::load_file(&ko(test_modules, DENIED_MODULE), &[]);
    check(
        denied.as_ref().map_err(|e| e.errno()) == Err(Some(Errno::EPERM)),
        || format!("loading {DENIED_MODULE}: {denied:?}"),
    )?;
    check(
        !Path::new(&format!("/sys/module/{DENIED_MODULE}")).exists(),
        || "denied module is present".into(),
    )?;
    kmod::load_file(&ko(test_modules, OK_MODULE), &[]).map_err(|e| e.to_string())?;
    kmod::unload(OK_MODULE).map_err(|e| e.to_string())?;

    dev.set_level(SecurityLevel::ParanoidPlus)
        .map_err(|e| e.to_string())?;
    let batch = dev.events(before.next_seq, 64).map_err(|e| e.to_string())?;
    check(
        names_of(&batch, EventKind::ModuleDenied) == [DENIED_MODULE],
        || {
            format!(
                "denied events {:?}",
                names_of(&batch, EventKind::ModuleDenied)
            )
        },
    )?;
    // The denied module loaded once before the lock, when the list was not enforced.
    check(
        names_of(&batch, EventKind::ModuleLoaded) == [DENIED_MODULE, OK_MODULE],
        || {
            format!(
                "loaded events {:?}",
                names_of(&batch, EventKind::ModuleLoaded)
            )
        },
    )?;
    check(
        names_of(&batch, EventKind::ModuleUnloaded) == [DENIED_MODULE, OK_MODULE],
        || {
            format!(
                "unloaded events {:?}",
                names_of(&batch, EventKind::ModuleUnloaded)
            )
        },
    )?;
    let levels: Vec<(u32, u32)> = batch
        .events
        .iter()
        .filter(|e| e.kind == EventKind::LevelChanged as u32)
        .map(|e| (e.arg0, e.arg1))
        .collect();
    check(levels == [(1, 3), (3, 4)], || {
        format!("level events {levels:?}")
    })?;

    let text = std::fs::read_to_string(PROC_STATUS_PATH).map_err(|e| e.to_string())?;
    let s = ProcStatus::parse(&text).map_err(|e| e.to_string())?;
    for (k, v) in [
        (status_keys::SECURITY_LEVEL, "paranoid_plus (4)"),
        (status_keys::SECURITY_LEVEL_LOCKED, "yes"),
        (status_keys::MODULE_PINNED, "yes"),
        (status_keys::MODULE_LOAD_ALLOWLIST, "enforcing, 1 entries"),
    ] {
        check(s.fields.get(k).map(String::as_str) == Some(v), || {
            format!("{k}: {:?}", s.fields.get(k))
        })?;
    }
    Ok(())
}
