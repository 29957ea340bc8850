//! Prometheus metrics in the text exposition format, for node_exporter's textfile
//! collector and the optional `/metrics` endpoint. Every name starts with
//! `milspec_`; counters end in `_total`.
//!
//! Rendered by hand on purpose: the `prometheus-client` crate only writes the
//! OpenMetrics format (`# TYPE milspec_events counter` for
//! `milspec_events_total`, a closing `# EOF`), which would change the TYPE
//! lines, the content type and the textfile node_exporter reads.

use crate::policy::ViolationKind;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Result of one action, a label value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ActionResult {
    Ok,
    Failed,
    Timeout,
    Unsupported,
    Skipped,
}

impl ActionResult {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionResult::Ok => "ok",
            ActionResult::Failed => "failed",
            ActionResult::Timeout => "timeout",
            ActionResult::Unsupported => "unsupported",
            ActionResult::Skipped => "skipped",
        }
    }
}

/// What the module looks like now (gauges).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ModuleGauges {
    pub loaded: bool,
    pub version: Option<String>,
    pub platform_state: Option<String>,
    pub security_level: Option<u32>,
    pub level_locked: bool,
    /// The kernel's own count of overwritten events.
    pub kernel_events_lost: Option<u64>,
    /// The measured posture's state (`tpm_measurement*` status keys).
    pub measurement: Option<milspec_host::status::Measurement>,
}

/// Host and daemon resource use (gauges).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ResourceGauges {
    pub host_cpu_ratio: f64,
    pub host_memory_ratio: f64,
    pub daemon_cpu_ratio: f64,
    pub daemon_resident_bytes: u64,
}

/// Everything the daemon exports.
#[derive(Clone, Debug, Default)]
pub struct Metrics {
    pub module: ModuleGauges,
    pub resources: ResourceGauges,
    /// Events the daemon handled, by kind name.
    pub events: BTreeMap<&'static str, u64>,
    /// Events the daemon never saw (sequence gaps).
    pub events_lost: u64,
    pub violations: BTreeMap<ViolationKind, u64>,
    /// By action name (`alert`, `lockdown`, `rollback`, `log`, `raise_level`).
    pub actions: BTreeMap<(&'static str, ActionResult), u64>,
    /// Unix time of the last successful read of the module's state.
    pub last_check_unix: Option<f64>,
    pub policy_reload_failures: u64,
    /// The module's refused calls by (uid, command) label values (its own
    /// counts, which restart at module load).
    pub kernel_refused_calls: BTreeMap<(String, String), u64>,
    /// 0 healthy, 1 degraded, 2 unhealthy.
    pub health: u8,
}

/// Escapes a label value (backslash, quote, newline).
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

struct Out(String);

impl Out {
    fn header(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}");
        let _ = writeln!(self.0, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.0.push_str(name);
        if !labels.is_empty() {
            let inner: Vec<String> = labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", label(v)))
                .collect();
            let _ = write!(self.0, "{{{}}}", inner.join(","));
        }
        let _ = writeln!(self.0, " {value}");
    }

    fn gauge(&mut self, name: &str, help: &str, value: f64) {
        self.header(name, "gauge", help);
        self.sample(name, &[], value);
    }
}

fn b(v: bool) -> f64 {
    if v {
        1.0
    } else {
        0.0
    }
}

impl Metrics {
    /// The exposition text.
    pub fn render(&self) -> String {
        let mut o = Out(String::with_capacity(4096));
        o.header(
            "milspec_daemon_build_info",
            "gauge",
            "Version of milspecd (always 1).",
        );
        o.sample(
            "milspec_daemon_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))],
            1.0,
        );
        o.gauge(
            "milspec_health_status",
            "Overall verdict: 0 healthy, 1 degraded, 2 unhealthy.",
            f64::from(self.health),
        );
        let m = &self.module;
        o.gauge(
            "milspec_module_loaded",
            "Whether dell_milspec is loaded (1) or not (0).",
            b(m.loaded),
        );
        o.header(
            "milspec_module_info",
            "gauge",
            "Version and platform state of the loaded module (always 1).",
        );
        if let Some(v) = &m.version {
            o.sample(
                "milspec_module_info",
                &[
                    ("version", v),
                    ("platform_state", m.platform_state.as_deref().unwrap_or("")),
                ],
                1.0,
            );
        }
        o.header(
            "milspec_security_level",
            "gauge",
            "Security level of the module (0 disabled .. 4 paranoid_plus).",
        );
        if let Some(l) = m.security_level {
            o.sample("milspec_security_level", &[], f64::from(l));
        }
        o.gauge(
            "milspec_security_level_locked",
            "Whether the level is locked until reboot.",
            b(m.level_locked),
        );
        o.header(
            "milspec_kernel_events_lost",
            "gauge",
            "Events the module overwrote before any reader read them (module's count).",
        );
        if let Some(n) = m.kernel_events_lost {
            o.sample("milspec_kernel_events_lost", &[], n as f64);
        }
        o.header(
            "milspec_kernel_refused_calls",
            "gauge",
            "Privileged ioctls the module refused for lack of CAP_SYS_ADMIN, by uid and command (module's count).",
        );
        for ((uid, command), n) in &self.kernel_refused_calls {
            o.sample(
                "milspec_kernel_refused_calls",
                &[("uid", uid), ("command", command)],
                *n as f64,
            );
        }
        o.header(
            "milspec_tpm_measurement_state",
            "gauge",
            "Outcome of the module's last posture measurement into IMA (1 for the current state).",
        );
        o.header(
            "milspec_tpm_measurement_last_seq",
            "gauge",
            "Sequence number of the last posture entry IMA logged.",
        );
        o.header(
            "milspec_tpm_measurement_failures_total",
            "counter",
            "Posture entries IMA did not log since the module was loaded.",
        );
        if let Some(ms) = &m.measurement {
            o.sample(
                "milspec_tpm_measurement_state",
                &[("state", &ms.state)],
                1.0,
            );
            if let Some(seq) = ms.last_seq {
                o.sample("milspec_tpm_measurement_last_seq", &[], seq as f64);
            }
            o.sample(
                "milspec_tpm_measurement_failures_total",
                &[],
                ms.failures as f64,
            );
        }
        o.header(
            "milspec_events_total",
            "counter",
            "Module events handled by the daemon, by kind.",
        );
        for (kind, n) in &self.events {
            o.sample("milspec_events_total", &[("kind", kind)], *n as f64);
        }
        o.header(
            "milspec_events_lost_total",
            "counter",
            "Module events the daemon never saw (gaps in the sequence numbers).",
        );
        o.sample("milspec_events_lost_total", &[], self.events_lost as f64);
        o.header(
            "milspec_policy_violations_total",
            "counter",
            "Policy violations, by kind.",
        );
        for kind in ViolationKind::ALL {
            let n = self.violations.get(&kind).copied().unwrap_or(0);
            o.sample(
                "milspec_policy_violations_total",
                &[("kind", kind.as_str())],
                n as f64,
            );
        }
        o.header(
            "milspec_actions_total",
            "counter",
            "Actions taken on violations, by action and result.",
        );
        for ((action, result), n) in &self.actions {
            o.sample(
                "milspec_actions_total",
                &[("action", action), ("result", result.as_str())],
                *n as f64,
            );
        }
        o.header(
            "milspec_policy_reload_failures_total",
            "counter",
            "Policy reloads refused because the file was invalid.",
        );
        o.sample(
            "milspec_policy_reload_failures_total",
            &[],
            self.policy_reload_failures as f64,
        );
        o.header(
            "milspec_last_successful_check_timestamp_seconds",
            "gauge",
            "Unix time of the last successful read of the module's state.",
        );
        if let Some(t) = self.last_check_unix {
            o.sample("milspec_last_successful_check_timestamp_seconds", &[], t);
        }
        let r = &self.resources;
        o.gauge(
            "milspec_host_cpu_usage_ratio",
            "Host CPU use (0-1) over the last refresh interval.",
            r.host_cpu_ratio,
        );
        o.gauge(
            "milspec_host_memory_usage_ratio",
            "Host memory in use (0-1).",
            r.host_memory_ratio,
        );
        o.gauge(
            "milspec_daemon_cpu_usage_ratio",
            "CPU use of milspecd (0-1 of one CPU) over the last refresh interval.",
            r.daemon_cpu_ratio,
        );
        o.gauge(
            "milspec_daemon_resident_memory_bytes",
            "Resident memory of milspecd.",
            r.daemon_resident_bytes as f64,
        );
        o.0
    }

    pub fn count_event(&mut self, kind: &'static str) {
        *self.events.entry(kind).or_default() += 1;
    }

    pub fn count_violation(&mut self, kind: ViolationKind) {
        *self.violations.entry(kind).or_default() += 1;
    }

    pub fn count_action(&mut self, action: &'static str, result: ActionResult) {
        *self.actions.entry((action, result)).or_default() += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn busy_metrics() -> Metrics {
        let mut m = Metrics {
            module: ModuleGauges {
                loaded: true,
                version: Some("1.0.1".into()),
                platform_state: Some("supported".into()),
                security_level: Some(3),
                level_locked: true,
                kernel_events_lost: Some(44),
                measurement: Some(milspec_host::status::Measurement {
                    state: "measured".into(),
                    last_seq: Some(5),
                    failures: 0,
                }),
            },
            last_check_unix: Some(1_790_000_000.5),
            events_lost: 44,
            health: 1,
            ..Metrics::default()
        };
        m.count_event("level_changed");
        m.count_event("level_changed");
        m.count_event("module_denied");
        m.kernel_refused_calls
            .insert(("1000".into(), "set_level".into()), 100_000);
        m.count_violation(ViolationKind::ModuleDenied);
        m.count_action("alert", ActionResult::Ok);
        m.count_action("lockdown", ActionResult::Unsupported);
        m
    }

    #[test]
    fn render_has_every_required_family() {
        let text = busy_metrics().render();
        for want in [
            "milspec_module_loaded 1\n",
            "milspec_module_info{version=\"1.0.1\",platform_state=\"supported\"} 1\n",
            "milspec_security_level 3\n",
            "milspec_events_total{kind=\"level_changed\"} 2\n",
            "milspec_events_total{kind=\"module_denied\"} 1\n",
            "milspec_events_lost_total 44\n",
            "milspec_kernel_refused_calls{uid=\"1000\",command=\"set_level\"} 100000\n",
            "milspec_policy_violations_total{kind=\"module_denied\"} 1\n",
            "milspec_policy_violations_total{kind=\"events_lost\"} 0\n",
            "milspec_actions_total{action=\"alert\",result=\"ok\"} 1\n",
            "milspec_actions_total{action=\"lockdown\",result=\"unsupported\"} 1\n",
            "milspec_last_successful_check_timestamp_seconds 1790000000.5\n",
            "milspec_daemon_build_info{version=\"0.1.0\"} 1\n",
            "milspec_tpm_measurement_state{state=\"measured\"} 1\n",
            "milspec_tpm_measurement_last_seq 5\n",
            "milspec_tpm_measurement_failures_total 0\n",
            "# TYPE milspec_events_total counter\n",
        ] {
            assert!(text.contains(want), "missing {want:?} in:\n{text}");
        }
        // Every sample belongs to a family announced with HELP and TYPE.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let name = line.split(['{', ' ']).next().unwrap();
            assert!(text.contains(&format!("# TYPE {name} ")), "{line}");
            assert!(name.starts_with("milspec_"), "{line}");
        }
    }

    #[test]
    fn absent_module_has_no_info_sample() {
        let text = Metrics::default().render();
        assert!(text.contains("milspec_module_loaded 0\n"));
        assert!(!text.contains("milspec_module_info{"));
        assert!(!text.contains("\nmilspec_security_level "));
    }

    #[test]
    fn label_values_are_escaped() {
        let mut m = Metrics::default();
        m.module.loaded = true;
        m.module.version = Some("a\"b\\c\nd".into());
        assert!(m
            .render()
            .contains("version=\"a\\\"b\\\\c\\nd\",platform_state=\"\"} 1"));
    }

    /// `promtool check metrics` (Debian's prometheus package) accepts the output.
    #[test]
    fn promtool_accepts_the_output() {
        let promtool = ["/usr/bin/promtool", "/usr/local/bin/promtool"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .expect("promtool missing: scripts/deps.sh installs the prometheus package");
        let run = |text: &str| {
            let mut child = std::process::Command::new(promtool)
                .args(["check", "metrics"])
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            use std::io::Write as _;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(text.as_bytes())
                .unwrap();
            let out = child.wait_with_output().unwrap();
            let said = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            (out.status.success() && said.is_empty(), said)
        };
        for metrics in [busy_metrics(), Metrics::default()] {
            let (clean, said) = run(&metrics.render());
            assert!(clean, "promtool: {said}");
        }
        // The check can fail: a counter without `_total` is reported.
        let (clean, said) = run("# HELP milspec_x x\n# TYPE milspec_x counter\nmilspec_x 1\n");
        assert!(!clean, "promtool accepted a bad counter name: {said}");
    }
}
