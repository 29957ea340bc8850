#!/bin/sh
# Suite for a non-Dell machine (boot with --platform other --no-load): the module
# must refuse to bind unless force=1.
# shellcheck source=tests/vm/guest/lib.sh
. /tests/lib.sh

t_out "insmod is refused with ENODEV" 'No such device' insmod "$KO"
t_out "milspecctl load explains the refusal" 'not a supported Dell platform' milspecctl load --file "$KO"
t_rc "milspecctl load exits 1" 1 milspecctl load --file "$KO"
t "no /proc/milspec after refusal" test ! -e /proc/milspec
t "no /dev/milspec after refusal" test ! -e /dev/milspec
t_out "kernel log names the platform and force=1" "platform 'Example Computers' 'Generic Notebook 15' is not a supported.*force=1" dmesg

t "force=1 loads" milspecctl load --file "$KO" --param force=1
t_out "status says forced" '^platform_state: forced$' cat /proc/milspec/status
t_out "kernel log warns about force=1" 'force=1: binding to unsupported platform' dmesg
t_out "force parameter is visible in sysfs" '^Y$' cat /sys/module/dell_milspec/parameters/force

guest_tests --expect-state forced

t_rc "milspecd --once is degraded (exit 1)" 1 milspecd --once
t "unload" milspecctl unload
t "/proc/milspec is gone after unload" test ! -e /proc/milspec

finish
