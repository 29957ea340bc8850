//! `milspecctl attest`: rendering of the measured posture's replay, history,
//! quote bundle and offline verification (the work is `milspec_host::attest`).

use super::args::{AttestAction, PolicyArgs};
use super::output::{CmdResult, Outcome};
use milspec_abi::SecurityLevel;
use milspec_host::attest::{
    self, keylime, AttestError, AttestPolicy, Bundle, Report, Scratch, Sources,
};
use milspec_host::error::{Error, ErrorKind};
use milspec_host::exit;
use serde_json::json;
use std::path::Path;
use std::time::Instant;

fn usage(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::Usage, msg)
}

fn policy(args: &PolicyArgs, require_entries: bool) -> Result<AttestPolicy, Error> {
    let min_level = match &args.min_level {
        Some(l) => {
            Some(SecurityLevel::parse(l).ok_or_else(|| usage(format!("unknown level {l}")))?)
        }
        None => None,
    };
    Ok(AttestPolicy {
        min_level,
        allowlists: args.allowlists.clone(),
        module_versions: args.module_versions.clone(),
        require_entries,
    })
}

fn nonce(hex_s: &str) -> Result<Vec<u8>, Error> {
    attest::parse_nonce(hex_s).map_err(Error::from)
}

fn scratch() -> Result<Scratch, Error> {
    Scratch::new().map_err(Error::from)
}

fn report_text(r: &Report) -> String {
    let mut t = format!(
        "IMA log: {} entries, replayed in {:.1} ms\n",
        r.log_entries, r.replay_ms
    );
    for b in &r.banks {
        t += &format!(
            "PCR 10 {:<6} {} {}\n",
            b.bank.as_str(),
            b.replayed,
            match (&b.pcr, b.matches) {
                (None, _) => "(no such bank)",
                (Some(_), true) => "matches",
                (Some(_), false) => "MISMATCH",
            }
        );
    }
    if r.history.is_empty() {
        t += "posture history: no milspec-posture entry\n";
    } else {
        t += "posture history (seq reason level locked allowlist module):\n";
        for h in &r.history {
            t += &format!(
                "  {:>3} {:<9} {:<13} {:<3} {:<8} {}\n",
                h.seq,
                h.reason,
                h.level,
                if h.locked { "yes" } else { "no" },
                format!(
                    "{}:{}",
                    h.allowlist_entries,
                    h.allowlist_sha256.get(..8).unwrap_or("")
                ),
                h.module_version
            );
        }
    }
    if r.violations.is_empty() {
        t += "policy: satisfied";
    } else {
        t += "policy: VIOLATED\n";
        t += &r
            .violations
            .iter()
            .map(|v| format!("  {v}"))
            .collect::<Vec<_>>()
            .join("\n");
    }
    t
}

fn code_for(r: &Report) -> i32 {
    if r.violations.is_empty() {
        exit::OK
    } else {
        ErrorKind::AttestPolicy.exit_code()
    }
}

/// `attest [--quote --nonce N --out FILE]`.
pub(crate) fn attest(
    args: &PolicyArgs,
    quote: bool,
    nonce_hex: Option<&str>,
    out: Option<&Path>,
) -> CmdResult {
    let pol = policy(args, false)?;
    let src = Sources::from_env();
    let report = attest::attest_local(&src, &pol).map_err(Error::from)?;
    let mut text = report_text(&report);
    let mut doc = json!({ "report": report });
    if quote {
        let (Some(n), Some(out)) = (nonce_hex, out) else {
            return Err(usage("--quote needs --nonce and --out"));
        };
        let n = nonce(n)?;
        let dir = scratch()?;
        let t0 = Instant::now();
        let bundle = attest::make_bundle(&src, &n, dir.path()).map_err(Error::from)?;
        let quote_ms = t0.elapsed().as_secs_f64() * 1000.0;
        let body = serde_json::to_string_pretty(&bundle).map_err(|e| usage(e.to_string()))?;
        milspec_host::fsutil::write_atomic(out, body.as_bytes(), 0o644)
            .map_err(|e| Error::new(ErrorKind::Io, format!("{}: {e}", out.display())))?;
        text += &format!(
            "\nquote: {} ({:.0} ms), AK {}",
            out.display(),
            quote_ms,
            milspec_host::attest::quote::AK_HANDLE
        );
        doc["bundle"] = json!(out);
        doc["quote_ms"] = json!(quote_ms);
    }
    Ok(Outcome {
        code: code_for(&report),
        json: doc,
        text,
    })
}

/// `attest verify|keylime-policy|allowlist-digest`.
pub(crate) fn action(a: &AttestAction) -> CmdResult {
    match a {
        AttestAction::Verify {
            bundle,
            ak,
            nonce: n,
            policy: p,
        } => {
            let pol = policy(p, true)?;
            let n = nonce(n)?;
            let b = Bundle::read(bundle).map_err(Error::from)?;
            let ak_pem = std::fs::read_to_string(ak).map_err(|source| {
                Error::from(AttestError::Io {
                    path: ak.clone(),
                    source,
                })
            })?;
            let dir = scratch()?;
            let t0 = Instant::now();
            let v =
                attest::verify_bundle(&b, &ak_pem, &n, &pol, dir.path()).map_err(Error::from)?;
            let verify_ms = t0.elapsed().as_secs_f64() * 1000.0;
            let text = format!(
                "quote: signature ok, nonce ok, PCR values quoted (TPM reset count {}), verified in {:.0} ms\n{}",
                v.reset_count,
                verify_ms,
                report_text(&v.report)
            );
            Ok(Outcome {
                code: code_for(&v.report),
                json: json!({ "verify": v, "verify_ms": verify_ms }),
                text,
            })
        }
        AttestAction::KeylimePolicy { policy: p, max_seq } => {
            let pol = policy(p, false)?;
            let frag = keylime::policy_fragment(&pol, *max_seq).map_err(usage)?;
            let text = serde_json::to_string_pretty(&frag).map_err(|e| usage(e.to_string()))?;
            Ok(Outcome {
                code: exit::OK,
                json: frag,
                text,
            })
        }
        AttestAction::AllowlistDigest { names } => {
            let s = attest::allowlist_string(names).map_err(Error::from)?;
            Ok(Outcome {
                code: exit::OK,
                json: json!({ "allowlist": s }),
                text: s,
            })
        }
    }
}
