//! Host facts: where the kernel's view of the module lives (relocatable for
//! tests) and what is loaded now.

use crate::paths::{self, read_trimmed, ModulePaths};
use std::path::PathBuf;

/// Where the kernel's view of the module lives (relocatable for tests).
#[derive(Clone, Debug)]
pub struct Host {
    pub module: ModulePaths,
    pub sys_module: PathBuf,
    pub tainted: PathBuf,
    pub osrelease: PathBuf,
    pub sig_enforce: PathBuf,
    pub lockdown: PathBuf,
    /// `/proc/keys`: the keys (and keyrings) the caller may see.
    pub proc_keys: PathBuf,
}

impl Host {
    pub fn real() -> Self {
        Host {
            module: ModulePaths::from_env(),
            sys_module: PathBuf::from(paths::SYS_MODULE).join(milspec_abi::MODULE_NAME),
            tainted: paths::KERNEL_TAINTED.into(),
            osrelease: paths::KERNEL_RELEASE.into(),
            sig_enforce: paths::SIG_ENFORCE.into(),
            lockdown: paths::LOCKDOWN.into(),
            proc_keys: paths::PROC_KEYS.into(),
        }
    }

    pub fn release(&self) -> String {
        read_trimmed(&self.osrelease).unwrap_or_default()
    }

    pub fn taint(&self) -> Option<u64> {
        read_trimmed(&self.tainted).and_then(|s| s.parse().ok())
    }

    /// The loaded module's srcversion (sysfs).
    pub fn srcversion(&self) -> Option<String> {
        read_trimmed(&self.sys_module.join("srcversion"))
    }

    /// Whether the kernel only loads signed modules.
    pub fn sig_enforced(&self) -> bool {
        read_trimmed(&self.sig_enforce).is_some_and(|v| v == "Y")
    }

    /// The kernel's lockdown state, if the lockdown LSM is there.
    pub fn lockdown(&self) -> Option<String> {
        read_trimmed(&self.lockdown)
    }

    /// Version and parameters of the loaded module, and whether it is pinned.
    pub fn loaded(&self) -> Option<Loaded> {
        let text = std::fs::read_to_string(&self.module.proc_status).ok()?;
        let status = crate::status::ProcStatus::parse(&text).ok();
        let mut params = Vec::new();
        for p in ["force", "level"] {
            if let Some(v) = read_trimmed(&self.sys_module.join("parameters").join(p)) {
                let v = match (p, v.as_str()) {
                    ("force", "Y") => "1".to_owned(),
                    ("force", _) => continue,
                    _ => v,
                };
                params.push(format!("{p}={v}"));
            }
        }
        Some(Loaded {
            version: status.map(|s| s.module_version),
            pinned: crate::status::module_pinned(&text),
            params,
        })
    }
}

/// The loaded module, as seen before a deployment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Loaded {
    /// The version the kernel reports (not a store id).
    pub version: Option<String>,
    pub pinned: bool,
    pub params: Vec<String>,
}
