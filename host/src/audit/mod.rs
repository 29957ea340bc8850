//! Tamper-evident audit log: one JSON object per line (mode 0600), each carrying
//! the SHA-256 of the previous line (`prev_hash`; the very first line carries 64
//! zeros). Editing, deleting or reordering a line breaks the chain. The number of
//! lines of the active segment and the hash of its last line are also kept in
//! `audit.head` (written atomically after each append), so that removing or
//! editing the *last* line is detected too. Someone who can rewrite every file
//! consistently can still forge history; the log's job is to make silent edits
//! visible, and its lines are also meant to be shipped off the host.
//!
//! Growth: the active segment is `audit.jsonl`. When it reaches
//! [`DEFAULT_MAX_SEGMENT_BYTES`] or holds records of an earlier UTC day, it is
//! sealed (renamed to `audit.<N>.jsonl`, N = 1, 2, ...) and the next record
//! starts a new `audit.jsonl`. The chain runs on across segments: that first
//! record's `prev_hash` is the hash of the sealed segment's last line, and its
//! `segment` field names the sealed segment and its number of lines. So a
//! deleted, edited, truncated or renumbered segment breaks the chain.
//!
//! Retention: at each rotation, sealed segments whose last record is older than
//! the retention period ([`DEFAULT_RETENTION_SECS`], 90 days) are dropped, only
//! from the start and never the newest sealed one. The drop is first recorded in
//! the chain (an `audit_expire` record naming the new first segment), then
//! anchored in `audit.anchor` (the new first segment's number and the
//! `prev_hash` its first line carries), then the files are removed. Verification
//! starts at the anchor, and an anchor that no `audit_expire` record in the
//! chain confirms is an error: deleting segments at the start is only accepted
//! when the log itself says it did so.
//!
//! Crashes: a line is appended (one write, fsync) before the head is replaced
//! (write-temp, fsync, rename). A crash or power cut in between leaves one of
//! two states, both reported by `verify` under their own errors and repaired by
//! the next append or [`AuditLog::repair`] (which the tools run when they open
//! the store): an incomplete last line (no newline; it is cut off, its length
//! and hash recorded), or one complete line past the head (the head is moved
//! forward). Each repair is itself an `audit_repair` record in the chain, so
//! nothing a crash left is accepted silently; anything else (a complete line
//! that does not parse, a head two lines behind) stays an error.
use crate::fsutil::{sync_dir, write_atomic};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

mod append;
mod error;
mod files;
mod record;
mod repair;
mod verify;

pub use error::AuditError;
use files::{Anchor, Head};
use record::Line;
pub use record::{Action, Record, SegmentLink};

/// Hash of "no previous line".
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Size at which the active segment is sealed.
pub const DEFAULT_MAX_SEGMENT_BYTES: u64 = 256 << 10;
/// How long sealed segments are kept (90 days).
pub const DEFAULT_RETENTION_SECS: u64 = 90 * 86_400;
/// The action of the record that announces dropped segments.
pub const EXPIRE_ACTION: &str = "audit_expire";
/// The action of the record that says what a crash left and how it was repaired.
pub const REPAIR_ACTION: &str = "audit_repair";

const ACTIVE: &str = "audit.jsonl";

/// The audit log in a directory (`audit.jsonl`, sealed `audit.<N>.jsonl`,
/// `audit.head`, `audit.anchor`, `audit.lock`).
#[derive(Clone, Debug)]
pub struct AuditLog {
    pub(super) dir: PathBuf,
    pub(super) log: PathBuf,
    pub(super) head: PathBuf,
    /// The active segment is sealed at this size.
    pub max_segment_bytes: u64,
    /// Sealed segments whose last record is older than this are dropped.
    pub retention_secs: u64,
    /// Tests: the clock (seconds since the epoch) instead of the real one.
    pub now: Option<u64>,
}

pub(super) fn hash_hex(line: &[u8]) -> String {
    hex::encode(Sha256::digest(line))
}

/// File name of sealed segment `n`.
pub fn segment_name(n: u64) -> String {
    format!("audit.{n}.jsonl")
}

pub(super) fn segment_number(name: &str) -> Option<u64> {
    let n = name.strip_prefix("audit.")?.strip_suffix(".jsonl")?;
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) || n.starts_with('0') {
        return None;
    }
    n.parse().ok()
}

impl AuditLog {
    pub fn new(dir: &Path) -> Self {
        AuditLog {
            dir: dir.to_owned(),
            log: dir.join(ACTIVE),
            head: dir.join("audit.head"),
            max_segment_bytes: DEFAULT_MAX_SEGMENT_BYTES,
            retention_secs: DEFAULT_RETENTION_SECS,
            now: None,
        }
    }

    /// The active segment.
    pub fn path(&self) -> &Path {
        &self.log
    }

    pub(super) fn now(&self) -> u64 {
        self.now.unwrap_or_else(crate::clock::unix_secs)
    }

    pub(super) fn io_at(path: &Path, source: io::Error) -> AuditError {
        AuditError::Io {
            path: path.display().to_string(),
            source,
        }
    }

    pub(super) fn io(&self, source: io::Error) -> AuditError {
        Self::io_at(&self.log, source)
    }
}

#[cfg(test)]
mod tests;
