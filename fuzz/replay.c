// SPDX-License-Identifier: MIT
/*
 * replay.c - runs a fuzz target's LLVMFuzzerTestOneInput (fuzz_tlsf.c, fuzz_heap.c) over files and
 * folders, for builds without libFuzzer (gcc, -m32, the debug build): `fuzz_replay fuzz/corpus`.
 */
#define _DEFAULT_SOURCE
/* 64-bit file offsets and inode numbers: without them a 32-bit readdir() fails with EOVERFLOW on
 * file systems (and under qemu-user) whose directory offsets or inodes do not fit in 32 bits, and
 * the replay would see no inputs at all. */
#define _FILE_OFFSET_BITS 64
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return 0;
	static uint8_t buf[1 << 20];
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	LLVMFuzzerTestOneInput(buf, n);
	return 1;
}

int main(int argc, char **argv)
{
	size_t runs = 0;
	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "replay: cannot read %s\n", argv[i]);
			return 1;
		}
		if (!S_ISDIR(st.st_mode)) {
			runs += (size_t)run_file(argv[i]);
			continue;
		}
		DIR *d = opendir(argv[i]);
		struct dirent *e;
		while (d && (e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			char path[4096];
			snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name);
			runs += (size_t)run_file(path);
		}
		if (d)
			closedir(d);
	}
	printf("replay: %zu inputs, no findings\n", runs);
	return runs ? 0 : 1;
}
