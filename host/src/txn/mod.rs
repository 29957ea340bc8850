//! Deployments: `load` and `rollback` as transactions over the store and the
//! kernel, plus the `verify` and `preflight` checks.
//!
//! A deployment: preflight → checkpoint (what is loaded, with which parameters)
//! → journal → unload the current module → load the new one → verify → commit
//! (state.json) → clear the journal. If loading or verifying fails, the new module
//! is unloaded and the checkpointed version is loaded again from the store.
//!
//! Parts: `state` (state.json), `host` (host facts), `checks` (verify and
//! preflight), `reconcile` (crash reconciliation), `deploy` (the transaction),
//! `placement` (modprobe placement).

mod checks;
mod deploy;
mod host;
mod placement;
mod reconcile;
mod state;

pub use checks::{all_ok, preflight, verify, verify_loaded, vermagic_check, Check};
pub use deploy::{deploy, rollback_target, Deployment};
pub use host::{Host, Loaded};
pub use placement::{place_for_modprobe, PlacementError};
pub use reconcile::reconcile;
pub use state::State;

use crate::store::StoreError;

/// Why a deployment did not happen or failed beyond repair.
#[derive(Debug, thiserror::Error)]
pub enum TxnError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("refused: {0}")]
    Refused(String),
    #[error("{0}")]
    Failed(String),
}

#[cfg(test)]
mod tests;
