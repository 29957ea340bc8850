#!/bin/sh
# Measured posture (tests/attest/suite boots this with --no-load). Argument:
#   tpm     the VM has a software TPM with SHA-1 and SHA-256 banks, and tpm2-tools
#           with their libraries were added: IMA policy loaded, module loaded,
#           level and allowlist changed, the log replayed in both banks, a quote
#           made; the bundle is printed between BUNDLE-BEGIN/BUNDLE-END lines
#           for the host to verify (NONCE from the environment file /nonce).
#   notpm   no TPM: the module still loads and says unsupported.
# shellcheck source=tests/vm/guest/lib.sh
. /tests/lib.sh
SEC=/sys/kernel/security
# tpm2-tools: the kernel's resource manager, no tpm2-abrmd
export TPM2TOOLS_TCTI=device:/dev/tpmrm0
# tpm2-tools and its libraries were added without an ld.so.cache
export LD_LIBRARY_PATH=/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu
status() { cat /proc/milspec/status; }
key() { sed -n "s/^$1: //p" /proc/milspec/status; }

mount -t securityfs securityfs $SEC 2>/dev/null

if [ "${1:-}" = notpm ]; then
	t "no TPM in this VM" test ! -e /dev/tpm0
	t "IMA policy rule for label milspec loads" sh -c "echo 'measure func=CRITICAL_DATA label=milspec template=ima-buf' >$SEC/ima/policy"
	t "the module loads without a TPM" insmod "$KO"
	t_out "status: tpm_measurement no-tpm (IMA logs, nothing is extended)" '^tpm_measurement: no-tpm$' status
	t_out "status: feature_tpm_measurement unsupported" '^feature_tpm_measurement: unsupported$' status
	t_out "IMA's log still has the load entry" 'milspec-posture' cat $SEC/ima/ascii_runtime_measurements
	t_rc "milspecctl attest: attest_unavailable (exit 20)" 20 milspecctl attest
	t "level changes work as before" milspecctl level enhanced
	t "unload works as before" milspecctl unload
	finish
fi

t "TPM chip /dev/tpm0 and /dev/tpmrm0" test -c /dev/tpm0 -a -c /dev/tpmrm0
t "sysfs has both PCR banks" test -r /sys/class/tpm/tpm0/pcr-sha1/10 -a -r /sys/class/tpm/tpm0/pcr-sha256/10
# In TPM-bypass mode the boot aggregate is all zeros.
t_out "IMA bound the TPM at boot (non-zero boot_aggregate)" '^10 [0-9a-f]{40} ima-ng sha256:0*[1-9a-f][0-9a-f]* boot_aggregate' cat $SEC/ima/ascii_runtime_measurements

# Before the policy rule: the module loads and says why nothing is measured.
t "the module loads before the IMA rule exists" insmod "$KO"
t_out "status: tpm_measurement no-policy" '^tpm_measurement: no-policy$' status
t_out "status: feature_tpm_measurement unsupported without the rule" '^feature_tpm_measurement: unsupported$' status
t "unload" milspecctl unload

t "IMA policy rule for label milspec loads" sh -c "echo 'measure func=CRITICAL_DATA label=milspec template=ima-buf' >$SEC/ima/policy"
t "the module loads (level standard)" insmod "$KO"
t_out "status: tpm_measurement measured" '^tpm_measurement: measured$' status
t_out "status: feature_tpm_measurement real" '^feature_tpm_measurement: real$' status
# A -> B -> A gives three entries (seq keeps IMA from skipping the repeat).
t "level enhanced" milspecctl level enhanced
t "level standard" milspecctl level standard
t "level enhanced again" milspecctl level enhanced
t "allowlist set" milspecctl allowlist set dell_milspec e1000e
t "level paranoid (locks)" milspecctl level paranoid
t_out "status: tpm_measurement_seq 5 after load + 5 changes" '^tpm_measurement_seq: 5$' status
t_out "status: tpm_measurement_failures 0" '^tpm_measurement_failures: 0$' status
n=$(grep -c ' milspec-posture ' $SEC/ima/ascii_runtime_measurements)
# 6 of this load, 1 of the first load (no-policy made none)
if [ "$n" -eq 6 ]; then tap_pass "IMA's log holds 6 posture entries"; else
	tap_fail "IMA's log holds 6 posture entries" "$n"; fi

allow=$(milspecctl attest allowlist-digest dell_milspec e1000e)
out=$(milspecctl --json attest --min-level paranoid --allowlist "$allow" --module-version 0.1.0 2>&1)
rc=$?
echo "$out" | sed 's/^/# attest: /' | cut -c1-400
if [ $rc -eq 0 ]; then tap_pass "milspecctl attest: replay matches both banks, policy satisfied"; else
	tap_fail "milspecctl attest: replay matches both banks, policy satisfied" "exit $rc"; fi
# (serde_json writes object keys sorted)
t_out "attest: SHA-1 bank matches" '"bank":"sha1","matches":true,"pcr":"[0-9a-f]{40}"' echo "$out"
t_out "attest: SHA-256 bank matches" '"bank":"sha256","matches":true,"pcr":"[0-9a-f]{64}"' echo "$out"
t_out "attest: history ends at seq 5, paranoid, locked" '"level":"paranoid","level_value":3,"locked":true,"log_index":[0-9]+,"module_version":"0.1.0","reason":"level","seq":5\}\]' echo "$out"
t_out "attest: history shows enhanced -> standard -> enhanced" '"level":"enhanced"[^}]*"seq":1\}.*"level":"standard"[^}]*"seq":2\}.*"level":"enhanced"[^}]*"seq":3\}' echo "$out"
t_rc "attest --min-level paranoid_plus: attest_policy (exit 26)" 26 milspecctl attest --min-level paranoid_plus
milspecctl attest | sed 's/^/# /'

start=$(cut -d' ' -f1 /proc/uptime)
t "attest --quote --nonce" milspecctl attest --quote --nonce "$(cat /nonce)" --out /tmp/bundle.json
end=$(cut -d' ' -f1 /proc/uptime)
echo "# quote (AK created and persisted on first use) took $(echo "$start $end" | awk '{printf "%.2f", $2 - $1}') s"
start=$(cut -d' ' -f1 /proc/uptime)
t "a second quote reuses the persistent AK" milspecctl attest --quote --nonce "$(cat /nonce)" --out /tmp/bundle2.json
end=$(cut -d' ' -f1 /proc/uptime)
echo "# quote with the persisted AK took $(echo "$start $end" | awk '{printf "%.2f", $2 - $1}') s"
echo BUNDLE-BEGIN
cat /tmp/bundle.json
echo
echo BUNDLE-END
finish
