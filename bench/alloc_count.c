/*
 * alloc_count.c: an LD_PRELOAD shim that counts malloc, calloc, realloc and
 * posix_memalign calls and prints the counts when the process exits, so
 * bench/hotpath.sh can compare an nginx worker answering events with one
 * answering `return 202`.  Measurement only; never loaded in production.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
static unsigned long n_malloc, n_calloc, n_realloc, n_memalign;
static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static int (*real_memalign)(void **, size_t, size_t);
static char boot[65536]; static size_t boot_used;
void *malloc(size_t s) { if (!real_malloc) real_malloc = dlsym(RTLD_NEXT, "malloc"); n_malloc++; return real_malloc(s); }
void *calloc(size_t a, size_t b) { if (!real_calloc) { void *p = boot + boot_used; boot_used += (a*b + 15) & ~15UL; memset(p,0,a*b); real_calloc = dlsym(RTLD_NEXT, "calloc"); return p; } n_calloc++; return real_calloc(a, b); }
void *realloc(void *p, size_t s) { if (!real_realloc) real_realloc = dlsym(RTLD_NEXT, "realloc"); n_realloc++; return real_realloc(p, s); }
int posix_memalign(void **p, size_t a, size_t s) { if (!real_memalign) real_memalign = dlsym(RTLD_NEXT, "posix_memalign"); n_memalign++; return real_memalign(p, a, s); }
void free(void *p) { static void (*rf)(void *); if ((char*)p >= boot && (char*)p < boot + sizeof boot) return; if (!rf) rf = dlsym(RTLD_NEXT, "free"); rf(p); }
__attribute__((destructor)) static void dump(void) { char b[200]; int n = snprintf(b, sizeof b, "ALLOCS pid %d malloc %lu calloc %lu realloc %lu posix_memalign %lu\n", getpid(), n_malloc, n_calloc, n_realloc, n_memalign); write(2, b, n); }
