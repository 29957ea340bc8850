#!/bin/sh
# Suite for DKMS builds after a kernel upgrade (tests/dkms/run boots the second
# kernel release with --no-load). The host ran DKMS for real; its tree is copied
# to the guest's /var/lib/dkms (the default DKMS tree) and the module DKMS
# installed for this kernel to /lib/modules/$(uname -r)/updates/dkms/.
#
# Usage: sh /tests/dkms.sh OLD_RELEASE NEW_RELEASE NEW_VERSION
#   OLD_RELEASE  the kernel the first builds were for (this kernel must refuse them)
#   NEW_RELEASE  this kernel
#   NEW_VERSION  the newer DKMS package version, also built for this kernel
# shellcheck source=tests/vm/guest/lib.sh
. /tests/lib.sh
OLD=$1 NEW=$2 V2=$3
V1=0.1.0
ARCH=$(uname -m)
OLD_KO=/var/lib/dkms/milspec/$V1/$OLD/$ARCH/module/dell_milspec.ko

t_out "the kernel is the upgraded release $NEW" "^$NEW\$" uname -r
t "the module DKMS installed for this kernel loads (insmod)" \
	insmod "/lib/modules/$NEW/updates/dkms/dell_milspec.ko"
t_out "... and runs" "^module_version: $V2\$" cat /proc/milspec/status
t "... and unloads" rmmod dell_milspec

t_out "the build for kernel $OLD is refused by kernel $NEW (insmod fails)" "^refused: .*invalid module format" \
	sh -c "out=\$(insmod '$OLD_KO' 2>&1) && echo loaded || echo \"refused: \$out\""
# The -upgrade release is a lean kernel (no debugging), so its struct module
# differs from the debug kernel's and the kernel refuses on that layout before it
# compares version magic; either reason names the old build as foreign.
t_out "... the kernel log says why (struct module layout or version magic)" \
	"dell_milspec: (\.gnu\.linkonce\.this_module section size must match|version magic '$OLD .*' should be '$NEW )" dmesg
t_out "milspecctl load --file names the vermagic mismatch" \
	"vermagic mismatch: module built for kernel $OLD, but $NEW is running" \
	milspecctl load --file "$OLD_KO"

t_out "install --from-dkms --kernel $OLD stores it as $V1+$OLD" \
	"installed dell_milspec $V1 as $V1\\+$OLD from DKMS" milspecctl install --from-dkms --kernel "$OLD"
t_rc "preflight of $V1+$OLD fails (6)" 6 milspecctl preflight "$V1+$OLD"
t_out "... and says the vermagic does not match" \
	"FAIL vermagic +vermagic mismatch: module built for kernel $OLD, but $NEW is running" \
	milspecctl preflight "$V1+$OLD"
t_rc "load $V1+$OLD is refused (6)" 6 milspecctl load "$V1+$OLD"

# As after a reboot into the new kernel: the store's deployed version is the
# build for the old kernel. verify must say so.
echo '{"current":"'"$V1+$OLD"'","previous":null,"current_params":[],"deployments":1,"taint_at_load":0}' \
	>/var/lib/milspec/state.json
t_rc "verify of the old kernel's deployment fails (5)" 5 milspecctl verify
t_out "... naming the vermagic mismatch" \
	"FAIL vermagic +vermagic mismatch: module built for kernel $OLD, but $NEW is running" milspecctl verify

t_out "install --from-dkms (running kernel, newest version)" "as $V2\\+$NEW from DKMS" milspecctl install --from-dkms
t_out "install --from-dkms --dkms-version $V1" "as $V1\\+$NEW from DKMS" milspecctl install --from-dkms --dkms-version "$V1"
t_out "--json list: three DKMS builds, two kernels" \
	"\"id\":\"$V1\\+$OLD\".*\"id\":\"$V1\\+$NEW\".*\"id\":\"$V2\\+$NEW\"" milspecctl --json list
t_rc "preflight (default: newest for this kernel) passes" 0 milspecctl preflight
t_out "load $V1+$NEW" "load: none -> $V1\\+$NEW" milspecctl load "$V1+$NEW"
t_out "load (default: $V2+$NEW, the newest for this kernel)" "load: $V1\\+$NEW -> $V2\\+$NEW" milspecctl load
t_out "the kernel runs $V2" "^module_version: $V2\$" cat /proc/milspec/status
t_rc "verify passes (0)" 0 milspecctl verify
t_out "rollback goes back to the earlier DKMS build" "rollback: $V2\\+$NEW -> $V1\\+$NEW" milspecctl rollback
t_out "the kernel runs $V1" "^module_version: $V1\$" cat /proc/milspec/status
t_rc "verify passes after the rollback (0)" 0 milspecctl verify
t_out "history records the DKMS installs and deployments" "rollback +ok" milspecctl history
finish
