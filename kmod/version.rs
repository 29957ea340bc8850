// SPDX-License-Identifier: GPL-2.0

//! Module version, reported by `/proc/milspec/status`, GET_INFO and `modinfo`.

/// Kept equal to the Cargo workspace version (checked by a host test). Test builds
/// (scripts/module.sh --test-version) set `MILSPEC_TEST_VERSION` to build other
/// versions of the same source for the store/rollback tests.
pub(crate) const MODULE_VERSION: &str = match option_env!("MILSPEC_TEST_VERSION") {
    Some(v) => v,
    None => RELEASE_VERSION,
};

const RELEASE_VERSION: &str = "0.1.0";

/// Test builds only (`MILSPEC_TEST_FAIL_INIT` set at build time): `init` fails, to
/// exercise automatic rollback. Never set for real builds.
pub(crate) const TEST_FAIL_INIT: bool = option_env!("MILSPEC_TEST_FAIL_INIT").is_some();

const KEY: &[u8] = b"version=";
const MODINFO_LEN: usize = KEY.len() + MODULE_VERSION.len() + 1;

/// `version=<MODULE_VERSION>\0`, built at compile time.
const fn modinfo_version() -> [u8; MODINFO_LEN] {
    let mut out = [0u8; MODINFO_LEN];
    let value = MODULE_VERSION.as_bytes();
    let mut i = 0;
    while i < KEY.len() {
        out[i] = KEY[i];
        i += 1;
    }
    let mut j = 0;
    while j < value.len() {
        out[KEY.len() + j] = value[j];
        j += 1;
    }
    out
}

/// The `module!` macro of 6.12 has no `version` key. A `version` modinfo string makes
/// `modinfo` show it and makes modpost record a `srcversion` that tools verify.
#[cfg(MODULE)]
#[link_section = ".modinfo"]
#[used]
static MODINFO_VERSION: [u8; MODINFO_LEN] = modinfo_version();
