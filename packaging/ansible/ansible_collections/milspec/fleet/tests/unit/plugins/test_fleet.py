# Unit tests of module_utils/fleet.py: canary phases, batch lookup, the soak gate's
# per-metric limits, the controller audit chain and the metrics textfile.
import json
import os
import shutil
import subprocess

import pytest

from ansible_collections.milspec.fleet.plugins.module_utils import fleet


# --- canary phases ------------------------------------------------------------

def test_plan_phases_on_1000_hosts_are_cumulative():
    p = fleet.canary_phases([1, 5, 25, 50, 100], 1000)
    assert [x["size"] for x in p] == [10, 40, 200, 250, 500]
    assert [x["cumulative"] for x in p] == [10, 50, 250, 500, 1000]


def test_serial_list_is_not_the_fractions():
    # Ansible's serial ["1%","5%",...] would make batches 10, 50, 250, 500, 190.
    assert fleet.canary_serial([1, 5, 25, 50, 100], 1000) != [10, 50, 250, 500, 190]
    assert sum(fleet.canary_serial([1, 5, 25, 50, 100], 1000)) == 1000


def test_small_fleet_drops_empty_phases_and_keeps_a_single_canary():
    p = fleet.canary_phases([1, 5, 25, 50, 100], 3)
    assert [x["size"] for x in p] == [1, 1, 1]
    assert [x["phase"] for x in p] == [1, 4, 5]  # 5 % and 25 % of 3 are still the canary
    assert 0 not in fleet.canary_serial([1, 5, 25, 50, 100], 7)


def test_exact_percentages_are_not_rounded_up():
    assert [x["cumulative"] for x in fleet.canary_phases([5, 100], 200)] == [10, 200]


def test_last_phase_below_100_still_covers_the_fleet():
    p = fleet.canary_phases([10, 50], 10)
    assert p[-1]["cumulative"] == 10 and sum(x["size"] for x in p) == 10


def test_one_host_fleet():
    assert fleet.canary_serial([1, 5, 25, 50, 100], 1) == [1]


def test_per_phase_max_fail():
    p = fleet.canary_phases([1, 50, 100], 100, [0, 10, 20])
    assert [x["max_fail_percentage"] for x in p] == [0, 10, 20]
    assert all(x["max_fail_percentage"] == 5 for x in fleet.canary_phases([50, 100], 4, 5))


@pytest.mark.parametrize("fr,total,mf", [
    ([50, 10], 10, None),       # not cumulative
    ([0, 100], 10, None),       # empty phase asked for
    ([120], 10, None),
    ([100], 0, None),           # no hosts
    ([], 10, None),
    ([50, 100], 10, [1]),       # wrong number of limits
    ([100], 10, 101),
])
def test_bad_phase_input_is_refused(fr, total, mf):
    with pytest.raises(ValueError):
        fleet.canary_phases(fr, total, mf)


def test_current_batch_finds_phase_and_dropouts():
    hosts = ["h%d" % i for i in range(10)]
    phases = fleet.canary_phases([10, 50, 100], 10, [0, 25, 50])
    b = fleet.current_batch(phases, hosts, ["h0"])
    assert b["index"] == 0 and b["failed"] == []
    b = fleet.current_batch(phases, hosts, ["h2", "h4"])  # h1, h3 dropped out
    assert b["index"] == 1 and b["hosts"] == ["h1", "h2", "h3", "h4"]
    assert b["failed"] == ["h1", "h3"] and b["failed_percentage"] == 50.0
    assert b["max_fail_percentage"] == 25.0
    assert fleet.current_batch(phases, hosts, ["h9"])["index"] == 2


# --- soak gate --------------------------------------------------------------------

BASE = {"taint": 0, "health": 0, "load_failures": 1, "security_events": 3,
        "module_instance": "12.5"}


def cur(**kw):
    m = dict(BASE)
    m.update(kw)
    return m


def test_unchanged_metrics_pass():
    r = fleet.soak_compare({"a": BASE, "b": BASE}, {"a": cur(), "b": cur()})
    assert r["ok"] and r["violations"] == []
    assert set(r["totals"]) == set(fleet.GATE_METRICS)


def test_each_metric_is_checked_against_its_own_limit():
    # The plan's checker ignored per-metric thresholds: here every metric has one.
    cases = {
        "oops": cur(taint=128),
        "taint_new_bits": cur(taint=512),
        "load_failures": cur(load_failures=2),
        "security_events": cur(security_events=4),
        "unhealthy_hosts": cur(health=2),
    }
    for metric, m in cases.items():
        r = fleet.soak_compare({"a": BASE}, {"a": m})
        assert not r["ok"], metric
        assert any(v.startswith(metric + " ") for v in r["violations"]), (metric, r)
        # ... and a limit on that metric alone lets it through
        r = fleet.soak_compare({"a": BASE}, {"a": m}, {metric: 1, "taint_new_bits": 1})
        assert r["ok"], (metric, r)


def test_limit_applies_to_the_batch_sum():
    base = {h: BASE for h in "abc"}
    now = {"a": cur(load_failures=2), "b": cur(load_failures=2), "c": cur()}
    assert fleet.soak_compare(base, now, {"load_failures": 2})["ok"]
    r = fleet.soak_compare(base, now, {"load_failures": 1})
    assert not r["ok"] and "on a, b" in r["violations"][0]


def test_degraded_is_not_unhealthy_and_already_unhealthy_is_not_new():
    assert fleet.soak_compare({"a": BASE}, {"a": cur(health=1)})["ok"]
    assert fleet.soak_compare({"a": cur(health=2)}, {"a": cur(health=2)})["ok"]


def test_taint_ignore_mask_and_existing_bits():
    # O (4096) and E (8192): out-of-tree and unsigned test modules taint on load.
    assert fleet.soak_compare({"a": BASE}, {"a": cur(taint=4096 | 8192)}, taint_ignore=12288)["ok"]
    assert fleet.soak_compare({"a": cur(taint=512)}, {"a": cur(taint=512)})["ok"]


def test_new_module_instance_counts_all_its_security_events():
    r = fleet.soak_compare({"a": BASE}, {"a": cur(security_events=1, module_instance="99.0")})
    assert not r["ok"] and r["totals"]["security_events"] == 1
    assert fleet.soak_compare({"a": BASE}, {"a": cur(security_events=0, module_instance="99.0")})["ok"]


def test_host_without_baseline_is_compared_with_zero():
    r = fleet.soak_compare({}, {"new": cur(load_failures=1, security_events=0)})
    assert r["totals"]["load_failures"] == 1 and not r["ok"]


def test_unknown_or_negative_limit_is_an_error():
    with pytest.raises(ValueError):
        fleet.soak_compare({}, {}, {"oops_count": 1})  # a typo must not disable a check
    with pytest.raises(ValueError):
        fleet.soak_compare({}, {}, {"oops": -1})


# --- audit chain ----------------------------------------------------------------

def record(action, **kw):
    r = {"timestamp": 1700000000, "uid": 0, "sudo_user": None, "action": action,
         "result": "ok", "deployment_id": "fleet-1", "component_versions": {"dell_milspec": "1.0.1"},
         "rollback_occurred": False, "duration_seconds": 0.0, "detail": None}
    r.update(kw)
    return r


def test_audit_chain_links_and_detects_edits(tmp_path):
    fleet.audit_append(str(tmp_path), record("deployment_start", target_systems=["a", "b"]))
    fleet.audit_append(str(tmp_path), record("deployment_complete", hosts_successful=2))
    log = tmp_path / "var/log/milspec/audit.jsonl"
    lines = log.read_text().splitlines()
    assert json.loads(lines[0])["prev_hash"] == fleet.GENESIS
    assert oct(log.stat().st_mode & 0o777) == "0o600"
    n, _ = fleet.audit_chain_check(str(log), str(log.with_name("audit.head")))
    assert n == 2
    log.write_text(lines[0].replace('"a"', '"x"') + "\n" + lines[1] + "\n")
    with pytest.raises(ValueError):
        fleet.audit_chain_check(str(log), str(log.with_name("audit.head")))
    with pytest.raises(ValueError):  # and it refuses to grow on a broken chain
        fleet.audit_append(str(tmp_path), record("deployment_start"))


def _milspecctl():
    env = os.environ.get("MILSPECCTL")
    if env:
        return env
    return shutil.which("milspecctl")


@pytest.mark.skipif(not _milspecctl(), reason="no milspecctl (set MILSPECCTL)")
def test_milspecctl_audit_verify_accepts_the_controller_log(tmp_path):
    ctl = _milspecctl()
    fleet.audit_append(str(tmp_path), record("deployment_start", user="ops", security_level="standard",
                                              target_systems=["a"]))
    fleet.audit_append(str(tmp_path), record("deployment_complete", hosts_successful=1,
                                              hosts_failed=0, duration_seconds=12.5))
    out = subprocess.run([ctl, "--json", "--root", str(tmp_path), "audit", "verify"],
                         capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    hist = json.loads(subprocess.run([ctl, "--json", "--root", str(tmp_path), "history"],
                                     capture_output=True, text=True, check=True).stdout)
    assert [e["action"] for e in hist["entries"]] == ["deployment_start", "deployment_complete"]
    assert hist["entries"][1]["deployment_id"] == "fleet-1"
    # an edit is caught by milspecctl too (exit 5: verification failed)
    log = tmp_path / "var/log/milspec/audit.jsonl"
    log.write_text(log.read_text().replace('"ops"', '"eve"'))
    out = subprocess.run([ctl, "--json", "--root", str(tmp_path), "audit", "verify"],
                         capture_output=True, text=True, check=False)
    assert out.returncode == 5, out.stdout


# --- metrics textfile -------------------------------------------------------------

def test_metrics_textfile(tmp_path):
    path = tmp_path / "milspec_deployment.prom"
    fleet.write_metrics(str(path), {"steps": 12, "errors": 1, "successful": 2, "failed": 1,
                                    "total": 3, "rollbacks": 1, "in_progress": True,
                                    "batches": 2, "phase": 2, "durations": [4.2, 25.0, 31],
                                    "updated": 1700000000, "deployment_id": 'x"y',
                                    "version": "1.0.1"})
    text = path.read_text()
    assert "deployment_steps_completed_total 12\n" in text
    assert "deployment_in_progress 1\n" in text
    assert 'deployment_duration_seconds_bucket{le="30"} 2\n' in text
    assert 'deployment_duration_seconds_bucket{le="+Inf"} 3\n' in text
    assert "deployment_duration_seconds_count 3\n" in text
    assert 'deployment_id="xy"' in text
    promtool = shutil.which("promtool")
    if promtool:
        r = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True,
                           text=True, check=False)
        assert r.returncode == 0, r.stdout + r.stderr
