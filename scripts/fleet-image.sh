#!/usr/bin/env bash
# Builds (or finds in the cache) the root image of the fleet VM tier: the
# full-system image of scripts/rootfs.sh (left untouched) copied and given what an
# Ansible-managed host needs: python3 and openssh-server. The packages come from
# Debian through the host's apt: its resolver is run against the image's own dpkg
# status (read with debugfs, no mount), so exactly the missing .debs are fetched;
# one provisioning boot then installs them with dpkg inside the guest and powers
# off. The reference kernel has no network driver, so the guest's sshd is reached
# over its second serial port (tests/fleet/guest-sshd, tests/fleet/serial-proxy).
#
# Usage: scripts/fleet-image.sh [--print-path]
#
# The image lives in $MILSPEC_CACHE/fleet/<key>/fleet.ext4; the key hashes the
# root image's path (which carries its own key), this script and the guest relay.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
. "$here/versions.sh"
log() { printf 'fleet-image: %s\n' "$*" >&2; }

base=$("$here/rootfs.sh" --print-path)
key=$( { echo "$base"; cat "$0" "$root/tests/fleet/guest-sshd"; } | sha256sum | cut -c1-16)
dir=$MILSPEC_CACHE/fleet/$key
image=$dir/fleet.ext4
if [ -f "$dir/.milspec-built" ] || [ "${1:-}" = "--print-path" ]; then
	echo "$image"
	exit 0
fi
[ -f "$(dirname "$base")/.milspec-built" ] || base=$("$here/rootfs.sh")
KDIR=${KDIR:-$("$here/kernel.sh")}
export PATH=$PATH:/usr/sbin:/sbin

mkdir -p "$MILSPEC_CACHE/fleet"
exec 9>"$MILSPEC_CACHE/fleet/.lock"
flock 9
if [ -f "$dir/.milspec-built" ]; then echo "$image"; exit 0; fi
start=$(date +%s)
rm -rf "$dir"
mkdir -p "$dir/apt/archives/partial" "$dir/stage/debs"

# --- the .debs the image lacks, resolved against the image's dpkg status ---
debugfs -R 'cat /var/lib/dpkg/status' "$base" >"$dir/apt/status" 2>/dev/null
[ -s "$dir/apt/status" ] || { log "cannot read the image's dpkg status"; exit 1; }
aptget() {
	apt-get -q -y -o Dir::State::status="$dir/apt/status" -o Dir::Cache::archives="$dir/apt/archives" \
		-o Debug::NoLocking=1 -o APT::Sandbox::User=root -o APT::Install-Recommends=false "$@"
}
if ! aptget --download-only install python3 openssh-server >"$dir/apt.log" 2>&1; then
	log "apt failed; refreshing the package lists once"
	apt-get -q update >>"$dir/apt.log" 2>&1 || true
	aptget --download-only install python3 openssh-server >>"$dir/apt.log" 2>&1 ||
		{ tail -n 20 "$dir/apt.log" >&2; exit 1; }
fi
cp "$dir"/apt/archives/*.deb "$dir/stage/debs/"
log "$(ls "$dir/stage/debs" | wc -l) packages to install ($(du -sh "$dir/stage/debs" | cut -f1))"

cp "$root/tests/fleet/guest-sshd" "$dir/stage/guest-sshd"
cat >"$dir/stage/entry" <<'ENTRY'
# Provisioning boot of scripts/fleet-image.sh.
exec >/dev/ttyS1 2>&1 </dev/null
export DEBIAN_FRONTEND=noninteractive
T=/run/milspec-test
rc=0
# No service starts from maintainer scripts (ssh.service is never used: sshd runs
# per connection on the serial line); under TCG they take minutes.
printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
chmod 0755 /usr/sbin/policy-rc.d
# dpkg -i takes the files in name order, so a package whose pre-dependency sorts
# after it (python3-minimal needs python3.11-minimal) is refused on the first pass.
# Further passes take only what was refused (python3 needs python3-minimal
# configured, not just unpacked in the same pass): at most three in all.
todo=$(ls "$T"/debs/*.deb)
for pass in 1 2 3; do
	[ -n "$todo" ] || break
	dpkg -i $todo && { todo=""; break; }
	next=""
	for d in $todo; do
		dpkg -s "$(dpkg-deb -f "$d" Package)" 2>/dev/null | grep -q '^Status: install ok installed' ||
			next="$next $d"
	done
	todo=$next
done
[ -z "$todo" ] || { echo "# provision: not installed: $todo"; rc=1; }
[ -z "$(dpkg --audit)" ] || { dpkg --audit; rc=1; }
# No network and no listener: sshd runs per connection on ttyS1 (guest-sshd).
echo "# provision: packages done"
systemctl disable ssh.service ssh.socket 2>/dev/null
systemctl mask ssh.service ssh.socket
echo "# provision: ssh.service masked"
install -m 0755 "$T/guest-sshd" /usr/local/sbin/milspec-guest-sshd
install -d -m 0700 /root/.ssh
python3 -c 'import json, hashlib' || rc=1
[ -x /usr/sbin/sshd ] && ls /etc/ssh/ssh_host_ed25519_key >/dev/null || rc=1
rm -f /usr/sbin/policy-rc.d
echo "# provision: checks done (rc $rc)"
sync
echo "MILSPEC-PROVISION-RC=$rc"
systemctl --no-block poweroff
ENTRY

size_kib=$(( $(du -sk "$dir/stage" | cut -f1) * 5 / 4 + 8192 ))
truncate -s "${size_kib}K" "$dir/stage.ext4"
mkfs.ext4 -q -F -L milspec-test -E root_owner=0:0 -d "$dir/stage" "$dir/stage.ext4"
cp --sparse=always "$base" "$dir/fleet.ext4.tmp"
chmod 0644 "$dir/fleet.ext4.tmp"
log "provisioning boot (dpkg -i in the guest)"
timeout --signal=KILL 1800 qemu-system-x86_64 -machine pc -cpu max -smp 2 -m 1024 \
	-display none -no-reboot -monitor none -nic none \
	-serial "file:$dir/console.log" -serial "file:$dir/output.log" \
	-kernel "$KDIR/arch/x86/boot/bzImage" \
	-append "root=/dev/vda rw rootfstype=ext4 console=ttyS0 panic=-1 loglevel=4" \
	-drive "file=$dir/fleet.ext4.tmp,if=virtio,format=raw" \
	-drive "file=$dir/stage.ext4,if=virtio,format=raw,readonly=on" </dev/null || true
if ! grep -aq '^MILSPEC-PROVISION-RC=0' "$dir/output.log"; then
	tail -n 30 "$dir/output.log" >&2
	log "provisioning failed (logs in $dir)"
	exit 1
fi
chmod 0444 "$dir/fleet.ext4.tmp"
mv "$dir/fleet.ext4.tmp" "$image"
rm -rf "$dir/stage" "$dir/stage.ext4" "$dir/apt/archives"
touch "$dir/.milspec-built"
for old in "$MILSPEC_CACHE"/fleet/*/; do
	[ "${old%/}" = "$dir" ] || { log "removing stale $old"; rm -rf "$old"; }
done
log "built in $(( $(date +%s) - start )) s: $image"
echo "$image"
