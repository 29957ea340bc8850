//! Deployments: `load` and `rollback` as transactions over the store and the
//! kernel, plus the `verify` and `preflight` checks.
//!
//! A deployment: preflight → checkpoint (what is loaded, with which parameters)
//! → journal → unload the current module → load the new one → verify → commit
//! (state.json) → clear the journal. If loading or verifying fails, the new module
//! is unloaded and the checkpointed version is loaded again from the store.
//!
//! Parts: `state` (state.json), `host` (host facts), `checks` (verify and
//! preflight), `signature` (will the kernel accept a file's signature, asked
//! before anything is unloaded), `reconcile` (crash reconciliation), `deploy`
//! (the transaction), `placement` (modprobe placement).

mod checks;
mod deploy;
mod error;
mod host;
mod placement;
mod reconcile;
mod signature;
mod state;

pub use checks::{
    all_ok, preflight, verify, verify_loaded, vermagic_check, Check, SIGNATURE_CHECK,
};
pub use deploy::{deploy, rollback_target, Deployment};
pub use error::TxnError;
pub use host::{Host, Loaded};
pub use placement::{depmod_key, place_for_modprobe, place_module, PlacementError};
pub use reconcile::reconcile;
pub use signature::{
    asymmetric_keys, classify, gate, lockdown_level, signature_errno, Enforcement, Verdict,
};
pub use state::State;

#[cfg(test)]
mod tests;
