// SPDX-License-Identifier: GPL-2.0
/*
 * Thin C glue for dell_milspec. It holds only what Rust on Linux 6.12 cannot
 * declare soundly: the module parameter (no Rust module parameters before 6.19)
 * and the file_operations/miscdevice structs (not in 6.12's Rust bindings, and
 * config-dependent). Every function here forwards; the logic is in the Rust files in kmod/.
 */
#include <linux/compat.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/moduleparam.h>

#include "milspec_shim.h"

static bool force;
module_param(force, bool, 0444);
MODULE_PARM_DESC(force,
		 "Bind on a platform that is not on the supported list (testing only; status shows platform_state: forced)");

static const struct file_operations milspec_fops = {
	.owner = THIS_MODULE,
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

bool milspec_shim_force(void)
{
	return force;
}

int milspec_shim_misc_register(void)
{
	return misc_register(&milspec_miscdev);
}

void milspec_shim_misc_deregister(void)
{
	misc_deregister(&milspec_miscdev);
}
