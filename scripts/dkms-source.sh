#!/usr/bin/env bash
# Exports the DKMS source tree of dell_milspec: exactly the files a module build
# needs (dkms.conf, Makefile, Kbuild, kmod/, the shared ABI and SMBIOS parser
# sources, scripts/dkms-make.sh), nothing built, no userspace crates.
#
# Usage: scripts/dkms-source.sh [DEST]
#        scripts/dkms-source.sh --list   (the file list, for scripts/install.sh)
#
# DEST defaults to /usr/src/milspec-<PACKAGE_VERSION>, where `dkms add -m milspec
# -v <PACKAGE_VERSION>` looks for it. Prints DEST. An existing DEST is replaced.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$root/dkms.conf")
[ -n "$version" ] || { echo "dkms-source: no PACKAGE_VERSION in dkms.conf" >&2; exit 1; }
dest=${1:-/usr/src/milspec-$version}

files=(dkms.conf Makefile Kbuild scripts/dkms-make.sh smbios/src/dell.rs)
for f in "$root"/abi/src/uapi/*.rs "$root"/kmod/*.rs "$root"/kmod/*.c "$root"/kmod/*.h; do
	files+=("${f#"$root"/}")
done

if [ "${1:-}" = --list ]; then
	printf '%s\n' "${files[@]}"
	exit 0
fi
rm -rf "$dest"
mkdir -p "$dest"
for f in "${files[@]}"; do
	mkdir -p "$dest/$(dirname "$f")"
	cp -p "$root/$f" "$dest/$f"
done
echo "$dest"
