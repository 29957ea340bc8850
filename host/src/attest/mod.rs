//! Measured posture, the verifier's side: IMA's log is replayed per TPM bank
//! against PCR 10, our `milspec-posture` entries are decoded into a history and
//! checked against a policy; quotes bind it all to a TPM key and a nonce.
//! Design and threat model: `docs/attestation.md`.
//!
//! * `imalog`: IMA's binary log; `replay`: PCR replay per bank;
//! * `history`: our entries; `policy`: what a verifier accepts;
//! * `quote`: `TPMS_ATTEST` and tpm2-tools; `bundle`: the evidence as JSON;
//! * `local`: where the evidence is on a host; `keylime`: a Keylime policy;
//! * `error`: the failure classes.

pub mod bundle;
pub mod error;
pub mod history;
pub mod imalog;
pub mod keylime;
pub mod local;
pub mod policy;
pub mod quote;
pub mod replay;
pub mod scratch;

pub use bundle::Bundle;
pub use error::AttestError;
pub use history::PostureRecord;
pub use local::Sources;
pub use policy::AttestPolicy;
pub use replay::Bank;
pub use scratch::Scratch;

use error::Result;
use milspec_abi::{allowlist_digest, validate_module_name, NAME_LEN};
use replay::IMA_PCR;
use serde::Serialize;
use std::time::Instant;

/// One bank's replay.
#[derive(Clone, Debug, Serialize)]
pub struct BankReport {
    pub bank: Bank,
    pub replayed: String,
    /// The TPM's (or the quote's) value; `None` when the TPM has no such bank.
    pub pcr: Option<String>,
    pub matches: bool,
}

/// What `milspecctl attest` shows.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub log_entries: usize,
    pub tpm: bool,
    pub banks: Vec<BankReport>,
    pub history: Vec<PostureRecord>,
    pub violations: Vec<String>,
    /// Time to parse, check and replay the log, milliseconds.
    pub replay_ms: f64,
}

/// Replays `log` into each bank and compares with `pcrs` (per bank, `None` when
/// the bank is absent). Err on a tampered log or a mismatch.
fn replay_and_compare(
    log: &[u8],
    pcrs: &[(Bank, Option<Vec<u8>>)],
    source: &str,
) -> Result<(Vec<imalog::Entry>, Vec<BankReport>, f64)> {
    let t0 = Instant::now();
    let entries = imalog::parse(log)?;
    let mut banks = Vec::new();
    let mut first_err = None;
    for (bank, pcr) in pcrs {
        let replayed = replay::replay(&entries, IMA_PCR, *bank)?;
        let matches = pcr.as_deref() == Some(&replayed[..]);
        if let Some(p) = pcr {
            if let Err(e) = replay::compare(*bank, &replayed, p, source) {
                first_err.get_or_insert(e);
            }
        }
        banks.push(BankReport {
            bank: *bank,
            replayed: hex::encode(&replayed),
            pcr: pcr.as_ref().map(hex::encode),
            matches,
        });
    }
    let ms = t0.elapsed().as_secs_f64() * 1000.0;
    match first_err {
        Some(e) => Err(e),
        None => Ok((entries, banks, ms)),
    }
}

/// Attests this host: IMA's log against its TPM, and the posture against
/// `policy`. `Unavailable` without IMA or a TPM; policy violations are in the
/// report (the caller decides), everything else is an error.
pub fn attest_local(src: &Sources, policy: &AttestPolicy) -> Result<Report> {
    let log = src.read_log()?;
    if !src.has_tpm() {
        return Err(AttestError::Unavailable(format!(
            "no TPM 2.0 PCR files under {} (IMA runs without a TPM: nothing binds its log)",
            src.tpm_sysfs.display()
        )));
    }
    let mut pcrs = Vec::new();
    for bank in Bank::ALL {
        pcrs.push((bank, src.read_pcr(bank)?));
    }
    let (entries, banks, replay_ms) = replay_and_compare(&log, &pcrs, "the TPM")?;
    let history = history::decode(&entries)?;
    let violations = policy.violations(&history);
    Ok(Report {
        log_entries: entries.len(),
        tpm: true,
        banks,
        history,
        violations,
        replay_ms,
    })
}

/// Makes a bundle on this host: a quote over PCR 10 (both banks) for `nonce`,
/// the PCR values it covers and IMA's log. Retries when a measurement lands
/// between reading the PCRs and quoting.
pub fn make_bundle(src: &Sources, nonce: &[u8], workdir: &std::path::Path) -> Result<Bundle> {
    if !src.has_tpm() {
        return Err(AttestError::Unavailable("no TPM".into()));
    }
    let ak = quote::ensure_ak(workdir)?;
    for _ in 0..5 {
        let before = (src.read_pcr(Bank::Sha1)?, src.read_pcr(Bank::Sha256)?);
        let (msg, sig) = quote::quote(workdir, nonce)?;
        let log = src.read_log()?;
        let after = (src.read_pcr(Bank::Sha1)?, src.read_pcr(Bank::Sha256)?);
        let (Some(s1), Some(s256)) = (&after.0, &after.1) else {
            return Err(AttestError::Unavailable(
                "the TPM lacks a SHA-1 or SHA-256 bank".into(),
            ));
        };
        let info = quote::parse_attest(&msg)?;
        if before != after || info.pcr_digest != quote::pcr_digest(&[s1, s256]) {
            continue;
        }
        return Ok(Bundle {
            format: bundle::BUNDLE_FORMAT.into(),
            nonce: hex::encode(nonce),
            quote: hex::encode(&msg),
            signature: hex::encode(&sig),
            ak_public_pem: ak,
            pcr10_sha1: hex::encode(s1),
            pcr10_sha256: hex::encode(s256),
            ima_log: hex::encode(&log),
        });
    }
    Err(AttestError::Unavailable(
        "PCR 10 kept changing while quoting".into(),
    ))
}

/// What `attest verify` shows.
#[derive(Clone, Debug, Serialize)]
pub struct VerifyReport {
    pub nonce: String,
    pub reset_count: u32,
    pub restart_count: u32,
    pub report: Report,
}

/// Verifies `b` offline: the AK is `trusted_ak_pem`, the signature verifies, the
/// quote was made for `nonce`, the PCR values are the quoted ones, the log
/// replays to them, and the history satisfies `policy` (violations are in the
/// report; `Err(Policy)` is for the caller to raise).
pub fn verify_bundle(
    b: &Bundle,
    trusted_ak_pem: &str,
    nonce: &[u8],
    policy: &AttestPolicy,
    workdir: &std::path::Path,
) -> Result<VerifyReport> {
    if !bundle::same_key(&b.ak_public_pem, trusted_ak_pem) {
        return Err(AttestError::UnknownAk(
            "the bundle's attestation key is not the trusted one".into(),
        ));
    }
    let msg = b.quote_bytes()?;
    quote::verify_signature(workdir, trusted_ak_pem, &msg, &b.signature_bytes()?)?;
    let info = quote::parse_attest(&msg)?;
    if info.nonce != nonce {
        return Err(AttestError::Nonce {
            got: hex::encode(&info.nonce),
            expected: hex::encode(nonce),
        });
    }
    let want = vec![
        (Bank::Sha1.tpm_alg(), IMA_PCR),
        (Bank::Sha256.tpm_alg(), IMA_PCR),
    ];
    if info.selection != want {
        return Err(AttestError::Invalid(format!(
            "the quote covers {:?}, expected PCR 10 of sha1 and sha256",
            info.selection
        )));
    }
    let (s1, s256) = b.pcr_bytes()?;
    if quote::pcr_digest(&[&s1, &s256]) != info.pcr_digest {
        return Err(AttestError::PcrMismatch(
            "the bundle's PCR values are not the ones the quote signed".into(),
        ));
    }
    let pcrs = [(Bank::Sha1, Some(s1)), (Bank::Sha256, Some(s256))];
    let (entries, banks, replay_ms) = replay_and_compare(&b.log_bytes()?, &pcrs, "the quote")?;
    let history = history::decode(&entries)?;
    let violations = policy.violations(&history);
    Ok(VerifyReport {
        nonce: hex::encode(nonce),
        reset_count: info.reset_count,
        restart_count: info.restart_count,
        report: Report {
            log_entries: entries.len(),
            tpm: true,
            banks,
            history,
            violations,
            replay_ms,
        },
    })
}

/// A verifier's nonce from hex: 1 to 32 bytes.
pub fn parse_nonce(hex_s: &str) -> Result<Vec<u8>> {
    let n = hex::decode(hex_s).map_err(|e| AttestError::Invalid(format!("nonce: {e}")))?;
    if n.is_empty() || n.len() > 32 {
        return Err(AttestError::Invalid("nonce: 1 to 32 bytes, hex".into()));
    }
    Ok(n)
}

/// `<entries>:<sha256>` of an allowlist of these module names, as the module's
/// posture entry records it.
pub fn allowlist_string(names: &[String]) -> Result<String> {
    let mut raw = Vec::new();
    for name in names {
        let mut r = [0u8; NAME_LEN];
        let b = name.as_bytes();
        if b.len() >= NAME_LEN {
            return Err(AttestError::Invalid(format!(
                "module name too long: {name}"
            )));
        }
        r[..b.len()].copy_from_slice(b);
        validate_module_name(&r)
            .map_err(|_| AttestError::Invalid(format!("not a module name: {name}")))?;
        raw.push(r);
    }
    let (n, d) = allowlist_digest(&mut raw);
    Ok(format!("{n}:{}", hex::encode(d)))
}
