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
T=/run/milspec-test
UNIT=milspecd.service
FAILED=0
ok() { echo "ok - $1"; }
not_ok() { echo "not ok - $1${2:+: $2}"; FAILED=$((FAILED + 1)); }
skip() { echo "ok - $1 # SKIP $2"; }
info() { printf '%s\n' "$@" | sed 's/^/# /'; }
prop() { systemctl show -P "$1" "$UNIT"; }
# wait_for SECONDS CMD...: retries CMD every 0.5 s until it succeeds. (Its counter
# has a name no check uses: bash's locals are visible to the functions it calls.)
wait_for() {
	local _wait_tries=$(($1 * 2))
	shift
	while [ $_wait_tries -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.5
		_wait_tries=$((_wait_tries - 1))
	done
	return 1
}
is_running() { [ "$(prop ActiveState)/$(prop SubState)" = active/running ]; }
# Journal lines the daemon itself wrote (not systemd's lines about the unit).
daemon_log() { journalctl -q --no-pager -o cat _SYSTEMD_UNIT=$UNIT "$@"; }
# n_daemon PATTERN / n_unit PATTERN: how many journal lines of the daemon (of the
# unit, systemd's lines included) match the extended regex PATTERN; a check waits
# for the count to grow.
n_daemon() { daemon_log | grep -ciE "$1"; }
n_unit() { journalctl -q --no-pager -u "$UNIT" | grep -ciE "$1"; }
grew() { [ "$($1 "$2")" -gt "$3" ]; }

# --- the system itself ---
if [ "$(cat /proc/1/comm)" = systemd ]; then ok "systemd is PID 1"; else
	not_ok "systemd is PID 1" "PID 1 is $(cat /proc/1/comm)"; fi
state=$(timeout 300 systemctl is-system-running --wait 2>&1)
if [ "$state" = running ]; then ok "systemctl is-system-running: running"; else
	not_ok "systemctl is-system-running: running" "$state; failed units: $(systemctl --failed --plain --no-legend | tr '\n' ' ')"
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
	if out=$(dpkg -i "$T"/debs/*.deb 2>&1); then ok "dpkg -i $(basename "$deb")"; else
		not_ok "dpkg -i $(basename "$deb")" "$(echo "$out" | tail -n 5 | tr '\n' ' ')"; fi
	info "$(echo "$out" | tail -n 5)"
	if [ "$(dpkg-query -W -f='${Status}' milspec-tools 2>&1)" = "install ok installed" ]; then
		ok "milspec-tools is installed"; else not_ok "milspec-tools is installed" "$(dpkg-query -W -f='${Status}' milspec-tools 2>&1)"; fi
else
	skip "dpkg -i milspec-tools_*.deb" "no .deb given to tests/system/run (--deb)"
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
		ok "without the module: milspecd active, STATUS= '$status'"
	else
		not_ok "without the module: milspecd active with a STATUS=" "state $st, status '$status', Result=$(prop Result)"
	fi
fi
if command -v milspecctl >/dev/null; then
	t_load="milspecctl load --file dell_milspec.ko"
	out=$(milspecctl load --file "$T/dell_milspec.ko" 2>&1)
else
	t_load="insmod dell_milspec.ko"
	out=$(insmod "$T/dell_milspec.ko" 2>&1)
fi
if [ $? -eq 0 ] && [ -r /proc/milspec/status ] && [ -c /dev/milspec ]; then ok "$t_load"; else
	not_ok "$t_load" "$(echo "$out" | tail -n 3 | tr '\n' ' ')"; fi
info "$(grep -E '^(module_version|platform_state|security_level):' /proc/milspec/status 2>/dev/null)"

if [ "$have_unit" -eq 0 ]; then
	for t in "systemctl start milspecd: active (running) only after READY" \
		"systemctl kill -s KILL milspecd: restarted" "SIGSTOP: the watchdog kills and restarts milspecd" \
		"systemctl reload milspecd: policy reloaded" "journal: structured entries from milspecd" \
		"systemd-analyze security: exposure <= 2.0" "systemctl stop milspecd: clean"; do
		skip "$t" "no $UNIT (no .deb and no files/$UNIT)"
	done
else
	# --- start: active only after READY ---
	# 90 s: more than the default policy's 60 s refresh, which also finds the module.
	t0=$(cut -d. -f1 /proc/uptime)
	if wait_for 90 sh -c "systemctl show -P StatusText $UNIT | grep -q -i healthy && ! systemctl show -P StatusText $UNIT | grep -q -i unhealthy"; then
		ok "milspecd notices the module after $(( $(cut -d. -f1 /proc/uptime) - t0 )) s: STATUS= '$(prop StatusText)'"
	else
		not_ok "milspecd notices the module (STATUS= healthy)" "status '$(prop StatusText)', $(prop ActiveState)/$(prop SubState)"
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
		ok "without READY=1, systemctl start times out (Result=timeout, never active)"
	else
		not_ok "without READY=1, systemctl start times out" "exit $rc, Result=$result, $st"
	fi
	rm -rf /run/systemd/system/$UNIT.d
	systemctl daemon-reload
	systemctl stop "$UNIT" 2>/dev/null
	systemctl reset-failed "$UNIT" 2>/dev/null
	if out=$(timeout 120 systemctl start "$UNIT" 2>&1) && is_running; then ok "systemctl start milspecd: active (running) after READY"; else
		not_ok "systemctl start milspecd: active (running)" "$(prop ActiveState)/$(prop SubState): $out"
		info "$(journalctl -q --no-pager -u "$UNIT" -n 10)"
	fi
	up=0
	is_running && up=1
	[ "$(prop Type)" = notify ] && ok "milspecd.service is Type=notify" || not_ok "milspecd.service is Type=notify" "Type=$(prop Type)"
	status=$(prop StatusText)
	[ -n "$status" ] && ok "milspecd sent STATUS= ('$status')" || not_ok "milspecd sent STATUS=" "StatusText is empty"
	info "$(systemctl status --no-pager "$UNIT" 2>&1 | head -n 12)"

	# Checks that need a running daemon fail at once when it is not running (no
	# minute-long waits for a daemon that keeps crashing).
	if [ $up -eq 0 ]; then
		for t in "systemctl kill -s KILL milspecd: restarted" "milspecd pings the watchdog" \
			"SIGSTOP: the watchdog kills and restarts milspecd" "systemctl reload milspecd: policy reloaded" \
			"a broken policy on reload: error names the line, daemon keeps running"; do
			not_ok "$t" "milspecd is not running"
		done
	else
	# --- SIGKILL: restarted by systemd ---
	pid=$(prop MainPID) n=$(prop NRestarts)
	systemctl kill -s KILL "$UNIT"
	restarted() { [ "$(prop NRestarts)" -gt "$n" ] && is_running && [ "$(prop MainPID)" != "$pid" ]; }
	if wait_for 30 restarted; then ok "systemctl kill -s KILL milspecd: restarted (NRestarts $n -> $(prop NRestarts))"; else
		not_ok "systemctl kill -s KILL milspecd: restarted" "NRestarts $(prop NRestarts), $(prop ActiveState)/$(prop SubState), Restart=$(prop Restart)"; fi

	# --- a hung daemon: the watchdog ---
	mkdir -p /run/systemd/system/$UNIT.d
	printf '[Service]\nWatchdogSec=3\nTimeoutAbortSec=10\n' >/run/systemd/system/$UNIT.d/test-watchdog.conf
	systemctl daemon-reload
	systemctl restart "$UNIT"
	wait_for 60 is_running
	pid=$(prop MainPID) n=$(prop NRestarts)
	sleep 4 # more than one watchdog period: the daemon pings in time
	if is_running && [ "$(prop NRestarts)" = "$n" ] && [ "$(prop MainPID)" = "$pid" ]; then ok "milspecd pings the watchdog (WatchdogSec=3, alive after 4 s)"; else
		not_ok "milspecd pings the watchdog (WatchdogSec=3, alive after 4 s)" "$(prop ActiveState)/$(prop SubState) NRestarts=$(prop NRestarts) Result=$(prop Result)"; fi
	pid=$(prop MainPID) n=$(prop NRestarts) wd=$(n_unit 'watchdog timeout')
	[ "$pid" -gt 1 ] && kill -STOP "$pid"
	if wait_for 40 restarted; then ok "SIGSTOP: the watchdog kills and restarts milspecd"; else
		not_ok "SIGSTOP: the watchdog kills and restarts milspecd" "NRestarts $(prop NRestarts), $(prop ActiveState)/$(prop SubState)"; fi
	grew n_unit 'watchdog timeout' "$wd" &&
		ok "journal: 'Watchdog timeout' for milspecd" ||
		not_ok "journal: 'Watchdog timeout' for milspecd" "$(journalctl -q --no-pager -u "$UNIT" -n 3 | tr '\n' ' ')"
	rm -rf /run/systemd/system/$UNIT.d
	systemctl daemon-reload
	systemctl restart "$UNIT"
	wait_for 60 is_running

	# --- reload ---
	policy=/etc/milspec/policy.toml
	pid=$(prop MainPID) nr=$(n_daemon reload)
	if out=$(systemctl reload "$UNIT" 2>&1); then
		if wait_for 15 grew n_daemon reload "$nr"; then
			ok "systemctl reload milspecd: policy reloaded ('$(daemon_log | grep -i reload | tail -n 1)')"
		else
			not_ok "systemctl reload milspecd: policy reloaded" "no reload message from milspecd in the journal"
		fi
	else
		not_ok "systemctl reload milspecd: policy reloaded" "$out"
	fi
	[ "$(prop MainPID)" = "$pid" ] && is_running && ok "reload keeps the same process" ||
		not_ok "reload keeps the same process" "MainPID $pid -> $(prop MainPID), $(prop ActiveState)"
	if [ -f "$policy" ]; then
		cp "$policy" /tmp/policy.good
		printf '\n[broken\n' >>"$policy"
		nl=$(n_daemon 'line [0-9]+')
		systemctl reload "$UNIT"
		if wait_for 15 grew n_daemon 'line [0-9]+' "$nl" && is_running; then
			ok "a broken policy on reload: error names the line, daemon keeps running ('$(daemon_log | grep -iE 'line [0-9]+' | tail -n 1)')"
		else
			not_ok "a broken policy on reload: error names the line, daemon keeps running" "$(prop ActiveState); log: $(daemon_log | tail -n 3 | tr '\n' ' ')"
		fi
		cp /tmp/policy.good "$policy"
		systemctl reload "$UNIT"
	else
		skip "a broken policy on reload: error names the line" "no $policy"
	fi
	fi # daemon running

	# --- the journal ---
	json=$(journalctl -q --no-pager -o json _SYSTEMD_UNIT=$UNIT)
	n_all=$(echo "$json" | grep -c . || true)
	n_ok=$(echo "$json" | grep '"MESSAGE":' | grep '"PRIORITY":' | grep -c '"SYSLOG_IDENTIFIER":"milspecd"' || true)
	prios=$(echo "$json" | grep -o '"PRIORITY":"[0-7]"' | sort -u | tr -d '"' | tr '\n' ' ')
	if [ "$n_all" -gt 0 ] && [ "$n_ok" -eq "$n_all" ]; then
		ok "journal: $n_all entries from milspecd, all with MESSAGE, PRIORITY, SYSLOG_IDENTIFIER ($prios)"
	else
		not_ok "journal: structured entries from milspecd" "$n_ok of $n_all entries have MESSAGE+PRIORITY+SYSLOG_IDENTIFIER=milspecd"
	fi
	info "milspecd's journal (last 8):" "$(journalctl -q --no-pager -u "$UNIT" -n 8)"

	# --- exposure ---
	sec=$(systemd-analyze security --no-pager "$UNIT" 2>&1)
	echo "$sec" | grep '✗' | sed 's/^/# /'
	line=$(echo "$sec" | grep 'Overall exposure level')
	info "$line"
	score=$(echo "$line" | sed -E 's/.*: ([0-9]+\.[0-9]+) .*/\1/')
	if [ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }'; then ok "systemd-analyze security milspecd.service: exposure $score <= 2.0"; else
		not_ok "systemd-analyze security milspecd.service: exposure <= 2.0" "${line:-no overall exposure line}"; fi

	# --- stop ---
	if out=$(timeout 120 systemctl stop "$UNIT" 2>&1) && [ "$(prop ActiveState)" = inactive ] &&
		[ "$(prop Result)" = success ]; then
		ok "systemctl stop milspecd: inactive, Result=success (exit status $(prop ExecMainStatus))"
	else
		not_ok "systemctl stop milspecd: clean" "$(prop ActiveState) Result=$(prop Result) ExecMainStatus=$(prop ExecMainStatus) $out"
	fi
fi

# --- purge ---
if [ $have_deb -eq 1 ]; then
	if out=$(dpkg --purge milspec-tools 2>&1); then ok "dpkg --purge milspec-tools"; else
		not_ok "dpkg --purge milspec-tools" "$(echo "$out" | tail -n 5 | tr '\n' ' ')"; fi
	systemctl daemon-reload
	! systemctl cat "$UNIT" >/dev/null 2>&1 && ok "after purge: no $UNIT" || not_ok "after purge: no $UNIT" "systemctl cat still finds it"
	# What may stay after a purge: the documented state. debian/milspec-tools.postrm
	# documents that purge removes the store, the audit log and /run/milspec, so
	# nothing may stay; extend this pattern only together with that documentation.
	keep='^$'
	snapshot >/tmp/after.list
	left=$(comm -13 /tmp/before.list /tmp/after.list | grep -Ev "$keep" || true)
	kept=$(comm -13 /tmp/before.list /tmp/after.list | grep -E "$keep" || true)
	[ -z "$kept" ] || info "kept after purge (documented): $(echo "$kept" | tr '\n' ' ')"
	if [ -z "$left" ]; then ok "after purge: nothing left but the documented state"; else
		not_ok "after purge: nothing left but the documented state" "$(echo "$left" | head -n 20 | tr '\n' ' ')"; fi
else
	skip "dpkg --purge milspec-tools" "no .deb given"
fi
if grep -q '^dell_milspec ' /proc/modules; then
	out=$(rmmod dell_milspec 2>&1) && ok "rmmod dell_milspec" || not_ok "rmmod dell_milspec" "$out"
fi
[ "$FAILED" -eq 0 ]
