// SPDX-License-Identifier: MIT
/*
 * test_links.c - a write after free into a free block's list links never steers the TLSF core (at
 * the default check level): no forged address is handed out, nothing is written through a forged
 * link, the misuse is reported as MM_ERR_CORRUPTED_LINK, and the instance stays usable.
 *
 * Each case writes into freed memory through the pointer the program kept, as a use-after-free bug
 * does: a pointer of the program's own (a global, another block), a copy of another free block's
 * link, a string. The same for a fixed pool's and a heap's class recycled lists (their checked
 * mode, the default). With MM_CHECKS == 0 links are not checked and this test checks nothing.
 */
#include "../src/tlsf_internal.h"
#include "check.h"
#include "memoman/fixed.h"
#include "memoman/heap.h"

static _Alignas(64) unsigned char arena[1 << 20];
static uintptr_t target[64]; /* where a forged link would lead: it must stay untouched */

#if MM_CHECKS >= 1

static mm_t fresh(recorded_errors *rec)
{
	memset(arena, 0, sizeof(arena));
	memset(target, 0, sizeof(target));
	mm_t mm = mm_create_with_pool(arena, sizeof(arena));
	record_errors(mm, rec);
	return mm;
}

static int inside_arena(const void *p)
{
	return (const unsigned char *)p >= arena && (const unsigned char *)p < arena + sizeof(arena);
}

static int target_untouched(void)
{
	for (size_t i = 0; i < sizeof(target) / sizeof(target[0]); i++)
		if (target[i])
			return 0;
	return 1;
}

/* Nothing reported since the damage was, but (MM_CHECKS=2) the periodic validation's finding: the
 * blocks of the list that was cut are free blocks in no list, until mm_reset. */
static int no_more_errors(const recorded_errors *rec)
{
	return rec->count == 0 || (MM_CHECKS >= 2 && rec->last == MM_ERR_CORRUPTED_HEADER);
}

/* After the damage: a few hundred operations of every size, each block inside the arena and its
 * contents kept; then mm_reset makes the instance whole again. */
static void still_usable(mm_t mm, const char *what)
{
	void *live[200] = {0};
	uint64_t s = 7;
	for (int i = 0; i < 2000; i++) {
		s = s * 6364136223846793005ull + 1442695040888963407ull;
		size_t k = (size_t)(s >> 33) % 200;
		if (live[k]) {
			CHECK_MSG(*(unsigned char *)live[k] == (unsigned char)k, "%s: contents kept", what);
			mm_free(mm, live[k]);
			live[k] = NULL;
		} else {
			size_t n = 16 + (size_t)(s >> 40) % 3000;
			live[k] = mm_malloc(mm, n);
			if (live[k]) {
				CHECK_MSG(inside_arena(live[k]), "%s: a block outside the arena", what);
				memset(live[k], (int)k, n);
			}
		}
	}
	for (size_t k = 0; k < 200; k++)
		mm_free(mm, live[k]);
	CHECK_MSG(target_untouched(), "%s: written through a forged link", what);
	CHECK_MSG(mm_reset(mm) && mm_validate(mm), "%s: whole again after mm_reset", what);
}

/* x0 a x1 b x2: a and b free in one class (b first in its list, then a), kept apart by used blocks. */
typedef struct {
	unsigned char *x[3], *a, *b;
} layout;

static layout two_free(mm_t mm, size_t size)
{
	layout l;
	l.x[0] = mm_malloc(mm, 32);
	l.a = mm_malloc(mm, size);
	l.x[1] = mm_malloc(mm, 32);
	l.b = mm_malloc(mm, size);
	l.x[2] = mm_malloc(mm, 32);
	mm_free(mm, l.a);
	mm_free(mm, l.b);
	return l;
}

/* A write into b's first word (its next_free), then the allocations that pop b and its successor. */
static void forged_next(size_t size, uintptr_t forged, const char *what)
{
	recorded_errors rec;
	mm_t mm = fresh(&rec);
	layout l = two_free(mm, size);
	memcpy(l.b, &forged, sizeof(forged)); /* the use after free */
	void *p1 = mm_malloc(mm, size);
	void *p2 = mm_malloc(mm, size);
	CHECK_MSG(p1 == l.b, "%s: the head itself is still good", what);
	CHECK_MSG(!p2 || inside_arena(p2), "%s: handed out a forged address %p", what, p2);
	CHECK_MSG((uintptr_t)p2 != forged + 2 * sizeof(size_t) && p2 != (void *)target, "%s: the forged block", what);
	CHECK_MSG(rec.count == 1 && rec.last == MM_ERR_CORRUPTED_LINK, "%s: %d errors, last %s", what, rec.count,
	          mm_error_string(rec.last));
	take_error(&rec);
	still_usable(mm, what);
	CHECK_MSG(no_more_errors(&rec), "%s: %d more errors, last %s", what, rec.count, mm_error_string(rec.last));
}

/* A write into a's links (a is b's successor in the list), then the free of a's neighbour: the
 * merge unlinks a, and would write through them. */
static void forged_on_merge(size_t size, int word, const char *what)
{
	recorded_errors rec;
	mm_t mm = fresh(&rec);
	layout l = two_free(mm, size);
	uintptr_t forged = (uintptr_t)&target[8];
	memcpy(l.a + (size_t)word * sizeof(uintptr_t), &forged, sizeof(forged));
	mm_free(mm, l.x[1]); /* merges with a (before it) and b (after it) */
	CHECK_MSG(target_untouched(), "%s: written through a forged link", what);
	/* The merge unlinks both neighbours: a forged link of a's may be met from b's side first (b's
	 * successor does not link back), then again from a's own. */
	CHECK_MSG(rec.count >= 1 && rec.count <= 2 && rec.last == MM_ERR_CORRUPTED_LINK, "%s: %d errors, last %s", what,
	          rec.count, mm_error_string(rec.last));
	rec.count = 0;
	still_usable(mm, what);
	CHECK_MSG(no_more_errors(&rec), "%s: %d more errors, last %s", what, rec.count, mm_error_string(rec.last));
}

static void test_forged_next(void)
{
	static unsigned char other_buffer[256];
	forged_next(64, (uintptr_t)target, "small block, a global's address");
	forged_next(64, (uintptr_t)other_buffer, "small block, another global");
	forged_next(64, 0, "small block, zeroed");
	forged_next(64, 0x4141414141414141ull & UINTPTR_MAX, "small block, a string's bytes");
	forged_next(256 * 1024, (uintptr_t)target, "256 KiB block, a global's address");
	/* A pointer the program holds to another block of the same pool: the likeliest stale write (a
	 * freed list node's `next` field). */
	recorded_errors rec;
	mm_t mm = fresh(&rec);
	layout l = two_free(mm, 96);
	memcpy(l.b, &l.x[2], sizeof(void *));
	CHECK(mm_malloc(mm, 96) == l.b);
	void *p2 = mm_malloc(mm, 96);
	CHECK(p2 != l.x[2] && (!p2 || inside_arena(p2)));
	CHECK(rec.count == 1 && take_error(&rec) == MM_ERR_CORRUPTED_LINK);
	still_usable(mm, "a pointer to a live block of the pool");
	/* A copy of another free block's link word: valid where it was, not where it is copied to. */
	mm = fresh(&rec);
	unsigned char *c = mm_malloc(mm, 96 + 200); /* a third free block, another list */
	layout m = two_free(mm, 96);
	CHECK(c != NULL);
	mm_free(mm, c);
	memcpy(m.b, c, sizeof(void *));
	CHECK(mm_malloc(mm, 96) == m.b);
	p2 = mm_malloc(mm, 96);
	CHECK(rec.count == 1 && take_error(&rec) == MM_ERR_CORRUPTED_LINK);
	CHECK(!p2 || inside_arena(p2));
	still_usable(mm, "a copied link");
}

static void test_forged_on_merge(void)
{
	forged_on_merge(64, 0, "next_free of a small block, merged");
	forged_on_merge(64, 1, "prev_link of a small block, merged");
	forged_on_merge(256 * 1024, 0, "next_free of a 256 KiB block, merged");
	forged_on_merge(256 * 1024, 1, "prev_link of a 256 KiB block, merged");
}

/* realloc grows into a free successor (unlinking it); memalign's search pops lists too. */
static void test_other_paths(void)
{
	recorded_errors rec;
	mm_t mm = fresh(&rec);
	unsigned char *p = mm_malloc(mm, 100);
	unsigned char *n = mm_malloc(mm, 400);
	void *guard = mm_malloc(mm, 32);
	CHECK(p && n && guard);
	mm_free(mm, n);
	uintptr_t forged = (uintptr_t)&target[4];
	memcpy(n + sizeof(uintptr_t), &forged, sizeof(forged));
	CHECK(mm_realloc(mm, p, 300) != NULL);
	CHECK(target_untouched());
	CHECK(rec.count == 1 && take_error(&rec) == MM_ERR_CORRUPTED_LINK);
	still_usable(mm, "realloc into a forged free successor");

	mm = fresh(&rec);
	layout l = two_free(mm, 5000);
	memcpy(l.b, &forged, sizeof(forged));
	void *q1 = mm_memalign(mm, 64, 4000);
	void *q2 = mm_memalign(mm, 64, 4000);
	CHECK((!q1 || inside_arena(q1)) && (!q2 || inside_arena(q2)));
	CHECK(rec.count == 1 && take_error(&rec) == MM_ERR_CORRUPTED_LINK);
	still_usable(mm, "memalign over a forged link");
}

/* mm_set_secret re-seals the lists that exist: the instance goes on as before, and a forged link is
 * caught as before. */
static void test_secret(void)
{
	recorded_errors rec;
	mm_t mm = fresh(&rec);
	void *keep[50];
	for (int i = 0; i < 50; i++)
		keep[i] = mm_malloc(mm, 16 + (size_t)i * 40);
	for (int i = 0; i < 50; i += 2)
		mm_free(mm, keep[i]);
	mm_set_secret(mm, (uintptr_t)0x1234567887654321ull);
	CHECK(mm_validate(mm) && rec.count == 0);
	for (int i = 0; i < 50; i += 2)
		CHECK((keep[i] = mm_malloc(mm, 16 + (size_t)i * 40)) != NULL && inside_arena(keep[i]));
	CHECK(mm_validate(mm) && rec.count == 0);
	for (int i = 0; i < 50; i++)
		mm_free(mm, keep[i]);
	CHECK(mm_validate(mm) && rec.count == 0);
	layout l = two_free(mm, 64);
	uintptr_t forged = (uintptr_t)target;
	memcpy(l.b, &forged, sizeof(forged));
	CHECK(mm_malloc(mm, 64) == l.b);
	void *p2 = mm_malloc(mm, 64);
	CHECK(!p2 || inside_arena(p2));
	CHECK(rec.count == 1 && take_error(&rec) == MM_ERR_CORRUPTED_LINK);
}

/* The setters' bad input: NULL and destroyed instances are ignored, reporting nothing; a live
 * instance next to them is untouched and valid. */
static void test_secret_bad_input(void)
{
	recorded_errors rec;
	mm_set_secret(NULL, 1);
	mm_fixed_set_secret(NULL, 1);
	mm_heap_set_secret(NULL, 1);

	mm_t mm = fresh(&rec);
	void *p = mm_malloc(mm, 100);
	mm_free(mm, mm_malloc(mm, 300));
	mm_destroy(mm);
	mm_set_secret(mm, 7); /* destroyed: ignored, its memory unchanged */
	CHECK(((mm_control *)(void *)mm)->link_key != 7);
	mm = fresh(&rec);
	p = mm_malloc(mm, 100);
	mm_free(mm, mm_malloc(mm, 300));
	mm_set_secret(mm, 7);
	CHECK(rec.count == 0 && mm_validate(mm));
	mm_free(mm, p);
	CHECK(rec.count == 0 && mm_validate(mm));

	memset(arena, 0, sizeof(arena));
	mm_fixed_t f = mm_fixed_create(arena, 1 << 16, 48, 16, 0);
	recorded_errors frec;
	record_errors(f, &frec);
	void *b = mm_fixed_alloc(f);
	mm_fixed_free(f, mm_fixed_alloc(f));
	mm_fixed_set_secret(f, 9);
	CHECK(frec.count == 0 && mm_fixed_validate(f));
	mm_fixed_free(f, b);
	CHECK(frec.count == 0 && mm_fixed_validate(f));
	mm_fixed_destroy(f);
	mm_fixed_set_secret(f, 11); /* ignored */

	memset(arena, 0, sizeof(arena));
	mm_heap_config cfg = {0};
	cfg.n_classes = 1;
	cfg.classes[0] = (mm_heap_class_config){48, 32};
	cfg.remainder = 4096;
	mm_heap_t h = mm_heap_create(arena, mm_heap_size(&cfg), &cfg);
	recorded_errors hrec;
	record_errors(h, &hrec);
	void *c = mm_heap_malloc(h, 40), *r = mm_heap_malloc(h, 2000);
	mm_heap_free(h, mm_heap_malloc(h, 40));
	mm_heap_free(h, mm_heap_malloc(h, 1000));
	mm_heap_set_secret(h, 13);
	CHECK(hrec.count == 0 && mm_heap_validate(h));
	mm_heap_free(h, c);
	mm_heap_free(h, r);
	CHECK(hrec.count == 0 && mm_heap_validate(h));
	mm_heap_destroy(h);
	mm_heap_set_secret(h, 15); /* ignored */
}

/* A fixed pool, or a heap's class: b's link (b freed last, heading the recycled list) overwritten;
 * the next two allocations return b, then a block of the pool or NULL, never the forged address. */
typedef void *(*alloc_fn)(void *instance);
typedef void (*free_fn)(void *instance, void *ptr);

static void *fixed_alloc(void *p) { return mm_fixed_alloc((mm_fixed_t)p); }
static void fixed_free(void *p, void *ptr) { mm_fixed_free((mm_fixed_t)p, ptr); }
static void *heap_alloc(void *h) { return mm_heap_malloc((mm_heap_t)h, 48); }
static void heap_free(void *h, void *ptr) { mm_heap_free((mm_heap_t)h, ptr); }

static void recycled_list(void *instance, alloc_fn take, free_fn give, uintptr_t forged, const char *what)
{
	recorded_errors rec;
	record_errors(instance, &rec);
	void *blocks[6];
	for (int i = 0; i < 6; i++)
		CHECK((blocks[i] = take(instance)) != NULL);
	give(instance, blocks[1]);
	give(instance, blocks[3]);
	give(instance, blocks[4]);
	memcpy(blocks[4], &forged, sizeof(forged));
	void *p1 = take(instance);
	void *p2 = take(instance);
	CHECK_MSG(p1 == blocks[4], "%s: the head itself is still good", what);
	CHECK_MSG(!p2 || inside_arena(p2), "%s: handed out a forged address %p", what, p2);
	CHECK_MSG(rec.count == 1 && rec.last == MM_ERR_CORRUPTED_LINK, "%s: %d errors, last %s", what, rec.count,
	          mm_error_string(rec.last));
	rec.count = 0;
	/* Usable: what is given back is taken again (the blocks after the broken link stay lost). */
	give(instance, p1);
	CHECK_MSG(take(instance) == p1 && rec.count == 0, "%s: usable after", what);
	CHECK(target_untouched());
}

static void test_pools(void)
{
	static unsigned char other_buffer[64];
	uintptr_t forged[] = {(uintptr_t)target, (uintptr_t)other_buffer, 0, 0x4141414141414141ull & UINTPTR_MAX};
	for (size_t i = 0; i < sizeof(forged) / sizeof(forged[0]); i++) {
		memset(arena, 0, sizeof(arena));
		mm_fixed_t p = mm_fixed_create(arena, 1 << 16, 48, 16, 0);
		CHECK(p != NULL);
		recycled_list(p, fixed_alloc, fixed_free, forged[i], "fixed pool");
		mm_fixed_t q = mm_fixed_create(arena, 1 << 16, 48, 16, 0);
		mm_fixed_set_secret(q, (uintptr_t)0xA5A5A5A5u + i);
		recycled_list(q, fixed_alloc, fixed_free, forged[i], "fixed pool, secret set");

		memset(arena, 0, sizeof(arena));
		mm_heap_config cfg = {0};
		cfg.n_classes = 2;
		cfg.classes[0] = (mm_heap_class_config){48, 32};
		cfg.classes[1] = (mm_heap_class_config){256, 8};
		cfg.remainder = 4096;
		mm_heap_t h = mm_heap_create(arena, mm_heap_size(&cfg), &cfg);
		CHECK(h != NULL);
		recycled_list(h, heap_alloc, heap_free, forged[i], "heap class");
		h = mm_heap_create(arena, mm_heap_size(&cfg), &cfg);
		mm_heap_set_secret(h, (uintptr_t)0x5A5A5A5Au + i);
		recycled_list(h, heap_alloc, heap_free, forged[i], "heap class, secret set");
	}
	/* A block of the same pool, which the pool would accept as a block: sealed, it unseals to none. */
	memset(arena, 0, sizeof(arena));
	mm_fixed_t p = mm_fixed_create(arena, 1 << 16, 48, 16, 0);
	void *live = mm_fixed_alloc(p);
	recycled_list(p, fixed_alloc, fixed_free, (uintptr_t)live, "fixed pool, a live block's address");
}

int main(void)
{
	test_pools();
	test_forged_next();
	test_forged_on_merge();
	test_other_paths();
	test_secret();
	test_secret_bad_input();
	return check_summary("test_links");
}

#else

int main(void)
{
	printf("test_links: MM_CHECKS=0 checks no links\n");
	return 0;
}

#endif
