//! The versioned module store under `<root>/var/lib/milspec`:
//!
//! ```text
//! versions/<id>/dell_milspec.ko     the module as installed
//! versions/<id>/manifest.json       what it is (Manifest)
//! staging/<id>/                     an install in progress
//! trash/<id>/                       a removal in progress
//! journal.json                      the operation in progress, if any
//! index.json                        every manifest in one file (a cache, see `index`)
//! lock                              held by the command using the store (see `lock`)
//! ```
//!
//! An entry's id is the module's version for a file install (`1.0.1`) and
//! `<version>+<kernel release>` for a module built by DKMS (`0.1.0+6.12.117`):
//! DKMS builds the same source version once per kernel, and those builds must
//! coexist so that a rollback (or a boot into the older kernel) still has them.
//!
//! Every change is journaled first and made of steps that are each atomic
//! (write-temp + fsync + rename, or a directory rename). A crash after any step
//! leaves a journal that the next command finds: `recover()` then finishes the
//! operation if its result is complete (roll forward) or undoes it otherwise.

mod error;
mod id;
mod index;
mod install;
mod journal;
mod lock;
mod manifest;

use error::io_err;
pub use error::StoreError;
pub use id::{compare_versions, dkms_id, EntryId, StoreId};
pub use journal::{Journal, Recovery};
pub use lock::StoreLock;
pub use manifest::{read_manifest, Manifest};

#[cfg(test)]
use crate::modfile;
use sha2::{Digest, Sha256};
use std::fs;
use std::path::{Path, PathBuf};

/// File name of the module inside a version directory.
pub const KO_NAME: &str = "dell_milspec.ko";

/// The store.
#[derive(Debug)]
pub struct Store {
    root: PathBuf,
    dir: PathBuf,
    /// Tests: fail right after this step, without any cleanup (like a crash).
    pub fail_after_step: Option<u32>,
}

impl Store {
    /// The store under `root` (`/` on a real system).
    /// Where the store under `root` lives (`<root>/var/lib/milspec`).
    pub fn dir_under(root: &Path) -> PathBuf {
        root.join("var/lib/milspec")
    }

    pub fn open(root: &Path) -> Result<Self, StoreError> {
        let dir = Self::dir_under(root);
        for sub in ["versions", "staging", "trash"] {
            let d = dir.join(sub);
            fs::create_dir_all(&d).map_err(io_err(&d))?;
        }
        set_private(&dir)?;
        Ok(Store {
            root: root.to_owned(),
            dir,
            fail_after_step: None,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The root the store lives under (`/` on a real system).
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn entry_dir(&self, area: &str, id: &StoreId) -> PathBuf {
        self.dir.join(area).join(id.as_str())
    }

    /// Path of an installed entry's module file.
    pub fn ko_path(&self, id: &StoreId) -> PathBuf {
        self.entry_dir("versions", id).join(KO_NAME)
    }

    fn step(&self, n: u32) -> Result<(), StoreError> {
        match self.fail_after_step {
            Some(f) if f == n => Err(StoreError::Injected(n)),
            _ => Ok(()),
        }
    }

    /// The manifest of an installed entry.
    pub fn manifest(&self, id: &StoreId) -> Result<Manifest, StoreError> {
        read_manifest(&self.root, id)
    }

    /// The installed entry to deploy when none is named: the newest version
    /// built for kernel `release`, else the newest of all (which preflight and
    /// load then refuse with a vermagic message).
    pub fn default_candidate(&self, release: &str) -> Result<Option<Manifest>, StoreError> {
        let all = self.list()?;
        let newest_here = all.iter().rev().find(|m| m.kernel_release == release);
        Ok(newest_here.or(all.last()).cloned())
    }

    /// Checks an installed entry's file against its manifest.
    pub fn verify_entry(&self, id: &StoreId) -> Result<Manifest, StoreError> {
        self.verify_entry_bytes(id).map(|(m, _)| m)
    }

    /// As [`Store::verify_entry`], also returning the file's bytes as checked,
    /// so that callers use what was hashed instead of reading it again. The
    /// SHA-256 and size are compared with the manifest; everything else the
    /// manifest says was read from these same bytes at install time.
    pub fn verify_entry_bytes(&self, id: &StoreId) -> Result<(Manifest, Vec<u8>), StoreError> {
        let m = self.manifest(id)?;
        let corrupt = |reason: String| StoreError::Corrupt {
            id: id.to_string(),
            reason,
        };
        let bytes = fs::read(self.ko_path(id)).map_err(|e| corrupt(format!("{KO_NAME}: {e}")))?;
        let sha256 = hex::encode(Sha256::digest(&bytes));
        if sha256 != m.sha256 || bytes.len() as u64 != m.size {
            return Err(corrupt(format!(
                "sha256 {sha256} does not match the manifest's {}",
                m.sha256
            )));
        }
        Ok((m, bytes))
    }

    /// Installed entries, oldest first by version number (then by id, so the
    /// builds of one version for several kernels sort by kernel release).
    pub fn list(&self) -> Result<Vec<Manifest>, StoreError> {
        let mut out = self.manifests()?;
        out.sort_by(|a, b| {
            compare_versions(&a.module_version, &b.module_version)
                .then_with(|| compare_versions(a.id.as_str(), b.id.as_str()))
        });
        Ok(out)
    }
}

fn set_private(dir: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(io_err(dir))
}

#[cfg(test)]
mod tests;
