#!/bin/sh
# The demo (make demo) on the emulated Latitude 5450: the module's status, then a
# deployment story with the store: install -> load -> verify -> a failed load that
# rolls back -> rollback -> history. 1.0.0, 1.0.1 and 1.0.2 are test builds of the
# same source (1.0.2's init fails on purpose). Then milspecd reacting to an event:
# someone lowers the level below the policy minimum and the daemon raises it back.
set -e
# shellcheck source=tests/vm/guest/lib.sh
. /tests/lib.sh
step() {
	echo
	echo "guest# $*"
	"$@"
}
# step_rc RC CMD...: like step, for a command that must exit with RC.
step_rc() {
	want=$1
	shift
	echo
	echo "guest# $*"
	rc=0
	"$@" || rc=$?
	echo "(exit $rc)"
	[ "$rc" -eq "$want" ]
}
V=/lib/milspec/versions
step cat /sys/class/dmi/id/sys_vendor /sys/class/dmi/id/product_name
step milspecctl load --file /lib/milspec/dell_milspec.ko
step milspecctl status
step cat /proc/milspec/status
step milspecctl --json status
step milspecd --once
step milspecctl unload
step_rc 3 milspecctl status

for v in 1.0.0 1.0.1 1.0.2; do step milspecctl install "$V/$v.ko"; done
step milspecctl list
step milspecctl load 1.0.0
step milspecctl load 1.0.1
step milspecctl verify
step_rc 7 milspecctl load 1.0.2
step grep module_version /proc/milspec/status
step milspecctl rollback
step milspecctl history
step milspecctl audit verify

echo
echo "=== milspecd: the policy says minimum = enhanced"
mkdir -p /etc/milspec /tmp/demo
printf '[level]\nminimum = "enhanced"\non_below = "raise"\n[health]\nfile = "/tmp/demo/health.json"\n' \
	>/etc/milspec/policy.toml
step cat /etc/milspec/policy.toml
echo
echo "guest# milspecd --runtime-dir /tmp/demo &"
milspecd --runtime-dir /tmp/demo 2>/tmp/demo/log &
DPID=$!
wait_until 10 grep -q 'security_level: enhanced' /proc/milspec/status || exit 1
step grep security_level /proc/milspec/status
step milspecctl level standard
raised_twice() { [ "$(grep -c 'raised the level' /tmp/demo/log)" -ge 2 ]; }
wait_until 10 raised_twice || exit 1
step grep security_level /proc/milspec/status
step cat /tmp/demo/log
step milspecctl unload
kill -TERM $DPID
wait $DPID
