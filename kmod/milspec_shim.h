/* SPDX-License-Identifier: GPL-2.0 */
/* Functions shared between milspec_shim.c and the Rust side (the .rs files here). */
#ifndef MILSPEC_SHIM_H
#define MILSPEC_SHIM_H

#include <linux/fs.h>
#include <linux/notifier.h>
#include <linux/poll.h>
#include <linux/types.h>

/* C -> Rust (defined in miscdev.rs and modwatch.rs) */
int milspec_open(struct inode *inode, struct file *file);
int milspec_release(struct inode *inode, struct file *file);
long milspec_ioctl(struct file *file, unsigned int cmd, unsigned long arg);
ssize_t milspec_read(struct file *file, char __user *buf, size_t count, loff_t *ppos);
__poll_t milspec_poll_mask(struct file *file);
bool milspec_events_after(u64 seq);
int milspec_module_notify(struct notifier_block *nb, unsigned long action, void *data);

/* Rust -> C (declared once, with safe wrappers, in ffi.rs) */
bool milspec_shim_force(void);
const char *milspec_shim_level(void);
int milspec_shim_misc_register(void);
void milspec_shim_misc_deregister(void);
int milspec_shim_module_notifier_register(void);
void milspec_shim_module_notifier_unregister(void);
void milspec_shim_wake_readers(void);
int milspec_shim_wait_events_after(u64 seq);
void milspec_shim_caller(u32 *uid, u32 *pid);
bool milspec_shim_tpm_present(void);

#endif /* MILSPEC_SHIM_H */
