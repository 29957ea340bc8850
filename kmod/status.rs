// SPDX-License-Identifier: GPL-2.0

//! Text of `/proc/milspec/status`: `key: value` lines in `abi::status_keys::ALL`
//! order (documented in `docs/status.md`).

use crate::abi::{status_keys as keys, ABI_VERSION};
use crate::state::State;
use crate::text::Printable;
use crate::version::MODULE_VERSION;
use core::fmt::{self, Write};

/// Writes the whole status text.
pub(crate) fn write(w: &mut dyn Write, st: &State) -> fmt::Result {
    let p = &st.platform;
    writeln!(w, "{}: {}", keys::ABI_VERSION, ABI_VERSION)?;
    writeln!(w, "{}: {}", keys::MODULE_VERSION, MODULE_VERSION)?;
    writeln!(w, "{}: {}", keys::PLATFORM_VENDOR, Printable(p.vendor))?;
    writeln!(w, "{}: {}", keys::PLATFORM_PRODUCT, Printable(p.product))?;
    writeln!(w, "{}: {}", keys::BIOS_VERSION, Printable(p.bios_version))?;
    writeln!(w, "{}: {}", keys::PLATFORM_STATE, p.state.as_str())
}
