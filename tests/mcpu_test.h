/*
 * mcpu_test.h: the header-only harness of mcpu's C unit tests.
 *
 * A test file defines its tests, lists them and lets the harness run them:
 *
 *     static void
 *     test_ring_full_lane_is_refused(const char *dir)
 *     {
 *         ...
 *         CHECK_EQ_INT(rc, MCPU_RING_FULL);
 *     }
 *
 *     TEST_LIST = {
 *         { "test_ring_full_lane_is_refused", test_ring_full_lane_is_refused },
 *         { NULL, NULL }
 *     };
 *
 *     MCPU_TEST_MAIN()
 *
 * Each test gets a scratch directory of its own (mkdtemp under $TMPDIR or
 * /tmp), removed with everything in it once the test returns.  A failed
 * CHECK prints file:line and the values, marks the running test failed and
 * carries on; every CHECK evaluates to 1 or 0, so a test that cannot go on
 * writes "if (!CHECK(...)) return;".  CHECKs work in the test's own process
 * only: a forked child reports through its exit status or a pipe, and ends
 * with _exit so that it never flushes or runs the parent's state.
 *
 * The binary runs every test, or only those named on the command line, prints
 * "ok NAME" or "FAIL NAME" for each, then the line "N passed, N failed", and
 * exits with status 1 if anything failed.  Lines starting with "#" are
 * diagnostics.
 *
 * Parameters come from the environment, so no test needs a sleep or a fixed
 * size: MCPU_TEST_SCALE multiplies loop counts (mcpu_test_scaled(), e.g. 0.05
 * under valgrind) and MCPU_TEST_SEED fixes the seed of mcpu_test_seed(), which
 * is printed at start so a failing run can be repeated.
 */

#ifndef MCPU_TEST_H
#define MCPU_TEST_H

#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>


/* failure messages printed per test before the rest are only counted */
#define MCPU_TEST_MAX_MESSAGES  20


typedef void (*mcpu_test_fn_t)(const char *dir);

typedef struct {
    const char      *name;
    mcpu_test_fn_t   fn;
} mcpu_test_t;


/* the state of the running test; static, so each test binary has its own */
static unsigned     mcpu_test_failures;
static uint64_t     mcpu_test_seed_value;


#define TEST_LIST  static const mcpu_test_t mcpu_test_list[]


static inline int
mcpu_test_fail_begin(const char *file, int line)
{
    mcpu_test_failures++;

    if (mcpu_test_failures > MCPU_TEST_MAX_MESSAGES) {
        return 0;
    }

    printf("#   %s:%d: ", file, line);
    return 1;
}


static inline int
mcpu_test_check(int ok, const char *file, int line, const char *expr)
{
    if (!ok && mcpu_test_fail_begin(file, line)) {
        printf("CHECK(%s) failed\n", expr);
    }

    return ok;
}


static inline int
mcpu_test_check_u64(uint64_t a, uint64_t b, const char *file, int line,
    const char *ea, const char *eb)
{
    if (a != b && mcpu_test_fail_begin(file, line)) {
        printf("%s == %s failed: %" PRIu64 " (0x%" PRIx64 ") != %" PRIu64
               " (0x%" PRIx64 ")\n", ea, eb, a, a, b, b);
    }

    return a == b;
}


static inline int
mcpu_test_check_int(long long a, long long b, const char *file, int line,
    const char *ea, const char *eb)
{
    if (a != b && mcpu_test_fail_begin(file, line)) {
        printf("%s == %s failed: %lld != %lld\n", ea, eb, a, b);
    }

    return a == b;
}


static inline int
mcpu_test_check_str(const char *a, const char *b, int contains,
    const char *file, int line, const char *ea, const char *eb)
{
    int  ok;

    if (a == NULL || b == NULL) {
        ok = a == b && !contains;

    } else {
        ok = contains ? strstr(a, b) != NULL : strcmp(a, b) == 0;
    }

    if (!ok && mcpu_test_fail_begin(file, line)) {
        printf("%s %s %s failed: \"%s\" vs \"%s\"\n", ea,
               contains ? "contains" : "==", eb, a ? a : "(null)",
               b ? b : "(null)");
    }

    return ok;
}


static inline int
mcpu_test_check_mem(const void *a, const void *b, size_t n, const char *file,
    int line, const char *ea, const char *eb)
{
    size_t               i;
    const unsigned char *pa = a, *pb = b;

    for (i = 0; i < n; i++) {
        if (pa[i] != pb[i]) {
            break;
        }
    }

    if (i < n && mcpu_test_fail_begin(file, line)) {
        printf("%s == %s (%zu bytes) failed: first difference at byte %zu: "
               "0x%02x != 0x%02x\n", ea, eb, n, i, pa[i], pb[i]);
    }

    return i == n;
}


static inline int
mcpu_test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline int
mcpu_test_fail(const char *file, int line, const char *fmt, ...)
{
    va_list  ap;

    if (mcpu_test_fail_begin(file, line)) {
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        printf("\n");
    }

    return 0;
}


/* a failure in the test's own words; evaluates to 0 */
#define FAIL_MSG(...)  mcpu_test_fail(__FILE__, __LINE__, __VA_ARGS__)

#define CHECK(cond)                                                           \
    mcpu_test_check(!!(cond), __FILE__, __LINE__, #cond)

#define CHECK_EQ_U64(a, b)                                                    \
    mcpu_test_check_u64((uint64_t) (a), (uint64_t) (b), __FILE__, __LINE__,   \
                        #a, #b)

#define CHECK_EQ_INT(a, b)                                                    \
    mcpu_test_check_int((long long) (a), (long long) (b), __FILE__, __LINE__, \
                        #a, #b)

#define CHECK_STR_EQ(a, b)                                                    \
    mcpu_test_check_str((a), (b), 0, __FILE__, __LINE__, #a, #b)

#define CHECK_STR_CONTAINS(haystack, needle)                                  \
    mcpu_test_check_str((haystack), (needle), 1, __FILE__, __LINE__,          \
                        #haystack, #needle)

#define CHECK_MEM_EQ(a, b, n)                                                 \
    mcpu_test_check_mem((a), (b), (n), __FILE__, __LINE__, #a, #b)


/* n scaled by MCPU_TEST_SCALE (a positive number, default 1), at least 1 */
static inline uint64_t
mcpu_test_scaled(uint64_t n)
{
    double       scale = 1.0, v;
    const char  *s = getenv("MCPU_TEST_SCALE");

    if (s != NULL && *s != '\0') {
        scale = strtod(s, NULL);
        if (!(scale > 0.0)) {
            scale = 1.0;
        }
    }

    v = (double) n * scale;
    return v < 1.0 ? 1 : (uint64_t) v;
}


static inline uint64_t
mcpu_test_seed(void)
{
    return mcpu_test_seed_value;
}


/*
 * A 16-byte test key: a counter and a salt per set, from the seed, so that
 * keys of different sets never collide and a failing run can be repeated.
 */
typedef struct {
    uint64_t  n;
    uint64_t  salt;
} mcpu_test_key_t;


static inline mcpu_test_key_t
mcpu_test_key(uint64_t n, uint64_t set)
{
    mcpu_test_key_t  k;

    k.n = n;
    k.salt = mcpu_test_seed() * 0x9e3779b97f4a7c15ULL + set;
    return k;
}


static inline int
mcpu_test_rm(const char *path, const struct stat *st, int flag,
    struct FTW *ftw)
{
    (void) st;
    (void) flag;
    (void) ftw;

    return remove(path);
}


static inline int
mcpu_test_run(const mcpu_test_t *t)
{
    char         dir[4096];
    const char  *tmp = getenv("TMPDIR");

    if (tmp == NULL || *tmp == '\0') {
        tmp = "/tmp";
    }

    mcpu_test_failures = 0;

    snprintf(dir, sizeof(dir), "%s/mcpu-test-XXXXXX", tmp);
    if (mkdtemp(dir) == NULL) {
        printf("#   mkdtemp(\"%s\") failed: %s\n", dir, strerror(errno));
        printf("FAIL %s\n", t->name);
        return 0;
    }

    t->fn(dir);

    if (nftw(dir, mcpu_test_rm, 16, FTW_DEPTH | FTW_PHYS) != 0) {
        printf("#   removing \"%s\" failed: %s\n", dir, strerror(errno));
    }

    if (mcpu_test_failures > MCPU_TEST_MAX_MESSAGES) {
        printf("#   ... %u failed checks in all\n", mcpu_test_failures);
    }

    printf("%s %s\n", mcpu_test_failures ? "FAIL" : "ok", t->name);
    return mcpu_test_failures == 0;
}


static inline int
mcpu_test_main(const mcpu_test_t *list, int argc, char **argv)
{
    int          i, j, found;
    unsigned     passed = 0, failed = 0;
    const char  *s;

    /* line buffered even into a pipe, so diagnostics, children's lines and
     * results come out in order, and fork never duplicates a buffer */
    setvbuf(stdout, NULL, _IOLBF, 0);

    s = getenv("MCPU_TEST_SEED");
    if (s != NULL && *s != '\0') {
        mcpu_test_seed_value = strtoull(s, NULL, 0);

    } else {
        mcpu_test_seed_value = (uint64_t) time(NULL) * 1000003u
                               ^ (uint64_t) getpid();
    }

    printf("# MCPU_TEST_SEED=%" PRIu64 "\n", mcpu_test_seed_value);

    if (argc < 2) {
        for (i = 0; list[i].name != NULL; i++) {
            if (mcpu_test_run(&list[i])) {
                passed++;
            } else {
                failed++;
            }
        }

    } else {
        for (j = 1; j < argc; j++) {
            found = 0;

            for (i = 0; list[i].name != NULL; i++) {
                if (strcmp(list[i].name, argv[j]) == 0) {
                    found = 1;
                    if (mcpu_test_run(&list[i])) {
                        passed++;
                    } else {
                        failed++;
                    }
                }
            }

            if (!found) {
                printf("#   no test is named \"%s\"\n", argv[j]);
                printf("FAIL %s\n", argv[j]);
                failed++;
            }
        }
    }

    printf("%u passed, %u failed\n", passed, failed);
    return failed ? 1 : 0;
}


/* for tests that fork: the child's fate, and a child's own complaint */

/* waits for pid and returns its wait status, -1 if waitpid failed */
static inline int
reap(pid_t pid)
{
    int  status;

    while (waitpid(pid, &status, 0) == -1) {
        if (errno != EINTR) {
            FAIL_MSG("waitpid(%ld): %s", (long) pid, strerror(errno));
            return -1;
        }
    }

    return status;
}


static inline int
exited_ok(int status, const char *who)
{
    if (status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        return 1;
    }

    if (status != -1 && WIFSIGNALED(status)) {
        return FAIL_MSG("%s was killed by signal %d", who, WTERMSIG(status));
    }

    return FAIL_MSG("%s exited with status %d", who,
                    status == -1 ? -1 : WEXITSTATUS(status));
}


static inline int
killed_by(int status, int sig, const char *who)
{
    if (status != -1 && WIFSIGNALED(status) && WTERMSIG(status) == sig) {
        return 1;
    }

    return FAIL_MSG("%s did not die of signal %d (wait status 0x%x)", who,
                    sig, status);
}


/* a forked child's complaint; its exit status tells the parent it failed */
static inline int
child_fail(const char *fmt, ...)
{
    va_list  ap;

    printf("#   child %ld: ", (long) getpid());
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");

    return 1;
}


#define MCPU_TEST_MAIN()                                                      \
    int                                                                       \
    main(int argc, char **argv)                                               \
    {                                                                         \
        return mcpu_test_main(mcpu_test_list, argc, argv);                    \
    }

#endif /* MCPU_TEST_H */
