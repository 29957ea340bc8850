//! Library behind `milspecd`. So far: the health verdict over one snapshot of the
//! module's state (`milspecd --once`); the event loop arrives with the daemon issue.

pub mod cli;
pub mod verdict;
