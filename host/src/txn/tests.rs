//! Unit tests of the deployment transactions.

use super::checks::check;
use super::deploy::{effective, loaded_id};
use super::*;
use crate::store::{Store, StoreId};

fn id(s: &str) -> StoreId {
    StoreId::new(s)
}

#[test]
fn rollback_target_rules() {
    let st = State {
        current: Some("1.0.1".into()),
        previous: Some("1.0.0".into()),
        ..State::default()
    };
    assert_eq!(rollback_target(&st, None, false).unwrap(), "1.0.0");
    assert!(matches!(
        rollback_target(&st, Some(&id("0.9.0")), false),
        Err(TxnError::Refused(_))
    ));
    assert_eq!(
        rollback_target(&st, Some(&id("0.9.0")), true).unwrap(),
        "0.9.0"
    );
    assert_eq!(
        rollback_target(&st, Some(&id("2.0.0")), false).unwrap(),
        "2.0.0"
    );
    assert!(matches!(
        rollback_target(&State::default(), None, false),
        Err(TxnError::Refused(_))
    ));
}

#[test]
fn default_parameters_compare_equal() {
    assert_eq!(effective(&["level=standard".into()]), effective(&[]));
    assert_eq!(
        effective(&["level=paranoid".into(), "force=1".into()]),
        effective(&["force=1".into(), "level=paranoid".into()])
    );
    assert_ne!(effective(&["force=1".into()]), effective(&[]));
}

#[test]
fn vermagic_must_match_the_running_kernel() {
    let c = vermagic_check("6.12.117", "6.12.117");
    assert!(c.ok && c.mandatory, "{c:?}");
    let c = vermagic_check("6.12.117", "6.12.117-upgrade");
    assert!(!c.ok && c.mandatory);
    assert!(
        c.detail.contains("vermagic mismatch")
            && c.detail.contains("built for kernel 6.12.117,")
            && c.detail.contains("6.12.117-upgrade is running"),
        "{}",
        c.detail
    );
    // A release that only shares a prefix is another kernel.
    assert!(!vermagic_check("6.12.117", "6.12.1").ok);
}

/// A deployment's `from` must be a store id (what rollback goes back to), not
/// the version the kernel reports: DKMS builds are stored as <version>+<kernel>.
#[test]
fn the_loaded_module_is_named_by_its_store_id() {
    use crate::store::EntryId;
    let d = tempfile::tempdir().unwrap();
    let store = Store::open(d.path()).unwrap();
    let put = |name: &str, ver: &str, src: &str, rel: &str, naming| {
        let p = d.path().join(name);
        std::fs::write(&p, crate::fake_ko::dell_milspec_for(ver, src, rel)).unwrap();
        store.install_as(&p, false, "test", naming).unwrap().id
    };
    let k1 = put("a.ko", "0.1.0", "S1", "6.12.117", EntryId::VersionAndKernel);
    let k2 = put(
        "b.ko",
        "0.1.0",
        "S2",
        "6.12.117-upgrade",
        EntryId::VersionAndKernel,
    );
    let file = put("c.ko", "1.0.0", "S3", "6.12.117-upgrade", EntryId::Version);
    let sys = d.path().join("sys");
    std::fs::create_dir_all(&sys).unwrap();
    let host = Host {
        sys_module: sys.clone(),
        ..Host::real()
    };
    let rel = "6.12.117-upgrade";
    let state = State {
        current: Some(k2.clone()),
        ..State::default()
    };
    std::fs::write(sys.join("srcversion"), "S2\n").unwrap();
    assert_eq!(loaded_id(&store, &host, &state, "0.1.0", rel), k2);
    // Not the current deployment: found by version, kernel and srcversion.
    let none = State::default();
    assert_eq!(loaded_id(&store, &host, &none, "0.1.0", rel), k2);
    assert_eq!(loaded_id(&store, &host, &none, "1.0.0", rel), file);
    std::fs::write(sys.join("srcversion"), "S1\n").unwrap();
    assert_eq!(loaded_id(&store, &host, &none, "0.1.0", "6.12.117"), k1);
    // Loaded from elsewhere (no such build in the store): its version.
    std::fs::write(sys.join("srcversion"), "OTHER\n").unwrap();
    assert_eq!(loaded_id(&store, &host, &state, "0.1.0", rel), "0.1.0");
}

#[test]
fn all_ok_ignores_optional_failures() {
    let c = vec![check("a", true, true, ""), check("b", false, false, "")];
    assert!(all_ok(&c));
    let c = vec![check("a", false, true, "")];
    assert!(!all_ok(&c));
}
