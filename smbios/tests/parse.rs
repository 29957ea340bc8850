//! Unit tests of the Dell SMBIOS parsers and a fixed-iteration fuzz smoke test.
//! Longer fuzzing: `MILSPEC_FUZZ_ITERS=100000000 cargo test -p milspec-smbios --release fuzz`.

use milspec_smbios::*;

/// Builds a 0xDA structure's formatted area (+ the empty string set).
fn da(tokens: &[(u16, u16, u16)], terminator: bool) -> Vec<u8> {
    let mut v = vec![TYPE_CALLING_INTERFACE, 0, 0x00, 0xDA];
    v.extend_from_slice(&0xB2u16.to_le_bytes()); // cmdIOAddress
    v.push(0x42); // cmdIOCode
    v.extend_from_slice(&0x0000_00FFu32.to_le_bytes()); // supportedCmds
    for &(id, loc, val) in tokens {
        for x in [id, loc, val] {
            v.extend_from_slice(&x.to_le_bytes());
        }
    }
    if terminator {
        v.extend_from_slice(&[0xFF, 0xFF, 0, 0, 0, 0]);
    }
    v[1] = v.len() as u8;
    v.extend_from_slice(&[0, 0]);
    v
}

#[test]
fn parses_a_good_table() {
    let t = [(0x0001, 0x10, 1), (0x8000, 0x20, 0), (0x4800, 0xFFFF, 7)];
    let raw = da(&t, true);
    let ci = parse_calling_interface(&raw).unwrap();
    assert_eq!(ci.handle, 0xDA00);
    assert_eq!(ci.cmd_io_address, 0xB2);
    assert_eq!(ci.cmd_io_code, 0x42);
    assert_eq!(ci.supported_cmds, 0xFF);
    assert_eq!(ci.token_count(), 3);
    let got: Vec<_> = ci.tokens().map(|t| (t.id, t.location, t.value)).collect();
    assert_eq!(got, t);
}

#[test]
fn empty_table_with_only_a_terminator_is_valid() {
    let raw = da(&[], true);
    assert_eq!(raw[1] as usize, CALLING_INTERFACE_MIN_LEN);
    assert_eq!(parse_calling_interface(&raw).unwrap().token_count(), 0);
}

#[test]
fn entries_after_the_terminator_are_ignored() {
    let mut raw = da(&[(1, 2, 3)], true);
    raw.truncate(raw.len() - 2);
    raw.extend_from_slice(&[9, 9, 9, 9, 9, 9]);
    raw[1] = raw.len() as u8;
    assert_eq!(parse_calling_interface(&raw).unwrap().token_count(), 1);
}

#[test]
fn rejects_each_malformation() {
    assert_eq!(parse_calling_interface(&[]), Err(TableError::NoHeader));
    assert_eq!(
        parse_calling_interface(&[0xDA, 4, 0]),
        Err(TableError::NoHeader)
    );
    let mut wrong = da(&[], true);
    wrong[0] = 0xD4;
    assert_eq!(
        parse_calling_interface(&wrong),
        Err(TableError::WrongType(0xD4))
    );
    // short: header says 11 (no room for a terminator)
    let mut short = da(&[], true);
    short[1] = 11;
    assert_eq!(
        parse_calling_interface(&short),
        Err(TableError::TooShort { length: 11 })
    );
    // truncated token list: 2.5 entries, no terminator
    let mut trunc = da(&[(1, 1, 1), (2, 2, 2), (3, 3, 3)], false);
    trunc[1] -= 3;
    assert_eq!(
        parse_calling_interface(&trunc),
        Err(TableError::TruncatedToken)
    );
    // whole entries, no terminator
    let noterm = da(&[(1, 1, 1), (2, 2, 2)], false);
    assert_eq!(
        parse_calling_interface(&noterm),
        Err(TableError::MissingTerminator)
    );
    // huge length: claims 255 bytes, 25 present
    let mut huge = da(&[(1, 1, 1)], true);
    huge[1] = 255;
    let n = huge.len();
    assert_eq!(
        parse_calling_interface(&huge),
        Err(TableError::LengthBeyondData {
            length: 255,
            available: n
        })
    );
}

#[test]
fn max_tokens_fit_in_a_u8_length() {
    let tokens: Vec<_> = (0..MAX_TOKENS as u16 - 1).map(|i| (i, i, i)).collect();
    let raw = da(&tokens, true);
    assert!(raw[1] as usize <= 255);
    assert_eq!(
        parse_calling_interface(&raw).unwrap().token_count(),
        MAX_TOKENS - 1
    );
}

#[test]
fn misc_bios_flags() {
    let raw = [TYPE_MISC_BIOS_FLAGS, 6, 0x00, 0xB1, 0x02, 0x00, 0, 0];
    let f = parse_misc_bios_flags(&raw).unwrap();
    assert_eq!(f.handle, 0xB100);
    assert!(f.acpi_wmi());
    let off = [TYPE_MISC_BIOS_FLAGS, 6, 0, 0, 0x01, 0x00];
    assert!(!parse_misc_bios_flags(&off).unwrap().acpi_wmi());
    assert_eq!(
        parse_misc_bios_flags(&[TYPE_MISC_BIOS_FLAGS, 5, 0, 0, 2]),
        Err(TableError::TooShort { length: 5 })
    );
    assert_eq!(
        parse_misc_bios_flags(&[TYPE_MISC_BIOS_FLAGS, 6, 0, 0, 2]),
        Err(TableError::LengthBeyondData {
            length: 6,
            available: 5
        })
    );
}

/// Invariants that must hold for any input: no panic; a success describes a
/// structure inside the input, with fewer than MAX_TOKENS tokens, none of them the
/// terminator.
fn check_invariants(data: &[u8]) {
    match parse_calling_interface(data) {
        Ok(ci) => {
            let len = usize::from(data[1]);
            assert!(len <= data.len() && len >= CALLING_INTERFACE_MIN_LEN);
            assert!(ci.token_count() < MAX_TOKENS);
            assert!(ci.tokens().all(|t| t.id != TOKEN_TERMINATOR));
            assert_eq!(ci.tokens().count(), ci.token_count());
            assert!(CALLING_INTERFACE_FIXED_LEN + (ci.token_count() + 1) * TOKEN_LEN <= len);
        }
        Err(e) => assert!(!e.as_str().is_empty()),
    }
    let _ = parse_misc_bios_flags(data);
}

/// Fixed-iteration fuzz smoke: random bytes and mutations of valid tables.
#[test]
fn fuzz_smoke() {
    let iters: u64 = std::env::var("MILSPEC_FUZZ_ITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200_000);
    let mut rng = fastrand::Rng::with_seed(0x5EED_DA7A);
    let seeds = [
        da(&[], true),
        da(&[(1, 2, 3), (0x8000, 0, 1)], true),
        da(&[(5, 5, 5)], false),
    ];
    let mut buf = Vec::with_capacity(300);
    // One report fed every input, as the module feeds it a whole table.
    let mut report = TableReport::new();
    let mut fed_da = 0u32;
    for i in 0..iters {
        buf.clear();
        if i % 2 == 0 {
            let n = rng.usize(0..300);
            buf.extend((0..n).map(|_| rng.u8(..)));
            if n > 0 && rng.bool() {
                buf[0] = if rng.bool() {
                    TYPE_CALLING_INTERFACE
                } else {
                    TYPE_MISC_BIOS_FLAGS
                };
            }
        } else {
            buf.extend_from_slice(&seeds[rng.usize(..seeds.len())]);
            for _ in 0..rng.usize(1..4) {
                let pos = rng.usize(..buf.len());
                match rng.u8(..3) {
                    0 => buf[pos] = rng.u8(..),
                    1 => buf.truncate(pos),
                    _ => buf.insert(pos, rng.u8(..)),
                }
                if buf.is_empty() {
                    break;
                }
            }
        }
        check_invariants(&buf);
        fed_da += u32::from(buf.first() == Some(&TYPE_CALLING_INTERFACE));
        let accepted = report.feed(&buf).is_some();
        assert_eq!(
            accepted,
            buf.first() == Some(&TYPE_CALLING_INTERFACE) && parse_calling_interface(&buf).is_ok()
        );
    }
    assert_eq!(report.structures(), fed_da);
    assert_eq!(report.accepted() + report.rejected_count(), fed_da);
    assert!(report.rejected().count() <= MAX_REJECTED);
    println!("fuzz_smoke: {iters} inputs, no panic, invariants held");
}

/// The committed VM fixtures are exactly what `examples/mkfixtures.rs` writes.
#[test]
fn committed_vm_fixtures_are_up_to_date() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let dir = std::env::temp_dir().join(format!("milspec-fixtures-{}", std::process::id()));
    let status = std::process::Command::new(env!("CARGO"))
        .args([
            "run",
            "-q",
            "-p",
            "milspec-smbios",
            "--example",
            "mkfixtures",
            "--",
        ])
        .arg(&dir)
        .current_dir(root)
        .status()
        .unwrap();
    assert!(status.success());
    let committed = format!("{root}/tests/vm/fixtures/smbios");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    assert!(!names.is_empty());
    for name in names {
        let want = std::fs::read(dir.join(&name)).unwrap();
        let have = std::fs::read(std::path::Path::new(&committed).join(&name))
            .unwrap_or_else(|e| panic!("{name:?} not committed: {e}"));
        assert_eq!(have, want, "{name:?} differs; rerun the mkfixtures example");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The valid fixture parses to exactly the tokens the VM test expects.
#[test]
fn good_fixture_parses() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let raw = std::fs::read(format!("{root}/tests/vm/fixtures/smbios/da-good.bin")).unwrap();
    let ci = parse_calling_interface(&raw).unwrap();
    assert_eq!(ci.token_count(), 5);
    for bad in [
        "da-short",
        "da-truncated",
        "da-no-terminator",
        "da-huge-length",
    ] {
        let raw = std::fs::read(format!("{root}/tests/vm/fixtures/smbios/{bad}.bin")).unwrap();
        assert!(parse_calling_interface(&raw).is_err(), "{bad} parsed");
    }
}

/// A 0xB1 structure with `flags0` = 0x0002.
fn b1() -> Vec<u8> {
    vec![
        TYPE_MISC_BIOS_FLAGS,
        12,
        0x00,
        0xB1,
        2,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
    ]
}

#[test]
fn table_report_keeps_the_valid_structures_and_names_the_bad_one() {
    let good1 = da(&[(1, 1, 1), (2, 2, 2)], true);
    let mut bad = da(&[(3, 3, 3)], false);
    bad[2] = 0x05; // handle 0xDA05
    let good2 = da(&[(4, 4, 4)], true);
    let mut r = TableReport::new();
    let mut kept = Vec::new();
    for s in [&good1, &b1(), &bad, &good2] {
        if let Some(ci) = r.feed(s) {
            kept.extend(ci.tokens().map(|t| t.id));
        }
    }
    assert_eq!(kept, [1, 2, 4]);
    assert_eq!(r.state(), TableState::Present);
    assert_eq!(
        (r.structures(), r.accepted(), r.rejected_count()),
        (3, 2, 1)
    );
    let rej: Vec<_> = r.rejected().copied().collect();
    assert_eq!(
        rej,
        [Rejected {
            index: 2,
            handle: Some(0xDA05),
            error: TableError::MissingTerminator
        }]
    );
}

#[test]
fn table_report_is_invalid_only_when_every_structure_is_bad() {
    let mut r = TableReport::new();
    assert_eq!(r.state(), TableState::Absent);
    assert!(r.feed(&b1()).is_none());
    assert_eq!((r.state(), r.structures()), (TableState::Absent, 0));
    assert!(r.feed(&da(&[(1, 1, 1)], false)).is_none());
    assert!(r.feed(&[TYPE_CALLING_INTERFACE, 11, 0]).is_none());
    assert_eq!(r.state(), TableState::Invalid);
    let why: Vec<_> = r.rejected().map(|x| (x.index, x.handle, x.error)).collect();
    assert_eq!(
        why,
        [
            (1, Some(0xDA00), TableError::MissingTerminator),
            (2, None, TableError::NoHeader)
        ]
    );
}

#[test]
fn table_report_counts_rejections_beyond_the_ones_it_keeps() {
    let mut r = TableReport::new();
    let bad = da(&[(1, 1, 1)], false);
    for _ in 0..MAX_REJECTED + 3 {
        r.feed(&bad);
    }
    r.feed(&da(&[], true));
    assert_eq!(r.rejected_count() as usize, MAX_REJECTED + 3);
    assert_eq!(r.rejected().count(), MAX_REJECTED);
    assert_eq!(
        r.rejected().last().map(|x| x.index),
        Some(MAX_REJECTED as u32)
    );
    assert_eq!((r.state(), r.accepted()), (TableState::Present, 1));
}
