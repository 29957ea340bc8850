#!/bin/sh
# Suite for the emulated Dell Latitude 5450 (boot with --platform dell --no-load).
# Arguments are passed to milspec-guest-tests (e.g. smaller fuzz/stress sizes).
# shellcheck source=tests/vm/guest/lib.sh
. /tests/lib.sh

t "milspecctl load binds on the Latitude 5450" milspecctl load --file "$KO"
t "/proc/milspec/status is readable" test -r /proc/milspec/status
t "/dev/milspec is a character device" test -c /dev/milspec
t_out "status says supported" '^platform_state: supported$' cat /proc/milspec/status
t_out "kernel log announces the platform" 'dell_milspec: 0\.1\.0 loaded on Dell Inc\. Latitude 5450 \(supported\)' dmesg
t_out "lsmod lists the module" '^dell_milspec ' lsmod

guest_tests --expect-state supported basic api fuzz-user fuzz stress race "$@"

t_out "milspecctl status (human) names the platform" 'Latitude 5450' milspecctl status
t_out "milspecctl level shows the level" '^standard \(1\)$' milspecctl level
t_out "milspecctl level enhanced" 'standard -> enhanced' milspecctl level enhanced
t_rc "milspecctl level enhanced again: nothing to do (2)" 2 milspecctl level enhanced
t "milspecctl level standard" milspecctl level standard
t_rc "milspecctl level bogus: usage error (64)" 64 milspecctl level bogus
t_out "milspecctl events lists the level changes" 'level_changed +uid=0 pid=[0-9]+ enhanced -> standard' milspecctl events
t_out "milspecctl --json events" '"kind":"level_changed"' milspecctl --json events
t_out "milspecctl allowlist set" 'allowlist: milspec_probe_ok' milspecctl allowlist set milspec_probe_ok
t_out "status shows the allowlist" '^module_load_allowlist: set, 1 entries' cat /proc/milspec/status
t "milspecctl allowlist clear" milspecctl allowlist clear
t_out "milspecctl tokens (none on this VM)" 'calling interface: absent, 0 tokens' milspecctl tokens
t_rc "milspecd --once is healthy (exit 0)" 0 milspecd --once
t_out "loading twice is refused: already loaded" 'already loaded' milspecctl load --file "$KO"
t_rc "loading twice exits 1" 1 milspecctl load --file "$KO"

head -c 4096 "$KO" >/tmp/truncated.ko
t_out "a truncated .ko is refused by the kernel" 'refused to load' milspecctl load --file /tmp/truncated.ko
t_rc "milspecctl load of a missing file exits 1" 1 milspecctl load --file /nonexistent.ko

t "milspecctl unload" milspecctl unload
t "/proc/milspec is gone after unload" test ! -e /proc/milspec
t "/dev/milspec is gone after unload" test ! -e /dev/milspec
t_rc "unload again: nothing to do (exit 2)" 2 milspecctl unload
t_rc "milspecctl status when not loaded exits 3" 3 milspecctl status
t_out "milspecctl --json status when not loaded" '"module_loaded":false' milspecctl --json status
t_rc "milspecd --once when not loaded is unhealthy (exit 2)" 2 milspecd --once

cycles_ok=1
for _ in 1 2 3 4 5; do
	insmod "$KO" && cat /proc/milspec/status >/dev/null && rmmod dell_milspec || cycles_ok=0
done
[ $cycles_ok -eq 1 ] && tap_pass "5 load/read/unload cycles" || tap_fail "5 load/read/unload cycles"

finish
