// SPDX-License-Identifier: MIT
/*
 * vm_init.c - /init of the arm64 test VM (tests/cross-malloc/arm64-vm.sh): mounts /proc, /sys, /dev
 * and /tmp, says what the kernel is (release, page size, where mmap places memory), runs every
 * program under /tests one after the other (in name order; each one's output goes to the console),
 * prints one line per test and a summary the script looks for, and powers the machine off.
 * Built static for aarch64; nothing else is in the initramfs.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int by_name(const struct dirent **a, const struct dirent **b) { return strcmp((*a)->d_name, (*b)->d_name); }

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void power_off(void)
{
	fflush(stdout);
	sync();
	reboot(RB_POWER_OFF);
	for (;;)
		pause();
}

int main(void)
{
	mkdir("/proc", 0755);
	mkdir("/sys", 0755);
	mkdir("/dev", 0755);
	mkdir("/tmp", 01777);
	mount("proc", "/proc", "proc", 0, NULL);
	mount("sysfs", "/sys", "sysfs", 0, NULL);
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	mount("tmpfs", "/tmp", "tmpfs", 0, NULL);
	setvbuf(stdout, NULL, _IONBF, 0);
	setenv("PATH", "/tests", 1);
	setenv("TMPDIR", "/tmp", 1);

	struct utsname u;
	uname(&u);
	void *m = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	printf("\nvm: kernel %s %s, page size %ld, an mmap at %p (%s 2^47)\n", u.release, u.machine,
	       sysconf(_SC_PAGESIZE), m, ((uint64_t)(uintptr_t)m >> 47) ? "above" : "below");

	char thp[128] = "?";
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
	if (f) {
		if (!fgets(thp, sizeof(thp), f))
			thp[0] = 0;
		fclose(f);
		thp[strcspn(thp, "\n")] = 0;
	}
	printf("vm: transparent huge pages: %s; %ld CPUs\n", thp, sysconf(_SC_NPROCESSORS_ONLN));

	struct dirent **list;
	int n = scandir("/tests", &list, NULL, by_name);
	int passed = 0, failed = 0;
	for (int i = 0; i < n; i++) {
		const char *name = list[i]->d_name;
		if (name[0] == '.')
			continue;
		char path[512];
		snprintf(path, sizeof(path), "/tests/%s", name);
		double t0 = now();
		pid_t pid = fork();
		if (pid == 0) {
			chdir("/tmp");
			char *argv[] = {path, NULL};
			execv(path, argv);
			_exit(127);
		}
		int status = 0;
		waitpid(pid, &status, 0);
		int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
		printf("vm: %s %s (%.1f s)", name, ok ? "PASSED" : "FAILED", now() - t0);
		if (!ok && WIFSIGNALED(status))
			printf(" signal %d", WTERMSIG(status));
		else if (!ok)
			printf(" exit %d", WEXITSTATUS(status));
		printf("\n");
		ok ? passed++ : failed++;
	}
	printf("vm: %d passed, %d failed%s\n", passed, failed, failed || !passed ? "" : " - all passed");
	power_off();
	return 0;
}
