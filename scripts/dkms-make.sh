#!/usr/bin/env bash
# Builds dell_milspec.ko for DKMS (dkms.conf's MAKE goes through `make dkms-build`,
# which runs this), after checking that the kernel tree can build a Rust module at
# all. Works the same for a user running it by hand.
#
# Usage: scripts/dkms-make.sh [--check] KDIR [MAKE-ARG...]
#
#   --check   only run the checks (dkms.conf's PRE_BUILD), print what was found
#
# Checks, each failing with a message that says what is missing and what to do:
#   * KDIR is a configured kernel tree with CONFIG_RUST=y;
#   * its Rust build artifacts are there (rust/*.rmeta, rust/libmacros.so) and
#     Module.symvers: a headers package without them cannot build Rust modules;
#   * a rustc whose `rustc --version` is exactly the kernel's
#     CONFIG_RUSTC_VERSION_TEXT: the module must be built with the rustc that
#     built the kernel (rmeta files are not compatible across rustc versions).
#     $RUSTC if set (and then only it), else /usr/bin/rustc, then `rustc` in PATH.
# Exit status: 0 built (or checks passed), 1 a check failed, else make's status.
set -euo pipefail

check_only=0
if [ "${1:-}" = "--check" ]; then
	check_only=1
	shift
fi
[ $# -ge 1 ] || { echo "dkms-make: usage: $0 [--check] KDIR [MAKE-ARG...]" >&2; exit 64; }
kdir=$1
shift

fail() {
	{
		echo "dkms-make: ERROR: $1"
		shift
		for line in "$@"; do echo "dkms-make:   $line"; done
	} >&2
	exit 1
}

[ -f "$kdir/Makefile" ] ||
	fail "$kdir is not a kernel source or headers tree (no Makefile)." \
		"Install the headers of the target kernel, or point DKMS at its tree with --kernelsourcedir."

config=$kdir/include/config/auto.conf
[ -f "$config" ] || config=$kdir/.config
[ -f "$config" ] ||
	fail "$kdir is not configured (no include/config/auto.conf or .config)."
grep -qx 'CONFIG_RUST=y' "$config" ||
	fail "the kernel in $kdir is built without Rust support (CONFIG_RUST is not set)." \
		"dell_milspec is a Rust module: it needs a kernel built with CONFIG_RUST=y." \
		"(DKMS skips such kernels by itself: dkms.conf has BUILD_EXCLUSIVE_CONFIG=\"CONFIG_RUST\".)"

missing=()
for f in rust/libcore.rmeta rust/libcompiler_builtins.rmeta rust/libkernel.rmeta \
	rust/libmacros.so Module.symvers; do
	[ -e "$kdir/$f" ] || missing+=("$f")
done
if [ ${#missing[@]} -gt 0 ]; then
	fail "the kernel tree $kdir lacks what Rust modules are built against: ${missing[*]}" \
		"It has CONFIG_RUST=y, but its Rust build artifacts (rust/*.rmeta, rust/libmacros.so)" \
		"or Module.symvers are not there. Headers packages often leave them out." \
		"Use the fully built tree of that kernel (after 'make'), or a headers package that" \
		"ships rust/ (Ubuntu splits it into linux-lib-rust-<release>; unverified here)."
fi

# auto.conf writes the string without quotes (6.12), .config with them.
want=$(sed -n 's/^CONFIG_RUSTC_VERSION_TEXT=//p' "$config" | head -n 1)
want=${want#\"}
want=${want%\"}
[ -n "$want" ] ||
	fail "$config has no CONFIG_RUSTC_VERSION_TEXT: cannot tell which rustc built this kernel."

# An explicit RUSTC is the only one tried: a mismatch is reported, not worked around.
if [ -n "${RUSTC:-}" ]; then
	candidates=("$RUSTC")
else
	candidates=(/usr/bin/rustc)
	if p=$(command -v rustc 2>/dev/null); then candidates+=("$p"); fi
fi
rustc=""
seen=()
for c in "${candidates[@]}"; do
	[ -x "$c" ] || continue
	v=$("$c" --version 2>/dev/null || true)
	seen+=("$c: ${v:-does not run}")
	if [ "$v" = "$want" ]; then
		rustc=$c
		break
	fi
done
if [ -z "$rustc" ]; then
	[ ${#seen[@]} -gt 0 ] || seen=("no rustc found (tried ${candidates[*]})")
	fail "rustc version mismatch: the kernel in $kdir was built with" \
		"    $want" \
		"but the rustc available here is" \
		"${seen[@]/#/    }" \
		"A Rust module must be built with the exact rustc that built the kernel." \
		"Install that rustc (this project pins Debian's rustc-web: 'make deps'), or point" \
		"RUSTC at it in dkms's environment (an explicit RUSTC is the only one tried)."
fi

if [ $check_only -eq 1 ]; then
	echo "dkms-make: $kdir: CONFIG_RUST=y, Rust artifacts present, rustc $rustc ($want)"
	exit 0
fi

# The module dir is the current directory (DKMS runs MAKE in its build dir).
echo "dkms-make: building against $kdir with $rustc ($want)"
exec make -C "$kdir" M="$PWD" RUSTC="$rustc" HOSTRUSTC="$rustc" "$@" modules
