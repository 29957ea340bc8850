# shellcheck shell=sh
# TAP-style output and counts: the one copy every suite sources, on the host
# (scripts/check.sh, tests/vm/suite, tests/system/suite, tests/dkms/run,
# tests/host/*.sh; bash) and in the guests of both VM tiers (tests/vm/run puts it
# at /tests/lib/tap.sh, tests/system/run at /run/milspec-test/tests/lib/tap.sh;
# busybox sh and bash). POSIX sh: no local variables, no arrays; helpers' own
# variables start with _tap_.
#
# Lines:   "ok - NAME", "not ok - NAME", "not ok - NAME: WHY",
#          "ok - NAME # SKIP WHY", and "#   ..." detail lines under a check.
# Counts:  TAP_PASSED, TAP_FAILED, TAP_SKIPPED (set to 0 when sourced).
#
#   tap_pass NAME              ok line, counted as passed
#   tap_fail NAME [WHY]        not ok line, counted as failed
#   tap_skip NAME WHY          ok line with "# SKIP WHY", counted as skipped
#   tap_indent                 filter: each line of stdin as a detail line
#   tap_note TEXT...           each line of each TEXT as a detail line
#   tap_add PASSED FAILED      add to the counts
#   tap_tally FILE [skips]     count the TAP lines another program wrote to FILE: ok
#                              lines as passed (with "skips": those marked "# SKIP"
#                              as skipped instead), not ok lines as failed
#   tap_write_counts FILE      "PASSED FAILED" to FILE, the --counts protocol of the
#                              suites (nothing when FILE is empty)
#   tap_read_counts FILE       add a suite's --counts file; a missing or empty one
#                              counts as one failure (the suite broke)
#   tap_summary [LABEL] [skipped]
#                              "LABEL: N passed, N failed" (no "LABEL: " when LABEL
#                              is empty), ", N skipped" added with "skipped"
#   tap_status [nonempty]      status 0 when nothing failed (with "nonempty": and
#                              something passed)
#   tap_finish LABEL COUNTS [skipped] [nonempty]
#                              the end of a suite: tap_summary LABEL, the counts to
#                              the file COUNTS (if not empty), exit with tap_status

TAP_PASSED=0
TAP_FAILED=0
TAP_SKIPPED=0

tap_pass() { echo "ok - $1"; TAP_PASSED=$((TAP_PASSED + 1)); }
tap_fail() { echo "not ok - $1${2:+: $2}"; TAP_FAILED=$((TAP_FAILED + 1)); }
tap_skip() { echo "ok - $1 # SKIP $2"; TAP_SKIPPED=$((TAP_SKIPPED + 1)); }

tap_indent() { sed 's/^/#   /'; }
tap_note() { [ $# -eq 0 ] || printf '%s\n' "$@" | tap_indent; }

tap_add() { TAP_PASSED=$((TAP_PASSED + $1)); TAP_FAILED=$((TAP_FAILED + $2)); }

tap_tally() {
	_tap_ok=$(grep -c '^ok ' "$1")
	if [ "${2:-}" = skips ]; then
		_tap_skip=$(grep '^ok ' "$1" | grep -c '# SKIP')
		_tap_ok=$((_tap_ok - _tap_skip))
		TAP_SKIPPED=$((TAP_SKIPPED + _tap_skip))
	fi
	tap_add "$_tap_ok" "$(grep -c '^not ok ' "$1")"
}

tap_write_counts() { [ -z "$1" ] || echo "$TAP_PASSED $TAP_FAILED" >"$1"; }

tap_read_counts() {
	_tap_p=0 _tap_f=1
	[ ! -s "$1" ] || read -r _tap_p _tap_f <"$1"
	tap_add "$_tap_p" "$_tap_f"
}

# shellcheck disable=SC2120 # its arguments are optional
tap_summary() {
	_tap_line="$TAP_PASSED passed, $TAP_FAILED failed"
	[ "${2:-}" != skipped ] || _tap_line="$_tap_line, $TAP_SKIPPED skipped"
	echo "${1:+$1: }$_tap_line"
}

# shellcheck disable=SC2120 # its arguments are optional
tap_status() {
	[ "$TAP_FAILED" -eq 0 ] || return 1
	[ "${1:-}" != nonempty ] || [ "$TAP_PASSED" -gt 0 ]
}

tap_finish() {
	_tap_label=$1 _tap_counts=$2 _tap_skips="" _tap_need=""
	shift 2
	for _tap_opt in "$@"; do
		case $_tap_opt in
		skipped) _tap_skips=skipped ;;
		nonempty) _tap_need=nonempty ;;
		esac
	done
	tap_summary "$_tap_label" "$_tap_skips"
	tap_write_counts "$_tap_counts"
	tap_status "$_tap_need"
	exit $?
}
