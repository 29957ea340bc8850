//! The verifier's side of the measured posture on synthetic IMA logs: replay per
//! bank, tamper detection, the decoded history, the policy, quote parsing and
//! the Keylime digests.

use milspec_abi::{MeasureReason, Posture, PostureBuf, SecurityLevel, IMA_EVENT_NAME};
use milspec_host::attest::{
    history, imalog, keylime, quote, replay, AttestError, AttestPolicy, Bank,
};
use sha1::Sha1;
use sha2::{Digest, Sha256};

fn posture_buf(seq: u64, reason: MeasureReason, level: SecurityLevel) -> Vec<u8> {
    let p = Posture {
        seq,
        reason,
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

/// boot_aggregate, a file measurement on another PCR, and A→B→A of ours.
fn sample_log() -> Vec<imalog::Entry> {
    let mut boot = b"sha256:\0".to_vec();
    boot.extend_from_slice(&[7u8; 32]);
    let mut data = Vec::new();
    for f in [&boot[..], b"boot_aggregate\0"] {
        data.extend_from_slice(&(f.len() as u32).to_ne_bytes());
        data.extend_from_slice(f);
    }
    let mut out = vec![imalog::entry(10, "ima-ng", data.clone())];
    out.push(imalog::entry(11, "ima-ng", data));
    for (seq, reason, level) in [
        (0, MeasureReason::Load, SecurityLevel::Standard),
        (1, MeasureReason::Level, SecurityLevel::Enhanced),
        (2, MeasureReason::Level, SecurityLevel::Standard),
    ] {
        let buf = posture_buf(seq, reason, level);
        out.push(imalog::entry(
            10,
            "ima-buf",
            imalog::ima_buf_data(IMA_EVENT_NAME, &buf),
        ));
    }
    out
}

fn manual_replay(entries: &[imalog::Entry], sha256: bool) -> Vec<u8> {
    let mut v = vec![0u8; if sha256 { 32 } else { 20 }];
    for e in entries.iter().filter(|e| e.pcr == 10) {
        if sha256 {
            let d = Sha256::digest(&e.data);
            v = Sha256::new()
                .chain_update(&v)
                .chain_update(d)
                .finalize()
                .to_vec();
        } else {
            let d = Sha1::digest(&e.data);
            v = Sha1::new()
                .chain_update(&v)
                .chain_update(d)
                .finalize()
                .to_vec();
        }
    }
    v
}

#[test]
fn binary_log_round_trips_and_replays_per_bank() {
    let entries = sample_log();
    let bytes = imalog::serialize(&entries);
    let parsed = imalog::parse(&bytes).unwrap();
    assert_eq!(parsed, entries);
    assert_eq!(
        replay::replay(&parsed, 10, Bank::Sha1).unwrap(),
        manual_replay(&entries, false)
    );
    assert_eq!(
        replay::replay(&parsed, 10, Bank::Sha256).unwrap(),
        manual_replay(&entries, true)
    );
    // Another PCR's entry does not count.
    assert_ne!(
        replay::replay(&parsed, 11, Bank::Sha256).unwrap(),
        manual_replay(&entries, true)
    );
}

#[test]
fn an_edited_entry_is_tampering_and_a_rehashed_one_a_pcr_mismatch() {
    let entries = sample_log();
    let good = replay::replay(&entries, 10, Bank::Sha256).unwrap();
    let mut bytes = imalog::serialize(&entries);
    // "level=standard" of the last entry becomes "level=paranoid" (same length).
    let at = bytes.len() - 100;
    let pos = at
        + String::from_utf8_lossy(&bytes[at..])
            .find("standard")
            .unwrap();
    bytes[pos..pos + 8].copy_from_slice(b"paranoid");
    let edited = imalog::parse(&bytes).unwrap();
    let err = replay::replay(&edited, 10, Bank::Sha256).unwrap_err();
    assert!(matches!(err, AttestError::LogTampered(_)), "{err}");

    // The forger fixes every digest: the log is consistent but no longer
    // replays to the PCR value.
    let mut forged = sample_log();
    let last = forged.last_mut().unwrap();
    let buf = posture_buf(2, MeasureReason::Level, SecurityLevel::Paranoid);
    *last = imalog::entry(10, "ima-buf", imalog::ima_buf_data(IMA_EVENT_NAME, &buf));
    let replayed = replay::replay(&forged, 10, Bank::Sha256).unwrap();
    let err = replay::compare(Bank::Sha256, &replayed, &good, "the TPM").unwrap_err();
    assert!(matches!(err, AttestError::PcrMismatch(_)), "{err}");
}

#[test]
fn a_cut_record_does_not_parse() {
    let bytes = imalog::serialize(&sample_log());
    let err = imalog::parse(&bytes[..bytes.len() - 3]).unwrap_err();
    assert!(matches!(err, AttestError::LogTampered(_)));
}

#[test]
fn history_is_our_entries_in_log_order() {
    let h = history::decode(&sample_log()).unwrap();
    let summary: Vec<_> = h.iter().map(|r| (r.seq, r.reason, r.level)).collect();
    assert_eq!(
        summary,
        [
            (0, "load", "standard"),
            (1, "level", "enhanced"),
            (2, "level", "standard")
        ]
    );
    assert_eq!(h[0].log_index, 2);
    assert_eq!(
        h[0].allowlist,
        format!("0:{}", hex::encode(Sha256::digest(b"")))
    );
}

#[test]
fn policy_judges_the_current_posture_and_every_version() {
    let h = history::decode(&sample_log()).unwrap();
    let mut p = AttestPolicy {
        min_level: Some(SecurityLevel::Enhanced),
        ..Default::default()
    };
    let v = p.violations(&h);
    assert_eq!(v.len(), 1);
    assert!(v[0].contains("current level standard (seq 2) is below enhanced"));
    p.min_level = Some(SecurityLevel::Standard);
    p.module_versions = vec!["0.2.0".into()];
    assert_eq!(p.violations(&h).len(), 3);
    p.module_versions = vec!["0.1.0".into()];
    p.allowlists = vec![format!("0:{}", hex::encode(Sha256::digest(b"")))];
    assert!(p.violations(&h).is_empty());
    p.allowlists = vec!["1:00".into()];
    assert_eq!(p.violations(&h).len(), 1);
    assert!(matches!(p.check(&h), Err(AttestError::Policy(_))));
    assert_eq!(
        p.violations(&[]).len(),
        1,
        "no entry at all with a minimum level"
    );
}

fn attest(nonce: &[u8], digest: &[u8]) -> Vec<u8> {
    let mut m = Vec::new();
    m.extend_from_slice(&0xff54_4347u32.to_be_bytes());
    m.extend_from_slice(&0x8018u16.to_be_bytes());
    m.extend_from_slice(&[0, 2, 0xAA, 0xBB]); // qualifiedSigner
    m.extend_from_slice(&(nonce.len() as u16).to_be_bytes());
    m.extend_from_slice(nonce);
    m.extend_from_slice(&[0; 8]); // clock
    m.extend_from_slice(&5u32.to_be_bytes()); // resetCount
    m.extend_from_slice(&6u32.to_be_bytes()); // restartCount
    m.push(1); // safe
    m.extend_from_slice(&[0; 8]); // firmwareVersion
    m.extend_from_slice(&2u32.to_be_bytes());
    for alg in [0x0004u16, 0x000B] {
        m.extend_from_slice(&alg.to_be_bytes());
        m.extend_from_slice(&[3, 0x00, 0x04, 0x00]); // PCR 10
    }
    m.extend_from_slice(&(digest.len() as u16).to_be_bytes());
    m.extend_from_slice(digest);
    m
}

#[test]
fn quote_structure_parses_and_rejects_garbage() {
    let d = quote::pcr_digest(&[&[1u8; 20], &[2u8; 32]]);
    let info = quote::parse_attest(&attest(b"nonce", &d)).unwrap();
    assert_eq!(info.nonce, b"nonce");
    assert_eq!(info.selection, [(0x0004, 10), (0x000B, 10)]);
    assert_eq!(
        (info.pcr_digest, info.reset_count, info.restart_count),
        (d, 5, 6)
    );
    let mut bad = attest(b"n", &[0; 32]);
    bad[0] = 0;
    assert!(matches!(
        quote::parse_attest(&bad),
        Err(AttestError::Signature(_))
    ));
    let long = attest(b"n", &[0; 32]);
    assert!(quote::parse_attest(&long[..long.len() - 1]).is_err());
}

#[test]
fn keylime_digests_cover_accepted_buffers_only() {
    let p = AttestPolicy {
        min_level: Some(SecurityLevel::Enhanced),
        module_versions: vec!["0.1.0".into()],
        ..Default::default()
    };
    let d = keylime::ima_buf_digests(&p, 4).unwrap();
    assert_eq!(d.len(), 3 * 3 * 4, "3 levels x 3 reasons x 4 seq");
    let ok = hex::encode(Sha256::digest(posture_buf(
        1,
        MeasureReason::Level,
        SecurityLevel::Enhanced,
    )));
    let low = hex::encode(Sha256::digest(posture_buf(
        1,
        MeasureReason::Level,
        SecurityLevel::Standard,
    )));
    assert!(d.contains(&ok));
    assert!(!d.contains(&low));
    assert!(keylime::ima_buf_digests(&AttestPolicy::default(), 4).is_err());
}
