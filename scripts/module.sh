#!/usr/bin/env bash
# Builds dell_milspec.ko and prints its path. Warnings are errors (C -Werror, Rust
# -Dwarnings), and the Rust is compiled through clippy with the kernel's own lints
# (`make CLIPPY=1`: `undocumented_unsafe_blocks`, `clippy::all`, ...), so a clippy
# finding fails the build too. That needs the clippy-driver of the kernel's rustc:
# Debian's rust-web-clippy, pinned with rustc-web by scripts/deps.sh.
#
# Usage: scripts/module.sh [--variant default|kasan] [--test-modules | --test-versions]
#                          [--no-clippy]
#
# --no-clippy compiles with rustc alone (for a tree whose rustc has no matching
# clippy-driver); `make check` always builds with clippy.
#
# --test-modules builds the allowlist test modules of tests/modules instead (in
# target/test-modules/<variant>/) and prints that directory.
# --test-versions builds dell_milspec as versions 1.0.0, 1.0.1 and a 1.0.2 whose
# init fails (build-time knobs MILSPEC_TEST_VERSION / MILSPEC_TEST_FAIL_INIT, for
# the store and rollback tests) into target/test-versions/<variant>/<version>.ko,
# plus signed copies: 1.0.0-signed.ko and 1.0.1-signed.ko (the kernel tree's build key),
# 1.0.1-mok.ko (the test DKMS MOK of scripts/test-keys.sh), 1.0.1-untrusted.ko (a
# key no test kernel trusts) and 1.0.1-flipped.ko (1.0.1-signed.ko with one byte in
# the middle of the module inverted), and prints that directory.
#
# With KDIR set, builds against that tree at the repository root (what `make` and
# DKMS do). Without it, builds against the reference kernel of the variant: the
# default variant at the repository root, others in target/kmod/<variant>/ (a copy of
# the module sources), so both can be built side by side.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
. "$here/versions.sh"

variant=default
test_modules=0
test_versions=0
clippy=(CLIPPY=1 CLIPPY_DRIVER=/usr/bin/clippy-driver)
while [ $# -gt 0 ]; do
	case "$1" in
	--variant) variant=$2; shift 2 ;;
	--test-modules) test_modules=1; shift ;;
	--test-versions) test_versions=1; shift ;;
	--no-clippy) clippy=(); shift ;;
	*) echo "module.sh: unknown argument $1" >&2; exit 64 ;;
	esac
done

# copy_module_sources DIR: what Kbuild compiles, so a variant or a test version
# builds in its own directory. A stale abi/src/uapi.rs (before the split) goes.
copy_module_sources() {
	rm -f "$1/abi/src/uapi.rs" "$1"/abi/src/uapi/*.rs
	mkdir -p "$1/abi/src/uapi" "$1/smbios/src" "$1/kmod"
	cp "$root/Kbuild" "$1/"
	cp "$root"/kmod/*.rs "$root"/kmod/*.c "$root"/kmod/*.h "$1/kmod/"
	cp "$root"/abi/src/uapi/*.rs "$1/abi/src/uapi/"
	cp "$root/smbios/src/dell.rs" "$1/smbios/src/"
}

# flip_byte FILE OFFSET: inverts the bits of one byte in place.
flip_byte() {
	local b
	b=$(od -An -tu1 -j "$2" -N 1 "$1" | tr -d ' ')
	# shellcheck disable=SC2059 # the format is the octal escape of the new byte
	printf "\\$(printf %03o $((b ^ 0xff)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# One build at a time per checkout: make check runs VM suites in parallel lanes, and
# two Kbuild runs in the same module directory would trample each other's objects.
mkdir -p "$root/target"
exec 8>"$root/target/.module-build.lock"
flock 8

src=$root
if [ -z "${KDIR:-}" ]; then
	"$here/deps.sh" --quiet
	KDIR=$("$here/kernel.sh" --variant "$variant")
	if [ $test_modules -eq 1 ]; then
		src=$root/target/test-modules/$variant
		mkdir -p "$src"
		cp "$root"/tests/modules/Kbuild "$root"/tests/modules/*.rs "$src/"
	elif [ "$variant" != default ]; then
		src=$root/target/kmod/$variant
		copy_module_sources "$src"
	fi
fi
[ -f "$KDIR/Makefile" ] || { echo "module: KDIR=$KDIR is not a kernel tree" >&2; exit 1; }
for f in rust/libkernel.rmeta Module.symvers; do
	[ -e "$KDIR/$f" ] || {
		echo "module: $KDIR lacks $f: it must be a fully built kernel with CONFIG_RUST=y" >&2
		exit 1
	}
done
extra=()
if [ -s "$KDIR/.milspec-make-args" ]; then
	while read -r arg; do
		[ -z "$arg" ] || extra+=("$arg")
	done <"$KDIR/.milspec-make-args"
fi
kbuild() {
	make -s -C "$KDIR" M="$1" "${extra[@]}" RUSTC=/usr/bin/rustc HOSTRUSTC=/usr/bin/rustc \
		BINDGEN="$BINDGEN" "${clippy[@]}" KCFLAGS=-Werror KRUSTFLAGS=-Dwarnings modules
}

if [ $test_versions -eq 1 ]; then
	out=$root/target/test-versions/$variant
	mkdir -p "$out"
	for spec in 1.0.0: 1.0.1: 1.0.2:fail; do
		ver=${spec%%:*}
		dir=$root/target/test-versions/src-$variant-$ver
		copy_module_sources "$dir"
		if [ "${spec#*:}" = fail ]; then
			MILSPEC_TEST_VERSION=$ver MILSPEC_TEST_FAIL_INIT=1 kbuild "$dir"
		else
			(unset MILSPEC_TEST_FAIL_INIT; MILSPEC_TEST_VERSION=$ver kbuild "$dir")
		fi
		cp "$dir/dell_milspec.ko" "$out/$ver.ko"
	done
	# Signed copies of 1.0.1 for the signature-enforcement tests: the kernel's own
	# build key, the test DKMS MOK (trusted through CONFIG_SYSTEM_TRUSTED_KEYS), a
	# key no kernel trusts, and a build-key copy with one byte of the module body
	# flipped after signing.
	keys=$("$here/test-keys.sh")
	sign() { "$KDIR/scripts/sign-file" sha512 "$1" "$2" "$out/${3%%-*}.ko" "$out/$3"; }
	for v in 1.0.0 1.0.1; do
		sign "$KDIR/certs/signing_key.pem" "$KDIR/certs/signing_key.x509" "$v-signed.ko"
	done
	sign "$keys/dkms-mok.key" "$keys/dkms-mok.pem" 1.0.1-mok.ko
	sign "$keys/untrusted.key" "$keys/untrusted.pem" 1.0.1-untrusted.ko
	cp "$out/1.0.1-signed.ko" "$out/1.0.1-flipped.ko"
	flip_byte "$out/1.0.1-flipped.ko" $(($(stat -c %s "$out/1.0.1.ko") / 2))
	echo "$out"
	exit 0
fi
kbuild "$src"
if [ $test_modules -eq 1 ]; then echo "$src"; else echo "$src/dell_milspec.ko"; fi
