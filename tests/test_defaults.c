// SPDX-License-Identifier: MIT
/*
 * test_defaults.c - safe by default: every kind of instance a user makes with the defaults (a TLSF
 * instance, a fixed pool, a heap from each preset, from mm_heap_required_size and from
 * mm_heap_suggest_config) reports a double free, a foreign and an interior pointer through the
 * error handler and mm_last_error, and refuses it: the same block is never handed out twice. The
 * opt-out (MM_FIXED_UNCHECKED) is explicit and smaller. Every constructor that can fail says why.
 */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "memoman.h"

static _Alignas(64) unsigned char buf[512 * 1024];
static unsigned char outside[64];

/* The misuse every default instance must catch, given its allocate and free. A block of `size`
 * bytes is allocated, freed twice (the second reported as a double free, mm_last_error too), then
 * two allocations of the same size must be two different blocks. */
typedef void *(*alloc_fn)(void *instance, size_t size);
typedef void (*free_fn)(void *instance, void *ptr);

static void *heap_alloc(void *h, size_t n) { return mm_heap_malloc((mm_heap_t)h, n); }
static void heap_free(void *h, void *p) { mm_heap_free((mm_heap_t)h, p); }
static void *fixed_alloc(void *f, size_t n)
{
	(void)n;
	return mm_fixed_alloc((mm_fixed_t)f);
}
static void fixed_free(void *f, void *p) { mm_fixed_free((mm_fixed_t)f, p); }
static void *tlsf_alloc(void *m, size_t n) { return mm_malloc((mm_t)m, n); }
static void tlsf_free(void *m, void *p) { mm_free((mm_t)m, p); }

static void misuse_caught(const char *what, void *instance, alloc_fn a, free_fn f, size_t size, mm_error_t interior)
{
	recorded_errors r;
	record_errors(instance, &r);
	unsigned char *p = a(instance, size);
	CHECK_MSG(p != NULL, "%s: allocation", what);
	if (!p)
		return;
	f(instance, p);
	CHECK_MSG(r.count == 0, "%s: a valid free reported", what);
	f(instance, p);
	CHECK_MSG(r.count == 1 && r.last == MM_ERR_DOUBLE_FREE && r.last_ptr == p, "%s: double free: %d errors, %s",
	          what, r.count, mm_error_string(r.last));
	CHECK_MSG(mm_last_error(instance) == MM_ERR_DOUBLE_FREE, "%s: mm_last_error", what);
	void *x = a(instance, size), *y = a(instance, size);
	CHECK_MSG(x && y && x != y, "%s: the same block handed out twice after a double free", what);

	/* A foreign pointer and an interior one. */
	(void)take_error(&r);
	f(instance, outside + 16);
	CHECK_MSG(take_error(&r) == MM_ERR_INVALID_POINTER, "%s: foreign pointer", what);
	f(instance, (unsigned char *)x + 8);
	mm_error_t e = take_error(&r);
	CHECK_MSG(e == interior, "%s: interior pointer: %s", what, mm_error_string(e));
	f(instance, x);
	f(instance, y);
	CHECK_MSG(r.count == 0, "%s: valid frees reported", what);
	mm_set_error_handler(instance, NULL, NULL);
}

static void test_presets(void)
{
	static const mm_heap_preset_kind kinds[] = {MM_HEAP_PRESET_AUDIO, MM_HEAP_PRESET_ROBOTICS,
	                                            MM_HEAP_PRESET_NETWORKING, MM_HEAP_PRESET_EMBEDDED};
	static const char *names[] = {"audio", "robotics", "networking", "embedded"};
	for (size_t k = 0; k < 4; k++) {
		size_t bytes = kinds[k] == MM_HEAP_PRESET_EMBEDDED ? 8 * 1024 : sizeof(buf);
		mm_heap_config cfg;
		CHECK_MSG(mm_heap_preset(kinds[k], bytes, &cfg) == 1, "%s preset", names[k]);
		/* Detection on by default, and the preset still fits its buffer with it. */
		CHECK_MSG(cfg.flags == 0 && mm_heap_size(&cfg) <= bytes, "%s preset fits", names[k]);
		mm_heap_config explicit_cfg = cfg;
		explicit_cfg.flags = MM_FIXED_BITMAP;
		CHECK_MSG(mm_heap_size(&explicit_cfg) == mm_heap_size(&cfg), "%s: MM_FIXED_BITMAP is the default",
		          names[k]);
		mm_heap_t h = mm_heap_create(buf, bytes, &explicit_cfg);
		CHECK_MSG(h != NULL, "%s preset with MM_FIXED_BITMAP created", names[k]);
		h = mm_heap_create(buf, bytes, &cfg);
		CHECK_MSG(h != NULL, "%s preset created", names[k]);
		if (!h)
			continue;
		misuse_caught(names[k], h, heap_alloc, heap_free, 40, MM_ERR_INTERIOR_POINTER);
		CHECK(mm_heap_validate(h));
		/* The opt-out is explicit and takes less memory. */
		mm_heap_config unchecked = cfg;
		unchecked.flags = MM_FIXED_UNCHECKED;
		CHECK_MSG(mm_heap_size(&unchecked) < mm_heap_size(&cfg), "%s: unchecked is smaller", names[k]);
	}
}

static void test_sized_heaps(void)
{
	mm_heap_workload w[] = {{48, 32}, {4096, 8}};
	mm_heap_config cfg;
	size_t need = mm_heap_required_size(w, 2, &cfg);
	CHECK(need > 0 && need <= sizeof(buf) && cfg.flags == 0);
	mm_heap_t h = mm_heap_create(buf, need, &cfg);
	CHECK(h != NULL);
	if (h)
		misuse_caught("required_size", h, heap_alloc, heap_free, 48, MM_ERR_INTERIOR_POINTER);

	CHECK(mm_heap_suggest_config(w, 2, 0, &cfg) == 1 && cfg.flags == 0);
	h = mm_heap_create(buf, sizeof(buf), &cfg);
	CHECK(h != NULL);
	if (h)
		misuse_caught("suggest_config", h, heap_alloc, heap_free, 48, MM_ERR_INTERIOR_POINTER);

	/* The guarantee holds with detection on: every block the workload allows, in a buffer of exactly
	 * the size it asked for. */
	need = mm_heap_required_size(w, 2, &cfg);
	h = mm_heap_create(buf, need, &cfg);
	void *live[40];
	for (size_t i = 0; i < 40; i++) {
		live[i] = mm_heap_malloc(h, i < 32 ? 48 : 4096);
		CHECK_MSG(live[i] != NULL, "required_size: block %zu", i);
	}
	for (size_t i = 0; i < 40; i++)
		mm_heap_free(h, live[i]);
	CHECK(mm_heap_validate(h) && mm_last_error(h) == MM_OK);
}

static void test_fixed_and_tlsf(void)
{
	mm_fixed_t f = mm_fixed_create(buf, 8192, 64, 0, 0);
	CHECK(f != NULL);
	if (f)
		misuse_caught("fixed pool", f, fixed_alloc, fixed_free, 64, MM_ERR_INTERIOR_POINTER);
	/* The bitmap costs memory: with 16 * mm_align_size() blocks it is two alignment steps long, so the
	 * rounding of the pool's head to mm_align_size() cannot hide it. */
	const size_t many = 16 * mm_align_size();
	CHECK(mm_fixed_size(many, 64, 0, MM_FIXED_UNCHECKED) < mm_fixed_size(many, 64, 0, 0));
	CHECK(mm_fixed_size(64, 64, 0, MM_FIXED_BITMAP) == mm_fixed_size(64, 64, 0, 0));
	CHECK(mm_fixed_size(64, 64, 0, MM_FIXED_BITMAP | MM_FIXED_UNCHECKED) == 0);

	/* The opt-out: an unchecked pool takes a double free silently (undefined behaviour: only that
	 * nothing is reported is asserted, and the pool is not used again). */
	f = mm_fixed_create(buf, 8192, 64, 0, MM_FIXED_UNCHECKED);
	recorded_errors r;
	record_errors(f, &r);
	void *p = mm_fixed_alloc(f);
	mm_fixed_free(f, p);
	mm_fixed_free(f, p);
	CHECK(r.count == 0 && mm_last_error(f) == MM_OK);

	/* An unchecked heap: still catches foreign and interior pointers (MM_CHECKS >= 1), not a double
	 * free of a class block. */
	mm_heap_config cfg;
	CHECK(mm_heap_preset(MM_HEAP_PRESET_AUDIO, sizeof(buf), &cfg) == 1);
	cfg.flags = MM_FIXED_UNCHECKED;
	mm_heap_t h = mm_heap_create(buf, sizeof(buf), &cfg);
	CHECK(h != NULL);
	record_errors(h, &r);
	unsigned char *q = mm_heap_malloc(h, 40);
	mm_heap_free(h, outside + 16);
	CHECK(take_error(&r) == MM_ERR_INVALID_POINTER);
	mm_heap_free(h, q + 8);
	CHECK(take_error(&r) == MM_ERR_INTERIOR_POINTER);
	mm_heap_free(h, q);
	mm_heap_free(h, q);
	CHECK(r.count == 0);

	mm_t mm = mm_create_with_pool(buf, sizeof(buf));
	CHECK(mm != NULL);
	if (mm)
		misuse_caught("tlsf", mm, tlsf_alloc, tlsf_free, 100, MM_ERR_INTERIOR_POINTER);
}

static void test_constructor_errors(void)
{
	CHECK(mm_create_error(buf, sizeof(buf)) == MM_OK);
	CHECK(mm_create_error(NULL, sizeof(buf)) == MM_ERR_BAD_ARGUMENT);
	CHECK(mm_create_error(buf + 1, sizeof(buf) - 1) == MM_ERR_MISALIGNED);
	CHECK(mm_create_error(buf, mm_size()) == MM_ERR_TOO_SMALL);
	CHECK(mm_create_error(buf, 16) == MM_ERR_TOO_SMALL);
	CHECK(mm_create_error(buf, opaque_size(SIZE_MAX)) == MM_ERR_BAD_ARGUMENT);
	CHECK(mm_create_with_pool(buf, mm_size()) == NULL);
	/* The boundary: the smallest size that works is the one mm_create_error accepts. */
	size_t n = mm_size();
	while (mm_create_error(buf, n) != MM_OK)
		n += sizeof(size_t);
	CHECK(mm_create_with_pool(buf, n) != NULL && mm_create_with_pool(buf, n - sizeof(size_t)) == NULL);

	CHECK(mm_fixed_create_error(buf, 4096, 32, 0, 0) == MM_OK);
	CHECK(mm_fixed_create_error(NULL, 4096, 32, 0, 0) == MM_ERR_BAD_ARGUMENT);
	CHECK(mm_fixed_create_error(buf, 4096, 32, 24, 0) == MM_ERR_BAD_ARGUMENT);
	CHECK(mm_fixed_create_error(buf, 4096, 32, 0, 64u) == MM_ERR_BAD_ARGUMENT);
	CHECK(mm_fixed_create_error(buf + _Alignof(void *) / 2, 4096, 32, 0, 0) == MM_ERR_MISALIGNED);
	CHECK(mm_fixed_create_error(buf, 40, 32, 0, 0) == MM_ERR_TOO_SMALL);
	CHECK(mm_fixed_create(buf, 40, 32, 0, 0) == NULL);

	mm_heap_config cfg;
	CHECK(mm_heap_preset(MM_HEAP_PRESET_AUDIO, sizeof(buf), &cfg) == 1);
	CHECK(mm_heap_create_error(buf, sizeof(buf), &cfg) == MM_OK);
	CHECK(mm_heap_create_error(NULL, sizeof(buf), &cfg) == MM_ERR_BAD_ARGUMENT);
	CHECK(mm_heap_create_error(buf, sizeof(buf), NULL) == MM_ERR_BAD_ARGUMENT);
	CHECK(mm_heap_create_error(buf + mm_align_size() / 2, sizeof(buf) - mm_align_size() / 2, &cfg) ==
	      MM_ERR_MISALIGNED);
	CHECK(mm_heap_create_error(buf, mm_heap_size(&cfg) - 1, &cfg) == MM_ERR_TOO_SMALL);
	CHECK(mm_heap_create(buf, mm_heap_size(&cfg) - 1, &cfg) == NULL);
	mm_heap_config bad = cfg;
	bad.classes[1].size = bad.classes[0].size; /* not increasing */
	CHECK(mm_heap_create_error(buf, sizeof(buf), &bad) == MM_ERR_BAD_CONFIG);
	bad = cfg;
	bad.flags = MM_FIXED_BITMAP | MM_FIXED_UNCHECKED;
	CHECK(mm_heap_create_error(buf, sizeof(buf), &bad) == MM_ERR_BAD_CONFIG);

	CHECK(mm_heap_preset_error(MM_HEAP_PRESET_AUDIO, sizeof(buf)) == MM_OK);
	CHECK(mm_heap_preset_error(MM_HEAP_PRESET_AUDIO, 1024) == MM_ERR_TOO_SMALL);
	CHECK(mm_heap_preset(MM_HEAP_PRESET_AUDIO, 1024, &cfg) == 0);
	CHECK(mm_heap_preset_error((mm_heap_preset_kind)99, sizeof(buf)) == MM_ERR_BAD_ARGUMENT);

	/* Every new code has a name. */
	CHECK(strcmp(mm_error_string(MM_ERR_BAD_ARGUMENT), "unknown error") != 0);
	CHECK(strcmp(mm_error_string(MM_ERR_MISALIGNED), "unknown error") != 0);
	CHECK(strcmp(mm_error_string(MM_ERR_TOO_SMALL), "unknown error") != 0);
	CHECK(strcmp(mm_error_string(MM_ERR_BAD_CONFIG), "unknown error") != 0);
}

static void test_bad_alignment(void)
{
	mm_t mm = mm_create_with_pool(buf, sizeof(buf));
	recorded_errors r;
	record_errors(mm, &r);
	CHECK(mm_memalign(mm, opaque_size(48), 64) == NULL);
	CHECK(take_error(&r) == MM_ERR_BAD_ARGUMENT && mm_last_error(mm) == MM_ERR_BAD_ARGUMENT);
	CHECK(mm_memalign(mm, opaque_size(0), 64) == NULL);
	CHECK(take_error(&r) == MM_ERR_BAD_ARGUMENT);
	void *p = mm_memalign(mm, 64, 64);
	CHECK(p != NULL && r.count == 0);
	mm_free(mm, p);
	CHECK(mm_validate(mm));

	mm_heap_config cfg;
	CHECK(mm_heap_preset(MM_HEAP_PRESET_ROBOTICS, sizeof(buf), &cfg) == 1);
	mm_heap_t h = mm_heap_create(buf, sizeof(buf), &cfg);
	record_errors(h, &r);
	CHECK(mm_heap_memalign(h, opaque_size(96), 64) == NULL);
	CHECK(take_error(&r) == MM_ERR_BAD_ARGUMENT);
	CHECK(mm_heap_validate(h));
}

int main(void)
{
	test_presets();
	test_sized_heaps();
	test_fixed_and_tlsf();
	test_constructor_errors();
	test_bad_alignment();
	return check_summary("test_defaults");
}
