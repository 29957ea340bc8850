#!/usr/bin/env bash
# Builds (or finds in the cache) the root image of the fleet VM tier: the
# full-system image of scripts/rootfs.sh (left untouched) copied and given what an
# Ansible-managed host needs: python3, openssh-server (ssh.service enabled) and a
# network configuration (systemd-networkd, static 10.0.2.15/24 on the virtio NIC,
# the address QEMU user networking forwards `hostfwd` ports to).
#
# No guest boot: the host's apt resolves the missing packages against the image's
# own dpkg status (read with debugfs), then the copy is loop-mounted and apt-get
# installs those .debs in a chroot (no service starts: policy-rc.d). Every step
# runs under a timeout, a half-made image is never published, and a second call
# finds the cached one (flock, so parallel callers wait for one build).
#
# The per-run SSH key is not in the image: the VM's kernel command line carries
# it (milspec_fleet.key=<base64 ed25519 public key>) and sshd's
# AuthorizedKeysCommand reads it from /proc/cmdline; the host name comes from
# systemd.hostname=. Nothing waits for a second disk: under TCG on a loaded
# machine udev can take longer than systemd's 90 s device timeout.
#
# Usage: scripts/fleet-image.sh [--print-path]
#
# The image lives in $MILSPEC_CACHE/fleet/<key>/fleet.ext4; the key hashes the
# root image's path (which carries its own key) and this script. Needs root
# (mount, chroot), as scripts/rootfs.sh does.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/versions.sh"
log() { printf 'fleet-image: %s\n' "$*" >&2; }

base=$("$here/rootfs.sh" --print-path)
key=$( { echo "$base"; cat "$0"; } | sha256sum | cut -c1-16)
dir=$MILSPEC_CACHE/fleet/$key
image=$dir/fleet.ext4
if [ -f "$dir/.milspec-built" ] || [ "${1:-}" = "--print-path" ]; then
	echo "$image"
	exit 0
fi
[ "$(id -u)" -eq 0 ] || { log "needs root (loop mount, chroot)"; exit 1; }
[ -f "$(dirname "$base")/.milspec-built" ] || base=$("$here/rootfs.sh")
export PATH=$PATH:/usr/sbin:/sbin

mkdir -p "$MILSPEC_CACHE/fleet"
exec 9>"$MILSPEC_CACHE/fleet/.lock"
flock 9
if [ -f "$dir/.milspec-built" ]; then echo "$image"; exit 0; fi
start=$(date +%s)
mnt=$dir/mnt
undo() { # leaves nothing mounted, whatever failed
	for m in "$mnt/proc" "$mnt"; do mountpoint -q "$m" 2>/dev/null && umount -l "$m"; done
	return 0
}
trap undo EXIT
undo
rm -rf "$dir"
mkdir -p "$dir/apt/archives/partial" "$mnt"

# --- the .debs the image lacks, resolved against the image's dpkg status ---
debugfs -R 'cat /var/lib/dpkg/status' "$base" >"$dir/apt/status" 2>/dev/null
[ -s "$dir/apt/status" ] || { log "cannot read the image's dpkg status"; exit 1; }
aptget() {
	timeout 900 apt-get -q -y -o Dir::State::status="$dir/apt/status" -o Dir::Cache::archives="$dir/apt/archives" \
		-o Debug::NoLocking=1 -o APT::Sandbox::User=root -o APT::Install-Recommends=false \
		-o Acquire::Retries=3 "$@"
}
if ! aptget --download-only install python3 openssh-server >"$dir/apt.log" 2>&1; then
	log "apt failed; refreshing the package lists once"
	timeout 900 apt-get -q update >>"$dir/apt.log" 2>&1 || true
	aptget --download-only install python3 openssh-server >>"$dir/apt.log" 2>&1 ||
		{ tail -n 20 "$dir/apt.log" >&2; exit 1; }
fi
log "$(ls "$dir"/apt/archives/*.deb | wc -l) packages to install"

# --- install them into a copy of the image, in a chroot ---
cp --sparse=always "$base" "$dir/fleet.ext4.tmp"
chmod 0644 "$dir/fleet.ext4.tmp"
mount -o loop "$dir/fleet.ext4.tmp" "$mnt"
mount -t proc proc "$mnt/proc"
mkdir -p "$mnt/tmp/fleet-debs"
cp "$dir"/apt/archives/*.deb "$mnt/tmp/fleet-debs/"
printf '#!/bin/sh\nexit 101\n' >"$mnt/usr/sbin/policy-rc.d"
chmod 0755 "$mnt/usr/sbin/policy-rc.d"
# apt orders the pre-dependencies (python3-minimal before python3) itself.
if ! timeout 900 chroot "$mnt" /usr/bin/env DEBIAN_FRONTEND=noninteractive LC_ALL=C /bin/sh -c \
	'apt-get -q -y --no-install-recommends -o Debug::NoLocking=1 install /tmp/fleet-debs/*.deb' \
	>"$dir/install.log" 2>&1; then
	tail -n 30 "$dir/install.log" >&2
	log "installing the packages failed (log: $dir/install.log)"
	exit 1
fi
rm -rf "$mnt/tmp/fleet-debs" "$mnt/usr/sbin/policy-rc.d" "$mnt"/var/cache/apt/*.bin
chroot "$mnt" python3 -c 'import json, hashlib' || { log "python3 does not run"; exit 1; }
[ -x "$mnt/usr/sbin/sshd" ] && [ -f "$mnt/etc/ssh/ssh_host_ed25519_key" ] || { log "no sshd or host key"; exit 1; }

# --- network: the virtio NIC (named by udev: ens3, enp0s3, ...) ---
cat >"$mnt/etc/systemd/network/50-fleet.network" <<'EOF'
# scripts/fleet-image.sh: QEMU user networking (slirp) forwards hostfwd ports to
# 10.0.2.15; static, so no DHCP round trip under TCG.
[Match]
Type=ether

[Network]
Address=10.0.2.15/24
Gateway=10.0.2.2
LinkLocalAddressing=no
IPv6AcceptRA=no
EOF
ln -sfn /lib/systemd/system/systemd-networkd.service "$mnt/etc/systemd/system/multi-user.target.wants/systemd-networkd.service"
mkdir -p "$mnt/etc/systemd/system/sockets.target.wants"
ln -sfn /lib/systemd/system/systemd-networkd.socket "$mnt/etc/systemd/system/sockets.target.wants/systemd-networkd.socket"
# Nothing waits for "online": sshd listens on any address.
ln -sfn /dev/null "$mnt/etc/systemd/system/systemd-networkd-wait-online.service"

# --- sshd: root by key only; the per-run key comes from the kernel command line ---
cat >"$mnt/usr/local/sbin/milspec-fleet-keys" <<'EOF'
#!/bin/sh
# scripts/fleet-image.sh: sshd's AuthorizedKeysCommand. Prints the per-run key
# that tests/fleet/run put on the kernel command line (milspec_fleet.key=BASE64).
for w in $(cat /proc/cmdline); do
	case $w in milspec_fleet.key=?*) echo "ssh-ed25519 ${w#milspec_fleet.key=} milspec-fleet-run" ;; esac
done
EOF
chmod 0755 "$mnt/usr/local/sbin/milspec-fleet-keys"
cat >"$mnt/etc/ssh/sshd_config.d/milspec-fleet.conf" <<'EOF'
# scripts/fleet-image.sh: the fleet VMs take the key of the run that booted them.
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
AuthorizedKeysCommand /usr/local/sbin/milspec-fleet-keys
AuthorizedKeysCommandUser nobody
UseDNS no
ClientAliveInterval 10
ClientAliveCountMax 6
# Under TCG on a loaded host the key exchange can take minutes: clients that gave
# up must not make sshd drop the next one (the default 10:30:100 resets them).
MaxStartups 200
LoginGraceTime 600
EOF
# --- systemd: no per-run disk; generous job timeouts for TCG under load ---
ln -sfn /dev/null "$mnt/etc/systemd/system/milspec-test.service"
mkdir -p "$mnt/etc/systemd/system.conf.d"
cat >"$mnt/etc/systemd/system.conf.d/milspec-fleet.conf" <<'EOF'
# scripts/fleet-image.sh: three TCG guests share two cores with other work; a
# job that is merely slow must not fail the boot.
[Manager]
DefaultTimeoutStartSec=900
DefaultDeviceTimeoutSec=900
EOF
[ -L "$mnt/etc/systemd/system/multi-user.target.wants/ssh.service" ] ||
	{ log "ssh.service is not enabled"; exit 1; }
sync
umount "$mnt/proc"
umount "$mnt"
e2fsck -fn "$dir/fleet.ext4.tmp" >"$dir/fsck.log" 2>&1 || { tail -n 20 "$dir/fsck.log" >&2; exit 1; }
chmod 0444 "$dir/fleet.ext4.tmp"
mv "$dir/fleet.ext4.tmp" "$image"
rm -rf "$dir/apt/archives" "$mnt"
touch "$dir/.milspec-built"
for old in "$MILSPEC_CACHE"/fleet/*/; do
	[ "${old%/}" = "$dir" ] || { log "removing stale $old"; rm -rf "$old"; }
done
log "built in $(( $(date +%s) - start )) s: $image"
echo "$image"
