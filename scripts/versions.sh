# Pinned versions and cache locations, sourced by every build script.
# Changing any of these changes the kernel cache key, so the kernel is rebuilt.

# Debian bookworm main (not -security), so the pin does not vanish with a point release.
RUSTC_WEB_VERSION=1.85.0+dfsg3-1~deb12u3
RUSTC_WEB_SERIES=1.85
BINDGEN_VERSION=0.69.5

MILSPEC_CACHE=${MILSPEC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/milspec}
BINDGEN=$MILSPEC_CACHE/tools/bin/bindgen
KERNEL_SOURCE_TARBALL=/usr/src/linux-source-6.12.tar.xz

# Fleet rollout (scripts/ansible-deps.sh): the controller's Python venv. ansible-core
# 2.18 is the newest series whose controller runs on Debian 12's Python 3.11 and
# still gets fixes; ansible-lint and pytest check the collection.
ANSIBLE_CORE_VERSION=2.18.12
ANSIBLE_LINT_VERSION=25.9.2
PYTEST_VERSION=8.3.5
FLEET_VENV=$MILSPEC_CACHE/fleet-venv-$ANSIBLE_CORE_VERSION-$ANSIBLE_LINT_VERSION
