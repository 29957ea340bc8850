//! Library behind `milspecctl` (and used by `milspecd`): reading the module's
//! status from `/proc/milspec/status` and `/dev/milspec`, and loading/unloading
//! module files with `finit_module(2)`/`delete_module(2)`.

pub mod cli;
pub mod device;
pub mod exit;
pub mod kmod;
pub mod paths;
pub mod snapshot;
pub mod status;
