//! `/dev/milspec`: a small safe wrapper around the module's ioctls.

use milspec_abi::{
    AllowlistRequest, Event, EventsRequest, Info, LevelRequest, PlatformState, RefusalEntry,
    RefusalsRequest, SecurityLevel, Status, TokenEntry, TokensRequest, EVENTS_FLAG_GAP, EVENT_SIZE,
    INFO_SIZE, NAME_LEN, REFUSAL_ENTRIES_MAX, REFUSAL_ENTRY_SIZE, TOKEN_ENTRY_SIZE,
};
use std::fs::File;
use std::io::Read;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::path::Path;

nix::ioctl_readwrite_bad!(raw_get_info, milspec_abi::IOC_GET_INFO, [u8; INFO_SIZE]);
nix::ioctl_readwrite_bad!(
    raw_get_status,
    milspec_abi::IOC_GET_STATUS,
    [u8; Status::SIZE]
);
nix::ioctl_write_ptr_bad!(
    raw_set_level,
    milspec_abi::IOC_SET_LEVEL,
    [u8; LevelRequest::SIZE]
);
nix::ioctl_readwrite_bad!(
    raw_get_events,
    milspec_abi::IOC_GET_EVENTS,
    [u8; EventsRequest::SIZE]
);
nix::ioctl_write_ptr_bad!(
    raw_set_allowlist,
    milspec_abi::IOC_SET_ALLOWLIST,
    [u8; AllowlistRequest::SIZE]
);
nix::ioctl_readwrite_bad!(
    raw_get_tokens,
    milspec_abi::IOC_GET_TOKENS,
    [u8; TokensRequest::SIZE]
);
nix::ioctl_readwrite_bad!(
    raw_get_refusals,
    milspec_abi::IOC_GET_REFUSALS,
    [u8; RefusalsRequest::SIZE]
);

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

/// A batch of events from GET_EVENTS.
#[derive(Clone, Debug)]
pub struct EventBatch {
    /// Events in sequence order.
    pub events: Vec<Event>,
    /// Where the next call should start.
    pub next_seq: u64,
    /// Oldest sequence number the kernel still holds.
    pub oldest_seq: u64,
    /// Events between the requested start and `oldest_seq` were overwritten.
    pub gap: bool,
}

/// The Dell SMBIOS token table from GET_TOKENS.
#[derive(Clone, Debug)]
pub struct TokenTable {
    /// A `SmbiosState` value.
    pub state: u32,
    pub tokens: Vec<TokenEntry>,
}

/// The module's refusal table from GET_REFUSALS.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Refusals {
    /// Refused calls since load, all keys.
    pub total: u64,
    /// Per (uid, command), first seen first; the overflow bucket (uid
    /// `REFUSAL_UID_OTHER`) last.
    pub entries: Vec<RefusalEntry>,
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

    /// The raw file descriptor (for poll and for tests).
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }

    /// GET_STATUS.
    pub fn status(&self) -> Result<Status, DeviceError> {
        let mut raw = Status::request().to_bytes();
        // SAFETY: `raw` is a writable buffer of exactly the encoded size.
        unsafe { raw_get_status(self.file.as_raw_fd(), &mut raw) }.map_err(|source| {
            DeviceError::Ioctl {
                name: "GET_STATUS",
                source,
            }
        })?;
        Ok(Status::from_bytes(&raw))
    }

    /// SET_LEVEL (needs CAP_SYS_ADMIN; lowering a locked level fails with EPERM).
    pub fn set_level(&self, level: SecurityLevel) -> Result<(), DeviceError> {
        let raw = LevelRequest::new(level).to_bytes();
        // SAFETY: `raw` is a readable buffer of exactly the encoded size.
        unsafe { raw_set_level(self.file.as_raw_fd(), &raw) }.map_err(|source| {
            DeviceError::Ioctl {
                name: "SET_LEVEL",
                source,
            }
        })?;
        Ok(())
    }

    /// GET_EVENTS: up to `max` events from `from_seq` on.
    pub fn events(&self, from_seq: u64, max: u32) -> Result<EventBatch, DeviceError> {
        let mut buf = vec![0u8; max as usize * EVENT_SIZE];
        let mut raw = EventsRequest::new(from_seq, buf.as_mut_ptr() as u64, max).to_bytes();
        // SAFETY: `raw` is the request; `buf` (which it points to) is writable for
        // `max` events and outlives the call.
        unsafe { raw_get_events(self.file.as_raw_fd(), &mut raw) }.map_err(|source| {
            DeviceError::Ioctl {
                name: "GET_EVENTS",
                source,
            }
        })?;
        let req = EventsRequest::from_bytes(&raw);
        Ok(EventBatch {
            events: decode_events(&buf, req.count as usize),
            next_seq: req.next_seq,
            oldest_seq: req.oldest_seq,
            gap: req.flags & EVENTS_FLAG_GAP != 0,
        })
    }

    /// `read()`: the next events for this open file (blocks unless opened
    /// non-blocking and none are pending).
    pub fn read_events(&self, max: usize) -> std::io::Result<Vec<Event>> {
        let mut buf = vec![0u8; max * EVENT_SIZE];
        let n = (&self.file).read(&mut buf)?;
        Ok(decode_events(&buf, n / EVENT_SIZE))
    }

    /// SET_ALLOWLIST (needs CAP_SYS_ADMIN; EBUSY once the level is locked).
    pub fn set_allowlist(&self, names: &[&str]) -> Result<(), DeviceError> {
        let mut buf = Vec::with_capacity(names.len() * NAME_LEN);
        for n in names {
            buf.extend_from_slice(&milspec_abi::fixed_str::<NAME_LEN>(n));
        }
        let raw = AllowlistRequest::new(buf.as_ptr() as u64, names.len() as u32).to_bytes();
        // SAFETY: `raw` points to `buf`, which holds `names.len()` entries and
        // outlives the call.
        unsafe { raw_set_allowlist(self.file.as_raw_fd(), &raw) }.map_err(|source| {
            DeviceError::Ioctl {
                name: "SET_ALLOWLIST",
                source,
            }
        })?;
        Ok(())
    }

    /// GET_TOKENS (needs CAP_SYS_ADMIN).
    pub fn tokens(&self) -> Result<TokenTable, DeviceError> {
        let mut capacity = 64u32;
        loop {
            let mut buf = vec![0u8; capacity as usize * TOKEN_ENTRY_SIZE];
            let mut raw = TokensRequest::new(buf.as_mut_ptr() as u64, capacity).to_bytes();
            // SAFETY: `raw` points to `buf`, writable for `capacity` entries.
            unsafe { raw_get_tokens(self.file.as_raw_fd(), &mut raw) }.map_err(|source| {
                DeviceError::Ioctl {
                    name: "GET_TOKENS",
                    source,
                }
            })?;
            let req = TokensRequest::from_bytes(&raw);
            if req.total > capacity {
                capacity = req.total;
                continue;
            }
            let tokens = buf
                .chunks_exact(TOKEN_ENTRY_SIZE)
                .take(req.count as usize)
                .filter_map(|c| c.try_into().ok().map(TokenEntry::from_bytes))
                .collect();
            return Ok(TokenTable {
                state: req.state,
                tokens,
            });
        }
    }

    /// GET_REFUSALS: refused calls per (uid, command).
    pub fn refusals(&self) -> Result<Refusals, DeviceError> {
        let mut buf = vec![0u8; REFUSAL_ENTRIES_MAX * REFUSAL_ENTRY_SIZE];
        let mut raw =
            RefusalsRequest::new(buf.as_mut_ptr() as u64, REFUSAL_ENTRIES_MAX as u32).to_bytes();
        // SAFETY: `raw` points to `buf`, writable for `REFUSAL_ENTRIES_MAX` entries.
        unsafe { raw_get_refusals(self.file.as_raw_fd(), &mut raw) }.map_err(|source| {
            DeviceError::Ioctl {
                name: "GET_REFUSALS",
                source,
            }
        })?;
        let req = RefusalsRequest::from_bytes(&raw);
        let entries = buf
            .chunks_exact(REFUSAL_ENTRY_SIZE)
            .take(req.count as usize)
            .filter_map(|c| c.try_into().ok().map(RefusalEntry::from_bytes))
            .collect();
        Ok(Refusals {
            total: req.total,
            entries,
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

/// The first `count` events in `buf`.
pub fn decode_events(buf: &[u8], count: usize) -> Vec<Event> {
    buf.chunks_exact(EVENT_SIZE)
        .take(count)
        .filter_map(|c| c.try_into().ok().map(Event::from_bytes))
        .collect()
}
