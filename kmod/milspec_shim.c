// SPDX-License-Identifier: GPL-2.0
/*
 * Thin C glue for dell_milspec. It holds only what Rust on Linux 6.12 cannot
 * declare soundly or reach: module parameters (no Rust module parameters before
 * 6.19), the file_operations/miscdevice/notifier_block structs (not in 6.12's Rust
 * bindings, or config-dependent), and inline helpers (poll_wait, wait_event,
 * current_uid, the tpm_chip's embedded device). Every function forwards; the logic
 * is in the Rust files here.
 */
#include <linux/compat.h>
#include <linux/cred.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/sched.h>
#include <linux/tpm.h>
#include <linux/wait.h>

#include "milspec_shim.h"

static bool force;
module_param(force, bool, 0444);
MODULE_PARM_DESC(force,
		 "Bind on a platform that is not on the supported list (testing only; status shows platform_state: forced)");

static char *level = "standard";
module_param(level, charp, 0444);
MODULE_PARM_DESC(level,
		 "Initial security level: disabled, standard (default), enhanced, paranoid, paranoid_plus, or 0-4");

static DECLARE_WAIT_QUEUE_HEAD(milspec_readers);

static __poll_t milspec_poll(struct file *file, poll_table *pt)
{
	poll_wait(file, &milspec_readers, pt);
	return milspec_poll_mask(file);
}

static const struct file_operations milspec_fops = {
	.owner = THIS_MODULE,
	.open = milspec_open,
	.release = milspec_release,
	.read = milspec_read,
	.poll = milspec_poll,
	.unlocked_ioctl = milspec_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

/* 0444: every user may query; state changes are gated by CAP_SYS_ADMIN per ioctl. */
static struct miscdevice milspec_miscdev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "milspec",
	.fops = &milspec_fops,
	.mode = 0444,
};

static struct notifier_block milspec_module_nb = {
	.notifier_call = milspec_module_notify,
};

bool milspec_shim_force(void)
{
	return force;
}

const char *milspec_shim_level(void)
{
	return level ? level : "";
}

int milspec_shim_misc_register(void)
{
	return misc_register(&milspec_miscdev);
}

void milspec_shim_misc_deregister(void)
{
	misc_deregister(&milspec_miscdev);
}

int milspec_shim_module_notifier_register(void)
{
	return register_module_notifier(&milspec_module_nb);
}

void milspec_shim_module_notifier_unregister(void)
{
	unregister_module_notifier(&milspec_module_nb);
}

void milspec_shim_wake_readers(void)
{
	wake_up_interruptible(&milspec_readers);
}

int milspec_shim_wait_events_after(u64 seq)
{
	return wait_event_interruptible(milspec_readers, milspec_events_after(seq));
}

void milspec_shim_caller(u32 *uid, u32 *pid)
{
	*uid = from_kuid_munged(&init_user_ns, current_uid());
	*pid = task_tgid_nr(current);
}

/* Whether a TPM chip exists; tpm_default_chip() is NULL without CONFIG_TCG_TPM. */
bool milspec_shim_tpm_present(void)
{
	struct tpm_chip *chip = tpm_default_chip();

	if (!chip)
		return false;
	put_device(&chip->dev);
	return true;
}
