//! Dell OEM SMBIOS structures, parsed without panics or unchecked indexing.
//!
//! All code lives in `dell.rs`, which the kernel module compiles as is (`#[path]`
//! module in `kmod/`), so the parser the module runs is the one tested and fuzzed
//! here.
#![no_std]
#![forbid(unsafe_code)]

mod dell;
pub use dell::*;
