//! Running the real `milspecctl` binary in tests.

use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// Runs `milspecctl --json --root ROOT ARGS...`; returns (exit code, JSON, stderr).
pub fn run_json(root: &Path, args: &[&str]) -> (i32, Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_milspecctl"))
        .arg("--json")
        .arg("--root")
        .arg(root)
        .args(args)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: stdout is not JSON ({e}): {:?}", out.stdout));
    (
        out.status.code().unwrap(),
        v,
        String::from_utf8_lossy(&out.stderr).into(),
    )
}
