//! Modprobe placement: after a deployment, the module goes where `modprobe`
//! finds it after a reboot.

use crate::fsutil::write_atomic;
use crate::store::{Store, StoreId, KO_NAME};
use std::path::PathBuf;

/// Why the module could not be placed for modprobe (advisory: the deployment
/// itself stands).
#[derive(Debug, thiserror::Error)]
pub enum PlacementError {
    #[error("{path}: {source}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{source}")]
    Read {
        #[source]
        source: std::io::Error,
    },
    #[error("{target} written, but depmod failed: {stderr}")]
    Depmod { target: String, stderr: String },
    #[error("{target} written, but depmod could not run: {source}")]
    NoDepmod {
        target: String,
        #[source]
        source: std::io::Error,
    },
}

/// Puts the deployed module where `modprobe` finds it after a reboot
/// (`<root>/lib/modules/<release>/updates/dell_milspec.ko`, which depmod ranks
/// above the kernel's own tree) and refreshes the module index with depmod.
/// Returns what was done.
pub fn place_for_modprobe(
    store: &Store,
    id: &StoreId,
    release: &str,
) -> Result<String, PlacementError> {
    let dir = store
        .root()
        .join("lib/modules")
        .join(release)
        .join("updates");
    let write_err = |p: &PathBuf| {
        let path = p.display().to_string();
        move |source| PlacementError::Write { path, source }
    };
    std::fs::create_dir_all(&dir).map_err(write_err(&dir))?;
    let bytes =
        std::fs::read(store.ko_path(id)).map_err(|source| PlacementError::Read { source })?;
    let target = dir.join(KO_NAME);
    write_atomic(&target, &bytes, 0o644).map_err(write_err(&target))?;
    let shown = target.display().to_string();
    let depmod = std::process::Command::new("depmod")
        .arg("-b")
        .arg(store.root())
        .arg(release)
        .output();
    match depmod {
        Ok(o) if o.status.success() => Ok(format!("{shown} (depmod done)")),
        Ok(o) => Err(PlacementError::Depmod {
            target: shown,
            stderr: String::from_utf8_lossy(&o.stderr).trim().to_owned(),
        }),
        Err(source) => Err(PlacementError::NoDepmod {
            target: shown,
            source,
        }),
    }
}
