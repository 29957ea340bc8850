/* SPDX-License-Identifier: GPL-2.0 */
/* Functions shared between milspec_shim.c and the Rust side (the Rust files in kmod/). */
#ifndef MILSPEC_SHIM_H
#define MILSPEC_SHIM_H

#include <linux/fs.h>
#include <linux/types.h>

/* C -> Rust */
long milspec_ioctl(struct file *file, unsigned int cmd, unsigned long arg);

/* Rust -> C */
bool milspec_shim_force(void);
int milspec_shim_misc_register(void);
void milspec_shim_misc_deregister(void);

#endif /* MILSPEC_SHIM_H */
