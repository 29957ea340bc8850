// SPDX-License-Identifier: GPL-2.0 OR MIT
//! The measured posture: the buffer the module hands to IMA
//! (`ima_measure_critical_data`) at load, on every level change and on every
//! allowlist change, and its parser for verifiers. Format in `docs/attestation.md`.
//!
//! One line of ASCII, fields in this order, separated by one space, no newline:
//!
//! ```text
//! milspec-posture/1 seq=3 reason=level module=0.1.0 abi=2 level=paranoid locked=yes allowlist=2:<64 hex>
//! ```
//!
//! The buffer is a pure function of its fields (no time, no randomness), so a
//! verifier can list the digests of every acceptable buffer (Keylime's `ima-buf`
//! policy). `seq` keeps A→B→A three entries: IMA skips an entry it has already
//! logged.

use super::level::SecurityLevel;
use super::names::module_names_equal;
use super::sha256::{Sha256, SHA256_LEN};
use super::structs::NAME_LEN;
use core::fmt::{self, Write};

/// IMA policy label (`measure func=CRITICAL_DATA label=milspec`).
pub const IMA_LABEL: &str = "milspec";
/// IMA event name of every posture entry (the `n-ng` field of the `ima-buf` entry).
pub const IMA_EVENT_NAME: &str = "milspec-posture";
/// [`IMA_LABEL`] for C (`abi/tests/posture.rs` checks they agree).
pub const IMA_LABEL_C: &core::ffi::CStr = c"milspec";
/// [`IMA_EVENT_NAME`] for C.
pub const IMA_EVENT_NAME_C: &core::ffi::CStr = c"milspec-posture";
/// First field of the buffer: format and its version.
pub const POSTURE_MAGIC: &str = "milspec-posture/1";
/// Upper bound of an encoded buffer (module version strings are short).
pub const POSTURE_MAX: usize = 256;

/// Why the module measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MeasureReason {
    /// The module was loaded (first entry of a load; `seq` may not restart at 0
    /// when an identical entry of an earlier load exists).
    Load,
    /// The security level changed.
    Level,
    /// The allowlist was replaced.
    Allowlist,
}

impl MeasureReason {
    /// Name in the buffer.
    pub const fn as_str(self) -> &'static str {
        match self {
            MeasureReason::Load => "load",
            MeasureReason::Level => "level",
            MeasureReason::Allowlist => "allowlist",
        }
    }

    /// Every reason.
    pub const ALL: [MeasureReason; 3] = [
        MeasureReason::Load,
        MeasureReason::Level,
        MeasureReason::Allowlist,
    ];

    fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|r| r.as_str() == s)
    }
}

/// The state one entry records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Posture<'a> {
    /// Measurement sequence number of this load (unique per entry within a boot).
    pub seq: u64,
    /// What triggered the measurement.
    pub reason: MeasureReason,
    /// Module version string.
    pub module_version: &'a str,
    /// ABI version of the module.
    pub abi: u32,
    /// Security level after the change.
    pub level: SecurityLevel,
    /// Whether the level is locked.
    pub locked: bool,
    /// Number of distinct allowlist entries.
    pub allowlist_entries: u32,
    /// [`allowlist_digest`] of the allowlist.
    pub allowlist_sha256: [u8; SHA256_LEN],
}

/// Why a buffer is not a posture entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PostureError {
    /// The first field is not [`POSTURE_MAGIC`].
    Magic,
    /// A field is missing, out of order or malformed (its key).
    Field(&'static str),
    /// Bytes after the last field, or not ASCII.
    Trailing,
}

impl fmt::Display for PostureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PostureError::Magic => write!(f, "not a {POSTURE_MAGIC} buffer"),
            PostureError::Field(k) => write!(f, "field {k} missing or malformed"),
            PostureError::Trailing => write!(f, "unexpected bytes after the last field"),
        }
    }
}

impl Posture<'_> {
    /// Writes the canonical buffer.
    pub fn encode(&self, w: &mut impl Write) -> fmt::Result {
        write!(
            w,
            "{} seq={} reason={} module={} abi={} level={} locked={} allowlist={}:",
            POSTURE_MAGIC,
            self.seq,
            self.reason.as_str(),
            self.module_version,
            self.abi,
            self.level.as_str(),
            if self.locked { "yes" } else { "no" },
            self.allowlist_entries
        )?;
        // Hex by table: one `write_str` instead of 32 formatted writes (the module
        // encodes on every change, under its lock).
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut hex = [0u8; 2 * SHA256_LEN];
        let mut i = 0;
        while i < SHA256_LEN {
            let b = self.allowlist_sha256[i];
            hex[2 * i] = HEX[usize::from(b >> 4)];
            hex[2 * i + 1] = HEX[usize::from(b & 15)];
            i += 1;
        }
        w.write_str(core::str::from_utf8(&hex).map_err(|_| fmt::Error)?)
    }
}

impl<'a> Posture<'a> {
    /// Parses a canonical buffer; anything else (another order, extra spaces, a
    /// trailing newline) is refused, so one posture has exactly one encoding.
    pub fn parse(buf: &'a [u8]) -> Result<Self, PostureError> {
        let s = core::str::from_utf8(buf).map_err(|_| PostureError::Trailing)?;
        let mut it = s.split(' ');
        if it.next() != Some(POSTURE_MAGIC) {
            return Err(PostureError::Magic);
        }
        let mut field = |key: &'static str| {
            it.next()
                .and_then(|f| f.strip_prefix(key))
                .and_then(|f| f.strip_prefix('='))
                .ok_or(PostureError::Field(key))
        };
        let bad = PostureError::Field;
        let seq = parse_dec(field("seq")?).ok_or(bad("seq"))?;
        let reason = MeasureReason::parse(field("reason")?).ok_or(bad("reason"))?;
        let module_version = field("module")?;
        if module_version.is_empty() || !module_version.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(bad("module"));
        }
        let abi = parse_dec(field("abi")?)
            .and_then(|v| u32::try_from(v).ok())
            .ok_or(bad("abi"))?;
        let level_s = field("level")?;
        let level = SecurityLevel::ALL
            .iter()
            .copied()
            .find(|l| l.as_str() == level_s)
            .ok_or(bad("level"))?;
        let locked = match field("locked")? {
            "yes" => true,
            "no" => false,
            _ => return Err(bad("locked")),
        };
        let (n, hex) = field("allowlist")?
            .split_once(':')
            .ok_or(bad("allowlist"))?;
        let allowlist_entries = parse_dec(n)
            .and_then(|v| u32::try_from(v).ok())
            .ok_or(bad("allowlist"))?;
        let allowlist_sha256 = parse_hex32(hex).ok_or(bad("allowlist"))?;
        if it.next().is_some() {
            return Err(PostureError::Trailing);
        }
        Ok(Posture {
            seq,
            reason,
            module_version,
            abi,
            level,
            locked,
            allowlist_entries,
            allowlist_sha256,
        })
    }
}

/// Decimal without sign or leading zeros (one encoding per value).
fn parse_dec(s: &str) -> Option<u64> {
    if s.is_empty() || (s.len() > 1 && s.starts_with('0')) || !s.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    s.parse().ok()
}

/// Exactly 64 lower-case hex digits.
fn parse_hex32(s: &str) -> Option<[u8; SHA256_LEN]> {
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    if s.len() != 2 * SHA256_LEN {
        return None;
    }
    let bytes = s.as_bytes();
    let mut out = [0u8; SHA256_LEN];
    let mut i = 0;
    while i < SHA256_LEN {
        let hi = nibble(*bytes.get(2 * i)?)?;
        let lo = nibble(*bytes.get(2 * i + 1)?)?;
        out[i] = (hi << 4) | lo;
        i += 1;
    }
    Some(out)
}

/// A fixed buffer the module encodes into without allocating.
pub struct PostureBuf {
    buf: [u8; POSTURE_MAX],
    len: usize,
}

impl Default for PostureBuf {
    fn default() -> Self {
        Self::new()
    }
}

impl PostureBuf {
    /// An empty buffer.
    pub const fn new() -> Self {
        PostureBuf {
            buf: [0; POSTURE_MAX],
            len: 0,
        }
    }

    /// The bytes written so far.
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }
}

impl Write for PostureBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(fmt::Error)?;
        let dst = self.buf.get_mut(self.len..end).ok_or(fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Normalises allowlist `names` in place (`-` → `_`, as the kernel compares module
/// names), sorts them, and returns how many distinct names there are and the
/// SHA-256 of those names each followed by `\n`, in order. The set, not the order
/// it was given in, decides the digest. An empty list digests the empty string.
pub fn allowlist_digest(names: &mut [[u8; NAME_LEN]]) -> (u32, [u8; SHA256_LEN]) {
    for name in names.iter_mut() {
        for b in name.iter_mut() {
            if *b == b'-' {
                *b = b'_';
            }
        }
    }
    // Insertion sort (at most `ALLOWLIST_MAX` names): `sort_unstable`'s no-return
    // paths upset the kernel's objtool in debug-assertion builds.
    let mut i = 1;
    while i < names.len() {
        let mut j = i;
        while j > 0 && names[j - 1] > names[j] {
            names.swap(j - 1, j);
            j -= 1;
        }
        i += 1;
    }
    let mut h = Sha256::new();
    let mut count = 0u32;
    let mut prev: Option<&[u8]> = None;
    for raw in names.iter() {
        let len = raw.iter().position(|&b| b == 0).unwrap_or(NAME_LEN);
        let name = raw.get(..len).unwrap_or(&[]);
        if prev.is_some_and(|p| module_names_equal(p, name)) {
            continue;
        }
        h.update(name);
        h.update(b"\n");
        count += 1;
        prev = Some(name);
    }
    (count, h.finish())
}
