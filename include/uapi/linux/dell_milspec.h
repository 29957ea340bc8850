/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * dell_milspec user-space ABI, for C callers.
 *
 * The source of truth is the Rust crate abi/ (milspec-abi); a test compiles this
 * header and compares every size, offset and ioctl number with it.
 */
#ifndef _UAPI_LINUX_DELL_MILSPEC_H
#define _UAPI_LINUX_DELL_MILSPEC_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define MILSPEC_ABI_VERSION	1
#define MILSPEC_IOCTL_MAGIC	0xD1
#define MILSPEC_VERSION_LEN	32

enum milspec_platform_state {
	MILSPEC_PLATFORM_SUPPORTED = 1,
	MILSPEC_PLATFORM_FORCED = 2,
};

/**
 * struct milspec_info - argument of MILSPEC_IOC_GET_INFO
 * @size: set by the caller to sizeof(struct milspec_info)
 * @abi_version: MILSPEC_ABI_VERSION of the running module
 * @platform_state: enum milspec_platform_state
 * @module_version: module version, NUL-padded
 * @reserved: must be zero
 */
struct milspec_info {
	__u32 size;
	__u32 abi_version;
	__u32 platform_state;
	__u8 module_version[MILSPEC_VERSION_LEN];
	__u8 reserved[20];
};

#define MILSPEC_IOC_GET_INFO	_IOWR(MILSPEC_IOCTL_MAGIC, 0x01, struct milspec_info)

#endif /* _UAPI_LINUX_DELL_MILSPEC_H */
