# shellcheck shell=bash
# What the two VM runners share on the host (bash): tests/vm/run (initramfs,
# busybox) and tests/system/run (Debian, systemd). Not shipped into the guests.
#
#   DELL_SMBIOS                 QEMU -smbios arguments of the emulated Dell Latitude
#                               5450, the machine both tiers boot by default
#   vm_cmd_file FILE ARG...     writes a sh script to FILE that execs ARG... (each
#                               single-quoted)
#   vm_fail PREFIX RC MESSAGE DETAIL
#                               "PREFIX: MESSAGE" and the lines of DETAIL on stderr
#                               (a runner's verdict on a broken run), then exit RC

# shellcheck disable=SC2034 # used by the runners that source this file
DELL_SMBIOS=(
	"type=0,vendor=Dell Inc.,version=1.9.0,date=03/14/2025"
	"type=1,manufacturer=Dell Inc.,product=Latitude 5450,version=1,serial=MILSPEC01,sku=0C7A,family=Latitude"
	"type=2,manufacturer=Dell Inc.,product=0MILSP,version=A00"
	"type=3,manufacturer=Dell Inc.,version=1,serial=MILSPEC01"
)

# Quote for sh (busybox or dash): single quotes, with ' written as '\''.
vm_shq() { local s=${1//\'/\'\\\'\'}; printf "'%s'" "$s"; }

vm_cmd_file() {
	local file=$1 a
	shift
	{
		echo '#!/bin/sh'
		printf 'exec'
		for a in "$@"; do printf ' %s' "$(vm_shq "$a")"; done
		echo
	} >"$file"
}

vm_fail() {
	printf '%s: %s\n%s\n' "$1" "$3" "$4" >&2
	exit "$2"
}
