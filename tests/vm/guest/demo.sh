#!/bin/sh
# The demo (make demo): load, show, unload on the emulated Latitude 5450.
set -e
step() {
	echo
	echo "guest# $*"
	"$@"
}
step cat /sys/class/dmi/id/sys_vendor /sys/class/dmi/id/product_name
step milspecctl load --file /lib/milspec/dell_milspec.ko
step milspecctl status
step cat /proc/milspec/status
step milspecctl --json status
step milspecd --once
step milspecctl unload
echo
echo "guest# milspecctl status"
rc=0
milspecctl status || rc=$?
echo "(exit $rc: not loaded)"
[ $rc -eq 3 ]
