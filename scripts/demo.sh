#!/usr/bin/env bash
# make demo: build everything, boot the emulated Dell Latitude 5450, load the module
# with milspecctl, show its status, unload it. Exits 0 when all of that worked.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
echo "==> dependencies"
scripts/deps.sh
echo "==> reference kernel (cached after the first build, which takes ~5 min)"
scripts/kernel.sh >/dev/null
echo "==> dell_milspec.ko, milspecctl, milspecd"
make -s module guest-bins >/dev/null
echo "==> booting the emulated Dell Latitude 5450 (QEMU, software emulation)"
tests/vm/run --no-build --no-load -- sh /tests/demo.sh
echo
echo "==> demo finished: module loaded, status shown, module unloaded, kernel log clean"
