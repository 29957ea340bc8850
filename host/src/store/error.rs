//! A store failure.

use super::StoreId;
use crate::modfile;
use std::io;
use std::path::Path;

/// A store failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("{path}: {source}")]
    NotAModule {
        path: String,
        #[source]
        source: modfile::ModFileError,
    },
    #[error("{path} is module {found:?}, not {expected:?}")]
    WrongModule {
        path: String,
        found: String,
        expected: &'static str,
    },
    #[error("{path} has no version in its .modinfo; cannot be stored")]
    NoVersion { path: String },
    #[error("version {0} is already installed (use --reinstall to replace it)")]
    AlreadyInstalled(StoreId),
    #[error("version {0} is not installed")]
    NotInstalled(StoreId),
    /// `id` names the entry, or `state`/`journal` for those files.
    #[error("version {id}: {reason}")]
    Corrupt { id: String, reason: String },
    #[error(
        "the store is busy: {} has held it for more than {} s; try again when it is done",
        holder.map_or("another process".to_owned(), |p| format!("process {p} (milspecctl or milspecd)")),
        waited.as_secs_f64()
    )]
    Busy {
        holder: Option<u32>,
        waited: std::time::Duration,
    },
    #[error("injected failure after step {0} (test only)")]
    Injected(u32),
}

pub(super) fn io_err(path: &Path) -> impl FnOnce(io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.display().to_string(),
        source,
    }
}
