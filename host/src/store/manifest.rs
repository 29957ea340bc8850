//! What the store knows about one installed entry (`manifest.json`).

use super::error::{io_err, StoreError};
use super::id::StoreId;
use crate::modfile::Signature;
use serde::{Deserialize, Serialize};
use std::fs;
use std::io;
use std::path::Path;

/// What the store knows about one installed version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The store id: the module version, or `<version>+<kernel release>` for DKMS
    /// builds (see the module docs). Always the entry's directory name.
    #[serde(default)]
    pub id: StoreId,
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

/// The manifest of installed entry `id` in the store under `root`, read without
/// creating or repairing anything (for readers such as `milspecd`).
pub fn read_manifest(root: &Path, id: &StoreId) -> Result<Manifest, StoreError> {
    // `..` or `a/b` would name a directory outside the entries: never installed.
    if !id.is_valid() {
        return Err(StoreError::NotInstalled(id.clone()));
    }
    let p = root
        .join("var/lib/milspec/versions")
        .join(id.as_str())
        .join("manifest.json");
    let b = fs::read(&p).map_err(|e| {
        if e.kind() == io::ErrorKind::NotFound && !p.parent().is_some_and(Path::exists) {
            StoreError::NotInstalled(id.clone())
        } else {
            io_err(&p)(e)
        }
    })?;
    let mut m: Manifest = serde_json::from_slice(&b).map_err(|e| StoreError::Corrupt {
        id: id.to_string(),
        reason: format!("manifest.json: {e}"),
    })?;
    // Manifests written before ids existed: the directory name is the id.
    m.id = id.clone();
    Ok(m)
}
