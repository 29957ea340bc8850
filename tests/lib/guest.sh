# shellcheck shell=sh
# Check helpers of the guest suites of both VM tiers: tests/vm/guest/*.sh (busybox
# sh, in the initramfs at /tests/lib/guest.sh) and tests/system/guest/system.sh
# (bash, on the per-run disk at /run/milspec-test/tests/lib/guest.sh). Source
# tests/lib/tap.sh first. POSIX sh; helpers' own variables start with _g_.
#
#   lastlines TEXT [N]         the last N (default 3) lines of TEXT, on one line
#   t NAME CMD...              check: CMD exits 0
#   t_rc NAME RC CMD...        check: CMD exits with RC
#   t_out NAME PATTERN CMD...  check: CMD's output (stdout and stderr) matches the
#                              extended regex PATTERN, whatever its exit status
#   wait_until SECONDS CMD...  runs CMD (output discarded) until it succeeds:
#                              status 0, or 1 when it still fails after SECONDS s
#                              of pauses; a pause is WAIT_TENTHS tenths of a
#                              second (default 1)
#   t_wait NAME CMD...         check: CMD succeeds within 10 s (wait_until)
#   finish                     ends the suite: exit 0 when no check failed

lastlines() { printf '%s\n' "$1" | tail -n "${2:-3}" | tr '\n' ' '; }

t() {
	_g_name=$1
	shift
	if _g_out=$("$@" 2>&1); then tap_pass "$_g_name"; else
		tap_fail "$_g_name" "exit $?: $(lastlines "$_g_out")"; fi
}

t_rc() {
	_g_name=$1 _g_want=$2
	shift 2
	_g_out=$("$@" 2>&1)
	_g_got=$?
	if [ "$_g_got" -eq "$_g_want" ]; then tap_pass "$_g_name"; else
		tap_fail "$_g_name" "exit $_g_got, want $_g_want: $(lastlines "$_g_out")"; fi
}

t_out() {
	_g_name=$1 _g_pat=$2
	shift 2
	_g_out=$("$@" 2>&1)
	if printf '%s\n' "$_g_out" | grep -qE "$_g_pat"; then tap_pass "$_g_name"; else
		tap_fail "$_g_name" "no /$_g_pat/ in: $(lastlines "$_g_out")"; fi
}

wait_until() {
	_g_tries=$(($1 * 10 / ${WAIT_TENTHS:-1}))
	shift
	while ! "$@" >/dev/null 2>&1; do
		_g_tries=$((_g_tries - 1))
		[ "$_g_tries" -gt 0 ] || return 1
		sleep "$((${WAIT_TENTHS:-1} / 10)).$((${WAIT_TENTHS:-1} % 10))"
	done
}

t_wait() {
	_g_wname=$1
	shift
	if wait_until 10 "$@"; then tap_pass "$_g_wname"; else
		tap_fail "$_g_wname" "still false after 10 s: $*"; fi
}

finish() {
	tap_status
	exit $?
}
