#!/bin/sh
# Suite for milspecd's rollback action against the real module and store (boot
# with --no-load): a deployment the policy does not allow is undone by the
# daemon, through the same transaction as `milspecctl rollback`, right after
# the milspecctl that deployed it lets go of the store lock.
# shellcheck source=tests/vm/guest/lib.sh
. /tests/lib.sh
D=/tmp/d
V=/lib/milspec/versions
mkdir -p $D/prom /etc/milspec

cat >/etc/milspec/policy.toml <<EOF
[level]
minimum = "standard"

[modules]
allowed_versions = ["1.0.0"]

[actions]
module_not_allowed = ["log", "rollback"]

[health]
file = "$D/health.json"
refresh = "0s"

[metrics]
textfile_dir = "$D/prom"
EOF
t "milspecd --check-config accepts the rollback policy" milspecd --check-config /etc/milspec/policy.toml
for v in 1.0.0 1.0.1; do
	t "install $v" milspecctl install "$V/$v.ko"
done
t "deploy 1.0.0 (allowed)" milspecctl load 1.0.0

MILSPECD_LOG=debug milspecd --runtime-dir $D/run >$D/log 2>&1 &
PID=$!
t_wait "the daemon connects to 1.0.0" grep -q 'connected to dell_milspec 1.0.0' $D/log
# CAP_SYS_MODULE (bit 16) for finit_module/delete_module, CAP_SYS_ADMIN (bit 21).
t_wait "it keeps CAP_SYS_MODULE and CAP_SYS_ADMIN for the rollback action" \
	grep -qE '^CapEff:[[:space:]]+0000000000210000$' /proc/$PID/status

t "deploy 1.0.1, which the policy does not allow" milspecctl load 1.0.1
t_wait "the daemon reports the violation" grep -q 'policy violation: module version 1.0.1 is not in modules.allowed_versions' $D/log
t_wait "the daemon rolls back to 1.0.0" grep -qx 'module_version: 1.0.0' /proc/milspec/status
t_wait "it logged the rollback" grep -q 'rollback: 1.0.1 -> 1.0.0' $D/log
t_wait "metrics: rollback ok" grep -q 'milspec_actions_total{action="rollback",result="ok"} 1' $D/prom/milspec.prom
t_wait "the daemon reconnects to 1.0.0" sh -c "[ \$(grep -c 'connected to dell_milspec 1.0.0' $D/log) -ge 2 ]"
t_out "the audit log has the daemon's rollback after the load" \
	'"to":"1.0.1"\}.*"action":"rollback","component_versions":\{"from":"1.0.1","to":"1.0.0"\}' \
	sh -c 'milspecctl --json history | tr -d "\n"'
t_out "state.json: 1.0.0 current, 1.0.1 previous" '"current": "1.0.0",.*"previous": "1.0.1"' \
	sh -c 'tr -d "\n" </var/lib/milspec/state.json'
t_rc "verify passes for 1.0.0" 0 milspecctl verify
t_out "the audit chain is intact" '"intact":true' milspecctl --json audit verify
t "the daemon is still running" kill -0 $PID
t_out "no rollback failed" '^0$' sh -c "grep -c 'rollback failed' $D/log"

kill -TERM $PID
rc=0
wait $PID || rc=$?
[ $rc -eq 0 ] && tap_pass "SIGTERM: clean exit (0)" || tap_fail "SIGTERM: clean exit" "exit $rc"
finish
