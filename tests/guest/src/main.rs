//! In-guest test suite against the real `dell_milspec` module. Prints TAP-style
//! lines (`ok - name` / `not ok - name: why`) that the VM harness counts; exits 1
//! if any test failed.
//!
//! Usage: milspec-guest-tests --expect-state supported|forced
//!            [--milspecctl PATH] [--milspecd PATH]

use milspec_abi::{Info, PlatformState, INFO_SIZE, IOC_GET_INFO};
use milspecctl::device::Device;
use milspecctl::paths::ModulePaths;
use milspecctl::status::ProcStatus;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::process::Command;

type TestResult = Result<(), String>;
/// A named in-guest test.
type Test = (&'static str, fn(&Config) -> TestResult);

struct Config {
    expect_state: PlatformState,
    milspecctl: String,
    milspecd: String,
}

fn check(cond: bool, msg: impl FnOnce() -> String) -> TestResult {
    if cond {
        Ok(())
    } else {
        Err(msg())
    }
}

/// Calls ioctl(2) with an arbitrary argument; returns the errno on failure.
fn raw_ioctl(fd: i32, cmd: u32, arg: usize) -> Result<i32, i32> {
    // SAFETY: the kernel validates `arg` for us; passing bad pointers on purpose is
    // what these tests do, and nothing in this process is written through them
    // unless the kernel accepts them (only valid buffers are passed as valid).
    let rc = unsafe { libc::ioctl(fd, cmd as libc::c_ulong, arg) };
    if rc < 0 {
        Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    } else {
        Ok(rc)
    }
}

fn device() -> Result<File, String> {
    File::open(milspec_abi::DEVICE_PATH).map_err(|e| format!("open /dev/milspec: {e}"))
}

fn status_file_has_every_key_in_order(cfg: &Config) -> TestResult {
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

fn status_matches_smbios_of_the_vm(_: &Config) -> TestResult {
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

fn get_info_agrees_with_status_file(cfg: &Config) -> TestResult {
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

fn get_info_fills_the_whole_struct(_: &Config) -> TestResult {
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

fn unknown_ioctls_are_enotty(_: &Config) -> TestResult {
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

fn bad_pointers_are_efault(_: &Config) -> TestResult {
    let dev = device()?;
    // SAFETY: mmap of one anonymous page, then unmapped, gives an address that is
    // certainly not mapped.
    let unmapped = unsafe {
        let p = libc::mmap(
            std::ptr::null_mut(),
            4096,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        if p == libc::MAP_FAILED {
            return Err("mmap failed".into());
        }
        libc::munmap(p, 4096);
        p as usize
    };
    for arg in [0usize, 1, unmapped, usize::MAX - 16, 0xffff_8000_0000_0000] {
        let got = raw_ioctl(dev.as_raw_fd(), IOC_GET_INFO, arg);
        check(got == Err(libc::EFAULT), || {
            format!("arg {arg:#x}: {got:?}")
        })?;
    }
    Ok(())
}

fn read_only_page_is_efault_and_unchanged(_: &Config) -> TestResult {
    let dev = device()?;
    // SAFETY: a fresh anonymous mapping, filled, then made read-only; we only read it.
    let page = unsafe {
        let p = libc::mmap(
            std::ptr::null_mut(),
            4096,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        if p == libc::MAP_FAILED {
            return Err("mmap failed".into());
        }
        std::ptr::copy_nonoverlapping(Info::request().to_bytes().as_ptr(), p as *mut u8, INFO_SIZE);
        libc::mprotect(p, 4096, libc::PROT_READ);
        p as *const u8
    };
    let got = raw_ioctl(dev.as_raw_fd(), IOC_GET_INFO, page as usize);
    // SAFETY: `page` is mapped readable for 4096 bytes.
    let after = unsafe { std::slice::from_raw_parts(page, INFO_SIZE) }.to_vec();
    // SAFETY: unmapping the page mapped above; nothing refers to it any more.
    unsafe { libc::munmap(page as *mut libc::c_void, 4096) };
    check(got == Err(libc::EFAULT), || format!("{got:?}"))?;
    check(after == Info::request().to_bytes(), || {
        "read-only buffer changed".into()
    })
}

fn malformed_requests_are_einval(_: &Config) -> TestResult {
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

fn nodes_have_documented_modes(_: &Config) -> TestResult {
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

fn unprivileged_user_can_query(_: &Config) -> TestResult {
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = Command::new(me)
        .arg("--as-nobody-query")
        .uid(65534)
        .gid(65534)
        .output()
        .map_err(|e| e.to_string())?;
    check(out.status.success(), || {
        format!(
            "child: {} {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Child side of `unprivileged_user_can_query`.
fn nobody_query() -> i32 {
    let paths = ModulePaths::default();
    match milspecctl::snapshot::Snapshot::take(&paths) {
        Ok(Some(s)) if s.is_consistent() => 0,
        other => {
            eprintln!("as nobody: {other:?}");
            1
        }
    }
}

fn milspecctl_status_json(cfg: &Config) -> TestResult {
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

fn milspecd_once_verdict(cfg: &Config) -> TestResult {
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

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--as-nobody-query") {
        std::process::exit(nobody_query());
    }
    let mut cfg = Config {
        expect_state: PlatformState::Supported,
        milspecctl: "/bin/milspecctl".into(),
        milspecd: "/bin/milspecd".into(),
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let val = it.next();
        match (a.as_str(), val) {
            ("--expect-state", Some(v)) => match PlatformState::parse(v) {
                Some(s) => cfg.expect_state = s,
                None => usage(&format!("bad state {v}")),
            },
            ("--milspecctl", Some(v)) => cfg.milspecctl = v.clone(),
            ("--milspecd", Some(v)) => cfg.milspecd = v.clone(),
            _ => usage(&format!("bad argument {a}")),
        }
    }
    let tests: &[Test] = &[
        (
            "status file has every key in order",
            status_file_has_every_key_in_order,
        ),
        (
            "status matches the VM's SMBIOS",
            status_matches_smbios_of_the_vm,
        ),
        (
            "GET_INFO agrees with the status file",
            get_info_agrees_with_status_file,
        ),
        (
            "GET_INFO fills the whole struct",
            get_info_fills_the_whole_struct,
        ),
        ("unknown ioctls return ENOTTY", unknown_ioctls_are_enotty),
        ("bad pointers return EFAULT", bad_pointers_are_efault),
        (
            "read-only buffer returns EFAULT",
            read_only_page_is_efault_and_unchanged,
        ),
        (
            "malformed requests return EINVAL",
            malformed_requests_are_einval,
        ),
        ("device and status file modes", nodes_have_documented_modes),
        ("unprivileged user can query", unprivileged_user_can_query),
        ("milspecctl --json status", milspecctl_status_json),
        ("milspecd --once verdict", milspecd_once_verdict),
    ];
    let mut failed = 0;
    for (name, test) in tests {
        match test(&cfg) {
            Ok(()) => println!("ok - {name}"),
            Err(why) => {
                failed += 1;
                println!("not ok - {name}: {why}");
            }
        }
    }
    std::process::exit(if failed == 0 { 0 } else { 1 });
}

fn usage(msg: &str) -> ! {
    eprintln!("milspec-guest-tests: {msg}");
    std::process::exit(64);
}
