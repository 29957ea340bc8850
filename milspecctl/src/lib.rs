//! Library behind `milspecctl`: its command line (clap definitions) and the
//! rendering of results as text or JSON. The work itself is done by
//! `milspec_host`.

pub mod cli;
mod store_cmds;
pub use store_cmds::rollback_to_previous;
