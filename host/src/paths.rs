//! Where things are. The module's user-visible interface: tests point these at
//! fakes with `MILSPEC_PROC_STATUS` and `MILSPEC_DEVICE`; on a real machine the
//! defaults from the ABI crate apply. And the kernel's own files that both tools
//! read (release, taint, lockdown, signature enforcement).

use std::path::{Path, PathBuf};

/// The running kernel's release (`uname -r`).
pub const KERNEL_RELEASE: &str = "/proc/sys/kernel/osrelease";
/// The kernel's taint bits.
pub const KERNEL_TAINTED: &str = "/proc/sys/kernel/tainted";
/// Kernel lockdown state (securityfs; absent without the lockdown LSM).
pub const LOCKDOWN: &str = "/sys/kernel/security/lockdown";
/// `Y` when the kernel only loads signed modules.
pub const SIG_ENFORCE: &str = "/sys/module/module/parameters/sig_enforce";
/// The keys the caller may see, with the kernel's trusted keyrings for root.
pub const PROC_KEYS: &str = "/proc/keys";
/// Parent of the per-module sysfs directories.
pub const SYS_MODULE: &str = "/sys/module";

/// Paths of the module's user-visible interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModulePaths {
    /// `/proc/milspec/status`.
    pub proc_status: PathBuf,
    /// `/dev/milspec`.
    pub device: PathBuf,
}

impl Default for ModulePaths {
    fn default() -> Self {
        ModulePaths {
            proc_status: milspec_abi::PROC_STATUS_PATH.into(),
            device: milspec_abi::DEVICE_PATH.into(),
        }
    }
}

impl ModulePaths {
    /// Defaults, overridden by `MILSPEC_PROC_STATUS` / `MILSPEC_DEVICE` when set.
    pub fn from_env() -> Self {
        let mut paths = ModulePaths::default();
        if let Some(p) = std::env::var_os("MILSPEC_PROC_STATUS") {
            paths.proc_status = p.into();
        }
        if let Some(p) = std::env::var_os("MILSPEC_DEVICE") {
            paths.device = p.into();
        }
        paths
    }
}

/// A small kernel file's content without surrounding whitespace; `None` when it
/// cannot be read.
pub fn read_trimmed(path: &Path) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_owned())
}

/// The running kernel's release; empty when it cannot be read.
pub fn kernel_release() -> String {
    read_trimmed(Path::new(KERNEL_RELEASE)).unwrap_or_default()
}
