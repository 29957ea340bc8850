#!/usr/bin/env bash
# Installs the fleet controller's tools into a Python venv under $MILSPEC_CACHE:
# ansible-core, ansible-lint and pytest at the versions pinned in scripts/versions.sh
# (from PyPI, with Debian 12's /usr/bin/python3, i.e. Python 3.11). Idempotent: a venv
# whose stamp names the same versions is used as it is. Prints the venv's bin
# directory on stdout; progress goes to stderr.
#
# Usage: scripts/ansible-deps.sh [--print-dir]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/versions.sh
. "$here/versions.sh"

log() { printf 'ansible-deps: %s\n' "$*" >&2; }
want="ansible-core==$ANSIBLE_CORE_VERSION ansible-lint==$ANSIBLE_LINT_VERSION pytest==$PYTEST_VERSION"
stamp=$FLEET_VENV/.milspec-built

if [ "${1:-}" = "--print-dir" ] || { [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; }; then
	echo "$FLEET_VENV/bin"
	exit 0
fi

py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3)
"$py" -c 'import venv, ensurepip' 2>/dev/null || {
	log "python3-venv is missing: run 'make deps'"
	exit 1
}
mkdir -p "$MILSPEC_CACHE"
exec 9>"$MILSPEC_CACHE/.fleet-venv.lock"
flock 9
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then echo "$FLEET_VENV/bin"; exit 0; fi

start=$(date +%s)
rm -rf "$FLEET_VENV"
log "creating $FLEET_VENV ($want)"
"$py" -m venv "$FLEET_VENV"
# shellcheck disable=SC2086 # $want is a list of requirement specifiers
"$FLEET_VENV/bin/pip" install --quiet --disable-pip-version-check $want >&2
"$FLEET_VENV/bin/ansible-playbook" --version >/dev/null
"$FLEET_VENV/bin/ansible-lint" --version >/dev/null
"$FLEET_VENV/bin/pip" freeze >"$FLEET_VENV/requirements.lock"
echo "$want" >"$stamp"
# Venvs of older pins are never used again.
for old in "$MILSPEC_CACHE"/fleet-venv-*; do
	[ "$old" = "$FLEET_VENV" ] || [ ! -d "$old" ] || rm -rf "$old"
done
log "done in $(( $(date +%s) - start )) s"
echo "$FLEET_VENV/bin"
