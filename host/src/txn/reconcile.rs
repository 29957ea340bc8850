//! Crash reconciliation: a deployment interrupted by a crash is resolved from
//! what the kernel has loaded.

use super::error::TxnError;
use super::host::Host;
use super::state::State;
use crate::kmod;
use crate::store::{Journal, Store, StoreId};

/// Resolves a deployment interrupted by a crash, from what the kernel has loaded.
/// Returns a description when it did something.
pub fn reconcile(store: &Store, host: &Host) -> Result<Option<String>, TxnError> {
    let Some(Journal::Load {
        deployment_id,
        from,
        from_params,
        to,
    }) = store.pending()?
    else {
        return Ok(None);
    };
    let loaded = host.loaded().and_then(|l| l.version);
    // Journal entries name store ids; the kernel reports module versions.
    let version_of = |id: &StoreId| {
        store
            .manifest(id)
            .map(|m| m.module_version)
            .unwrap_or_else(|_| id.to_string())
    };
    let mut state = State::read(store)?;
    let what = if loaded.as_deref() == Some(version_of(&to).as_str()) {
        if from.as_ref() != Some(&to) {
            state.previous = from.clone();
        }
        state.current = Some(to.clone());
        state.deployments += 1;
        state.deployment_id = Some(deployment_id.clone());
        state.taint_at_load = host.taint();
        state.write(store)?;
        format!("deployment {deployment_id} had loaded {to}: committed")
    } else if loaded.is_some() && loaded == from.as_ref().map(version_of) {
        format!("deployment {deployment_id} had not changed anything: cleared")
    } else if let (None, Some(f)) = (&loaded, &from) {
        kmod::load_file(&store.ko_path(f), &from_params)
            .map_err(|e| TxnError::Failed(format!("reloading {f}: {e}")))?;
        format!("deployment {deployment_id} was interrupted with nothing loaded: reloaded {f}")
    } else {
        format!("deployment {deployment_id} interrupted; loaded now: {loaded:?}")
    };
    store.clear_journal()?;
    Ok(Some(what))
}
