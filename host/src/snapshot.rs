//! One consistent reading of the module's state from both of its interfaces.

use crate::device::{Device, DeviceError, DeviceInfo, Refusals};
use crate::paths::ModulePaths;
use crate::status::{ParseError, ProcStatus};
use serde::Serialize;
use std::io::ErrorKind;

/// Why a snapshot could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// The status file exists but cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The status file does not parse.
    #[error("{path}: {source}")]
    Parse {
        path: String,
        #[source]
        source: ParseError,
    },
    /// The device failed.
    #[error(transparent)]
    Device(#[from] DeviceError),
}

/// Status as read from `/proc/milspec/status` and GET_INFO, with their agreement.
#[derive(Clone, Debug, Serialize)]
pub struct Snapshot {
    pub proc: ProcStatus,
    pub info: InfoView,
    /// Every disagreement between the two sources or with this tool's ABI.
    pub problems: Vec<String>,
    /// Refused calls (GET_REFUSALS); empty when the module speaks another ABI.
    pub refusals: RefusalsView,
}

/// Refused calls per (uid, command), as the module counts them.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct RefusalsView {
    /// Refused calls since load, all keys.
    pub total: u64,
    pub by: Vec<RefusalCount>,
}

/// One key of [`RefusalsView`].
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct RefusalCount {
    /// `None` for the overflow bucket (keys past the module's 16 slots).
    pub uid: Option<u32>,
    /// The command's name (`set_level`, ...); `None` for the overflow bucket.
    pub command: Option<String>,
    pub count: u64,
}

impl From<&Refusals> for RefusalsView {
    fn from(r: &Refusals) -> Self {
        let by = r
            .entries
            .iter()
            .map(|e| {
                let other = e.uid == milspec_abi::REFUSAL_UID_OTHER;
                RefusalCount {
                    uid: (!other).then_some(e.uid),
                    command: (!other).then(|| {
                        milspec_abi::command_name(e.cmd)
                            .map_or_else(|| format!("{:#x}", e.cmd), str::to_owned)
                    }),
                    count: e.count,
                }
            })
            .collect();
        RefusalsView { total: r.total, by }
    }
}

/// Serializable view of GET_INFO.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct InfoView {
    pub abi_version: u32,
    pub module_version: String,
    pub platform_state: &'static str,
}

impl From<&DeviceInfo> for InfoView {
    fn from(i: &DeviceInfo) -> Self {
        InfoView {
            abi_version: i.abi_version,
            module_version: i.module_version.clone(),
            platform_state: i.platform_state.as_str(),
        }
    }
}

impl Snapshot {
    /// Reads both interfaces. `Ok(None)` means the module is not loaded (no status
    /// file); every other failure is an error.
    pub fn take(paths: &ModulePaths) -> Result<Option<Self>, SnapshotError> {
        let text = match std::fs::read_to_string(&paths.proc_status) {
            Ok(t) => t,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(SnapshotError::Read {
                    path: paths.proc_status.display().to_string(),
                    source,
                })
            }
        };
        let proc = ProcStatus::parse(&text).map_err(|source| SnapshotError::Parse {
            path: paths.proc_status.display().to_string(),
            source,
        })?;
        let dev = Device::open(&paths.device)?;
        let info = dev.info()?;
        let status = dev.status()?;
        let mut snap = Self::from_parts(proc, &info, Some(&status));
        // Another ABI may not have the command: its mismatch is already a problem.
        if info.abi_version == milspec_abi::ABI_VERSION {
            snap.refusals = RefusalsView::from(&dev.refusals()?);
        }
        Ok(Some(snap))
    }

    /// Combines the readings and lists every disagreement.
    pub fn from_parts(
        proc: ProcStatus,
        info: &DeviceInfo,
        status: Option<&milspec_abi::Status>,
    ) -> Self {
        let mut problems = Vec::new();
        if let Some(st) = status {
            if st.security_level != proc.security_level {
                problems.push(format!(
                    "security_level differs: status file {}, GET_STATUS {}",
                    proc.security_level, st.security_level
                ));
            }
            if st.token_count != proc.tokens {
                problems.push(format!(
                    "tokens differ: status file {}, GET_STATUS {}",
                    proc.tokens, st.token_count
                ));
            }
            let locked = st.flags & milspec_abi::status_flags::LEVEL_LOCKED != 0;
            if locked != proc.security_level_locked {
                problems.push(
                    "security_level_locked differs between status file and GET_STATUS".into(),
                );
            }
        }
        if info.abi_version != milspec_abi::ABI_VERSION {
            problems.push(format!(
                "module ABI {} is not the ABI {} this tool speaks",
                info.abi_version,
                milspec_abi::ABI_VERSION
            ));
        }
        if proc.abi_version != info.abi_version {
            problems.push(format!(
                "abi_version differs: status file {}, GET_INFO {}",
                proc.abi_version, info.abi_version
            ));
        }
        if proc.module_version != info.module_version {
            problems.push(format!(
                "module_version differs: status file {:?}, GET_INFO {:?}",
                proc.module_version, info.module_version
            ));
        }
        if proc.platform_state.0 != info.platform_state {
            problems.push(format!(
                "platform_state differs: status file {}, GET_INFO {}",
                proc.platform_state.0.as_str(),
                info.platform_state.as_str()
            ));
        }
        Snapshot {
            proc,
            info: InfoView::from(info),
            problems,
            refusals: RefusalsView::default(),
        }
    }

    /// True when both sources agree and speak this tool's ABI.
    pub fn is_consistent(&self) -> bool {
        self.problems.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use milspec_abi::PlatformState;

    fn proc() -> ProcStatus {
        ProcStatus::parse(
            "abi_version: 2\nmodule_version: 0.1.0\nplatform_vendor: Dell Inc.\n\
platform_product: Latitude 5450\nbios_version: 1\nplatform_state: supported\n\
security_level: standard (1)\nsecurity_level_locked: no\nevents_total: 1\nevents_lost: 0\ntokens: 0\n",
        )
        .unwrap()
    }

    fn info() -> DeviceInfo {
        DeviceInfo {
            abi_version: milspec_abi::ABI_VERSION,
            module_version: "0.1.0".into(),
            platform_state: PlatformState::Supported,
        }
    }

    #[test]
    fn agreeing_sources_are_consistent() {
        assert!(Snapshot::from_parts(proc(), &info(), None).is_consistent());
        let mut st = milspec_abi::Status::request();
        st.security_level = 1;
        assert!(Snapshot::from_parts(proc(), &info(), Some(&st)).is_consistent());
        st.security_level = 3;
        st.token_count = 2;
        let s = Snapshot::from_parts(proc(), &info(), Some(&st));
        assert_eq!(s.problems.len(), 2, "{:?}", s.problems);
    }

    #[test]
    fn each_disagreement_is_reported() {
        let mut i = info();
        i.module_version = "0.2.0".into();
        i.platform_state = PlatformState::Forced;
        let s = Snapshot::from_parts(proc(), &i, None);
        assert_eq!(s.problems.len(), 2, "{:?}", s.problems);
        i = info();
        i.abi_version = 9;
        let s = Snapshot::from_parts(proc(), &i, None);
        assert_eq!(s.problems.len(), 2, "{:?}", s.problems); // foreign ABI + mismatch
    }

    #[test]
    fn refusals_are_named_and_the_overflow_bucket_has_no_key() {
        use milspec_abi::{RefusalEntry, IOC_SET_LEVEL, REFUSAL_UID_OTHER};
        let e = |uid, cmd, count| RefusalEntry {
            uid,
            cmd,
            count,
            first_ns: 1,
            last_ns: 2,
        };
        let r = Refusals {
            total: 100_007,
            entries: vec![
                e(1000, IOC_SET_LEVEL, 100_000),
                e(1000, 0x42, 2),
                e(REFUSAL_UID_OTHER, 0, 5),
            ],
        };
        let v = RefusalsView::from(&r);
        assert_eq!(v.total, 100_007);
        let by: Vec<_> =
            v.by.iter()
                .map(|c| (c.uid, c.command.as_deref(), c.count))
                .collect();
        assert_eq!(
            by,
            [
                (Some(1000), Some("set_level"), 100_000),
                (Some(1000), Some("0x42"), 2),
                (None, None, 5)
            ]
        );
    }

    #[test]
    fn missing_status_file_means_not_loaded() {
        let dir = tempfile::tempdir().unwrap();
        let paths = ModulePaths {
            proc_status: dir.path().join("status"),
            device: dir.path().join("dev"),
        };
        assert!(Snapshot::take(&paths).unwrap().is_none());
    }

    #[test]
    fn corrupt_status_file_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let paths = ModulePaths {
            proc_status: dir.path().join("status"),
            device: dir.path().join("dev"),
        };
        std::fs::write(&paths.proc_status, "garbage\n").unwrap();
        let err = Snapshot::take(&paths).unwrap_err().to_string();
        assert!(err.contains("status") && err.contains("line 1"), "{err}");
    }
}
