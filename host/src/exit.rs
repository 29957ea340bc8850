//! Exit codes of `milspecctl` (documented in README.md and `--help`).

/// Success.
pub const OK: i32 = 0;
/// Any failure not covered by a more specific code.
pub const FAILURE: i32 = 1;
/// Nothing to do (e.g. unloading a module that is not loaded).
pub const NOTHING_TO_DO: i32 = 2;
/// The module is not loaded (`status`).
pub const NOT_LOADED: i32 = 3;
/// The module's two views of its state disagree, or its ABI is not ours.
pub const INCONSISTENT: i32 = 4;
/// A verification failed (audit chain broken, stored file corrupt).
pub const VERIFY_FAILED: i32 = 5;
/// Refused before touching anything (preflight failed, module pinned, ...).
pub const REFUSED: i32 = 6;
/// The new version failed; the previous one was loaded again.
pub const ROLLED_BACK: i32 = 7;
/// The store was busy: another milspecctl (or milspecd's rollback) held it
/// for longer than the wait; nothing was done (sysexits.h `EX_TEMPFAIL`).
pub const BUSY: i32 = 75;
/// Bad command line (sysexits.h `EX_USAGE`).
pub const USAGE: i32 = 64;
/// Attestation: no IMA log, no TPM, or tpm2-tools/openssl missing.
pub const ATTEST_UNAVAILABLE: i32 = 20;
/// Attestation: the IMA log was edited (an entry does not match its digest).
pub const ATTEST_LOG_TAMPERED: i32 = 21;
/// Attestation: the log does not replay to the PCR, or the PCR values are not
/// the quoted ones.
pub const ATTEST_PCR_MISMATCH: i32 = 22;
/// Attestation: the quote was made for another nonce (replayed).
pub const ATTEST_NONCE: i32 = 23;
/// Attestation: the quote's attestation key is not the trusted one.
pub const ATTEST_UNKNOWN_AK: i32 = 24;
/// Attestation: the quote's signature does not verify.
pub const ATTEST_SIGNATURE: i32 = 25;
/// Attestation: the posture history violates the policy.
pub const ATTEST_POLICY: i32 = 26;
