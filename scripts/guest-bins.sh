#!/usr/bin/env bash
# Builds statically linked milspecctl, milspecd and milspec-guest-tests for the VM
# (glibc with crt-static: the guest has no shared libraries). Prints their directory.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
target=x86_64-unknown-linux-gnu
# A separate target dir, so the host build's artifacts (other RUSTFLAGS) stay warm.
CARGO_TARGET_DIR="$root/target/guest" RUSTFLAGS="-C target-feature=+crt-static" \
	cargo build --quiet --release --locked --target "$target" \
	-p milspecctl -p milspecd -p milspec-guest-tests >&2
echo "$root/target/guest/$target/release"
