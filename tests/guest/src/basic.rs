//! Basic checks: status file, GET_INFO, error codes, modes, the tools.

use crate::util::{check, raw_ioctl, unmapped_addr, Mapping, TestResult};
use crate::Config;
use milspec_abi::{Info, PlatformState, INFO_SIZE, IOC_GET_INFO};
use milspec_host::device::Device;
use milspec_host::paths::ModulePaths;
use milspec_host::status::ProcStatus;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::process::Command;

fn device() -> Result<File, String> {
    File::open(milspec_abi::DEVICE_PATH).map_err(|e| format!("open /dev/milspec: {e}"))
}

pub fn status_file_has_every_key_in_order(cfg: &Config) -> TestResult {
    let text = std::fs::read_to_string(milspec_abi::PROC_STATUS_PATH)
        .map_err(|e| format!("read status: {e}"))?;
    let status = ProcStatus::parse(&text).map_err(|e| e.to_string())?;
    let keys: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_once(':').map(|(k, _)| k))
        .collect();
    check(keys == milspec_abi::status_keys::ALL, || {
        format!("keys {keys:?}")
    })?;
    check(status.abi_version == milspec_abi::ABI_VERSION, || {
        format!("abi_version {}", status.abi_version)
    })?;
    check(status.platform_state.0 == cfg.expect_state, || {
        format!("platform_state {}", status.platform_state.0.as_str())
    })
}

pub fn status_matches_smbios_of_the_vm(_: &Config) -> TestResult {
    let text = std::fs::read_to_string(milspec_abi::PROC_STATUS_PATH).map_err(|e| e.to_string())?;
    let status = ProcStatus::parse(&text).map_err(|e| e.to_string())?;
    for (key, value, sysfs) in [
        ("vendor", &status.platform_vendor, "sys_vendor"),
        ("product", &status.platform_product, "product_name"),
        ("bios", &status.bios_version, "bios_version"),
    ] {
        let want = std::fs::read_to_string(format!("/sys/class/dmi/id/{sysfs}"))
            .map_err(|e| format!("{sysfs}: {e}"))?;
        check(value == want.trim_end(), || {
            format!("{key}: status {value:?}, DMI {:?}", want.trim_end())
        })?;
    }
    Ok(())
}

pub fn get_info_agrees_with_status_file(cfg: &Config) -> TestResult {
    let info = Device::open(std::path::Path::new(milspec_abi::DEVICE_PATH))
        .and_then(|d| d.info())
        .map_err(|e| e.to_string())?;
    let text = std::fs::read_to_string(milspec_abi::PROC_STATUS_PATH).map_err(|e| e.to_string())?;
    let status = ProcStatus::parse(&text).map_err(|e| e.to_string())?;
    check(info.abi_version == milspec_abi::ABI_VERSION, || {
        format!("abi {}", info.abi_version)
    })?;
    check(info.module_version == status.module_version, || {
        format!("{} vs {}", info.module_version, status.module_version)
    })?;
    check(info.platform_state == cfg.expect_state, || {
        format!("state {:?}", info.platform_state)
    })
}

pub fn get_info_fills_the_whole_struct(_: &Config) -> TestResult {
    let dev = device()?;
    let mut buf = [0xA5u8; INFO_SIZE];
    buf[..INFO_SIZE].copy_from_slice(&Info::request().to_bytes());
    raw_ioctl(dev.as_raw_fd(), IOC_GET_INFO, buf.as_mut_ptr() as usize)
        .map_err(|e| format!("errno {e}"))?;
    let info = Info::from_bytes(&buf);
    check(info.size as usize == INFO_SIZE, || {
        format!("size {}", info.size)
    })?;
    check(info.reserved.iter().all(|&b| b == 0), || {
        "reserved bytes not zeroed on output".into()
    })
}

pub fn unknown_ioctls_are_enotty(_: &Config) -> TestResult {
    let dev = device()?;
    let mut buf = Info::request().to_bytes();
    let ptr = buf.as_mut_ptr() as usize;
    for cmd in [
        milspec_abi::iowr(0x7f, INFO_SIZE), // our magic, unknown number
        milspec_abi::iowr(0x01, 32),        // GET_INFO's number with another size
        0x5401,                             // TCGETS: a terminal ioctl
        0,
    ] {
        let got = raw_ioctl(dev.as_raw_fd(), cmd, ptr);
        check(got == Err(libc::ENOTTY), || {
            format!("cmd {cmd:#x}: {got:?}")
        })?;
    }
    Ok(())
}

pub fn bad_pointers_are_efault(_: &Config) -> TestResult {
    let dev = device()?;
    let unmapped = unmapped_addr()?;
    for arg in [0usize, 1, unmapped, usize::MAX - 16, 0xffff_8000_0000_0000] {
        let got = raw_ioctl(dev.as_raw_fd(), IOC_GET_INFO, arg);
        check(got == Err(libc::EFAULT), || {
            format!("arg {arg:#x}: {got:?}")
        })?;
    }
    Ok(())
}

pub fn read_only_page_is_efault_and_unchanged(_: &Config) -> TestResult {
    let dev = device()?;
    let mut page = Mapping::new(4096)?;
    page.write(0, &Info::request().to_bytes());
    page.protect(libc::PROT_READ);
    let got = raw_ioctl(dev.as_raw_fd(), IOC_GET_INFO, page.addr());
    let after = page.bytes()[..INFO_SIZE].to_vec();
    check(got == Err(libc::EFAULT), || format!("{got:?}"))?;
    check(after == Info::request().to_bytes(), || {
        "read-only buffer changed".into()
    })
}

pub fn malformed_requests_are_einval(_: &Config) -> TestResult {
    let dev = device()?;
    let mut bad_size = Info::request();
    bad_size.size = 8;
    let mut dirty = Info::request();
    dirty.reserved[0] = 1;
    let mut huge = Info::request();
    huge.size = u32::MAX;
    for (what, req) in [
        ("size 8", bad_size),
        ("reserved", dirty),
        ("size max", huge),
    ] {
        let mut buf = req.to_bytes();
        let got = raw_ioctl(dev.as_raw_fd(), IOC_GET_INFO, buf.as_mut_ptr() as usize);
        check(got == Err(libc::EINVAL), || format!("{what}: {got:?}"))?;
    }
    Ok(())
}

pub fn nodes_have_documented_modes(_: &Config) -> TestResult {
    let dev = std::fs::metadata(milspec_abi::DEVICE_PATH).map_err(|e| e.to_string())?;
    check(dev.file_type().is_char_device(), || {
        "not a char device".into()
    })?;
    check(dev.permissions().mode() & 0o7777 == 0o444, || {
        format!("/dev/milspec mode {:o}", dev.permissions().mode())
    })?;
    let st = std::fs::metadata(milspec_abi::PROC_STATUS_PATH).map_err(|e| e.to_string())?;
    check(st.mode() & 0o7777 == 0o444, || {
        format!("status mode {:o}", st.mode())
    })
}

pub fn unprivileged_user_can_query(_: &Config) -> TestResult {
    crate::util::run_as(65534, &["--as-nobody-query"])
}

/// Child side of `unprivileged_user_can_query`.
pub fn nobody_query() -> i32 {
    let paths = ModulePaths::default();
    match milspec_host::snapshot::Snapshot::take(&paths) {
        Ok(Some(s)) if s.is_consistent() => 0,
        other => {
            eprintln!("as nobody: {other:?}");
            1
        }
    }
}

pub fn milspecctl_status_json(cfg: &Config) -> TestResult {
    let out = Command::new(&cfg.milspecctl)
        .args(["--json", "status"])
        .output()
        .map_err(|e| format!("{}: {e}", cfg.milspecctl))?;
    check(out.stderr.is_empty(), || {
        format!("stderr: {}", String::from_utf8_lossy(&out.stderr))
    })?;
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("not JSON: {e}"))?;
    check(out.status.code() == Some(0), || {
        format!("exit {}", out.status)
    })?;
    check(
        v["module_loaded"] == true && v["consistent"] == true,
        || v.to_string(),
    )?;
    check(
        v["info"]["platform_state"] == cfg.expect_state.as_str(),
        || v.to_string(),
    )?;
    check(
        v["status"]["platform_state"] == cfg.expect_state.as_str(),
        || v.to_string(),
    )
}

pub fn milspecd_once_verdict(cfg: &Config) -> TestResult {
    let out = Command::new(&cfg.milspecd)
        .args(["--once", "--json"])
        .output()
        .map_err(|e| format!("{}: {e}", cfg.milspecd))?;
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("not JSON: {e}"))?;
    let (health, code) = match cfg.expect_state {
        PlatformState::Supported => ("healthy", 0),
        PlatformState::Forced => ("degraded", 1),
    };
    check(
        v["health"] == health && out.status.code() == Some(code),
        || format!("{} exit {}", v, out.status),
    )
}
