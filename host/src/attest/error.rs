//! Why an attestation failed. Each variant maps to its own `ErrorKind` (and exit
//! code) in `crate::error`: a verifier must tell a forged log from a replayed
//! quote.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum AttestError {
    /// No IMA log, no TPM, or a tool missing: nothing to attest with.
    #[error("attestation unavailable: {0}")]
    Unavailable(String),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The IMA log does not parse, or an entry's data does not hash to the
    /// template digest the log states for it.
    #[error("IMA log tampered with: {0}")]
    LogTampered(String),
    /// The log's replay does not give the TPM's (or the quote's) PCR value, or the
    /// PCR values given do not hash to the quote's PCR digest.
    #[error("PCR mismatch: {0}")]
    PcrMismatch(String),
    /// The quote's qualifying data is not the expected nonce (a replayed quote).
    #[error("nonce mismatch: the quote was made for {got}, expected {expected}")]
    Nonce { got: String, expected: String },
    /// The quote's attestation key is not the trusted one.
    #[error("unknown attestation key: {0}")]
    UnknownAk(String),
    /// The quote's signature does not verify with the attestation key, or the
    /// quote structure is malformed.
    #[error("quote signature invalid: {0}")]
    Signature(String),
    /// The posture history violates the policy.
    #[error("posture violates the policy: {0}")]
    Policy(String),
    /// A malformed bundle, policy or argument.
    #[error("{0}")]
    Invalid(String),
}

pub type Result<T> = std::result::Result<T, AttestError>;
