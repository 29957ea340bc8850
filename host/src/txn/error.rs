//! Why a deployment did not happen or failed beyond repair.

use crate::store::StoreError;

/// Why a deployment did not happen or failed beyond repair.
#[derive(Debug, thiserror::Error)]
pub enum TxnError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("refused: {0}")]
    Refused(String),
    /// The kernel refuses (or certainly would refuse) the module's signature;
    /// nothing was unloaded.
    #[error("refused: {0}")]
    SignatureRejected(String),
    #[error("{0}")]
    Failed(String),
}
