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

use crate::fsutil::{sync_dir, write_atomic};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Hash of "no previous line".
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Size at which the active segment is sealed.
pub const DEFAULT_MAX_SEGMENT_BYTES: u64 = 256 << 10;
/// How long sealed segments are kept (90 days).
pub const DEFAULT_RETENTION_SECS: u64 = 90 * 86_400;
/// The action of the record that announces dropped segments.
pub const EXPIRE_ACTION: &str = "audit_expire";

const ACTIVE: &str = "audit.jsonl";

/// One action, as the caller describes it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Action {
    /// What was done: `install`, `load`, `rollback`, ...
    pub action: String,
    /// `ok`, `failed`, `rolled_back`, `refused`, ...
    pub result: String,
    pub deployment_id: Option<String>,
    /// Module versions involved, e.g. `{"from": "1.0.0", "to": "1.0.1"}`.
    pub component_versions: BTreeMap<String, String>,
    pub rollback_occurred: bool,
    pub duration_seconds: f64,
    /// Free-form detail (error message, ...).
    pub detail: Option<String>,
}

/// The link the first record of a segment carries to the sealed segment
/// before it (whose last line's hash is that record's `prev_hash`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentLink {
    /// File name of the previous segment (`audit.<N>.jsonl`).
    pub previous: String,
    /// Its number of lines.
    pub previous_lines: u64,
}

/// A stored line: the action plus who, when, and the chain link.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Seconds since the epoch, UTC.
    pub timestamp: u64,
    pub uid: u32,
    /// `SUDO_USER`, when run through sudo.
    pub sudo_user: Option<String>,
    #[serde(flatten)]
    pub action: Action,
    /// SHA-256 (hex) of the previous line's bytes, without its newline.
    pub prev_hash: String,
    /// Only on the first record of a segment after rotation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment: Option<SegmentLink>,
}

/// A line as the chain walk reads it: the same fields and types as [`Record`]
/// (so the same lines are malformed), borrowed where possible and without
/// `flatten`, which buffers every field.
#[derive(Deserialize)]
struct Line<'a> {
    timestamp: u64,
    #[allow(dead_code)]
    uid: u32,
    #[serde(borrow)]
    #[allow(dead_code)]
    sudo_user: Option<Cow<'a, str>>,
    #[serde(borrow)]
    action: Cow<'a, str>,
    #[serde(borrow)]
    #[allow(dead_code)]
    result: Cow<'a, str>,
    #[serde(borrow)]
    #[allow(dead_code)]
    deployment_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    component_versions: Versions<'a>,
    #[allow(dead_code)]
    rollback_occurred: bool,
    #[allow(dead_code)]
    duration_seconds: f64,
    #[serde(borrow)]
    #[allow(dead_code)]
    detail: Option<Cow<'a, str>>,
    #[serde(borrow)]
    prev_hash: Cow<'a, str>,
    #[serde(default)]
    segment: Option<SegmentLink>,
}

/// `component_versions` as the walk reads it: a map of strings to strings
/// (anything else is malformed, as for [`Action`]), keeping only the one
/// entry the walk needs instead of building a map per line.
struct Versions<'a> {
    first_segment: Option<Cow<'a, str>>,
}

impl<'de: 'a, 'a> Deserialize<'de> for Versions<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
            type Value = Versions<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a map of strings")
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(
                self,
                mut m: M,
            ) -> Result<Self::Value, M::Error> {
                let mut first_segment = None;
                while let Some(k) = m.next_key::<Cow<'de, str>>()? {
                    let v: Cow<'de, str> = m.next_value()?;
                    if k == "first_segment" {
                        first_segment = Some(v);
                    }
                }
                Ok(Versions { first_segment })
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

/// The `audit.head` anchor: the active segment's lines and last hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Head {
    lines: u64,
    last_hash: String,
}

/// The `audit.anchor` file: where verification starts after expired segments
/// were dropped.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Anchor {
    /// Number of the first segment kept.
    first_segment: u64,
    /// The `prev_hash` of its first line (the hash of the dropped segment's
    /// last line).
    prev_hash: String,
}

/// What is wrong with the log.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("audit log {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("audit log line {line}: not a valid record: {reason}")]
    Malformed { line: u64, reason: String },
    #[error(
        "audit log line {line}: chain broken (the line before it was edited, removed or reordered)"
    )]
    BrokenChain { line: u64 },
    #[error("audit log has {found} lines ending in {found_hash}, but audit.head records {expected} lines ending in {expected_hash}: the end of the log was edited or removed")]
    HeadMismatch {
        found: u64,
        found_hash: String,
        expected: u64,
        expected_hash: String,
    },
    #[error("audit.head is missing or unreadable, but the log has {0} lines")]
    NoHead(u64),
    #[error("audit segment {segment}: {source}")]
    InSegment {
        segment: String,
        #[source]
        source: Box<AuditError>,
    },
    #[error("audit segment {0} is missing (deleted or renamed) and no audit_expire record says it expired")]
    MissingSegment(String),
    #[error("audit segment {segment} does not start with a link to {expected} (a segment was replaced, renumbered or truncated)")]
    BadLink { segment: String, expected: String },
    #[error("audit.anchor starts the log at {0}, but no audit_expire record in the chain says so")]
    UnconfirmedAnchor(String),
    #[error("audit.anchor is unreadable: {0}")]
    BadAnchor(String),
}

/// One segment walked.
#[derive(Clone, Debug, Default)]
struct Walked {
    lines: u64,
    last_hash: String,
    first_prev: Option<String>,
    first_link: Option<SegmentLink>,
    first_timestamp: Option<u64>,
    last_timestamp: Option<u64>,
    /// `first_segment` of every `audit_expire` record in it.
    expiries: Vec<String>,
    bytes: u64,
}

/// The audit log in a directory (`audit.jsonl`, sealed `audit.<N>.jsonl`,
/// `audit.head`, `audit.anchor`, `audit.lock`).
#[derive(Clone, Debug)]
pub struct AuditLog {
    dir: PathBuf,
    log: PathBuf,
    head: PathBuf,
    /// The active segment is sealed at this size.
    pub max_segment_bytes: u64,
    /// Sealed segments whose last record is older than this are dropped.
    pub retention_secs: u64,
    /// Tests: the clock (seconds since the epoch) instead of the real one.
    pub now: Option<u64>,
}

fn hash_hex(line: &[u8]) -> String {
    hex::encode(Sha256::digest(line))
}

/// File name of sealed segment `n`.
pub fn segment_name(n: u64) -> String {
    format!("audit.{n}.jsonl")
}

fn segment_number(name: &str) -> Option<u64> {
    let n = name.strip_prefix("audit.")?.strip_suffix(".jsonl")?;
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) || n.starts_with('0') {
        return None;
    }
    n.parse().ok()
}

/// Walks `segments`, on as many threads as there are CPUs.
fn walk_all(segments: &[(u64, PathBuf)]) -> Vec<Result<Walked, AuditError>> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(segments.len());
    if threads <= 1 {
        return segments
            .iter()
            .map(|(_, p)| AuditLog::walk(p, None))
            .collect();
    }
    let chunk = segments.len().div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = segments
            .chunks(chunk)
            .map(|c| {
                let h = s.spawn(move || {
                    c.iter()
                        .map(|(_, p)| AuditLog::walk(p, None))
                        .collect::<Vec<_>>()
                });
                (c.len(), h)
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|(len, h)| {
                // One result per segment, whatever happens to a thread.
                h.join().unwrap_or_else(|_| {
                    (0..len)
                        .map(|_| {
                            Err(AuditError::Io {
                                path: "audit log".into(),
                                source: io::Error::other("verification thread panicked"),
                            })
                        })
                        .collect()
                })
            })
            .collect()
    })
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

    fn now(&self) -> u64 {
        self.now.unwrap_or_else(crate::clock::unix_secs)
    }

    fn io_at(path: &Path, source: io::Error) -> AuditError {
        AuditError::Io {
            path: path.display().to_string(),
            source,
        }
    }

    fn io(&self, source: io::Error) -> AuditError {
        Self::io_at(&self.log, source)
    }

    /// Sealed segments, by number.
    pub fn sealed_segments(&self) -> Result<Vec<(u64, PathBuf)>, AuditError> {
        let mut out = Vec::new();
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(Self::io_at(&self.dir, e)),
        };
        for e in entries {
            let e = e.map_err(|e| Self::io_at(&self.dir, e))?;
            if let Some(n) = e.file_name().to_str().and_then(segment_number) {
                out.push((n, e.path()));
            }
        }
        out.sort();
        Ok(out)
    }

    fn read_anchor(&self) -> Result<Option<Anchor>, AuditError> {
        match std::fs::read(self.dir.join("audit.anchor")) {
            Ok(b) => serde_json::from_slice(&b)
                .map(Some)
                .map_err(|e| AuditError::BadAnchor(e.to_string())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(AuditError::BadAnchor(e.to_string())),
        }
    }

    /// Walks one segment's chain. `first_prev`: what the first line's
    /// `prev_hash` must be (`None`: whatever it is, checked by the caller).
    fn walk(path: &Path, first_prev: Option<&str>) -> Result<Walked, AuditError> {
        let file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok(Walked {
                    last_hash: first_prev.unwrap_or(GENESIS).to_owned(),
                    ..Walked::default()
                })
            }
            Err(e) => return Err(Self::io_at(path, e)),
        };
        let mut w = Walked::default();
        let mut prev: Option<[u8; 32]> = None;
        let mut reader = BufReader::with_capacity(1 << 16, file);
        let mut line = Vec::with_capacity(512);
        loop {
            line.clear();
            let got = reader
                .read_until(b'\n', &mut line)
                .map_err(|e| Self::io_at(path, e))?;
            if got == 0 {
                break;
            }
            w.bytes += got as u64;
            if line.last() == Some(&b'\n') {
                line.pop();
            }
            w.lines += 1;
            let n = w.lines;
            let rec: Line = serde_json::from_slice(&line).map_err(|e| AuditError::Malformed {
                line: n,
                reason: e.to_string(),
            })?;
            match prev {
                Some(p) => {
                    let mut got = [0u8; 32];
                    if hex::decode_to_slice(rec.prev_hash.as_bytes(), &mut got).is_err() || got != p
                    {
                        return Err(AuditError::BrokenChain { line: n });
                    }
                }
                None => {
                    if first_prev.is_some_and(|f| f != rec.prev_hash) {
                        return Err(AuditError::BrokenChain { line: n });
                    }
                    w.first_prev = Some(rec.prev_hash.clone().into_owned());
                    w.first_link = rec.segment.clone();
                    w.first_timestamp = Some(rec.timestamp);
                }
            }
            w.last_timestamp = Some(rec.timestamp);
            if rec.action == EXPIRE_ACTION {
                if let Some(f) = rec.component_versions.first_segment {
                    w.expiries.push(f.into_owned());
                }
            }
            prev = Some(Sha256::digest(&line).into());
        }
        w.last_hash = match prev {
            Some(p) => hex::encode(p),
            None => first_prev.unwrap_or(GENESIS).to_owned(),
        };
        Ok(w)
    }

    fn read_head(&self) -> Option<Head> {
        std::fs::read(&self.head)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
    }

    /// The active segment's end against `audit.head`. `sealed_end`: lines and
    /// last hash of the newest sealed segment (an interrupted rotation leaves
    /// no active segment and the head still describing that one).
    fn check_head(
        &self,
        active: &Walked,
        sealed_end: Option<(u64, &str)>,
    ) -> Result<(), AuditError> {
        let (n, last) = (active.lines, active.last_hash.as_str());
        match self.read_head() {
            None if n == 0 => Ok(()),
            None => Err(AuditError::NoHead(n)),
            Some(h) if h.lines == n && h.last_hash == last => Ok(()),
            Some(h) if n == 0 && sealed_end == Some((h.lines, h.last_hash.as_str())) => Ok(()),
            Some(h) => Err(AuditError::HeadMismatch {
                found: n,
                found_hash: last.to_owned(),
                expected: h.lines,
                expected_hash: h.last_hash,
            }),
        }
    }

    /// Lines and last line's hash of a sealed segment, without walking its
    /// chain (`verify` does that): what the active segment must link to.
    fn tail(path: &Path) -> Result<(u64, String), AuditError> {
        let bytes = std::fs::read(path).map_err(|e| Self::io_at(path, e))?;
        let body = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
        if body.is_empty() {
            return Ok((0, GENESIS.into()));
        }
        let lines = body.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
        let last = body.rsplit(|&b| b == b'\n').next().unwrap_or(body);
        Ok((lines, hash_hex(last)))
    }

    /// The active segment, its link to the newest sealed one checked, and
    /// the head. What `append` checks before it writes. Returns the walk and
    /// the newest sealed segment's (number, lines, last hash).
    #[allow(clippy::type_complexity)]
    fn check_active(
        &self,
        newest: Option<&(u64, PathBuf)>,
    ) -> Result<(Walked, Option<(u64, u64, String)>), AuditError> {
        let w = Self::walk(&self.log, None)?;
        let sealed_end = match newest {
            Some((n, path)) => {
                let (lines, last) = Self::tail(path).map_err(|e| AuditError::InSegment {
                    segment: segment_name(*n),
                    source: Box::new(e),
                })?;
                Some((*n, lines, last))
            }
            None => None,
        };
        if w.lines > 0 {
            let ok = match (&sealed_end, &w.first_link) {
                (None, None) => w.first_prev.as_deref() == Some(GENESIS),
                (Some((n, lines, last)), Some(link)) => {
                    link.previous == segment_name(*n)
                        && link.previous_lines == *lines
                        && w.first_prev.as_deref() == Some(last.as_str())
                }
                _ => false,
            };
            if !ok {
                return Err(AuditError::BrokenChain { line: 1 });
            }
        }
        self.check_head(&w, sealed_end.as_ref().map(|(_, l, h)| (*l, h.as_str())))?;
        Ok((w, sealed_end))
    }

    /// Checks the whole chain, across segments, and the head anchor; returns
    /// the number of lines.
    pub fn verify(&self) -> Result<u64, AuditError> {
        let mut sealed = self.sealed_segments()?;
        let anchor = self.read_anchor()?;
        let (first, mut prev) = match &anchor {
            Some(a) => (a.first_segment, a.prev_hash.clone()),
            None => (1, GENESIS.to_owned()),
        };
        // Segments before the anchor are leftovers of an interrupted drop.
        sealed.retain(|(n, _)| *n >= first);
        let mut total = 0;
        let mut expiries = Vec::new();
        let mut before: Option<(u64, u64)> = None; // (number, lines)
                                                   // Each segment's own chain is walked in parallel; how they join (the
                                                   // numbers, the first lines' prev_hash and links) is checked in order,
                                                   // and the first error in chain order is the one reported.
        let walked = walk_all(&sealed);
        for (i, ((n, _), w)) in sealed.iter().zip(walked).enumerate() {
            let expected = first + i as u64;
            if *n != expected {
                return Err(AuditError::MissingSegment(segment_name(expected)));
            }
            let name = segment_name(*n);
            let in_segment = |e| AuditError::InSegment {
                segment: name.clone(),
                source: Box::new(e),
            };
            let w = w.map_err(in_segment)?;
            if w.lines > 0 && w.first_prev.as_deref() != Some(prev.as_str()) {
                return Err(in_segment(AuditError::BrokenChain { line: 1 }));
            }
            if let Some((bn, bl)) = before {
                let want = SegmentLink {
                    previous: segment_name(bn),
                    previous_lines: bl,
                };
                if w.first_link.as_ref() != Some(&want) {
                    return Err(AuditError::BadLink {
                        segment: name,
                        expected: want.previous,
                    });
                }
            }
            total += w.lines;
            if w.lines > 0 {
                prev = w.last_hash;
            }
            expiries.extend(w.expiries);
            before = Some((*n, w.lines));
        }
        if anchor.is_some() && sealed.is_empty() {
            return Err(AuditError::MissingSegment(segment_name(first)));
        }
        let active = Self::walk(&self.log, Some(&prev))?;
        if let (Some((bn, bl)), true) = (before, active.lines > 0) {
            let want = SegmentLink {
                previous: segment_name(bn),
                previous_lines: bl,
            };
            if active.first_link.as_ref() != Some(&want) {
                return Err(AuditError::BadLink {
                    segment: ACTIVE.into(),
                    expected: want.previous,
                });
            }
        }
        let sealed_end = before.map(|(_, l)| (l, prev.as_str()));
        self.check_head(&active, sealed_end)?;
        expiries.extend(active.expiries.iter().cloned());
        if anchor.is_some() && !expiries.contains(&segment_name(first)) {
            return Err(AuditError::UnconfirmedAnchor(segment_name(first)));
        }
        Ok(total + active.lines)
    }

    /// Every record of the retained segments, oldest first (read without
    /// checking: call [`AuditLog::verify`] first).
    pub fn records(&self) -> Result<Vec<Record>, AuditError> {
        let first = self.read_anchor()?.map_or(1, |a| a.first_segment);
        let mut paths: Vec<PathBuf> = self
            .sealed_segments()?
            .into_iter()
            .filter(|(n, _)| *n >= first)
            .map(|(_, p)| p)
            .collect();
        paths.push(self.log.clone());
        let mut out = Vec::new();
        for p in paths {
            let mut text = String::new();
            match File::open(&p) {
                Ok(mut f) => f
                    .read_to_string(&mut text)
                    .map_err(|e| Self::io_at(&p, e))?,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(Self::io_at(&p, e)),
            };
            out.extend(text.lines().filter_map(|l| serde_json::from_str(l).ok()));
        }
        Ok(out)
    }

    fn lock(&self) -> Result<nix::fcntl::Flock<File>, AuditError> {
        // A lock file of its own: the active segment is renamed on rotation.
        let path = self.dir.join("audit.lock");
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(|e| Self::io_at(&path, e))?;
        nix::fcntl::Flock::lock(f, nix::fcntl::FlockArg::LockExclusive)
            .map_err(|(_, e)| Self::io_at(&path, e.into()))
    }

    /// Writes one line to the active segment and the head.
    fn write_line(&self, record: &Record, n: u64) -> Result<String, AuditError> {
        let line = serde_json::to_vec(record).map_err(|e| AuditError::Malformed {
            line: n + 1,
            reason: e.to_string(),
        })?;
        let mut f = OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(&self.log)
            .map_err(|e| self.io(e))?;
        let mut buf = line.clone();
        buf.push(b'\n');
        f.write_all(&buf).map_err(|e| self.io(e))?;
        f.sync_all().map_err(|e| self.io(e))?;
        let last_hash = hash_hex(&line);
        let head = Head {
            lines: n + 1,
            last_hash: last_hash.clone(),
        };
        let head_json = serde_json::to_vec(&head).map_err(|e| AuditError::Malformed {
            line: n + 1,
            reason: e.to_string(),
        })?;
        write_atomic(&self.head, &head_json, 0o600).map_err(|e| self.io(e))?;
        Ok(last_hash)
    }

    /// Appends one record (creating the log with mode 0600). Refuses to extend a
    /// log whose active segment's chain is already broken, so tampering stays
    /// visible. Seals the active segment first when it is due (see the module
    /// docs), and then drops expired segments.
    pub fn append(&self, action: Action, uid: u32) -> Result<Record, AuditError> {
        std::fs::create_dir_all(&self.dir).map_err(|e| self.io(e))?;
        let _guard = self.lock()?;
        let sealed = self.sealed_segments()?;
        let (active, sealed_end) = self.check_active(sealed.last())?;
        let now = self.now();
        let due = active.lines > 0
            && (active.bytes >= self.max_segment_bytes
                || active
                    .first_timestamp
                    .is_some_and(|t| t / 86_400 < now / 86_400));
        let (n, prev_hash, segment) = if due {
            let number = sealed.last().map_or(1, |(n, _)| n + 1);
            let target = self.dir.join(segment_name(number));
            // Never over an existing file: a sealed segment is never rewritten.
            if target.exists() {
                return Err(self.io(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!("{} exists", target.display()),
                )));
            }
            std::fs::rename(&self.log, &target).map_err(|e| self.io(e))?;
            sync_dir(&self.dir).map_err(|e| self.io(e))?;
            (
                0,
                active.last_hash.clone(),
                Some(SegmentLink {
                    previous: segment_name(number),
                    previous_lines: active.lines,
                }),
            )
        } else if let (0, Some((number, lines, last))) = (active.lines, sealed_end) {
            // A rotation was interrupted before this segment's first line.
            (
                0,
                last,
                Some(SegmentLink {
                    previous: segment_name(number),
                    previous_lines: lines,
                }),
            )
        } else {
            (active.lines, active.last_hash.clone(), None)
        };
        let record = Record {
            timestamp: now,
            uid,
            sudo_user: std::env::var("SUDO_USER").ok(),
            action,
            prev_hash,
            segment,
        };
        let last = self.write_line(&record, n)?;
        if due {
            self.expire(n + 1, last, uid)?;
        }
        Ok(record)
    }

    /// Drops sealed segments past the retention period, from the start and
    /// never the newest one: recorded in the chain, then anchored, then removed.
    fn expire(&self, n: u64, prev_hash: String, uid: u32) -> Result<(), AuditError> {
        let sealed = self.sealed_segments()?;
        let first_kept = self.read_anchor()?.map_or(1, |a| a.first_segment);
        let cutoff = self.now().saturating_sub(self.retention_secs);
        let mut drop = Vec::new();
        let mut new_first = None;
        for (i, (num, path)) in sealed.iter().enumerate() {
            if *num < first_kept {
                drop.push(path.clone()); // left by an interrupted drop
                continue;
            }
            let last_ts = Self::walk(path, None).ok().and_then(|w| w.last_timestamp);
            let expired = i + 1 < sealed.len() && last_ts.is_some_and(|t| t < cutoff);
            if !expired {
                new_first = Some(*num);
                break;
            }
            drop.push(path.clone());
        }
        let Some(new_first) = new_first else {
            return Ok(());
        };
        if new_first > first_kept {
            // The first kept segment's first line carries the hash of the last
            // dropped segment's last line.
            let kept = self.dir.join(segment_name(new_first));
            let w = Self::walk(&kept, None).map_err(|e| AuditError::InSegment {
                segment: segment_name(new_first),
                source: Box::new(e),
            })?;
            let anchor = Anchor {
                first_segment: new_first,
                prev_hash: w.first_prev.unwrap_or_else(|| GENESIS.into()),
            };
            let record = Record {
                timestamp: self.now(),
                uid,
                sudo_user: std::env::var("SUDO_USER").ok(),
                action: Action {
                    action: EXPIRE_ACTION.into(),
                    result: "ok".into(),
                    component_versions: BTreeMap::from([
                        ("first_segment".to_owned(), segment_name(new_first)),
                        ("dropped_through".to_owned(), segment_name(new_first - 1)),
                    ]),
                    detail: Some(format!(
                        "segments before {} held only records older than {} days: dropped",
                        segment_name(new_first),
                        self.retention_secs / 86_400
                    )),
                    ..Action::default()
                },
                prev_hash,
                segment: None,
            };
            self.write_line(&record, n)?;
            let json =
                serde_json::to_vec(&anchor).map_err(|e| AuditError::BadAnchor(e.to_string()))?;
            write_atomic(&self.dir.join("audit.anchor"), &json, 0o600).map_err(|e| self.io(e))?;
        }
        for p in &drop {
            std::fs::remove_file(p).map_err(|e| Self::io_at(p, e))?;
        }
        if !drop.is_empty() {
            sync_dir(&self.dir).map_err(|e| self.io(e))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn action(name: &str) -> Action {
        Action {
            action: name.into(),
            result: "ok".into(),
            ..Action::default()
        }
    }

    fn log_with(n: usize) -> (tempfile::TempDir, AuditLog) {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::new(dir.path());
        for i in 0..n {
            log.append(action(&format!("step{i}")), 0).unwrap();
        }
        (dir, log)
    }

    fn lines(log: &AuditLog) -> Vec<String> {
        std::fs::read_to_string(log.path())
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn rewrite(log: &AuditLog, lines: &[String]) {
        let mut s = lines.join("\n");
        s.push('\n');
        std::fs::write(log.path(), s).unwrap();
    }

    #[test]
    fn a_fresh_chain_verifies_and_is_private() {
        let (_d, log) = log_with(4);
        assert_eq!(log.verify().unwrap(), 4);
        let mode = std::fs::metadata(log.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let first: Record = serde_json::from_str(&lines(&log)[0]).unwrap();
        assert_eq!(first.prev_hash, GENESIS);
        assert_eq!(first.action.action, "step0");
    }

    #[test]
    fn empty_log_verifies() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(AuditLog::new(dir.path()).verify().unwrap(), 0);
    }

    #[test]
    fn an_edited_line_is_detected() {
        let (_d, log) = log_with(4);
        let mut l = lines(&log);
        l[1] = l[1].replace("step1", "stepX");
        rewrite(&log, &l);
        assert!(matches!(
            log.verify(),
            Err(AuditError::BrokenChain { line: 3 })
        ));
        // and the log refuses to grow on top of it
        assert!(log.append(action("more"), 0).is_err());
    }

    #[test]
    fn a_deleted_line_is_detected() {
        let (_d, log) = log_with(4);
        let mut l = lines(&log);
        l.remove(1);
        rewrite(&log, &l);
        assert!(matches!(
            log.verify(),
            Err(AuditError::BrokenChain { line: 2 })
        ));
    }

    #[test]
    fn reordered_lines_are_detected() {
        let (_d, log) = log_with(4);
        let mut l = lines(&log);
        l.swap(1, 2);
        rewrite(&log, &l);
        assert!(matches!(log.verify(), Err(AuditError::BrokenChain { .. })));
    }

    #[test]
    fn removing_or_editing_the_last_line_is_detected_by_the_head() {
        let (_d, log) = log_with(3);
        let mut l = lines(&log);
        l.pop();
        rewrite(&log, &l);
        assert!(matches!(
            log.verify(),
            Err(AuditError::HeadMismatch {
                found: 2,
                expected: 3,
                ..
            })
        ));

        let (_d, log) = log_with(3);
        let mut l = lines(&log);
        l[2] = l[2].replace("\"ok\"", "\"failed\"");
        rewrite(&log, &l);
        assert!(matches!(log.verify(), Err(AuditError::HeadMismatch { .. })));
    }

    #[test]
    fn garbage_is_reported_with_its_line() {
        let (_d, log) = log_with(2);
        let mut l = lines(&log);
        l.insert(1, "{not json".into());
        rewrite(&log, &l);
        assert!(matches!(
            log.verify(),
            Err(AuditError::Malformed { line: 2, .. })
        ));
    }

    #[test]
    fn a_missing_head_with_lines_is_an_error() {
        let (d, log) = log_with(2);
        std::fs::remove_file(d.path().join("audit.head")).unwrap();
        assert!(matches!(log.verify(), Err(AuditError::NoHead(2))));
    }

    // ---- rotation and retention ----

    const DAY: u64 = 86_400;

    /// A log that seals its active segment every `per` records (tiny segments)
    /// and appends `n` records, one a day starting at day 1000.
    fn rotated(n: u64, retention_days: u64) -> (tempfile::TempDir, AuditLog) {
        let dir = tempfile::tempdir().unwrap();
        let mut log = AuditLog::new(dir.path());
        log.retention_secs = retention_days * DAY;
        for i in 0..n {
            log.now = Some((1000 + i) * DAY);
            log.append(action(&format!("step{i}")), 0).unwrap();
        }
        (dir, log)
    }

    fn segment(log: &AuditLog, n: u64) -> PathBuf {
        log.dir.join(segment_name(n))
    }

    #[test]
    fn rotation_keeps_one_chain_across_segments() {
        let (_d, log) = rotated(5, 10_000);
        // One record a day: each day starts a new segment.
        assert_eq!(log.sealed_segments().unwrap().len(), 4);
        assert_eq!(log.verify().unwrap(), 5);
        let first: Record = serde_json::from_str(&lines(&log)[0]).unwrap();
        assert_eq!(
            first.segment,
            Some(SegmentLink {
                previous: "audit.4.jsonl".into(),
                previous_lines: 1
            })
        );
        let sealed = std::fs::read_to_string(segment(&log, 4)).unwrap();
        assert_eq!(first.prev_hash, hash_hex(sealed.trim_end().as_bytes()));
        assert_eq!(log.records().unwrap().len(), 5);
        assert_eq!(log.records().unwrap()[0].action.action, "step0");
    }

    #[test]
    fn rotation_by_size() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = AuditLog::new(dir.path());
        log.max_segment_bytes = 1000;
        log.now = Some(1000 * DAY);
        for i in 0..40 {
            log.append(action(&format!("step{i}")), 0).unwrap();
        }
        assert!(log.sealed_segments().unwrap().len() >= 4);
        assert_eq!(log.verify().unwrap(), 40);
    }

    #[test]
    fn a_deleted_middle_segment_is_detected() {
        let (_d, log) = rotated(5, 10_000);
        std::fs::remove_file(segment(&log, 2)).unwrap();
        assert!(matches!(
            log.verify(),
            Err(AuditError::MissingSegment(s)) if s == "audit.2.jsonl"
        ));
    }

    #[test]
    fn a_deleted_first_segment_is_detected() {
        let (_d, log) = rotated(5, 10_000);
        std::fs::remove_file(segment(&log, 1)).unwrap();
        assert!(matches!(
            log.verify(),
            Err(AuditError::MissingSegment(s)) if s == "audit.1.jsonl"
        ));
    }

    #[test]
    fn an_edited_middle_segment_is_detected() {
        let (_d, log) = rotated(5, 10_000);
        let p = segment(&log, 2);
        let t = std::fs::read_to_string(&p)
            .unwrap()
            .replace("step1", "stepX");
        std::fs::write(&p, t).unwrap();
        // The next segment's first line no longer links to it.
        assert!(matches!(
            log.verify(),
            Err(AuditError::InSegment { segment, source })
                if segment == "audit.3.jsonl" && matches!(*source, AuditError::BrokenChain { line: 1 })
        ));
    }

    #[test]
    fn renumbered_segments_are_detected() {
        // Segment 3 deleted and 4 renamed to 3 to close the gap.
        let (_d, log) = rotated(5, 10_000);
        std::fs::remove_file(segment(&log, 3)).unwrap();
        std::fs::rename(segment(&log, 4), segment(&log, 3)).unwrap();
        assert!(log.verify().is_err());
    }

    #[test]
    fn a_truncated_sealed_segment_is_detected() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = AuditLog::new(dir.path());
        log.max_segment_bytes = 600;
        log.now = Some(1000 * DAY);
        for i in 0..10 {
            log.append(action(&format!("step{i}")), 0).unwrap();
        }
        let p = segment(&log, 1);
        let text = std::fs::read_to_string(&p).unwrap();
        let kept: Vec<&str> = text.lines().collect();
        assert!(kept.len() >= 2);
        std::fs::write(&p, format!("{}\n", kept[..kept.len() - 1].join("\n"))).unwrap();
        assert!(log.verify().is_err());
    }

    #[test]
    fn a_replaced_active_segment_is_detected() {
        // A fresh chain (GENESIS) put in place of the active segment.
        let (_d, log) = rotated(3, 10_000);
        let (_d2, other) = log_with(1);
        std::fs::copy(other.path(), log.path()).unwrap();
        std::fs::copy(_d2.path().join("audit.head"), log.dir.join("audit.head")).unwrap();
        assert!(log.verify().is_err());
        assert!(log.append(action("more"), 0).is_err());
    }

    #[test]
    fn an_interrupted_rotation_verifies_and_recovers() {
        // Crash after sealing, before the new segment's first line.
        let (_d, log) = rotated(3, 10_000);
        std::fs::rename(log.path(), segment(&log, 3)).unwrap();
        assert_eq!(log.verify().unwrap(), 3);
        let mut log = log;
        log.now = Some(1003 * DAY);
        log.append(action("after"), 0).unwrap();
        assert_eq!(log.verify().unwrap(), 4);
    }

    #[test]
    fn expired_segments_are_dropped_from_the_start_with_an_anchor() {
        // One record a day for 20 days, 5 days kept.
        let (_d, log) = rotated(20, 5);
        let sealed = log.sealed_segments().unwrap();
        assert!(sealed.len() <= 7, "{sealed:?}");
        assert!(sealed[0].0 > 1);
        assert!(!segment(&log, 1).exists());
        assert!(log.dir.join("audit.anchor").exists());
        // The chain verifies from the anchor, and says what was dropped.
        let n = log.verify().unwrap();
        let records = log.records().unwrap();
        assert_eq!(n as usize, records.len());
        assert!(records.iter().any(|r| r.action.action == EXPIRE_ACTION));
        assert_eq!(records.last().unwrap().action.action, EXPIRE_ACTION);
    }

    #[test]
    fn deleting_more_than_the_anchor_says_is_detected() {
        let (_d, log) = rotated(20, 5);
        let first = log.sealed_segments().unwrap()[0].0;
        std::fs::remove_file(segment(&log, first)).unwrap();
        assert!(matches!(
            log.verify(),
            Err(AuditError::MissingSegment(s)) if s == segment_name(first)
        ));
    }

    #[test]
    fn a_forged_anchor_is_detected() {
        // Old segments deleted by hand, with an anchor written to cover it.
        let (_d, log) = rotated(6, 10_000);
        let kept = segment(&log, 3);
        let w = AuditLog::walk(&kept, None).unwrap();
        std::fs::remove_file(segment(&log, 1)).unwrap();
        std::fs::remove_file(segment(&log, 2)).unwrap();
        let anchor = Anchor {
            first_segment: 3,
            prev_hash: w.first_prev.unwrap(),
        };
        std::fs::write(
            log.dir.join("audit.anchor"),
            serde_json::to_vec(&anchor).unwrap(),
        )
        .unwrap();
        assert!(matches!(
            log.verify(),
            Err(AuditError::UnconfirmedAnchor(s)) if s == "audit.3.jsonl"
        ));
    }

    #[test]
    fn an_interrupted_drop_is_finished_later() {
        // Anchor written, files not yet removed: verification starts at the
        // anchor; the next drop removes the leftovers.
        let (_d, log) = rotated(20, 5);
        let first = log.sealed_segments().unwrap()[0].0;
        std::fs::write(segment(&log, first - 1), "leftover\n").unwrap();
        log.verify().unwrap();
        let mut log = log;
        log.now = Some(1020 * DAY);
        log.append(action("next"), 0).unwrap();
        assert!(!segment(&log, first - 1).exists());
        log.verify().unwrap();
    }
}
