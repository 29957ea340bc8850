//! Modprobe placement: after a deployment, the module goes where `modprobe`
//! finds it after a reboot.
//!
//! `depmod` is a process (and under emulation a costly one), and what it
//! writes for our module depends only on the module's path, its `.modinfo`
//! keys that end up in the index (`name`, `alias`, `softdep`, `weakdep`,
//! `depends`) and its symbols (exported ones, and undefined ones, which are
//! resolved against other modules' exports). Those are hashed into a
//! *depmod key*; after depmod succeeds, the key is kept in the store
//! (`depmod.json`, per kernel release, with a cache of keys by SHA-256). A later placement of a module with the
//! same key over the same path leaves the index as depmod would write it, so
//! depmod is only run when the key differs, is unknown, or the index does not
//! list the module. (Changes to *other* modules are theirs to index: whoever
//! installs them runs depmod.)

use crate::fsutil::write_atomic;
use crate::store::{Store, StoreId, KO_NAME};
use object::{Object, ObjectSection, ObjectSymbol};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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
    let bytes =
        std::fs::read(store.ko_path(id)).map_err(|source| PlacementError::Read { source })?;
    let sha256 = hex::encode(Sha256::digest(&bytes));
    place_module(store, &bytes, &sha256, release)
}

/// As [`place_for_modprobe`], with the module's bytes already read and their
/// SHA-256 (hex) already computed by the caller, which checked both against the
/// manifest: hashing the same bytes again cost ~8 ms per deployment under
/// emulation.
pub fn place_module(
    store: &Store,
    bytes: &[u8],
    sha256: &str,
    release: &str,
) -> Result<String, PlacementError> {
    let modules = store.root().join("lib/modules").join(release);
    let dir = modules.join("updates");
    let write_err = |p: &PathBuf| {
        let path = p.display().to_string();
        move |source| PlacementError::Write { path, source }
    };
    std::fs::create_dir_all(&dir).map_err(write_err(&dir))?;
    let target = dir.join(KO_NAME);
    let shown = target.display().to_string();
    write_atomic(&target, bytes, 0o644).map_err(write_err(&target))?;
    let keys_path = store.dir().join("depmod.json");
    let mut keys: DepmodKeys = std::fs::read(&keys_path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    // The key of these exact bytes (by content hash), parsed once per build.
    let sha = sha256.to_owned();
    let key = match keys.by_sha256.get(&sha) {
        Some(k) => Some(k.clone()),
        None => depmod_key(bytes),
    };
    if key.is_some() && keys.indexed.get(release) == key.as_ref() && indexed(&modules) {
        return Ok(format!(
            "{shown} (module index up to date: same depmod key)"
        ));
    }
    let depmod = std::process::Command::new("depmod")
        .arg("-b")
        .arg(store.root())
        .arg(release)
        .output();
    match depmod {
        Ok(o) if o.status.success() => {
            // Only after depmod succeeded; a failure to remember it only means
            // depmod runs again next time.
            if let Some(k) = key {
                keys.indexed.insert(release.to_owned(), k.clone());
                // Only the builds of recent deployments: bounded.
                if keys.by_sha256.len() >= 16 {
                    keys.by_sha256.clear();
                }
                keys.by_sha256.insert(sha, k);
                if let Ok(json) = serde_json::to_vec(&keys) {
                    let _ = write_atomic(&keys_path, &json, 0o600);
                }
            }
            Ok(format!("{shown} (depmod done)"))
        }
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

/// The store's `depmod.json`: per kernel release, the depmod key the index
/// was last built with; and a cache of keys by the module's SHA-256 (the same
/// bytes always have the same key), so that swapping between known builds
/// does not parse the ELF again.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct DepmodKeys {
    #[serde(default)]
    indexed: BTreeMap<String, String>,
    #[serde(default)]
    by_sha256: BTreeMap<String, String>,
}

/// Whether `modules.dep` under `modules` lists the placed module.
fn indexed(modules: &Path) -> bool {
    let entry = format!("updates/{KO_NAME}:");
    std::fs::read_to_string(modules.join("modules.dep"))
        .is_ok_and(|t| t.lines().any(|l| l.starts_with(&entry)))
}

/// SHA-256 over everything of the module that depmod puts in the index (see
/// the module docs); `None` when the file cannot be parsed (depmod then runs).
pub fn depmod_key(bytes: &[u8]) -> Option<String> {
    let file = object::File::parse(bytes).ok()?;
    let modinfo = file.section_by_name(".modinfo")?.data().ok()?;
    let mut info: Vec<&[u8]> = modinfo
        .split(|&b| b == 0)
        .filter(|e| {
            ["name=", "alias=", "softdep=", "weakdep=", "depends="]
                .iter()
                .any(|k| e.starts_with(k.as_bytes()))
        })
        .collect();
    info.sort_unstable();
    let mut undefined = Vec::new();
    let mut exported = Vec::new();
    for sym in file.symbols() {
        let Ok(name) = sym.name_bytes() else { continue };
        if name.is_empty() {
            continue;
        }
        if sym.is_undefined() {
            undefined.push(name);
        } else if name.starts_with(b"__ksymtab_") || name.starts_with(b"__kstrtab_") {
            exported.push(name);
        }
    }
    undefined.sort_unstable();
    exported.sort_unstable();
    let mut h = Sha256::new();
    for (tag, list) in [("info", info), ("undef", undefined), ("export", exported)] {
        h.update(tag.as_bytes());
        for item in list {
            h.update((item.len() as u64).to_le_bytes());
            h.update(item);
        }
    }
    Some(hex::encode(h.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake_ko::elf_with_modinfo;
    use object::Architecture;

    fn ko(extra: &[&str]) -> Vec<u8> {
        let mut info = vec!["name=dell_milspec", "vermagic=6.12.117 SMP mod_unload"];
        info.extend_from_slice(extra);
        elf_with_modinfo(&info, Architecture::X86_64)
    }

    #[test]
    fn the_key_ignores_version_and_srcversion() {
        let a = depmod_key(&ko(&["version=1.0.0", "srcversion=AAAA"])).unwrap();
        let b = depmod_key(&ko(&["version=1.0.1", "srcversion=BBBB"])).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn the_key_covers_what_depmod_indexes() {
        let base = depmod_key(&ko(&["version=1.0.0"])).unwrap();
        for extra in [
            "alias=dmi:*svnDellInc.*",
            "softdep=pre: dcdbas",
            "weakdep=foo",
            "depends=dcdbas",
        ] {
            let k = depmod_key(&ko(&["version=1.0.0", extra])).unwrap();
            assert_ne!(k, base, "{extra} not in the key");
        }
        assert_eq!(depmod_key(b"not an elf"), None);
    }

    #[test]
    fn depmod_is_skipped_only_for_a_known_key_and_a_listed_module() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let bytes = ko(&["version=1.0.1"]);
        let modules = dir.path().join("lib/modules/6.12.117");
        std::fs::create_dir_all(&modules).unwrap();
        std::fs::write(modules.join("modules.dep"), "updates/dell_milspec.ko:\n").unwrap();
        let keys = DepmodKeys {
            indexed: BTreeMap::from([("6.12.117".to_owned(), depmod_key(&bytes).unwrap())]),
            by_sha256: BTreeMap::new(),
        };
        std::fs::write(
            store.dir().join("depmod.json"),
            serde_json::to_vec(&keys).unwrap(),
        )
        .unwrap();
        let sha = hex::encode(Sha256::digest(&bytes));
        let done = place_module(&store, &bytes, &sha, "6.12.117").unwrap();
        assert!(done.contains("up to date"), "{done}");
        assert_eq!(
            std::fs::read(modules.join("updates").join(KO_NAME)).unwrap(),
            bytes
        );
        // Same key, but the index does not list the module: depmod must run.
        assert!(!indexed(&dir.path().join("lib/modules/6.12.118")));
        std::fs::write(modules.join("modules.dep"), "kernel/other.ko:\n").unwrap();
        assert!(!indexed(&modules));
    }
}
