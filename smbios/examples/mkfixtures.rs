//! Writes the binary SMBIOS structures the VM tests feed to QEMU with
//! `-smbios file=...` (tests/vm/fixtures/smbios/*.bin). A host test checks that the
//! committed files are exactly what this program produces.
//!
//! Usage: cargo run -p milspec-smbios --example mkfixtures -- OUTDIR

use milspec_smbios::{TYPE_CALLING_INTERFACE, TYPE_MISC_BIOS_FLAGS};

/// Tokens of the valid fixture; the VM test expects exactly these.
pub const GOOD_TOKENS: &[(u16, u16, u16)] = &[
    (0x0001, 0x0010, 0x0001),
    (0x0002, 0x0011, 0x0000),
    (0x4800, 0x0030, 0x0007),
    (0x8000, 0xFFFF, 0x0100),
    (0x8001, 0x0020, 0xABCD),
];

/// A 0xDA structure with `tokens`, an optional terminator, the declared `length`
/// (None: the real length), and the empty string set.
fn da(tokens: &[(u16, u16, u16)], terminator: bool, length: Option<u8>) -> Vec<u8> {
    let mut v = vec![TYPE_CALLING_INTERFACE, 0, 0x00, 0xDA];
    v.extend_from_slice(&0x00B2u16.to_le_bytes());
    v.push(0x42);
    v.extend_from_slice(&0x0000_000Fu32.to_le_bytes());
    for &(id, loc, val) in tokens {
        for x in [id, loc, val] {
            v.extend_from_slice(&x.to_le_bytes());
        }
    }
    if terminator {
        v.extend_from_slice(&[0xFF, 0xFF, 0, 0, 0, 0]);
    }
    v[1] = length.unwrap_or(v.len() as u8);
    v.extend_from_slice(&[0, 0]);
    v
}

/// Every fixture: file name and bytes.
pub fn fixtures() -> Vec<(&'static str, Vec<u8>)> {
    let mut truncated = da(GOOD_TOKENS, false, None);
    // cut the last token in half: the length says 2.5 tokens
    truncated[1] -= 3;
    let cut = truncated[1] as usize;
    truncated.truncate(cut);
    truncated.extend_from_slice(&[0, 0]);
    vec![
        ("da-good.bin", da(GOOD_TOKENS, true, None)),
        (
            "b1-wmi.bin",
            vec![TYPE_MISC_BIOS_FLAGS, 6, 0x00, 0xB1, 0x02, 0x00, 0, 0],
        ),
        ("da-short.bin", da(&[], false, Some(11))),
        ("da-truncated.bin", truncated),
        ("da-no-terminator.bin", da(GOOD_TOKENS, false, None)),
        ("da-huge-length.bin", da(&GOOD_TOKENS[..1], true, Some(255))),
    ]
}

fn main() -> std::io::Result<()> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "tests/vm/fixtures/smbios".into());
    std::fs::create_dir_all(&dir)?;
    for (name, bytes) in fixtures() {
        std::fs::write(format!("{dir}/{name}"), bytes)?;
    }
    Ok(())
}
