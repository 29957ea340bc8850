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

/// Compiles a C program against include/uapi/linux/dell_milspec.h and compares every
/// constant, size and offset it prints with this crate.
#[test]
fn c_header_agrees_with_rust() {
    use std::mem::{offset_of, size_of};
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    // (C expression, Rust value)
    let checks: Vec<(&str, u64)> = vec![
        ("MILSPEC_ABI_VERSION", ABI_VERSION.into()),
        ("MILSPEC_IOCTL_MAGIC", IOCTL_MAGIC.into()),
        ("MILSPEC_VERSION_LEN", VERSION_LEN as u64),
        ("MILSPEC_NAME_LEN", NAME_LEN as u64),
        ("MILSPEC_EVENT_RING_CAPACITY", EVENT_RING_CAPACITY as u64),
        ("MILSPEC_EVENTS_MAX_PER_CALL", EVENTS_MAX_PER_CALL.into()),
        ("MILSPEC_ALLOWLIST_MAX", ALLOWLIST_MAX.into()),
        (
            "MILSPEC_PLATFORM_SUPPORTED",
            PlatformState::Supported as u64,
        ),
        ("MILSPEC_PLATFORM_FORCED", PlatformState::Forced as u64),
        ("MILSPEC_LEVEL_DISABLED", SecurityLevel::Disabled as u64),
        (
            "MILSPEC_LEVEL_PARANOID_PLUS",
            SecurityLevel::ParanoidPlus as u64,
        ),
        ("MILSPEC_SMBIOS_INVALID", SmbiosState::Invalid as u64),
        ("MILSPEC_LOCKDOWN_UNSUPPORTED", Lockdown::Unsupported as u64),
        (
            "MILSPEC_EVENT_LEVEL_CHANGED",
            EventKind::LevelChanged as u64,
        ),
        ("MILSPEC_EVENT_FORCED_LOAD", EventKind::ForcedLoad as u64),
        ("MILSPEC_EVENT_REFUSALS", EventKind::Refusals as u64),
        ("MILSPEC_REFUSAL_SLOTS", REFUSAL_SLOTS as u64),
        ("MILSPEC_REFUSAL_ENTRIES_MAX", REFUSAL_ENTRIES_MAX as u64),
        ("MILSPEC_REFUSAL_UID_OTHER", REFUSAL_UID_OTHER.into()),
        (
            "MILSPEC_REFUSAL_SUMMARY_WINDOW_NS",
            REFUSAL_SUMMARY_WINDOW_NS,
        ),
        (
            "MILSPEC_REFUSAL_SUMMARY_BUDGET",
            REFUSAL_SUMMARY_BUDGET.into(),
        ),
        (
            "MILSPEC_STATUS_MODULE_SIG_ENFORCED",
            status_flags::MODULE_SIG_ENFORCED.into(),
        ),
        ("MILSPEC_EVENTS_FLAG_GAP", EVENTS_FLAG_GAP.into()),
        ("MILSPEC_IOC_GET_INFO", IOC_GET_INFO.into()),
        ("MILSPEC_IOC_GET_STATUS", IOC_GET_STATUS.into()),
        ("MILSPEC_IOC_SET_LEVEL", IOC_SET_LEVEL.into()),
        ("MILSPEC_IOC_GET_EVENTS", IOC_GET_EVENTS.into()),
        ("MILSPEC_IOC_SET_ALLOWLIST", IOC_SET_ALLOWLIST.into()),
        ("MILSPEC_IOC_GET_TOKENS", IOC_GET_TOKENS.into()),
        ("MILSPEC_IOC_GET_REFUSALS", IOC_GET_REFUSALS.into()),
        ("sizeof(struct milspec_info)", size_of::<Info>() as u64),
        (
            "offsetof(struct milspec_info, module_version)",
            offset_of!(Info, module_version) as u64,
        ),
        (
            "offsetof(struct milspec_info, reserved)",
            offset_of!(Info, reserved) as u64,
        ),
        ("sizeof(struct milspec_status)", size_of::<Status>() as u64),
        (
            "offsetof(struct milspec_status, events_total)",
            offset_of!(Status, events_total) as u64,
        ),
        (
            "offsetof(struct milspec_status, loaded_at_ns)",
            offset_of!(Status, loaded_at_ns) as u64,
        ),
        (
            "offsetof(struct milspec_status, refusals_total)",
            offset_of!(Status, refusals_total) as u64,
        ),
        (
            "offsetof(struct milspec_status, reserved)",
            offset_of!(Status, reserved) as u64,
        ),
        (
            "sizeof(struct milspec_level_request)",
            size_of::<LevelRequest>() as u64,
        ),
        (
            "offsetof(struct milspec_level_request, reserved)",
            offset_of!(LevelRequest, reserved) as u64,
        ),
        ("sizeof(struct milspec_event)", size_of::<Event>() as u64),
        (
            "offsetof(struct milspec_event, kind)",
            offset_of!(Event, kind) as u64,
        ),
        (
            "offsetof(struct milspec_event, name)",
            offset_of!(Event, name) as u64,
        ),
        (
            "sizeof(struct milspec_events_request)",
            size_of::<EventsRequest>() as u64,
        ),
        (
            "offsetof(struct milspec_events_request, events_ptr)",
            offset_of!(EventsRequest, events_ptr) as u64,
        ),
        (
            "offsetof(struct milspec_events_request, next_seq)",
            offset_of!(EventsRequest, next_seq) as u64,
        ),
        (
            "offsetof(struct milspec_events_request, reserved)",
            offset_of!(EventsRequest, reserved) as u64,
        ),
        (
            "sizeof(struct milspec_allowlist_request)",
            size_of::<AllowlistRequest>() as u64,
        ),
        (
            "offsetof(struct milspec_allowlist_request, names_ptr)",
            offset_of!(AllowlistRequest, names_ptr) as u64,
        ),
        (
            "sizeof(struct milspec_token)",
            size_of::<TokenEntry>() as u64,
        ),
        (
            "sizeof(struct milspec_tokens_request)",
            size_of::<TokensRequest>() as u64,
        ),
        (
            "offsetof(struct milspec_tokens_request, state)",
            offset_of!(TokensRequest, state) as u64,
        ),
        (
            "offsetof(struct milspec_tokens_request, reserved)",
            offset_of!(TokensRequest, reserved) as u64,
        ),
        (
            "sizeof(struct milspec_refusal)",
            size_of::<RefusalEntry>() as u64,
        ),
        (
            "offsetof(struct milspec_refusal, last_ns)",
            offset_of!(RefusalEntry, last_ns) as u64,
        ),
        (
            "sizeof(struct milspec_refusals_request)",
            size_of::<RefusalsRequest>() as u64,
        ),
        (
            "offsetof(struct milspec_refusals_request, total)",
            offset_of!(RefusalsRequest, total) as u64,
        ),
        (
            "offsetof(struct milspec_refusals_request, reserved)",
            offset_of!(RefusalsRequest, reserved) as u64,
        ),
    ];
    let dir = std::env::temp_dir().join(format!("milspec-abi-c-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("check.c");
    let mut c = String::from(
        "#include <stdio.h>\n#include <stddef.h>\n#include <linux/dell_milspec.h>\nint main(void) {\n",
    );
    for (expr, _) in &checks {
        c.push_str(&format!(
            "    printf(\"%llu\\n\", (unsigned long long)({expr}));\n"
        ));
    }
    c.push_str("    return 0;\n}\n");
    std::fs::write(&src, c).unwrap();
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
    for ((expr, want), line) in checks.iter().zip(got.lines()) {
        assert_eq!(line, want.to_string(), "{expr}");
    }
    assert_eq!(got.lines().count(), checks.len());
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
        kmod.contains(&format!("RELEASE_VERSION: &str = \"{version}\";")),
        "kmod/version.rs does not say {version}"
    );
    let dkms = std::fs::read_to_string(format!("{root}/dkms.conf")).unwrap();
    assert!(
        dkms.contains(&format!("PACKAGE_VERSION=\"{version}\"")),
        "dkms.conf does not say {version}"
    );
}

#[test]
fn level_ratchet() {
    use SecurityLevel::*;
    assert_eq!(decide_level(Standard, false, Standard), Ok(None));
    let up = decide_level(Standard, false, Paranoid).unwrap().unwrap();
    assert_eq!((up.from, up.to, up.locks), (Standard, Paranoid, true));
    let down = decide_level(Enhanced, false, Disabled).unwrap().unwrap();
    assert!(!down.locks);
    assert_eq!(
        decide_level(Paranoid, true, Standard),
        Err(AbiError::Locked)
    );
    assert_eq!(
        decide_level(ParanoidPlus, true, Paranoid),
        Err(AbiError::Locked)
    );
    let plus = decide_level(Paranoid, true, ParanoidPlus).unwrap().unwrap();
    assert!(!plus.locks, "already locked");
    for l in SecurityLevel::ALL {
        assert_eq!(SecurityLevel::parse(l.as_str()), Some(l));
        assert_eq!(SecurityLevel::parse(&(l as u32).to_string()), Some(l));
        assert_eq!(SecurityLevel::from_u32(l as u32), Some(l));
    }
    assert_eq!(SecurityLevel::parse("5"), None);
    assert_eq!(SecurityLevel::parse("max"), None);
}

#[test]
fn request_validation_of_every_command() {
    assert_eq!(Status::request().validate_request(), Ok(()));
    let mut st = Status::request();
    st.events_total = 1;
    assert_eq!(st.validate_request(), Err(AbiError::ReservedNotZero));

    assert_eq!(
        LevelRequest::new(SecurityLevel::Paranoid).validate(),
        Ok(SecurityLevel::Paranoid)
    );
    let mut lv = LevelRequest::new(SecurityLevel::Standard);
    lv.level = 5;
    assert_eq!(lv.validate(), Err(AbiError::OutOfRange));
    lv.level = 1;
    lv.reserved[7] = 1;
    assert_eq!(lv.validate(), Err(AbiError::ReservedNotZero));

    assert_eq!(EventsRequest::new(1, 0x1000, 16).validate(), Ok(()));
    let mut ev = EventsRequest::new(1, 0x1000, EVENTS_MAX_PER_CALL + 1);
    assert_eq!(ev.validate(), Err(AbiError::OutOfRange));
    ev.capacity = 1;
    ev.next_seq = 3;
    assert_eq!(ev.validate(), Err(AbiError::ReservedNotZero));

    assert_eq!(
        AllowlistRequest::new(0x1000, ALLOWLIST_MAX).validate(),
        Ok(())
    );
    assert_eq!(
        AllowlistRequest::new(0x1000, ALLOWLIST_MAX + 1).validate(),
        Err(AbiError::OutOfRange)
    );
    let mut tk = TokensRequest::new(0x1000, 4);
    assert_eq!(tk.validate(), Ok(()));
    tk.total = 1;
    assert_eq!(tk.validate(), Err(AbiError::ReservedNotZero));
    let mut bad = TokensRequest::new(0x1000, 4);
    bad.size = 31;
    assert_eq!(bad.validate(), Err(AbiError::BadSize));
}

#[test]
fn module_names() {
    let ok = fixed_str::<NAME_LEN>("milspec_probe-2");
    assert_eq!(validate_module_name(&ok), Ok(15));
    for bad in ["", "a b", "x/y", "é"] {
        assert!(validate_module_name(&fixed_str(bad)).is_err(), "{bad:?}");
    }
    let mut unterminated = [b'a'; NAME_LEN];
    assert!(validate_module_name(&unterminated).is_err());
    unterminated[3] = 0; // garbage after the NUL
    assert!(validate_module_name(&unterminated).is_err());
    assert!(module_names_equal(b"snd-hda", b"snd_hda"));
    assert!(!module_names_equal(b"snd", b"snd_hda"));
}

#[test]
fn every_ioctl_number_is_distinct_and_uses_our_magic() {
    let all = ALL_COMMANDS;
    for (i, a) in all.iter().enumerate() {
        assert_eq!((a >> 8) & 0xff, IOCTL_MAGIC);
        for b in &all[i + 1..] {
            assert_ne!(a, b);
        }
    }
    assert_eq!(Event::SIZE, EVENT_SIZE);
    assert_eq!(TokenEntry::SIZE, TOKEN_ENTRY_SIZE);
}
