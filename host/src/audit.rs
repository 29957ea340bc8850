//! Tamper-evident audit log: one JSON object per line in `audit.jsonl` (mode
//! 0600), each carrying the SHA-256 of the previous line (`prev_hash`; the first
//! line carries 64 zeros). Editing, deleting or reordering a line breaks the chain.
//! The number of lines and the hash of the last one are also kept in `audit.head`
//! (written atomically after each append), so that removing or editing the *last*
//! line is detected too. Someone who can rewrite both files consistently can still
//! forge history; the log's job is to make silent edits visible, and its lines are
//! also meant to be shipped off the host.

use crate::fsutil::write_atomic;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Hash of "no previous line".
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

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
}

/// The `audit.head` anchor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Head {
    lines: u64,
    last_hash: String,
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
}

/// The audit log in `dir` (`audit.jsonl` and `audit.head`).
#[derive(Clone, Debug)]
pub struct AuditLog {
    log: PathBuf,
    head: PathBuf,
}

fn hash_hex(line: &[u8]) -> String {
    hex::encode(Sha256::digest(line))
}

impl AuditLog {
    pub fn new(dir: &Path) -> Self {
        AuditLog {
            log: dir.join("audit.jsonl"),
            head: dir.join("audit.head"),
        }
    }

    pub fn path(&self) -> &Path {
        &self.log
    }

    fn io(&self, source: io::Error) -> AuditError {
        AuditError::Io {
            path: self.log.display().to_string(),
            source,
        }
    }

    /// Walks the chain; returns (lines, hash of the last line).
    fn walk(&self) -> Result<(u64, String), AuditError> {
        let file = match File::open(&self.log) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((0, GENESIS.into())),
            Err(e) => return Err(self.io(e)),
        };
        let mut prev = GENESIS.to_owned();
        let mut n = 0u64;
        for line in BufReader::new(file).split(b'\n') {
            let line = line.map_err(|e| self.io(e))?;
            n += 1;
            let rec: Record = serde_json::from_slice(&line).map_err(|e| AuditError::Malformed {
                line: n,
                reason: e.to_string(),
            })?;
            if rec.prev_hash != prev {
                return Err(AuditError::BrokenChain { line: n });
            }
            prev = hash_hex(&line);
        }
        Ok((n, prev))
    }

    /// Checks the whole chain and the head anchor; returns the number of lines.
    pub fn verify(&self) -> Result<u64, AuditError> {
        self.check().map(|(n, _)| n)
    }

    /// As `verify`, also returning the hash of the last line.
    fn check(&self) -> Result<(u64, String), AuditError> {
        let (n, last) = self.walk()?;
        let head: Option<Head> = std::fs::read(&self.head)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        match head {
            None if n == 0 => Ok((0, last)),
            None => Err(AuditError::NoHead(n)),
            Some(h) if h.lines == n && h.last_hash == last => Ok((n, last)),
            Some(h) => Err(AuditError::HeadMismatch {
                found: n,
                found_hash: last,
                expected: h.lines,
                expected_hash: h.last_hash,
            }),
        }
    }

    /// Appends one record (creating the log with mode 0600). Refuses to extend a
    /// log whose chain is already broken, so tampering stays visible.
    pub fn append(&self, action: Action, uid: u32) -> Result<Record, AuditError> {
        if let Some(dir) = self.log.parent() {
            std::fs::create_dir_all(dir).map_err(|e| self.io(e))?;
        }
        let lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&self.log)
            .map_err(|e| self.io(e))?;
        let _guard = nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockExclusive)
            .map_err(|(_, e)| self.io(e.into()))?;
        let (n, prev_hash) = self.check()?;
        let record = Record {
            timestamp: crate::clock::unix_secs(),
            uid,
            sudo_user: std::env::var("SUDO_USER").ok(),
            action,
            prev_hash,
        };
        let line = serde_json::to_vec(&record).map_err(|e| AuditError::Malformed {
            line: n + 1,
            reason: e.to_string(),
        })?;
        let mut f = OpenOptions::new()
            .append(true)
            .open(&self.log)
            .map_err(|e| self.io(e))?;
        let mut buf = line.clone();
        buf.push(b'\n');
        f.write_all(&buf).map_err(|e| self.io(e))?;
        f.sync_all().map_err(|e| self.io(e))?;
        let head = Head {
            lines: n + 1,
            last_hash: hash_hex(&line),
        };
        let head_json = serde_json::to_vec(&head).map_err(|e| AuditError::Malformed {
            line: n + 1,
            reason: e.to_string(),
        })?;
        write_atomic(&self.head, &head_json, 0o600).map_err(|e| self.io(e))?;
        Ok(record)
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
}
