// SPDX-License-Identifier: MIT
/*
 * test_malloc_lifecycle.c - a program that uses malloc at every stage of its life: in a constructor
 * (before main), in main, in threads with thread-local destructors that allocate and free as the
 * thread ends, in an atexit handler and in a destructor (after main). Built without memoman: the
 * test runs it under LD_PRELOAD=libmemoman-malloc.so (and MEMOMAN_STATS=1), which must serve all
 * of that and print its statistics at the end.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *early;
extern int mm_early_ok; /* early.c: its constructor ran before the allocator's set-up */
static pthread_key_t key;

__attribute__((constructor)) static void before_main(void)
{
	early = malloc(100);
	strcpy(early, "constructor");
}

static void tls_destructor(void *value)
{
	/* At thread exit, after the allocator's own thread state may be gone: allocate and free. */
	char *copy = malloc(strlen((char *)value) + 1);
	strcpy(copy, (char *)value);
	void *more[64];
	for (int i = 0; i < 64; i++)
		more[i] = malloc((size_t)i * 100 + 1);
	for (int i = 0; i < 64; i++)
		free(more[i]);
	free(copy);
	free(value);
}

static void *thread(void *arg)
{
	(void)arg;
	char *v = malloc(64);
	strcpy(v, "thread-local");
	pthread_setspecific(key, v);
	for (int i = 0; i < 1000; i++)
		free(malloc((size_t)i));
	return malloc(32); /* freed by main */
}

static void at_exit(void)
{
	char *p = malloc(5000);
	memset(p, 1, 5000);
	free(p);
	free(early);
	printf("atexit ok\n");
	fflush(stdout);
}

__attribute__((destructor)) static void after_main(void)
{
	void *p = calloc(10, 10);
	free(p);
}

int main(void)
{
	if (strcmp(early, "constructor") != 0 || !mm_early_ok)
		return 1;
	printf("early ok\n");
	fflush(stdout);
	pthread_key_create(&key, tls_destructor);
	atexit(at_exit);
	for (int round = 0; round < 20; round++) {
		pthread_t t[4];
		for (int i = 0; i < 4; i++)
			pthread_create(&t[i], NULL, thread, NULL);
		for (int i = 0; i < 4; i++) {
			void *r;
			pthread_join(t[i], &r);
			free(r);
		}
	}
	printf("main ok\n");
	return 0;
}
