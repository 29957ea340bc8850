#!/usr/bin/env bash
# Builds dell_milspec.ko at the repository root against KDIR (default: the
# reference kernel, built or found in the cache by scripts/kernel.sh).
# Warnings are errors: C with -Werror, Rust with -Dwarnings.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
. "$here/versions.sh"

if [ -z "${KDIR:-}" ]; then
	"$here/deps.sh" --quiet
	KDIR=$("$here/kernel.sh")
fi
[ -f "$KDIR/Makefile" ] || { echo "module: KDIR=$KDIR is not a kernel tree" >&2; exit 1; }
for f in rust/libkernel.rmeta Module.symvers; do
	[ -e "$KDIR/$f" ] || {
		echo "module: $KDIR lacks $f: it must be a fully built kernel with CONFIG_RUST=y" >&2
		exit 1
	}
done
make -s -C "$KDIR" M="$root" RUSTC=/usr/bin/rustc HOSTRUSTC=/usr/bin/rustc \
	BINDGEN="$BINDGEN" KCFLAGS=-Werror KRUSTFLAGS=-Dwarnings modules
echo "$root/dell_milspec.ko"
