#!/usr/bin/env bash
# Builds statically linked milspecctl, milspecd, milspec-guest-tests and the C client
# milspec-c-query for the VM
# (glibc with crt-static: the guest has no shared libraries; non-PIE, because under
# software emulation the start-up self-relocation of a static PIE costs ~30 ms per
# process). Prints their directory.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
target=x86_64-unknown-linux-gnu
# A separate target dir, so the host build's artifacts (other RUSTFLAGS) stay warm.
CARGO_TARGET_DIR="$root/target/guest" RUSTFLAGS="-C target-feature=+crt-static -C relocation-model=static" \
	cargo build --quiet --release --locked --target "$target" \
	-p milspecctl -p milspecd -p milspec-guest-tests >&2
out=$root/target/guest/$target/release
# The C client of the UAPI header, static as well.
cc -static -O2 -Wall -Wextra -Werror -I "$root/include/uapi" \
	"$root/tests/c/milspec_query.c" -o "$out/milspec-c-query"
echo "$out"
