// SPDX-License-Identifier: GPL-2.0
/*
 * A C client of include/uapi/linux/dell_milspec.h, run in the test VM: calls
 * GET_INFO and GET_STATUS and prints key=value lines that the Rust tests compare
 * with their own client.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/dell_milspec.h>

int main(void)
{
	struct milspec_info info;
	struct milspec_status st;
	int fd = open("/dev/milspec", O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		perror("open /dev/milspec");
		return 1;
	}
	memset(&info, 0, sizeof(info));
	info.size = sizeof(info);
	if (ioctl(fd, MILSPEC_IOC_GET_INFO, &info) < 0) {
		perror("MILSPEC_IOC_GET_INFO");
		return 1;
	}
	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	if (ioctl(fd, MILSPEC_IOC_GET_STATUS, &st) < 0) {
		perror("MILSPEC_IOC_GET_STATUS");
		return 1;
	}
	printf("abi_version=%u\n", info.abi_version);
	printf("module_version=%.*s\n", MILSPEC_VERSION_LEN, (const char *)info.module_version);
	printf("platform_state=%u\n", info.platform_state);
	printf("security_level=%u\n", st.security_level);
	printf("flags=%u\n", st.flags);
	printf("smbios_calling_interface=%u\n", st.smbios_calling_interface);
	printf("token_count=%u\n", st.token_count);
	printf("lockdown=%u\n", st.lockdown);
	printf("loaded_at_ns=%llu\n", (unsigned long long)st.loaded_at_ns);
	close(fd);
	return 0;
}
