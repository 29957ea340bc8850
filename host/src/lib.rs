//! The host-side library both tools use (`milspecctl` and `milspecd`): reading the
//! module's status from `/proc/milspec/status` and `/dev/milspec`, loading and
//! unloading module files with `finit_module(2)`/`delete_module(2)`, reading `.ko`
//! files (`modfile`), the tamper-evident audit log (`audit`), crash-safe writes
//! (`fsutil`), the versioned store with its transactions (`store`, `txn`), and
//! the measured posture's verification (`attest`).

pub mod attest;
pub mod audit;
pub mod clock;
pub mod device;
pub mod dkms;
pub mod error;
pub mod exit;
pub mod fsutil;
pub mod holders;
pub mod kmod;
pub mod modfile;
pub mod ops;
pub mod paths;
pub mod phases;
pub mod snapshot;
pub mod status;
pub mod store;
pub mod txn;

pub use ops::rollback_to_previous;

/// Fake module files for unit tests (shared with milspecctl's integration tests).
#[cfg(test)]
#[path = "../tests/common/fake_ko.rs"]
mod fake_ko;
