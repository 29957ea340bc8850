# -*- coding: utf-8 -*-
# Pure-Python logic of the milspec.fleet collection, shared by its filter and
# callback plugins and unit-tested on its own (tests/unit): canary phases, the soak
# gate's comparison, the controller's hash-chained audit log and the deployment
# metrics textfile. No Ansible import, so pytest can load it directly.

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile

# ---------------------------------------------------------------- canary phases


def canary_phases(fractions, total, max_fail=None):
    """Turns cumulative coverage fractions (percent of the fleet after each phase,
    e.g. [1, 5, 25, 50, 100]) into one batch per phase for Ansible's `serial` list,
    which takes the size of each batch, not the coverage.

    Returns a list of {"phase", "size", "cumulative", "max_fail_percentage"}.
    Coverage is rounded up (a phase never covers less than asked, the first phase
    has at least one host), phases that would add no host are dropped (a 0 in
    `serial` would mean "all hosts"), and the last phase always reaches the whole
    fleet. `max_fail` is one percentage for every phase or one per fraction.
    """
    total = int(total)
    if total < 1:
        raise ValueError("the fleet has no hosts")
    fracs = [float(f) for f in fractions]
    if not fracs:
        raise ValueError("no canary phases given")
    for f in fracs:
        if not 0 < f <= 100:
            raise ValueError("phase fraction %r is not in (0, 100]" % f)
    if any(b < a for a, b in zip(fracs, fracs[1:])):
        raise ValueError("phase fractions must be cumulative (non-decreasing): %r" % fracs)
    if max_fail is None:
        fails = [0.0] * len(fracs)
    elif isinstance(max_fail, (list, tuple)):
        if len(max_fail) != len(fracs):
            raise ValueError("max_fail_percentage has %d entries for %d phases"
                             % (len(max_fail), len(fracs)))
        fails = [float(m) for m in max_fail]
    else:
        fails = [float(max_fail)] * len(fracs)
    for m in fails:
        if not 0 <= m <= 100:
            raise ValueError("max_fail_percentage %r is not in [0, 100]" % m)

    phases = []
    done = 0
    for i, (f, m) in enumerate(zip(fracs, fails)):
        # 1e-9: 5 % of 200 is exactly 10, not 10.000000000000002 rounded up to 11.
        want = min(total, max(1, math.ceil(f * total / 100.0 - 1e-9)))
        if i == len(fracs) - 1:
            want = total
        if want <= done:
            continue
        phases.append({"phase": i + 1, "fraction": f, "size": want - done,
                       "cumulative": want, "max_fail_percentage": m})
        done = want
    if done < total:  # the last fraction was below 100 %
        phases.append({"phase": len(fracs) + 1, "fraction": 100.0, "size": total - done,
                       "cumulative": total, "max_fail_percentage": fails[-1]})
    return phases


def canary_serial(fractions, total):
    """The `serial` list (batch sizes) for cumulative fractions."""
    return [p["size"] for p in canary_phases(fractions, total)]


def current_batch(phases, hosts_all, batch_hosts):
    """Which phase the running batch is. Ansible cuts `ansible_play_hosts_all` into
    batches in order; `ansible_play_batch` holds the batch's hosts that are still
    active. Returns {"index", "phase", "hosts", "failed", "failed_percentage",
    "max_fail_percentage"}; "failed" are the batch's hosts that dropped out."""
    hosts_all = list(hosts_all)
    active = list(batch_hosts)
    if not active:
        raise ValueError("no active host in this batch")
    pos = hosts_all.index(active[0])
    start = 0
    for i, p in enumerate(phases):
        end = start + int(p["size"])
        if i == len(phases) - 1:
            end = len(hosts_all)
        if start <= pos < end:
            members = hosts_all[start:end]
            failed = [h for h in members if h not in active]
            return {"index": i, "phase": p["phase"], "hosts": members, "failed": failed,
                    "failed_percentage": 100.0 * len(failed) / len(members),
                    "max_fail_percentage": float(p["max_fail_percentage"])}
        start = end
    raise ValueError("host %s is beyond the last phase" % active[0])


# ------------------------------------------------------------------- soak gate

# Metrics each host reports (roles/host/tasks/health.yml) and how a limit reads:
# the allowed increase over the pre-rollout baseline, summed over the batch, except
# unhealthy_hosts which counts hosts whose daemon is unhealthy now but was not.
GATE_METRICS = ("oops", "taint_new_bits", "load_failures", "security_events",
                "unhealthy_hosts")

DEFAULT_LIMITS = {"oops": 0, "taint_new_bits": 0, "load_failures": 0,
                  "security_events": 0, "unhealthy_hosts": 0}

TAINT_DIE = 1 << 7  # 'D': the kernel oopsed (died) since boot


def _popcount(n):
    return bin(int(n)).count("1")


def host_deltas(base, cur, taint_ignore=0):
    """Per-metric increase of one host since its baseline."""
    base = base or {}
    bt, ct = int(base.get("taint", 0)), int(cur.get("taint", 0))
    new_bits = (ct & ~bt) & ~int(taint_ignore)
    oops = 1 if (ct & TAINT_DIE and not bt & TAINT_DIE) else 0
    # A new module instance starts its event ring from zero: then every security
    # event it holds is new; otherwise only the increase counts.
    if base.get("module_instance") == cur.get("module_instance"):
        sec = max(0, int(cur.get("security_events", 0)) - int(base.get("security_events", 0)))
    else:
        sec = int(cur.get("security_events", 0))
    loads = max(0, int(cur.get("load_failures", 0)) - int(base.get("load_failures", 0)))
    unhealthy = 1 if (int(cur.get("health", 0)) >= 2 and int(base.get("health", 0)) < 2) else 0
    return {"oops": oops, "taint_new_bits": _popcount(new_bits & ~TAINT_DIE) + oops,
            "load_failures": loads, "security_events": sec, "unhealthy_hosts": unhealthy}


def soak_compare(baseline, current, limits=None, taint_ignore=0):
    """Compares the batch's current metrics with the pre-rollout baseline.

    baseline, current: {host: {"taint", "health", "load_failures",
    "security_events", "module_instance"}}; every host of `current` is compared
    (a host without a baseline is compared with zeros). limits: {metric: allowed
    increase summed over the batch}; a metric that is not given uses
    DEFAULT_LIMITS, an unknown metric name is an error (a typo must not disable a
    check). Returns {"ok", "totals", "limits", "violations": [text...],
    "hosts": {host: deltas}}."""
    lim = dict(DEFAULT_LIMITS)
    for k, v in (limits or {}).items():
        if k not in DEFAULT_LIMITS:
            raise ValueError("unknown soak gate metric %r (known: %s)"
                             % (k, ", ".join(GATE_METRICS)))
        if v is None or int(v) < 0:
            raise ValueError("limit for %s must be a whole number >= 0, not %r" % (k, v))
        lim[k] = int(v)
    per_host = {h: host_deltas((baseline or {}).get(h), m, taint_ignore)
                for h, m in sorted((current or {}).items())}
    totals = {k: sum(d[k] for d in per_host.values()) for k in GATE_METRICS}
    violations = []
    for k in GATE_METRICS:
        if totals[k] > lim[k]:
            who = sorted(h for h, d in per_host.items() if d[k] > 0)
            violations.append("%s rose by %d (limit %d) on %s"
                              % (k, totals[k], lim[k], ", ".join(who)))
    return {"ok": not violations, "totals": totals, "limits": lim,
            "violations": violations, "hosts": per_host}


# ------------------------------------------------- controller audit log (chain)

GENESIS = "0" * 64


def _sha256_hex(b):
    return hashlib.sha256(b).hexdigest()


def _write_atomic(path, data, mode):
    d = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".tmp-")
    try:
        os.fchmod(fd, mode)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def audit_chain_check(log_path, head_path):
    """(lines, hash of last line), checking prev_hash links and the head anchor."""
    prev, n = GENESIS, 0
    if os.path.exists(log_path):
        with open(log_path, "rb") as f:
            for raw in f.read().split(b"\n"):
                if not raw:
                    continue
                n += 1
                rec = json.loads(raw)
                if rec.get("prev_hash") != prev:
                    raise ValueError("%s line %d: chain broken" % (log_path, n))
                prev = _sha256_hex(raw)
    if n and os.path.exists(head_path):
        with open(head_path, "rb") as f:
            head = json.load(f)
        if head.get("lines") != n or head.get("last_hash") != prev:
            raise ValueError("%s: its end does not match audit.head" % log_path)
    elif n:
        raise ValueError("%s has %d lines but no audit.head" % (log_path, n))
    return n, prev


def audit_append(root, record):
    """Appends one record to <root>/var/log/milspec/audit.jsonl, the layout and
    chain of milspecctl's own audit log (a line carries the SHA-256 of the previous
    line as prev_hash; audit.head holds the line count and the last hash), so
    `milspecctl --root ROOT audit verify` checks the controller's log. The record
    must carry milspecctl's fields (timestamp as whole seconds, uid, action, result,
    deployment_id, component_versions as strings, rollback_occurred,
    duration_seconds); extra fields are kept and covered by the chain."""
    import fcntl

    d = os.path.join(root, "var", "log", "milspec")
    os.makedirs(d, mode=0o700, exist_ok=True)
    log_path = os.path.join(d, "audit.jsonl")
    head_path = os.path.join(d, "audit.head")
    fd = os.open(log_path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        n, prev = audit_chain_check(log_path, head_path)
        rec = dict(record)
        rec["prev_hash"] = prev
        line = json.dumps(rec, sort_keys=True, separators=(",", ":")).encode()
        os.write(fd, line + b"\n")
        os.fsync(fd)
        _write_atomic(head_path, json.dumps({"lines": n + 1, "last_hash": _sha256_hex(line)},
                                            separators=(",", ":")).encode(), 0o600)
    finally:
        os.close(fd)
    return rec


# ------------------------------------------------------ deployment metrics file

DURATION_BUCKETS = (5, 10, 20, 30, 60, 120, 300, 600)


def _fmt(v):
    if isinstance(v, float) and v.is_integer():
        return "%d" % v
    return repr(v) if isinstance(v, float) else str(v)


def render_metrics(state):
    """The node_exporter textfile for a rollout's state:
    {steps, errors, successful, failed, total, rollbacks, in_progress, batches,
    phase, durations: [seconds per host deployment], updated, deployment_id,
    version}."""
    out = []

    def metric(name, mtype, help_text, samples):
        out.append("# HELP %s %s" % (name, help_text))
        out.append("# TYPE %s %s" % (name, mtype))
        for labels, value in samples:
            out.append("%s%s %s" % (name, labels, _fmt(value)))

    metric("deployment_steps_completed_total", "counter",
           "Host tasks of the rollout that completed.", [("", state.get("steps", 0))])
    metric("deployment_errors_total", "counter",
           "Host tasks of the rollout that failed or found their host unreachable.",
           [("", state.get("errors", 0))])
    metric("deployment_successful_hosts", "gauge",
           "Hosts that run the new version and passed the gates.",
           [("", state.get("successful", 0))])
    metric("deployment_failed_hosts", "gauge",
           "Hosts that failed (unreachable hosts included).", [("", state.get("failed", 0))])
    metric("deployment_total_hosts", "gauge", "Hosts the rollout targets.",
           [("", state.get("total", 0))])
    metric("deployment_rollbacks_total", "counter",
           "Hosts rolled back by the rollout (role rescue or failed gate).",
           [("", state.get("rollbacks", 0))])
    metric("deployment_in_progress", "gauge", "1 while a rollout runs.",
           [("", 1 if state.get("in_progress") else 0)])
    metric("deployment_batches_completed_total", "counter", "Serial batches finished.",
           [("", state.get("batches", 0))])
    metric("deployment_phase", "gauge", "Canary phase of the running or last batch (1-based).",
           [("", state.get("phase", 0))])
    durs = [float(x) for x in state.get("durations", [])]
    samples = []
    for b in DURATION_BUCKETS:
        samples.append(('{le="%s"}' % b, sum(1 for x in durs if x <= b)))
    samples.append(('{le="+Inf"}', len(durs)))
    out.append("# HELP deployment_duration_seconds Time of one host's deployment "
               "(install, load, gates).")
    out.append("# TYPE deployment_duration_seconds histogram")
    for labels, v in samples:
        out.append("deployment_duration_seconds_bucket%s %d" % (labels, v))
    out.append("deployment_duration_seconds_sum %s" % _fmt(round(sum(durs), 3)))
    out.append("deployment_duration_seconds_count %d" % len(durs))
    metric("deployment_last_update_timestamp_seconds", "gauge",
           "When this file was written.", [("", int(state.get("updated", 0)))])
    dep = str(state.get("deployment_id", "")).replace("\\", "").replace('"', "")
    ver = str(state.get("version", "")).replace("\\", "").replace('"', "")
    metric("deployment_info", "gauge", "The rollout this file describes.",
           [('{deployment_id="%s",version="%s"}' % (dep, ver), 1)])
    return "\n".join(out) + "\n"


def write_metrics(path, state):
    """Writes the textfile atomically (node_exporter never reads half of it)."""
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    _write_atomic(path, render_metrics(state).encode(), 0o644)
