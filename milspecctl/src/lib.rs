//! Library behind `milspecctl` (and used by `milspecd`): reading the module's
//! status from `/proc/milspec/status` and `/dev/milspec`, loading/unloading module
//! files with `finit_module(2)`/`delete_module(2)`, reading `.ko` files
//! (`modfile`), the tamper-evident audit log (`audit`) and crash-safe writes
//! (`fsutil`). The versioned store and its transactions build on the last three.

pub mod audit;
pub mod cli;
pub mod device;
pub mod exit;
pub mod fsutil;
pub mod holders;
pub mod kmod;
pub mod modfile;
pub mod paths;
pub mod snapshot;
pub mod status;
pub mod store;
mod store_cmds;
pub use store_cmds::rollback_to_previous;
pub mod txn;

/// Fake module files for unit tests (shared with the integration tests).
#[cfg(test)]
#[path = "../tests/common/fake_ko.rs"]
mod fake_ko;
