// SPDX-License-Identifier: GPL-2.0 OR MIT
//! Parsers for Dell's OEM SMBIOS structures.
//!
//! Compiled twice: as the `milspec-smbios` crate and as a module of the kernel
//! crate. Plain `core` only: no crate attributes, no `unsafe`, no indexing that can
//! panic (slice patterns, `get` and `chunks_exact` instead).
//!
//! Input is one structure's formatted area as the kernel's `dmi_walk` hands it over:
//! `header.length` bytes starting at the 4-byte header (type, length, handle).
//! `dmi_walk` has already checked that those bytes lie inside the SMBIOS table;
//! the parser still checks `length` against the slice it is given.

/// SMBIOS structure header length (type, length, handle).
pub const HEADER_LEN: usize = 4;
/// Dell "calling interface" structure, which carries the token table.
pub const TYPE_CALLING_INTERFACE: u8 = 0xDA;
/// Dell "misc BIOS flags" structure (`flags0` bit 1: ACPI-WMI interface present).
pub const TYPE_MISC_BIOS_FLAGS: u8 = 0xB1;

/// Header + cmdIOAddress (u16) + cmdIOCode (u8) + supportedCmds (u32).
pub const CALLING_INTERFACE_FIXED_LEN: usize = 11;
/// One token entry: id, location, value (u16 each, little endian).
pub const TOKEN_LEN: usize = 6;
/// Token id that ends the table.
pub const TOKEN_TERMINATOR: u16 = 0xFFFF;
/// Smallest valid 0xDA structure: the fixed part and a terminator.
pub const CALLING_INTERFACE_MIN_LEN: usize = CALLING_INTERFACE_FIXED_LEN + TOKEN_LEN;
/// The length byte is a u8, so a structure holds at most this many tokens.
pub const MAX_TOKENS: usize = (255 - CALLING_INTERFACE_FIXED_LEN) / TOKEN_LEN;
/// `flags0` bit that says the ACPI-WMI interface is present.
pub const MISC_FLAG_ACPI_WMI: u16 = 0x02;

/// Why a structure was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableError {
    /// Fewer than 4 bytes: not even a header.
    NoHeader,
    /// The structure is not of the type asked for.
    WrongType(u8),
    /// `header.length` is below the structure's minimum.
    TooShort {
        /// The header's length byte.
        length: usize,
    },
    /// `header.length` claims more bytes than there are.
    LengthBeyondData {
        /// The header's length byte.
        length: usize,
        /// Bytes actually available.
        available: usize,
    },
    /// No terminator token, and the last entry is cut short.
    TruncatedToken,
    /// The token list ends without the 0xFFFF terminator.
    MissingTerminator,
}

impl TableError {
    /// A short, stable description (status files, logs).
    pub const fn as_str(&self) -> &'static str {
        match self {
            TableError::NoHeader => "no header",
            TableError::WrongType(_) => "wrong structure type",
            TableError::TooShort { .. } => "structure too short",
            TableError::LengthBeyondData { .. } => "length beyond data",
            TableError::TruncatedToken => "truncated token entry",
            TableError::MissingTerminator => "missing terminator",
        }
    }
}

/// One token of the 0xDA table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token {
    /// Token id.
    pub id: u16,
    /// Location (CMOS offset or similar, meaning defined by the BIOS).
    pub location: u16,
    /// Value, or the string length for string tokens.
    pub value: u16,
}

/// A parsed 0xDA calling-interface structure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallingInterface<'a> {
    /// SMBIOS handle of the structure.
    pub handle: u16,
    /// I/O port of the SMI command interface.
    pub cmd_io_address: u16,
    /// Value written to that port.
    pub cmd_io_code: u8,
    /// Bitmap of supported command classes.
    pub supported_cmds: u32,
    /// The token entries before the terminator: a whole number of entries.
    entries: &'a [u8],
}

impl<'a> CallingInterface<'a> {
    /// Number of tokens before the terminator.
    pub fn token_count(&self) -> usize {
        self.entries.len() / TOKEN_LEN
    }

    /// The tokens before the terminator, in table order.
    pub fn tokens(&self) -> impl Iterator<Item = Token> + 'a {
        self.entries.chunks_exact(TOKEN_LEN).filter_map(token_from)
    }
}

fn le16(lo: u8, hi: u8) -> u16 {
    u16::from_le_bytes([lo, hi])
}

fn token_from(chunk: &[u8]) -> Option<Token> {
    match *chunk {
        [a, b, c, d, e, f] => Some(Token {
            id: le16(a, b),
            location: le16(c, d),
            value: le16(e, f),
        }),
        _ => None,
    }
}

/// Checks the header of `data` and returns `(formatted area, handle)`.
fn structure(data: &[u8], ty: u8, min_len: usize) -> Result<(&[u8], u16), TableError> {
    let [t, len, h0, h1, ..] = *data else {
        return Err(TableError::NoHeader);
    };
    if t != ty {
        return Err(TableError::WrongType(t));
    }
    let length = usize::from(len);
    if length < min_len {
        return Err(TableError::TooShort { length });
    }
    let area = data.get(..length).ok_or(TableError::LengthBeyondData {
        length,
        available: data.len(),
    })?;
    Ok((area, le16(h0, h1)))
}

/// Parses a 0xDA structure. `data` starts at its header and holds at least the
/// formatted area (more bytes, e.g. the string area, are ignored).
pub fn parse_calling_interface(data: &[u8]) -> Result<CallingInterface<'_>, TableError> {
    let (area, handle) = structure(data, TYPE_CALLING_INTERFACE, CALLING_INTERFACE_MIN_LEN)?;
    let [_, _, _, _, a0, a1, code, s0, s1, s2, s3, ref token_area @ ..] = *area else {
        return Err(TableError::TooShort { length: area.len() });
    };
    let mut entries_len = None;
    for (i, chunk) in token_area.chunks_exact(TOKEN_LEN).enumerate() {
        if let [lo, hi, ..] = *chunk {
            if le16(lo, hi) == TOKEN_TERMINATOR {
                entries_len = Some(i * TOKEN_LEN);
                break;
            }
        }
    }
    let Some(entries_len) = entries_len else {
        return Err(if token_area.len() % TOKEN_LEN != 0 {
            TableError::TruncatedToken
        } else {
            TableError::MissingTerminator
        });
    };
    Ok(CallingInterface {
        handle,
        cmd_io_address: le16(a0, a1),
        cmd_io_code: code,
        supported_cmds: u32::from_le_bytes([s0, s1, s2, s3]),
        entries: token_area.get(..entries_len).unwrap_or(&[]),
    })
}

/// A parsed 0xB1 structure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MiscBiosFlags {
    /// SMBIOS handle of the structure.
    pub handle: u16,
    /// The `flags0` word.
    pub flags0: u16,
}

impl MiscBiosFlags {
    /// Whether the BIOS says the ACPI-WMI interface is present.
    pub fn acpi_wmi(&self) -> bool {
        self.flags0 & MISC_FLAG_ACPI_WMI != 0
    }
}

/// Parses a 0xB1 structure (header + `flags0`).
pub fn parse_misc_bios_flags(data: &[u8]) -> Result<MiscBiosFlags, TableError> {
    let (area, handle) = structure(data, TYPE_MISC_BIOS_FLAGS, HEADER_LEN + 2)?;
    let [_, _, _, _, f0, f1, ..] = *area else {
        return Err(TableError::TooShort { length: area.len() });
    };
    Ok(MiscBiosFlags {
        handle,
        flags0: le16(f0, f1),
    })
}

/// How many rejected 0xDA structures a [`TableReport`] remembers one by one (more
/// are only counted).
pub const MAX_REJECTED: usize = 8;

/// One 0xDA structure that [`TableReport::feed`] rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rejected {
    /// Position among the table's 0xDA structures, in table order, from 1.
    pub index: u32,
    /// The structure's handle, when its header was complete.
    pub handle: Option<u16>,
    /// Why it was rejected.
    pub error: TableError,
}

/// What a table's 0xDA structures amount to, as a whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableState {
    /// No 0xDA structure at all.
    Absent,
    /// At least one 0xDA structure was accepted.
    Present,
    /// There are 0xDA structures, and every one of them was rejected.
    Invalid,
}

/// The policy for a table of several 0xDA structures (real Latitudes carry 8 to
/// 10): each structure is judged on its own. A malformed one is rejected whole
/// (none of its entries is used: its length or terminator is wrong, so which of its
/// entries are tokens is a guess) and remembered with its position and reason; the
/// valid ones are kept. See `docs/platforms.md` for the reasons.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TableReport {
    structures: u32,
    accepted: u32,
    rejected_count: u32,
    rejected: [Option<Rejected>; MAX_REJECTED],
}

impl Default for TableReport {
    fn default() -> Self {
        Self::new()
    }
}

impl TableReport {
    /// A report of a table without any structure yet.
    pub const fn new() -> Self {
        TableReport {
            structures: 0,
            accepted: 0,
            rejected_count: 0,
            rejected: [None; MAX_REJECTED],
        }
    }

    /// Feeds one SMBIOS structure of any type, in table order (`data` as for
    /// [`parse_calling_interface`]). Returns the structure when it is an accepted
    /// 0xDA structure; other types are ignored and not counted.
    pub fn feed<'a>(&mut self, data: &'a [u8]) -> Option<CallingInterface<'a>> {
        if data.first() != Some(&TYPE_CALLING_INTERFACE) {
            return None;
        }
        self.structures = self.structures.saturating_add(1);
        match parse_calling_interface(data) {
            Ok(ci) => {
                self.accepted = self.accepted.saturating_add(1);
                Some(ci)
            }
            Err(error) => {
                let handle = match *data {
                    [_, _, h0, h1, ..] => Some(le16(h0, h1)),
                    _ => None,
                };
                let slot = usize::try_from(self.rejected_count)
                    .ok()
                    .and_then(|i| self.rejected.get_mut(i));
                if let Some(slot) = slot {
                    *slot = Some(Rejected {
                        index: self.structures,
                        handle,
                        error,
                    });
                }
                self.rejected_count = self.rejected_count.saturating_add(1);
                None
            }
        }
    }

    /// Number of 0xDA structures seen.
    pub fn structures(&self) -> u32 {
        self.structures
    }

    /// Number of 0xDA structures accepted.
    pub fn accepted(&self) -> u32 {
        self.accepted
    }

    /// Number of 0xDA structures rejected (may exceed [`MAX_REJECTED`]).
    pub fn rejected_count(&self) -> u32 {
        self.rejected_count
    }

    /// The first [`MAX_REJECTED`] rejected structures, in table order.
    pub fn rejected(&self) -> impl Iterator<Item = &Rejected> + '_ {
        self.rejected.iter().flatten()
    }

    /// The table as a whole: present as long as one structure was accepted.
    pub fn state(&self) -> TableState {
        if self.structures == 0 {
            TableState::Absent
        } else if self.accepted > 0 {
            TableState::Present
        } else {
            TableState::Invalid
        }
    }
}
