//! The journal of the operation in progress (`journal.json`) and recovery from
//! an interrupted one.

use super::error::{io_err, StoreError};
use super::id::StoreId;
use super::Store;
use crate::fsutil::{sync_dir, write_atomic};
use serde::{Deserialize, Serialize};
use std::fs;
use std::io;
use std::path::PathBuf;

/// An operation in progress.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Journal {
    Install {
        /// The entry being installed (`version` on disk, from before store ids).
        #[serde(rename = "version")]
        id: StoreId,
        /// SHA-256 of the file being installed: tells a finished install from
        /// the old copy of the same version on a reinstall.
        sha256: String,
        reinstall: bool,
    },
    Remove {
        #[serde(rename = "version")]
        id: StoreId,
    },
    /// A deployment (load or rollback) in progress; resolved by
    /// `txn::reconcile`, which can look at the kernel.
    Load {
        deployment_id: String,
        from: Option<StoreId>,
        from_params: Vec<String>,
        to: StoreId,
    },
}

/// What `recover()` did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Recovery {
    /// No operation was in progress.
    Clean,
    /// An interrupted operation was completed.
    RolledForward(Journal),
    /// An interrupted operation was undone.
    RolledBack(Journal),
}

impl Store {
    fn journal_path(&self) -> PathBuf {
        self.dir.join("journal.json")
    }

    pub(crate) fn write_journal(&self, j: &Journal) -> Result<(), StoreError> {
        let path = self.journal_path();
        let data = serde_json::to_vec_pretty(j).map_err(|e| StoreError::Io {
            path: path.display().to_string(),
            source: io::Error::other(e),
        })?;
        write_atomic(&path, &data, 0o600).map_err(io_err(&path))
    }

    pub(crate) fn clear_journal(&self) -> Result<(), StoreError> {
        let path = self.journal_path();
        match fs::remove_file(&path) {
            Ok(()) => sync_dir(&self.dir).map_err(io_err(&self.dir)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_err(&path)(e)),
        }
    }

    /// The journal of an interrupted operation, if any.
    pub fn pending(&self) -> Result<Option<Journal>, StoreError> {
        let path = self.journal_path();
        match fs::read(&path) {
            Ok(b) => serde_json::from_slice(&b)
                .map(Some)
                .map_err(|e| StoreError::Corrupt {
                    id: "journal".into(),
                    reason: format!("{}: {e}", path.display()),
                }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err(&path)(e)),
        }
    }

    /// Finishes or undoes an interrupted operation; removes leftovers.
    pub fn recover(&self) -> Result<Recovery, StoreError> {
        let Some(j) = self.pending()? else {
            self.remove_leftovers()?;
            return Ok(Recovery::Clean);
        };
        if !matches!(j, Journal::Load { .. }) {
            // The index may predate the interrupted change (see `index`).
            self.invalidate_index()?;
        }
        let outcome = match &j {
            // Only the deployment layer can resolve this one (txn::reconcile).
            Journal::Load { .. } => return Ok(Recovery::Clean),
            Journal::Install { id, sha256, .. } => {
                let done = !self.entry_dir("staging", id).exists()
                    && self.verify_entry(id).is_ok_and(|m| &m.sha256 == sha256);
                if done {
                    Recovery::RolledForward(j.clone())
                } else {
                    // Not in place yet: undo. On a reinstall the old copy may
                    // already be in the trash: put it back.
                    let trashed = self.entry_dir("trash", id);
                    let target = self.entry_dir("versions", id);
                    if trashed.exists() && !target.exists() {
                        fs::rename(&trashed, &target).map_err(io_err(&trashed))?;
                    }
                    Recovery::RolledBack(j.clone())
                }
            }
            Journal::Remove { id } => {
                // Finish the removal: whatever is still live goes to the trash.
                let live = self.entry_dir("versions", id);
                if live.exists() {
                    let trashed = self.entry_dir("trash", id);
                    fs::rename(&live, &trashed).map_err(io_err(&live))?;
                }
                Recovery::RolledForward(j.clone())
            }
        };
        self.remove_leftovers()?;
        sync_dir(&self.dir.join("versions")).map_err(io_err(&self.dir))?;
        self.clear_journal()?;
        Ok(outcome)
    }

    fn remove_leftovers(&self) -> Result<(), StoreError> {
        for area in ["staging", "trash"] {
            let d = self.dir.join(area);
            for entry in fs::read_dir(&d).map_err(io_err(&d))? {
                let p = entry.map_err(io_err(&d))?.path();
                fs::remove_dir_all(&p).map_err(io_err(&p))?;
            }
        }
        Ok(())
    }
}
