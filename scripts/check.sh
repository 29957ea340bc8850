#!/usr/bin/env bash
# make check: every test. Formatting, clippy, host unit tests, the module build
# (warnings are errors, kernel clippy lints with CLIPPY=1), the Debian packages (lintian, contents) with make
# install/uninstall, the VM suites and the DKMS test. Prints TAP-style lines per
# step and ends with "N passed, N failed" counting host, VM and DKMS tests together.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export CARGO_TERM_COLOR=never

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
passed=0
failed=0
started=$(date +%s)

summary() {
	echo "# make check took $(( $(date +%s) - started )) s"
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
	exit $?
}

# step NAME CMD...: one check; on failure its log's tail is shown.
step() {
	local name=$1
	shift
	local log="$logs/$(echo "$name" | tr -c 'a-zA-Z0-9' _).log"
	if "$@" >"$log" 2>&1; then
		echo "ok - $name"
		passed=$((passed + 1))
		return 0
	fi
	echo "not ok - $name"
	tail -n 80 "$log" | sed 's/^/#   /'
	failed=$((failed + 1))
	return 1
}

# counted_suite CMD: a suite that prints its own TAP lines and writes
# "PASSED FAILED" to the file given with --counts; no counts means it broke.
counted_suite() {
	local counts
	counts="$logs/$(basename "$(dirname "$1")")-counts"
	"$1" --counts "$counts"
	local p=0 f=1
	[ ! -s "$counts" ] || read -r p f <"$counts"
	passed=$((passed + p))
	failed=$((failed + f))
}

echo "# dependencies"
step "dependencies installed (scripts/deps.sh)" scripts/deps.sh || summary

echo "# static checks"
step "rustfmt (workspace)" cargo fmt --all --check
step "rustfmt (kernel module)" rustfmt --check --config-path rustfmt.toml kmod/milspec.rs
step "clippy -D warnings" cargo clippy --workspace --all-targets --locked -- -D warnings

echo "# host tests (cargo test)"
cargo test --workspace --locked >"$logs/cargo-test.log" 2>&1
test_rc=$?
host_pass=$(grep -E '^test result:' "$logs/cargo-test.log" | sed -E 's/.* ([0-9]+) passed.*/\1/' | paste -sd+ | bc)
host_fail=$(grep -E '^test result:' "$logs/cargo-test.log" | sed -E 's/.* ([0-9]+) failed.*/\1/' | paste -sd+ | bc)
host_pass=${host_pass:-0}
host_fail=${host_fail:-0}
grep -E '^test .* \.\.\. FAILED' "$logs/cargo-test.log" | sed 's/^/not ok - /'
if [ $test_rc -ne 0 ] && [ "$host_fail" -eq 0 ]; then
	host_fail=1 # it did not compile, or a test binary crashed
	tail -n 60 "$logs/cargo-test.log" | sed 's/^/#   /'
fi
echo "# cargo test: $host_pass passed, $host_fail failed"
passed=$((passed + host_pass))
failed=$((failed + host_fail))

echo "# kernels and module (cold kernel builds take ~5 + ~8 min, then they are cached)"
step "reference kernel, gcc + lockdep/KFENCE (scripts/kernel.sh)" scripts/kernel.sh || summary
step "reference kernel, clang + KASAN (scripts/kernel.sh --variant kasan)" scripts/kernel.sh --variant kasan || summary
step "dell_milspec.ko builds with CLIPPY=1, warnings as errors (gcc kernel)" scripts/module.sh || summary
step "dell_milspec.ko builds with CLIPPY=1, warnings as errors (clang/KASAN kernel)" scripts/module.sh --variant kasan || summary
step "static guest binaries build" scripts/guest-bins.sh || summary

echo "# milspecctl on the lab's real modules (host, unprivileged)"
tests/host/real-modules.sh >"$logs/real-modules.log" 2>&1
cat "$logs/real-modules.log"
passed=$((passed + $(grep -c '^ok ' "$logs/real-modules.log")))
failed=$((failed + $(grep -c '^not ok ' "$logs/real-modules.log")))

echo "# Debian packages and make install (lintian, contents, maintainer scripts, install/uninstall)"
if step "Debian packages build (scripts/deb.sh)" scripts/deb.sh; then
	tests/host/deb.sh --no-build >"$logs/deb.log" 2>&1
	cat "$logs/deb.log"
	passed=$((passed + $(grep -c '^ok ' "$logs/deb.log")))
	failed=$((failed + $(grep -c '^not ok ' "$logs/deb.log")))
fi

echo "# VM suites"
counted_suite tests/vm/suite

echo "# DKMS (tests/dkms/run: Debian's dkms in a temporary tree; a cold run builds the -upgrade kernel, ~5-8 min)"
counted_suite tests/dkms/run

echo "# full-system tier: Debian bookworm, systemd as PID 1 (cold: debootstrap ~1.5 min; the kernel is the default one)"
counted_suite tests/system/suite
summary
