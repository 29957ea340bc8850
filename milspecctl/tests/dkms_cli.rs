//! `milspecctl install --from-dkms` through the real binary, unprivileged, with
//! --root and a DKMS tree laid out as DKMS lays it out, in temporary directories.
//! (The DKMS test, tests/dkms/run, does the same with modules DKMS really built.)

use serde_json::Value;
use std::path::{Path, PathBuf};

mod common {
    pub mod cli;
    /// Shared with milspec-host's unit tests.
    #[path = "../../../host/tests/common/fake_ko.rs"]
    pub mod fake_ko;
}

/// Runs milspecctl --json with `args`; returns (exit code, JSON). Nothing may go
/// to stderr in --json mode.
fn run(root: &Path, args: &[&str]) -> (i32, Value) {
    let (code, v, stderr) = common::cli::run_json(root, args);
    assert!(
        stderr.is_empty(),
        "{args:?}: stderr in --json mode: {stderr}"
    );
    (code, v)
}

/// `<tree>/milspec/<version>/<kernel>/<arch>/module/dell_milspec.ko`, holding a
/// module of `module_version` whose vermagic says `vermagic_release`.
fn dkms_build(
    tree: &Path,
    version: &str,
    kernel: &str,
    module_version: &str,
    vermagic_release: &str,
    srcversion: &str,
) -> PathBuf {
    let dir = tree
        .join("milspec")
        .join(version)
        .join(kernel)
        .join(std::env::consts::ARCH)
        .join("module");
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("dell_milspec.ko");
    std::fs::write(
        &p,
        common::fake_ko::dell_milspec_for(module_version, srcversion, vermagic_release),
    )
    .unwrap();
    p
}

fn ids(root: &Path) -> Vec<String> {
    let (code, v) = run(root, &["list"]);
    assert_eq!(code, 0, "{v}");
    v["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn builds_for_two_kernels_and_two_versions_coexist_in_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    // Default DKMS tree under --root: <root>/var/lib/dkms.
    let tree = root.join("var/lib/dkms");
    dkms_build(&tree, "0.1.0", "6.12.117", "0.1.0", "6.12.117", "K1A");
    dkms_build(
        &tree,
        "0.1.0",
        "6.12.117-upgrade",
        "0.1.0",
        "6.12.117-upgrade",
        "K2A",
    );
    dkms_build(
        &tree,
        "0.1.1",
        "6.12.117-upgrade",
        "0.1.1",
        "6.12.117-upgrade",
        "K2B",
    );

    let (code, v) = run(root, &["install", "--from-dkms", "--kernel", "6.12.117"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["installed"]["id"], "0.1.0+6.12.117");
    assert_eq!(v["installed"]["module_version"], "0.1.0");
    assert_eq!(v["installed"]["source"], "dkms");
    assert_eq!(v["dkms"]["package_version"], "0.1.0");

    // Newest package version built for that kernel by default, or the one asked for.
    let (code, v) = run(
        root,
        &["install", "--from-dkms", "--kernel", "6.12.117-upgrade"],
    );
    assert_eq!(
        (code, v["installed"]["id"].as_str()),
        (0, Some("0.1.1+6.12.117-upgrade"))
    );
    let args = [
        "install",
        "--from-dkms",
        "--kernel",
        "6.12.117-upgrade",
        "--dkms-version",
        "0.1.0",
    ];
    let (code, v) = run(root, &args);
    assert_eq!(
        (code, v["installed"]["id"].as_str()),
        (0, Some("0.1.0+6.12.117-upgrade"))
    );
    assert_eq!(
        ids(root),
        [
            "0.1.0+6.12.117",
            "0.1.0+6.12.117-upgrade",
            "0.1.1+6.12.117-upgrade"
        ]
    );

    // The same build again: nothing to do; after a DKMS rebuild, --reinstall.
    let (code, v) = run(root, &args);
    assert_eq!(
        (code, v["error"]["kind"].as_str()),
        (2, Some("already_installed"))
    );
    dkms_build(
        &tree,
        "0.1.0",
        "6.12.117-upgrade",
        "0.1.0",
        "6.12.117-upgrade",
        "K2REBUILT",
    );
    let mut re = args.to_vec();
    re.push("--reinstall");
    let (code, v) = run(root, &re);
    assert_eq!(
        (code, v["installed"]["srcversion"].as_str()),
        (0, Some("K2REBUILT"))
    );

    let (code, v) = run(root, &["history"]);
    assert_eq!(code, 0);
    let installs = v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "install");
    assert_eq!(installs.count(), 5);
}

#[test]
fn missing_builds_and_wrong_files_are_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let tree = root.join("dkms");
    let t = tree.to_str().unwrap();

    let (code, v) = run(
        root,
        &[
            "install",
            "--from-dkms",
            "--dkms-tree",
            t,
            "--kernel",
            "6.12.117",
        ],
    );
    assert_eq!(
        (code, v["error"]["kind"].as_str()),
        (1, Some("dkms_not_built"))
    );
    assert!(
        v["error"]["message"].as_str().unwrap().contains("dkms add"),
        "{v}"
    );

    dkms_build(&tree, "0.1.0", "6.12.117", "0.1.0", "6.12.117", "A");
    let (code, v) = run(
        root,
        &[
            "install",
            "--from-dkms",
            "--dkms-tree",
            t,
            "--kernel",
            "6.13.0",
        ],
    );
    assert_eq!(
        (code, v["error"]["kind"].as_str()),
        (1, Some("dkms_not_built"))
    );
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("6.13.0") && msg.contains("built for: 0.1.0/6.12.117"),
        "{msg}"
    );

    // A module whose vermagic disagrees with DKMS's kernel directory is not stored.
    dkms_build(&tree, "0.1.0", "6.14.0", "0.1.0", "6.12.117", "B");
    let (code, v) = run(
        root,
        &[
            "install",
            "--from-dkms",
            "--dkms-tree",
            t,
            "--kernel",
            "6.14.0",
        ],
    );
    assert_eq!(
        (code, v["error"]["kind"].as_str()),
        (5, Some("store_corrupt")),
        "{v}"
    );
    assert!(v["error"]["message"]
        .as_str()
        .unwrap()
        .contains("vermagic says 6.12.117"));
    assert!(ids(root).is_empty());

    // FILE and --from-dkms exclude each other; --kernel needs --from-dkms.
    assert_eq!(run(root, &["install", "--from-dkms", "x.ko"]).0, 64);
    assert_eq!(
        run(root, &["install", "--kernel", "6.12.117", "x.ko"]).0,
        64
    );
    assert_eq!(run(root, &["install"]).0, 64);
}
