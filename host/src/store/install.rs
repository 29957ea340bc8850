//! Installing and removing store entries, each as a journaled sequence of
//! atomic steps (see the `store` module docs).

use super::error::{io_err, StoreError};
use super::id::{dkms_id, EntryId, StoreId};
use super::journal::Journal;
use super::manifest::Manifest;
use super::{Store, KO_NAME};
use crate::fsutil::{sync_dir, write_atomic};
use crate::modfile::{self, ModFile};
use std::fs;
use std::io;
use std::path::Path;

impl Store {
    /// Installs the module file at `path` under its version. See [`Store::install_as`].
    pub fn install(
        &self,
        path: &Path,
        reinstall: bool,
        source: &str,
    ) -> Result<Manifest, StoreError> {
        self.install_as(path, reinstall, source, EntryId::Version)
    }

    /// Installs the module file at `path` as the entry `naming` gives. Steps (each
    /// a possible crash point): 1 journal, 2 module copied to staging, 3 manifest
    /// written, 4 old version moved to the trash (reinstall only), 5 staging
    /// renamed into place, 6 trash emptied, then the journal is cleared.
    pub fn install_as(
        &self,
        path: &Path,
        reinstall: bool,
        source: &str,
        naming: EntryId,
    ) -> Result<Manifest, StoreError> {
        let bytes = fs::read(path).map_err(io_err(path))?;
        let m = modfile::inspect(&bytes).map_err(|source| StoreError::NotAModule {
            path: path.display().to_string(),
            source,
        })?;
        check_identity(path, &m)?;
        let module_version = m.version.clone().ok_or_else(|| StoreError::NoVersion {
            path: path.display().to_string(),
        })?;
        check_id(&StoreId::new(module_version.as_str()), path)?;
        let kernel_release = modfile::vermagic_release(&m.vermagic).to_owned();
        let id = match naming {
            EntryId::Version => StoreId::new(module_version.as_str()),
            EntryId::VersionAndKernel => dkms_id(&module_version, &kernel_release),
        };
        check_id(&id, path)?;
        let target = self.entry_dir("versions", &id);
        if target.exists() && !reinstall {
            return Err(StoreError::AlreadyInstalled(id));
        }
        let manifest = Manifest {
            id: id.clone(),
            module_name: m.name.clone(),
            module_version,
            sha256: m.sha256.clone(),
            size: m.size,
            kernel_release,
            vermagic: m.vermagic.clone(),
            srcversion: m.srcversion.clone(),
            signature: m.signature.clone(),
            installed_at: crate::clock::unix_secs(),
            source: source.to_owned(),
            source_path: path.display().to_string(),
        };

        self.write_journal(&Journal::Install {
            id: id.clone(),
            sha256: m.sha256.clone(),
            reinstall,
        })?;
        self.invalidate_index()?;
        self.step(1)?;
        let staged = self.entry_dir("staging", &id);
        fs::create_dir_all(&staged).map_err(io_err(&staged))?;
        write_atomic(&staged.join(KO_NAME), &bytes, 0o600).map_err(io_err(&staged))?;
        self.step(2)?;
        let mj = serde_json::to_vec_pretty(&manifest).map_err(|e| StoreError::Io {
            path: staged.display().to_string(),
            source: io::Error::other(e),
        })?;
        write_atomic(&staged.join("manifest.json"), &mj, 0o600).map_err(io_err(&staged))?;
        self.step(3)?;
        let trashed = self.entry_dir("trash", &id);
        if target.exists() {
            fs::rename(&target, &trashed).map_err(io_err(&target))?;
        }
        self.step(4)?;
        fs::rename(&staged, &target).map_err(io_err(&staged))?;
        sync_dir(&self.dir.join("versions")).map_err(io_err(&self.dir))?;
        self.step(5)?;
        if trashed.exists() {
            fs::remove_dir_all(&trashed).map_err(io_err(&trashed))?;
        }
        self.step(6)?;
        self.clear_journal()?;
        Ok(manifest)
    }

    /// Removes an installed entry. Steps: 1 journal, 2 moved to the trash,
    /// 3 trash emptied, then the journal is cleared. (Whether the entry may be
    /// removed — not loaded, not the rollback target — is the caller's rule.)
    pub fn remove(&self, id: &StoreId) -> Result<(), StoreError> {
        let target = self.entry_dir("versions", id);
        // An id that is not an entry name (`..`, `a/b`) would name the store
        // itself or a path outside it.
        if !id.is_valid() || !target.is_dir() {
            return Err(StoreError::NotInstalled(id.clone()));
        }
        self.write_journal(&Journal::Remove { id: id.clone() })?;
        self.invalidate_index()?;
        self.step(1)?;
        let trashed = self.entry_dir("trash", id);
        fs::rename(&target, &trashed).map_err(io_err(&target))?;
        sync_dir(&self.dir.join("versions")).map_err(io_err(&self.dir))?;
        self.step(2)?;
        fs::remove_dir_all(&trashed).map_err(io_err(&trashed))?;
        self.step(3)?;
        self.clear_journal()
    }
}

fn check_identity(path: &Path, m: &ModFile) -> Result<(), StoreError> {
    if m.name != milspec_abi::MODULE_NAME {
        return Err(StoreError::WrongModule {
            path: path.display().to_string(),
            found: m.name.clone(),
            expected: milspec_abi::MODULE_NAME,
        });
    }
    Ok(())
}

/// An id becomes a directory name: no path tricks.
fn check_id(id: &StoreId, path: &Path) -> Result<(), StoreError> {
    if id.is_valid() {
        Ok(())
    } else {
        Err(StoreError::NoVersion {
            path: format!(
                "{} (unusable version string {:?})",
                path.display(),
                id.as_str()
            ),
        })
    }
}
