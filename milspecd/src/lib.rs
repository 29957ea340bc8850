//! Library behind `milspecd`: the health verdict (`--once`), the policy file and
//! the event-driven service that enforces it.

pub mod actions;
pub mod cli;
pub mod clock;
pub mod health;
pub mod hostinfo;
pub mod logging;
pub mod metrics;
pub mod notify;
pub mod policy;
pub mod privileges;
pub mod service;
pub mod verdict;
