#!/usr/bin/env bash
# Builds (or finds in the cache) the root filesystem of the full-system test tier:
# Debian bookworm made with `debootstrap --variant=minbase`, systemd as PID 1, as a
# raw ext4 image that tests/system/run boots read-only (QEMU snapshot=on: every
# boot starts from the same clean image and writes nothing back).
#
# Usage: scripts/rootfs.sh [--print-path]
#
# Prints the image's path on stdout; progress goes to stderr. --print-path prints
# where the image is (or would be) without building anything.
#
# The image lives in $MILSPEC_CACHE/rootfs/bookworm-<key>/rootfs.ext4, where the key
# hashes this script (package list, configuration) and the mirror; downloaded .debs
# are kept in $MILSPEC_CACHE/rootfs/debs so a new key does not download them again.
# Needs root (debootstrap chroots and creates device nodes); uses sudo otherwise.
# MILSPEC_DEBIAN_MIRROR overrides the mirror (default http://deb.debian.org/debian).
#
# The image contains one test hook, milspec-test.service (enabled): once the second
# virtio disk (/dev/vdb, made per run by tests/system/run) appears, it mounts it
# read-only at /run/milspec-test and runs /run/milspec-test/entry, which runs the
# test command, writes its output to the second serial port and powers off.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
. "$here/versions.sh"

print_only=0
case "${1:-}" in
--print-path) print_only=1 ;;
"") ;;
-h|--help) awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"; exit 0 ;;
*) echo "rootfs.sh: unknown argument: $1" >&2; exit 64 ;;
esac

log() { printf 'rootfs: %s\n' "$*" >&2; }

suite=bookworm
mirror=${MILSPEC_DEBIAN_MIRROR:-http://deb.debian.org/debian}
# What the tests use besides minbase: systemd as init (systemctl, journalctl,
# systemd-analyze), udev for /dev/vdb, kmod, dbus (as on any real system), and
# tpm2-tools, which milspec-tools recommends (the quotes of `milspecctl attest`).
packages=systemd,systemd-sysv,udev,kmod,dbus,procps,tpm2-tools
image_size=1536M

key=$(printf '%s\n' "$suite" "$mirror" "$(sha256sum <"$0")" | sha256sum | cut -c1-16)
dir=$MILSPEC_CACHE/rootfs/$suite-$key
image=$dir/rootfs.ext4

if [ -f "$dir/.milspec-built" ] || [ $print_only -eq 1 ]; then
	echo "$image"
	exit 0
fi

SUDO=
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null || { log "debootstrap needs root (or sudo)"; exit 1; }
	SUDO=sudo
fi
for tool in debootstrap mkfs.ext4; do
	command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] ||
		{ log "$tool is missing: run 'make deps'"; exit 1; }
done
export PATH=$PATH:/usr/sbin:/sbin

mkdir -p "$MILSPEC_CACHE/rootfs/debs"
exec 9>"$MILSPEC_CACHE/rootfs/.lock"
flock 9
if [ -f "$dir/.milspec-built" ]; then echo "$image"; exit 0; fi

start=$(date +%s)
# debootstrap cannot resume a half-made tree: start over.
$SUDO rm -rf "$dir"
mkdir -p "$dir"
tree=$dir/tree
log "debootstrap --variant=minbase $suite from $mirror (cold: a few minutes)"
if ! $SUDO debootstrap --variant=minbase --include="$packages" \
	--cache-dir="$MILSPEC_CACHE/rootfs/debs" "$suite" "$tree" "$mirror" >"$dir/debootstrap.log" 2>&1; then
	tail -n 30 "$dir/debootstrap.log" >&2
	[ ! -f "$tree/debootstrap/debootstrap.log" ] || tail -n 30 "$tree/debootstrap/debootstrap.log" >&2
	log "debootstrap failed (full log: $dir/debootstrap.log)"
	exit 1
fi
log "debootstrap done in $(( $(date +%s) - start )) s"

# --- configuration (files only; nothing runs in the chroot) ---
put() { # put PATH MODE < content
	$SUDO mkdir -p "$(dirname "$tree$1")"
	$SUDO tee "$tree$1" >/dev/null
	$SUDO chmod "$2" "$tree$1"
}
put /etc/hostname 0644 <<<"milspec-sys"
put /etc/hosts 0644 <<'EOF'
127.0.0.1	localhost
127.0.1.1	milspec-sys
EOF
put /etc/fstab 0644 <<'EOF'
/dev/vda	/	ext4	rw,errors=remount-ro	0	0
EOF
# Nothing interactive, nothing scheduled: a test boot is a fixed sequence.
for unit in serial-getty@.service getty@.service console-getty.service \
	apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service \
	fstrim.timer systemd-timesyncd.service; do
	$SUDO ln -sfn /dev/null "$tree/etc/systemd/system/$unit"
done
put /etc/systemd/system/milspec-test.service 0644 <<'EOF'
# The hook of tests/system/run: runs the test command from the per-run disk.
[Unit]
Description=milspec full-system test (tests/system/run)
Requires=dev-vdb.device
After=dev-vdb.device

[Service]
Type=simple
ExecStart=/bin/sh -c 'mkdir -p /run/milspec-test && mount -o ro /dev/vdb /run/milspec-test && exec /bin/sh /run/milspec-test/entry'

[Install]
WantedBy=multi-user.target
EOF
$SUDO mkdir -p "$tree/etc/systemd/system/multi-user.target.wants"
$SUDO ln -sfn /etc/systemd/system/milspec-test.service \
	"$tree/etc/systemd/system/multi-user.target.wants/milspec-test.service"
$SUDO ln -sfn /lib/systemd/system/multi-user.target "$tree/etc/systemd/system/default.target"
# No downloads inside the guest; the apt lists are not needed.
$SUDO rm -rf "$tree"/var/cache/apt/archives/*.deb "$tree"/var/lib/apt/lists/*

log "making the ext4 image ($image_size)"
truncate -s "$image_size" "$dir/rootfs.ext4.tmp"
$SUDO mkfs.ext4 -q -F -L milspec-root -d "$tree" "$dir/rootfs.ext4.tmp"
$SUDO rm -rf "$tree"
$SUDO chown "$(id -u):$(id -g)" "$dir/rootfs.ext4.tmp"
chmod 0444 "$dir/rootfs.ext4.tmp"
mv "$dir/rootfs.ext4.tmp" "$image"
touch "$dir/.milspec-built"
# Images for an older key are never used again.
for old in "$MILSPEC_CACHE/rootfs/$suite"-*; do
	[ "$old" = "$dir" ] || [ ! -d "$old" ] || { log "removing stale $old"; $SUDO rm -rf "$old"; }
done
log "built in $(( $(date +%s) - start )) s: $image"
echo "$image"
