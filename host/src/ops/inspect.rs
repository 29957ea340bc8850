//! The store commands that look rather than deploy: `list`, `remove`,
//! `history`, `audit verify`, `verify`, `preflight`.

use super::{audit_log, open_store, record};
use crate::audit::Record;
use crate::error::{Error, ErrorKind};
use crate::store::{Manifest, StoreId};
use crate::txn::{self, Check, Host, State};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// `list`: the installed entries, oldest first, and what recovery repaired.
pub fn list(root: &Path) -> Result<(Vec<Manifest>, Option<String>), Error> {
    let opened = open_store(root)?;
    let all = crate::phases::time("entries", || opened.store.list())?;
    Ok((all, opened.repaired))
}

/// `remove ID`: refused for the deployed entry and the rollback target. Returns
/// what recovery repaired first.
pub fn remove(root: &Path, id: &StoreId) -> Result<Option<String>, Error> {
    let start = Instant::now();
    let opened = open_store(root)?;
    let state = State::read(&opened.store)?;
    if let Some(role) = state.role_of(id) {
        return Err(Error::new(
            ErrorKind::Refused,
            format!("{id} is {role}; deploy another version first"),
        ));
    }
    opened.store.remove(id)?;
    let versions = BTreeMap::from([("removed".to_owned(), id.to_string())]);
    record(
        root,
        "remove",
        "ok",
        versions,
        start.elapsed().as_secs_f64(),
        None,
    )?;
    Ok(opened.repaired)
}

/// The audit log, verified.
#[derive(Clone, Debug)]
pub struct History {
    pub records: Vec<Record>,
    /// Lines in the log (the chain was verified over all of them).
    pub lines: u64,
}

/// `history`: every record of the audit log, after verifying its chain.
pub fn history(root: &Path) -> Result<History, Error> {
    let log = audit_log(root);
    let lines = log.verify()?;
    let records = log.records()?;
    Ok(History { records, lines })
}

/// `audit verify`: the log's path and its number of lines, chain intact.
pub fn audit_verify(root: &Path) -> Result<(PathBuf, u64), Error> {
    let log = audit_log(root);
    let n = log.verify()?;
    Ok((log.path().to_owned(), n))
}

/// The result of `verify` or `preflight`.
#[derive(Clone, Debug)]
pub struct Checked {
    pub checks: Vec<Check>,
    /// Every mandatory check passed.
    pub ok: bool,
    /// Why `preflight` failed, as an error kind (`signature_rejected` when the
    /// kernel refuses the signature, else `refused`); `None` for `verify`.
    pub kind: Option<ErrorKind>,
    /// What recovery repaired first, if anything.
    pub repaired: Option<String>,
}

/// `verify`: the deployed entry against its manifest, the kernel, the audit log.
pub fn verify(root: &Path) -> Result<Checked, Error> {
    let opened = open_store(root)?;
    let checks = txn::verify(&opened.store, &Host::real(), &audit_log(root))?;
    Ok(Checked {
        ok: txn::all_ok(&checks),
        kind: None,
        checks,
        repaired: opened.repaired,
    })
}

/// `preflight [ID]`: can entry `id` (default: the newest installed) be loaded here?
pub fn preflight(root: &Path, id: Option<&StoreId>) -> Result<Checked, Error> {
    let opened = open_store(root)?;
    let checks = txn::preflight(&opened.store, &Host::real(), id)?;
    let ok = txn::all_ok(&checks);
    let sig_failed = checks
        .iter()
        .any(|c| c.name == txn::SIGNATURE_CHECK && !c.ok && c.mandatory);
    Ok(Checked {
        ok,
        kind: match (ok, sig_failed) {
            (true, _) => None,
            (false, true) => Some(ErrorKind::SignatureRejected),
            (false, false) => Some(ErrorKind::Refused),
        },
        checks,
        repaired: opened.repaired,
    })
}
