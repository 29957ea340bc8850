//! The event cursor file (`<runtime-dir>/cursor.json`): where event reading
//! resumes after a daemon restart, so the same event is not acted on twice.

use super::link::Link;
use super::Service;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The last position, valid only for the module instance loaded at `loaded_at_ns`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Cursor {
    pub(super) loaded_at_ns: u64,
    pub(super) next_seq: u64,
}

impl Cursor {
    /// The saved cursor; `None` when missing or unreadable (start from the oldest event).
    pub(super) fn read(path: &Path) -> Option<Cursor> {
        serde_json::from_slice(&std::fs::read(path).ok()?).ok()
    }

    pub(super) fn save(&self, path: &Path) {
        if let Ok(bytes) = serde_json::to_vec(self) {
            if let Err(e) = milspec_host::fsutil::write_atomic(path, &bytes, 0o644) {
                tracing::warn!("cannot save the event cursor: {e}");
            }
        }
    }
}

impl Service {
    pub(super) fn cursor_path(&self) -> std::path::PathBuf {
        self.opts.runtime_dir.join("cursor.json")
    }

    /// Saves the position of the open connection (nothing when disconnected).
    pub(super) fn save_cursor(&self) {
        if let Link::Connected(c) = &self.link {
            Cursor {
                loaded_at_ns: c.loaded_at_ns,
                next_seq: c.expected.unwrap_or(c.resume_seq).max(c.resume_seq),
            }
            .save(&self.cursor_path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_tolerates_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cursor.json");
        assert_eq!(Cursor::read(&path), None);
        let c = Cursor {
            loaded_at_ns: 7,
            next_seq: 42,
        };
        c.save(&path);
        assert_eq!(Cursor::read(&path), Some(c));
        std::fs::write(&path, "not json").unwrap();
        assert_eq!(Cursor::read(&path), None);
    }
}
