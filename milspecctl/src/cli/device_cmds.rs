//! The device commands: `status`, `level`, `events`, `tokens`, `allowlist`,
//! `load --file` and `unload`. Each asks milspec_host and renders the answer.

use super::args::AllowlistAction;
use super::output::{device, ioctl_failure, CmdResult, Outcome};
use milspec_abi::{status_flags, EventKind, SecurityLevel};
use milspec_host::error::{Error, ErrorKind};
use milspec_host::exit;
use milspec_host::ops;
use milspec_host::paths::ModulePaths;
use milspec_host::snapshot::Snapshot;
use serde_json::json;
use std::path::Path;

/// The store's `deployed` object and its text line; an unreadable state file
/// is shown, not fatal: the module's own status is still worth printing.
fn deployed(root: &Path) -> (serde_json::Value, String) {
    match ops::deployed(root) {
        Ok(d) => {
            let line = match &d.store_id {
                Some(id) => format!(
                    "\n  deployed:  {id} (deployment {}, rollback target {})",
                    d.deployment_id.as_deref().unwrap_or("?"),
                    d.previous.as_ref().map_or("none", |p| p.as_str()),
                ),
                None => "\n  deployed:  nothing from the store".to_owned(),
            };
            (json!(d), line)
        }
        Err(e) => (
            json!({ "error": e.message }),
            format!("\n  deployed:  unknown ({})", e.message),
        ),
    }
}

pub(super) fn status(paths: &ModulePaths, root: &Path) -> CmdResult {
    let (deployed_json, deployed_text) = deployed(root);
    let Some(snap) = Snapshot::take(paths)? else {
        return Ok(Outcome {
            code: exit::NOT_LOADED,
            json: json!({ "module_loaded": false, "deployed": deployed_json }),
            text: format!("{} is not loaded{deployed_text}", milspec_abi::MODULE_NAME),
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
    if let Some(n) = p.fields.get(milspec_abi::status_keys::REFUSED_CALLS) {
        text.push_str(&format!(
            "\n  refused:   {n} calls without CAP_SYS_ADMIN ({})",
            field(milspec_abi::status_keys::REFUSED_CALLS_BY)
        ));
    }
    text.push_str(&deployed_text);
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
            "refusals": snap.refusals,
            "deployed": deployed_json,
        }),
        text,
    })
}

pub(super) fn level(paths: &ModulePaths, requested: Option<&str>) -> CmdResult {
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
    let new = SecurityLevel::parse(requested).ok_or_else(|| {
        Error::new(
            ErrorKind::Usage,
            format!("unknown level {requested:?}: use disabled, standard, enhanced, paranoid, paranoid_plus or 0-4"),
        )
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
        Some(EventKind::Refusals) => format!("{name}: {} refused calls since load", e.arg1),
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

pub(super) fn events(paths: &ModulePaths, from: u64, limit: u32) -> CmdResult {
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

pub(super) fn tokens(paths: &ModulePaths) -> CmdResult {
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

pub(super) fn allowlist(paths: &ModulePaths, action: &AllowlistAction) -> CmdResult {
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

pub(super) fn load(file: &std::path::Path, params: &[String]) -> CmdResult {
    ops::load_file(file, params)?;
    Ok(Outcome {
        code: exit::OK,
        json: json!({ "loaded": file.display().to_string(), "params": params }),
        text: format!("loaded {}", file.display()),
    })
}

pub(super) fn unload() -> CmdResult {
    let name = milspec_abi::MODULE_NAME;
    Ok(if ops::unload()? {
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
