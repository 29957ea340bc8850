//! `load` and `rollback` as a transaction over the store and the kernel (see
//! the `txn` module docs).

use super::checks::{all_ok, check, verify_loaded, vermagic_check, Check};
use super::error::TxnError;
use super::host::Host;
use super::placement::place_module;
use super::signature::{self, Verdict};
use super::state::State;
use crate::kmod;
use crate::phases;
use crate::store::{compare_versions, Journal, Manifest, Store, StoreId};
use serde::Serialize;

/// How a deployment ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Deployment {
    /// The entry asked for is loaded and verified.
    Deployed {
        deployment_id: String,
        from: Option<StoreId>,
        to: StoreId,
        checks: Vec<Check>,
    },
    /// It failed; the previous entry was loaded again.
    RolledBack {
        deployment_id: String,
        attempted: StoreId,
        restored: StoreId,
        reason: String,
    },
    /// That entry is already loaded with those parameters.
    NothingToDo {
        #[serde(rename = "version")]
        id: StoreId,
    },
}

/// Module parameters with the module's defaults (`force` off, `level=standard`)
/// dropped and sorted, so that "no parameters" equals what sysfs shows for them.
pub(super) fn effective(params: &[String]) -> Vec<String> {
    let mut out: Vec<String> = params
        .iter()
        .filter(|p| {
            !matches!(
                p.as_str(),
                "level=standard" | "level=1" | "force=0" | "force=N" | "force=n"
            )
        })
        .cloned()
        .collect();
    out.sort();
    out
}

fn deployment_id(state: &State) -> String {
    format!(
        "dep-{}-{}",
        crate::clock::unix_secs(),
        state.deployments + 1
    )
}

/// The store id of the loaded module, whose kernel-reported version is `version`:
/// the current deployment if it is that build, else the entry with that id (a
/// file install), else the entry of that version for this kernel with the loaded
/// srcversion (a DKMS build loaded by other means), else `version` itself.
pub(super) fn loaded_id(
    store: &Store,
    host: &Host,
    state: &State,
    version: &str,
    release: &str,
) -> StoreId {
    let src = host.srcversion();
    let same = |m: &Manifest| {
        m.module_version == version
            && (m.srcversion.is_none() || src.is_none() || m.srcversion == src)
    };
    if let Some(cur) = &state.current {
        if store.manifest(cur).is_ok_and(|m| same(&m)) {
            return cur.clone();
        }
    }
    let as_id = StoreId::new(version);
    if store.manifest(&as_id).is_ok_and(|m| same(&m)) {
        return as_id;
    }
    store
        .list()
        .ok()
        .and_then(|all| {
            all.into_iter()
                .find(|m| same(m) && m.kernel_release == release)
        })
        .map(|m| m.id)
        .unwrap_or(as_id)
}

/// Loads entry `id` from the store as a transaction (see the module docs).
/// `given_id` names the deployment (a fleet rollout's id, so host and fleet
/// records link); without it the transaction makes one.
pub fn deploy(
    store: &Store,
    host: &Host,
    id: &StoreId,
    params: &[String],
    given_id: Option<&str>,
) -> Result<Deployment, TxnError> {
    // Hashed once: the placement below writes these same bytes.
    let (manifest, bytes) = phases::time("precheck", || store.verify_entry_bytes(id))?;
    let release = host.release();
    let vm = vermagic_check(&manifest.kernel_release, &release);
    if !vm.ok {
        return Err(TxnError::Refused(format!("{id}: {}", vm.detail)));
    }
    kmod::param_string(params).map_err(|e| TxnError::Refused(e.to_string()))?;
    // Checkpoint.
    let before = phases::time("checkpoint", || host.loaded());
    if let Some(l) = &before {
        if l.pinned {
            return Err(TxnError::Refused(
                "the loaded module is pinned (security level paranoid or above): it cannot be \
                 unloaded until reboot"
                    .into(),
            ));
        }
        let same_build = l.version.as_deref() == Some(manifest.module_version.as_str())
            && (manifest.srcversion.is_none() || host.srcversion() == manifest.srcversion);
        if same_build && effective(&l.params) == effective(params) {
            return Ok(Deployment::NothingToDo { id: id.clone() });
        }
    }
    // Before the journal and the unload: a module the kernel refuses must not
    // cost the running version.
    let sig = phases::time("signature", || signature::gate(host, &store.ko_path(id)));
    if let Verdict::Rejected(why) = sig {
        return Err(TxnError::SignatureRejected(format!("{id}: {why}")));
    }
    let mut state = phases::time("state", || State::read(store))?;
    let from = phases::time("loaded_id", || {
        before
            .as_ref()
            .and_then(|l| l.version.as_deref())
            .map(|v| loaded_id(store, host, &state, v, &release))
    });
    let from_params = before.map(|l| l.params).unwrap_or_default();
    let dep_id = given_id.map_or_else(|| deployment_id(&state), str::to_owned);
    phases::time("journal", || {
        store.write_journal(&Journal::Load {
            deployment_id: dep_id.clone(),
            from: from.clone(),
            from_params: from_params.clone(),
            to: id.clone(),
        })
    })?;

    if from.is_some() {
        if let Err(e) = phases::time("unload", || kmod::unload(milspec_abi::MODULE_NAME)) {
            store.clear_journal()?;
            return Err(TxnError::Failed(format!(
                "could not unload the current module: {e}"
            )));
        }
    }
    let failure = match phases::time("load", || kmod::load_file(&store.ko_path(id), params)) {
        Err(e) => {
            let enf = signature::Enforcement::read(host);
            let why = e.errno().and_then(|n| signature::signature_errno(n, &enf));
            if let (Some(why), None) = (why, &from) {
                // Nothing was loaded before, so nothing was unloaded.
                store.clear_journal()?;
                return Err(TxnError::SignatureRejected(format!(
                    "{id}: the kernel refuses its signature ({why}; {}): {e}",
                    enf.describe()
                )));
            }
            Some(e.to_string())
        }
        Ok(()) => {
            // Loading an unsigned out-of-tree module taints by itself (O, E); what
            // must not appear afterwards is anything new, an oops above all.
            let st = State {
                taint_at_load: host.taint(),
                ..state.clone()
            };
            let checks = phases::time("verify", || verify_loaded(host, &manifest, &st));
            if all_ok(&checks) {
                if from.as_ref() != Some(id) {
                    state.previous = from.clone();
                }
                state.current = Some(id.clone());
                state.current_params = params.to_vec();
                state.deployments += 1;
                state.deployment_id = Some(dep_id.clone());
                state.taint_at_load = st.taint_at_load;
                phases::time("commit", || {
                    state.write(store)?;
                    store.clear_journal()
                })?;
                let mut checks = checks;
                checks.push(
                    match phases::time("placement", || {
                        place_module(store, &bytes, &manifest.sha256, &release)
                    }) {
                        Ok(d) => check("modprobe_placement", true, false, d),
                        Err(e) => check("modprobe_placement", false, false, e.to_string()),
                    },
                );
                return Ok(Deployment::Deployed {
                    deployment_id: dep_id,
                    from,
                    to: id.clone(),
                    checks,
                });
            }
            let failed: Vec<String> = checks
                .iter()
                .filter(|c| !c.ok && c.mandatory)
                .map(|c| format!("{}: {}", c.name, c.detail))
                .collect();
            let _ = kmod::unload(milspec_abi::MODULE_NAME);
            Some(format!("verification failed: {}", failed.join("; ")))
        }
    };
    let reason = failure.unwrap_or_default();
    // Roll back to the checkpoint.
    let Some(prev) = from else {
        store.clear_journal()?;
        return Err(TxnError::Failed(format!(
            "loading {id} failed ({reason}); nothing was loaded before, so nothing is loaded now"
        )));
    };
    if store.verify_entry(&prev).is_err() {
        store.clear_journal()?;
        return Err(TxnError::Failed(format!(
            "loading {id} failed ({reason}), and the previous version {prev} is not in the \
             store: nothing is loaded now"
        )));
    }
    kmod::load_file(&store.ko_path(&prev), &from_params).map_err(|e| {
        TxnError::Failed(format!(
            "loading {id} failed ({reason}); reloading {prev} failed too: {e}"
        ))
    })?;
    state.taint_at_load = host.taint();
    state.write(store)?;
    store.clear_journal()?;
    Ok(Deployment::RolledBack {
        deployment_id: dep_id,
        attempted: id.clone(),
        restored: prev,
        reason,
    })
}

/// The entry `rollback` goes to: `to`, or the previous deployment. Going to an
/// older version than the current one with `--to` needs `allow_older`.
pub fn rollback_target(
    state: &State,
    to: Option<&StoreId>,
    allow_older: bool,
) -> Result<StoreId, TxnError> {
    match to {
        None => state.previous.clone().ok_or_else(|| {
            TxnError::Refused("no previous deployment to roll back to (use --to VERSION)".into())
        }),
        Some(v) => {
            if let Some(cur) = &state.current {
                if compare_versions(v.as_str(), cur.as_str()).is_lt() && !allow_older {
                    return Err(TxnError::Refused(format!(
                        "{v} is older than the current {cur}; pass --allow-older"
                    )));
                }
            }
            Ok(v.clone())
        }
    }
}
