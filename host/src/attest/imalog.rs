//! IMA's binary measurement list (`binary_runtime_measurements`): one record per
//! entry, native-endian (`pcr: u32`, the SHA-1 template digest, `name_len: u32`,
//! template name, `data_len: u32`, template data). Template data is a list of
//! fields, each `len: u32` + bytes; for `ima-ng` and `ima-buf` the digest of an
//! entry in a bank is that bank's hash of the template data as stored.

use super::error::{AttestError, Result};
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// One measurement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub pcr: u32,
    /// The SHA-1 template digest the log states (all zero for a violation).
    pub template_sha1: [u8; 20],
    pub template_name: String,
    /// Template data, as hashed.
    pub data: Vec<u8>,
}

/// Decoded fields of an `ima-ng`/`ima-buf` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fields {
    /// `d-ng`: hash algorithm name and the digest of the measured object.
    pub digest_alg: String,
    pub digest: Vec<u8>,
    /// `n-ng`: the event or file name.
    pub name: String,
    /// `buf` (`ima-buf` only): the measured buffer.
    pub buf: Option<Vec<u8>>,
}

fn tampered(i: usize, what: &str) -> AttestError {
    AttestError::LogTampered(format!("entry {i}: {what}"))
}

struct Reader<'a> {
    b: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.b.len() < n {
            return None;
        }
        let (head, rest) = self.b.split_at(n);
        self.b = rest;
        Some(head)
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
    }
}

/// Parses a whole binary log.
pub fn parse(bytes: &[u8]) -> Result<Vec<Entry>> {
    const MAX_FIELD: u32 = 1 << 20;
    let mut r = Reader { b: bytes };
    let mut out = Vec::new();
    while !r.b.is_empty() {
        let i = out.len();
        let cut = || tampered(i, "record cut short");
        let pcr = r.u32().ok_or_else(cut)?;
        let mut template_sha1 = [0u8; 20];
        template_sha1.copy_from_slice(r.take(20).ok_or_else(cut)?);
        let name_len = r.u32().filter(|n| *n <= 255).ok_or_else(cut)?;
        let name = r.take(name_len as usize).ok_or_else(cut)?;
        let template_name = String::from_utf8(name.to_vec())
            .map_err(|_| tampered(i, "template name is not UTF-8"))?;
        let data_len = r.u32().filter(|n| *n <= MAX_FIELD).ok_or_else(cut)?;
        let data = r.take(data_len as usize).ok_or_else(cut)?.to_vec();
        out.push(Entry {
            pcr,
            template_sha1,
            template_name,
            data,
        });
    }
    Ok(out)
}

impl Entry {
    /// A violation (IMA logs zeros and extends 0xFF.. instead).
    pub fn is_violation(&self) -> bool {
        self.template_sha1 == [0; 20]
    }

    /// Splits the template data into its fields.
    pub fn fields(&self) -> Option<Fields> {
        if self.template_name != "ima-ng" && self.template_name != "ima-buf" {
            return None;
        }
        let mut r = Reader { b: &self.data };
        let mut next = || -> Option<&[u8]> {
            let n = r.u32()?;
            r.take(n as usize)
        };
        let d = next()?;
        // "<alg>:\0<digest>"
        let colon = d.iter().position(|&b| b == b':')?;
        let digest_alg = std::str::from_utf8(&d[..colon]).ok()?.to_owned();
        let digest = d.get(colon + 2..)?.to_vec();
        let n = next()?;
        let name = std::str::from_utf8(n.strip_suffix(b"\0").unwrap_or(n))
            .ok()?
            .to_owned();
        let buf = if self.template_name == "ima-buf" {
            Some(next()?.to_vec())
        } else {
            None
        };
        if !r.b.is_empty() {
            return None;
        }
        Some(Fields {
            digest_alg,
            digest,
            name,
            buf,
        })
    }

    /// Checks that the template data hashes to the stated SHA-1 digest and, for
    /// `ima-buf`, that the buffer hashes to its `d-ng` digest.
    pub fn check(&self, i: usize) -> Result<()> {
        if self.is_violation() {
            return Ok(());
        }
        let sha1: [u8; 20] = Sha1::digest(&self.data).into();
        if sha1 != self.template_sha1 {
            return Err(tampered(i, "template data does not match its digest"));
        }
        if let Some(f) = self.fields() {
            if let Some(buf) = &f.buf {
                let ok = match f.digest_alg.as_str() {
                    "sha256" => Sha256::digest(buf).as_slice() == f.digest.as_slice(),
                    "sha1" => Sha1::digest(buf).as_slice() == f.digest.as_slice(),
                    _ => true,
                };
                if !ok {
                    return Err(tampered(i, "buffer does not match its d-ng digest"));
                }
            }
        }
        Ok(())
    }
}

/// Builds the template data of an `ima-buf` entry (tests, and documentation of
/// the layout).
pub fn ima_buf_data(name: &str, buf: &[u8]) -> Vec<u8> {
    let mut d = b"sha256:\0".to_vec();
    d.extend_from_slice(&Sha256::digest(buf));
    let mut n = name.as_bytes().to_vec();
    n.push(0);
    let mut out = Vec::new();
    for field in [&d[..], &n[..], buf] {
        out.extend_from_slice(&(field.len() as u32).to_ne_bytes());
        out.extend_from_slice(field);
    }
    out
}

/// Serialises entries back into the binary format (tests and bundles).
pub fn serialize(entries: &[Entry]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries {
        out.extend_from_slice(&e.pcr.to_ne_bytes());
        out.extend_from_slice(&e.template_sha1);
        out.extend_from_slice(&(e.template_name.len() as u32).to_ne_bytes());
        out.extend_from_slice(e.template_name.as_bytes());
        out.extend_from_slice(&(e.data.len() as u32).to_ne_bytes());
        out.extend_from_slice(&e.data);
    }
    out
}

/// An entry as IMA would log it, with its SHA-1 template digest.
pub fn entry(pcr: u32, template_name: &str, data: Vec<u8>) -> Entry {
    Entry {
        pcr,
        template_sha1: Sha1::digest(&data).into(),
        template_name: template_name.to_owned(),
        data,
    }
}
