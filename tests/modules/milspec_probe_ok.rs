// SPDX-License-Identifier: GPL-2.0

//! Test module for dell_milspec's module-load allowlist (tests/vm only).

use kernel::prelude::*;

module! {
    type: Probe,
    name: "milspec_probe_ok",
    author: "milspec developers",
    description: "milspec allowlist test module (ok)",
    license: "GPL",
}

struct Probe;

impl kernel::Module for Probe {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        Ok(Probe)
    }
}
