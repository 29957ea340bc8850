//! `load` (from the store) and `rollback`: a deployment transaction plus its
//! audit record, returned as a [`DeploymentRecord`].

use super::{append, open_store, open_store_waiting, Opened};
use crate::audit::Action;
use crate::error::{Error, ErrorKind};
use crate::phases;
use crate::store::{Store, StoreId};
use crate::txn::{self, Check, Deployment, Host, State, TxnError};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

/// Which command deployed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeployAction {
    Load,
    Rollback,
}

impl DeployAction {
    /// The audit log's `action` (and the text output's verb).
    pub fn as_str(self) -> &'static str {
        match self {
            DeployAction::Load => "load",
            DeployAction::Rollback => "rollback",
        }
    }
}

/// One deployment, as it happened.
#[derive(Clone, Debug)]
pub struct DeploymentRecord {
    pub action: DeployAction,
    /// The entry asked for.
    pub store_id: StoreId,
    /// Its module version, when its manifest is readable.
    pub version: Option<String>,
    /// The running kernel's release.
    pub release: String,
    /// The entry loaded before (`None` when nothing was, or when there was
    /// nothing to do).
    pub previous: Option<StoreId>,
    /// Set when the deployment went as far as loading something.
    pub deployment_id: Option<String>,
    /// How it ended.
    pub outcome: Deployment,
    pub duration_seconds: f64,
    /// What recovery repaired first, if anything.
    pub repaired: Option<String>,
}

impl DeploymentRecord {
    /// The checks run after loading (only a completed deployment has them).
    pub fn checks(&self) -> &[Check] {
        match &self.outcome {
            Deployment::Deployed { checks, .. } => checks,
            _ => &[],
        }
    }

    /// True when the entry asked for is now loaded and verified.
    pub fn is_deployed(&self) -> bool {
        matches!(self.outcome, Deployment::Deployed { .. })
    }
}

/// Checks a deployment id given from outside (`--deployment-id`): it lands in
/// the audit log, the state file and the journal, so it is one short token.
pub fn check_deployment_id(id: &str) -> Result<(), Error> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:+-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Error::new(
            ErrorKind::Usage,
            format!("deployment id {id:?}: 1 to 128 characters of A-Z a-z 0-9 . _ : + - expected"),
        ))
    }
}

/// One deployment's inputs.
struct Request<'a> {
    action: DeployAction,
    id: &'a StoreId,
    params: &'a [String],
    /// `--deployment-id`, already checked.
    given_id: Option<&'a str>,
}

fn run_deployment(
    root: &Path,
    store: &Store,
    req: Request<'_>,
    repaired: Option<String>,
) -> Result<DeploymentRecord, Error> {
    let Request {
        action,
        id,
        params,
        given_id,
    } = req;
    let start = Instant::now();
    let host = Host::real();
    let result = txn::deploy(store, &host, id, params, given_id);
    let duration_seconds = start.elapsed().as_secs_f64();
    let (result_word, versions, rollback, detail) = match &result {
        Ok(Deployment::Deployed { from, to, .. }) => (
            "ok",
            BTreeMap::from([
                (
                    "from".to_owned(),
                    from.as_ref()
                        .map_or_else(|| "none".into(), StoreId::to_string),
                ),
                ("to".to_owned(), to.to_string()),
            ]),
            false,
            None,
        ),
        Ok(Deployment::RolledBack {
            attempted,
            restored,
            reason,
            ..
        }) => (
            "rolled_back",
            BTreeMap::from([
                ("attempted".to_owned(), attempted.to_string()),
                ("restored".to_owned(), restored.to_string()),
            ]),
            true,
            Some(reason.clone()),
        ),
        Ok(Deployment::NothingToDo { id }) => (
            "nothing_to_do",
            BTreeMap::from([("current".to_owned(), id.to_string())]),
            false,
            None,
        ),
        Err(TxnError::Refused(_) | TxnError::SignatureRejected(_)) => {
            ("refused", BTreeMap::new(), false, None)
        }
        Err(_) => ("failed", BTreeMap::new(), false, None),
    };
    let deployment_id = match &result {
        Ok(
            Deployment::Deployed { deployment_id, .. }
            | Deployment::RolledBack { deployment_id, .. },
        ) => Some(deployment_id.clone()),
        // Nothing loaded, but a fleet's id still links the record to its rollout.
        _ => given_id.map(str::to_owned),
    };
    let detail = match &result {
        Err(e) => Some(e.to_string()),
        Ok(_) => detail,
    };
    phases::time("audit", || {
        append(
            root,
            Action {
                action: action.as_str().into(),
                result: result_word.into(),
                deployment_id: deployment_id.clone(),
                component_versions: versions,
                rollback_occurred: rollback,
                duration_seconds,
                detail,
            },
        )
    })?;
    let outcome = result?;
    let previous = match &outcome {
        Deployment::Deployed { from, .. } => from.clone(),
        Deployment::RolledBack { restored, .. } => Some(restored.clone()),
        Deployment::NothingToDo { .. } => None,
    };
    let (version, release) = phases::time("record", || {
        (
            store.manifest(id).ok().map(|m| m.module_version),
            host.release(),
        )
    });
    Ok(DeploymentRecord {
        action,
        store_id: id.clone(),
        version,
        release,
        previous,
        deployment_id,
        outcome,
        duration_seconds,
        repaired,
    })
}

/// `load [ID]`: deploys entry `id` (default: the newest built for the running
/// kernel, see `Store::default_candidate`); `deployment_id` names the
/// deployment instead of a generated id.
pub fn deploy(
    root: &Path,
    id: Option<&StoreId>,
    params: &[String],
    deployment_id: Option<&str>,
) -> Result<DeploymentRecord, Error> {
    deployment_id.map(check_deployment_id).transpose()?;
    let opened = open_store(root)?;
    let id = match id {
        Some(v) => v.clone(),
        None => opened
            .store
            .default_candidate(&Host::real().release())?
            .map(|m| m.id)
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::Refused,
                    "no version installed: run milspecctl install FILE first",
                )
            })?,
    };
    let req = Request {
        action: DeployAction::Load,
        id: &id,
        params,
        given_id: deployment_id,
    };
    run_deployment(root, &opened.store, req, opened.repaired)
}

/// `rollback [--to ID]`: deploys the previous entry again (or `to`), with the
/// current module parameters; `deployment_id` as for [`deploy`].
pub fn rollback(
    root: &Path,
    to: Option<&StoreId>,
    allow_older: bool,
    deployment_id: Option<&str>,
) -> Result<DeploymentRecord, Error> {
    deployment_id.map(check_deployment_id).transpose()?;
    let opened = open_store(root)?;
    rollback_opened(root, opened, to, allow_older, deployment_id)
}

fn rollback_opened(
    root: &Path,
    opened: Opened,
    to: Option<&StoreId>,
    allow_older: bool,
    deployment_id: Option<&str>,
) -> Result<DeploymentRecord, Error> {
    let state = State::read(&opened.store)?;
    let target = txn::rollback_target(&state, to, allow_older)?;
    let req = Request {
        action: DeployAction::Rollback,
        id: &target,
        params: &state.current_params,
        given_id: deployment_id,
    };
    run_deployment(root, &opened.store, req, opened.repaired)
}

/// How long milspecd's rollback action waits for the store: its main loop is
/// blocked meanwhile and must still feed the systemd watchdog (30 s in the
/// packaged unit, 3 s in the load test).
pub const DAEMON_STORE_WAIT: Duration = Duration::from_secs(1);

/// `milspecctl rollback` to the previous deployment (milspecd's rollback
/// action), waiting at most [`DAEMON_STORE_WAIT`] for the store. A deployment
/// that ended otherwise than [`Deployment::Deployed`] is still `Ok`: look at
/// [`DeploymentRecord::outcome`].
pub fn rollback_to_previous(root: &Path) -> Result<DeploymentRecord, Error> {
    let opened = open_store_waiting(root, DAEMON_STORE_WAIT)?;
    rollback_opened(root, opened, None, false, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deployment_ids_are_short_plain_tokens() {
        for good in ["fleet-20261202T101500Z-a1b2c3", "dep-1-2", "x", "a.b:c+d_e"] {
            assert!(check_deployment_id(good).is_ok(), "{good}");
        }
        let long = "a".repeat(129);
        for bad in [
            "",
            "has space",
            "new\nline",
            "a/b",
            "{\"x\"}",
            long.as_str(),
        ] {
            let e = check_deployment_id(bad).unwrap_err();
            assert_eq!(e.kind, ErrorKind::Usage, "{bad}");
        }
        assert!(check_deployment_id(&"a".repeat(128)).is_ok());
    }
}
