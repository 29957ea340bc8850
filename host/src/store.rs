//! The versioned module store under `<root>/var/lib/milspec`:
//!
//! ```text
//! versions/<id>/dell_milspec.ko     the module as installed
//! versions/<id>/manifest.json       what it is (Manifest)
//! staging/<id>/                     an install in progress
//! trash/<id>/                       a removal in progress
//! journal.json                      the operation in progress, if any
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

use crate::fsutil::{sync_dir, write_atomic};
use crate::modfile::{self, ModFile, Signature};
use serde::{Deserialize, Serialize};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// File name of the module inside a version directory.
pub const KO_NAME: &str = "dell_milspec.ko";

/// What the store knows about one installed version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The store id: the module version, or `<version>+<kernel release>` for DKMS
    /// builds (see the module docs). Always the entry's directory name.
    #[serde(default)]
    pub id: String,
    pub module_name: String,
    pub module_version: String,
    pub sha256: String,
    pub size: u64,
    pub vermagic: String,
    /// Kernel release the module was built for (first word of vermagic).
    pub kernel_release: String,
    pub srcversion: Option<String>,
    pub signature: Option<Signature>,
    /// Seconds since the epoch.
    pub installed_at: u64,
    /// `file` or `dkms`.
    pub source: String,
    /// Where it was installed from.
    pub source_path: String,
}

/// An operation in progress.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Journal {
    Install {
        version: String,
        /// SHA-256 of the file being installed: tells a finished install from
        /// the old copy of the same version on a reinstall.
        sha256: String,
        reinstall: bool,
    },
    Remove {
        version: String,
    },
    /// A deployment (load or rollback) in progress; resolved by
    /// `txn::reconcile`, which can look at the kernel.
    Load {
        deployment_id: String,
        from: Option<String>,
        from_params: Vec<String>,
        to: String,
    },
}

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
    AlreadyInstalled(String),
    #[error("version {0} is not installed")]
    NotInstalled(String),
    #[error("version {version}: {reason}")]
    Corrupt { version: String, reason: String },
    #[error("injected failure after step {0} (test only)")]
    Injected(u32),
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// How an install names its store entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryId {
    /// The module's version (`install FILE`).
    Version,
    /// `<version>+<kernel release>` (`install --from-dkms`): one entry per kernel.
    VersionAndKernel,
}

/// The id of a DKMS build of `version` for kernel `release`. Characters a
/// directory name must not have become `-`.
pub fn dkms_id(version: &str, release: &str) -> String {
    let release: String = release
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._+-~".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("{version}+{release}")
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
    pub fn open(root: &Path) -> Result<Self, StoreError> {
        let dir = root.join("var/lib/milspec");
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

    fn journal_path(&self) -> PathBuf {
        self.dir.join("journal.json")
    }

    fn version_dir(&self, area: &str, version: &str) -> PathBuf {
        self.dir.join(area).join(version)
    }

    /// Path of an installed version's module file.
    pub fn ko_path(&self, version: &str) -> PathBuf {
        self.version_dir("versions", version).join(KO_NAME)
    }

    fn step(&self, n: u32) -> Result<(), StoreError> {
        match self.fail_after_step {
            Some(f) if f == n => Err(StoreError::Injected(n)),
            _ => Ok(()),
        }
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
                    version: "journal".into(),
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
        if matches!(j, Journal::Load { .. }) {
            // Only the deployment layer can resolve this one (txn::reconcile).
            return Ok(Recovery::Clean);
        }
        let outcome = match &j {
            Journal::Install {
                version, sha256, ..
            } => {
                let done = !self.version_dir("staging", version).exists()
                    && self
                        .verify_version(version)
                        .is_ok_and(|m| &m.sha256 == sha256);
                if done {
                    Recovery::RolledForward(j.clone())
                } else {
                    // Not in place yet: undo. On a reinstall the old copy may
                    // already be in the trash: put it back.
                    let trashed = self.version_dir("trash", version);
                    let target = self.version_dir("versions", version);
                    if trashed.exists() && !target.exists() {
                        fs::rename(&trashed, &target).map_err(io_err(&trashed))?;
                    }
                    Recovery::RolledBack(j.clone())
                }
            }
            Journal::Load { .. } => Recovery::Clean,
            Journal::Remove { version } => {
                // Finish the removal: whatever is still live goes to the trash.
                let live = self.version_dir("versions", version);
                if live.exists() {
                    let trashed = self.version_dir("trash", version);
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
        let version = m.version.clone().ok_or_else(|| StoreError::NoVersion {
            path: path.display().to_string(),
        })?;
        check_version_name(&version, path)?;
        let kernel_release = modfile::vermagic_release(&m.vermagic).to_owned();
        let module_version = version.clone();
        let version = match naming {
            EntryId::Version => version,
            EntryId::VersionAndKernel => dkms_id(&version, &kernel_release),
        };
        check_version_name(&version, path)?;
        let target = self.version_dir("versions", &version);
        if target.exists() && !reinstall {
            return Err(StoreError::AlreadyInstalled(version));
        }
        let manifest = Manifest {
            id: version.clone(),
            module_name: m.name.clone(),
            module_version,
            sha256: m.sha256.clone(),
            size: m.size,
            kernel_release,
            vermagic: m.vermagic.clone(),
            srcversion: m.srcversion.clone(),
            signature: m.signature.clone(),
            installed_at: now(),
            source: source.to_owned(),
            source_path: path.display().to_string(),
        };

        self.write_journal(&Journal::Install {
            version: version.clone(),
            sha256: m.sha256.clone(),
            reinstall,
        })?;
        self.step(1)?;
        let staged = self.version_dir("staging", &version);
        fs::create_dir_all(&staged).map_err(io_err(&staged))?;
        write_atomic(&staged.join(KO_NAME), &bytes, 0o600).map_err(io_err(&staged))?;
        self.step(2)?;
        let mj = serde_json::to_vec_pretty(&manifest).map_err(|e| StoreError::Io {
            path: staged.display().to_string(),
            source: io::Error::other(e),
        })?;
        write_atomic(&staged.join("manifest.json"), &mj, 0o600).map_err(io_err(&staged))?;
        self.step(3)?;
        let trashed = self.version_dir("trash", &version);
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

    /// Removes an installed version. Steps: 1 journal, 2 moved to the trash,
    /// 3 trash emptied, then the journal is cleared. (Whether the version may be
    /// removed — not loaded, not the rollback target — is the caller's rule.)
    pub fn remove(&self, version: &str) -> Result<(), StoreError> {
        let target = self.version_dir("versions", version);
        if !target.exists() {
            return Err(StoreError::NotInstalled(version.to_owned()));
        }
        self.write_journal(&Journal::Remove {
            version: version.to_owned(),
        })?;
        self.step(1)?;
        let trashed = self.version_dir("trash", version);
        fs::rename(&target, &trashed).map_err(io_err(&target))?;
        sync_dir(&self.dir.join("versions")).map_err(io_err(&self.dir))?;
        self.step(2)?;
        fs::remove_dir_all(&trashed).map_err(io_err(&trashed))?;
        self.step(3)?;
        self.clear_journal()
    }

    /// The manifest of an installed version.
    pub fn manifest(&self, version: &str) -> Result<Manifest, StoreError> {
        read_manifest(&self.root, version)
    }

    /// The installed entry to deploy when none is named: the newest version
    /// built for kernel `release`, else the newest of all (which preflight and
    /// load then refuse with a vermagic message).
    pub fn default_candidate(&self, release: &str) -> Result<Option<Manifest>, StoreError> {
        let all = self.list()?;
        let newest_here = all.iter().rev().find(|m| m.kernel_release == release);
        Ok(newest_here.or(all.last()).cloned())
    }

    /// Checks an installed version's file against its manifest.
    pub fn verify_version(&self, version: &str) -> Result<Manifest, StoreError> {
        let m = self.manifest(version)?;
        let bytes = fs::read(self.ko_path(version)).map_err(|e| StoreError::Corrupt {
            version: version.to_owned(),
            reason: format!("{KO_NAME}: {e}"),
        })?;
        let found = modfile::inspect(&bytes).map_err(|e| StoreError::Corrupt {
            version: version.to_owned(),
            reason: e.to_string(),
        })?;
        if found.sha256 != m.sha256 || found.size != m.size {
            return Err(StoreError::Corrupt {
                version: version.to_owned(),
                reason: format!(
                    "sha256 {} does not match the manifest's {}",
                    found.sha256, m.sha256
                ),
            });
        }
        Ok(m)
    }

    /// Installed versions, oldest first by version number (then by id, so the
    /// builds of one version for several kernels sort by kernel release).
    pub fn list(&self) -> Result<Vec<Manifest>, StoreError> {
        let d = self.dir.join("versions");
        let mut out = Vec::new();
        for entry in fs::read_dir(&d).map_err(io_err(&d))? {
            let name = entry.map_err(io_err(&d))?.file_name();
            out.push(self.manifest(&name.to_string_lossy())?);
        }
        out.sort_by(|a, b| {
            compare_versions(&a.module_version, &b.module_version)
                .then_with(|| compare_versions(&a.id, &b.id))
        });
        Ok(out)
    }
}

/// The manifest of installed `version` in the store under `root`, read without
/// creating or repairing anything (for readers such as `milspecd`).
pub fn read_manifest(root: &Path, version: &str) -> Result<Manifest, StoreError> {
    let p = root
        .join("var/lib/milspec/versions")
        .join(version)
        .join("manifest.json");
    let b = fs::read(&p).map_err(|e| {
        if e.kind() == io::ErrorKind::NotFound && !p.parent().is_some_and(Path::exists) {
            StoreError::NotInstalled(version.to_owned())
        } else {
            io_err(&p)(e)
        }
    })?;
    let mut m: Manifest = serde_json::from_slice(&b).map_err(|e| StoreError::Corrupt {
        version: version.to_owned(),
        reason: format!("manifest.json: {e}"),
    })?;
    // Manifests written before ids existed: the directory name is the id.
    m.id = version.to_owned();
    Ok(m)
}

/// Orders `1.0.9` before `1.0.10`: numeric where both parts are numbers.
pub fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
    let parts = |s: &str| -> Vec<String> { s.split(['.', '-', '+']).map(str::to_owned).collect() };
    let (pa, pb) = (parts(a), parts(b));
    for (x, y) in pa.iter().zip(&pb) {
        let ord = match (x.parse::<u64>(), y.parse::<u64>()) {
            (Ok(x), Ok(y)) => x.cmp(&y),
            _ => x.cmp(y),
        };
        if ord != std::cmp::Ordering::Equal {
            return ord;
        }
    }
    pa.len().cmp(&pb.len())
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

/// A version becomes a directory name: no path tricks.
fn check_version_name(v: &str, path: &Path) -> Result<(), StoreError> {
    let ok = !v.is_empty()
        && v.len() <= 64
        && !v.starts_with('.')
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._+-~".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(StoreError::NoVersion {
            path: format!("{} (unusable version string {v:?})", path.display()),
        })
    }
}

fn set_private(dir: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(io_err(dir))
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::fake_ko;

    /// A module that looks like dell_milspec `version`; `extra` varies srcversion.
    fn ko(version: &str, extra: &str) -> Vec<u8> {
        fake_ko::dell_milspec(version, &format!("ABC{extra}"))
    }

    fn setup() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        (dir, store)
    }

    fn file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let p = dir.join(name);
        fs::write(&p, bytes).unwrap();
        p
    }

    fn versions(s: &Store) -> Vec<String> {
        s.list()
            .unwrap()
            .into_iter()
            .map(|m| m.module_version)
            .collect()
    }

    #[test]
    fn install_list_remove() {
        let (d, s) = setup();
        let a = file(d.path(), "a.ko", &ko("1.0.10", ""));
        let b = file(d.path(), "b.ko", &ko("1.0.9", ""));
        let m = s.install(&a, false, "file").unwrap();
        assert_eq!(m.kernel_release, "6.12.117");
        assert_eq!(m.srcversion.as_deref(), Some("ABC"));
        s.install(&b, false, "file").unwrap();
        assert_eq!(versions(&s), ["1.0.9", "1.0.10"]);
        assert!(
            matches!(s.install(&a, false, "file"), Err(StoreError::AlreadyInstalled(v)) if v == "1.0.10")
        );
        s.remove("1.0.9").unwrap();
        assert_eq!(versions(&s), ["1.0.10"]);
        assert!(matches!(
            s.remove("1.0.9"),
            Err(StoreError::NotInstalled(_))
        ));
        assert_eq!(s.verify_version("1.0.10").unwrap().sha256, m.sha256);
        assert_eq!(s.recover().unwrap(), Recovery::Clean);
    }

    #[test]
    fn reinstall_replaces_the_file() {
        let (d, s) = setup();
        let old = s
            .install(&file(d.path(), "a.ko", &ko("2.0.0", "")), false, "file")
            .unwrap();
        let new = s
            .install(&file(d.path(), "b.ko", &ko("2.0.0", "X")), true, "file")
            .unwrap();
        assert_ne!(old.sha256, new.sha256);
        assert_eq!(s.verify_version("2.0.0").unwrap().sha256, new.sha256);
    }

    #[test]
    fn bad_files_are_refused_and_leave_nothing() {
        let (d, s) = setup();
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("text.ko", b"not a module".to_vec()),
            ("truncated.ko", ko("1.0.0", "")[..100].to_vec()),
        ];
        for (name, bytes) in &cases {
            let err = s
                .install(&file(d.path(), name, bytes), false, "file")
                .unwrap_err();
            assert!(
                matches!(err, StoreError::NotAModule { .. }),
                "{name}: {err}"
            );
        }
        let mut other = ko("1.0.0", "");
        let pos = other
            .windows(16)
            .position(|w| w == b"name=dell_milspe")
            .unwrap();
        other[pos + 5..pos + 16].copy_from_slice(b"other_modul");
        let err = s
            .install(&file(d.path(), "o.ko", &other), false, "file")
            .unwrap_err();
        assert!(matches!(err, StoreError::WrongModule { .. }), "{err}");
        let err = s
            .install(&file(d.path(), "v.ko", &ko("../../etc", "")), false, "file")
            .unwrap_err();
        assert!(matches!(err, StoreError::NoVersion { .. }), "{err}");
        let err = s
            .install(Path::new("/nonexistent.ko"), false, "file")
            .unwrap_err();
        assert!(matches!(err, StoreError::Io { .. }));
        assert!(versions(&s).is_empty());
        assert_eq!(s.pending().unwrap(), None);
    }

    #[test]
    fn a_tampered_file_fails_verification() {
        let (d, s) = setup();
        s.install(&file(d.path(), "a.ko", &ko("1.0.0", "")), false, "file")
            .unwrap();
        let mut bytes = fs::read(s.ko_path("1.0.0")).unwrap();
        let n = bytes.len();
        bytes[n - 1] ^= 0xff;
        fs::write(s.ko_path("1.0.0"), bytes).unwrap();
        assert!(matches!(
            s.verify_version("1.0.0"),
            Err(StoreError::Corrupt { .. })
        ));
    }

    /// A crash after every step of install (fresh and reinstall) and remove, then
    /// recovery: the store is consistent, holds either the old or the new state,
    /// and a second recovery has nothing to do.
    #[test]
    fn crash_after_every_step_then_recover() {
        for step in 1..=6 {
            // fresh install
            let (d, mut s) = setup();
            let p = file(d.path(), "a.ko", &ko("1.0.0", ""));
            s.fail_after_step = Some(step);
            assert!(
                matches!(s.install(&p, false, "file"), Err(StoreError::Injected(n)) if n == step)
            );
            s.fail_after_step = None;
            let r = s.recover().unwrap();
            let installed = versions(&s);
            if step >= 5 {
                assert_eq!(
                    r,
                    Recovery::RolledForward(s_install("1.0.0", &p, false)),
                    "step {step}"
                );
                assert_eq!(installed, ["1.0.0"]);
                s.verify_version("1.0.0").unwrap();
            } else {
                assert!(matches!(r, Recovery::RolledBack(_)), "step {step}: {r:?}");
                assert!(installed.is_empty(), "step {step}");
            }
            assert_eq!(s.recover().unwrap(), Recovery::Clean);
            assert_eq!(fs::read_dir(s.dir().join("staging")).unwrap().count(), 0);
            assert_eq!(fs::read_dir(s.dir().join("trash")).unwrap().count(), 0);

            // reinstall over an existing copy
            let (d, mut s) = setup();
            let old = s
                .install(&file(d.path(), "a.ko", &ko("1.0.0", "")), false, "file")
                .unwrap();
            let p = file(d.path(), "b.ko", &ko("1.0.0", "NEW"));
            s.fail_after_step = Some(step);
            assert!(s.install(&p, true, "file").is_err());
            s.fail_after_step = None;
            s.recover().unwrap();
            let now = s.verify_version("1.0.0").unwrap();
            if step >= 5 {
                assert_ne!(now.sha256, old.sha256, "step {step}: new copy expected");
            } else {
                assert_eq!(now.sha256, old.sha256, "step {step}: old copy expected");
            }
            assert_eq!(s.recover().unwrap(), Recovery::Clean);
        }
        for step in 1..=3 {
            let (d, mut s) = setup();
            s.install(&file(d.path(), "a.ko", &ko("1.0.0", "")), false, "file")
                .unwrap();
            s.fail_after_step = Some(step);
            assert!(s.remove("1.0.0").is_err());
            s.fail_after_step = None;
            assert!(matches!(s.recover().unwrap(), Recovery::RolledForward(_)));
            assert!(versions(&s).is_empty(), "remove step {step}");
            assert_eq!(s.recover().unwrap(), Recovery::Clean);
        }
    }

    fn s_install(version: &str, path: &Path, reinstall: bool) -> Journal {
        let bytes = fs::read(path).unwrap();
        Journal::Install {
            version: version.into(),
            sha256: modfile::inspect(&bytes).unwrap().sha256,
            reinstall,
        }
    }

    #[test]
    fn dkms_builds_for_two_kernels_coexist() {
        let (d, s) = setup();
        let k1 = file(
            d.path(),
            "k1.ko",
            &fake_ko::dell_milspec_for("0.1.0", "K1", "6.12.117"),
        );
        let k2 = file(
            d.path(),
            "k2.ko",
            &fake_ko::dell_milspec_for("0.1.0", "K2", "6.12.117-upgrade"),
        );
        let m1 = s
            .install_as(&k1, false, "dkms", EntryId::VersionAndKernel)
            .unwrap();
        let m2 = s
            .install_as(&k2, false, "dkms", EntryId::VersionAndKernel)
            .unwrap();
        assert_eq!(m1.id, "0.1.0+6.12.117");
        assert_eq!(m2.id, "0.1.0+6.12.117-upgrade");
        assert_eq!(
            (m1.module_version.as_str(), m2.module_version.as_str()),
            ("0.1.0", "0.1.0")
        );
        let ids: Vec<String> = s.list().unwrap().into_iter().map(|m| m.id).collect();
        assert_eq!(ids, ["0.1.0+6.12.117", "0.1.0+6.12.117-upgrade"]);
        assert_eq!(
            s.verify_version("0.1.0+6.12.117")
                .unwrap()
                .srcversion
                .as_deref(),
            Some("K1")
        );
        // A plain file install of the same version is a third, separate entry.
        s.install(&k1, false, "file").unwrap();
        assert_eq!(s.list().unwrap().len(), 3);
        // The default candidate is the newest built for the running kernel.
        assert_eq!(
            s.default_candidate("6.12.117-upgrade").unwrap().unwrap().id,
            "0.1.0+6.12.117-upgrade"
        );
        let other = s.default_candidate("7.0.0").unwrap().unwrap();
        assert_eq!(
            other.kernel_release, "6.12.117-upgrade",
            "newest overall when none fits"
        );
        assert!(matches!(
            s.install_as(&k2, false, "dkms", EntryId::VersionAndKernel),
            Err(StoreError::AlreadyInstalled(id)) if id == "0.1.0+6.12.117-upgrade"
        ));
    }

    #[test]
    fn dkms_ids_are_directory_safe() {
        assert_eq!(
            dkms_id("0.1.0", "6.12.117-1-amd64"),
            "0.1.0+6.12.117-1-amd64"
        );
        assert_eq!(dkms_id("0.1.0", "6.12/../x y"), "0.1.0+6.12-..-x-y");
    }

    #[test]
    fn version_order_is_numeric() {
        use std::cmp::Ordering::*;
        assert_eq!(compare_versions("1.0.9", "1.0.10"), Less);
        assert_eq!(compare_versions("1.0.0", "1.0.0"), Equal);
        assert_eq!(compare_versions("2.0", "1.9.9"), Greater);
        assert_eq!(compare_versions("1.0", "1.0.1"), Less);
    }

    #[test]
    fn a_corrupt_journal_is_reported() {
        let (_d, s) = setup();
        fs::write(s.dir().join("journal.json"), b"{garbage").unwrap();
        assert!(matches!(s.recover(), Err(StoreError::Corrupt { .. })));
    }
}
