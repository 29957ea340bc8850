//! The files beside the records: sealed segments, `audit.head`, `audit.anchor`.

use super::*;

/// The `audit.head` anchor: the active segment's lines and last hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Head {
    pub(super) lines: u64,
    pub(super) last_hash: String,
}

/// The `audit.anchor` file: where verification starts after expired segments
/// were dropped.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Anchor {
    /// Number of the first segment kept.
    pub(super) first_segment: u64,
    /// The `prev_hash` of its first line (the hash of the dropped segment's
    /// last line).
    pub(super) prev_hash: String,
}

impl AuditLog {
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

    pub(super) fn read_anchor(&self) -> Result<Option<Anchor>, AuditError> {
        match std::fs::read(self.dir.join("audit.anchor")) {
            Ok(b) => serde_json::from_slice(&b)
                .map(Some)
                .map_err(|e| AuditError::BadAnchor(e.to_string())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(AuditError::BadAnchor(e.to_string())),
        }
    }

    pub(super) fn read_head(&self) -> Option<Head> {
        std::fs::read(&self.head)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
    }

    /// Lines and last line's hash of a sealed segment, without walking its
    /// chain (`verify` does that): what the active segment must link to.
    pub(super) fn tail(path: &Path) -> Result<(u64, String), AuditError> {
        let bytes = std::fs::read(path).map_err(|e| Self::io_at(path, e))?;
        let body = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
        if body.is_empty() {
            return Ok((0, GENESIS.into()));
        }
        let lines = body.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
        let last = body.rsplit(|&b| b == b'\n').next().unwrap_or(body);
        Ok((lines, hash_hex(last)))
    }
}
