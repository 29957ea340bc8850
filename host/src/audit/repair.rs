//! Repairing what a crash leaves at the end of the active segment: an
//! incomplete last line, or a head one line behind (see the module docs).

use super::*;
use std::io::{Seek, SeekFrom};

/// How much of the active segment's end the quick check reads.
const TAIL_BYTES: u64 = 64 << 10;

impl AuditLog {
    /// Repairs an append that a crash cut short, and records the repair in the
    /// chain (an [`REPAIR_ACTION`] record whose detail says what was found).
    /// Returns that detail, or `None` when there was nothing to repair: the
    /// log is intact, or broken in a way no crash explains (which `verify`
    /// reports and `append` refuses to extend).
    pub fn repair(&self, uid: u32) -> Result<Option<String>, AuditError> {
        if self.end_agrees_with_head() {
            return Ok(None);
        }
        let _guard = self.lock()?;
        self.repair_locked(uid)
    }

    /// Cheap and lock-free: whether the active segment is absent or ends with
    /// a complete line whose hash the head records, the common case, which
    /// needs no walk of the segment.
    fn end_agrees_with_head(&self) -> bool {
        let Ok(mut f) = File::open(&self.log) else {
            return true;
        };
        let len = f.metadata().map_or(0, |m| m.len());
        if len == 0 {
            return true;
        }
        let start = len.saturating_sub(TAIL_BYTES);
        let mut tail = Vec::new();
        if f.seek(SeekFrom::Start(start)).is_err() || f.read_to_end(&mut tail).is_err() {
            return false;
        }
        let Some(body) = tail.strip_suffix(b"\n") else {
            return false;
        };
        let last = match body.iter().rposition(|&b| b == b'\n') {
            Some(i) => &body[i + 1..],
            None if start == 0 => body,
            None => return false, // a line longer than the tail read: walk it
        };
        self.read_head()
            .is_some_and(|h| h.last_hash == hash_hex(last))
    }

    /// [`AuditLog::repair`], the lock held.
    pub(super) fn repair_locked(&self, uid: u32) -> Result<Option<String>, AuditError> {
        let sealed = self.sealed_segments()?;
        let detail = match self.check_active(sealed.last()) {
            Err(AuditError::TornLine { line, bytes }) => self.cut_torn_line(line, bytes)?,
            Err(AuditError::HeadBehind { lines }) => {
                let w = Self::walk(&self.log, None)?;
                let head = Head {
                    lines,
                    last_hash: w.last_hash,
                };
                let json = serde_json::to_vec(&head).map_err(|e| AuditError::Malformed {
                    line: lines,
                    reason: e.to_string(),
                })?;
                write_atomic(&self.head, &json, 0o600).map_err(|e| self.io(e))?;
                format!(
                    "audit.head was one line behind {ACTIVE} (a crash after line {lines} was \
                     written, before the head was): head moved forward to line {lines}"
                )
            }
            _ => return Ok(None),
        };
        self.append_locked(
            Action {
                action: REPAIR_ACTION.into(),
                result: "ok".into(),
                detail: Some(detail.clone()),
                ..Action::default()
            },
            uid,
        )?;
        Ok(Some(detail))
    }

    /// Cuts the incomplete last line off; describes what was cut.
    fn cut_torn_line(&self, line: u64, bytes: u64) -> Result<String, AuditError> {
        let mut f = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&self.log)
            .map_err(|e| self.io(e))?;
        let len = f.metadata().map_err(|e| self.io(e))?.len();
        let keep = len.checked_sub(bytes).ok_or_else(|| {
            self.io(io::Error::other(
                "the log shrank while it was being repaired",
            ))
        })?;
        let mut torn = Vec::new();
        f.seek(SeekFrom::Start(keep)).map_err(|e| self.io(e))?;
        f.read_to_end(&mut torn).map_err(|e| self.io(e))?;
        f.set_len(keep).map_err(|e| self.io(e))?;
        f.sync_all().map_err(|e| self.io(e))?;
        Ok(format!(
            "an append was cut short by a crash or power loss: removed the incomplete line \
             {line} of {ACTIVE} ({bytes} bytes, sha256 {})",
            hash_hex(&torn)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::audit::tests::{action, log_with};

    fn add_bytes(log: &AuditLog, bytes: &[u8]) {
        let mut f = OpenOptions::new().append(true).open(log.path()).unwrap();
        f.write_all(bytes).unwrap();
    }

    fn actions(log: &AuditLog) -> Vec<String> {
        log.records()
            .unwrap()
            .into_iter()
            .map(|r| r.action.action)
            .collect()
    }

    /// An append whose line reached the file but whose head did not.
    fn append_without_head(log: &AuditLog, name: &str) {
        let head = std::fs::read(&log.head).ok();
        log.append(action(name), 0).unwrap();
        match head {
            Some(h) => std::fs::write(&log.head, h).unwrap(),
            None => std::fs::remove_file(&log.head).unwrap(),
        }
    }

    #[test]
    fn an_incomplete_last_line_is_reported_then_cut_and_recorded() {
        let (_d, log) = log_with(3);
        let before = std::fs::read(log.path()).unwrap();
        add_bytes(&log, b"{\"timestamp\":17,\"ui");
        assert!(matches!(
            log.verify(),
            Err(AuditError::TornLine { line: 4, bytes: 19 })
        ));
        // and appending is not refused: the repair comes first
        let detail = log.repair(0).unwrap().expect("repaired");
        assert!(
            detail.contains("incomplete line 4") && detail.contains("19 bytes"),
            "{detail}"
        );
        assert!(
            detail.contains(&hash_hex(b"{\"timestamp\":17,\"ui")),
            "{detail}"
        );
        assert_eq!(log.verify().unwrap(), 4);
        let after = std::fs::read(log.path()).unwrap();
        assert_eq!(
            &after[..before.len()],
            &before[..],
            "the complete lines stay"
        );
        let records = log.records().unwrap();
        assert_eq!(records[3].action.action, REPAIR_ACTION);
        assert_eq!(records[3].action.detail.as_deref(), Some(detail.as_str()));
        assert_eq!(log.repair(0).unwrap(), None, "nothing left to repair");
    }

    #[test]
    fn a_whole_record_without_its_newline_is_still_incomplete() {
        let (_d, log) = log_with(2);
        let (_d2, other) = log_with(3);
        let third = std::fs::read_to_string(other.path()).unwrap();
        let third = third.lines().nth(2).unwrap().to_owned();
        add_bytes(&log, third.as_bytes());
        assert!(matches!(
            log.verify(),
            Err(AuditError::TornLine { line: 3, .. })
        ));
        assert!(log.repair(0).unwrap().is_some());
        assert_eq!(actions(&log), ["step0", "step1", REPAIR_ACTION]);
    }

    #[test]
    fn append_repairs_first_then_appends() {
        let (_d, log) = log_with(2);
        add_bytes(&log, b"{\"time");
        log.append(action("next"), 0).unwrap();
        assert_eq!(log.verify().unwrap(), 4);
        assert_eq!(actions(&log), ["step0", "step1", REPAIR_ACTION, "next"]);
    }

    #[test]
    fn a_head_one_line_behind_is_reported_then_moved_forward() {
        let (_d, log) = log_with(3);
        append_without_head(&log, "cut");
        assert!(matches!(
            log.verify(),
            Err(AuditError::HeadBehind { lines: 4 })
        ));
        let detail = log.repair(0).unwrap().expect("repaired");
        assert!(detail.contains("line 4"), "{detail}");
        assert_eq!(log.verify().unwrap(), 5);
        assert_eq!(
            actions(&log),
            ["step0", "step1", "step2", "cut", REPAIR_ACTION]
        );
    }

    #[test]
    fn the_first_line_without_a_head_is_a_head_behind() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::new(dir.path());
        append_without_head(&log, "first");
        assert!(matches!(
            log.verify(),
            Err(AuditError::HeadBehind { lines: 1 })
        ));
        log.append(action("second"), 0).unwrap();
        assert_eq!(actions(&log), ["first", REPAIR_ACTION, "second"]);
        assert_eq!(log.verify().unwrap(), 3);
    }

    #[test]
    fn a_cut_first_line_of_a_new_segment_is_repaired() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = AuditLog::new(dir.path());
        log.max_segment_bytes = 1;
        for i in 0..3 {
            log.append(action(&format!("step{i}")), 0).unwrap();
        }
        // The rotation sealed the active segment; the new one's first line
        // was cut short.
        std::fs::rename(log.path(), dir.path().join(segment_name(3))).unwrap();
        add_bytes_new(&log, b"{\"timestamp\":1");
        assert!(matches!(
            log.verify(),
            Err(AuditError::TornLine { line: 1, .. })
        ));
        assert!(log.repair(0).unwrap().is_some());
        assert_eq!(log.verify().unwrap(), 4);

        // the same with a complete first line and the head still on the sealed one
        let dir = tempfile::tempdir().unwrap();
        let mut log = AuditLog::new(dir.path());
        log.max_segment_bytes = 1;
        for i in 0..3 {
            log.append(action(&format!("step{i}")), 0).unwrap();
        }
        append_without_head(&log, "sealing");
        assert!(matches!(
            log.verify(),
            Err(AuditError::HeadBehind { lines: 1 })
        ));
        assert!(log.repair(0).unwrap().is_some());
        assert_eq!(log.verify().unwrap(), 5);
    }

    fn add_bytes_new(log: &AuditLog, bytes: &[u8]) {
        std::fs::write(log.path(), bytes).unwrap();
    }

    #[test]
    fn what_no_crash_explains_is_not_repaired() {
        // An incomplete line after a removed complete one: the head disagrees.
        let (_d, log) = log_with(3);
        let text = std::fs::read_to_string(log.path()).unwrap();
        let kept: Vec<&str> = text.lines().take(2).collect();
        std::fs::write(log.path(), format!("{}\n{{\"time", kept.join("\n"))).unwrap();
        let before = std::fs::read(log.path()).unwrap();
        assert!(matches!(log.verify(), Err(AuditError::HeadMismatch { .. })));
        assert_eq!(log.repair(0).unwrap(), None);
        assert!(log.append(action("more"), 0).is_err());
        assert_eq!(std::fs::read(log.path()).unwrap(), before, "left as found");

        // Two lines past the head.
        let (_d, log) = log_with(2);
        let head = std::fs::read(&log.head).unwrap();
        log.append(action("a"), 0).unwrap();
        log.append(action("b"), 0).unwrap();
        std::fs::write(&log.head, head).unwrap();
        assert!(matches!(log.verify(), Err(AuditError::HeadMismatch { .. })));
        assert_eq!(log.repair(0).unwrap(), None);

        // A complete last line that is not a record.
        let (_d, log) = log_with(2);
        add_bytes(&log, b"{not json\n");
        assert!(matches!(
            log.verify(),
            Err(AuditError::Malformed { line: 3, .. })
        ));
        assert_eq!(log.repair(0).unwrap(), None);

        // A missing head with more than one line.
        let (_d, log) = log_with(2);
        std::fs::remove_file(&log.head).unwrap();
        assert_eq!(log.repair(0).unwrap(), None);
        assert!(matches!(log.verify(), Err(AuditError::NoHead(2))));
    }

    #[test]
    fn an_intact_or_absent_log_needs_nothing() {
        let (_d, log) = log_with(2);
        let before = std::fs::read(log.path()).unwrap();
        assert_eq!(log.repair(0).unwrap(), None);
        assert_eq!(std::fs::read(log.path()).unwrap(), before);
        let dir = tempfile::tempdir().unwrap();
        let absent = AuditLog::new(&dir.path().join("nowhere"));
        assert_eq!(absent.repair(0).unwrap(), None);
        assert!(!dir.path().join("nowhere").exists());
    }
}
