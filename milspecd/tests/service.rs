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
        Daemon(
            Command::new(env!("CARGO_BIN_EXE_milspecd"))
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
            let n = self
                .notify
                .recv(&mut buf)
                .unwrap_or_else(|e| panic!("no {want:?} from milspecd ({e}); saw {seen:?}"));
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
