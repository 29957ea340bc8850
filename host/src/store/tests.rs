//! Unit tests of the store.

use super::*;

use crate::fake_ko;

fn id(s: &str) -> StoreId {
    StoreId::new(s)
}

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

/// One field of every listed entry, in list order.
fn listed(s: &Store, field: fn(Manifest) -> String) -> Vec<String> {
    s.list().unwrap().into_iter().map(field).collect()
}

fn versions(s: &Store) -> Vec<String> {
    listed(s, |m| m.module_version)
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
    s.remove(&id("1.0.9")).unwrap();
    assert_eq!(versions(&s), ["1.0.10"]);
    assert!(matches!(
        s.remove(&id("1.0.9")),
        Err(StoreError::NotInstalled(_))
    ));
    assert_eq!(s.verify_entry(&id("1.0.10")).unwrap().sha256, m.sha256);
    assert_eq!(s.recover().unwrap(), Recovery::Clean);
}

/// `remove ..` once resolved to the store directory itself and deleted it.
#[test]
fn ids_that_are_paths_are_never_installed() {
    let (d, s) = setup();
    let a = file(d.path(), "a.ko", &ko("1.0.10", ""));
    s.install(&a, false, "file").unwrap();
    for bad in ["..", ".", "", "../versions", "1.0.10/..", "/"] {
        assert!(
            matches!(s.remove(&id(bad)), Err(StoreError::NotInstalled(_))),
            "remove {bad:?}"
        );
        assert!(
            matches!(s.manifest(&id(bad)), Err(StoreError::NotInstalled(_))),
            "manifest {bad:?}"
        );
    }
    assert_eq!(versions(&s), ["1.0.10"]);
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
    assert_eq!(s.verify_entry(&id("2.0.0")).unwrap().sha256, new.sha256);
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
    let mut bytes = fs::read(s.ko_path(&id("1.0.0"))).unwrap();
    let n = bytes.len();
    bytes[n - 1] ^= 0xff;
    fs::write(s.ko_path(&id("1.0.0")), bytes).unwrap();
    assert!(matches!(
        s.verify_entry(&id("1.0.0")),
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
        assert!(matches!(s.install(&p, false, "file"), Err(StoreError::Injected(n)) if n == step));
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
            s.verify_entry(&id("1.0.0")).unwrap();
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
        let now = s.verify_entry(&id("1.0.0")).unwrap();
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
        assert!(s.remove(&id("1.0.0")).is_err());
        s.fail_after_step = None;
        assert!(matches!(s.recover().unwrap(), Recovery::RolledForward(_)));
        assert!(versions(&s).is_empty(), "remove step {step}");
        assert_eq!(s.recover().unwrap(), Recovery::Clean);
    }
}

fn s_install(version: &str, path: &Path, reinstall: bool) -> Journal {
    let bytes = fs::read(path).unwrap();
    Journal::Install {
        id: version.into(),
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
    let ids: Vec<String> = s
        .list()
        .unwrap()
        .into_iter()
        .map(|m| m.id.to_string())
        .collect();
    assert_eq!(ids, ["0.1.0+6.12.117", "0.1.0+6.12.117-upgrade"]);
    assert_eq!(
        s.verify_entry(&id("0.1.0+6.12.117"))
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

fn source_paths(s: &Store) -> Vec<String> {
    listed(s, |m| m.source_path)
}

/// Rewrites entry `v`'s manifest in place (same directory, same inode).
fn edit_manifest(s: &Store, v: &str, source_path: &str) {
    let p = s.dir().join("versions").join(v).join("manifest.json");
    let mut m: Manifest = serde_json::from_slice(&fs::read(&p).unwrap()).unwrap();
    m.source_path = source_path.into();
    fs::write(&p, serde_json::to_vec(&m).unwrap()).unwrap();
}

#[test]
fn list_reads_the_index_while_it_matches_the_entries() {
    let (d, s) = setup();
    for v in ["1.0.0", "1.0.1"] {
        s.install(&file(d.path(), "m.ko", &ko(v, "")), false, "file")
            .unwrap();
    }
    let index = s.dir().join("index.json");
    assert!(!index.exists(), "install leaves no index behind");
    let first = source_paths(&s);
    assert!(index.exists(), "list builds the index");
    // Served from the index: an in-place edit is not read.
    edit_manifest(&s, "1.0.1", "/edited");
    assert_eq!(source_paths(&s), first);
    // The same name in a new directory (new inode): read again.
    let live = s.dir().join("versions/1.0.1");
    let moved = d.path().join("moved");
    fs::rename(&live, &moved).unwrap();
    fs::create_dir(&live).unwrap();
    for f in [KO_NAME, "manifest.json"] {
        fs::copy(moved.join(f), live.join(f)).unwrap();
    }
    assert_eq!(source_paths(&s)[1], "/edited");
    // A torn or foreign index is rebuilt.
    fs::write(&index, b"{\"entries\": [").unwrap();
    assert_eq!(versions(&s), ["1.0.0", "1.0.1"]);
    let rebuilt: serde_json::Value = serde_json::from_slice(&fs::read(&index).unwrap()).unwrap();
    assert_eq!(rebuilt["entries"].as_array().unwrap().len(), 2);
}

#[test]
fn changes_to_the_store_drop_the_index() {
    let (d, mut s) = setup();
    let a = file(d.path(), "a.ko", &ko("1.0.0", "A"));
    s.install(&a, false, "file").unwrap();
    let index = s.dir().join("index.json");
    versions(&s);
    // Removed and installed again with other contents: whatever the inode
    // number of the new directory, the listing is the new manifest.
    s.remove(&id("1.0.0")).unwrap();
    assert!(!index.exists());
    assert!(versions(&s).is_empty());
    let b = file(d.path(), "b.ko", &ko("1.0.0", "B"));
    s.install(&b, false, "file").unwrap();
    assert_eq!(s.list().unwrap()[0].srcversion.as_deref(), Some("ABCB"));
    // A crash right after the journal of a reinstall: recovery drops the
    // index however far the operation got.
    versions(&s);
    edit_manifest(&s, "1.0.0", "/cached");
    s.fail_after_step = Some(1);
    assert!(matches!(
        s.install(&a, true, "file"),
        Err(StoreError::Injected(1))
    ));
    s.fail_after_step = None;
    fs::write(&index, b"{}").unwrap();
    assert!(matches!(s.recover().unwrap(), Recovery::RolledBack(_)));
    assert!(!index.exists());
    assert_eq!(source_paths(&s), ["/cached"]);
}

#[test]
fn one_command_at_a_time_holds_the_store() {
    use std::time::{Duration, Instant};
    let (_d, s) = setup();
    let held = s.lock(Duration::ZERO).unwrap();
    let t = Instant::now();
    let busy = s.lock(Duration::from_millis(100)).unwrap_err();
    assert!(t.elapsed() >= Duration::from_millis(100), "gave up early");
    assert!(
        matches!(busy, StoreError::Busy { holder: Some(p), .. } if p == std::process::id()),
        "{busy:?}"
    );
    assert!(busy.to_string().contains("the store is busy"), "{busy}");
    drop(held);
    s.lock(Duration::ZERO).expect("released when dropped");
}
