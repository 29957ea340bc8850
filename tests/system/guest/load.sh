#!/bin/bash
# milspecd under load, run by systemd (make bench): inside the Debian guest of
# tests/system/run, as root. Installs the static milspecctl, milspecd and
# milspec-guest-tests from files/ with packaging/systemd/milspecd.service, gives
# the daemon a policy that writes its metrics textfile to /run/milspec and a
# WatchdogSec=3 drop-in, loads the module, starts the unit, then runs
# `milspec-guest-tests daemon-load` (8 writer threads changing the level flat
# out for LOAD_SECS, default 60) and checks from systemd's side that the
# watchdog was never missed: same MainPID, same NRestarts, no "Watchdog timeout".
set -u
# shellcheck source=tests/lib/tap.sh
. "$(dirname "$0")/lib/tap.sh"
T=/run/milspec-test
UNIT=milspecd.service
prop() { systemctl show -P "$1" "$UNIT"; }
n_timeouts() { journalctl -q --no-pager -u "$UNIT" | grep -ci 'watchdog timeout'; }

install -m 0755 "$T/files/milspecctl" "$T/files/milspecd" "$T/files/milspec-guest-tests" /usr/sbin/
install -m 0644 "$T/files/$UNIT" /lib/systemd/system/
mkdir -p /etc/milspec "/run/systemd/system/$UNIT.d"
cat >/etc/milspec/policy.toml <<'POLICY'
[level]
minimum = "standard"
[health]
file = "/run/milspec/health.json"
[metrics]
textfile_dir = "/run/milspec"
POLICY
printf '[Service]\nWatchdogSec=3\n' >"/run/systemd/system/$UNIT.d/load-watchdog.conf"
systemctl daemon-reload

if out=$(milspecctl load --file "$T/dell_milspec.ko" 2>&1); then tap_pass "module loaded"; else
	tap_fail "module loaded" "$out"; tap_finish load ""; fi
timeout 120 systemctl start "$UNIT"
if [ "$(prop ActiveState)/$(prop SubState)" = active/running ]; then tap_pass "milspecd active (WatchdogSec=3)"; else
	tap_fail "milspecd active" "$(prop ActiveState)/$(prop SubState) Result=$(prop Result)"; tap_finish load ""; fi

pid=$(prop MainPID) n=$(prop NRestarts) wd=$(n_timeouts)
milspec-guest-tests --writers 8 --load-secs "${LOAD_SECS:-60}" daemon-load >/tmp/load.out 2>&1
cat /tmp/load.out
tap_tally /tmp/load.out
echo "# watchdog: WatchdogSec=3; MainPID $pid -> $(prop MainPID), NRestarts $n -> $(prop NRestarts), 'Watchdog timeout' lines $wd -> $(n_timeouts)"
if [ "$(prop MainPID)" = "$pid" ] && [ "$(prop NRestarts)" = "$n" ] && [ "$(n_timeouts)" = "$wd" ] &&
	[ "$(prop ActiveState)" = active ]; then
	tap_pass "the watchdog was never missed under load (same process, no restart, no timeout)"
else
	tap_fail "the watchdog was never missed under load" "$(journalctl -q --no-pager -u "$UNIT" -n 5 | tr '\n' ' ')"
fi
systemctl stop "$UNIT"
tap_finish load ""
