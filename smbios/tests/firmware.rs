//! The parser on real firmware: the type 218 (0xDA) and 177 (0xB1) structures of 15
//! real Dell machines in `../shared/fixtures/dell-smbios/` (beside the clone; see
//! its `INDEX.md`). The expected figures come from each machine's `<slug>.txt`,
//! written by an independent decoder, and are read from it here.
//!
//! Split rule: a `.da.bin`/`.b1.bin` holds whole structures back to back. Each one
//! is its formatted area (`length` bytes from the header, length = byte 1) followed
//! by its string set, which ends at the first `00 00` at or after the end of the
//! formatted area. That is what `dmi_walk` hands the module, one structure at a time.

use milspec_smbios::*;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/dell-smbios");
    assert!(
        dir.join("INDEX.md").is_file(),
        "real firmware fixtures missing: expected {} (the shared fixtures checkout, \
         `../shared` beside the repository clone)",
        dir.display()
    );
    dir
}

/// Splits back-to-back SMBIOS structures (rule in the file comment).
fn split(bytes: &[u8]) -> Vec<(usize, &[u8])> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let len = usize::from(*bytes.get(at + 1).expect("structure header cut short"));
        let mut end = at + len;
        while bytes.get(end..end + 2) != Some(&[0, 0][..]) {
            assert!(
                end + 2 <= bytes.len(),
                "string set without 00 00 at offset {at}"
            );
            end += 1;
        }
        out.push((at, &bytes[at..end + 2]));
        at = end + 2;
    }
    out
}

/// What a `<slug>.txt` says about one 0xDA structure.
#[derive(Debug)]
struct Expect {
    offset: usize,
    length: usize,
    /// `Ok(tokens)` or the `TableError` variant name the decoder predicts.
    verdict: Result<usize, String>,
}

/// What a `<slug>.txt` says about a machine.
struct Machine {
    slug: String,
    product: String,
    da: Vec<Expect>,
    /// 0xB1 `flags0`, `None` when the dump has no 0xB1.
    b1_flags0: Option<u16>,
}

fn after<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.find(key).map(|i| &line[i + key.len()..])
}

fn num(s: &str) -> usize {
    let digits: String = s.chars().take_while(char::is_ascii_digit).collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("no number in {s:?}"))
}

fn hex16(s: &str) -> u16 {
    let s = s.trim_start().trim_start_matches("0x");
    u16::from_str_radix(&s[..4], 16).unwrap_or_else(|_| panic!("no hex in {s:?}"))
}

fn load(slug: &str) -> Machine {
    let txt = std::fs::read_to_string(fixtures().join(format!("{slug}.txt"))).unwrap();
    let mut m = Machine {
        slug: slug.to_string(),
        product: String::new(),
        da: Vec::new(),
        b1_flags0: None,
    };
    for line in txt.lines() {
        let t = line.trim_start();
        if let Some(rest) = after(t, "System:  manufacturer 'Dell Inc.', product '") {
            m.product = rest[..rest.find('\'').unwrap()].to_string();
        } else if t.starts_with('[') && t.contains(" at .da.bin offset ") {
            m.da.push(Expect {
                offset: num(after(t, " at .da.bin offset ").unwrap()),
                length: num(after(t, ": length ").unwrap()),
                verdict: Err("no verdict line".into()),
            });
        } else if let Some(rest) = after(t, "dell.rs rules (predicted, not run): ") {
            let e = m.da.last_mut().expect("verdict before its structure");
            e.verdict = match after(rest, "ok (") {
                Some(n) => Ok(num(n)),
                None => Err(rest[..rest.find(';').unwrap()].to_string()),
            };
        } else if let Some(rest) = after(t, "Type 177 (0xB1): ") {
            m.b1_flags0 = after(rest, "flags0 ").map(hex16);
        }
    }
    assert!(
        !m.product.is_empty() && !m.da.is_empty(),
        "{slug}.txt not understood"
    );
    m
}

fn slugs() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(fixtures())
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.strip_suffix(".da.bin").map(str::to_string)
        })
        .collect();
    v.sort();
    v
}

fn variant_name(e: TableError) -> &'static str {
    match e {
        TableError::NoHeader => "NoHeader",
        TableError::WrongType(_) => "WrongType",
        TableError::TooShort { .. } => "TooShort",
        TableError::LengthBeyondData { .. } => "LengthBeyondData",
        TableError::TruncatedToken => "TruncatedToken",
        TableError::MissingTerminator => "MissingTerminator",
    }
}

#[test]
fn all_fifteen_machines_are_there() {
    assert_eq!(slugs().len(), 15, "INDEX.md lists 15 machines");
}

#[test]
fn token_counts_per_structure_match_the_independent_decoder() {
    for slug in slugs() {
        let m = load(&slug);
        let bytes = std::fs::read(fixtures().join(format!("{slug}.da.bin"))).unwrap();
        let parts = split(&bytes);
        assert_eq!(parts.len(), m.da.len(), "{slug}: number of 0xDA structures");
        let mut report = TableReport::new();
        for (i, ((offset, s), want)) in parts.iter().zip(&m.da).enumerate() {
            let n = i + 1;
            assert_eq!(*offset, want.offset, "{slug} #{n}: offset");
            assert_eq!(usize::from(s[1]), want.length, "{slug} #{n}: length");
            let got = parse_calling_interface(s)
                .map(|ci| ci.token_count())
                .map_err(|e| variant_name(e).to_string());
            assert_eq!(got, want.verdict, "{slug} #{n}: parser vs {slug}.txt");
            let fed = report.feed(s).map(|ci| ci.token_count());
            assert_eq!(
                fed,
                got.ok(),
                "{slug} #{n}: TableReport keeps what the parser accepts"
            );
        }
        let bad: Vec<u32> = report.rejected().map(|r| r.index).collect();
        let want_bad: Vec<u32> = (1..=m.da.len() as u32)
            .filter(|&n| m.da[n as usize - 1].verdict.is_err())
            .collect();
        assert_eq!(bad, want_bad, "{slug}: rejected structures");
        assert_eq!(report.structures() as usize, m.da.len());
        let want_state = if want_bad.len() == m.da.len() {
            TableState::Invalid
        } else {
            TableState::Present
        };
        assert_eq!(report.state(), want_state, "{slug}: table state");
    }
}

#[test]
fn misc_flags_match_the_independent_decoder() {
    for slug in slugs() {
        let m = load(&slug);
        let path = fixtures().join(format!("{slug}.b1.bin"));
        let got = match std::fs::read(&path) {
            Ok(bytes) => {
                let parts = split(&bytes);
                assert_eq!(parts.len(), 1, "{slug}: one 0xB1 structure");
                let f = parse_misc_bios_flags(parts[0].1).unwrap();
                assert_eq!(f.acpi_wmi(), f.flags0 & 2 != 0);
                Some(f.flags0)
            }
            Err(_) => None,
        };
        assert_eq!(got, m.b1_flags0, "{slug}: 0xB1 flags0");
    }
}

/// Totals from `INDEX.md`'s table for the machines the module supports (tokens
/// before the terminators, summed; all structures valid), as a cross-check of the
/// per-structure reading above.
#[test]
fn supported_latitudes_have_their_index_totals() {
    let totals = [
        ("latitude-5420-rugged", "Latitude 5420 Rugged", 10, 333),
        ("latitude-5430-rugged", "Latitude 5430 Rugged", 10, 341),
        ("latitude-5440", "Latitude 5440", 8, 267),
        ("latitude-5450", "Latitude 5450", 8, 261),
        ("latitude-5550", "Latitude 5550", 8, 261),
        (
            "latitude-7330-rugged-extreme",
            "Latitude 7330 Rugged Extreme",
            10,
            338,
        ),
        ("latitude-7450", "Latitude 7450", 8, 257),
    ];
    for (slug, product, structures, tokens) in totals {
        let m = load(slug);
        assert_eq!(m.slug, slug);
        assert_eq!(m.product, product, "{slug}: DMI product");
        let bytes = std::fs::read(fixtures().join(format!("{slug}.da.bin"))).unwrap();
        let mut report = TableReport::new();
        let sum: usize = split(&bytes)
            .iter()
            .filter_map(|(_, s)| report.feed(s))
            .map(|ci| ci.token_count())
            .sum();
        assert_eq!(
            (report.structures(), report.rejected_count()),
            (structures, 0)
        );
        assert_eq!(sum, tokens, "{slug}: tokens");
    }
}
