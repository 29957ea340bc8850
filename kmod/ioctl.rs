// SPDX-License-Identifier: GPL-2.0

//! ioctl commands of `/dev/milspec`. Every user pointer is read exactly once, into a
//! small fixed buffer (no large stack objects), and validated before use.

use crate::abi::{self, Info, INFO_SIZE};
use crate::state;
use crate::version::MODULE_VERSION;
use kernel::prelude::*;
use kernel::uaccess::UserSlice;

// The ABI crate computes ioctl numbers by hand; check it agrees with the kernel's.
const _: () =
    assert!(abi::IOC_GET_INFO == kernel::ioctl::_IOWR::<[u8; INFO_SIZE]>(abi::IOCTL_MAGIC, 0x01));

/// Runs command `cmd` with user argument `arg`.
pub(crate) fn dispatch(cmd: u32, arg: usize) -> Result {
    match cmd {
        abi::IOC_GET_INFO => get_info(arg),
        _ => Err(ENOTTY),
    }
}

/// GET_INFO: validates the caller's header, answers with the module's identity.
fn get_info(arg: usize) -> Result {
    let (mut reader, mut writer) = UserSlice::new(arg, INFO_SIZE).reader_writer();
    let mut raw = [0u8; INFO_SIZE];
    reader.read_slice(&mut raw)?;
    Info::from_bytes(&raw)
        .validate_request()
        .map_err(|_| EINVAL)?;

    let mut info = Info::request();
    info.abi_version = abi::ABI_VERSION;
    info.set_module_version(MODULE_VERSION);
    info.platform_state = state::with(|st| st.platform.state as u32).ok_or(ENODEV)?;
    writer.write_slice(&info.to_bytes())
}
