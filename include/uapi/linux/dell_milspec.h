/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * dell_milspec user-space ABI, for C callers. See docs/abi.md.
 *
 * The source of truth is the Rust crate abi/ (milspec-abi); a host test compiles
 * this header and compares every constant, size and offset with it.
 *
 * Rules: every struct starts with __u32 size (set it to sizeof the struct) and
 * ends in reserved bytes; zero the whole struct before filling it in: non-zero
 * reserved bytes or output fields are rejected with EINVAL.
 */
#ifndef _UAPI_LINUX_DELL_MILSPEC_H
#define _UAPI_LINUX_DELL_MILSPEC_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define MILSPEC_ABI_VERSION	2
#define MILSPEC_IOCTL_MAGIC	0xD1
#define MILSPEC_VERSION_LEN	32
#define MILSPEC_NAME_LEN	56
#define MILSPEC_EVENT_RING_CAPACITY	256
#define MILSPEC_EVENTS_MAX_PER_CALL	4096
#define MILSPEC_ALLOWLIST_MAX	64
#define MILSPEC_REFUSAL_SLOTS	16
#define MILSPEC_REFUSAL_ENTRIES_MAX	17	/* the slots plus the overflow bucket */
#define MILSPEC_REFUSAL_UID_OTHER	0xFFFFFFFFU	/* uid of the overflow bucket */
#define MILSPEC_REFUSAL_SUMMARY_WINDOW_NS	10000000000ULL
#define MILSPEC_REFUSAL_SUMMARY_BUDGET	16

enum milspec_platform_state {
	MILSPEC_PLATFORM_SUPPORTED = 1,
	MILSPEC_PLATFORM_FORCED = 2,
};

enum milspec_level {
	MILSPEC_LEVEL_DISABLED = 0,
	MILSPEC_LEVEL_STANDARD = 1,
	MILSPEC_LEVEL_ENHANCED = 2,
	MILSPEC_LEVEL_PARANOID = 3,
	MILSPEC_LEVEL_PARANOID_PLUS = 4,
};

enum milspec_smbios_state {
	MILSPEC_SMBIOS_ABSENT = 0,
	MILSPEC_SMBIOS_PRESENT = 1,
	MILSPEC_SMBIOS_INVALID = 2,
};

enum milspec_lockdown {
	MILSPEC_LOCKDOWN_NONE = 0,
	MILSPEC_LOCKDOWN_INTEGRITY = 1,
	MILSPEC_LOCKDOWN_CONFIDENTIALITY = 2,
	MILSPEC_LOCKDOWN_UNSUPPORTED = 3,
};

enum milspec_event_kind {
	MILSPEC_EVENT_LEVEL_CHANGED = 1,
	MILSPEC_EVENT_ALLOWLIST_CHANGED = 2,
	MILSPEC_EVENT_MODULE_LOADED = 3,
	MILSPEC_EVENT_MODULE_UNLOADED = 4,
	MILSPEC_EVENT_MODULE_DENIED = 5,
	/* 6 was MILSPEC_EVENT_IOCTL_DENIED in ABI 1; retired. */
	MILSPEC_EVENT_TOKEN_TABLE_INVALID = 7,
	MILSPEC_EVENT_FORCED_LOAD = 8,
	MILSPEC_EVENT_REFUSALS = 9,
};

/* struct milspec_status.flags */
#define MILSPEC_STATUS_LEVEL_LOCKED		(1U << 0)
#define MILSPEC_STATUS_MODULE_PINNED		(1U << 1)
#define MILSPEC_STATUS_ALLOWLIST_ENFORCING	(1U << 2)
#define MILSPEC_STATUS_MODULE_SIG_ENFORCED	(1U << 3)

/* struct milspec_events_request.flags */
#define MILSPEC_EVENTS_FLAG_GAP			(1U << 0)

struct milspec_info {
	__u32 size;
	__u32 abi_version;
	__u32 platform_state;
	__u8 module_version[MILSPEC_VERSION_LEN];
	__u8 reserved[20];
};

struct milspec_status {
	__u32 size;
	__u32 abi_version;
	__u32 security_level;
	__u32 flags;
	__u32 platform_state;
	__u32 smbios_calling_interface;
	__u32 token_count;
	__u32 allowlist_len;
	__u32 lockdown;
	__u32 reserved0;
	__u64 events_total;
	__u64 events_lost;
	__u64 next_seq;
	__u64 loaded_at_ns;
	__u64 refusals_total;
	__u8 reserved[48];
};

struct milspec_level_request {
	__u32 size;
	__u32 level;
	__u8 reserved[8];
};

struct milspec_event {
	__u64 seq;
	__u64 timestamp_ns;
	__u32 kind;
	__u32 uid;
	__u32 pid;
	__u32 arg0;
	__u32 arg1;
	__u32 reserved;
	__u8 name[MILSPEC_NAME_LEN];
};

struct milspec_events_request {
	__u32 size;
	__u32 capacity;
	__u64 from_seq;
	__u64 events_ptr;	/* struct milspec_event[capacity] */
	__u32 count;		/* out */
	__u32 flags;		/* out */
	__u64 next_seq;		/* out */
	__u64 oldest_seq;	/* out */
	__u8 reserved[16];
};

struct milspec_allowlist_request {
	__u32 size;
	__u32 count;
	__u64 names_ptr;	/* char[count][MILSPEC_NAME_LEN], NUL-padded */
	__u8 reserved[8];
};

struct milspec_token {
	__u16 id;
	__u16 location;
	__u16 value;
	__u16 reserved;
};

struct milspec_tokens_request {
	__u32 size;
	__u32 capacity;
	__u64 tokens_ptr;	/* struct milspec_token[capacity] */
	__u32 count;		/* out */
	__u32 total;		/* out */
	__u32 state;		/* out: enum milspec_smbios_state */
	__u8 reserved[4];
};

struct milspec_refusal {
	__u32 uid;		/* MILSPEC_REFUSAL_UID_OTHER: the overflow bucket */
	__u32 cmd;		/* 0 for the overflow bucket */
	__u64 count;
	__u64 first_ns;
	__u64 last_ns;
};

struct milspec_refusals_request {
	__u32 size;
	__u32 capacity;
	__u64 entries_ptr;	/* struct milspec_refusal[capacity] */
	__u32 count;		/* out */
	__u32 keys;		/* out */
	__u64 total;		/* out */
	__u8 reserved[8];
};

#define MILSPEC_IOC_GET_INFO	  _IOWR(MILSPEC_IOCTL_MAGIC, 0x01, struct milspec_info)
#define MILSPEC_IOC_GET_STATUS	  _IOWR(MILSPEC_IOCTL_MAGIC, 0x02, struct milspec_status)
#define MILSPEC_IOC_SET_LEVEL	  _IOW(MILSPEC_IOCTL_MAGIC, 0x03, struct milspec_level_request)
#define MILSPEC_IOC_GET_EVENTS	  _IOWR(MILSPEC_IOCTL_MAGIC, 0x04, struct milspec_events_request)
#define MILSPEC_IOC_SET_ALLOWLIST _IOW(MILSPEC_IOCTL_MAGIC, 0x05, struct milspec_allowlist_request)
#define MILSPEC_IOC_GET_TOKENS	  _IOWR(MILSPEC_IOCTL_MAGIC, 0x06, struct milspec_tokens_request)
#define MILSPEC_IOC_GET_REFUSALS  _IOWR(MILSPEC_IOCTL_MAGIC, 0x07, struct milspec_refusals_request)

#endif /* _UAPI_LINUX_DELL_MILSPEC_H */
