#!/usr/bin/env bash
# make deb: builds the Debian packages milspec-dkms and milspec-tools with
# dpkg-buildpackage (debhelper, see debian/rules) and prints their paths.
#
# The build runs in a copy of the source (the files git tracks plus untracked ones
# that are not ignored, i.e. uncommitted edits are included) under
# target/deb-build/, so the checkout stays clean; cargo's output is kept in
# target/deb-cargo/ between builds. The .debs, .changes and .buildinfo go to
# target/deb/. Nothing is installed on this machine.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
"$root/scripts/deps.sh" --quiet

version=$(dpkg-parsechangelog -S Version)
stage=$root/target/deb-build
src=$stage/milspec-$version
out=$root/target/deb
rm -rf "$stage"
mkdir -p "$src" "$out"
git ls-files -z --cached --others --exclude-standard |
	while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
	tar --null -T - -cf - | tar -xf - -C "$src"

started=$(date +%s)
log=$stage/build.log
if ! (cd "$src" && CARGO_TARGET_DIR=$root/target/deb-cargo \
	dpkg-buildpackage -us -uc -b >"$log" 2>&1); then
	tail -n 60 "$log" >&2
	echo "deb: dpkg-buildpackage failed; full log: $log" >&2
	exit 1
fi
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
rm -f "$out"/milspec*
files=("milspec-dkms_${version}_all.deb" "milspec-tools_${version}_${arch}.deb"
	"milspec_${version}_${arch}.changes" "milspec_${version}_${arch}.buildinfo")
for f in "${files[@]}"; do mv "$stage/$f" "$out/"; done
echo "deb: built in $(( $(date +%s) - started )) s (log: $log)" >&2
for f in "${files[@]:0:2}"; do echo "$out/$f"; done
