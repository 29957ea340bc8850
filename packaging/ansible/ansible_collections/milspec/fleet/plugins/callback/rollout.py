# -*- coding: utf-8 -*-
# Controller-side record of a rollout: the audit records and the deployment metrics.

from __future__ import annotations

DOCUMENTATION = r"""
name: rollout
type: notification
short_description: audit records and Prometheus metrics of a milspec.fleet rollout
description:
  - Activated by the fact C(milspec_fleet_run) that the rollout and rollback playbooks
    set once on localhost (deployment_id, user, target_systems, component_versions,
    security_level, audit_root, metrics_file, operation).
  - Writes one C(deployment_start) record when it appears and one C(deployment_complete)
    record at the end of the run (also when a failed batch stopped the play) to the
    hash-chained log C(<audit_root>/var/log/milspec/audit.jsonl), the format of
    milspecctl's own log, so C(milspecctl --root <audit_root> audit verify) checks it.
  - Rewrites the node_exporter textfile C(metrics_file) after every serial batch
    (Ansible starts the play again for each batch) and at the end.
  - Counts host tasks of plays with C(milspec_fleet_phase_play) as steps, every failed
    or unreachable host task as an error, C(milspec_host_result) facts for host
    outcomes and rollbacks; an unreachable host is failed, never done.
requirements:
  - enable with C(callbacks_enabled = milspec.fleet.rollout)
"""

import getpass
import os
import time

from ansible.plugins.callback import CallbackBase
from ansible_collections.milspec.fleet.plugins.module_utils import fleet


def _truthy(v):
    return v is True or str(v).lower() in ("true", "yes", "1")


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "notification"
    CALLBACK_NAME = "milspec.fleet.rollout"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.run = None
        self.started = None
        self.phase_play = False
        self.batches_started = 0
        self.steps = 0
        self.errors = 0
        self.results = {}
        self.unreachable = set()
        self.rolled_back = set()

    # --- helpers ---------------------------------------------------------------
    def _state(self, in_progress):
        targets = list(self.run.get("target_systems", []))
        failed = {h for h, r in self.results.items() if r.get("result") == "failed"}
        failed |= self.unreachable & set(targets)
        ok = {h for h, r in self.results.items()
              if r.get("result") in ("deployed", "unchanged", "rolled_back")} - failed
        durations = [float(r.get("duration_seconds", 0)) for r in self.results.values()
                     if r.get("result") in ("deployed", "failed", "rolled_back")]
        return {
            "steps": self.steps, "errors": self.errors, "successful": len(ok),
            "failed": len(failed), "total": len(targets), "rollbacks": len(self.rolled_back),
            "in_progress": in_progress, "batches": max(0, self.batches_started - (1 if in_progress else 0)),
            "phase": self.batches_started, "durations": durations, "updated": time.time(),
            "deployment_id": self.run.get("deployment_id", ""),
            "version": (self.run.get("component_versions") or {}).get("dell_milspec", ""),
            "_ok": sorted(ok), "_failed": sorted(failed),
        }

    def _write_metrics(self, in_progress):
        path = self.run.get("metrics_file")
        if not path:
            return
        try:
            fleet.write_metrics(path, self._state(in_progress))
        except OSError as e:
            self._display.warning("milspec.fleet.rollout: cannot write %s: %s" % (path, e))

    def _audit(self, action, result, **extra):
        root = self.run.get("audit_root")
        if not root:
            return
        rec = {
            "timestamp": int(time.time()), "uid": os.getuid(),
            "sudo_user": os.environ.get("SUDO_USER"), "action": action, "result": result,
            "deployment_id": self.run.get("deployment_id"),
            "component_versions": {str(k): str(v) for k, v in
                                   (self.run.get("component_versions") or {}).items()},
            "rollback_occurred": False, "duration_seconds": 0.0, "detail": None,
            "user": self.run.get("user") or os.environ.get("SUDO_USER") or getpass.getuser(),
            "target_systems": list(self.run.get("target_systems", [])),
            "security_level": str(self.run.get("security_level", "")),
            "operation": self.run.get("operation", "rollout"),
        }
        rec.update(extra)
        try:
            fleet.audit_append(root, rec)
        except (OSError, ValueError) as e:
            self._display.error("milspec.fleet.rollout: audit log %s: %s" % (root, e))

    # --- callbacks ----------------------------------------------------------------
    def v2_playbook_on_play_start(self, play):
        self.phase_play = _truthy(play.get_vars().get("milspec_fleet_phase_play", False))
        if self.run and self.phase_play:
            self.batches_started += 1
            # Ansible starts the play once per serial batch: the previous batch is done.
            self._write_metrics(True)

    def _host(self, result):
        return result._host.get_name()

    def v2_runner_on_ok(self, result):
        facts = result._result.get("ansible_facts") or {}
        if self.run is None and "milspec_fleet_run" in facts:
            self.run = dict(facts["milspec_fleet_run"])
            self.started = time.time()
            self._audit("deployment_start", "started")
            self._write_metrics(True)
        if self.run is None:
            return
        if "milspec_host_result" in facts:
            r = dict(facts["milspec_host_result"])
            self.results[self._host(result)] = r
            if _truthy(r.get("rolled_back")):
                self.rolled_back.add(self._host(result))
        if self.phase_play:
            self.steps += 1

    def v2_runner_on_failed(self, result, ignore_errors=False):
        if self.run is not None and not ignore_errors:
            self.errors += 1

    def v2_runner_on_unreachable(self, result):
        if self.run is not None:
            self.errors += 1
            self.unreachable.add(self._host(result))

    def v2_playbook_on_stats(self, stats):
        if self.run is None:
            return
        for h in self.run.get("target_systems", []):
            s = stats.summarize(h)
            if s.get("unreachable"):
                self.unreachable.add(h)
            elif s.get("failures") and self.results.get(h, {}).get("result") != "failed":
                self.results.setdefault(h, {})["result"] = "failed"
        st = self._state(False)
        untouched = st["total"] - st["successful"] - st["failed"]
        result = "ok" if st["failed"] == 0 and untouched == 0 else "failed"
        self._audit(
            "deployment_complete", result,
            hosts_successful=st["successful"], hosts_failed=st["failed"],
            hosts_not_reached=untouched, failed_hosts=st["_failed"],
            rollback_occurred=bool(self.rolled_back), rolled_back_hosts=sorted(self.rolled_back),
            duration_seconds=round(time.time() - (self.started or time.time()), 3),
            host_deployments={h: {k: str(v) for k, v in r.items()
                                  if k in ("result", "before", "after", "attempted", "host_deployment_id",
                                           "duration_seconds")}
                              for h, r in sorted(self.results.items())},
            detail="%d batches, %d steps, %d errors" % (self.batches_started, self.steps, self.errors),
        )
        self._write_metrics(False)
