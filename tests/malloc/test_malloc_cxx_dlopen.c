// SPDX-License-Identifier: MIT
/*
 * test_malloc_cxx_dlopen.c - a C program linked with libmemoman-malloc loads C++ code with dlopen
 * (cxx_plugin.cpp, its path the first argument): libmemoman-malloc's operator new, bound before
 * libstdc++ was there, calls the plugin's new-handler and throws std::bad_alloc to it.
 */
#include <dlfcn.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	void *h = dlopen(argv[1], RTLD_NOW);
	if (!h) {
		fprintf(stderr, "dlopen: %s\n", dlerror());
		return 2;
	}
	int (*run)(void) = NULL;
	*(void **)(&run) = dlsym(h, "plugin_run");
	int r = run ? run() : 3;
	printf("test_malloc_cxx_dlopen: %s (%d)\n", r == 0 ? "ok" : "failed", r);
	return r != 0;
}
