// SPDX-License-Identifier: GPL-2.0 OR MIT
//! Keys of `/proc/milspec/status`, in the order the module prints them.
//! The format is `key: value` per line; see `docs/status.md`.

/// [`super::ABI_VERSION`] of the module, decimal.
pub const ABI_VERSION: &str = "abi_version";
/// Module version string.
pub const MODULE_VERSION: &str = "module_version";
/// DMI system vendor (`sys_vendor`), or `unknown`.
pub const PLATFORM_VENDOR: &str = "platform_vendor";
/// DMI product name, or `unknown`.
pub const PLATFORM_PRODUCT: &str = "platform_product";
/// DMI BIOS version, or `unknown`.
pub const BIOS_VERSION: &str = "bios_version";
/// `supported` or `forced`, see [`super::PlatformState`].
pub const PLATFORM_STATE: &str = "platform_state";
/// `<name> (<number>)`, see [`super::SecurityLevel`].
pub const SECURITY_LEVEL: &str = "security_level";
/// `yes` once a level of `paranoid` or above was set (until reboot).
pub const SECURITY_LEVEL_LOCKED: &str = "security_level_locked";
/// `yes` when the module holds a reference on itself (cannot be unloaded).
pub const MODULE_PINNED: &str = "module_pinned";
/// Events recorded since load.
pub const EVENTS_TOTAL: &str = "events_total";
/// Events overwritten before they could be read.
pub const EVENTS_LOST: &str = "events_lost";
/// Number of Dell SMBIOS tokens.
pub const TOKENS: &str = "tokens";
/// `present`, `absent` or `invalid`, see [`super::SmbiosState`].
pub const SMBIOS_CALLING_INTERFACE: &str = "smbios_calling_interface";
/// 0xB1 structure: `yes`/`no` (ACPI-WMI interface flag), or `absent`.
pub const SMBIOS_ACPI_WMI: &str = "smbios_acpi_wmi";
/// `off`, `set, N entries (enforced from paranoid)` or `enforcing, N entries`.
pub const MODULE_LOAD_ALLOWLIST: &str = "module_load_allowlist";
/// `none`, `integrity`, `confidentiality` or `unsupported`.
pub const KERNEL_LOCKDOWN: &str = "kernel_lockdown";
/// `yes` if the kernel refuses unsigned modules.
pub const MODULE_SIG_ENFORCE: &str = "module_sig_enforce";
/// CLOCK_MONOTONIC seconds at load, `S.UUUUUU`.
pub const LOADED_AT: &str = "loaded_at";
/// Feature lines: `real`, `unsupported` or `not-present`.
pub const FEATURE_PLATFORM_DETECTION: &str = "feature_platform_detection";
/// Security levels with their effects.
pub const FEATURE_SECURITY_LEVELS: &str = "feature_security_levels";
/// Event log with poll().
pub const FEATURE_EVENT_LOG: &str = "feature_event_log";
/// Module-load allowlist.
pub const FEATURE_MODULE_ALLOWLIST: &str = "feature_module_allowlist";
/// Dell SMBIOS tokens (read-only): `real` when a valid 0xDA table exists.
pub const FEATURE_SMBIOS_TOKENS: &str = "feature_smbios_tokens";
/// Lockdown reporting: `unsupported` without the lockdown LSM.
pub const FEATURE_LOCKDOWN_REPORT: &str = "feature_lockdown_report";
/// Writing SMBIOS tokens: never done.
pub const FEATURE_SMBIOS_TOKEN_WRITE: &str = "feature_smbios_token_write";
/// TPM measurement of the posture through IMA: `real` when entries reach a TPM,
/// `unsupported` without IMA, a TPM or the IMA policy rule.
pub const FEATURE_TPM_MEASUREMENT: &str = "feature_tpm_measurement";
/// Number of 0xDA structures in the SMBIOS table, accepted or not (added in ABI 2).
pub const SMBIOS_STRUCTURES: &str = "smbios_structures";
/// Rejected 0xDA structures: `none`, or `<index>:<reason>` items joined by `, `
/// (index from 1 in table order), ending in `, +N more` past the first 8.
pub const SMBIOS_REJECTED: &str = "smbios_rejected";
/// Privileged calls refused for lack of `CAP_SYS_ADMIN` since load (added in ABI 2).
pub const REFUSED_CALLS: &str = "refused_calls";
/// Refused calls per key: `none`, or `<uid>:<command>=<count>` items joined by `, `
/// (first-seen order), the overflow bucket last as `other=<count>` (ABI 2).
pub const REFUSED_CALLS_BY: &str = "refused_calls_by";
/// Outcome of the last posture measurement (added in ABI 2): `pending`, `measured`,
/// `no-ima`, `no-tpm`, `no-policy` or `failed`.
pub const TPM_MEASUREMENT: &str = "tpm_measurement";
/// `seq` of the last posture entry IMA logged, or `none` (added in ABI 2).
pub const TPM_MEASUREMENT_SEQ: &str = "tpm_measurement_seq";
/// Posture entries IMA did not log since load (added in ABI 2).
pub const TPM_MEASUREMENT_FAILURES: &str = "tpm_measurement_failures";

/// Every key the module prints, in order.
pub const ALL: &[&str] = &[
    ABI_VERSION,
    MODULE_VERSION,
    PLATFORM_VENDOR,
    PLATFORM_PRODUCT,
    BIOS_VERSION,
    PLATFORM_STATE,
    SECURITY_LEVEL,
    SECURITY_LEVEL_LOCKED,
    MODULE_PINNED,
    EVENTS_TOTAL,
    EVENTS_LOST,
    TOKENS,
    SMBIOS_CALLING_INTERFACE,
    SMBIOS_ACPI_WMI,
    MODULE_LOAD_ALLOWLIST,
    KERNEL_LOCKDOWN,
    MODULE_SIG_ENFORCE,
    LOADED_AT,
    FEATURE_PLATFORM_DETECTION,
    FEATURE_SECURITY_LEVELS,
    FEATURE_EVENT_LOG,
    FEATURE_MODULE_ALLOWLIST,
    FEATURE_SMBIOS_TOKENS,
    FEATURE_LOCKDOWN_REPORT,
    FEATURE_SMBIOS_TOKEN_WRITE,
    FEATURE_TPM_MEASUREMENT,
    SMBIOS_STRUCTURES,
    SMBIOS_REJECTED,
    REFUSED_CALLS,
    REFUSED_CALLS_BY,
    TPM_MEASUREMENT,
    TPM_MEASUREMENT_SEQ,
    TPM_MEASUREMENT_FAILURES,
];
