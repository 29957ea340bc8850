//! `milspecctl attest` through the real binary on a synthetic IMA log and fake
//! TPM sysfs files (MILSPEC_IMA_LOG, MILSPEC_TPM_SYSFS): exit codes and JSON of
//! a match, a policy violation, an edited log, a PCR mismatch and no TPM.
//! (tests/attest/suite does it with a real kernel, IMA and a software TPM.)

use milspec_abi::{MeasureReason, Posture, PostureBuf, SecurityLevel, IMA_EVENT_NAME};
use milspec_host::attest::{imalog, replay, Bank};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::Path;
use std::process::Command;

fn posture(seq: u64, level: SecurityLevel) -> Vec<u8> {
    let p = Posture {
        seq,
        reason: if seq == 0 {
            MeasureReason::Load
        } else {
            MeasureReason::Level
        },
        module_version: "0.1.0",
        abi: milspec_abi::ABI_VERSION,
        level,
        locked: level.is_locking(),
        allowlist_entries: 0,
        allowlist_sha256: Sha256::digest(b"").into(),
    };
    let mut b = PostureBuf::new();
    p.encode(&mut b).unwrap();
    b.as_bytes().to_vec()
}

/// Writes the log and a TPM directory whose PCR 10 matches `pcr_log` (upper-case
/// hex, as the kernel prints it).
fn setup(dir: &Path, log: &[imalog::Entry], pcr_log: &[imalog::Entry]) {
    std::fs::write(dir.join("log"), imalog::serialize(log)).unwrap();
    for bank in Bank::ALL {
        let d = dir.join(format!("tpm/pcr-{}", bank.as_str()));
        std::fs::create_dir_all(&d).unwrap();
        let v = replay::replay(pcr_log, 10, bank).unwrap();
        std::fs::write(d.join("10"), hex::encode_upper(v) + "\n").unwrap();
    }
}

fn run(dir: &Path, args: &[&str]) -> (i32, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_milspecctl"))
        .env("MILSPEC_IMA_LOG", dir.join("log"))
        .env("MILSPEC_TPM_SYSFS", dir.join("tpm"))
        .arg("--json")
        .arg("attest")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        out.status.code().unwrap(),
        serde_json::from_slice(&out.stdout).unwrap(),
    )
}

fn log() -> Vec<imalog::Entry> {
    [SecurityLevel::Standard, SecurityLevel::Paranoid]
        .into_iter()
        .enumerate()
        .map(|(i, l)| {
            let data = imalog::ima_buf_data(IMA_EVENT_NAME, &posture(i as u64, l));
            imalog::entry(10, "ima-buf", data)
        })
        .collect()
}

#[test]
fn a_matching_log_gives_the_history_and_the_policy_decides() {
    let t = tempfile::tempdir().unwrap();
    setup(t.path(), &log(), &log());
    let (code, v) = run(t.path(), &["--min-level", "paranoid"]);
    assert_eq!(code, 0, "{v}");
    let r = &v["report"];
    assert_eq!(r["banks"][0]["matches"], true);
    assert_eq!(r["banks"][1]["bank"], "sha256");
    assert_eq!(r["history"][1]["level"], "paranoid");
    assert_eq!(r["history"][1]["seq"], 1);
    let (code, v) = run(t.path(), &["--min-level", "paranoid_plus"]);
    assert_eq!(code, 26, "{v}");
    assert_eq!(v["report"]["violations"].as_array().unwrap().len(), 1);
}

#[test]
fn edited_log_pcr_mismatch_and_no_tpm_have_their_own_exit_codes() {
    let t = tempfile::tempdir().unwrap();
    let mut edited = imalog::serialize(&log());
    let n = edited.len();
    edited[n - 70] ^= 1;
    setup(t.path(), &log(), &log());
    std::fs::write(t.path().join("log"), edited).unwrap();
    let (code, v) = run(t.path(), &[]);
    assert_eq!(
        (code, &v["error"]["kind"]),
        (21, &"attest_log_tampered".into())
    );

    setup(t.path(), &log(), &log()[..1]);
    let (code, v) = run(t.path(), &[]);
    assert_eq!(
        (code, &v["error"]["kind"]),
        (22, &"attest_pcr_mismatch".into())
    );

    std::fs::remove_dir_all(t.path().join("tpm")).unwrap();
    let (code, v) = run(t.path(), &[]);
    assert_eq!(
        (code, &v["error"]["kind"]),
        (20, &"attest_unavailable".into())
    );
}

#[test]
fn allowlist_digest_and_keylime_policy_agree_with_the_module_format() {
    let t = tempfile::tempdir().unwrap();
    let (code, v) = run(
        t.path(),
        &["allowlist-digest", "snd-hda", "e1000e", "snd_hda"],
    );
    assert_eq!(code, 0);
    let want = format!("2:{}", hex::encode(Sha256::digest(b"e1000e\nsnd_hda\n")));
    assert_eq!(v["allowlist"], want.as_str());
    let (code, v) = run(
        t.path(),
        &[
            "keylime-policy",
            "--module-version",
            "0.1.0",
            "--min-level",
            "paranoid",
            "--max-seq",
            "2",
        ],
    );
    assert_eq!(code, 0);
    let list = v["ima-buf"][IMA_EVENT_NAME].as_array().unwrap();
    let paranoid = hex::encode(Sha256::digest(posture(1, SecurityLevel::Paranoid)));
    assert!(list.contains(&paranoid.as_str().into()));
    assert_eq!(list.len(), 2 * 3 * 2);
}
