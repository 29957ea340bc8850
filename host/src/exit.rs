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
/// Bad command line (sysexits.h `EX_USAGE`).
pub const USAGE: i32 = 64;
