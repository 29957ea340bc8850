//! `load --file` and `unload`: the kernel directly, outside the store.

use crate::error::{Error, ErrorKind};
use crate::kmod;
use crate::modfile;
use crate::txn::{
    asymmetric_keys, classify, signature_errno, vermagic_check, Enforcement, Host, Verdict,
};
use std::path::Path;

/// Loads `file` with `params`. On failure the message says which check the
/// kernel most likely applied (it only says ENOEXEC for a vermagic mismatch); a
/// refused signature is `signature_rejected`.
pub fn load_file(file: &Path, params: &[String]) -> Result<(), Error> {
    kmod::load_file(file, params).map_err(|e| {
        let host = Host::real();
        let enf = Enforcement::read(&host);
        let sig = e.errno().and_then(|n| signature_errno(n, &enf));
        let mut f = Error::from(e);
        if let Some(why) = sig {
            f.kind = ErrorKind::SignatureRejected;
            f.message = format!(
                "{}; the kernel refuses its signature ({why}; {})",
                f.message,
                enf.describe()
            );
            if let Some(Verdict::Rejected(seen)) = std::fs::read(file).ok().map(|b| {
                let keys = std::fs::read_to_string(&host.proc_keys).ok();
                classify(&b, &enf, keys.map(|k| asymmetric_keys(&k)).as_deref())
            }) {
                f.message = format!("{}; {seen}", f.message);
            }
        } else if let Some(hint) = vermagic_hint(file) {
            f.message = format!("{}; {hint}", f.message);
        }
        f
    })
}

/// The vermagic check's message when `file` was built for another kernel.
fn vermagic_hint(file: &Path) -> Option<String> {
    let bytes = std::fs::read(file).ok()?;
    let m = modfile::inspect(&bytes).ok()?;
    let running = Host::real().release();
    let c = vermagic_check(modfile::vermagic_release(&m.vermagic), &running);
    (!c.ok).then_some(c.detail)
}

/// Unloads dell_milspec; `false` when it was not loaded.
pub fn unload() -> Result<bool, Error> {
    Ok(kmod::unload(milspec_abi::MODULE_NAME)?)
}
