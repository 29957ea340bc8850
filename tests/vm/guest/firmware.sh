#!/bin/sh
# Suite for one real Dell machine's SMBIOS tables (tests/vm/firmware; boot with
# --no-load). Expected values come from /fw/expect (shell assignments written on
# the host: SUPPORTED, PRODUCT, TOKENS, STRUCTURES, REJECTED, WMI) and /fw/tokens.
. /tests/lib.sh
. /fw/expect

if [ "$SUPPORTED" = yes ]; then
	t "loads on the supported model" insmod "$KO"
	t_out "status: platform supported" '^platform_state: supported$' cat /proc/milspec/status
else
	t_out "refused without force=1" 'No such device' insmod "$KO"
	t "loads with force=1" insmod "$KO" force=1
	t_out "status: platform forced" '^platform_state: forced$' cat /proc/milspec/status
fi
st=$(cat /proc/milspec/status)
check() { # check NAME KEY VALUE: the status line is exactly "KEY: VALUE"
	echo "$st" | grep -qxF "$2: $3" && tap_pass "$1" || tap_fail "$1" "want '$2: $3', got '$(echo "$st" | grep "^$2:")'"
}
check "status: vendor Dell Inc." platform_vendor "Dell Inc."
check "status: product '$PRODUCT'" platform_product "$PRODUCT"
check "status: $TOKENS tokens" tokens "$TOKENS"
check "status: calling interface present" smbios_calling_interface present
check "status: $STRUCTURES 0xDA structures" smbios_structures "$STRUCTURES"
check "status: rejected '$REJECTED'" smbios_rejected "$REJECTED"
check "status: 0xB1 ACPI-WMI $WMI" smbios_acpi_wmi "$WMI"
check "status: token feature real" feature_smbios_tokens real
cat /proc/milspec/tokens >/tmp/tokens 2>&1
t "tokens file equals the expected one" cmp /tmp/tokens /fw/tokens
if [ "$REJECTED" != none ]; then
	t_out "kernel log names the rejected structure" '0xDA structure #[0-9]+ of [0-9]+ \(handle 0x[0-9a-f]+\) rejected' dmesg
fi
t "unloads" rmmod dell_milspec
finish
