#!/usr/bin/env bash
# Builds (or finds in the cache) the reference kernel: Debian's linux-source-6.12,
# tinyconfig + tests/kernel/milspec.config, CONFIG_RUST=y, built with the pinned rustc.
#
# Usage: scripts/kernel.sh [--variant default|kasan|lean|norust] [--localversion STR] [--print-dir]
#
# --print-dir prints where the tree is (or would be) without building anything.
#
# Variants (fragments in tests/kernel/, merged on top of tinyconfig):
#   default  milspec + debug + system, built with gcc like distribution kernels:
#            lockdep, KFENCE, SLUB debugging, and what a Debian root filesystem with
#            systemd as PID 1 needs (virtio disk, ext4, cgroups, namespaces, seccomp,
#            BPF). The one debug kernel of both the initramfs tier (tests/vm) and the
#            full-system tier (tests/system): one cold build serves both.
#   kasan    milspec + debug + kasan, built with clang (LLVM=-14), which 6.12
#            requires for KASAN together with Rust. Modules for it need the same
#            LLVM=-14 (scripts/module.sh --variant kasan passes it).
#   lean     milspec alone: no debugging, nothing for systemd. The DKMS test's second
#            release (--localversion -upgrade) only has to prove a rebuild and a
#            load, so it has no debugging (cold: 735 s against 1765 s for the
#            default kernel, both measured on a loaded host).
#   norust   tests/kernel/norust.config, configured but not built: the DKMS test
#            shows that DKMS skips a kernel without CONFIG_RUST.
# Prints the kernel tree (KDIR) on stdout; progress goes to stderr.
#
# Cache key = source package version + config fragment hash + rustc + bindgen +
# LOCALVERSION + the trusted MOK certificate, so a warm run is a directory lookup. A build that is cut off resumes
# (make is incremental) on the next run; only a tree with the ".milspec-built" stamp
# is ever used. The tree is not moved after building: Kbuild records absolute paths.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
. "$here/versions.sh"

localversion=""
variant=default
print_only=0
while [ $# -gt 0 ]; do
	case "$1" in
	--localversion) localversion=$2; shift 2 ;;
	--variant) variant=$2; shift 2 ;;
	--print-dir) print_only=1; shift ;;
	-h|--help) awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"; exit 0 ;;
	*) echo "kernel.sh: unknown argument: $1" >&2; exit 64 ;;
	esac
done

log() { printf 'kernel: %s\n' "$*" >&2; }

kconf=$root/tests/kernel
fragments=("$kconf/milspec.config")
llvm=()
config_only=0
case "$variant" in
default) fragments+=("$kconf/debug.config" "$kconf/system.config") ;;
kasan)
	fragments+=("$kconf/debug.config" "$kconf/kasan.config")
	llvm=(LLVM=-14)
	;;
lean) ;;
norust)
	fragments=("$kconf/norust.config")
	config_only=1
	;;
*) log "unknown variant $variant (default|kasan|lean|norust)"; exit 64 ;;
esac
src_version=$(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null) || {
	log "linux-source-6.12 is not installed: run 'make deps'"; exit 1; }
[ -x "$BINDGEN" ] || { log "bindgen missing at $BINDGEN: run 'make deps'"; exit 1; }
rustc_version=$(/usr/bin/rustc --version)
bindgen_version=$("$BINDGEN" --version)

# Every built variant trusts the test DKMS MOK (scripts/test-keys.sh) besides its
# own build key: CONFIG_SYSTEM_TRUSTED_KEYS, the kernel's extra-certificate option.
mok_pem=""
if [ $config_only -eq 0 ]; then
	mok_pem=$("$here/test-keys.sh")/dkms-mok.pem
fi
cc_version=$(if [ ${#llvm[@]} -gt 0 ]; then clang-14 --version | head -n 1; else gcc --version | head -n 1; fi)
key=$(printf '%s\n' "$src_version" "$(cat "${fragments[@]}" | sha256sum)" "$rustc_version" \
	"$bindgen_version" "$cc_version" "$variant" "$localversion" \
	"$( [ -z "$mok_pem" ] || sha256sum <"$mok_pem")" | sha256sum | cut -c1-16)
suffix=""
[ "$variant" = default ] || suffix="-$variant"
name="linux-${src_version%%-*}${localversion}${suffix}-$key"
kdir=$MILSPEC_CACHE/kernel/$name

KMAKE=(make "${llvm[@]}" RUSTC=/usr/bin/rustc HOSTRUSTC=/usr/bin/rustc BINDGEN="$BINDGEN")

if [ -f "$kdir/.milspec-built" ] || [ $print_only -eq 1 ]; then
	echo "$kdir"
	exit 0
fi

mkdir -p "$MILSPEC_CACHE/kernel"
# One lock per tree: a build of one variant never waits for another's.
exec 9>"$MILSPEC_CACHE/kernel/.lock-$name"
flock 9
if [ -f "$kdir/.milspec-built" ]; then echo "$kdir"; exit 0; fi

start=$(date +%s)
if [ ! -f "$kdir/.milspec-extracted" ]; then
	log "extracting $KERNEL_SOURCE_TARBALL ($src_version)"
	rm -rf "$kdir"
	mkdir -p "$kdir"
	tar -xf "$KERNEL_SOURCE_TARBALL" -C "$kdir" --strip-components=1
	touch "$kdir/.milspec-extracted"
fi

cd "$kdir"
"${KMAKE[@]}" rustavailable >&2
if [ -n "$mok_pem" ]; then
	# A path relative to the tree, so the fragment is the same for every tree.
	cp "$mok_pem" certs/milspec-test-mok.pem
	echo 'CONFIG_SYSTEM_TRUSTED_KEYS="certs/milspec-test-mok.pem"' >.milspec-trusted-keys.config
	fragments+=("$kdir/.milspec-trusted-keys.config")
fi
if [ ! -f .milspec-configured ]; then
	log "configuring: tinyconfig + ${fragments[*]##*/}"
	"${KMAKE[@]}" tinyconfig >/dev/null
	./scripts/kconfig/merge_config.sh -m .config "${fragments[@]}" >/dev/null
	"${KMAKE[@]}" LOCALVERSION="$localversion" olddefconfig >/dev/null
	# merge_config drops what Kconfig refuses without failing; check what we rely on.
	bad=0
	while read -r opt; do
		grep -qx "$opt" .config || { log "config lost: $opt"; bad=1; }
	done < <(cat "${fragments[@]}" | grep -E '^CONFIG_[A-Z0-9_]+=')
	[ $bad -eq 0 ] || { log "the fragment is not satisfiable with this source/toolchain"; exit 1; }
	touch .milspec-configured
fi
if [ $config_only -eq 1 ]; then
	if grep -q '^CONFIG_RUST=y' .config; then log "CONFIG_RUST is on in a norust tree"; exit 1; fi
	touch .milspec-built # "ready": this variant is only configured
	log "configured (not built) in $(( $(date +%s) - start )) s: $kdir"
	echo "$kdir"
	exit 0
fi

log "building (make -j$(nproc)); a cold build takes several minutes"
"${KMAKE[@]}" LOCALVERSION="$localversion" -j"$(nproc)" >&2
test -f arch/x86/boot/bzImage -a -f Module.symvers -a -f rust/kernel.o
# What module builds against this tree must pass to make (read by scripts/module.sh).
: >.milspec-make-args
[ ${#llvm[@]} -eq 0 ] || printf '%s\n' "${llvm[@]}" >.milspec-make-args
touch .milspec-built
# Trees of this variant for an older key (fragment, toolchain or source changed)
# are never used again: drop them (1.5-3 GB each).
for old in "$MILSPEC_CACHE/kernel/${name%-*}"-*; do
	[ "$old" = "$kdir" ] || [ ! -d "$old" ] ||
		case "${old#"$MILSPEC_CACHE/kernel/${name%-*}"-}" in
		*-*) ;; # another variant or localversion, e.g. "kasan-<key>"
		*) log "removing stale tree $old"; rm -rf "$old" ;;
		esac
done
log "built in $(( $(date +%s) - start )) s: $kdir"
echo "$kdir"
