//! `/dev/milspec`: a small safe wrapper around the module's ioctls.

use milspec_abi::{Info, PlatformState, INFO_SIZE};
use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::Path;

nix::ioctl_readwrite_bad!(raw_get_info, milspec_abi::IOC_GET_INFO, [u8; INFO_SIZE]);

/// A failed device operation.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    /// `open()` failed (module not loaded, no permission, ...).
    #[error("cannot open {path}: {source}")]
    Open {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The ioctl returned an error.
    #[error("{name} ioctl failed: {source}")]
    Ioctl {
        name: &'static str,
        #[source]
        source: nix::Error,
    },
    /// The module answered with something this ABI does not define.
    #[error("{name}: invalid answer from the module: {detail}")]
    BadAnswer { name: &'static str, detail: String },
}

/// Decoded answer of GET_INFO.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceInfo {
    pub abi_version: u32,
    pub module_version: String,
    pub platform_state: PlatformState,
}

/// An open `/dev/milspec`.
#[derive(Debug)]
pub struct Device {
    file: File,
}

impl Device {
    /// Opens the device read-only (enough for every query).
    pub fn open(path: &Path) -> Result<Self, DeviceError> {
        File::open(path)
            .map(|file| Device { file })
            .map_err(|source| DeviceError::Open {
                path: path.display().to_string(),
                source,
            })
    }

    /// GET_INFO: ABI and module version, platform state.
    pub fn info(&self) -> Result<DeviceInfo, DeviceError> {
        const NAME: &str = "GET_INFO";
        let mut raw = Info::request().to_bytes();
        // SAFETY: `raw` is a valid, writable buffer of exactly the size that
        // IOC_GET_INFO encodes, and it outlives the call.
        unsafe { raw_get_info(self.file.as_raw_fd(), &mut raw) }
            .map_err(|source| DeviceError::Ioctl { name: NAME, source })?;
        let info = Info::from_bytes(&raw);
        let platform_state =
            PlatformState::from_u32(info.platform_state).ok_or_else(|| DeviceError::BadAnswer {
                name: NAME,
                detail: format!("platform_state {}", info.platform_state),
            })?;
        let module_version = info
            .module_version_str()
            .ok_or_else(|| DeviceError::BadAnswer {
                name: NAME,
                detail: "module_version is not UTF-8".into(),
            })?
            .to_owned();
        Ok(DeviceInfo {
            abi_version: info.abi_version,
            module_version,
            platform_state,
        })
    }
}
