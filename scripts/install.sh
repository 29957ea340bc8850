#!/usr/bin/env bash
# make install / make uninstall: the file set of the Debian packages, for systems
# without dpkg (and the Debian build itself installs through this script, so the
# two cannot drift apart).
#
# Usage: scripts/install.sh install|uninstall|list [tools|dkms|all]
#
#   install    copy the files (tools: release build in $CARGO_TARGET_DIR, run
#              `make tools` first; man page and completions are generated from it)
#   uninstall  remove exactly those files, then the directories only milspec uses
#              (/etc/milspec, the DKMS source tree, the doc directory) when empty
#   list       print the installed paths (with DESTDIR), one a line
#
# Variables (environment, or make's command line), with their defaults:
#   DESTDIR=            staging root, prefixed to every path below
#   PREFIX=/usr   SBINDIR=$PREFIX/sbin   MANDIR=$PREFIX/share/man
#   SYSCONFDIR=/etc   SYSTEMDUNITDIR=/lib/systemd/system
#   TMPFILESDIR=$PREFIX/lib/tmpfiles.d   SRCDIR=/usr/src (DKMS source tree; dkms looks there)
#   DOCDIR=$PREFIX/share/doc/milspec
#   BASHCOMPDIR=$PREFIX/share/bash-completion/completions
#   ZSHCOMPDIR=$PREFIX/share/zsh/site-functions (Debian: .../zsh/vendor-completions)
#   FISHCOMPDIR=$PREFIX/share/fish/vendor_completions.d
#   CARGO_TARGET_DIR=target (relative to the repository)
#
# Configuration files (/etc/milspec/policy.toml, /etc/modprobe.d/milspec.conf) are
# never overwritten: an existing file that differs from the shipped one is kept.
# uninstall removes them only if they are unchanged. State (/var/lib/milspec,
# /var/log/milspec, /run/milspec) is created at run time (tmpfiles.d, milspecctl)
# and never touched by this script.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

action=${1:-}
part=${2:-all}
case "$action" in install|uninstall|list) ;; *)
	sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 64 ;;
esac
case "$part" in tools|dkms|all) ;; *) echo "install.sh: part must be tools, dkms or all" >&2; exit 64 ;; esac

DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/usr}
SBINDIR=${SBINDIR:-$PREFIX/sbin}
MANDIR=${MANDIR:-$PREFIX/share/man}
SYSCONFDIR=${SYSCONFDIR:-/etc}
SYSTEMDUNITDIR=${SYSTEMDUNITDIR:-/lib/systemd/system}
TMPFILESDIR=${TMPFILESDIR:-$PREFIX/lib/tmpfiles.d}
SRCDIR=${SRCDIR:-/usr/src}
DOCDIR=${DOCDIR:-$PREFIX/share/doc/milspec}
BASHCOMPDIR=${BASHCOMPDIR:-$PREFIX/share/bash-completion/completions}
ZSHCOMPDIR=${ZSHCOMPDIR:-$PREFIX/share/zsh/site-functions}
FISHCOMPDIR=${FISHCOMPDIR:-$PREFIX/share/fish/vendor_completions.d}
CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
case "$CARGO_TARGET_DIR" in /*) ;; *) CARGO_TARGET_DIR=$root/$CARGO_TARGET_DIR ;; esac
bin=$CARGO_TARGET_DIR/release

# The DKMS tree is /usr/src/<PACKAGE_NAME>-<PACKAGE_VERSION>, as dkms expects.
conf_value() { sed -n -E "s/^$1=\"?([^\"]*)\"?\$/\\1/p" dkms.conf | head -n 1; }
dkms_name=$(conf_value PACKAGE_NAME)
dkms_version=$(conf_value PACKAGE_VERSION)
[ -n "$dkms_name" ] && [ -n "$dkms_version" ] || { echo "install.sh: dkms.conf lacks PACKAGE_NAME/VERSION" >&2; exit 1; }
dkms_tree=$SRCDIR/$dkms_name-$dkms_version

# Entries: "MODE SOURCE DEST" (SOURCE relative to the repository, or gen:NAME for a
# generated file, or conf:FILE for a configuration file).
entries=()
add() { entries+=("$1 $2 $3"); }

if [ "$part" != dkms ]; then
	add 0755 gen:milspecctl "$SBINDIR/milspecctl"
	add 0755 gen:milspecd "$SBINDIR/milspecd"
	add 0644 gen:milspecctl.8.gz "$MANDIR/man8/milspecctl.8.gz"
	add 0644 gen:milspecd.8.gz "$MANDIR/man8/milspecd.8.gz"
	add 0644 gen:bash "$BASHCOMPDIR/milspecctl"
	add 0644 gen:zsh "$ZSHCOMPDIR/_milspecctl"
	add 0644 gen:fish "$FISHCOMPDIR/milspecctl.fish"
	add 0644 gen:milspecd.service "$SYSTEMDUNITDIR/milspecd.service"
	add 0644 packaging/systemd/milspec-ima-policy.service "$SYSTEMDUNITDIR/milspec-ima-policy.service"
	add 0644 conf:packaging/ima/milspec.policy "$SYSCONFDIR/milspec/ima-policy"
	add 0644 packaging/tmpfiles.d/milspec.conf "$TMPFILESDIR/milspec.conf"
	add 0644 conf:packaging/policy.toml "$SYSCONFDIR/milspec/policy.toml"
	add 0644 conf:packaging/modprobe.d/milspec.conf "$SYSCONFDIR/modprobe.d/milspec.conf"
	add 0644 README.md "$DOCDIR/README.md"
	for f in docs/*.md; do add 0644 "$f" "$DOCDIR/$f"; done
fi
if [ "$part" != tools ]; then
	# What a DKMS build needs (scripts/dkms-source.sh owns that list: Makefile for
	# `make dkms-build`, Kbuild, kmod/, abi/src/uapi/ and smbios/src/dell.rs in
	# their relative #[path] layout, scripts/dkms-make.sh), plus the C header.
	mapfile -t dkms_files < <(scripts/dkms-source.sh --list)
	dkms_files+=(include/uapi/linux/dell_milspec.h)
	for f in "${dkms_files[@]}"; do
		mode=0644
		[ -x "$f" ] && mode=0755
		add "$mode" "$f" "$dkms_tree/$f"
	done
fi

case "$action" in
list)
	for e in "${entries[@]}"; do echo "$DESTDIR${e##* }"; done
	exit 0
	;;
install)
	gen=
	if [ "$part" != dkms ]; then
		for b in milspecctl milspecd; do
			[ -x "$bin/$b" ] || { echo "install.sh: $bin/$b missing: run 'make tools' first" >&2; exit 1; }
		done
		gen=$(mktemp -d)
		trap 'rm -rf "$gen"' EXIT
		cp "$bin/milspecctl" "$bin/milspecd" "$gen/"
		"$bin/milspecctl" man | gzip -9n >"$gen/milspecctl.8.gz"
		gzip -9n <packaging/man/milspecd.8 >"$gen/milspecd.8.gz"
		for sh in bash zsh fish; do "$bin/milspecctl" completions "$sh" >"$gen/$sh"; done
		# The unit names the binary and the policy: follow SBINDIR and SYSCONFDIR.
		sed -e "s|/usr/sbin/milspecd|$SBINDIR/milspecd|g" -e "s|/etc/milspec/|$SYSCONFDIR/milspec/|g" \
			packaging/systemd/milspecd.service >"$gen/milspecd.service"
	fi
	for e in "${entries[@]}"; do
		read -r mode src dest <<<"$e"
		case "$src" in
		gen:*) src=$gen/${src#gen:} ;;
		conf:*)
			src=${src#conf:}
			if [ -e "$DESTDIR$dest" ] && ! cmp -s "$src" "$DESTDIR$dest"; then
				echo "kept $DESTDIR$dest (changed locally; the shipped version is $root/$src)"
				continue
			fi
			;;
		esac
		install -D -m "$mode" "$src" "$DESTDIR$dest"
	done
	if [ "$part" != dkms ] && [ -z "$DESTDIR" ]; then
		echo "installed; next: systemd-tmpfiles --create milspec.conf; systemctl daemon-reload"
	fi
	if [ "$part" != tools ] && [ -z "$DESTDIR" ]; then
		echo "DKMS source in $dkms_tree; next: dkms install $dkms_name/$dkms_version"
	fi
	;;
uninstall)
	for e in "${entries[@]}"; do
		read -r mode src dest <<<"$e"
		case "$src" in
		conf:*)
			src=${src#conf:}
			if [ -e "$DESTDIR$dest" ] && ! cmp -s "$src" "$DESTDIR$dest"; then
				echo "kept $DESTDIR$dest (changed locally)"
				continue
			fi
			;;
		esac
		rm -f "$DESTDIR$dest"
	done
	# Directories that only milspec uses, deepest first, when empty.
	prune=()
	[ "$part" = dkms ] || prune+=("$SYSCONFDIR/milspec" "$DOCDIR/docs" "$DOCDIR")
	if [ "$part" != tools ]; then
		while read -r d; do prune+=("$d"); done < <(
			for f in "${dkms_files[@]}"; do
				d=$(dirname "$f")
				while [ "$d" != . ]; do echo "$dkms_tree/$d"; d=$(dirname "$d"); done
			done | sort -u -r)
		prune+=("$dkms_tree")
	fi
	for d in "${prune[@]}"; do
		[ ! -d "$DESTDIR$d" ] || rmdir --ignore-fail-on-non-empty "$DESTDIR$d"
	done
	;;
esac
