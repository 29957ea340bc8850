//! The `dell_milspec` user-space ABI as a `#![no_std]` crate.
//!
//! All definitions live in `uapi/` (one concern per file), which the kernel module
//! also compiles directly (`#[path]` module in `kmod/` pointing at `uapi/mod.rs`), so
//! the module and the tools cannot drift.
//! The C header `include/uapi/linux/dell_milspec.h` is checked against this crate
//! by a test that compiles C.
#![no_std]
#![forbid(unsafe_code)]

mod uapi;
pub use uapi::*;
