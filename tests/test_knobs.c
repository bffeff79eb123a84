// SPDX-License-Identifier: MIT
/*
 * test_knobs.c - each configuration knob really changes what it says.
 *
 * tests/CMakeLists.txt builds the library once per knob setting, and this file with it, defining
 * KNOB_<name> to select the expectations below. Every variant also runs a short randomized workload
 * with validation, so each configuration is known to work, not just to compile.
 */
#define _DEFAULT_SOURCE
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../src/tlsf_internal.h"
#include "check.h"

static _Alignas(64) unsigned char arena[1 << 22];

/* A short randomized workload: everything allocated is aligned, intact, and the heap validates. */
static void workload(mm_t mm, size_t align)
{
	void *live[256] = {0};
	size_t size[256] = {0};
	rng g = {7};
	for (int i = 0; i < 20000; i++) {
		size_t k = (size_t)(rng_next(&g) % 256);
		if (live[k]) {
			unsigned char *p = live[k];
			CHECK(size[k] == 0 || (p[0] == (unsigned char)k && p[size[k] - 1] == (unsigned char)k));
			mm_free(mm, live[k]);
			live[k] = NULL;
		} else {
			size[k] = rng_range(&g, 0, rng_next(&g) % 8 ? 512 : 20000);
			live[k] =
			    rng_next(&g) % 4 ? mm_malloc(mm, size[k]) : mm_memalign(mm, (size_t)64 << (k % 4), size[k]);
			if (live[k]) {
				CHECK(((uintptr_t)live[k] & (align - 1)) == 0);
				memset(live[k], (int)k, size[k]);
			}
		}
		if (i % 1000 == 0)
			CHECK(mm_validate(mm));
	}
	for (int k = 0; k < 256; k++)
		mm_free(mm, live[k]);
	CHECK(mm_validate(mm));
}

/* What mm_block_size gives for a request, from the definition of the classes. */
static size_t expected_usable(size_t n)
{
	size_t stride = (n + MM_W + MM_ALIGN - 1) & ~(MM_ALIGN - 1);
	if (stride < MM_MIN_STRIDE)
		stride = MM_MIN_STRIDE;
	if (stride >= MM_SMALL) {
		size_t top = 1;
		while (top * 2 <= stride)
			top *= 2;
		size_t step = top / MM_SL_COUNT;
		stride = (stride + step - 1) / step * step;
	}
	return stride - MM_W;
}

int main(void)
{
	mm_t mm = mm_create_with_pool(arena, sizeof(arena));
	recorded_errors rec;
	record_errors(mm, &rec);
	CHECK(mm != NULL);
	workload(mm, mm_align_size());
	/* Rounding follows the configured classes (alignment and second-level count). */
	for (size_t n = 0; n < 70000; n = n * 9 / 8 + 1) {
		void *p = mm_malloc(mm, n);
		CHECK_MSG(p && mm_block_size(p) == expected_usable(n), "usable size of %zu: %zu, want %zu", n,
		          mm_block_size(p), expected_usable(n));
		mm_free(mm, p);
	}

#ifdef KNOB_ALIGN
	CHECK(mm_align_size() == KNOB_ALIGN);
	for (size_t n = 1; n < 3000; n += 37) {
		void *p = mm_malloc(mm, n);
		CHECK(p && ((uintptr_t)p & (KNOB_ALIGN - 1)) == 0);
		mm_free(mm, p);
	}
#endif
#if defined(KNOB_ALIGN) && KNOB_ALIGN < 8
	/* MM_ALIGNMENT=4 (32-bit targets only): memory aligned to mm_align_size() and not to 8 is
	 * accepted by every constructor, as their contracts say, although the controls hold 64-bit
	 * counters (word-aligned: common.h) and a lock-free pool a 64-bit stack top (aligned inside its
	 * metadata: fixed.c). */
	{
		static _Alignas(64) unsigned char mem[1 << 16];
		unsigned char *m4 = mem + 4; /* 4 mod 8 */
		CHECK(mm_create_error(m4, 8192) == MM_OK);
		mm_t t = mm_create_with_pool(m4, 8192);
		CHECK(t == (mm_t)(void *)m4 && mm_validate(t));
		void *p = mm_malloc(t, 100);
		CHECK(p && ((uintptr_t)p & 3) == 0);
		mm_free(t, p);
		t = mm_init_in_place(m4, 8192);
		CHECK(t == (mm_t)(void *)m4 && mm_malloc(t, 100) != NULL && mm_validate(t));
		const unsigned fixed_modes[] = {0, MM_FIXED_UNCHECKED, MM_FIXED_LOCKFREE};
		for (size_t i = 0; i < sizeof(fixed_modes) / sizeof(fixed_modes[0]); i++) {
			mm_error_t e = mm_fixed_create_error(m4, 4096, 12, 0, fixed_modes[i]);
			mm_fixed_t f = mm_fixed_create(m4, 4096, 12, 0, fixed_modes[i]);
			if ((fixed_modes[i] & MM_FIXED_LOCKFREE) && e == MM_ERR_BAD_ARGUMENT)
				continue; /* no lock-free compare-and-swap on this target */
			CHECK_MSG(e == MM_OK && f != NULL, "fixed mode %u: %s", fixed_modes[i], mm_error_string(e));
			void *b = mm_fixed_alloc(f);
			CHECK(b && ((uintptr_t)b & 3) == 0);
			mm_fixed_free(f, b);
			CHECK(mm_fixed_validate(f) && mm_fixed_available(f) == mm_fixed_capacity(f));
		}
		mm_heap_config cfg;
		CHECK(mm_heap_preset(MM_HEAP_PRESET_EMBEDDED, sizeof(mem) - 4, &cfg) == 1);
		CHECK(mm_heap_create_error(m4, sizeof(mem) - 4, &cfg) == MM_OK);
		mm_heap_t h = mm_heap_create(m4, sizeof(mem) - 4, &cfg);
		void *hp = mm_heap_malloc(h, 20);
		CHECK(h && hp && ((uintptr_t)hp & 3) == 0);
		mm_heap_free(h, hp);
		mm_stats st;
		CHECK(mm_heap_validate(h) && mm_get_stats(h, &st) && st.allocs == 1 && st.frees == 1);
	}
#endif
#ifdef KNOB_SL
	CHECK(MM_SL_COUNT == (1u << KNOB_SL));
	/* The second level really has 2^KNOB_SL classes: in [4096, 8192) one step is 4096 >> KNOB_SL. */
	void *p = mm_malloc(mm, 4096 + 1 - MM_W);
	CHECK(p && mm_block_size(p) + MM_W == 4096 + (4096 >> KNOB_SL));
	mm_free(mm, p);
#endif
#ifdef KNOB_FL
	/* Blocks are below 2^KNOB_FL; a larger pool is clamped, and a pool of exactly the largest block
	 * is used whole. */
	CHECK(mm_block_size_max() < ((size_t)1 << KNOB_FL));
	CHECK(mm_malloc(mm, mm_block_size_max() + 1) == NULL);
	mm_reset(mm);
	void *all = mm_malloc(mm, mm_block_size_max());
	CHECK(all != NULL);
	CHECK(mm_malloc(mm, ((size_t)1 << KNOB_FL)) == NULL);
	CHECK(mm_get_pool_for_ptr(mm, arena + sizeof(arena) - 64) == NULL); /* beyond the clamp */
	mm_free(mm, all);
	mm_t exact = mm_create(arena);
	CHECK(mm_add_pool(exact, arena + mm_size(), mm_block_size_max() + mm_pool_overhead()) != NULL);
	CHECK(mm_malloc(exact, mm_block_size_max()) != NULL && mm_validate(exact));
	mm = mm_create_with_pool(arena, sizeof(arena));
	record_errors(mm, &rec);
#endif
#ifdef KNOB_POOLS
	static _Alignas(64) unsigned char extra[KNOB_POOLS + 1][4096];
	for (int i = 1; i < KNOB_POOLS; i++)
		CHECK(mm_add_pool(mm, extra[i], sizeof(extra[i])) != NULL);
	CHECK(mm_add_pool(mm, extra[KNOB_POOLS], sizeof(extra[0])) == NULL && take_error(&rec) == MM_ERR_POOL_LIMIT);
#endif
#ifdef KNOB_CHECKS0
	/* No checks: a freed block's header is not looked at. */
	void *q = mm_malloc(mm, 100);
	mm_free(mm, q);
	CHECK(mm_block_size(q) != 0);
#endif
#ifdef KNOB_CHECKS1
	void *q = mm_malloc(mm, 100);
	mm_free(mm, q);
	CHECK(mm_block_size(q) == 0);
	mm_free(mm, q);
	CHECK(take_error(&rec) == MM_ERR_DOUBLE_FREE);
#endif
#ifdef KNOB_CHECKS2
	/* Full validation after every call: a bitmap bit without a list (in the last class, which the
	 * calls below never touch) is reported by the next ordinary call. */
	mm->sl_bitmap[MM_FL_COUNT - 1] |= (mm_slmap)1 << (MM_SL_COUNT - 1);
	CHECK(rec.count == 0);
	mm_free(mm, mm_malloc(mm, 16));
	CHECK(take_error(&rec) == MM_ERR_CORRUPTED_HEADER);
	mm->sl_bitmap[MM_FL_COUNT - 1] &= ~((mm_slmap)1 << (MM_SL_COUNT - 1));
#endif
#ifdef KNOB_NOSTDIO
	/* No stdio: the default walker prints nothing. */
	fflush(stdout);
	FILE *capture = tmpfile();
	int saved = dup(1);
	dup2(fileno(capture), 1);
	mm_walk_pool(mm_get_pool(mm), NULL, NULL);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	CHECK(ftell(capture) == 0 && lseek(fileno(capture), 0, SEEK_END) == 0);
	fclose(capture);
#endif
#ifdef KNOB_DEBUG
	/* Debug builds abort with a message on an error no handler takes. */
	fflush(stdout);
	int fds[2];
	CHECK(pipe(fds) == 0);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(fds[1], 2);
		mm_t h = mm_create_with_pool(arena, sizeof(arena));
		void *x = mm_malloc(h, 10);
		mm_free(h, x);
		mm_free(h, x);
		_exit(0); /* not reached */
	}
	close(fds[1]);
	char msg[256] = {0};
	ssize_t got = read(fds[0], msg, sizeof(msg) - 1);
	int status = 0;
	waitpid(pid, &status, 0);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
	CHECK(got > 0 && strstr(msg, "memoman: double free") != NULL);
#endif
#ifdef KNOB_OBSERVE0
	{
		/* MM_OBSERVE=0: no statistics, hooks or lock; allocation and error reporting as usual. */
		mm_stats st;
		CHECK(mm_get_stats(mm, &st) == 0);
		mm_set_hooks(mm, NULL, NULL, NULL);
		CHECK(take_error(&rec) == MM_ERR_NOT_BUILT);
		CHECK(mm_set_lock(mm, NULL, NULL, NULL) == 0 && mm_use_builtin_lock(mm) == 0);
		CHECK(mm_track_cycles(mm, 1) == 0);
		void *q = mm_malloc(mm, 100);
		CHECK(q != NULL && (q = mm_realloc(mm, q, 5000)) != NULL);
		mm_free(mm, q);
		mm_free(mm, q);
		CHECK(take_error(&rec) == MM_ERR_DOUBLE_FREE);
		CHECK(mm_malloc(NULL, 10) == NULL && mm_realloc(NULL, NULL, 10) == NULL);
	}
#endif
	{
		/* realloc with free blocks on both sides and nothing else free that fits: joined and moved
		 * down by default; NULL (the block untouched) with MM_REALLOC_BOTH_SIDES=0. Layout:
		 * [a 600 free][b 600][f0 free][f1..fn used to the pool's end]. */
		static _Alignas(64) unsigned char small[1 << 16];
		mm_t t = mm_create_with_pool(small, mm_size() + 4096);
		CHECK(t != NULL);
		if (!t)
			return check_summary("test_knobs");
		record_errors(t, &rec);
		void *a = mm_malloc(t, 600), *b = mm_malloc(t, 600), *fill[512];
		size_t n = 0;
		while (n < 512 && (fill[n] = mm_malloc(t, 16)) != NULL)
			n++;
		CHECK(a && b && n > 1 && n < 512 && (char *)a < (char *)b && (char *)b < (char *)fill[0]);
		memset(b, 0x5B, 600);
		mm_free(t, a);
		mm_free(t, fill[0]);
		void *r = mm_realloc(t, b, 1000);
#ifdef KNOB_BOTH_SIDES0
		CHECK(r == NULL && ((unsigned char *)b)[599] == 0x5B && mm_block_size(b) >= 600);
#else
		CHECK(r == a && ((unsigned char *)r)[0] == 0x5B && ((unsigned char *)r)[599] == 0x5B);
		CHECK(mm_block_size(r) >= 1000);
		b = r;
#endif
		CHECK(mm_validate(t));
		mm_free(t, b);
		for (size_t i = 1; i < n; i++)
			mm_free(t, fill[i]);
		CHECK(mm_validate(t) && rec.count == 0);
		record_errors(mm, &rec);
	}
#ifdef KNOB_CONFIG_HEADER
	CHECK(MM_MAX_POOLS == 3); /* set by tests/knob_config.h through MM_CONFIG_HEADER */
#endif
	CHECK(rec.count == 0);
	return check_summary("test_knobs");
}
