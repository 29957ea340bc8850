#!/bin/sh
# The demo (make demo) on the emulated Latitude 5450: the module's status, then a
# deployment story with the store: install -> load -> verify -> a failed load that
# rolls back -> rollback -> history. 1.0.0, 1.0.1 and 1.0.2 are test builds of the
# same source (1.0.2's init fails on purpose).
set -e
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
step milspecctl unload
