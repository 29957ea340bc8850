// SPDX-License-Identifier: GPL-2.0 OR MIT
//! Module names in the allowlist: what is a valid entry, and when two names are the
//! same module.

use super::structs::NAME_LEN;
use super::types::AbiError;

/// Validates one allowlist entry: NUL-terminated within [`NAME_LEN`], non-empty,
/// only `[A-Za-z0-9_-]`. Returns the name's length; `-` counts as `_` when matching,
/// as the kernel treats them alike in module names.
pub fn validate_module_name(raw: &[u8; NAME_LEN]) -> Result<usize, AbiError> {
    let len = raw
        .iter()
        .position(|&b| b == 0)
        .ok_or(AbiError::OutOfRange)?;
    let name = raw.get(..len).ok_or(AbiError::OutOfRange)?;
    if name.is_empty()
        || !name
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        || raw.iter().skip(len).any(|&b| b != 0)
    {
        return Err(AbiError::OutOfRange);
    }
    Ok(len)
}

/// Whether module names `a` and `b` are the same module (`-` and `_` alike).
pub fn module_names_equal(a: &[u8], b: &[u8]) -> bool {
    let norm = |c: &u8| if *c == b'-' { b'_' } else { *c };
    a.len() == b.len() && a.iter().map(norm).eq(b.iter().map(norm))
}
