#!/bin/sh
# Suite for the locking levels (boot with --platform dell --no-load). Destructive:
# the module ends pinned until reboot. Arguments go to milspec-guest-tests.
# shellcheck source=tests/vm/guest/lib.sh
. /tests/lib.sh

t_out "level=bogus is refused (EINVAL)" 'Invalid argument' insmod "$KO" level=bogus
t_out "kernel log explains the bad level" "invalid level='bogus'" dmesg
t "no /proc/milspec after the refusal" test ! -e /proc/milspec
t "load at the default level" milspecctl load --file "$KO"
t_out "default level is standard" '^security_level: standard \(1\)$' cat /proc/milspec/status

guest_tests paranoid

t_out "rmmod of the pinned module is refused" 'Resource temporarily unavailable|in use' rmmod dell_milspec
t_out "milspecctl unload says why" 'in use or pinned' milspecctl unload
t "the module is still there" test -r /proc/milspec/status
t_out "kernel log says pinned until reboot" 'locked until reboot; module pinned' dmesg
t_out "kernel log names the refused module" "refused to load module 'milspec_probe_denied'" dmesg

# Random ioctls against the locked module, level changes allowed.
guest_tests fuzz --fuzz-allow-locking "$@"
t_out "still locked after the fuzz" '^security_level_locked: yes$' cat /proc/milspec/status

finish
