/* heap.c - (in progress) */
#include "observe.h"
void mm_heap_fill_stats(void *instance, mm_stats *out) { (void)instance; (void)out; }
void mm_heap_reset_counters(void *instance) { (void)instance; }
#if MM_HAVE_STDIO
void mm_heap_print_classes(void *instance, FILE *stream) { (void)instance; (void)stream; }
#endif
