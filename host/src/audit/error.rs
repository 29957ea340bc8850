//! What can be wrong with the log.

use super::*;

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
    #[error("audit log line {line} is incomplete ({bytes} bytes, no end of line): an append was cut short by a crash or power loss; the next milspecctl command that opens the store removes it and records the repair")]
    TornLine { line: u64, bytes: u64 },
    #[error("audit log has {lines} lines, one more than audit.head records: an append was cut short by a crash or power loss before the head was written; the next milspecctl command that opens the store moves the head forward and records the repair")]
    HeadBehind { lines: u64 },
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
