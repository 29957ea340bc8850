#!/usr/bin/env bash
# Runs a milspec.fleet playbook with the project's controller tools (the venv of
# scripts/ansible-deps.sh) and configuration (packaging/ansible/ansible.cfg, which
# enables the rollout callback: audit records and metrics).
#
# Usage: scripts/fleet.sh rollout|rollback|preflight -i INVENTORY [ansible-playbook options]
#
#   scripts/fleet.sh rollout -i hosts.ini -e milspec_fleet_version=1.0.1 \
#       -e milspec_fleet_module_file=target/test-versions/default/1.0.1.ko
#   scripts/fleet.sh rollback -i hosts.ini [-e milspec_fleet_rollback_to=1.0.0]
#   scripts/fleet.sh preflight -i hosts.ini -e milspec_fleet_version=1.0.1 -e ...
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
case "${1:-}" in
rollout|rollback|preflight) pb=$1; shift ;;
-h|--help|"") awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"; exit 0 ;;
*) echo "fleet.sh: unknown playbook $1 (rollout, rollback, preflight)" >&2; exit 64 ;;
esac
venv=$("$root/scripts/ansible-deps.sh")
export ANSIBLE_CONFIG=$root/packaging/ansible/ansible.cfg PATH=$venv:$PATH
exec ansible-playbook "$root/packaging/ansible/ansible_collections/milspec/fleet/playbooks/$pb.yml" "$@"
