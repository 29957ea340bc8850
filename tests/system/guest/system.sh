#!/bin/bash
# Full-system suite, run inside the Debian guest by tests/system/run (as root, from
# milspec-test.service, systemd as PID 1). One TAP-style line per check:
# "ok - NAME", "not ok - NAME: why", or "ok - NAME # SKIP why" (counted apart by
# tests/system/suite); "# ..." lines are information.
#
# Input, from the per-run disk /run/milspec-test:
#   debs/milspec-tools_*.deb   the package under test (installed with dpkg -i)
#   dell_milspec.ko            the module, built for this kernel
#   files/                     without a .deb: milspecctl, milspecd, milspecd.service
#                              (and policy.toml), installed by hand so the
#                              service checks still run; the dpkg checks are skipped
set -u
# TAP lines and counts, and the check helpers shared with the initramfs tier
# (tests/lib/, on the per-run disk next to this script).
# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/lib/tap.sh"
# shellcheck source=tests/lib/guest.sh
. "$(dirname "$0")/lib/guest.sh"
# wait_until polls every 0.5 s here: each try runs systemctl or journalctl, slow
# under TCG.
WAIT_TENTHS=5
T=/run/milspec-test
UNIT=milspecd.service
info() { printf '%s\n' "$@" | sed 's/^/# /'; }
prop() { systemctl show -P "$1" "$UNIT"; }
is_running() { [ "$(prop ActiveState)/$(prop SubState)" = active/running ]; }
# Journal lines the daemon itself wrote (not systemd's lines about the unit).
daemon_log() { journalctl -q --no-pager -o cat _SYSTEMD_UNIT=$UNIT; }
# n_daemon PATTERN / n_unit PATTERN: how many journal lines of the daemon (of the
# unit, systemd's lines included) match the extended regex PATTERN; a check waits
# for the count to grow.
n_daemon() { daemon_log | grep -ciE "$1"; }
n_unit() { journalctl -q --no-pager -u "$UNIT" | grep -ciE "$1"; }
grew() { [ "$($1 "$2")" -gt "$3" ]; }
# shellcheck source=tests/system/guest/posture.sh
. "$(dirname "$0")/posture.sh"

# --- the system itself ---
if [ "$(cat /proc/1/comm)" = systemd ]; then tap_pass "systemd is PID 1"; else
	tap_fail "systemd is PID 1" "PID 1 is $(cat /proc/1/comm)"; fi
state=$(timeout 300 systemctl is-system-running --wait 2>&1)
if [ "$state" = running ]; then tap_pass "systemctl is-system-running: running"; else
	tap_fail "systemctl is-system-running: running" "$state; failed units: $(systemctl --failed --plain --no-legend | tr '\n' ' ')"
fi
info "$(uname -a)" "$(systemctl --version | head -n 1)"
info "boot: $(systemd-analyze time 2>/dev/null | head -n 1)"
info "DMI: $(cat /sys/class/dmi/id/sys_vendor) / $(cat /sys/class/dmi/id/product_name)"

# --- install ---
snapshot() { # the files of the system, minus what changes by itself
	find / -xdev \( -path /proc -o -path /sys -o -path /dev -o -path /run -o -path /tmp \
		-o -path /var/log/journal -o -path /var/log/dpkg.log -o -path /var/log/alternatives.log \
		-o -path /var/cache -o -path /var/lib/dpkg -o -path /var/lib/systemd/random-seed \
		-o -path /var/lib/systemd/timers -o -path /var/tmp -o -path /etc/ld.so.cache \
		-o -path /root \) -prune -o -print | sort
}
snapshot >/tmp/before.list
deb=$(ls "$T"/debs/milspec-tools_*.deb 2>/dev/null | head -n 1)
have_deb=0
if [ -n "$deb" ]; then
	have_deb=1
	info "package: $(dpkg-deb -f "$deb" Package Version Architecture Depends | tr '\n' ' ')"
	if out=$(dpkg -i "$T"/debs/*.deb 2>&1); then tap_pass "dpkg -i $(basename "$deb")"; else
		tap_fail "dpkg -i $(basename "$deb")" "$(lastlines "$out" 5)"; fi
	info "$(echo "$out" | tail -n 5)"
	if [ "$(dpkg-query -W -f='${Status}' milspec-tools 2>&1)" = "install ok installed" ]; then
		tap_pass "milspec-tools is installed"; else tap_fail "milspec-tools is installed" "$(dpkg-query -W -f='${Status}' milspec-tools 2>&1)"; fi
else
	tap_skip "dpkg -i milspec-tools_*.deb" "no .deb given to tests/system/run (--deb)"
	if [ -f "$T/files/milspecd" ] && [ -f "$T/files/$UNIT" ]; then
		info "installing milspecctl, milspecd and $UNIT by hand from files/"
		install -m 0755 "$T/files/milspecctl" "$T/files/milspecd" /usr/sbin/
		install -m 0644 "$T/files/$UNIT" /lib/systemd/system/
		if [ -f "$T/files/policy.toml" ]; then install -D -m 0644 "$T/files/policy.toml" /etc/milspec/policy.toml; fi
		systemctl daemon-reload
	elif [ -f "$T/files/milspecctl" ]; then
		install -m 0755 "$T/files/milspecctl" /usr/sbin/
	fi
fi
if [ $have_deb -eq 1 ]; then posture_after_install; fi
have_unit=0
if systemctl cat "$UNIT" >/dev/null 2>&1; then have_unit=1; fi

# --- the module ---
if [ "$have_unit" -eq 1 ]; then
	# docs/milspecd.md: READY=1 + STATUS= after the first status read, or after
	# finding the module absent. So without the module the daemon starts, and its
	# status says the module is missing (the package's postinst starts it like this).
	timeout 120 systemctl start "$UNIT"
	st=$(prop ActiveState)/$(prop SubState) status=$(prop StatusText)
	if [ "$st" = active/running ] && [ -n "$status" ]; then
		tap_pass "without the module: milspecd active, STATUS= '$status'"
	else
		tap_fail "without the module: milspecd active with a STATUS=" "state $st, status '$status', Result=$(prop Result)"
	fi
fi
if command -v milspecctl >/dev/null; then
	t_load="milspecctl load --file dell_milspec.ko"
	out=$(milspecctl load --file "$T/dell_milspec.ko" 2>&1)
else
	t_load="insmod dell_milspec.ko"
	out=$(insmod "$T/dell_milspec.ko" 2>&1)
fi
if [ $? -eq 0 ] && [ -r /proc/milspec/status ] && [ -c /dev/milspec ]; then tap_pass "$t_load"; else
	tap_fail "$t_load" "$(lastlines "$out")"; fi
info "$(grep -E '^(module_version|platform_state|security_level):' /proc/milspec/status 2>/dev/null)"
if [ $have_deb -eq 1 ]; then posture_after_load; fi

if [ "$have_unit" -eq 0 ]; then
	for t in "systemctl start milspecd: active (running) only after READY" \
		"systemctl kill -s KILL milspecd: restarted" "SIGSTOP: the watchdog kills and restarts milspecd" \
		"systemctl reload milspecd: policy reloaded" "journal: structured entries from milspecd" \
		"systemd-analyze security: exposure <= 2.0" "systemctl stop milspecd: clean"; do
		tap_skip "$t" "no $UNIT (no .deb and no files/$UNIT)"
	done
else
	# --- start: active only after READY ---
	# 90 s: more than the default policy's 60 s refresh, which also finds the module.
	t0=$(cut -d. -f1 /proc/uptime)
	if wait_until 90 sh -c "systemctl show -P StatusText $UNIT | grep -q -i healthy && ! systemctl show -P StatusText $UNIT | grep -q -i unhealthy"; then
		tap_pass "milspecd notices the module after $(( $(cut -d. -f1 /proc/uptime) - t0 )) s: STATUS= '$(prop StatusText)'"
	else
		tap_fail "milspecd notices the module (STATUS= healthy)" "status '$(prop StatusText)', $(prop ActiveState)/$(prop SubState)"
	fi
	systemctl stop "$UNIT"
	# The unit is active only once systemd got READY=1: without a notify socket
	# (a drop-in unsets NOTIFY_SOCKET; NotifyAccess=none would be turned back into
	# "main" for Type=notify) the same daemon never becomes active, and its start
	# times out.
	mkdir -p /run/systemd/system/$UNIT.d
	printf '[Service]\nUnsetEnvironment=NOTIFY_SOCKET\nTimeoutStartSec=8\n' >/run/systemd/system/$UNIT.d/test-noready.conf
	systemctl daemon-reload
	out=$(timeout 120 systemctl start "$UNIT" 2>&1)
	rc=$? result=$(prop Result) st=$(prop ActiveState)/$(prop SubState)
	if [ $rc -ne 0 ] && [ "$result" = timeout ]; then
		tap_pass "without READY=1, systemctl start times out (Result=timeout, never active)"
	else
		tap_fail "without READY=1, systemctl start times out" "exit $rc, Result=$result, $st"
	fi
	rm -rf /run/systemd/system/$UNIT.d
	systemctl daemon-reload
	systemctl stop "$UNIT" 2>/dev/null
	systemctl reset-failed "$UNIT" 2>/dev/null
	if out=$(timeout 120 systemctl start "$UNIT" 2>&1) && is_running; then tap_pass "systemctl start milspecd: active (running) after READY"; else
		tap_fail "systemctl start milspecd: active (running)" "$(prop ActiveState)/$(prop SubState): $out"
		info "$(journalctl -q --no-pager -u "$UNIT" -n 10)"
	fi
	up=0
	is_running && up=1
	[ "$(prop Type)" = notify ] && tap_pass "milspecd.service is Type=notify" || tap_fail "milspecd.service is Type=notify" "Type=$(prop Type)"
	status=$(prop StatusText)
	[ -n "$status" ] && tap_pass "milspecd sent STATUS= ('$status')" || tap_fail "milspecd sent STATUS=" "StatusText is empty"
	info "$(systemctl status --no-pager "$UNIT" 2>&1 | head -n 12)"

	# Checks that need a running daemon fail at once when it is not running (no
	# minute-long waits for a daemon that keeps crashing).
	if [ $up -eq 0 ]; then
		for t in "systemctl kill -s KILL milspecd: restarted" "milspecd pings the watchdog" \
			"SIGSTOP: the watchdog kills and restarts milspecd" "systemctl reload milspecd: policy reloaded" \
			"a broken policy on reload: error names the line, daemon keeps running"; do
			tap_fail "$t" "milspecd is not running"
		done
	else
	# --- SIGKILL: restarted by systemd ---
	pid=$(prop MainPID) n=$(prop NRestarts)
	systemctl kill -s KILL "$UNIT"
	# shellcheck disable=SC2317 # called through the check helpers
	restarted() { [ "$(prop NRestarts)" -gt "$n" ] && is_running && [ "$(prop MainPID)" != "$pid" ]; }
	if wait_until 30 restarted; then tap_pass "systemctl kill -s KILL milspecd: restarted (NRestarts $n -> $(prop NRestarts))"; else
		tap_fail "systemctl kill -s KILL milspecd: restarted" "NRestarts $(prop NRestarts), $(prop ActiveState)/$(prop SubState), Restart=$(prop Restart)"; fi

	# --- a hung daemon: the watchdog ---
	mkdir -p /run/systemd/system/$UNIT.d
	printf '[Service]\nWatchdogSec=3\nTimeoutAbortSec=10\n' >/run/systemd/system/$UNIT.d/test-watchdog.conf
	systemctl daemon-reload
	systemctl restart "$UNIT"
	wait_until 60 is_running
	pid=$(prop MainPID) n=$(prop NRestarts)
	sleep 4 # more than one watchdog period: the daemon pings in time
	if is_running && [ "$(prop NRestarts)" = "$n" ] && [ "$(prop MainPID)" = "$pid" ]; then tap_pass "milspecd pings the watchdog (WatchdogSec=3, alive after 4 s)"; else
		tap_fail "milspecd pings the watchdog (WatchdogSec=3, alive after 4 s)" "$(prop ActiveState)/$(prop SubState) NRestarts=$(prop NRestarts) Result=$(prop Result)"; fi
	pid=$(prop MainPID) n=$(prop NRestarts) wd=$(n_unit 'watchdog timeout')
	[ "$pid" -gt 1 ] && kill -STOP "$pid"
	if wait_until 40 restarted; then tap_pass "SIGSTOP: the watchdog kills and restarts milspecd"; else
		tap_fail "SIGSTOP: the watchdog kills and restarts milspecd" "NRestarts $(prop NRestarts), $(prop ActiveState)/$(prop SubState)"; fi
	grew n_unit 'watchdog timeout' "$wd" &&
		tap_pass "journal: 'Watchdog timeout' for milspecd" ||
		tap_fail "journal: 'Watchdog timeout' for milspecd" "$(journalctl -q --no-pager -u "$UNIT" -n 3 | tr '\n' ' ')"
	rm -rf /run/systemd/system/$UNIT.d
	systemctl daemon-reload
	systemctl restart "$UNIT"
	wait_until 60 is_running

	# --- reload ---
	policy=/etc/milspec/policy.toml
	pid=$(prop MainPID) nr=$(n_daemon reload)
	if out=$(systemctl reload "$UNIT" 2>&1); then
		if wait_until 15 grew n_daemon reload "$nr"; then
			tap_pass "systemctl reload milspecd: policy reloaded ('$(daemon_log | grep -i reload | tail -n 1)')"
		else
			tap_fail "systemctl reload milspecd: policy reloaded" "no reload message from milspecd in the journal"
		fi
	else
		tap_fail "systemctl reload milspecd: policy reloaded" "$out"
	fi
	[ "$(prop MainPID)" = "$pid" ] && is_running && tap_pass "reload keeps the same process" ||
		tap_fail "reload keeps the same process" "MainPID $pid -> $(prop MainPID), $(prop ActiveState)"
	if [ -f "$policy" ]; then
		cp "$policy" /tmp/policy.good
		printf '\n[broken\n' >>"$policy"
		nl=$(n_daemon 'line [0-9]+')
		systemctl reload "$UNIT"
		if wait_until 15 grew n_daemon 'line [0-9]+' "$nl" && is_running; then
			tap_pass "a broken policy on reload: error names the line, daemon keeps running ('$(daemon_log | grep -iE 'line [0-9]+' | tail -n 1)')"
		else
			tap_fail "a broken policy on reload: error names the line, daemon keeps running" "$(prop ActiveState); log: $(daemon_log | tail -n 3 | tr '\n' ' ')"
		fi
		cp /tmp/policy.good "$policy"
		systemctl reload "$UNIT"
	else
		tap_skip "a broken policy on reload: error names the line" "no $policy"
	fi
	fi # daemon running

	# --- the journal ---
	json=$(journalctl -q --no-pager -o json _SYSTEMD_UNIT=$UNIT)
	n_all=$(echo "$json" | grep -c . || true)
	n_ok=$(echo "$json" | grep '"MESSAGE":' | grep '"PRIORITY":' | grep -c '"SYSLOG_IDENTIFIER":"milspecd"' || true)
	prios=$(echo "$json" | grep -o '"PRIORITY":"[0-7]"' | sort -u | tr -d '"' | tr '\n' ' ')
	if [ "$n_all" -gt 0 ] && [ "$n_ok" -eq "$n_all" ]; then
		tap_pass "journal: $n_all entries from milspecd, all with MESSAGE, PRIORITY, SYSLOG_IDENTIFIER ($prios)"
	else
		tap_fail "journal: structured entries from milspecd" "$n_ok of $n_all entries have MESSAGE+PRIORITY+SYSLOG_IDENTIFIER=milspecd"
	fi
	info "milspecd's journal (last 8):" "$(journalctl -q --no-pager -u "$UNIT" -n 8)"

	# --- exposure ---
	sec=$(systemd-analyze security --no-pager "$UNIT" 2>&1)
	echo "$sec" | grep '✗' | sed 's/^/# /'
	line=$(echo "$sec" | grep 'Overall exposure level')
	info "$line"
	score=$(echo "$line" | sed -E 's/.*: ([0-9]+\.[0-9]+) .*/\1/')
	if [ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }'; then tap_pass "systemd-analyze security milspecd.service: exposure $score <= 2.0"; else
		tap_fail "systemd-analyze security milspecd.service: exposure <= 2.0" "${line:-no overall exposure line}"; fi

	# --- stop ---
	if out=$(timeout 120 systemctl stop "$UNIT" 2>&1) && [ "$(prop ActiveState)" = inactive ] &&
		[ "$(prop Result)" = success ]; then
		tap_pass "systemctl stop milspecd: inactive, Result=success (exit status $(prop ExecMainStatus))"
	else
		tap_fail "systemctl stop milspecd: clean" "$(prop ActiveState) Result=$(prop Result) ExecMainStatus=$(prop ExecMainStatus) $out"
	fi
fi

# --- purge ---
if [ $have_deb -eq 1 ]; then
	if out=$(dpkg --purge milspec-tools 2>&1); then tap_pass "dpkg --purge milspec-tools"; else
		tap_fail "dpkg --purge milspec-tools" "$(lastlines "$out" 5)"; fi
	systemctl daemon-reload
	! systemctl cat "$UNIT" >/dev/null 2>&1 && tap_pass "after purge: no $UNIT" || tap_fail "after purge: no $UNIT" "systemctl cat still finds it"
	# What may stay after a purge: the documented state. debian/milspec-tools.postrm
	# documents that purge removes the store, the audit log and /run/milspec, so
	# nothing may stay; extend this pattern only together with that documentation.
	keep='^$'
	snapshot >/tmp/after.list
	left=$(comm -13 /tmp/before.list /tmp/after.list | grep -Ev "$keep" || true)
	kept=$(comm -13 /tmp/before.list /tmp/after.list | grep -E "$keep" || true)
	[ -z "$kept" ] || info "kept after purge (documented): $(echo "$kept" | tr '\n' ' ')"
	if [ -z "$left" ]; then tap_pass "after purge: nothing left but the documented state"; else
		tap_fail "after purge: nothing left but the documented state" "$(echo "$left" | head -n 20 | tr '\n' ' ')"; fi
else
	tap_skip "dpkg --purge milspec-tools" "no .deb given"
fi
if grep -q '^dell_milspec ' /proc/modules; then
	t "rmmod dell_milspec" rmmod dell_milspec
fi
finish
