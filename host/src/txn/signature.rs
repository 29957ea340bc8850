//! Will the kernel accept a module file's signature? Asked before anything is
//! unloaded, so that a module the kernel would refuse never costs the running
//! version.
//!
//! No cryptography here: the kernel is the judge. When enforcement is on
//! (`sig_enforce=Y`, or lockdown `integrity`/`confidentiality`), userspace can
//! tell two cases on its own: no signature at all, and a signer whose name is in
//! none of the kernel's keyrings (`/proc/keys`). Everything else (a tampered body,
//! a forged signature) only the kernel sees. When a `dell_milspec` is loaded, the
//! file is offered to `finit_module(2)` as a probe: 6.12's `load_module` runs the
//! signature check first (`module_sig_check`) and refuses a duplicate name with
//! `EEXIST` only later (`early_mod_check`), before anything is allocated or any
//! init runs. So `EEXIST` means "signature accepted", and `EKEYREJECTED`,
//! `EBADMSG`, `ENOKEY`, ... mean refused.

use super::host::Host;
use crate::kmod::{self, KmodError};
use crate::modfile::{self, Signature};
use nix::errno::Errno;
use std::path::Path;

/// Whether, and why, the kernel only loads modules with a valid signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Enforcement {
    /// `/sys/module/module/parameters/sig_enforce` is `Y`.
    pub sig_enforce: bool,
    /// The selected lockdown level (`none`, `integrity`, `confidentiality`).
    pub lockdown: Option<String>,
}

impl Enforcement {
    pub fn read(host: &Host) -> Self {
        Enforcement {
            sig_enforce: host.sig_enforced(),
            lockdown: host
                .lockdown()
                .and_then(|t| lockdown_level(&t).map(str::to_owned)),
        }
    }

    /// True when an unsigned or wrongly signed module cannot load.
    pub fn on(&self) -> bool {
        self.sig_enforce || self.locked_down()
    }

    fn locked_down(&self) -> bool {
        matches!(
            self.lockdown.as_deref(),
            Some("integrity" | "confidentiality")
        )
    }

    /// What enforces, for messages: `sig_enforce=Y, lockdown=integrity`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if self.sig_enforce {
            parts.push("sig_enforce=Y".to_owned());
        }
        if let Some(l) = self.lockdown.as_deref().filter(|_| self.locked_down()) {
            parts.push(format!("lockdown={l}"));
        }
        if parts.is_empty() {
            "not enforced".into()
        } else {
            parts.join(", ")
        }
    }
}

/// The selected level of `/sys/kernel/security/lockdown` (`none [integrity]
/// confidentiality` → `integrity`).
pub fn lockdown_level(text: &str) -> Option<&str> {
    text.split_whitespace()
        .find_map(|w| w.strip_prefix('[')?.strip_suffix(']'))
}

/// The asymmetric keys the kernel lets root see in `/proc/keys` (each line's
/// description: `<subject>: <key id>: X509.rsa ...`). The trusted keyrings
/// (`.builtin_trusted_keys`, `.secondary_trusted_keys`, `.platform`,
/// `.machine`) hold only such keys.
pub fn asymmetric_keys(proc_keys: &str) -> Vec<String> {
    proc_keys
        .lines()
        .filter_map(|l| {
            // id flags usage expiry perm uid gid type description
            let mut rest = l.trim_start();
            for _ in 0..7 {
                rest = rest.split_once(char::is_whitespace)?.1.trim_start();
            }
            let (ty, desc) = rest.split_once(char::is_whitespace)?;
            ty.starts_with("asymmetri").then(|| desc.trim().to_owned())
        })
        .collect()
}

/// The kernel's verdict on a file's signature, or what userspace can tell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// No enforcement: the kernel loads it signed or not (unsigned taints).
    NotEnforced,
    /// Signed, and nothing userspace sees says no; the kernel decides at load
    /// (no module was loaded to probe against).
    Signed(String),
    /// The kernel's signature check passed in a probe.
    Accepted(String),
    /// The kernel refuses it, or certainly would: why.
    Rejected(String),
}

fn who(s: &Signature) -> String {
    format!(
        "{:?} (certificate serial {})",
        s.signer.as_deref().unwrap_or("unknown signer"),
        s.key_id.as_deref().unwrap_or("?")
    )
}

/// What userspace can tell from the file and the visible keys (`None`: not
/// readable, so no key verdict).
pub fn classify(bytes: &[u8], enf: &Enforcement, keys: Option<&[String]>) -> Verdict {
    if !enf.on() {
        return Verdict::NotEnforced;
    }
    let sig = match modfile::inspect(bytes) {
        Ok(m) => m.signature,
        // Not a module: the kernel says why at load; no signature verdict here.
        Err(_) => return Verdict::Signed("not a readable module".into()),
    };
    let Some(sig) = sig else {
        return Verdict::Rejected(format!(
            "the module is unsigned and the kernel enforces module signatures ({}): it would \
             refuse it (\"Loading of unsigned module is rejected\"); sign it with a key the \
             kernel trusts (DKMS signs with its MOK)",
            enf.describe()
        ));
    };
    let known = |k: &String| {
        sig.signer.as_deref().is_some_and(|cn| k.contains(cn))
            || sig
                .key_id
                .as_deref()
                .is_some_and(|id| k.to_ascii_lowercase().contains(&id.to_ascii_lowercase()))
    };
    match keys {
        Some(keys) if !keys.is_empty() && !keys.iter().any(known) => Verdict::Rejected(format!(
            "signed by {}, a key in none of the kernel's keyrings (/proc/keys), and the \
                 kernel enforces module signatures ({}): it would refuse it (\"Loading of module \
                 with unavailable key is rejected\"); sign it with a trusted key, or enroll the \
                 key (mokutil --import)",
            who(&sig),
            enf.describe()
        )),
        _ => Verdict::Signed(format!("signed by {}", who(&sig))),
    }
}

/// The errnos with which `load_module` refuses a signature (`EPERM` is
/// lockdown's answer without `sig_enforce`; `ENOENT` a hash or algorithm the
/// check needs that is not built into the kernel).
pub fn signature_errno(errno: Errno, enf: &Enforcement) -> Option<&'static str> {
    Some(match errno {
        Errno::EKEYREJECTED => {
            "EKEYREJECTED: the signature does not verify, or no trusted key made it"
        }
        Errno::EBADMSG => "EBADMSG: the signature is malformed or does not match the module",
        Errno::ENOKEY => "ENOKEY: no trusted key matches the signer",
        Errno::ENOPKG => "ENOPKG: the signature uses crypto the kernel lacks",
        Errno::ENODATA => "ENODATA: no signature",
        Errno::EKEYEXPIRED | Errno::EKEYREVOKED => {
            "the signing key is expired or revoked in the kernel"
        }
        Errno::ENOENT => {
            "ENOENT: a hash or algorithm the kernel's signature check needs is not built in \
             (its module blacklist check hashes with sha256: CONFIG_CRYPTO_SHA256)"
        }
        Errno::EPERM if enf.locked_down() && !enf.sig_enforce => {
            "EPERM: lockdown refuses modules without a valid signature"
        }
        _ => return None,
    })
}

/// The verdict before deploying or installing `path`: userspace's, then, when
/// `dell_milspec` is loaded, the kernel's own probe.
pub fn gate(host: &Host, path: &Path) -> Verdict {
    let enf = Enforcement::read(host);
    if !enf.on() {
        return Verdict::NotEnforced;
    }
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => return Verdict::Signed(format!("cannot read {}: {e}", path.display())),
    };
    let keys = std::fs::read_to_string(&host.proc_keys)
        .ok()
        .map(|t| asymmetric_keys(&t));
    let verdict = classify(&bytes, &enf, keys.as_deref());
    if matches!(verdict, Verdict::Rejected(_)) || !host.sys_module.exists() {
        return verdict;
    }
    let seen = match verdict {
        Verdict::Signed(s) => s,
        other => return other,
    };
    match kmod::load_file(path, &[]) {
        Err(KmodError::Load {
            errno: Errno::EEXIST,
            ..
        }) => Verdict::Accepted(format!(
            "{seen}; the kernel's signature check accepts it ({}; probed with finit_module: \
             EEXIST, the loaded module stays)",
            enf.describe()
        )),
        Err(KmodError::Load { errno, .. }) => match signature_errno(errno, &enf) {
            Some(why) => Verdict::Rejected(format!(
                "the kernel refuses its signature ({why}; {seen}; {}); nothing was unloaded",
                enf.describe()
            )),
            // Past the signature check (vermagic, ...): the load itself says why.
            None => Verdict::Accepted(format!("{seen}; probe: {}", errno.desc())),
        },
        Err(e) => Verdict::Signed(format!("{seen}; probe failed: {e}")),
        // The loaded module went away meanwhile: the file is now loaded.
        Ok(()) => Verdict::Accepted(format!("{seen}; the kernel loaded it")),
    }
}

#[cfg(test)]
#[path = "signature_tests.rs"]
mod tests;
