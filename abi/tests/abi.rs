//! Host tests of the ABI crate, including a check of the C header against it.

use milspec_abi::*;
use std::process::Command;

#[test]
fn info_round_trips_through_bytes() {
    let mut info = Info::request();
    info.abi_version = ABI_VERSION;
    info.platform_state = PlatformState::Forced as u32;
    info.set_module_version("1.2.3-rc1");
    let back = Info::from_bytes(&info.to_bytes());
    assert_eq!(back, info);
    assert_eq!(back.module_version_str(), Some("1.2.3-rc1"));
}

#[test]
fn wire_layout_is_field_order_native_endian() {
    let mut info = Info::request();
    info.abi_version = 0x0102_0304;
    let raw = info.to_bytes();
    assert_eq!(&raw[0..4], &(INFO_SIZE as u32).to_ne_bytes());
    assert_eq!(&raw[4..8], &0x0102_0304u32.to_ne_bytes());
    assert!(raw[8..].iter().all(|&b| b == 0));
}

#[test]
fn request_validation_rejects_bad_size_and_reserved() {
    assert_eq!(Info::request().validate_request(), Ok(()));
    let mut short = Info::request();
    short.size = 8;
    assert_eq!(short.validate_request(), Err(AbiError::BadSize));
    let mut dirty = Info::request();
    dirty.reserved[19] = 1;
    assert_eq!(dirty.validate_request(), Err(AbiError::ReservedNotZero));
}

#[test]
fn long_version_is_truncated_and_stays_terminated() {
    let mut info = Info::request();
    info.set_module_version(&"x".repeat(100));
    assert_eq!(info.module_version[VERSION_LEN - 1], 0);
    assert_eq!(
        info.module_version_str().map(str::len),
        Some(VERSION_LEN - 1)
    );
}

#[test]
fn platform_state_words_round_trip() {
    for s in [PlatformState::Supported, PlatformState::Forced] {
        assert_eq!(PlatformState::parse(s.as_str()), Some(s));
        assert_eq!(PlatformState::from_u32(s as u32), Some(s));
    }
    assert_eq!(PlatformState::from_u32(0), None);
    assert_eq!(PlatformState::parse("simulated"), None);
}

#[test]
fn ioctl_number_matches_hand_computed_value() {
    // _IOWR(0xD1, 1, 64 bytes) = dir 3 << 30 | 64 << 16 | 0xD1 << 8 | 1
    assert_eq!(IOC_GET_INFO, 0xC040_D101);
}

/// Compiles a C program against include/uapi/linux/dell_milspec.h and compares what
/// it prints with this crate.
#[test]
fn c_header_agrees_with_rust() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let dir = std::env::temp_dir().join(format!("milspec-abi-c-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("check.c");
    std::fs::write(
        &src,
        r#"#include <stdio.h>
#include <stddef.h>
#include <linux/dell_milspec.h>
int main(void) {
    printf("%u %u %u %zu %zu %zu %u %u\n", MILSPEC_ABI_VERSION, MILSPEC_IOCTL_MAGIC,
           (unsigned)MILSPEC_IOC_GET_INFO, sizeof(struct milspec_info),
           offsetof(struct milspec_info, module_version),
           offsetof(struct milspec_info, reserved),
           MILSPEC_PLATFORM_SUPPORTED, MILSPEC_PLATFORM_FORCED);
    return 0;
}
"#,
    )
    .unwrap();
    let exe = dir.join("check");
    let cc = Command::new("cc")
        .args(["-Wall", "-Werror", "-I"])
        .arg(format!("{root}/include/uapi"))
        .arg(&src)
        .arg("-o")
        .arg(&exe)
        .status()
        .expect("a C compiler (cc) is needed for this test");
    assert!(cc.success(), "the C header does not compile");
    let out = Command::new(&exe).output().unwrap();
    let got = String::from_utf8(out.stdout).unwrap();
    let want = format!(
        "{} {} {} {} {} {} {} {}\n",
        ABI_VERSION,
        IOCTL_MAGIC,
        IOC_GET_INFO,
        INFO_SIZE,
        std::mem::offset_of!(Info, module_version),
        std::mem::offset_of!(Info, reserved),
        PlatformState::Supported as u32,
        PlatformState::Forced as u32,
    );
    assert_eq!(got, want);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The module's version (kmod/version.rs) and DKMS's PACKAGE_VERSION must follow the
/// workspace version, so `milspecctl` and the module report the same release.
#[test]
fn module_and_dkms_versions_match_the_workspace() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let version = env!("CARGO_PKG_VERSION");
    let kmod = std::fs::read_to_string(format!("{root}/kmod/version.rs")).unwrap();
    assert!(
        kmod.contains(&format!("MODULE_VERSION: &str = \"{version}\";")),
        "kmod/version.rs does not say {version}"
    );
    let dkms = std::fs::read_to_string(format!("{root}/dkms.conf")).unwrap();
    assert!(
        dkms.contains(&format!("PACKAGE_VERSION=\"{version}\"")),
        "dkms.conf does not say {version}"
    );
}
