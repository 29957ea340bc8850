// SPDX-License-Identifier: GPL-2.0

//! Text of `/proc/milspec/status` (keys in `abi::status_keys::ALL` order, format in
//! `docs/status.md`) and of `/proc/milspec/tokens`.

use crate::abi::{
    command_name, status_keys as keys, Lockdown, SmbiosState, ABI_VERSION, REFUSAL_UID_OTHER,
};
use crate::lockdown;
use crate::state::State;
use crate::text::Printable;
use crate::version::MODULE_VERSION;
use core::fmt::{self, Write};

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

fn real_if(b: bool, otherwise: &'static str) -> &'static str {
    if b {
        "real"
    } else {
        otherwise
    }
}

/// Writes the whole status text.
pub(crate) fn write(w: &mut dyn Write, st: &State) -> fmt::Result {
    let p = &st.platform;
    // Copy what we need and drop the lock before formatting (and before asking
    // about lockdown, which may log).
    let (level, locked, pinned, allow_len, enforcing, total, lost, measure) = {
        let inner = st.inner.lock();
        let m = &inner.measurements;
        (
            inner.level,
            inner.locked,
            inner.pinned,
            inner.allowlist.len(),
            inner.allowlist_enforcing(),
            inner.events.total(),
            inner.events.lost(),
            (m.state(), m.last_seq(), m.failures()),
        )
    };
    let (measure_state, measure_seq, measure_failures) = measure;
    let lockdown = lockdown::state();
    let loaded_us = st.loaded_at_ns / 1000;

    writeln!(w, "{}: {}", keys::ABI_VERSION, ABI_VERSION)?;
    writeln!(w, "{}: {}", keys::MODULE_VERSION, MODULE_VERSION)?;
    writeln!(
        w,
        "{}: {}",
        keys::PLATFORM_VENDOR,
        Printable::cstr(p.vendor)
    )?;
    writeln!(
        w,
        "{}: {}",
        keys::PLATFORM_PRODUCT,
        Printable::cstr(p.product)
    )?;
    writeln!(
        w,
        "{}: {}",
        keys::BIOS_VERSION,
        Printable::cstr(p.bios_version)
    )?;
    writeln!(w, "{}: {}", keys::PLATFORM_STATE, p.state.as_str())?;
    writeln!(
        w,
        "{}: {} ({})",
        keys::SECURITY_LEVEL,
        level.as_str(),
        level as u32
    )?;
    writeln!(w, "{}: {}", keys::SECURITY_LEVEL_LOCKED, yes_no(locked))?;
    writeln!(w, "{}: {}", keys::MODULE_PINNED, yes_no(pinned))?;
    writeln!(w, "{}: {}", keys::EVENTS_TOTAL, total)?;
    writeln!(w, "{}: {}", keys::EVENTS_LOST, lost)?;
    writeln!(w, "{}: {}", keys::TOKENS, st.smbios.tokens.len())?;
    writeln!(
        w,
        "{}: {}",
        keys::SMBIOS_CALLING_INTERFACE,
        st.smbios.state.as_str()
    )?;
    let wmi = match st.smbios.acpi_wmi {
        Some(b) => yes_no(b),
        None => "absent",
    };
    writeln!(w, "{}: {}", keys::SMBIOS_ACPI_WMI, wmi)?;
    if allow_len == 0 {
        writeln!(w, "{}: off", keys::MODULE_LOAD_ALLOWLIST)?;
    } else if enforcing {
        writeln!(
            w,
            "{}: enforcing, {} entries",
            keys::MODULE_LOAD_ALLOWLIST,
            allow_len
        )?;
    } else {
        writeln!(
            w,
            "{}: set, {} entries (enforced from paranoid)",
            keys::MODULE_LOAD_ALLOWLIST,
            allow_len
        )?;
    }
    writeln!(w, "{}: {}", keys::KERNEL_LOCKDOWN, lockdown.as_str())?;
    writeln!(
        w,
        "{}: {}",
        keys::MODULE_SIG_ENFORCE,
        yes_no(lockdown::module_sig_enforced())
    )?;
    writeln!(
        w,
        "{}: {}.{:06}",
        keys::LOADED_AT,
        loaded_us / 1_000_000,
        loaded_us % 1_000_000
    )?;
    // Feature lines: what this module really does on this machine.
    writeln!(w, "{}: real", keys::FEATURE_PLATFORM_DETECTION)?;
    writeln!(w, "{}: real", keys::FEATURE_SECURITY_LEVELS)?;
    writeln!(w, "{}: real", keys::FEATURE_EVENT_LOG)?;
    writeln!(w, "{}: real", keys::FEATURE_MODULE_ALLOWLIST)?;
    writeln!(
        w,
        "{}: {}",
        keys::FEATURE_SMBIOS_TOKENS,
        real_if(st.smbios.state == SmbiosState::Present, "not-present")
    )?;
    writeln!(
        w,
        "{}: {}",
        keys::FEATURE_LOCKDOWN_REPORT,
        real_if(lockdown != Lockdown::Unsupported, "unsupported")
    )?;
    writeln!(w, "{}: not-present", keys::FEATURE_SMBIOS_TOKEN_WRITE)?;
    writeln!(
        w,
        "{}: {}",
        keys::FEATURE_TPM_MEASUREMENT,
        measure_state.feature()
    )?;
    // Added within ABI 1, at the end: how the 0xDA structures were judged.
    let report = &st.smbios.report;
    writeln!(w, "{}: {}", keys::SMBIOS_STRUCTURES, report.structures())?;
    write!(w, "{}: ", keys::SMBIOS_REJECTED)?;
    let mut listed = 0u32;
    for r in report.rejected() {
        let sep = if listed == 0 { "" } else { ", " };
        write!(w, "{}{}:{}", sep, r.index, r.error.as_str())?;
        listed += 1;
    }
    let more = report.rejected_count().saturating_sub(listed);
    if listed == 0 {
        writeln!(w, "none")?;
    } else if more > 0 {
        writeln!(w, ", +{} more", more)?;
    } else {
        writeln!(w)?;
    }
    write_refusals(w, st)?;
    // Added in ABI 2, at the end: the measured posture (docs/attestation.md).
    writeln!(w, "{}: {}", keys::TPM_MEASUREMENT, measure_state.as_str())?;
    match measure_seq {
        Some(seq) => writeln!(w, "{}: {}", keys::TPM_MEASUREMENT_SEQ, seq)?,
        None => writeln!(w, "{}: none", keys::TPM_MEASUREMENT_SEQ)?,
    }
    writeln!(
        w,
        "{}: {}",
        keys::TPM_MEASUREMENT_FAILURES,
        measure_failures
    )
}

/// `refused_calls` and `refused_calls_by` (ABI 2). Formatted under the lock: the
/// seq_file buffer is kernel memory, so nothing here can fault or block long.
fn write_refusals(w: &mut dyn Write, st: &State) -> fmt::Result {
    let inner = st.inner.lock();
    let table = &inner.refusals;
    writeln!(w, "{}: {}", keys::REFUSED_CALLS, table.total())?;
    write!(w, "{}: ", keys::REFUSED_CALLS_BY)?;
    if table.keys() == 0 {
        return writeln!(w, "none");
    }
    for (i, e) in table.entries().enumerate() {
        let sep = if i == 0 { "" } else { ", " };
        if e.uid == REFUSAL_UID_OTHER {
            write!(w, "{}other={}", sep, e.count)?;
        } else if let Some(name) = command_name(e.cmd) {
            write!(w, "{}{}:{}={}", sep, e.uid, name, e.count)?;
        } else {
            write!(w, "{}{}:{:#x}={}", sep, e.uid, e.cmd, e.count)?;
        }
    }
    writeln!(w)
}

/// Writes `/proc/milspec/tokens`: one `id location value` line per token, hex.
pub(crate) fn write_tokens(w: &mut dyn Write, st: &State) -> fmt::Result {
    for t in st.smbios.tokens.iter() {
        writeln!(w, "{:#06x} {:#06x} {:#06x}", t.id, t.location, t.value)?;
    }
    Ok(())
}
