//! The store commands through the real binary, unprivileged, with --root in a
//! temporary directory.

mod common {
    pub mod cli;
    /// Shared with milspec-host's unit tests.
    #[path = "../../../host/tests/common/fake_ko.rs"]
    pub mod fake_ko;
}

fn ko(version: &str) -> Vec<u8> {
    common::fake_ko::dell_milspec(version, "ABC")
}

use common::cli::run_json as run;

#[test]
fn install_list_remove_history_audit() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for v in ["1.0.0", "1.0.1"] {
        std::fs::write(root.join(format!("{v}.ko")), ko(v)).unwrap();
    }
    let a = root.join("1.0.0.ko");
    let b = root.join("1.0.1.ko");

    let (code, v, err) = run(root, &["install", a.to_str().unwrap()]);
    assert_eq!((code, err.as_str()), (0, ""), "{v}");
    assert_eq!(v["installed"]["module_version"], "1.0.0");
    assert_eq!(run(root, &["install", b.to_str().unwrap()]).0, 0);

    let (code, v, _) = run(root, &["install", a.to_str().unwrap()]);
    assert_eq!(code, 2, "duplicate: nothing to do");
    assert_eq!(v["error"]["kind"], "already_installed");
    assert_eq!(
        run(root, &["install", "--reinstall", a.to_str().unwrap()]).0,
        0
    );

    let (_, v, _) = run(root, &["list"]);
    let versions: Vec<&str> = v["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["module_version"].as_str().unwrap())
        .collect();
    assert_eq!(versions, ["1.0.0", "1.0.1"]);

    let (code, _, _) = run(root, &["remove", "1.0.0"]);
    assert_eq!(code, 0);
    let (code, v, _) = run(root, &["remove", "1.0.0"]);
    assert_eq!(
        (code, v["error"]["kind"].as_str()),
        (1, Some("not_installed"))
    );

    let (code, v, _) = run(root, &["history"]);
    assert_eq!(code, 0);
    let actions: Vec<(&str, &str)> = v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["action"].as_str().unwrap(), e["result"].as_str().unwrap()))
        .collect();
    assert_eq!(
        actions,
        [
            ("install", "ok"),
            ("install", "ok"),
            ("install", "failed"),
            ("install", "ok"),
            ("remove", "ok"),
        ]
    );
    let (code, v, _) = run(root, &["audit", "verify"]);
    assert_eq!((code, v["lines"].as_u64()), (0, Some(5)));

    // The store and the audit log are private.
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &str| {
        std::fs::metadata(root.join(p))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode("var/lib/milspec"), 0o700);
    assert_eq!(mode("var/log/milspec/audit.jsonl"), 0o600);

    // Tampering is detected, by `audit verify` and by `history`.
    let log = root.join("var/log/milspec/audit.jsonl");
    let text = std::fs::read_to_string(&log).unwrap();
    std::fs::write(&log, text.replacen("\"failed\"", "\"ok\"", 1)).unwrap();
    let (code, v, err) = run(root, &["audit", "verify"]);
    assert_eq!(
        (code, v["error"]["kind"].as_str()),
        (5, Some("audit")),
        "{v}"
    );
    assert!(err.is_empty());
    assert_eq!(run(root, &["history"]).0, 5);
}

#[test]
fn bad_files_are_refused_with_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let cases: [(&str, Vec<u8>); 3] = [
        ("text.ko", b"hello".to_vec()),
        ("truncated.ko", ko("1.0.0")[..80].to_vec()),
        ("empty.ko", Vec::new()),
    ];
    for (name, bytes) in cases {
        let p = root.join(name);
        std::fs::write(&p, bytes).unwrap();
        let (code, v, _) = run(root, &["install", p.to_str().unwrap()]);
        assert_eq!(code, 1, "{name}");
        assert_eq!(v["error"]["kind"], "invalid_module", "{name}: {v}");
    }
    let (code, v, _) = run(root, &["install", "/nonexistent/x.ko"]);
    assert_eq!((code, v["error"]["kind"].as_str()), (1, Some("io")));
    let (_, v, _) = run(root, &["list"]);
    assert_eq!(v["versions"].as_array().unwrap().len(), 0);
}

#[test]
fn an_interrupted_install_is_repaired_by_the_next_command() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let lib = root.join("var/lib/milspec");
    std::fs::create_dir_all(lib.join("staging/9.9.9")).unwrap();
    std::fs::write(lib.join("staging/9.9.9/dell_milspec.ko"), b"half").unwrap();
    std::fs::write(
        lib.join("journal.json"),
        r#"{"op":"install","version":"9.9.9","sha256":"00","reinstall":false}"#,
    )
    .unwrap();
    let (code, v, _) = run(root, &["list"]);
    assert_eq!(code, 0);
    assert!(v["repaired"].as_str().unwrap().contains("undid"), "{v}");
    assert!(!lib.join("journal.json").exists());
    assert!(!lib.join("staging/9.9.9").exists());
    let (_, v, _) = run(root, &["history"]);
    assert_eq!(v["entries"][0]["action"], "recover");
}

#[test]
fn status_shows_the_deployed_store_id_without_creating_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let status = || {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_milspecctl"))
            .args(["--json", "--root"])
            .arg(root)
            .arg("status")
            .env("MILSPEC_PROC_STATUS", root.join("no-such-status"))
            .env("MILSPEC_DEVICE", root.join("no-such-device"))
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        (out.status.code().unwrap(), v)
    };
    let (code, v) = status();
    assert_eq!(code, 3, "not loaded: {v}");
    assert_eq!(v["module_loaded"], false);
    assert_eq!(v["deployed"]["store_id"], serde_json::Value::Null, "{v}");
    assert!(
        !root.join("var").exists(),
        "status must not create the store"
    );

    let store = root.join("var/lib/milspec");
    std::fs::create_dir_all(&store).unwrap();
    std::fs::write(
        store.join("state.json"),
        r#"{"current": "1.0.1+6.12.48", "previous": "1.0.0", "current_params": [],
            "deployments": 2, "deployment_id": "fleet-20261202T100000Z-abc123",
            "taint_at_load": 0}"#,
    )
    .unwrap();
    let (_, v) = status();
    assert_eq!(v["deployed"]["store_id"], "1.0.1+6.12.48");
    assert_eq!(v["deployed"]["previous"], "1.0.0");
    assert_eq!(
        v["deployed"]["deployment_id"],
        "fleet-20261202T100000Z-abc123"
    );

    std::fs::write(store.join("state.json"), "not json").unwrap();
    let (code, v) = status();
    assert_eq!(code, 3, "a corrupt state does not hide the module's status");
    assert!(
        v["deployed"]["error"]
            .as_str()
            .unwrap()
            .contains("state.json"),
        "{v}"
    );
}

/// Two commands never use the store at once: the second waits for the first.
#[test]
fn a_command_waits_while_another_holds_the_store() {
    use std::time::Duration;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_owned();
    let store = milspec_host::store::Store::open(&root).unwrap();
    let held = store.lock(Duration::ZERO).unwrap();
    let waiting = {
        let root = root.clone();
        std::thread::spawn(move || run(&root, &["list"]))
    };
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        !waiting.is_finished(),
        "list ran while another process held the store"
    );
    drop(held);
    let (code, v, err) = waiting.join().unwrap();
    assert_eq!((code, err.as_str()), (0, ""), "{v}");
    assert_eq!(v["versions"], serde_json::json!([]));
}
