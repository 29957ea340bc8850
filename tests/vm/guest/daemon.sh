#!/bin/sh
# Suite for milspecd against the real module (boot with --no-load). Destructive:
# ends with the level locked at paranoid. Prints the daemon's metrics as "#m "
# lines, which the host harness checks with promtool.
# Usage: daemon.sh [REFUSALS]: refused SET_LEVEL calls uid 1000 makes (100000).
# shellcheck source=tests/vm/guest/lib.sh
. /tests/lib.sh
D=/tmp/d
REFUSALS=${1:-100000}
mkdir -p $D/prom /etc/milspec
ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up

# The alert hook appends what it gets on stdin, plus its environment's verdict.
cat >$D/hook.sh <<'EOF'
#!/bin/sh
{ cat; echo "env=$MILSPEC_VIOLATION"; } >>/tmp/d/alerts
EOF
chmod 755 $D/hook.sh

policy() { # policy EXTRA_LEVEL_LINES [EXTRA_MODULES_LINES]
	cat >/etc/milspec/policy.toml <<EOF
[level]
minimum = "enhanced"
on_below = "raise"
$1

[modules]
allowlist = ["milspec_probe_ok"]
$2

[actions]
module_denied = ["log", "alert"]
events_lost = ["log", "alert"]
level_below_minimum = ["log"]
module_absent = ["log"]

[alert]
command = ["$D/hook.sh"]
timeout = "5s"

[health]
file = "$D/health.json"
refresh = "0s"

[metrics]
textfile_dir = "$D/prom"
listen_port = 9477
EOF
}

prom() { cat $D/prom/milspec.prom; }
# shellcheck disable=SC2317 # called through the check helpers
level_is() { grep -qx "security_level: $1 ([0-9])" /proc/milspec/status; }

policy ""
t "milspecd --check-config accepts the policy" milspecd --check-config /etc/milspec/policy.toml
t "load the module (level standard)" milspecctl load --file "$KO"

# Unprivileged noise before the daemon starts: uid 1000 floods refused SET_LEVEL
# calls between two root events; the in-guest test checks that every event is
# still held, none counted lost, and the exact counts. The daemon, started next,
# reports them from the module's table.
guest_tests --refusals "$REFUSALS" refusals

MILSPECD_LOG=debug milspecd --runtime-dir $D/run >$D/log 2>&1 &
PID=$!
t_wait "the daemon raises standard to the policy minimum (enhanced)" level_is enhanced
t_wait "health.json says healthy" grep -q '"status": "healthy"' $D/health.json
t_out "the raise was logged as a violation" 'policy violation: security level standard is below the policy minimum enhanced' cat $D/log
t_wait "metrics count the violation" sh -c "grep -q 'milspec_policy_violations_total{kind=\"level_below_minimum\"} 1' $D/prom/milspec.prom"
t_out "metrics: module loaded at level 2" 'milspec_security_level 2' prom
# The level is raised during start-up, before the drop: on a loaded host this
# check can run inside that window, so it waits for the drop (10 s at most).
t_wait "capabilities dropped to CAP_SYS_ADMIN only" grep -qE '^CapEff:[[:space:]]+0000000000200000$' /proc/$PID/status
t_out "bounding set too" '^CapBnd:[[:space:]]+0000000000200000$' cat /proc/$PID/status
t_out "metrics served on 127.0.0.1:9477" '^milspec_module_loaded 1$' wget -q -O - http://127.0.0.1:9477/metrics
t_out "other paths get 404" '404' wget -q -O - http://127.0.0.1:9477/ 2>&1
t_wait "the daemon reports uid 1000's refused calls with their exact count" grep -q "policy violation: uid 1000 made $REFUSALS refused set_level calls without CAP_SYS_ADMIN ($REFUSALS since the module loaded)" $D/log
t_wait "metrics: the module's refused calls by uid and command" grep -q "milspec_kernel_refused_calls{uid=\"1000\",command=\"set_level\"} $REFUSALS\$" $D/prom/milspec.prom
t_out "milspecd --once --json: the same count" "\"refused_calls\":\\{\"total\":$REFUSALS,\"by\":\\[\\{\"uid\":1000,\"command\":\"set_level\",\"count\":$REFUSALS\\}" milspecd --once --json
# While it runs: a new key's first refusal is a summary event at once.
guest_tests refuse-tokens
t_wait "the daemon reports refused calls as they happen (summary event)" grep -qE 'policy violation: uid 1000 made [1-3] refused get_tokens calls' $D/log
t_wait "metrics count ioctl_denied violations" sh -c "grep -q 'milspec_policy_violations_total{kind=\"ioctl_denied\"} 2' $D/prom/milspec.prom"

t "lowering the level by hand" milspecctl level standard
t_wait "... is undone by the daemon" level_is enhanced

# Forced overflow: stop the daemon, make more events than the ring holds.
kill -STOP $PID
i=0
while [ $i -lt 150 ]; do
	milspecctl level standard >/dev/null && milspecctl level enhanced >/dev/null
	i=$((i + 1))
done
kill -CONT $PID
t_wait "the gap is reported" grep -q 'events lost (seq' $D/log
t_wait "metrics count lost events" sh -c "grep -qE '^milspec_events_lost_total [1-9]' $D/prom/milspec.prom"
t_wait "the alert hook ran for the gap" grep -q '"kind":"events_lost"' $D/alerts
t_wait "health: events component degraded" grep -q '"status": "degraded"' $D/health.json

# rmmod/insmod: milspecctl asks the daemon to let go of the device first.
t_out "plain rmmod is refused while the daemon holds the device" 'in use|Resource temporarily unavailable' rmmod dell_milspec
t "milspecctl unload succeeds with the daemon running" milspecctl unload
t_wait "the daemon reports the module absent" grep -q 'dell_milspec is not loaded' $D/health.json
t "the daemon is still running" kill -0 $PID
t "insmod again" insmod "$KO"
t_wait "the daemon resumes and raises the new module's level" level_is enhanced
t_wait "health: module healthy again" grep -q 'module_version' $D/health.json
t_out "the daemon logged the reconnect" 'connected to dell_milspec.*\(level standard' cat $D/log

# SIGHUP with a broken policy: refused, the old policy still applies.
cp /etc/milspec/policy.toml $D/good.toml
printf '[level]\nminimum = "extreme"\n' >/etc/milspec/policy.toml
kill -HUP $PID
t_wait "a broken policy on SIGHUP is refused with line and key" grep -q "policy reload refused.*line 2.*unknown level .extreme." $D/log
t_wait "health: policy degraded" grep -q 'reload refused, still enforcing the previous policy' $D/health.json
t "lowering the level again" milspecctl level standard
t_wait "... the old policy still raises it" level_is enhanced

# Version and hash rules, checked on reload (and on every connect).
policy "" 'allowed_versions = ["9.9.9"]'
kill -HUP $PID
t_wait "a module version outside allowed_versions is a violation" grep -q 'policy violation: module version 0.1.0 is not in modules.allowed_versions' $D/log
policy "" 'allowed_sha256 = ["0000000000000000000000000000000000000000000000000000000000000000"]'
kill -HUP $PID
t_wait "a module loaded outside the store has no known hash: violation" grep -q 'the file hash of module 0.1.0 is unknown' $D/log
t_wait "metrics count module_not_allowed" sh -c "grep -qE 'milspec_policy_violations_total\\{kind=\"module_not_allowed\"\\} 2' $D/prom/milspec.prom"

# A good policy that locks: the allowlist is pushed, then the level locked.
policy 'lock_at = "paranoid"'
kill -HUP $PID
t_wait "reload with lock_at locks the level at paranoid" grep -qx 'security_level_locked: yes' /proc/milspec/status
t "level is paranoid" level_is paranoid
t "the allowed probe module loads" insmod /lib/milspec/test/milspec_probe_ok.ko
t_out "an unlisted module is denied by the kernel" 'Operation not permitted|not permitted' insmod /lib/milspec/test/milspec_probe_denied.ko
t_wait "the daemon records the violation" grep -q 'policy violation: the kernel refused to load module milspec_probe_denied' $D/log
t_wait "the alert hook got the event as JSON" grep -q '"kind":"module_denied".*"module":"milspec_probe_denied"' $D/alerts
t_out "the hook saw MILSPEC_VIOLATION" '^env=module_denied$' cat $D/alerts
# busybox insmod tries finit_module, then init_module: one or two denials.
t_wait "metrics: module_denied counted, alert ok" sh -c "grep -qE 'milspec_policy_violations_total\\{kind=\"module_denied\"\\} [1-9]' $D/prom/milspec.prom && grep -q 'milspec_actions_total{action=\"alert\",result=\"ok\"}' $D/prom/milspec.prom"

t_out "milspecctl unload of the pinned module is refused" 'in use or pinned' milspecctl unload
t "... without making milspecd let go of the device (one release in the whole run)" \
	sh -c "[ \$(grep -c 'releasing /dev/milspec' $D/log) -eq 1 ]"

prom | sed 's/^/#m /'

kill -TERM $PID
rc=0
wait $PID || rc=$?
[ $rc -eq 0 ] && tap_pass "SIGTERM: clean exit (0)" || tap_fail "SIGTERM: clean exit" "exit $rc"
t_out "it logged stopping" 'stopped' cat $D/log
finish
