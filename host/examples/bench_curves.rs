//! Scaling curves for `make bench`, as tables on stdout and SVG plots under
//! `target/bench/` (written by hand: a few lines of SVG need no crate).
//!
//! * `bench_curves audit [MAX_LINES]`: `audit verify` on logs of 10^3 .. 10^6
//!   lines (MAX_LINES, default 1000000), written as 256 KiB segments the way
//!   rotation leaves them; prints lines/s per size.
//! * `bench_curves store FILE`: plots the `# curve-store` rows that the
//!   in-guest bench printed (copied from `make bench` output into FILE).

use milspec_host::audit::{segment_name, Action, AuditLog, Record, SegmentLink, GENESIS};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::time::Instant;

/// Writes a chain of `n` records in segments of about 256 KiB, plus the head.
fn write_log(dir: &Path, n: u64) -> std::io::Result<()> {
    let mut prev = GENESIS.to_owned();
    let mut seg = 1u64;
    let mut buf: Vec<u8> = Vec::new();
    let mut in_seg = 0u64;
    let mut link = None;
    for i in 0..n {
        let rec = Record {
            timestamp: 1_700_000_000 + i,
            uid: 0,
            sudo_user: None,
            action: Action {
                action: if i % 2 == 0 { "load" } else { "rollback" }.into(),
                result: "ok".into(),
                deployment_id: Some(format!("dep-{}-{i}", 1_700_000_000 + i)),
                component_versions: BTreeMap::from([
                    ("from".to_owned(), "1.0.0".to_owned()),
                    ("to".to_owned(), "1.0.1".to_owned()),
                ]),
                rollback_occurred: false,
                duration_seconds: 0.123,
                detail: None,
            },
            prev_hash: prev.clone(),
            segment: link.take(),
        };
        let line = serde_json::to_vec(&rec).map_err(std::io::Error::other)?;
        prev = hex::encode(Sha256::digest(&line));
        buf.extend_from_slice(&line);
        buf.push(b'\n');
        in_seg += 1;
        if buf.len() >= 256 << 10 && i + 1 < n {
            std::fs::write(dir.join(segment_name(seg)), &buf)?;
            link = Some(SegmentLink {
                previous: segment_name(seg),
                previous_lines: in_seg,
            });
            seg += 1;
            buf.clear();
            in_seg = 0;
        }
    }
    std::fs::write(dir.join("audit.jsonl"), &buf)?;
    std::fs::write(
        dir.join("audit.head"),
        format!("{{\"lines\":{in_seg},\"last_hash\":\"{prev}\"}}"),
    )
}

/// A log-log line plot of `series` (name, points) as SVG.
fn svg(title: &str, xlabel: &str, ylabel: &str, series: &[(&str, Vec<(f64, f64)>)]) -> String {
    let (w, h, m) = (640.0, 400.0, 60.0);
    let pts = series.iter().flat_map(|(_, p)| p.iter());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in pts {
        x0 = x0.min(x.log10());
        x1 = x1.max(x.log10());
        y0 = y0.min(y.log10());
        y1 = y1.max(y.log10());
    }
    if x1 <= x0 {
        x1 = x0 + 1.0;
    }
    y0 = (y0 - 0.2).floor();
    y1 = (y1 + 0.2).ceil();
    let sx = |x: f64| m + (x.log10() - x0) / (x1 - x0) * (w - 2.0 * m);
    let sy = |y: f64| h - m - (y.log10() - y0) / (y1 - y0) * (h - 2.0 * m);
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"12\">\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\
         <text x=\"{}\" y=\"20\" text-anchor=\"middle\" font-size=\"14\">{title}</text>\
         <text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{xlabel} (log)</text>\
         <text x=\"15\" y=\"{}\" transform=\"rotate(-90 15 {})\" text-anchor=\"middle\">{ylabel} (log)</text>\
         <path d=\"M{m} {m} V{} H{}\" stroke=\"black\" fill=\"none\"/>",
        w / 2.0,
        w / 2.0,
        h - 15.0,
        h / 2.0,
        h / 2.0,
        h - m,
        w - m
    );
    let mut d = y0;
    while d <= y1 {
        let y = sy(10f64.powf(d));
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">1e{d}</text>",
            m - 4.0,
            y + 4.0
        );
        d += 1.0;
    }
    let colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"];
    for (i, (name, p)) in series.iter().enumerate() {
        let c = colors[i % colors.len()];
        let path: Vec<String> = p
            .iter()
            .map(|&(x, y)| format!("{:.1},{:.1}", sx(x), sy(y)))
            .collect();
        let _ = write!(
            s,
            "<polyline points=\"{}\" stroke=\"{c}\" fill=\"none\" stroke-width=\"2\"/>",
            path.join(" ")
        );
        for &(x, y) in p {
            let _ = write!(
                s,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{c}\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"10\">{x}</text>",
                sx(x),
                sy(y),
                sx(x),
                h - m + 14.0
            );
        }
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{}\" fill=\"{c}\">{name}</text>",
            w - m - 120.0,
            m + 16.0 * i as f64
        );
    }
    s.push_str("</svg>\n");
    s
}

fn out_dir() -> std::path::PathBuf {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench");
    let _ = std::fs::create_dir_all(&d);
    d
}

fn audit(max: u64) -> Result<(), Box<dyn std::error::Error>> {
    // Wall time depends on what else the (shared) host runs; CPU time (all
    // threads, from /proc/self/stat) much less: both are printed.
    println!("# audit-verify lines wall_s lines_per_wall_s cpu_s lines_per_cpu_s runs");
    let mut points = Vec::new();
    let mut n = 1000;
    while n <= max {
        let dir = tempfile_dir()?;
        write_log(&dir, n)?;
        let log = AuditLog::new(&dir);
        let (mut runs, cpu0, t) = (0u32, cpu_secs(), Instant::now());
        while runs == 0 || t.elapsed().as_secs_f64() < 0.5 {
            let got = log.verify()?;
            if got != n {
                return Err(format!("verified {got} lines, wrote {n}").into());
            }
            runs += 1;
        }
        let wall = t.elapsed().as_secs_f64() / f64::from(runs);
        let cpu = (cpu_secs() - cpu0) / f64::from(runs);
        println!(
            "# audit-verify {n} {wall:.4} {:.0} {cpu:.4} {:.0} {runs}",
            n as f64 / wall,
            n as f64 / cpu.max(1e-9)
        );
        points.push((n as f64, wall * 1e3));
        let _ = std::fs::remove_dir_all(&dir);
        n *= 10;
    }
    let path = out_dir().join("audit_verify.svg");
    std::fs::write(
        &path,
        svg(
            "audit verify (host)",
            "lines",
            "ms",
            &[("audit verify", points)],
        ),
    )?;
    println!("# plot: {}", path.display());
    Ok(())
}

/// CPU time of this process (user + system, all threads), in seconds.
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses).
    let rest = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the line: 11 and 12 here.
    (ticks(11) + ticks(12)) / 100.0
}

fn tempfile_dir() -> std::io::Result<std::path::PathBuf> {
    let d = std::env::temp_dir().join(format!("milspec-audit-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d)?;
    Ok(d)
}

fn store(file: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(file)?;
    let mut cols: [Vec<(f64, f64)>; 3] = Default::default();
    for l in text.lines() {
        let w: Vec<&str> = l.split_whitespace().collect();
        if let ["#", "curve-store", n, a, b, c] = w.as_slice() {
            let Ok(n) = n.parse::<f64>() else { continue };
            for (i, v) in [a, b, c].iter().enumerate() {
                if let Ok(v) = v.parse() {
                    cols[i].push((n, v));
                }
            }
        }
    }
    if cols[0].is_empty() {
        return Err(format!("{}: no '# curve-store' rows", file.display()).into());
    }
    let [list, load, verify] = cols;
    let path = out_dir().join("store_scaling.svg");
    std::fs::write(
        &path,
        svg(
            "milspecctl vs. store size (TCG VM)",
            "entries",
            "ms",
            &[("list", list), ("load", load), ("verify", verify)],
        ),
    )?;
    println!("# plot: {}", path.display());
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let r = match args.first().map(String::as_str) {
        Some("audit") => audit(
            args.get(1)
                .and_then(|s| s.parse().ok())
                .unwrap_or(1_000_000),
        ),
        Some("store") if args.len() == 2 => store(Path::new(&args[1])),
        _ => Err("usage: bench_curves audit [MAX_LINES] | store FILE".into()),
    };
    if let Err(e) = r {
        let _ = writeln!(std::io::stderr(), "bench_curves: {e}");
        std::process::exit(1);
    }
}
