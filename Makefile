# milspec: top-level entry points. (The kernel's build reads Kbuild, not this file,
# so `make -C <kernel tree> M=$PWD` works as DKMS expects.)
#
#   make            build dell_milspec.ko against KDIR (default: the reference kernel)
#   make demo       build everything, boot the emulated Latitude 5450, load, show, unload
#   make check      every test: fmt, clippy, cargo test, module build, VM suites
#   make deps       install build dependencies (idempotent)
#   make kernel     build or find the cached reference kernel
#   make tools      release build of milspecctl and milspecd for this host
#   make guest-bins static binaries for the VM (tools + in-guest tests)
#   make bench      deployment benchmark in the VM (bare syscalls vs milspecctl load/rollback,
#                   phases, store scaling), audit verify scaling, milspecd under load
#                   (full-system tier); plots in target/bench/
#   make system-test full-system tier: Debian + systemd in the VM, milspecd as a service
#   make faults     power cuts: QEMU killed at seeded points during install, load, rollback,
#                   remove on ext4 (FAULT_CUTS=32, FAULT_SEED=14); checks after each reboot
#   make fuzz       long run of the SMBIOS parser fuzz harness (FUZZ_ITERS=500000000, ~1 min)
#   make deb        Debian packages milspec-dkms and milspec-tools in target/deb/
#   make deb-check  build them, lintian, package contents, make install/uninstall round trip
#   make install    tools + DKMS source, the packages' file set (DESTDIR, PREFIX, ...;
#                   see scripts/install.sh); make uninstall removes it again
#   make dkms-test  DKMS for real, in a temporary tree: two kernel releases, skip, signing
#   make fleet-unit  fleet collection: pytest, ansible-lint, promtool rule tests, dashboard check
#   make fleet-test  fleet VM tier: 3 full-system VMs, Ansible over SSH (virtio-net + hostfwd)
#   make fleet-bench rollout playbook on simulated hosts (FLEET_HOSTS=1000), with projections
#   make fleet-rollout / fleet-rollback / fleet-preflight  INVENTORY=FILE [VERSION=V MODULE=KO]
#   make clean

SHELL := /bin/bash
.DEFAULT_GOAL := module

.PHONY: module deps kernel tools guest-bins check demo vm-test system-test faults fuzz bench clean help \
	deb deb-check install uninstall dkms-build dkms-test \
	fleet-deps fleet-unit fleet-test fleet-bench fleet-rollout fleet-rollback fleet-preflight

help:
	@sed -n '4,27p' Makefile | sed 's/^# \{0,1\}//'

deps:
	@scripts/deps.sh

kernel: deps
	@scripts/kernel.sh >/dev/null

module:
	@scripts/module.sh

tools:
	cargo build --release --locked -p milspecctl -p milspecd

guest-bins:
	@scripts/guest-bins.sh

vm-test:
	@tests/vm/suite

system-test: deps
	@tests/system/suite

check:
	@scripts/check.sh

# make check runs the small seeded set (tests/faults/run's default, 4 cuts).
FAULT_CUTS ?= 32
FAULT_SEED ?= 14
faults:
	@tests/faults/run --cuts $(FAULT_CUTS) --seed $(FAULT_SEED)

demo:
	@scripts/demo.sh

# What dkms.conf's MAKE runs (in DKMS's copy of the sources): checks the tree's Rust
# artifacts and the rustc, then builds. KDIR is the kernel tree DKMS builds for.
dkms-build:
	+@scripts/dkms-make.sh "$(KDIR)"

dkms-test:
	@tests/dkms/run

fleet-deps:
	@scripts/ansible-deps.sh >/dev/null

fleet-unit:
	@tests/fleet/unit

# Not yet passing: see README, "Fleet rollout".
fleet-test:
	@tests/fleet/run

FLEET_HOSTS ?= 1000
fleet-bench:
	@tests/fleet/bench --hosts $(FLEET_HOSTS)

# make fleet-rollout INVENTORY=hosts.ini VERSION=1.0.1 MODULE=/path/dell_milspec.ko [FLEET_ARGS=...]
fleet-rollout:
	@scripts/fleet.sh rollout -i "$(INVENTORY)" -e milspec_fleet_version="$(VERSION)" \
		$(if $(MODULE),-e milspec_fleet_module_file="$(abspath $(MODULE))") $(FLEET_ARGS)

fleet-rollback:
	@scripts/fleet.sh rollback -i "$(INVENTORY)" $(if $(VERSION),-e milspec_fleet_rollback_to="$(VERSION)") $(FLEET_ARGS)

fleet-preflight:
	@scripts/fleet.sh preflight -i "$(INVENTORY)" -e milspec_fleet_version="$(VERSION)" \
		$(if $(MODULE),-e milspec_fleet_module_file="$(abspath $(MODULE))") $(FLEET_ARGS)

# The VM figures (ratios, phases, store curves), then the plots, milspecd at fixed
# event rates (10 to 20,000/s) in the VM, the host-side audit verify curve, then
# milspecd under load in the full-system tier (8 writers, 60 s, systemd watchdog);
# everything under target/bench/.
bench:
	@mkdir -p target/bench
	@set -o pipefail; tests/vm/run --no-load --timeout 1200 -- milspec-guest-tests bench | tee target/bench/vm.txt
	@cargo run -q --release --locked -p milspec-host --example bench_curves -- store target/bench/vm.txt
	@set -o pipefail; tests/vm/run --no-build --no-load --timeout 1200 -- sh -c \
		'milspecctl load --file /lib/milspec/dell_milspec.ko && milspec-guest-tests daemon-rates' \
		| tee target/bench/daemon-rates.txt
	@cargo run -q --release --locked -p milspec-host --example bench_curves -- audit
	@set -o pipefail; bins=$$(scripts/guest-bins.sh) && tests/system/run \
		--add "$$bins/milspecctl" --add "$$bins/milspecd" --add "$$bins/milspec-guest-tests" \
		--add packaging/systemd/milspecd.service -- bash /run/milspec-test/tests/load.sh \
		| tee target/bench/daemon-load.txt

FUZZ_ITERS ?= 500000000
fuzz:
	MILSPEC_FUZZ_ITERS=$(FUZZ_ITERS) cargo test --release --locked -p milspec-smbios \
		--test parse fuzz_smoke -- --nocapture

deb:
	@scripts/deb.sh

deb-check:
	@tests/host/deb.sh

# Paths are passed through the environment (DESTDIR, PREFIX, SBINDIR, ...).
install: tools
	@scripts/install.sh install

uninstall:
	@scripts/install.sh uninstall

clean:
	rm -rf target
	rm -f dell_milspec.ko dell_milspec.o dell_milspec.mod dell_milspec.mod.c dell_milspec.mod.o \
	      Module.symvers modules.order .module-common.o .*.cmd kmod/*.o kmod/.*.cmd kmod/*.d
