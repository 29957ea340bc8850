use super::*;

use std::os::unix::fs::PermissionsExt;

pub(super) fn action(name: &str) -> Action {
    Action {
        action: name.into(),
        result: "ok".into(),
        ..Action::default()
    }
}

pub(super) fn log_with(n: usize) -> (tempfile::TempDir, AuditLog) {
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
