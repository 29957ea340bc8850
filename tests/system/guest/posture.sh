# Measured posture on the full system (sourced by system.sh; bash). The VM has a
# software TPM with SHA-1 and SHA-256 banks (tests/system/run --tpm crb) and the
# image has tpm2-tools (milspec-tools recommends it). What the initramfs tier
# (tests/attest/suite) cannot show: the packaged IMA rule, loaded by
# milspec-ima-policy.service when dpkg installs the package, makes the module's
# posture measured on a Debian system with systemd, and milspecctl attest replays
# and quotes it there.

# posture_after_install: the unit the package started put our rule into IMA's policy.
posture_after_install() {
	local unit=milspec-ima-policy.service
	if [ ! -c /dev/tpm0 ]; then
		tap_fail "a TPM in this VM (tests/system/run --tpm)" "no /dev/tpm0"
		return
	fi
	if [ "$(systemctl show -P ActiveState $unit)/$(systemctl show -P Result $unit)" = active/success ]; then
		tap_pass "$unit ran when dpkg installed the package (active, Result=success)"
	else
		tap_fail "$unit ran when dpkg installed the package" \
			"$(systemctl show -P ActiveState $unit)/$(systemctl show -P Result $unit)"
	fi
	if grep -q 'func=CRITICAL_DATA.*label=milspec' /sys/kernel/security/ima/policy 2>/dev/null; then
		tap_pass "IMA policy holds the packaged rule (label=milspec, from /etc/milspec/ima-policy)"
	else
		tap_fail "IMA policy holds the packaged rule" "$(grep -c . /sys/kernel/security/ima/policy 2>&1) rules, none for milspec"
	fi
}

# posture_after_load: the module measures, the log replays in both banks, a quote is made.
posture_after_load() {
	local out rc t0
	t_out "status: tpm_measurement measured" '^tpm_measurement: measured$' cat /proc/milspec/status
	t_out "status: feature_tpm_measurement real" '^feature_tpm_measurement: real$' cat /proc/milspec/status
	t "level enhanced (a measured change)" milspecctl level enhanced
	t0=$(cut -d' ' -f1 /proc/uptime)
	out=$(milspecctl --json attest --min-level enhanced 2>&1)
	rc=$?
	info "attest took $(awk -v a="$t0" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN { printf "%.2f", b - a }') s"
	if [ $rc -eq 0 ] && echo "$out" | grep -qE '"bank":"sha1","matches":true' &&
		echo "$out" | grep -qE '"bank":"sha256","matches":true'; then
		tap_pass "milspecctl attest: IMA's log replays to PCR 10 in both banks, level >= enhanced"
	else
		tap_fail "milspecctl attest: replay in both banks" "exit $rc: $(echo "$out" | cut -c1-300)"
	fi
	t_out "attest: the history has the load and the change to enhanced" \
		'"level":"enhanced"[^}]*"reason":"level"' echo "$out"
	t0=$(cut -d' ' -f1 /proc/uptime)
	if out=$(milspecctl attest --quote --nonce 5eed5eed --out /tmp/bundle.json 2>&1) &&
		grep -q '"quote"' /tmp/bundle.json; then
		tap_pass "milspecctl attest --quote with Debian's tpm2-tools: bundle written ($(awk -v a="$t0" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN { printf "%.1f", b - a }') s, AK made on first use)"
	else
		tap_fail "milspecctl attest --quote with Debian's tpm2-tools" "$(lastlines "$out" 5)"
	fi
}
