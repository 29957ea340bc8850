# shellcheck shell=bash
# What the two VM runners share on the host (bash): tests/vm/run (initramfs,
# busybox) and tests/system/run (Debian, systemd). Not shipped into the guests.
#
#   DELL_SMBIOS                 QEMU -smbios arguments of the emulated Dell Latitude
#                               5450, the machine both tiers boot by default
#   vm_cmd_file FILE ARG...     writes a sh script to FILE that execs ARG... (each
#                               single-quoted)
#   vm_swtpm DIR IFACE          starts a freshly provisioned software TPM (SHA-1 and
#                               SHA-256 banks) with its state in DIR; sets
#                               VM_SWTPM_PID and VM_SWTPM_ARGS (QEMU arguments for
#                               IFACE crb or tis); returns 1 with the reason on stderr
#   vm_script_errors FILE       the lines of a guest's output where its shell could not
#                               find a command (busybox "...: not found", bash
#                               "...: command not found"), once each: a suite calling
#                               a helper that does not exist would otherwise pass,
#                               since the failed call counts nothing
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

vm_swtpm() {
	local dir=$1 iface=$2
	mkdir -p "$dir"
	# Endorsement key made, both banks allocated (swtpm's default profile
	# allocates SHA-256 only). swtpm ends with QEMU's connection.
	if ! swtpm_setup --tpm2 --tpmstate "$dir" --pcr-banks sha1,sha256 --createek \
		--overwrite >"$dir/swtpm_setup.log" 2>&1; then
		cat "$dir/swtpm_setup.log" >&2
		echo "swtpm_setup failed" >&2
		return 1
	fi
	swtpm socket --tpm2 --tpmstate "dir=$dir" --ctrl "type=unixio,path=$dir/sock" \
		--terminate --log "file=$dir/swtpm.log" &
	VM_SWTPM_PID=$!
	for _ in $(seq 50); do [ -S "$dir/sock" ] && break; sleep 0.1; done
	[ -S "$dir/sock" ] || { echo "swtpm did not create its socket" >&2; return 1; }
	VM_SWTPM_ARGS=(-chardev "socket,id=chrtpm,path=$dir/sock"
		-tpmdev emulator,id=tpm0,chardev=chrtpm -device "tpm-$iface,tpmdev=tpm0")
}

vm_script_errors() {
	grep -aE '^/[^:]*tests/[^:]*: line [0-9]+: .*: (command )?not found' "$1" | tr -d '\r' | sort -u || true
}
