#!/usr/bin/env bash
# Makes (once) the signing keys of the signature-enforcement tests, in the cache:
#
#   dkms-mok.key, dkms-mok.pem, dkms-mok.der
#       The test fleet's "Machine Owner Key", in the form Debian's DKMS reads
#       (mok_signing_key = private key, mok_certificate = DER certificate).
#       scripts/kernel.sh builds its certificate into every reference kernel
#       (CONFIG_SYSTEM_TRUSTED_KEYS), the test stand-in for a MOK enrolled with
#       mokutil, which shim hands to the kernel's platform/machine keyring.
#   untrusted.key, untrusted.pem
#       A key no test kernel trusts: modules signed with it must be refused.
#
# Usage: scripts/test-keys.sh [--print-dir]   (prints the directory)
# RSA-2048 certificates signed with SHA-512, like the kernel's own build key, so
# the kernel can check them with the hash it already has for module signatures.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/versions.sh"
dir=$MILSPEC_CACHE/keys
[ "${1:-}" = --print-dir ] && { echo "$dir"; exit 0; }
mkdir -p "$dir"
exec 9>"$dir/.lock"
flock 9

# make_key NAME CN: a self-signed signing certificate (no CA, code signing only).
make_key() {
	local name=$1 cn=$2
	[ -s "$dir/$name.pem" ] && [ -s "$dir/$name.key" ] && return 0
	openssl req -new -x509 -nodes -newkey rsa:2048 -sha512 -days 36500 \
		-subj "/O=milspec tests/CN=$cn" \
		-addext basicConstraints=critical,CA:FALSE \
		-addext keyUsage=digitalSignature \
		-addext extendedKeyUsage=codeSigning \
		-keyout "$dir/$name.key.tmp" -out "$dir/$name.pem.tmp" 2>/dev/null
	chmod 600 "$dir/$name.key.tmp"
	mv "$dir/$name.key.tmp" "$dir/$name.key"
	mv "$dir/$name.pem.tmp" "$dir/$name.pem"
}
make_key dkms-mok "milspec test DKMS MOK"
make_key untrusted "milspec untrusted test key"
[ -s "$dir/dkms-mok.der" ] || openssl x509 -in "$dir/dkms-mok.pem" -outform DER -out "$dir/dkms-mok.der"
echo "$dir"
