#!/usr/bin/env bash
# Host check of the Debian packages (make deb) and of make install/uninstall.
# Prints TAP-style lines; exit status 1 if any failed. Installs nothing on this
# machine (the packages are installed and purged in the systemd VM tier).
#
#   tests/host/deb.sh [--no-build]   (--no-build: use the .debs in target/deb/)
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 1
. scripts/versions.sh
# shellcheck source=tests/lib/tap.sh
. tests/lib/tap.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# fail NAME [DETAIL...]: a not ok line, each DETAIL's lines below it.
fail() { tap_fail "$1"; shift; tap_note "$@"; }
# same NAME GOT WANT: compares two (multi-line) strings
same() {
	if [ "$2" = "$3" ]; then tap_pass "$1"; else
		fail "$1" "(< expected, > got)" "$(diff <(printf '%s\n' "$3") <(printf '%s\n' "$2") | sed -n '1,40p')"
	fi
}

version=$(dpkg-parsechangelog -S Version)
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
out=$root/target/deb
dkms_deb=$out/milspec-dkms_${version}_all.deb
tools_deb=$out/milspec-tools_${version}_${arch}.deb
changes=$out/milspec_${version}_${arch}.changes

if [ "${1:-}" != --no-build ]; then
	started=$(date +%s)
	if scripts/deb.sh >"$tmp/deb.log" 2>&1; then
		tap_pass "deb: milspec-dkms and milspec-tools build with dpkg-buildpackage ($(( $(date +%s) - started )) s)"
	else
		fail "deb: packages build (scripts/deb.sh)" "$(tail -n 30 "$tmp/deb.log")"
		exit 1
	fi
fi
for f in "$dkms_deb" "$tools_deb" "$changes"; do
	[ -f "$f" ] || { fail "deb: $f exists"; exit 1; }
done

# --- one version everywhere ---------------------------------------------------
cargo_version=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' Cargo.toml)
dkms_version=$(sed -n -E 's/^PACKAGE_VERSION="?([^"]*)"?$/\1/p' dkms.conf)
same "deb: debian/changelog, Cargo.toml and dkms.conf agree on the version" \
	"$version $dkms_version" "$cargo_version $cargo_version"

# --- lintian ------------------------------------------------------------------
lintian --pedantic -I -E --fail-on none "$changes" 2>/dev/null |
	grep -v '^running with root privileges' >"$tmp/lintian" || true
bad=$(grep -E '^[EW]: ' "$tmp/lintian" || true)
if [ -z "$bad" ]; then tap_pass "deb: lintian --pedantic: no errors, no warnings"; else
	fail "deb: lintian --pedantic: no errors, no warnings" "$bad"
fi
unexplained=""
while read -r line; do
	[ -n "$line" ] || continue
	tag=$(echo "$line" | awk '{print $3}')
	if grep -q "^| \`$tag\` |" packaging/lintian-notes.md; then
		echo "# lintian, kept (see packaging/lintian-notes.md): $line"
	else
		unexplained+="$line"$'\n'
	fi
done < <(grep -vE '^[EW]: |^N: ' "$tmp/lintian")
if [ -z "$unexplained" ]; then tap_pass "deb: every remaining lintian tag is explained in packaging/lintian-notes.md"; else
	fail "deb: every remaining lintian tag is explained in packaging/lintian-notes.md" "$unexplained"
fi

# --- contents -----------------------------------------------------------------
# "mode path" of every regular file (dpkg-deb -c), and of the directories we name.
files_of() { dpkg-deb -c "$1" | awk '$1 ~ /^-/ {sub(/^\.\//, "", $6); print $1, "/" $6}' | sort; }
files_of "$tools_deb" >"$tmp/tools.files"
files_of "$dkms_deb" >"$tmp/dkms.files"

same "deb: milspec-tools ships exactly the expected files and modes" "$(cat "$tmp/tools.files")" \
	"$(sort <<EOF
-rw-r--r-- /etc/milspec/ima-policy
-rw-r--r-- /etc/milspec/policy.toml
-rw-r--r-- /etc/modprobe.d/milspec.conf
-rw-r--r-- /lib/systemd/system/milspec-ima-policy.service
-rw-r--r-- /lib/systemd/system/milspecd.service
-rw-r--r-- /usr/lib/tmpfiles.d/milspec.conf
-rwxr-xr-x /usr/sbin/milspecctl
-rwxr-xr-x /usr/sbin/milspecd
-rw-r--r-- /usr/share/bash-completion/completions/milspecctl
-rw-r--r-- /usr/share/zsh/vendor-completions/_milspecctl
-rw-r--r-- /usr/share/fish/vendor_completions.d/milspecctl.fish
-rw-r--r-- /usr/share/man/man8/milspecctl.8.gz
-rw-r--r-- /usr/share/man/man8/milspecd.8.gz
-rw-r--r-- /usr/share/doc/milspec-tools/copyright
-rw-r--r-- /usr/share/doc/milspec-tools/changelog.gz
$(for f in README.md docs/*.md; do
	g=$f; [ "$(stat -c %s "$f")" -lt 4096 ] || g=$f.gz  # dh_compress: docs over 4 kB
	echo "-rw-r--r-- /usr/share/doc/milspec-tools/$g"; done)
EOF
)"

# The DKMS tree: scripts/dkms-source.sh's list (Makefile, Kbuild, dkms.conf, kmod/,
# the two files the module includes by #[path], scripts/dkms-make.sh) and the C header.
dkms_src=/usr/src/milspec-$version
same "deb: milspec-dkms ships the module source tree in $dkms_src" "$(cat "$tmp/dkms.files")" \
	"$(sort <<EOF
-rw-r--r-- /usr/share/doc/milspec-dkms/copyright
-rw-r--r-- /usr/share/doc/milspec-dkms/changelog.gz
$(for f in include/uapi/linux/dell_milspec.h $(scripts/dkms-source.sh --list); do
	[ -f "$f" ] || continue
	m=-rw-r--r--; [ -x "$f" ] && m=-rwxr-xr-x
	echo "$m $dkms_src/$f"; done | sort -u)
EOF
)"

same "deb: conffiles are policy.toml, ima-policy and modprobe.d/milspec.conf" \
	"$(dpkg-deb --ctrl-tarfile "$tools_deb" | tar -xOf - ./conffiles | sort)" \
	"$(printf '%s\n' /etc/milspec/ima-policy /etc/milspec/policy.toml /etc/modprobe.d/milspec.conf)"
same "deb: milspec-dkms has no conffiles" \
	"$(dpkg-deb --ctrl-tarfile "$dkms_deb" | tar -tf - | grep -c conffiles)" "0"

field() { dpkg-deb -f "$1" "$2"; }
case "$(field "$dkms_deb" Depends)" in
*"dkms (>="*) tap_pass "deb: milspec-dkms depends on dkms" ;;
*) fail "deb: milspec-dkms depends on dkms" "$(field "$dkms_deb" Depends)" ;;
esac
case "$(field "$tools_deb" Depends)" in
*kmod*) tap_pass "deb: milspec-tools depends on kmod (depmod for placed modules)" ;;
*) fail "deb: milspec-tools depends on kmod" "$(field "$tools_deb" Depends)" ;;
esac
same "deb: architectures" "$(field "$dkms_deb" Architecture) $(field "$tools_deb" Architecture)" "all $arch"

# --- maintainer scripts -------------------------------------------------------
mkdir -p "$tmp/ctl-tools" "$tmp/ctl-dkms"
dpkg-deb -e "$tools_deb" "$tmp/ctl-tools"
dpkg-deb -e "$dkms_deb" "$tmp/ctl-dkms"
post=$tmp/ctl-tools/postinst
tmpl=$(grep -n 'systemd-tmpfiles .*--create milspec.conf' "$post" | cut -d: -f1 | head -n 1)
# dh_installsystemd starts both units of the package in one call.
start=$(grep -n "deb-systemd-invoke \$_dh_action 'milspec-ima-policy.service' 'milspecd.service'" "$post" | cut -d: -f1 | head -n 1)
if [ -n "$tmpl" ] && [ -n "$start" ] && [ "$tmpl" -lt "$start" ] &&
	grep -q "deb-systemd-helper enable 'milspecd.service'" "$post" &&
	grep -q "deb-systemd-helper enable 'milspec-ima-policy.service'" "$post"; then
	tap_pass "deb: postinst creates the tmpfiles.d directories, then enables and starts milspec-ima-policy and milspecd"
else
	fail "deb: postinst creates the tmpfiles.d directories, then enables and starts milspec-ima-policy and milspecd" "$(cat "$post")"
fi
if grep -q "deb-systemd-invoke stop 'milspec-ima-policy.service' 'milspecd.service'" "$tmp/ctl-tools/prerm"; then
	tap_pass "deb: prerm stops milspecd"; else fail "deb: prerm stops milspecd"; fi
if grep -q '^DKMS_NAME=milspec$' "$tmp/ctl-dkms/postinst" &&
	grep -q "^DKMS_VERSION=$version\$" "$tmp/ctl-dkms/postinst" &&
	grep -q 'dkms remove -m $DKMS_NAME -v $DKMS_VERSION --all' "$tmp/ctl-dkms/prerm"; then
	tap_pass "deb: milspec-dkms postinst builds with DKMS, prerm removes the DKMS builds"
else
	fail "deb: milspec-dkms postinst/prerm (dh_dkms)" "$(cat "$tmp/ctl-dkms/postinst" "$tmp/ctl-dkms/prerm")"
fi
own=$(sed -n '/^#DEBHELPER#/q;p' debian/milspec-tools.postrm)
if [ "$(head -c ${#own} "$tmp/ctl-tools/postrm")" = "$own" ]; then
	tap_pass "deb: the packaged postrm is debian/milspec-tools.postrm plus debhelper's part"
else
	fail "deb: the packaged postrm is debian/milspec-tools.postrm plus debhelper's part"
fi

# postrm purge in a fake root (DPKG_ROOT): state, logs, runtime files and the
# copies milspecctl placed go; a file milspecctl did not place stays.
fr=$tmp/root
mkdir -p "$fr/var/lib/milspec/versions/1.0.0" "$fr/var/log/milspec" "$fr/run/milspec" \
	"$fr/lib/modules/6.12.0-a/updates" "$fr/lib/modules/6.12.0-b/updates/dkms"
echo deployed >"$fr/var/lib/milspec/versions/1.0.0/dell_milspec.ko"
echo deployed >"$fr/lib/modules/6.12.0-a/updates/dell_milspec.ko"
echo not-ours >"$fr/lib/modules/6.12.0-b/updates/dell_milspec.ko"
echo dkms >"$fr/lib/modules/6.12.0-b/updates/dkms/dell_milspec.ko"
echo '{}' >"$fr/var/log/milspec/audit.jsonl"
echo '{}' >"$fr/run/milspec/health.json"
DPKG_ROOT=$fr sh debian/milspec-tools.postrm remove 2>>"$tmp/postrm.log"
same "deb: postrm remove keeps the store, the audit log and placed modules" \
	"$(cd "$fr" && find var run lib -type f | sort)" \
	"$(printf '%s\n' lib/modules/6.12.0-a/updates/dell_milspec.ko lib/modules/6.12.0-b/updates/dell_milspec.ko \
		lib/modules/6.12.0-b/updates/dkms/dell_milspec.ko run/milspec/health.json \
		var/lib/milspec/versions/1.0.0/dell_milspec.ko var/log/milspec/audit.jsonl)"
DPKG_ROOT=$fr sh debian/milspec-tools.postrm purge 2>>"$tmp/postrm.log"
same "deb: postrm purge removes /var/lib/milspec, /var/log/milspec, /run/milspec and placed copies" \
	"$(cd "$fr" && find var run lib \( -type f -o -type d \) -name '*milspec*' | sort)" \
	"$(printf '%s\n' lib/modules/6.12.0-b/updates/dell_milspec.ko lib/modules/6.12.0-b/updates/dkms/dell_milspec.ko)"

# --- the files themselves -----------------------------------------------------
x=$tmp/x
mkdir -p "$x"
dpkg-deb -x "$tools_deb" "$x"
dpkg-deb -x "$dkms_deb" "$x"
same "deb: tmpfiles.d: /run/milspec 0755, /var/lib/milspec and /var/log/milspec 0700, root" \
	"$(grep -v '^#' "$x/usr/lib/tmpfiles.d/milspec.conf" | awk 'NF {print $1, $2, $3, $4, $5}')" \
	"$(printf '%s\n' 'd /run/milspec 0755 root root' 'd /var/lib/milspec 0700 root root' \
		'd /var/log/milspec 0700 root root')"
same "deb: man pages are section 8" \
	"$(zcat "$x/usr/share/man/man8/milspecctl.8.gz" | grep -c '^\.TH milspecctl 8 ') $(zcat "$x/usr/share/man/man8/milspecd.8.gz" | grep -c '^\.TH MILSPECD 8 ')" \
	"1 1"
if bash -n "$x/usr/share/bash-completion/completions/milspecctl" &&
	grep -q '#compdef milspecctl' "$x/usr/share/zsh/vendor-completions/_milspecctl" &&
	grep -q 'complete -c milspecctl' "$x/usr/share/fish/vendor_completions.d/milspecctl.fish"; then
	tap_pass "deb: bash, zsh and fish completions"
else
	fail "deb: bash, zsh and fish completions"
fi
unit=$x/lib/systemd/system/milspecd.service
exec_bin=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$unit")
if grep -qx 'Type=notify' "$unit" && [ -x "$x$exec_bin" ] && grep -q '^WatchdogSec=' "$unit"; then
	tap_pass "deb: milspecd.service is Type=notify with a watchdog, ExecStart=$exec_bin is in the package"
else
	fail "deb: milspecd.service (Type=notify, WatchdogSec, ExecStart in the package)" "$(cat "$unit")"
fi
if "$x/usr/sbin/milspecctl" --version | grep -qx "milspecctl $version" &&
	"$x/usr/sbin/milspecd" --version | grep -qx "milspecd $version"; then
	tap_pass "deb: packaged binaries run and report version $version"
else
	fail "deb: packaged binaries run and report version $version"
fi

# The DKMS source tree as packaged builds into dell_milspec.ko against the reference
# kernel with dkms.conf's own MAKE command (proves the file set is complete; DKMS
# itself is tested in tests/dkms/run).
kdir=$(scripts/kernel.sh --print-dir 2>/dev/null || true)
if [ -n "$kdir" ] && [ -f "$kdir/.milspec-built" ]; then
	if make -s -C "$x$dkms_src" KDIR="$kdir" dkms-build >"$tmp/kbuild.log" 2>&1 &&
		[ -f "$x$dkms_src/dell_milspec.ko" ]; then
		tap_pass "deb: the packaged DKMS tree builds dell_milspec.ko (reference kernel)"
	else
		fail "deb: the packaged DKMS tree builds dell_milspec.ko (reference kernel)" "$(tail -n 30 "$tmp/kbuild.log")"
	fi
else
	tap_pass "deb: the packaged DKMS tree builds dell_milspec.ko # SKIP reference kernel not built"
fi

# --- make install / make uninstall ---------------------------------------------
d=$tmp/destdir
mkdir -p "$d"
# make_ok TARGET: passes if "make TARGET DESTDIR=$d" succeeds, else shows its log.
make_ok() {
	if make -s "$1" DESTDIR="$d" >"$tmp/$1.log" 2>&1; then tap_pass "make $1 DESTDIR=..."; else
		fail "make $1 DESTDIR=..." "$(tail -n 30 "$tmp/$1.log")"; fi
}
make_ok install
# Same file set as the two packages (apart from Debian's doc files and directory
# names, and the docs dh_compress compressed).
same "make install: the packages' file set" \
	"$(cd "$d" && find . -type f | sed 's|^\.||; s|/share/doc/milspec/|/share/doc/PKG/|; s|/site-functions/|/vendor-completions/|' | sort)" \
	"$(cat "$tmp/tools.files" "$tmp/dkms.files" | awk '{print $2}' |
		grep -vE '/share/doc/milspec-(tools|dkms)/(copyright|changelog\.gz)$' |
		sed 's|/share/doc/milspec-tools/|/share/doc/PKG/|; s|\.md\.gz$|.md|' | sort)"
same "make install: modes (binaries 0755, the rest 0644)" \
	"$(cd "$d" && find . -type f -printf '%m\n' | sort | uniq -c | awk '{print $2": "$1}' | paste -sd' ')" \
	"$(cat "$tmp/tools.files" "$tmp/dkms.files" | grep -vE '/(copyright|changelog\.gz)$' |
		awk '{print ($1 == "-rwxr-xr-x") ? 755 : 644}' | sort | uniq -c | awk '{print $2": "$1}' | paste -sd' ')"

# A locally changed configuration file is neither overwritten nor removed.
echo '# local' >>"$d/etc/milspec/policy.toml"
make -s install DESTDIR="$d" >"$tmp/install2.log" 2>&1
make -s uninstall DESTDIR="$d" >"$tmp/uninstall.log" 2>&1
same "make install/uninstall keep a locally changed policy.toml" \
	"$(cd "$d" && find . -type f | sort) $(tail -n 1 "$d/etc/milspec/policy.toml")" "./etc/milspec/policy.toml # local"
rm "$d/etc/milspec/policy.toml"
make -s install DESTDIR="$d" >/dev/null 2>&1
make_ok uninstall
# Left behind: only the shared directories (which other software uses too), empty.
same "make uninstall: no file left, only empty shared directories" \
	"$(cd "$d" && find . -mindepth 1 \( -type d -empty -printf 'd %P\n' \) -o \( ! -type d -printf 'f %P\n' \) | sort)" \
	"$(sort <<'EOF'
d etc/modprobe.d
d lib/systemd/system
d usr/lib/tmpfiles.d
d usr/sbin
d usr/share/bash-completion/completions
d usr/share/fish/vendor_completions.d
d usr/share/man/man8
d usr/share/zsh/site-functions
d usr/share/doc
d usr/src
EOF
)"

tap_status
