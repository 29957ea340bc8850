//! Where the module's files are. Tests point these at fakes with `MILSPEC_PROC_STATUS`
//! and `MILSPEC_DEVICE`; on a real machine the defaults from the ABI crate apply.

use std::path::PathBuf;

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
