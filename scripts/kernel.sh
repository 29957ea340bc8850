#!/usr/bin/env bash
# Builds (or finds in the cache) the reference kernel: Debian's linux-source-6.12,
# tinyconfig + tests/kernel/milspec.config, CONFIG_RUST=y, built with the pinned rustc.
#
# Usage: scripts/kernel.sh [--localversion STR]
# Prints the kernel tree (KDIR) on stdout; progress goes to stderr.
#
# Cache key = source package version + config fragment hash + rustc + bindgen +
# LOCALVERSION, so a warm run is a directory lookup. A build that is cut off resumes
# (make is incremental) on the next run; only a tree with the ".milspec-built" stamp
# is ever used. The tree is not moved after building: Kbuild records absolute paths.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
. "$here/versions.sh"

localversion=""
while [ $# -gt 0 ]; do
	case "$1" in
	--localversion) localversion=$2; shift 2 ;;
	-h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "kernel.sh: unknown argument: $1" >&2; exit 64 ;;
	esac
done

log() { printf 'kernel: %s\n' "$*" >&2; }

fragment=$root/tests/kernel/milspec.config
src_version=$(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null) || {
	log "linux-source-6.12 is not installed: run 'make deps'"; exit 1; }
[ -x "$BINDGEN" ] || { log "bindgen missing at $BINDGEN: run 'make deps'"; exit 1; }
rustc_version=$(/usr/bin/rustc --version)
bindgen_version=$("$BINDGEN" --version)

key=$(printf '%s\n' "$src_version" "$(sha256sum <"$fragment")" "$rustc_version" \
	"$bindgen_version" "$localversion" | sha256sum | cut -c1-16)
name="linux-${src_version%%-*}${localversion}-$key"
kdir=$MILSPEC_CACHE/kernel/$name

KMAKE=(make RUSTC=/usr/bin/rustc HOSTRUSTC=/usr/bin/rustc BINDGEN="$BINDGEN")

if [ -f "$kdir/.milspec-built" ]; then
	echo "$kdir"
	exit 0
fi

mkdir -p "$MILSPEC_CACHE/kernel"
exec 9>"$MILSPEC_CACHE/kernel/.lock"
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
if [ ! -f .milspec-configured ]; then
	log "configuring: tinyconfig + $(basename "$fragment")"
	"${KMAKE[@]}" tinyconfig >/dev/null
	./scripts/kconfig/merge_config.sh -m .config "$fragment" >/dev/null
	"${KMAKE[@]}" LOCALVERSION="$localversion" olddefconfig >/dev/null
	# merge_config drops what Kconfig refuses without failing; check what we rely on.
	bad=0
	while read -r opt; do
		grep -qx "$opt" .config || { log "config lost: $opt"; bad=1; }
	done < <(grep -E '^CONFIG_[A-Z0-9_]+=' "$fragment")
	[ $bad -eq 0 ] || { log "the fragment is not satisfiable with this source/toolchain"; exit 1; }
	touch .milspec-configured
fi

log "building (make -j$(nproc)); a cold build takes several minutes"
"${KMAKE[@]}" LOCALVERSION="$localversion" -j"$(nproc)" >&2
test -f arch/x86/boot/bzImage -a -f Module.symvers -a -f rust/kernel.o
touch .milspec-built
log "built in $(( $(date +%s) - start )) s: $kdir"
echo "$kdir"
