#!/bin/sh
# The guest side of the power-cut tier (tests/faults/run): busybox sh in the
# initramfs, the ext4 disk /dev/vda mounted at /mnt as milspecctl's root.
# What to do comes from the kernel command line, milspec.fault=MODE[:OP]:
#
#   setup:OP   make the store (1.0.0 and 1.0.1 installed, 1.0.0 then 1.0.1
#              loaded), then run OP and wait for the cut
#   cycle:OP   check what the last cut left, then run OP and wait for the cut
#   check      check what the last cut left, unmount cleanly, power off
#
# OP is install, load, rollback or remove. Before running it, the guest
# records on the disk (fsynced) what it is about to do, "op=OP from=F to=T";
# the check after the reboot reads it back. Lines for the host:
#
#   FAULT-GO op=OP from=F to=T      the operation starts now
#   milspec-phase NAME US           a phase of it ended (MILSPEC_TRACE_PHASES)
#   FAULT-DONE rc=RC                it returned (a cut after this must keep it)
#   FAULT-CHECK op=.. from=.. to=.. outcome=previous|new|inconsistent
#               audit=clean|torn|head_behind|broken recovery=KIND current=V
#   FAULT-RECOVERY TEXT             what the first command after the reboot repaired
#   FAULT-WHY TEXT                  why a check found the store inconsistent
R=/mnt
V=/lib/milspec/versions
S=$R/var/lib/milspec
A=$R/var/log/milspec
export MILSPEC_ROOT=$R

arg=$(sed -n 's/.*milspec\.fault=\([^ ]*\).*/\1/p' /proc/cmdline)
mode=${arg%%:*}
op=${arg#*:}
[ "$op" != "$arg" ] || op=""

mkdir -p $R
mount -t ext4 /dev/vda $R || { echo "FAULT-WHY mount of /dev/vda failed"; exit 1; }

why=""
bad() { why="$why${why:+; }$*"; }

state_field() { sed -n "s/^ *\"$1\": \"\\(.*\\)\",*$/\\1/p" "$S/state.json" 2>/dev/null; }
installed() { [ -f "$S/versions/$1/manifest.json" ]; }

# Every entry's file against its manifest (hash and size), nothing half done.
store_consistent() {
	for d in "$S"/versions/*; do
		[ -d "$d" ] || continue
		want=$(sed -n 's/^  "sha256": "\([0-9a-f]*\)",*$/\1/p' "$d/manifest.json")
		got=$(sha256sum "$d/dell_milspec.ko" 2>/dev/null | cut -d' ' -f1)
		[ -n "$want" ] && [ "$want" = "$got" ] || bad "entry $(basename "$d"): sha256 $got, manifest $want"
	done
	for area in staging trash; do
		[ -z "$(ls -A "$S/$area" 2>/dev/null)" ] || bad "$area/ not empty after recovery"
	done
	[ ! -e "$S/journal.json" ] || bad "journal.json left after recovery"
}

check_last_cut() {
	# The audit log as the cut left it, before any command repairs it.
	out=$(milspecctl --json audit verify 2>&1)
	if [ $? -eq 0 ]; then audit=clean
	elif echo "$out" | grep -q 'is incomplete'; then audit=torn
	elif echo "$out" | grep -q 'one more than audit.head'; then audit=head_behind
	else audit=broken; bad "audit verify after the cut: $out"; fi

	# The first command after the reboot: what recovery did ("repaired").
	out=$(milspecctl list 2>&1) || bad "list failed: $out"
	rec=$(echo "$out" | sed -n 's/^note: //p')
	case $rec in
	'') recovery=none ;;
	*"had committed"*) recovery=commit_finished ;;
	*"committed"*) recovery=committed ;;
	*"reloaded"*) recovery=reloaded_previous ;;
	*"had not changed"*) recovery=unchanged ;;
	*"completed an interrupted"*) recovery=rolled_forward ;;
	*"undid an interrupted"*) recovery=rolled_back ;;
	*"audit"*) recovery=audit_only ;;
	*) recovery=other ;;
	esac
	[ -z "$rec" ] || echo "FAULT-RECOVERY $rec"
	store_consistent
	cur=$(state_field current)
	if [ -z "$cur" ]; then bad "state.json names no current version"; else
		out=$(milspecctl load "$cur" 2>&1)
		rc=$?
		[ $rc -eq 0 ] || [ $rc -eq 2 ] || bad "load $cur: exit $rc: $out"
		grep -qx "module_version: $cur" /proc/milspec/status 2>/dev/null ||
			bad "the kernel does not run $cur after load"
		out=$(milspecctl verify 2>&1) || bad "verify: $out"
	fi
	out=$(milspecctl --json audit verify 2>&1) || bad "audit verify after recovery: $out"
	case $audit in
	torn | head_behind)
		grep -q '"action":"audit_repair"' "$A/audit.jsonl" ||
			bad "audit was $audit but no audit_repair record is in the chain" ;;
	esac

	outcome=inconsistent
	if [ -f $R/faults/op ]; then
		# shellcheck disable=SC1090,SC1091 # written by this script
		. $R/faults/op
		case $last_op in
		load | rollback)
			if [ "$cur" = "$last_to" ]; then outcome=new
			elif [ "$cur" = "$last_from" ]; then outcome=previous
			else bad "current is $cur, neither $last_from nor $last_to"; fi ;;
		install) if installed 1.0.2; then outcome=new; else outcome=previous; fi ;;
		remove) if installed 1.0.2; then outcome=previous; else outcome=new; fi ;;
		esac
	else
		bad "no record of the operation that was cut"
	fi
	[ -z "$why" ] || { outcome=inconsistent; echo "FAULT-WHY $why"; }
	echo "FAULT-CHECK op=$last_op from=$last_from to=$last_to outcome=$outcome audit=$audit recovery=$recovery current=$cur"
}

setup() {
	for v in 1.0.0 1.0.1; do milspecctl install "$V/$v.ko" >/dev/null || return 1; done
	milspecctl load 1.0.0 >/dev/null && milspecctl load 1.0.1 >/dev/null
}

# run_op OP: prepares (not cut), records, announces and runs OP, then waits.
run_op() {
	cur=$(state_field current)
	prev=$(state_field previous)
	other=1.0.0
	[ "$cur" != 1.0.0 ] || other=1.0.1
	case $1 in
	load) from=$cur to=$other && set -- load "$other" ;;
	rollback)
		from=$cur to=$prev
		if [ -n "$prev" ] && [ "$prev" != "$cur" ]; then set -- rollback
		else to=$other && set -- rollback --to "$other" --allow-older; fi ;;
	install)
		! installed 1.0.2 || milspecctl remove 1.0.2 >/dev/null
		from=absent to=1.0.2 && set -- install "$V/1.0.2.ko" ;;
	remove)
		installed 1.0.2 || milspecctl install "$V/1.0.2.ko" >/dev/null
		from=1.0.2 to=absent && set -- remove 1.0.2 ;;
	*) echo "FAULT-WHY unknown operation $1"; return 1 ;;
	esac
	mkdir -p $R/faults
	printf 'last_op=%s last_from=%s last_to=%s\n' "$1" "$from" "$to" >$R/faults/op.tmp
	mv $R/faults/op.tmp $R/faults/op
	sync
	echo "FAULT-GO op=$1 from=$from to=$to"
	MILSPEC_TRACE_PHASES=1 milspecctl "$@" >/dev/null
	echo "FAULT-DONE rc=$?"
	# The host cuts the power now or soon; nothing else writes meanwhile.
	sleep 1000
}

case $mode in
setup) setup || { echo "FAULT-WHY setup failed"; exit 1; } ;;
cycle | check) check_last_cut ;;
*) echo "FAULT-WHY unknown mode '$mode'"; exit 1 ;;
esac
if [ "$mode" = check ]; then
	umount $R
	exit 0
fi
run_op "$op"
