#!/bin/sh
# Suite for Dell SMBIOS tables fed through QEMU -smbios file= (boot with --no-load).
# Usage: tokens.sh good|invalid|huge
# shellcheck source=tests/vm/guest/lib.sh
. /tests/lib.sh
mode=$1

case "$mode" in
good)
	# Also the level= parameter: load straight into paranoid_plus.
	t "loads with level=paranoid_plus" insmod "$KO" level=paranoid_plus
	t_out "status: calling interface present" '^smbios_calling_interface: present$' cat /proc/milspec/status
	t_out "status: 5 tokens" '^tokens: 5$' cat /proc/milspec/status
	t_out "status: 0xB1 says ACPI-WMI" '^smbios_acpi_wmi: yes$' cat /proc/milspec/status
	t_out "status: token feature is real" '^feature_smbios_tokens: real$' cat /proc/milspec/status
	t_out "status: one 0xDA structure, none rejected" '^smbios_structures: 1$' cat /proc/milspec/status
	t_out "status: smbios_rejected none" '^smbios_rejected: none$' cat /proc/milspec/status
	t_out "status: level paranoid_plus, locked" '^security_level: paranoid_plus \(4\)$' cat /proc/milspec/status
	t_out "status: module pinned" '^module_pinned: yes$' cat /proc/milspec/status
	guest_tests tokens --expect-tokens 0001:0010:0001,0002:0011:0000,4800:0030:0007,8000:ffff:0100,8001:0020:abcd
	;;
invalid)
	t "loads despite the malformed table" insmod "$KO"
	t_out "status: calling interface invalid" '^smbios_calling_interface: invalid$' cat /proc/milspec/status
	t_out "status: no tokens" '^tokens: 0$' cat /proc/milspec/status
	t_out "status: token feature not present" '^feature_smbios_tokens: not-present$' cat /proc/milspec/status
	t_out "status: the only 0xDA structure is rejected, with its reason" '^smbios_rejected: 1:(structure too short|truncated token entry|missing terminator)$' cat /proc/milspec/status
	t_out "kernel log says why" 'calling-interface table is invalid \(' dmesg
	guest_tests tokens --expect-tokens none --expect-smbios invalid
	t "unloads" rmmod dell_milspec
	;;
huge)
	# A length byte of 255 swallows the structures after it, including the
	# system identity: the module must fail closed, and with force=1 stay in bounds.
	t_out "fails closed without the DMI identity" 'No such device' insmod "$KO"
	t "loads with force=1" insmod "$KO" force=1
	t_out "status: the table was read" '^smbios_calling_interface: (present|invalid)$' cat /proc/milspec/status
	t "tokens file readable" cat /proc/milspec/tokens
	t "unloads" rmmod dell_milspec
	;;
*)
	tap_fail "tokens.sh: unknown mode $mode"
	;;
esac

finish
