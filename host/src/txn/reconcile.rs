//! Crash reconciliation: a deployment interrupted by a crash is resolved from
//! the state file (its commit point) and what the kernel has loaded.

use super::error::TxnError;
use super::host::Host;
use super::placement::place_for_modprobe;
use super::state::State;
use crate::kmod;
use crate::store::{Journal, Store, StoreId};

/// What to do about an interrupted deployment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Resolution {
    /// `state.json` already names this deployment: it committed, and only the
    /// steps after the commit (placement, clearing the journal) are left.
    /// `load`: nothing is loaded (a reboot), so the committed version is.
    Committed { load: bool },
    /// The new version is loaded but the commit was not written: commit it.
    Commit,
    /// The old version is still loaded: nothing changed.
    Unchanged,
    /// Nothing is loaded and the old version is known: load it again.
    ReloadFrom,
    /// Something else is loaded (or nothing, and there was nothing before).
    Unknown,
}

/// Decides from the journal's deployment, the state file and the loaded
/// module's version (the store ids already turned into module versions).
pub(super) fn resolve(
    deployment_id: &str,
    state: &State,
    loaded: Option<&str>,
    from_version: Option<&str>,
    to_version: &str,
) -> Resolution {
    if state.deployment_id.as_deref() == Some(deployment_id) {
        return Resolution::Committed {
            load: loaded.is_none(),
        };
    }
    match loaded {
        Some(v) if v == to_version => Resolution::Commit,
        Some(v) if Some(v) == from_version => Resolution::Unchanged,
        None if from_version.is_some() => Resolution::ReloadFrom,
        _ => Resolution::Unknown,
    }
}

/// Resolves a deployment interrupted by a crash, from the state file and what
/// the kernel has loaded. Returns a description when it did something.
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
    let from_version = from.as_ref().map(version_of);
    let what = match resolve(
        &deployment_id,
        &state,
        loaded.as_deref(),
        from_version.as_deref(),
        &version_of(&to),
    ) {
        Resolution::Committed { load } => {
            // Placement comes after the commit: a crash may have skipped it.
            let placed = match place_for_modprobe(store, &to, &host.release()) {
                Ok(_) => "placed for modprobe",
                Err(_) => "not placed for modprobe",
            };
            if load {
                kmod::load_file(&store.ko_path(&to), &state.current_params)
                    .map_err(|e| TxnError::Failed(format!("loading {to}: {e}")))?;
                format!(
                    "deployment {deployment_id} had committed {to} and nothing was loaded \
                     (a reboot): loaded {to}, {placed}"
                )
            } else {
                format!("deployment {deployment_id} had committed {to}: {placed}")
            }
        }
        Resolution::Commit => {
            if from.as_ref() != Some(&to) {
                state.previous = from.clone();
            }
            state.current = Some(to.clone());
            state.deployments += 1;
            state.deployment_id = Some(deployment_id.clone());
            state.taint_at_load = host.taint();
            state.write(store)?;
            format!("deployment {deployment_id} had loaded {to}: committed")
        }
        Resolution::Unchanged => {
            format!("deployment {deployment_id} had not changed anything: cleared")
        }
        Resolution::ReloadFrom => {
            // `from` is set: ReloadFrom needs its version.
            let f = from.unwrap_or_else(|| to.clone());
            kmod::load_file(&store.ko_path(&f), &from_params)
                .map_err(|e| TxnError::Failed(format!("reloading {f}: {e}")))?;
            format!("deployment {deployment_id} was interrupted with nothing loaded: reloaded {f}")
        }
        Resolution::Unknown => {
            format!("deployment {deployment_id} interrupted; loaded now: {loaded:?}")
        }
    };
    store.clear_journal()?;
    Ok(Some(what))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(dep: Option<&str>) -> State {
        State {
            current: Some("1.0.0".into()),
            deployment_id: dep.map(str::to_owned),
            ..State::default()
        }
    }

    #[test]
    fn a_committed_deployment_is_finished_not_undone() {
        // Crash between state.json and clearing the journal, then a reboot:
        // nothing loaded. The old rule (reload `from`) would have left the old
        // version loaded under a state that names the new one.
        let st = state(Some("dep-2"));
        assert_eq!(
            resolve("dep-2", &st, None, Some("1.0.0"), "1.0.1"),
            Resolution::Committed { load: true }
        );
        assert_eq!(
            resolve("dep-2", &st, Some("1.0.1"), Some("1.0.0"), "1.0.1"),
            Resolution::Committed { load: false }
        );
    }

    #[test]
    fn an_uncommitted_deployment_follows_the_kernel() {
        let st = state(Some("dep-1"));
        let r = |loaded| resolve("dep-2", &st, loaded, Some("1.0.0"), "1.0.1");
        assert_eq!(r(Some("1.0.1")), Resolution::Commit);
        assert_eq!(r(Some("1.0.0")), Resolution::Unchanged);
        assert_eq!(r(None), Resolution::ReloadFrom);
        assert_eq!(r(Some("9.9.9")), Resolution::Unknown);
        // Nothing was loaded before and nothing is now.
        assert_eq!(
            resolve("dep-2", &st, None, None, "1.0.1"),
            Resolution::Unknown
        );
    }
}
