//! Library behind `milspecctl`: its command line (clap definitions) and the
//! rendering of results as text or JSON, with exit codes. The work itself is
//! done by `milspec_host`.

pub mod cli;
