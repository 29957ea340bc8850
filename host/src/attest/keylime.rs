//! A Keylime runtime-policy fragment for our entries: Keylime checks an `ima-buf`
//! entry by looking its event name up in the policy's `ima-buf` map and its
//! buffer digest up in the list found there. Our buffers are a pure function of
//! the posture, so the list is every acceptable buffer up to a sequence number.

use super::policy::AttestPolicy;
use milspec_abi::{MeasureReason, Posture, PostureBuf, SecurityLevel, ABI_VERSION, IMA_EVENT_NAME};
use sha2::{Digest, Sha256};

/// Digests (hex) of every buffer `policy` accepts with `seq < max_seq`: each
/// module version × level from the minimum up × allowlist × reason × seq.
/// `policy.allowlists` entries are `<entries>:<sha256 hex>`; none means the empty
/// allowlist only.
pub fn ima_buf_digests(policy: &AttestPolicy, max_seq: u64) -> Result<Vec<String>, String> {
    if policy.module_versions.is_empty() {
        return Err("a Keylime policy needs the accepted module versions".into());
    }
    let min = policy.min_level.unwrap_or(SecurityLevel::Disabled);
    let mut allowlists = Vec::new();
    for a in &policy.allowlists {
        let (n, h) = a
            .split_once(':')
            .ok_or_else(|| format!("allowlist {a}: expected <entries>:<sha256>"))?;
        let n: u32 = n.parse().map_err(|_| format!("allowlist {a}: bad count"))?;
        let d: [u8; 32] = hex::decode(h)
            .ok()
            .and_then(|v| v.try_into().ok())
            .ok_or_else(|| format!("allowlist {a}: bad sha256"))?;
        allowlists.push((n, d));
    }
    if allowlists.is_empty() {
        allowlists.push(milspec_abi::allowlist_digest(&mut []));
    }
    let mut out = Vec::new();
    for version in &policy.module_versions {
        for level in SecurityLevel::ALL.into_iter().filter(|l| *l >= min) {
            for &(n, d) in &allowlists {
                for reason in MeasureReason::ALL {
                    for seq in 0..max_seq {
                        let p = Posture {
                            seq,
                            reason,
                            module_version: version,
                            abi: ABI_VERSION,
                            level,
                            locked: level.is_locking(),
                            allowlist_entries: n,
                            allowlist_sha256: d,
                        };
                        let mut buf = PostureBuf::new();
                        p.encode(&mut buf)
                            .map_err(|_| format!("module version {version} is too long"))?;
                        out.push(hex::encode(Sha256::digest(buf.as_bytes())));
                    }
                }
            }
        }
    }
    Ok(out)
}

/// The fragment to merge into a Keylime runtime policy (JSON).
pub fn policy_fragment(policy: &AttestPolicy, max_seq: u64) -> Result<serde_json::Value, String> {
    let digests = ima_buf_digests(policy, max_seq)?;
    Ok(serde_json::json!({ "ima-buf": { IMA_EVENT_NAME: digests } }))
}
