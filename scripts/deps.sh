#!/usr/bin/env bash
# Installs everything the build and the VM tests need, idempotently.
# Safe to run repeatedly: each step checks first and does nothing when satisfied.
#
# The Rust toolchain for the kernel is pinned to one exact Debian version pair
# (rustc-web + rust-web-src); a module must be built with the very rustc that
# built the kernel, so a silent upgrade would break every module build.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/versions.sh
. "$here/versions.sh"

quiet=0
[ "${1:-}" = "--quiet" ] && quiet=1
log() { printf 'deps: %s\n' "$*" >&2; }
info() { [ $quiet -eq 1 ] || log "$@"; }

SUDO=
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null; then SUDO=sudo; else
		log "not root and no sudo: cannot install Debian packages"; exit 1
	fi
fi

apt_pkgs=(
	"linux-source-6.12"
	"rustc-web=$RUSTC_WEB_VERSION"
	"libstd-rust-web-dev=$RUSTC_WEB_VERSION"
	"libstd-rust-web-${RUSTC_WEB_SERIES}=$RUSTC_WEB_VERSION"
	"rust-web-src=$RUSTC_WEB_VERSION"
	# clippy-driver of the same rustc: the module build runs with the kernel's CLIPPY=1,
	# and a clippy of any other rustc cannot read the kernel's .rmeta files.
	"rust-web-clippy=$RUSTC_WEB_VERSION"
	libclang-dev clang-14 llvm-14 lld-14
	qemu-system-x86 busybox-static cpio
	build-essential bc bison flex libelf-dev libssl-dev dwarves
	python3 xz-utils kmod gzip openssl
	# promtool (checks milspecd's metrics output)
	prometheus
	# Debian packages (scripts/deb.sh): debhelper with the dkms addon, lintian in make check.
	dpkg-dev debhelper dh-dkms fakeroot lintian
	dkms
	# Full-system tier (scripts/rootfs.sh): debootstrap, and mkfs.ext4 -d for the images.
	debootstrap e2fsprogs
	# Measured posture (tests/system with a TPM): Debian's software TPM and the
	# TCG tools that read PCRs and make and check quotes.
	swtpm swtpm-tools tpm2-tools
)

missing=()
for p in "${apt_pkgs[@]}"; do
	name=${p%%=*}
	want=${p#*=}
	have=$(dpkg-query -W -f='${Status} ${Version}' "$name" 2>/dev/null || true)
	case "$have" in
	"install ok installed "*|"hold ok installed "*)
		if [ "$name" != "$want" ] && [ "${have##* }" != "$want" ]; then
			missing+=("$p")
		fi
		;;
	*) missing+=("$p") ;;
	esac
done

if [ ${#missing[@]} -gt 0 ]; then
	log "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	if ! $SUDO apt-get install -y --no-install-recommends --allow-downgrades \
		--allow-change-held-packages "${missing[@]}"; then
		log "apt-get install failed; refreshing package lists once and retrying"
		$SUDO apt-get update
		if ! $SUDO apt-get install -y --no-install-recommends --allow-downgrades \
			--allow-change-held-packages "${missing[@]}"; then
			log "could not install the pinned toolchain rustc-web=$RUSTC_WEB_VERSION."
			log "If Debian dropped that version, update RUSTC_WEB_VERSION in scripts/versions.sh"
			log "(the kernel cache is keyed by it, so the kernel is rebuilt consistently)."
			exit 1
		fi
	fi
	# Keep apt-get upgrade from moving rustc away from the kernel's rustc.
	$SUDO apt-mark hold rustc-web libstd-rust-web-dev "libstd-rust-web-${RUSTC_WEB_SERIES}" rust-web-src \
		rust-web-clippy >/dev/null
else
	info "Debian packages: all present"
fi

# bindgen-cli from crates.io, exact version, --locked, into our own cache root so it
# never collides with anything else on the machine.
if [ -x "$BINDGEN" ] && "$BINDGEN" --version 2>/dev/null | grep -q " $BINDGEN_VERSION\$"; then
	info "bindgen $BINDGEN_VERSION: present"
else
	log "installing bindgen-cli $BINDGEN_VERSION (cargo install --locked)"
	mkdir -p "$MILSPEC_CACHE/tools"
	cargo install --locked --quiet --root "$MILSPEC_CACHE/tools" \
		bindgen-cli --version "=$BINDGEN_VERSION"
fi

# Kernel Rust needs /usr/bin/rustc from rustc-web, which must report the pinned version.
if ! /usr/bin/rustc --version | grep -q "^rustc ${RUSTC_WEB_SERIES}"; then
	log "/usr/bin/rustc is $(/usr/bin/rustc --version), expected ${RUSTC_WEB_SERIES}"
	exit 1
fi
if ! /usr/bin/clippy-driver --rustc --version | grep -q "^rustc ${RUSTC_WEB_SERIES}"; then
	log "/usr/bin/clippy-driver is not built on rustc ${RUSTC_WEB_SERIES} (rust-web-clippy)"
	exit 1
fi
info "ok"
