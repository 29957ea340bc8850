//! Loading and unloading module files with `finit_module(2)` and `delete_module(2)`.

use nix::errno::Errno;
use nix::kmod::{delete_module, finit_module, DeleteModuleFlags, ModuleInitFlags};
use std::ffi::CString;
use std::fs::File;
use std::path::Path;

/// A failed load or unload, with the kernel's reason translated.
#[derive(Debug, thiserror::Error)]
pub enum KmodError {
    #[error("cannot open module file {path}: {source}")]
    Open {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid module parameter {0:?}: expected key=value with a non-empty key and no NUL")]
    BadParam(String),
    #[error("the kernel refused to load {path}: {reason}")]
    Load {
        path: String,
        reason: String,
        errno: Errno,
    },
    #[error("the kernel refused to unload {name}: {reason}")]
    Unload {
        name: String,
        reason: String,
        errno: Errno,
    },
}

impl KmodError {
    /// The errno behind a kernel refusal, if that is what this is.
    pub fn errno(&self) -> Option<Errno> {
        match self {
            KmodError::Load { errno, .. } | KmodError::Unload { errno, .. } => Some(*errno),
            _ => None,
        }
    }
}

/// Joins `key=value` parameters into the string `finit_module` takes, rejecting
/// anything the kernel would misparse.
pub fn param_string(params: &[String]) -> Result<CString, KmodError> {
    for p in params {
        match p.split_once('=') {
            Some((k, _)) if !k.is_empty() && !k.contains(char::is_whitespace) => {}
            _ => return Err(KmodError::BadParam(p.clone())),
        }
    }
    CString::new(params.join(" ")).map_err(|_| KmodError::BadParam(params.join(" ")))
}

fn load_reason(errno: Errno) -> String {
    match errno {
        Errno::ENODEV => "no supported device: this is not a supported Dell platform \
                         (the module only loads elsewhere with force=1)"
            .into(),
        Errno::EEXIST => "a module of that name is already loaded".into(),
        Errno::ENOEXEC => {
            "not a valid module for this kernel (bad ELF, or vermagic mismatch)".into()
        }
        Errno::EKEYREJECTED | Errno::ENOKEY => "signature rejected or required".into(),
        Errno::EPERM => "operation not permitted (needs CAP_SYS_MODULE; or module loading is \
                         disabled or locked down)"
            .into(),
        other => other.desc().into(),
    }
}

/// Loads the module in `path` with `params` (`key=value` each).
pub fn load_file(path: &Path, params: &[String]) -> Result<(), KmodError> {
    let values = param_string(params)?;
    let file = File::open(path).map_err(|source| KmodError::Open {
        path: path.display().to_string(),
        source,
    })?;
    finit_module(&file, &values, ModuleInitFlags::empty()).map_err(|errno| KmodError::Load {
        path: path.display().to_string(),
        reason: load_reason(errno),
        errno,
    })
}

/// How long an unload waits for `milspecd` to release the device.
const RELEASE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Unloads module `name` without waiting (like `rmmod`). Returns `Ok(false)` when it
/// was not loaded. When the module is in use, a running `milspecd` is asked to
/// release `/dev/milspec` (an open file pins the module) and the unload is tried
/// again; other holders are named in the error.
pub fn unload(name: &str) -> Result<bool, KmodError> {
    let cname = CString::new(name).map_err(|_| KmodError::BadParam(name.into()))?;
    // First try without looking for holders: a free module goes at once, and the
    // /proc/*/fd scan (about 190 ms under emulation) is paid only when it is in use.
    match delete_module(&cname, DeleteModuleFlags::O_NONBLOCK) {
        Ok(()) => return Ok(true),
        Err(Errno::ENOENT) => return Ok(false),
        Err(Errno::EWOULDBLOCK | Errno::EBUSY) => {}
        Err(errno) => return Err(unload_error(name, errno, &[], Path::new(""))),
    }
    let paths = crate::paths::ModulePaths::from_env();
    let device = paths.device;
    // A pinned module cannot be unloaded: do not blind milspecd for nothing.
    let pinned =
        std::fs::read_to_string(&paths.proc_status).is_ok_and(|t| crate::status::module_pinned(&t));
    let holders = if device.exists() && !pinned {
        crate::holders::release_device(&device, RELEASE_TIMEOUT)
    } else {
        Vec::new()
    };
    match delete_module(&cname, DeleteModuleFlags::O_NONBLOCK) {
        Ok(()) => Ok(true),
        Err(Errno::ENOENT) => Ok(false),
        Err(errno) => Err(unload_error(name, errno, &holders, &device)),
    }
}

fn unload_error(
    name: &str,
    errno: Errno,
    holders: &[crate::holders::Holder],
    device: &Path,
) -> KmodError {
    KmodError::Unload {
        name: name.into(),
        reason: match errno {
            Errno::EWOULDBLOCK | Errno::EBUSY if !holders.is_empty() => format!(
                "module is in use: {} open {} (stop it and retry)",
                holders
                    .iter()
                    .map(|h| h.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                device.display()
            ),
            Errno::EWOULDBLOCK | Errno::EBUSY => "module is in use or pinned".into(),
            Errno::EPERM => "operation not permitted (needs CAP_SYS_MODULE)".into(),
            other => other.desc().into(),
        },
        errno,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_are_joined() {
        let p = param_string(&["force=1".into(), "x=a,b".into()]).unwrap();
        assert_eq!(p.to_str().unwrap(), "force=1 x=a,b");
        assert_eq!(param_string(&[]).unwrap().to_str().unwrap(), "");
    }

    #[test]
    fn bad_params_are_rejected() {
        for bad in ["force", "=1", "a b=1", "x=\0"] {
            assert!(param_string(&[bad.into()]).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn missing_file_is_an_open_error() {
        let err = load_file(Path::new("/nonexistent/dell_milspec.ko"), &[]).unwrap_err();
        assert!(matches!(err, KmodError::Open { .. }), "{err}");
    }
}
