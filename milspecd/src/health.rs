//! `/run/milspec/health.json`: overall status, the components behind it (each with
//! a reason), daemon version and a timestamp. Written atomically, so a reader never
//! sees half a file.

use crate::metrics::ResourceGauges;
use crate::policy::HealthPolicy;
use crate::verdict::{Health, Verdict};
use milspec_host::status::Measurement;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, SystemTime};

/// How long a gap in the event sequence keeps the `events` component degraded.
pub const LOSS_MEMORY: Duration = Duration::from_secs(600);

/// One part of the verdict.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Component {
    pub status: Health,
    pub reason: String,
}

impl Component {
    fn new(status: Health, reason: impl Into<String>) -> Self {
        Component {
            status,
            reason: reason.into(),
        }
    }
}

/// What the health file is computed from.
#[derive(Clone, Debug)]
pub struct HealthInputs<'a> {
    /// The module's verdict (loaded, consistent, supported platform).
    pub module: &'a Verdict,
    /// Problems enforcing the policy (a level that could not be raised, ...).
    pub enforcement_problems: &'a [String],
    /// The last policy reload failed with this error (the old policy still applies).
    pub reload_error: Option<&'a str>,
    pub policy_path: &'a Path,
    /// Events lost in total, and when the last gap was seen.
    pub events_lost: u64,
    pub last_gap: Option<SystemTime>,
    pub resources: ResourceGauges,
    pub thresholds: &'a HealthPolicy,
    pub now: SystemTime,
}

/// The health file's content.
#[derive(Clone, Debug, Serialize)]
pub struct HealthReport {
    pub status: Health,
    /// One line, as sent to systemd with STATUS=.
    pub summary: String,
    /// Daemon version.
    pub version: &'static str,
    pub module_version: Option<String>,
    /// RFC 3339, UTC.
    pub timestamp: String,
    pub timestamp_unix: u64,
    pub components: BTreeMap<&'static str, Component>,
    pub resources: Resources,
    /// The measured posture (`tpm_measurement*` status keys): state, last
    /// measured sequence number, failures; `null` when the module predates them.
    pub tpm_measurement: Option<Measurement>,
}

/// Resource figures in percent (easier to read than ratios).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Resources {
    pub host_cpu_percent: f64,
    pub host_memory_percent: f64,
    pub daemon_cpu_percent: f64,
    pub daemon_resident_bytes: u64,
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// Status of a percentage against warning/critical thresholds.
fn against(what: &str, percent: f64, warning: f64, critical: f64) -> Component {
    let (status, word) = if percent >= critical {
        (Health::Unhealthy, "critical")
    } else if percent >= warning {
        (Health::Degraded, "warning")
    } else {
        (Health::Healthy, "ok")
    };
    Component::new(
        status,
        format!("{what} {percent:.1} % ({word}; warning at {warning} %, critical at {critical} %)"),
    )
}

/// Judges the inputs.
pub fn evaluate(i: &HealthInputs<'_>) -> HealthReport {
    let mut c = BTreeMap::new();
    let module_reason = if i.module.reasons.is_empty() {
        format!(
            "{} {} on {}",
            milspec_abi::MODULE_NAME,
            i.module.module_version.as_deref().unwrap_or("?"),
            i.module.platform.as_deref().unwrap_or("?")
        )
    } else {
        i.module.reasons.join("; ")
    };
    c.insert("module", Component::new(i.module.health, module_reason));

    let policy = if !i.enforcement_problems.is_empty() {
        Component::new(Health::Unhealthy, i.enforcement_problems.join("; "))
    } else if let Some(e) = i.reload_error {
        Component::new(
            Health::Degraded,
            format!("reload refused, still enforcing the previous policy: {e}"),
        )
    } else {
        Component::new(
            Health::Healthy,
            format!("enforcing {}", i.policy_path.display()),
        )
    };
    c.insert("policy", policy);

    let recent_gap = i
        .last_gap
        .is_some_and(|t| i.now.duration_since(t).unwrap_or_default() < LOSS_MEMORY);
    let events = if recent_gap {
        Component::new(
            Health::Degraded,
            format!(
                "{} events lost in total; the last gap was less than {} min ago",
                i.events_lost,
                LOSS_MEMORY.as_secs() / 60
            ),
        )
    } else {
        Component::new(
            Health::Healthy,
            format!("{} events lost in total", i.events_lost),
        )
    };
    c.insert("events", events);

    if let Some(m) = &i.module.measurement {
        c.insert("tpm_measurement", measurement(m));
    }

    let r = &i.resources;
    let t = i.thresholds;
    let (cw, cc) = (
        *t.cpu_warning_percent.get_ref(),
        *t.cpu_critical_percent.get_ref(),
    );
    let (mw, mc) = (
        *t.memory_warning_percent.get_ref(),
        *t.memory_critical_percent.get_ref(),
    );
    c.insert(
        "host_cpu",
        against("host CPU", r.host_cpu_ratio * 100.0, cw, cc),
    );
    c.insert(
        "host_memory",
        against("host memory", r.host_memory_ratio * 100.0, mw, mc),
    );
    c.insert(
        "daemon",
        against("milspecd CPU", r.daemon_cpu_ratio * 100.0, cw, cc),
    );

    let status = c
        .values()
        .map(|x| x.status)
        .max()
        .unwrap_or(Health::Healthy);
    let mut summary = i.module.summary();
    for (name, comp) in &c {
        if *name != "module" && comp.status != Health::Healthy {
            summary.push_str(&format!("; {name}: {}", comp.reason));
        }
    }
    if status > i.module.health {
        // The module alone would have looked better: lead with the real verdict.
        summary = format!("{}: {summary}", status.as_str());
    }
    let unix = milspec_host::clock::since_epoch(i.now);
    HealthReport {
        status,
        summary,
        version: env!("CARGO_PKG_VERSION"),
        module_version: i.module.module_version.clone(),
        timestamp: crate::clock::rfc3339(i.now),
        timestamp_unix: unix.as_secs(),
        components: c,
        resources: Resources {
            host_cpu_percent: round1(r.host_cpu_ratio * 100.0),
            host_memory_percent: round1(r.host_memory_ratio * 100.0),
            daemon_cpu_percent: round1(r.daemon_cpu_ratio * 100.0),
            daemon_resident_bytes: r.daemon_resident_bytes,
        },
        tpm_measurement: i.module.measurement.clone(),
    }
}

/// The measurement component: degraded only when IMA refused an entry while it
/// could measure (a TPM attestation would then miss a change); a machine
/// without IMA, TPM or the policy rule is simply not measured.
fn measurement(m: &Measurement) -> Component {
    let seq = m
        .last_seq
        .map_or_else(|| "none".to_owned(), |s| s.to_string());
    match m.state.as_str() {
        "measured" => Component::new(
            Health::Healthy,
            format!("posture measured into IMA/TPM, last seq {seq}, {} failures", m.failures),
        ),
        "failed" => Component::new(
            Health::Degraded,
            format!(
                "IMA did not log the last posture entry ({} failures since load, last measured seq {seq})",
                m.failures
            ),
        ),
        other => Component::new(Health::Healthy, format!("unsupported here ({other})")),
    }
}

/// Writes the report atomically (mode 0644: health is not secret).
pub fn write(path: &Path, report: &HealthReport) -> std::io::Result<()> {
    let mut text = serde_json::to_vec_pretty(report).map_err(std::io::Error::other)?;
    text.push(b'\n');
    milspec_host::fsutil::write_atomic(path, &text, 0o644)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn healthy_module() -> Verdict {
        Verdict {
            health: Health::Healthy,
            reasons: vec![],
            module_version: Some("0.1.0".into()),
            platform: Some("Dell Inc. Latitude 5450".into()),
            refused_calls: None,
            measurement: None,
        }
    }

    #[test]
    fn measurement_state_is_reported_and_a_failure_degrades() {
        let t = HealthPolicy::default();
        let mut m = healthy_module();
        m.measurement = Some(Measurement {
            state: "measured".into(),
            last_seq: Some(5),
            failures: 0,
        });
        let r = evaluate(&inputs(&m, &t));
        assert_eq!(r.status, Health::Healthy);
        assert!(r.components["tpm_measurement"]
            .reason
            .contains("last seq 5"));
        assert_eq!(r.tpm_measurement.as_ref().unwrap().last_seq, Some(5));
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["tpm_measurement"]["state"], "measured");
        m.measurement = Some(Measurement {
            state: "failed".into(),
            last_seq: Some(5),
            failures: 1,
        });
        let r = evaluate(&inputs(&m, &t));
        assert_eq!(r.status, Health::Degraded);
        assert!(
            r.summary.contains("tpm_measurement: IMA did not log"),
            "{}",
            r.summary
        );
        m.measurement = Some(Measurement {
            state: "no-tpm".into(),
            last_seq: Some(0),
            failures: 0,
        });
        assert_eq!(evaluate(&inputs(&m, &t)).status, Health::Healthy);
    }

    fn inputs<'a>(m: &'a Verdict, t: &'a HealthPolicy) -> HealthInputs<'a> {
        HealthInputs {
            module: m,
            enforcement_problems: &[],
            reload_error: None,
            policy_path: Path::new("/etc/milspec/policy.toml"),
            events_lost: 0,
            last_gap: None,
            resources: ResourceGauges {
                host_cpu_ratio: 0.10,
                host_memory_ratio: 0.30,
                daemon_cpu_ratio: 0.0,
                daemon_resident_bytes: 3 << 20,
            },
            thresholds: t,
            now: SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000),
        }
    }

    #[test]
    fn all_good_is_healthy() {
        let (m, t) = (healthy_module(), HealthPolicy::default());
        let r = evaluate(&inputs(&m, &t));
        assert_eq!(r.status, Health::Healthy);
        assert_eq!(
            r.summary,
            "healthy: dell_milspec 0.1.0 on Dell Inc. Latitude 5450"
        );
        assert_eq!(r.timestamp, "2026-09-21T14:13:20Z");
        assert_eq!(r.components.len(), 6);
        assert_eq!(r.resources.host_memory_percent, 30.0);
    }

    #[test]
    fn thresholds_degrade_then_fail() {
        let (m, t) = (healthy_module(), HealthPolicy::default());
        let mut i = inputs(&m, &t);
        i.resources.host_cpu_ratio = 0.85;
        let r = evaluate(&i);
        assert_eq!(r.status, Health::Degraded);
        assert!(r.summary.starts_with("degraded: healthy: dell_milspec"));
        assert!(
            r.summary.contains("host_cpu: host CPU 85.0 % (warning"),
            "{}",
            r.summary
        );
        i.resources.host_memory_ratio = 0.96;
        let r = evaluate(&i);
        assert_eq!(r.status, Health::Unhealthy);
        assert_eq!(r.components["host_memory"].status, Health::Unhealthy);
    }

    #[test]
    fn thresholds_come_from_the_policy() {
        let m = healthy_module();
        let t = crate::policy::Policy::parse("[health]\ncpu_warning_percent = 5\n")
            .unwrap()
            .health;
        let r = evaluate(&inputs(&m, &t));
        assert_eq!(r.components["host_cpu"].status, Health::Degraded);
    }

    #[test]
    fn absent_module_and_policy_problems_are_unhealthy() {
        let m = Verdict {
            health: Health::Unhealthy,
            reasons: vec!["dell_milspec is not loaded".into()],
            module_version: None,
            platform: None,
            refused_calls: None,
            measurement: None,
        };
        let t = HealthPolicy::default();
        let r = evaluate(&inputs(&m, &t));
        assert_eq!(r.status, Health::Unhealthy);
        assert_eq!(r.summary, "unhealthy: dell_milspec is not loaded");
        let m = healthy_module();
        let problems = vec!["cannot raise level to enhanced: EPERM".to_owned()];
        let mut i = inputs(&m, &t);
        i.enforcement_problems = &problems;
        let r = evaluate(&i);
        assert_eq!(r.status, Health::Unhealthy);
        assert!(
            r.summary.contains("policy: cannot raise level"),
            "{}",
            r.summary
        );
    }

    #[test]
    fn reload_errors_and_recent_gaps_degrade() {
        let (m, t) = (healthy_module(), HealthPolicy::default());
        let mut i = inputs(&m, &t);
        i.reload_error = Some("line 2: unknown field `x`");
        assert_eq!(evaluate(&i).components["policy"].status, Health::Degraded);
        let mut i = inputs(&m, &t);
        i.events_lost = 44;
        i.last_gap = Some(i.now - Duration::from_secs(5));
        let r = evaluate(&i);
        assert_eq!(r.components["events"].status, Health::Degraded);
        assert!(r.components["events"].reason.starts_with("44 events lost"));
        i.last_gap = Some(i.now - LOSS_MEMORY - Duration::from_secs(1));
        assert_eq!(evaluate(&i).status, Health::Healthy);
    }

    #[test]
    fn written_file_is_complete_json() {
        let (m, t) = (healthy_module(), HealthPolicy::default());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("health.json");
        write(&path, &evaluate(&inputs(&m, &t))).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(v["status"], "healthy");
        assert_eq!(v["version"], "0.1.0");
        assert_eq!(v["components"]["module"]["status"], "healthy");
        assert_eq!(v["timestamp_unix"], 1_790_000_000u64);
    }
}
