//! The service binary on the host, with the module absent (the VM suite runs it
//! against the real module): the notify protocol seen by a fake service manager,
//! health and metrics files, SIGHUP with a broken policy, SIGTERM.

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Lab {
    dir: tempfile::TempDir,
    notify: UnixDatagram,
}

impl Lab {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("dev")).unwrap();
        std::fs::create_dir_all(dir.path().join("prom")).unwrap();
        let notify = UnixDatagram::bind(dir.path().join("notify")).unwrap();
        notify
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        Lab { dir, notify }
    }

    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    fn write_policy(&self, extra: &str) -> PathBuf {
        let p = self.path("policy.toml");
        std::fs::write(
            &p,
            format!(
                "[health]\nfile = \"{}\"\nrefresh = \"0s\"\n[metrics]\ntextfile_dir = \"{}\"\n{extra}",
                self.path("health.json").display(),
                self.path("prom").display()
            ),
        )
        .unwrap();
        p
    }

    fn spawn(&self, policy: &Path) -> Daemon {
        self.spawn_with(policy, &[])
    }

    /// Like `spawn`, with extra environment (e.g. `WATCHDOG_USEC`).
    fn spawn_with(&self, policy: &Path, env: &[(&str, &str)]) -> Daemon {
        Daemon(
            Command::new(env!("CARGO_BIN_EXE_milspecd"))
                .envs(env.iter().copied())
                .arg("--policy")
                .arg(policy)
                .arg("--runtime-dir")
                .arg(self.path("run"))
                .env("NOTIFY_SOCKET", self.path("notify"))
                .env("MILSPEC_DEVICE", self.path("dev/milspec"))
                .env("MILSPEC_PROC_STATUS", self.path("proc-status"))
                .env("MILSPECD_LOG", "debug")
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
        )
    }

    /// Waits for a notify message containing `want`; returns it.
    fn expect(&self, want: &str) -> String {
        let mut buf = [0u8; 4096];
        let mut seen = Vec::new();
        loop {
            let n = match self.notify.recv(&mut buf) {
                Ok(n) => n,
                // A recv with a timeout is not restarted after a stop/continue of
                // this process (signal(7)): not the daemon's fault, ask again.
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => panic!("no {want:?} from milspecd ({e}); saw {seen:?}"),
            };
            let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
            if msg.contains(want) {
                return msg;
            }
            seen.push(msg);
        }
    }

    fn health(&self) -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(self.path("health.json")).unwrap()).unwrap()
    }
}

/// The daemon under test; killed if the test fails half way.
struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn signal(child: &Child, sig: nix::sys::signal::Signal) {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), sig).unwrap();
}

fn wait_exit(child: &mut Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        assert!(Instant::now() < deadline, "milspecd did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn absent_module_ready_reload_and_stop() {
    let lab = Lab::new();
    let policy = lab.write_policy("");
    let mut daemon = lab.spawn(&policy);
    let child = &mut daemon.0;

    let ready = lab.expect("READY=1");
    assert!(
        ready.contains("STATUS=unhealthy: dell_milspec is not loaded"),
        "{ready}"
    );
    assert!(ready.contains("waiting for /dev/milspec"), "{ready}");
    let h = lab.health();
    assert_eq!(h["status"], "unhealthy");
    assert_eq!(h["components"]["module"]["status"], "unhealthy");
    assert_eq!(h["components"]["policy"]["status"], "healthy");
    let prom = std::fs::read_to_string(lab.path("prom/milspec.prom")).unwrap();
    assert!(prom.contains("milspec_module_loaded 0\n"), "{prom}");
    assert!(
        prom.contains("milspec_policy_violations_total{kind=\"module_absent\"} 1\n"),
        "{prom}"
    );

    // A broken policy on SIGHUP: refused, the old one stays, health says so.
    std::fs::write(&policy, "[level]\nminimum = \"bogus\"\n").unwrap();
    signal(child, nix::sys::signal::Signal::SIGHUP);
    lab.expect("RELOADING=1");
    lab.expect("READY=1");
    let h = lab.health();
    assert_eq!(h["components"]["policy"]["status"], "degraded");
    let reason = h["components"]["policy"]["reason"].as_str().unwrap();
    assert!(
        reason.contains("line 2") && reason.contains("bogus"),
        "{reason}"
    );
    let prom = std::fs::read_to_string(lab.path("prom/milspec.prom")).unwrap();
    assert!(
        prom.contains("milspec_policy_reload_failures_total 1\n"),
        "{prom}"
    );
    // The health file still goes to the old policy's path: the old policy applies.
    assert!(lab.path("health.json").exists());

    // Fixed again: the degraded policy component clears.
    lab.write_policy("");
    signal(child, nix::sys::signal::Signal::SIGHUP);
    lab.expect("RELOADING=1");
    lab.expect("READY=1");
    assert_eq!(lab.health()["components"]["policy"]["status"], "healthy");

    signal(child, nix::sys::signal::Signal::SIGTERM);
    lab.expect("STOPPING=1");
    let status = wait_exit(child);
    assert!(status.success(), "{status:?}");
    let mut err = String::new();
    use std::io::Read;
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(err.contains("policy reload refused"), "{err}");
    assert!(err.contains("stopped"), "{err}");
}

#[test]
fn invalid_policy_refuses_to_start() {
    let lab = Lab::new();
    let p = lab.path("bad.toml");
    std::fs::write(&p, "[actions]\nmodule_denied = [\"alert\"]\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_milspecd"))
        .arg("--policy")
        .arg(&p)
        .env("NOTIFY_SOCKET", lab.path("notify"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(78));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("refusing to start") && err.contains("actions.module_denied"),
        "{err}"
    );
    // Nothing was announced to the service manager.
    lab.notify.set_nonblocking(true).unwrap();
    assert!(lab.notify.recv(&mut [0u8; 64]).is_err());
}

#[test]
fn check_config_validates_without_running() {
    let lab = Lab::new();
    let good = lab.write_policy("[level]\nminimum = \"enhanced\"\n");
    let out = Command::new(env!("CARGO_BIN_EXE_milspecd"))
        .arg("--check-config")
        .arg(&good)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).ends_with(": valid\n"));
    let bad = lab.path("bad.toml");
    std::fs::write(&bad, "[level]\n\nlock_at = \"standard\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_milspecd"))
        .arg("--check-config")
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(78));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 3: level.lock_at"), "{err}");
    // The example policy shipped in packaging/ is valid.
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../packaging/policy.toml");
    let out = Command::new(env!("CARGO_BIN_EXE_milspecd"))
        .arg("--check-config")
        .arg(&example)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The hand-written milspecd(8) names every option of `milspecd --help`.
#[test]
fn man_page_covers_every_option() {
    let help = Command::new(env!("CARGO_BIN_EXE_milspecd"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    let man = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../packaging/man/milspecd.8"),
    )
    .unwrap()
    .replace("\\-", "-");
    let mut n = 0;
    for word in help.split_whitespace() {
        let opt = word.trim_matches(|c: char| !(c.is_ascii_alphanumeric() || c == '-'));
        if opt.starts_with("--") && opt.len() > 2 {
            n += 1;
            assert!(man.contains(opt), "milspecd.8 lacks {opt}");
        }
    }
    assert!(n >= 5, "parsed only {n} options from --help");
}

/// A port nobody listens on right now (the daemon binds it a moment later).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One `GET` on the metrics endpoint; the whole answer.
fn http_get(port: u16, path: &str) -> std::io::Result<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(s, "GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n")?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out)
}

/// The metrics endpoint is off the event loop: clients that connect and send
/// nothing, or send a 1 MiB header, delay neither the watchdog nor a SIGHUP
/// reload, a normal scrape is answered meanwhile, the huge header is refused
/// and the silent clients are cut off by the server's timeout.
#[test]
fn slow_metrics_clients_do_not_stall_the_loop() {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    const WATCHDOG_PERIOD: Duration = Duration::from_millis(200); // WATCHDOG_USEC / 2
    const WINDOW: Duration = Duration::from_secs(3);
    let lab = Lab::new();
    let port = free_port();
    let policy = lab.write_policy(&format!("listen_port = {port}\n"));
    let mut daemon = lab.spawn_with(&policy, &[("WATCHDOG_USEC", "400000")]);
    lab.expect("READY=1");
    assert!(http_get(port, "/metrics")
        .unwrap()
        .starts_with("HTTP/1.1 200 OK"));

    let start = Instant::now();
    // A new silent client every 500 ms, each held open for the whole window.
    let stop = Arc::new(AtomicBool::new(false));
    let silent = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                held.push((
                    TcpStream::connect(("127.0.0.1", port)).unwrap(),
                    Instant::now(),
                ));
                std::thread::sleep(Duration::from_millis(500));
            }
            held
        })
    };
    // A request line followed by 1 MiB of header without an end.
    let huge = std::thread::spawn(move || {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut req = b"GET /metrics HTTP/1.1\r\nX-Filler: ".to_vec();
        req.resize(req.len() + (1 << 20), b'a');
        let _ = s.write_all(&req); // the server may cut us off half way
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    });
    // A normal scrape while the slow clients are connected.
    let scrape = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(800));
        let t = Instant::now();
        (http_get(port, "/metrics"), t.elapsed())
    });

    // Watch the notify socket for the window; send SIGHUP half way.
    lab.notify
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let mut pings = Vec::new();
    let mut hup_sent = None;
    let (mut reloading_at, mut reloaded_at) = (None, None);
    let mut buf = [0u8; 4096];
    while start.elapsed() < WINDOW {
        if hup_sent.is_none() && start.elapsed() > Duration::from_millis(1500) {
            signal(&daemon.0, nix::sys::signal::Signal::SIGHUP);
            hup_sent = Some(Instant::now());
        }
        let Ok(n) = lab.notify.recv(&mut buf) else {
            continue;
        };
        let msg = String::from_utf8_lossy(&buf[..n]);
        let now = Instant::now();
        if msg.contains("WATCHDOG=1") {
            pings.push(now);
        }
        if msg.contains("RELOADING=1") {
            reloading_at = Some(now);
        } else if reloading_at.is_some() && msg.contains("READY=1") {
            reloaded_at = Some(now);
        }
    }
    stop.store(true, Ordering::Relaxed);
    // Keep reading: a full datagram queue (10 messages) would block the
    // daemon's next WATCHDOG=1 and with it the loop.
    let drained = Arc::new(AtomicBool::new(false));
    let drain = {
        let (sock, drained) = (lab.notify.try_clone().unwrap(), drained.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while !drained.load(Ordering::Relaxed) {
                let _ = sock.recv(&mut buf);
            }
        })
    };

    let gaps: Vec<u128> = pings
        .windows(2)
        .map(|w| (w[1] - w[0]).as_millis())
        .collect();
    eprintln!("watchdog gaps (ms): {gaps:?}");
    let worst = gaps.iter().copied().max().unwrap_or(u128::MAX);
    // Bounds far from both sides: a loop that serves HTTP itself stalls for a
    // second per silent client (0 pings in the window, measured), while a busy
    // shared host can delay a healthy loop by a few hundred ms.
    assert!(
        pings.len() >= 5 && worst < 1500,
        "{} pings in {WINDOW:?} (period {WATCHDOG_PERIOD:?}), worst gap {worst} ms",
        pings.len()
    );
    let hup = hup_sent.unwrap();
    let reload = reloaded_at.expect("no READY=1 after the SIGHUP") - hup;
    eprintln!(
        "SIGHUP answered: RELOADING=1 after {:?}, READY=1 after {reload:?}",
        reloading_at.unwrap() - hup
    );
    assert!(reload < Duration::from_secs(2), "reload took {reload:?}");

    let (scraped, took) = scrape.join().unwrap();
    let scraped = scraped.unwrap();
    eprintln!("scrape with slow clients connected took {took:?}");
    assert!(scraped.starts_with("HTTP/1.1 200 OK"), "{scraped}");
    assert!(scraped.contains("\nmilspec_module_loaded 0\n"), "{scraped}");
    assert!(took < Duration::from_secs(2), "scrape took {took:?}");

    let huge = huge.join().unwrap();
    assert!(
        !huge.contains("200 OK"),
        "a 1 MiB header was served: {huge:.80}"
    );
    assert!(
        huge.is_empty() || huge.starts_with("HTTP/1.1 431"),
        "{huge:.200}"
    );

    // The server hangs up on silent clients itself (no answer, just EOF).
    let held = silent.join().unwrap();
    assert!(held.len() >= 5, "{} silent clients", held.len());
    let (mut first, opened) = held.into_iter().next().unwrap();
    first
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    let got = first.read(&mut buf);
    eprintln!(
        "silent client cut off after {:?}: {got:?}",
        opened.elapsed()
    );
    assert!(matches!(got, Ok(0)), "{got:?}");
    assert!(opened.elapsed() < Duration::from_secs(10));
    // Every connection thread has ended: left are the loop and the accept thread.
    let tasks = Path::new("/proc")
        .join(daemon.0.id().to_string())
        .join("task");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut threads = usize::MAX;
    while Instant::now() < deadline {
        threads = std::fs::read_dir(&tasks).unwrap().count();
        if threads <= 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(threads, 2, "connection threads left behind");
    assert!(http_get(port, "/metrics")
        .unwrap()
        .starts_with("HTTP/1.1 200 OK"));

    signal(&daemon.0, nix::sys::signal::Signal::SIGTERM);
    assert!(wait_exit(&mut daemon.0).success());
    drained.store(true, Ordering::Relaxed);
    drain.join().unwrap();
}
