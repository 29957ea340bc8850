//! The operations both tools run on a host, as `milspecctl` names them: each
//! opens the store (repairing an audit append cut short, finishing or undoing an
//! interrupted operation first) and records itself in the audit log. Results
//! are typed; rendering them as text or JSON is the caller's job.

mod deploy;
mod deployed;
mod direct;
mod inspect;
mod install;

pub use deploy::{
    check_deployment_id, deploy, rollback, rollback_to_previous, DeployAction, DeploymentRecord,
};
pub use deployed::{deployed, Deployed};
pub use direct::{load_file, unload};
pub use inspect::{audit_verify, history, list, preflight, remove, verify, Checked, History};
pub use install::{install, install_from_dkms, Installed};

use crate::audit::{Action, AuditLog};
use crate::error::Error;
use crate::store::{Recovery, Store, StoreLock};
use crate::txn::{self, Host};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// How long a command waits for another one to finish with the store: far
/// longer than any store operation takes, short enough not to hang a rollout.
pub const STORE_WAIT: Duration = Duration::from_secs(30);

/// The audit log under `root` (`<root>/var/log/milspec`).
pub fn audit_log(root: &Path) -> AuditLog {
    AuditLog::new(&root.join("var/log/milspec"))
}

fn uid() -> u32 {
    nix::unistd::getuid().as_raw()
}

/// An open store, after recovery.
pub(crate) struct Opened {
    pub(crate) store: Store,
    /// What recovery repaired, if anything.
    pub(crate) repaired: Option<String>,
    /// Held until the command is done (see `store::lock`).
    _lock: StoreLock,
}

/// Opens and locks the store, waiting up to [`STORE_WAIT`] for another
/// command, and finishes or undoes an interrupted operation (recording that
/// in the audit log).
pub(crate) fn open_store(root: &Path) -> Result<Opened, Error> {
    open_store_waiting(root, STORE_WAIT)
}

/// As [`open_store`], waiting up to `wait` for the lock.
pub(crate) fn open_store_waiting(root: &Path, wait: Duration) -> Result<Opened, Error> {
    crate::phases::time("open", || open_store_inner(root, wait))
}

fn open_store_inner(root: &Path, wait: Duration) -> Result<Opened, Error> {
    let store = Store::open(root)?;
    let lock = store.lock(wait)?;
    // An audit append cut short by a crash is repaired (and recorded) first, so
    // that the verify checks of this command see an intact chain.
    let audit_note = audit_log(root).repair(uid())?;
    let mut note = match store.recover()? {
        Recovery::Clean => None,
        Recovery::RolledForward(j) => Some(format!("completed an interrupted operation: {j:?}")),
        Recovery::RolledBack(j) => Some(format!("undid an interrupted operation: {j:?}")),
    };
    if let Some(n) = txn::reconcile(&store, &Host::real())? {
        note = Some(n);
    }
    if let Some(n) = &note {
        record(root, "recover", "ok", BTreeMap::new(), 0.0, Some(n.clone()))?;
    }
    let repaired = match (audit_note, note) {
        (Some(a), Some(n)) => Some(format!("{a}; {n}")),
        (a, n) => a.or(n),
    };
    Ok(Opened {
        store,
        repaired,
        _lock: lock,
    })
}

/// Appends a plain action (no deployment) to the audit log.
pub(crate) fn record(
    root: &Path,
    action: &str,
    result: &str,
    versions: BTreeMap<String, String>,
    duration: f64,
    detail: Option<String>,
) -> Result<(), Error> {
    append(
        root,
        Action {
            action: action.into(),
            result: result.into(),
            deployment_id: None,
            component_versions: versions,
            rollback_occurred: false,
            duration_seconds: duration,
            detail,
        },
    )
}

pub(crate) fn append(root: &Path, action: Action) -> Result<(), Error> {
    audit_log(root).append(action, uid())?;
    Ok(())
}
