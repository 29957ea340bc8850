# -*- coding: utf-8 -*-
# Filters of the milspec.fleet collection; the logic is in module_utils/fleet.py.

from __future__ import annotations

DOCUMENTATION = r"""
name: fleet
short_description: canary phases and the soak gate of a milspec rollout
description:
  - C(canary_phases) turns cumulative fractions into one batch per phase.
  - C(canary_serial) is the batch-size list for a play's C(serial).
  - C(current_batch) says which phase the running batch is and who dropped out.
  - C(soak_compare) compares batch metrics with the pre-rollout baseline.
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.milspec.fleet.plugins.module_utils import fleet


def _wrap(fn):
    def run(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (ValueError, TypeError, KeyError) as e:
            raise AnsibleFilterError("milspec.fleet.%s: %s" % (fn.__name__, e)) from e
    run.__name__ = fn.__name__
    return run


class FilterModule:
    def filters(self):
        return {
            "canary_phases": _wrap(fleet.canary_phases),
            "canary_serial": _wrap(fleet.canary_serial),
            "current_batch": _wrap(fleet.current_batch),
            "soak_compare": _wrap(fleet.soak_compare),
        }
