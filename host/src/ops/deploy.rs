//! `load` (from the store) and `rollback`: a deployment transaction plus its
//! audit record, returned as a [`DeploymentRecord`].

use super::{append, open_store};
use crate::audit::Action;
use crate::error::{Error, ErrorKind};
use crate::phases;
use crate::store::{Store, StoreId};
use crate::txn::{self, Check, Deployment, Host, State, TxnError};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

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

fn run_deployment(
    root: &Path,
    action: DeployAction,
    store: &Store,
    id: &StoreId,
    params: &[String],
    repaired: Option<String>,
) -> Result<DeploymentRecord, Error> {
    let start = Instant::now();
    let host = Host::real();
    let result = txn::deploy(store, &host, id, params);
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
        _ => None,
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
/// kernel, see `Store::default_candidate`).
pub fn deploy(
    root: &Path,
    id: Option<&StoreId>,
    params: &[String],
) -> Result<DeploymentRecord, Error> {
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
    run_deployment(
        root,
        DeployAction::Load,
        &opened.store,
        &id,
        params,
        opened.repaired,
    )
}

/// `rollback [--to ID]`: deploys the previous entry again (or `to`), with the
/// current module parameters.
pub fn rollback(
    root: &Path,
    to: Option<&StoreId>,
    allow_older: bool,
) -> Result<DeploymentRecord, Error> {
    let opened = open_store(root)?;
    let state = State::read(&opened.store)?;
    let target = txn::rollback_target(&state, to, allow_older)?;
    run_deployment(
        root,
        DeployAction::Rollback,
        &opened.store,
        &target,
        &state.current_params,
        opened.repaired,
    )
}

/// `milspecctl rollback` to the previous deployment (milspecd's rollback
/// action). A deployment that ended otherwise than [`Deployment::Deployed`] is
/// still `Ok`: look at [`DeploymentRecord::outcome`].
pub fn rollback_to_previous(root: &Path) -> Result<DeploymentRecord, Error> {
    rollback(root, None, false)
}
