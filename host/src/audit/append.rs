//! Appending under the lock, rotation and retention.

use super::*;

impl AuditLog {
    pub(super) fn lock(&self) -> Result<nix::fcntl::Flock<File>, AuditError> {
        // A lock file of its own: the active segment is renamed on rotation.
        let path = self.dir.join("audit.lock");
        let f = crate::fsutil::open_lock_file(&path).map_err(|e| Self::io_at(&path, e))?;
        nix::fcntl::Flock::lock(f, nix::fcntl::FlockArg::LockExclusive)
            .map_err(|(_, e)| Self::io_at(&path, e.into()))
    }

    /// Writes one line to the active segment and the head.
    pub(super) fn write_line(&self, record: &Record, n: u64) -> Result<String, AuditError> {
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
    ///
    /// An append cut short by a crash (an incomplete last line, or a head one
    /// line behind) is repaired first, and the repair recorded (see
    /// [`AuditLog::repair`]).
    pub fn append(&self, action: Action, uid: u32) -> Result<Record, AuditError> {
        std::fs::create_dir_all(&self.dir).map_err(|e| self.io(e))?;
        let _guard = self.lock()?;
        self.repair_locked(uid)?;
        self.append_locked(action, uid)
    }

    /// [`AuditLog::append`], the lock held.
    pub(super) fn append_locked(&self, action: Action, uid: u32) -> Result<Record, AuditError> {
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
    pub(super) fn expire(&self, n: u64, prev_hash: String, uid: u32) -> Result<(), AuditError> {
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
