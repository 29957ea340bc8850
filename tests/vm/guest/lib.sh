#!/bin/sh
# Helpers for the initramfs tier's in-guest suites (busybox sh): the shared TAP
# and check helpers (tests/lib/tap.sh, tests/lib/guest.sh, which tests/vm/run puts
# in /tests/lib), the module's path, and the in-guest Rust suite. Each check
# prints one TAP-style line, "ok - NAME" or "not ok - NAME: why", which the host
# harness counts.
# shellcheck source=tests/lib/tap.sh
. /tests/lib/tap.sh
# shellcheck source=tests/lib/guest.sh
. /tests/lib/guest.sh
# shellcheck disable=SC2034 # used by the suites that source this file
KO=/lib/milspec/dell_milspec.ko

# Run the in-guest Rust suite; its TAP lines pass straight through (the host
# counts them), a failing run fails this suite.
guest_tests() {
	milspec-guest-tests "$@" || TAP_FAILED=$((TAP_FAILED + 1))
}
