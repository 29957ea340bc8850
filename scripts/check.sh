#!/usr/bin/env bash
# make check: every test. Formatting, clippy, host unit tests, the module build
# (warnings are errors, kernel clippy lints with CLIPPY=1), the Debian packages (lintian, contents) with make
# install/uninstall, the fleet controller tests, the VM suites, the DKMS test, the
# full-system tier and the fleet VM tier. Prints TAP-style lines per step, each with the seconds it took,
# and ends with "N passed, N failed" counting host, VM and DKMS tests together.
# The VM tiers run in two parallel lanes (see below).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1
export CARGO_TERM_COLOR=never
# shellcheck source=tests/lib/tap.sh
. tests/lib/tap.sh

logs=$(mktemp -d)
lane2_pid=""
# kill_tree PID: a background lane and the suites and VMs under it.
kill_tree() {
	local child
	for child in $(pgrep -P "$1"); do kill_tree "$child"; done
	kill "$1" 2>/dev/null
}
trap '[ -z "$lane2_pid" ] || kill_tree "$lane2_pid"; rm -rf "$logs"' EXIT
started=$SECONDS

summary() {
	echo "# make check took $((SECONDS - started)) s"
	tap_finish "" "" nonempty
}

# step NAME CMD...: one check, "ok - NAME (N s)"; on failure its log's tail is shown.
step() {
	local name=$1 t0=$SECONDS
	shift
	local log
	log="$logs/$(echo "$name" | tr -c 'a-zA-Z0-9' _).log"
	if "$@" >"$log" 2>&1; then
		tap_pass "$name ($((SECONDS - t0)) s)"
		return 0
	fi
	tap_fail "$name ($((SECONDS - t0)) s)"
	tail -n 80 "$log" | tap_indent
	return 1
}

# tally SCRIPT [ARG...]: a script that prints TAP lines: they are shown and
# counted, then how long it took.
tally() {
	local t0=$SECONDS log
	log="$logs/$(basename "$1").log"
	"$@" >"$log" 2>&1
	cat "$log"
	tap_tally "$log"
	echo "# $1 took $((SECONDS - t0)) s"
}

# counted_suite CMD [ARG...]: a suite that prints its own TAP lines and writes
# "PASSED FAILED" to the file given with --counts; no counts means it broke.
counted_suite() {
	local counts t0=$SECONDS
	counts="$logs/$(echo "$1" | tr / _)-counts"
	"$1" --counts "$counts" "${@:2}"
	tap_read_counts "$counts"
	echo "# $1 took $((SECONDS - t0)) s"
}

echo "# dependencies"
step "dependencies installed (scripts/deps.sh)" scripts/deps.sh || summary

echo "# static checks"
step "rustfmt (workspace)" cargo fmt --all --check
step "rustfmt (kernel module)" rustfmt --check --config-path rustfmt.toml kmod/milspec.rs
step "clippy -D warnings" cargo clippy --workspace --all-targets --locked -- -D warnings

echo "# host tests (cargo test)"
t0=$SECONDS
cargo test --workspace --locked >"$logs/cargo-test.log" 2>&1
test_rc=$?
host_pass=$(grep -E '^test result:' "$logs/cargo-test.log" | sed -E 's/.* ([0-9]+) passed.*/\1/' | paste -sd+ | bc)
host_fail=$(grep -E '^test result:' "$logs/cargo-test.log" | sed -E 's/.* ([0-9]+) failed.*/\1/' | paste -sd+ | bc)
host_pass=${host_pass:-0}
host_fail=${host_fail:-0}
grep -E '^test .* \.\.\. FAILED' "$logs/cargo-test.log" | sed 's/^/not ok - /'
if [ $test_rc -ne 0 ] && [ "$host_fail" -eq 0 ]; then
	host_fail=1 # it did not compile, or a test binary crashed
	tail -n 60 "$logs/cargo-test.log" | tap_indent
fi
echo "# cargo test: $host_pass passed, $host_fail failed ($((SECONDS - t0)) s)"
tap_add "$host_pass" "$host_fail"

echo "# kernels and module (cold: the default and the KASAN debug kernels, each timed below; then cached)"
step "reference kernel, gcc + lockdep/KFENCE (scripts/kernel.sh)" scripts/kernel.sh || summary
step "reference kernel, clang + KASAN (scripts/kernel.sh --variant kasan)" scripts/kernel.sh --variant kasan || summary
step "dell_milspec.ko builds with CLIPPY=1, warnings as errors (gcc kernel)" scripts/module.sh || summary
step "dell_milspec.ko builds with CLIPPY=1, warnings as errors (clang/KASAN kernel)" scripts/module.sh --variant kasan || summary
step "static guest binaries build" scripts/guest-bins.sh || summary

echo "# milspecctl on the lab's real modules (host, unprivileged)"
tally tests/host/real-modules.sh

echo "# Debian packages and make install (lintian, contents, maintainer scripts, install/uninstall)"
if step "Debian packages build (scripts/deb.sh)" scripts/deb.sh; then
	tally tests/host/deb.sh --no-build
fi

# The VM tiers run in two lanes at once: each QEMU boot spends most of its time in
# one emulated CPU, so two boots use both host cores (one lane alone left one idle).
# Lane 2 runs in the background and its output is shown when it ends; lane 1 streams.
# The full-system tier is in lane 2 because the lanes then end within about two
# minutes of each other (measured: lane 1 1456 s and lane 2 825 s with it in
# lane 1); the root image it shares with the fleet VMs is built under a lock.
echo "# VM tiers, two lanes in parallel; lane 2 (initramfs suites, firmware, full system) is shown when it ends"
lane2() {
	echo "# VM suites"
	counted_suite tests/vm/suite
	echo "# real Dell firmware: one boot per machine of ../shared/fixtures/dell-smbios (tests/vm/firmware)"
	counted_suite tests/vm/firmware
	echo "# full-system tier: Debian bookworm, systemd as PID 1 (cold: debootstrap ~1.5 min; the kernel is the default one)"
	counted_suite tests/system/suite
}
lane2_log=$logs/lane2.log
lane2_counts=$logs/lane2-counts
# A subshell has its own TAP counters: they come back through a counts file.
(TAP_PASSED=0 TAP_FAILED=0; lane2; tap_write_counts "$lane2_counts") >"$lane2_log" 2>&1 &
lane2_pid=$!

echo "# lane 1: fleet rollout on the controller: collection, ansible-lint, alert rules, dashboard, playbooks on simulated hosts"
counted_suite tests/fleet/unit

echo "# lane 1: DKMS (tests/dkms/run: Debian's dkms in a temporary tree; a cold run builds the lean -upgrade kernel)"
counted_suite tests/dkms/run

echo "# lane 1: measured posture: IMA + swtpm (SHA-1 and SHA-256 banks), quote verified on the host (tests/attest/suite)"
counted_suite tests/attest/suite

echo "# lane 1: power cuts under milspecctl: QEMU killed at seeded points on ext4 (tests/faults/run, 4 cuts; make faults runs 32)"
counted_suite tests/faults/run

# Last in lane 1: the longest tier.
echo "# lane 1: fleet rollout on three full-system VMs over SSH: A, A -> B with an unreachable host, a bad version stopped at the canary (tests/fleet/run --quick; make fleet-test runs all of it)"
counted_suite tests/fleet/run --quick

echo "# lane 1 done; waiting for lane 2"
wait "$lane2_pid"
lane2_pid=""
cat "$lane2_log"
tap_read_counts "$lane2_counts"
summary
