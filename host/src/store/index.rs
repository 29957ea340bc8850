//! `index.json`: every entry's manifest in one file, so that `list` reads one
//! file instead of one per entry (under emulation each file read costs about
//! a third of a millisecond: 500 entries made `list` 5x slower).
//!
//! The index is a cache; the manifests stay the truth. Each cached manifest is
//! keyed by its entry's directory name *and inode number*, both of which one
//! `readdir` of `versions/` gives without opening anything. An install always
//! renames a new directory into place while the old one (on a reinstall) still
//! exists, so a replaced entry has a new inode; an added or removed entry
//! changes the set of names. Either way the index no longer matches and `list`
//! rebuilds it from the manifests. Install and remove also delete the index
//! right after writing their journal, and recovery deletes it whenever it finds
//! a journal, so a directory inode freed by a removal and reused by the next
//! install of the same version can never revive a stale manifest.

use super::error::{io_err, StoreError};
use super::id::StoreId;
use super::manifest::Manifest;
use super::Store;
use crate::fsutil::write_atomic;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::os::unix::fs::DirEntryExt;
use std::path::{Path, PathBuf};

/// Directory name -> inode number of every entry under `versions/`.
type Scan = BTreeMap<String, u64>;

#[derive(Serialize, Deserialize)]
struct Index {
    entries: Vec<Indexed>,
}

#[derive(Serialize, Deserialize)]
struct Indexed {
    ino: u64,
    manifest: Manifest,
}

impl Index {
    /// Whether this index describes exactly the entries of `scan`.
    fn matches(&self, scan: &Scan) -> bool {
        self.entries.len() == scan.len()
            && self
                .entries
                .iter()
                .all(|e| scan.get(e.manifest.id.as_str()) == Some(&e.ino))
    }
}

fn scan(versions: &Path) -> Result<Scan, StoreError> {
    let mut out = Scan::new();
    for entry in fs::read_dir(versions).map_err(io_err(versions))? {
        let entry = entry.map_err(io_err(versions))?;
        out.insert(
            entry.file_name().to_string_lossy().into_owned(),
            entry.ino(),
        );
    }
    Ok(out)
}

impl Store {
    fn index_path(&self) -> PathBuf {
        self.dir.join("index.json")
    }

    /// Forgets the index (before any change to `versions/`). Made durable by
    /// the directory fsync that clears the journal.
    pub(super) fn invalidate_index(&self) -> Result<(), StoreError> {
        let path = self.index_path();
        match fs::remove_file(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_err(&path)(e)),
            _ => Ok(()),
        }
    }

    /// The manifests of all installed entries, in no particular order: from the
    /// index when it matches `versions/`, else read one by one (and the index
    /// rebuilt, when nothing changed meanwhile and the store is writable).
    pub(super) fn manifests(&self) -> Result<Vec<Manifest>, StoreError> {
        let versions = self.dir.join("versions");
        let names = scan(&versions)?;
        let cached = fs::read(self.index_path())
            .ok()
            .and_then(|b| serde_json::from_slice::<Index>(&b).ok())
            .filter(|ix| ix.matches(&names));
        if let Some(ix) = cached {
            return Ok(ix.entries.into_iter().map(|e| e.manifest).collect());
        }
        let mut entries = Vec::with_capacity(names.len());
        for (name, ino) in &names {
            let manifest = self.manifest(&StoreId::new(name.as_str()))?;
            entries.push(Indexed {
                ino: *ino,
                manifest,
            });
        }
        let ix = Index { entries };
        // An install or removal that ran meanwhile would make this index
        // describe a store that no longer exists: write it only if not.
        if scan(&versions).is_ok_and(|now| now == names) {
            if let Ok(json) = serde_json::to_vec(&ix) {
                // A cache: a store we cannot write to still lists.
                let _ = write_atomic(&self.index_path(), &json, 0o600);
            }
        }
        Ok(ix.entries.into_iter().map(|e| e.manifest).collect())
    }
}
