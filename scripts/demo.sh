#!/usr/bin/env bash
# make demo: build everything, boot the emulated Dell Latitude 5450, load the module
# with milspecctl, show its status, unload it; then install three versions into the
# store, load, verify, watch a failing load roll back, roll back, show the history.
# Exits 0 when all of that worked.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
echo "==> dependencies"
scripts/deps.sh
echo "==> reference kernel (cached after the first build, which takes ~5 min)"
scripts/kernel.sh >/dev/null
echo "==> dell_milspec.ko, milspecctl, milspecd"
make -s module guest-bins >/dev/null
scripts/module.sh --test-versions >/dev/null
echo "==> booting the emulated Dell Latitude 5450 (QEMU, software emulation)"
tests/vm/run --no-build --no-load -- sh /tests/demo.sh
echo
echo "==> demo finished: status shown; install, load, verify, automatic rollback of a"
echo "    failing version, rollback and history all worked; milspecd raised a lowered"
echo "    level back to the policy minimum; kernel log clean"
