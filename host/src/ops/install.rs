//! `install`: a module file, or the one DKMS built, into the store.

use super::{open_store, record};
use crate::dkms::{find_build, DkmsBuild};
use crate::error::{Error, ErrorKind};
use crate::modfile;
use crate::store::{EntryId, Manifest, Store, StoreError};
use crate::txn::{self, Host, Verdict};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

/// What an install stored.
#[derive(Clone, Debug)]
pub struct Installed {
    pub manifest: Manifest,
    /// The DKMS build it came from (`install --from-dkms`).
    pub dkms: Option<DkmsBuild>,
    /// What recovery repaired first, if anything.
    pub repaired: Option<String>,
}

/// `install FILE`: stored under the module's version. With `check_sig`, a module
/// for the running kernel whose signature it refuses is not stored
/// (`signature_rejected`).
pub fn install(
    root: &Path,
    file: &Path,
    reinstall: bool,
    check_sig: bool,
) -> Result<Installed, Error> {
    let opened = open_store(root)?;
    install_into(
        root,
        &opened.store,
        opened.repaired,
        file,
        (reinstall, check_sig),
        EntryId::Version,
        None,
    )
}

/// `install --from-dkms`: the module DKMS built for `kernel` (default: the
/// running one) in DKMS tree `tree` (default: `<root>/var/lib/dkms`), package
/// version `package_version` (default: the newest), stored as
/// `<version>+<kernel>`.
pub fn install_from_dkms(
    root: &Path,
    tree: Option<&Path>,
    kernel: Option<&str>,
    package_version: Option<&str>,
    reinstall: bool,
    check_sig: bool,
) -> Result<Installed, Error> {
    let tree = tree
        .map(Path::to_path_buf)
        .unwrap_or_else(|| root.join("var/lib/dkms"));
    let kernel = kernel
        .map(str::to_owned)
        .unwrap_or_else(|| Host::real().release());
    let opened = open_store(root)?;
    let build = match find_build(&tree, &kernel, package_version) {
        Ok(b) => b,
        Err(e) => return Err(failed_install(root, 0.0, Error::from(e))?),
    };
    let path = build.path.clone();
    install_into(
        root,
        &opened.store,
        opened.repaired,
        &path,
        (reinstall, check_sig),
        EntryId::VersionAndKernel,
        Some(build),
    )
}

/// DKMS's directory says which kernel it built for; the module's vermagic must
/// agree, or the store would file it under another kernel.
fn dkms_vermagic_agrees(file: &Path, dkms: Option<&DkmsBuild>) -> Result<(), StoreError> {
    let Some(b) = dkms else { return Ok(()) };
    let bytes = std::fs::read(file).map_err(|source| StoreError::Io {
        path: file.display().to_string(),
        source,
    })?;
    let m = modfile::inspect(&bytes).map_err(|source| StoreError::NotAModule {
        path: file.display().to_string(),
        source,
    })?;
    let release = modfile::vermagic_release(&m.vermagic);
    if release == b.kernel {
        return Ok(());
    }
    Err(StoreError::Corrupt {
        id: b.package_version.clone(),
        reason: format!(
            "{} is in DKMS's directory for kernel {}, but its vermagic says {release}: not stored",
            file.display(),
            b.kernel
        ),
    })
}

/// A module for the running kernel whose signature the kernel refuses (or
/// certainly would) is not stored: it could never be loaded here. A module for
/// another kernel is that kernel's business.
fn signature_refusal(file: &Path) -> Option<Error> {
    let host = Host::real();
    let bytes = std::fs::read(file).ok()?;
    let m = modfile::inspect(&bytes).ok()?;
    if modfile::vermagic_release(&m.vermagic) != host.release() {
        return None;
    }
    match txn::gate(&host, file) {
        Verdict::Rejected(why) => Some(Error::new(
            ErrorKind::SignatureRejected,
            format!("{} not installed: {why}", file.display()),
        )),
        _ => None,
    }
}

fn install_into(
    root: &Path,
    store: &Store,
    repaired: Option<String>,
    file: &Path,
    (reinstall, check_sig): (bool, bool),
    naming: EntryId,
    dkms: Option<DkmsBuild>,
) -> Result<Installed, Error> {
    let start = Instant::now();
    if let Some(refusal) = check_sig.then(|| signature_refusal(file)).flatten() {
        return Err(failed_install(
            root,
            start.elapsed().as_secs_f64(),
            refusal,
        )?);
    }
    let result = dkms_vermagic_agrees(file, dkms.as_ref()).and_then(|()| {
        store.install_as(
            file,
            reinstall,
            if dkms.is_some() { "dkms" } else { "file" },
            naming,
        )
    });
    let secs = start.elapsed().as_secs_f64();
    match result {
        Ok(m) => {
            let versions = BTreeMap::from([("installed".to_owned(), m.id.to_string())]);
            record(
                root,
                "install",
                "ok",
                versions,
                secs,
                Some(m.sha256.clone()),
            )?;
            Ok(Installed {
                manifest: m,
                dkms,
                repaired,
            })
        }
        Err(e) => Err(failed_install(root, secs, Error::from(e))?),
    }
}

/// Records a failed install in the audit log; returns the failure to report
/// (or the audit log's own error, which then comes first).
fn failed_install(root: &Path, secs: f64, failure: Error) -> Result<Error, Error> {
    record(
        root,
        "install",
        "failed",
        BTreeMap::new(),
        secs,
        Some(failure.message.clone()),
    )?;
    Ok(failure)
}
