#!/bin/sh
# Suite for the versioned store and deployments (boot with --no-load): versions
# 1.0.0 and 1.0.1 of the module and a 1.0.2 whose init fails, all in
# /lib/milspec/versions. Ends pinned at paranoid.
. /tests/lib.sh
V=/lib/milspec/versions

t_rc "preflight with nothing installed fails (6)" 6 milspecctl preflight
for v in 1.0.0 1.0.1 1.0.2; do
	t_out "install $v" "installed dell_milspec $v" milspecctl install "$V/$v.ko"
done
t_rc "installing 1.0.1 again: nothing to do (2)" 2 milspecctl install "$V/1.0.1.ko"
t_rc "a file that is not a module is refused (1)" 1 milspecctl install /bin/busybox
t_out "--json list has three versions" '"module_version":"1.0.0".*"module_version":"1.0.1".*"module_version":"1.0.2"' milspecctl --json list
t_rc "preflight for 1.0.1 passes" 0 milspecctl preflight 1.0.1
t_out "--json preflight reports each check" '"name":"vermagic","ok":true' milspecctl --json preflight 1.0.1

t_out "load 1.0.0" 'load: none -> 1.0.0' milspecctl load 1.0.0
t_out "load 1.0.1 (transaction)" 'load: 1.0.0 -> 1.0.1' milspecctl load 1.0.1
t_out "the kernel runs 1.0.1" '^module_version: 1.0.1$' cat /proc/milspec/status
t "placed for modprobe under /lib/modules/\$(uname -r)/updates" \
	cmp "/lib/modules/$(uname -r)/updates/dell_milspec.ko" "$V/1.0.1.ko"
t "modprobe (as after a reboot) loads the deployed 1.0.1" \
	sh -c 'rmmod dell_milspec && modprobe dell_milspec && grep -qx "module_version: 1.0.1" /proc/milspec/status'
t_rc "verify passes (0)" 0 milspecctl verify
t_out "--json verify: srcversion and taint checked" '"name":"srcversion","ok":true.*"name":"taint","ok":true' milspecctl --json verify
t_rc "loading 1.0.1 again: nothing to do (2)" 2 milspecctl load 1.0.1

t_rc "load of 1.0.2 (init fails) is rolled back (7)" 7 milspecctl load 1.0.2
t_out "after the rollback 1.0.1 runs again" '^module_version: 1.0.1$' cat /proc/milspec/status
t_out "--json load of 1.0.2: rolled_back to 1.0.1" '"restored":"1.0.1","result":"rolled_back"' milspecctl --json load 1.0.2
t_rc "verify still passes" 0 milspecctl verify

t_out "rollback goes to the previous deployment" 'rollback: 1.0.1 -> 1.0.0' milspecctl rollback
t_out "the kernel runs 1.0.0" '^module_version: 1.0.0$' cat /proc/milspec/status
t_rc "rollback --to an older version needs --allow-older (6)" 6 milspecctl rollback --to 0.9.0
t_out "history shows the deployments" 'rolled_back' milspecctl history
t_out "--json history: rollback_occurred recorded" '"rollback_occurred":true' milspecctl --json history
t_rc "audit log chain intact" 0 milspecctl audit verify
t_rc "remove 1.0.2" 0 milspecctl remove 1.0.2
t_rc "remove of the deployed 1.0.0 is refused (6)" 6 milspecctl remove 1.0.0
t_rc "remove of the rollback target 1.0.1 is refused (6)" 6 milspecctl remove 1.0.1

t "raise to paranoid (pins the module)" milspecctl level paranoid
t_rc "load is refused while pinned (6)" 6 milspecctl load 1.0.1
t_out "--json load refusal has error.kind refused" '"kind":"refused"' milspecctl --json load 1.0.1
t_rc "preflight fails while pinned (6)" 6 milspecctl preflight 1.0.1
t_out "the kernel still runs 1.0.0" '^module_version: 1.0.0$' cat /proc/milspec/status

# Tampering with a stored file is caught by verify.
echo x >>/var/lib/milspec/versions/1.0.0/dell_milspec.ko
t_rc "verify detects a modified store file (5)" 5 milspecctl verify

finish
