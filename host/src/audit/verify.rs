//! Walking the chain: one segment, all segments in parallel, the head and the anchor.

use super::*;

/// One segment walked.
#[derive(Clone, Debug, Default)]
pub(super) struct Walked {
    pub(super) lines: u64,
    pub(super) last_hash: String,
    pub(super) first_prev: Option<String>,
    pub(super) first_link: Option<SegmentLink>,
    pub(super) first_timestamp: Option<u64>,
    pub(super) last_timestamp: Option<u64>,
    /// `first_segment` of every `audit_expire` record in it.
    pub(super) expiries: Vec<String>,
    /// Bytes of the complete lines.
    pub(super) bytes: u64,
    /// The last complete line's `prev_hash`.
    pub(super) last_prev: Option<String>,
    /// Length of an incomplete last line (bytes after the last newline): what
    /// an append cut short by a crash leaves. Not counted in `lines`.
    pub(super) torn: Option<u64>,
}

/// Walks `segments`, on as many threads as there are CPUs.
pub(super) fn walk_all(segments: &[(u64, PathBuf)]) -> Vec<Result<Walked, AuditError>> {
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

/// An incomplete last line as an error (after the complete lines before it
/// were checked, so that only an otherwise intact log reports it).
pub(super) fn torn_line(w: &Walked) -> Result<(), AuditError> {
    match w.torn {
        Some(bytes) => Err(AuditError::TornLine {
            line: w.lines + 1,
            bytes,
        }),
        None => Ok(()),
    }
}

impl AuditLog {
    /// Walks one segment's chain. `first_prev`: what the first line's
    /// `prev_hash` must be (`None`: whatever it is, checked by the caller).
    pub(super) fn walk(path: &Path, first_prev: Option<&str>) -> Result<Walked, AuditError> {
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
        let mut prev_prev: Option<[u8; 32]> = None;
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
            if line.last() != Some(&b'\n') {
                // Only the end of the file lacks a newline: every line is
                // written with its own in one write, so this one was cut short.
                w.torn = Some(got as u64);
                break;
            }
            w.bytes += got as u64;
            line.pop();
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
            prev_prev = prev;
            prev = Some(Sha256::digest(&line).into());
        }
        // The chain was checked: the last line's prev_hash is the hash of the
        // line before it, or the first line's own.
        w.last_prev = match (w.lines, prev_prev) {
            (0, _) => None,
            (1, _) => w.first_prev.clone(),
            (_, p) => p.map(hex::encode),
        };
        w.last_hash = match prev {
            Some(p) => hex::encode(p),
            None => first_prev.unwrap_or(GENESIS).to_owned(),
        };
        Ok(w)
    }

    /// The active segment's end against `audit.head`. `sealed_end`: lines and
    /// last hash of the newest sealed segment (an interrupted rotation leaves
    /// no active segment and the head still describing that one).
    pub(super) fn check_head(
        &self,
        active: &Walked,
        sealed_end: Option<(u64, &str)>,
    ) -> Result<(), AuditError> {
        let (n, last) = (active.lines, active.last_hash.as_str());
        match self.read_head() {
            None if n == 0 => Ok(()),
            // The very first line, written before its head ever was.
            None if n == 1
                && sealed_end.is_none()
                && active.last_prev.as_deref() == Some(GENESIS) =>
            {
                Err(AuditError::HeadBehind { lines: n })
            }
            None => Err(AuditError::NoHead(n)),
            Some(h) if h.lines == n && h.last_hash == last => Ok(()),
            Some(h) if n == 0 && sealed_end == Some((h.lines, h.last_hash.as_str())) => Ok(()),
            // One complete line past the head, chained to the line the head
            // names: an append whose line was written but not yet the head.
            Some(h)
                if active.last_prev.as_deref() == Some(h.last_hash.as_str())
                    && (n == h.lines + 1
                        || (n == 1 && sealed_end == Some((h.lines, h.last_hash.as_str())))) =>
            {
                Err(AuditError::HeadBehind { lines: n })
            }
            Some(h) => Err(AuditError::HeadMismatch {
                found: n,
                found_hash: last.to_owned(),
                expected: h.lines,
                expected_hash: h.last_hash,
            }),
        }
    }

    /// The active segment, its link to the newest sealed one checked, and
    /// the head. What `append` checks before it writes. Returns the walk and
    /// the newest sealed segment's (number, lines, last hash).
    #[allow(clippy::type_complexity)]
    pub(super) fn check_active(
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
        torn_line(&w)?;
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
            let w = w.and_then(|w| torn_line(&w).map(|()| w));
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
        torn_line(&active)?;
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
}
