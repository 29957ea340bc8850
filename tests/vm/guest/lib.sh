#!/bin/sh
# Helpers for in-guest suites (busybox sh). Each check prints one TAP-style line,
# "ok - NAME" or "not ok - NAME: why", which the host harness counts.
KO=/lib/milspec/dell_milspec.ko
FAILED=0

ok() { echo "ok - $1"; }
not_ok() { echo "not ok - $1${2:+: $2}"; FAILED=$((FAILED + 1)); }

# t NAME CMD...: passes if CMD exits 0.
t() {
	name=$1; shift
	out=$("$@" 2>&1) && ok "$name" || not_ok "$name" "exit $?: $(echo "$out" | tail -n 3 | tr '\n' ' ')"
}

# t_rc NAME RC CMD...: passes if CMD exits with RC.
t_rc() {
	name=$1 want=$2; shift 2
	out=$("$@" 2>&1)
	got=$?
	[ "$got" -eq "$want" ] && ok "$name" || not_ok "$name" "exit $got, want $want: $(echo "$out" | tail -n 3 | tr '\n' ' ')"
}

# t_out NAME PATTERN CMD...: passes if CMD's output (stdout+stderr) matches the
# extended regex PATTERN, whatever its exit status.
t_out() {
	name=$1 pat=$2; shift 2
	out=$("$@" 2>&1)
	echo "$out" | grep -qE "$pat" && ok "$name" || not_ok "$name" "no /$pat/ in: $(echo "$out" | tail -n 3 | tr '\n' ' ')"
}

# Run the in-guest Rust suite; its TAP lines pass straight through.
guest_tests() {
	milspec-guest-tests "$@" || FAILED=$((FAILED + 1))
}

finish() {
	[ "$FAILED" -eq 0 ]
	exit $?
}
