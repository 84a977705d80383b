/*
 * test_seen.c: tests of mcpu_seen.c (the "last event seen" table) and of
 * mcpu_record_peek_order() in mcpu_event.h, which feeds it.
 *
 * As in test_ring.c: writers and readers that must be other processes are
 * forked, a writer dies mid-write by having its slot left odd, and the
 * concurrency test checks an invariant on every read (each value spells out
 * the seq and time it was stored with) rather than timing anything.  Loop
 * counts scale with MCPU_TEST_SCALE and random bytes follow MCPU_TEST_SEED
 * (see mcpu_test.h).  Processes synchronise through pipes and waitpid.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ck_pr.h>

#include "mcpu_event.h"
#include "mcpu_seen.h"
#include "mcpu_siphash.h"
#include "mcpu_test.h"


#define ERR_SIZE  1024

/* the smallest table where every key shares one window */
#define ONE_WINDOW  MCPU_SEEN_WAYS

#define EVENT_NULL  ",\"event\":null}"


/* ---- helpers: files, processes, records ---- */

static char *
path_in(char *buf, size_t size, const char *dir, const char *name)
{
    snprintf(buf, size, "%s/%s", dir, name);
    return buf;
}


static int
seen_writer(mcpu_seen_t *t, const char *path, uint32_t slots,
    uint32_t value_max)
{
    int   rc;
    char  err[ERR_SIZE] = "";

    rc = mcpu_seen_open_writer(t, path, slots, value_max, err, sizeof(err));
    if (!CHECK_EQ_INT(rc, MCPU_SEEN_OK)) {
        printf("#   mcpu_seen_open_writer: %s\n", err);
        return 0;
    }

    return 1;
}


static int
seen_reader(mcpu_seen_t *t, const char *path)
{
    int   rc;
    char  err[ERR_SIZE] = "";

    rc = mcpu_seen_open_reader(t, path, err, sizeof(err));
    if (!CHECK_EQ_INT(rc, MCPU_SEEN_OK)) {
        printf("#   mcpu_seen_open_reader: %s\n", err);
        return 0;
    }

    return 1;
}


static int
put(mcpu_seen_t *t, const char *key, int64_t seq, int64_t time_ms,
    const char *value, uint64_t now_ms)
{
    mcpu_seen_entry_t  e;

    e.key = key;
    e.key_len = strlen(key);
    e.value = value;
    e.value_len = strlen(value);
    e.seq = seq;
    e.time_ms = time_ms;

    return mcpu_seen_update(t, &e, now_ms, NULL);
}


/* key is in the table with exactly this seq, time and value */
static int
has(const mcpu_seen_t *t, const char *key, int64_t seq, int64_t time_ms,
    const char *value)
{
    int                rc;
    char               buf[MCPU_SEEN_MAX_VALUE_MAX];
    mcpu_seen_entry_t  e;

    memset(&e, 0, sizeof(e));
    rc = mcpu_seen_lookup(t, key, strlen(key), &e, buf, sizeof(buf));

    if (!CHECK_EQ_INT(rc, MCPU_SEEN_OK)) {
        printf("#   key \"%s\"\n", key);
        return 0;
    }

    return CHECK(e.key == key) & CHECK_EQ_U64(e.key_len, strlen(key))
           & CHECK(e.value == buf) & CHECK_EQ_INT(e.seq, seq)
           & CHECK_EQ_INT(e.time_ms, time_ms)
           & CHECK_EQ_U64(e.value_len, strlen(value))
           & (e.value_len == strlen(value)
              && CHECK_MEM_EQ(e.value, value, e.value_len));
}


static int
lookup_rc(const mcpu_seen_t *t, const char *key)
{
    char               buf[MCPU_SEEN_MAX_VALUE_MAX];
    mcpu_seen_entry_t  e;

    return mcpu_seen_lookup(t, key, strlen(key), &e, buf, sizeof(buf));
}


static int
dir_entries(const char *dir)
{
    int             n = 0;
    DIR            *d;
    struct dirent  *e;

    d = opendir(dir);
    if (d == NULL) {
        return -1;
    }

    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            n++;
        }
    }

    closedir(d);
    return n;
}


static int
file_write(const char *path, off_t off, const void *data, size_t n)
{
    int  fd, ok;

    fd = open(path, O_WRONLY | O_CREAT, 0600);
    ok = fd != -1 && pwrite(fd, data, n, off) == (ssize_t) n;
    if (fd != -1) {
        close(fd);
    }

    return CHECK(ok);
}


static int
read_full(int fd, void *buf, size_t n)
{
    ssize_t  r;
    size_t   got = 0;

    while (got < n) {
        r = read(fd, (char *) buf + got, n - got);
        if (r > 0) {
            got += (size_t) r;

        } else if (r == 0 || errno != EINTR) {
            break;
        }
    }

    return CHECK_EQ_U64(got, n);
}


static void
write_full(int fd, const void *buf, size_t n)
{
    ssize_t  r;
    size_t   done = 0;

    while (done < n) {
        r = write(fd, (const char *) buf + done, n - done);
        if (r > 0) {
            done += (size_t) r;

        } else if (r == -1 && errno != EINTR) {
            return;
        }
    }
}


/* waits until every writer of fd has closed it */
static void
wait_eof(int fd)
{
    char  c;

    while (read(fd, &c, 1) != 0 && errno == EINTR) {
        /* void */
    }
}


/*
 * A record as mcpu_event_record() writes it: the normalised members, the
 * client, and the event last.  seq < 0 writes "seq":null.
 */
static size_t
record(char *out, size_t size, const char *client, int64_t seq,
    int64_t time_ms, const char *node, const char *event)
{
    int   n;
    char  seq_text[24];

    if (seq >= 0) {
        snprintf(seq_text, sizeof(seq_text), "%lld", (long long) seq);
    } else {
        snprintf(seq_text, sizeof(seq_text), "null");
    }

    n = snprintf(out, size, "{\"schema\":1,\"type\":\"AppOpened\","
                 "\"time\":\"2026-11-23T22:00:00.250Z\",\"timeMs\":%lld,"
                 "\"seq\":%s,\"receivedAt\":\"2026-11-23T22:00:01.000Z\","
                 "\"receivedAtMs\":1795471201000,\"sentAt\":null,"
                 "\"skewMs\":null,\"node\":\"%s\",\"client\":{\"id\":\"%s\","
                 "\"version\":\"6.04\",\"os\":\"Windows\",\"osVersion\":"
                 "\"10.0.19045\"},\"event\":%s}", (long long) time_ms,
                 seq_text, node, client, event);

    CHECK(n > 0 && (size_t) n < size);
    return (size_t) n;
}


/* the record up to its own "event" member, and "event":null */
static size_t
record_shortened(char *out, size_t size, const char *client, int64_t seq,
    int64_t time_ms, const char *node)
{
    size_t  n;

    n = record(out, size, client, seq, time_ms, node, "0");

    /* cut the ,"event":0} just written */
    n -= sizeof(",\"event\":0}") - 1;
    CHECK(n + sizeof(EVENT_NULL) <= size);
    memcpy(out + n, EVENT_NULL, sizeof(EVENT_NULL));

    return n + sizeof(EVENT_NULL) - 1;
}


/* a JSON string of n bytes (quotes included) */
static char *
json_string_of(char *out, size_t n, char c)
{
    memset(out, c, n);
    out[0] = '"';
    out[n - 1] = '"';
    out[n] = '\0';
    return out;
}


/* ---- open: create, attach, refuse ---- */

static void
test_seen_created_file_attaches_with_same_geometry(const char *dir)
{
    char                 path[4096], v[2048];
    uint64_t             key0, key1;
    struct stat          st;
    mcpu_seen_t          t, again, r;
    mcpu_seen_header_t  *h;

    path_in(path, sizeof(path), dir, "seen");
    record(v, sizeof(v), "c1", 3, 1000, "n1", "{}");

    if (!seen_writer(&t, path, 64, 1024)) {
        return;
    }

    h = t.hdr;
    CHECK_EQ_U64(h->magic, MCPU_SEEN_MAGIC);
    CHECK_EQ_U64(h->version, MCPU_SEEN_VERSION);
    CHECK_EQ_U64(h->slots, 64);
    CHECK_EQ_U64(h->value_max, 1024);
    CHECK_EQ_U64(h->slot_size % 64, 0);
    CHECK(h->slot_size >= sizeof(mcpu_seen_slot_t) + 1024);
    CHECK(h->slot_size < sizeof(mcpu_seen_slot_t) + 1024 + 64);
    CHECK_EQ_U64(h->file_size, MCPU_SEEN_HEADER_SIZE + 64 * h->slot_size);
    CHECK_EQ_U64(h->writer_pid, getpid());
    CHECK(h->hash_key[0] != 0 || h->hash_key[1] != 0);
    CHECK(h->created_ms != 0);
    CHECK(t.writer);
    CHECK_EQ_U64(t.nslots, 64);
    CHECK_EQ_U64(t.value_max, 1024);
    CHECK_EQ_U64(t.slot_size, h->slot_size);
    CHECK_EQ_U64(t.map_size, h->file_size);

    CHECK(stat(path, &st) == 0);
    CHECK_EQ_U64(st.st_size, h->file_size);
    CHECK_EQ_U64(st.st_mode & 0777, 0640);

    key0 = h->hash_key[0];
    key1 = h->hash_key[1];

    CHECK_EQ_INT(put(&t, "c1", 3, 1000, v, 1), MCPU_SEEN_OK);
    mcpu_seen_close(&t);
    CHECK(t.hdr == NULL);

    /* the same geometry attaches to the same table: same key, same entry */
    if (!seen_writer(&again, path, 64, 1024)) {
        return;
    }

    CHECK_EQ_U64(again.hdr->hash_key[0], key0);
    CHECK_EQ_U64(again.hdr->hash_key[1], key1);
    has(&again, "c1", 3, 1000, v);

    /* a reader takes the geometry from the header, in a mapping of its own:
     * the layout holds offsets only */
    if (seen_reader(&r, path)) {
        CHECK(r.hdr != again.hdr);
        CHECK(!r.writer);
        CHECK_EQ_U64(r.nslots, 64);
        CHECK_EQ_U64(r.value_max, 1024);
        CHECK_EQ_U64(r.slot_size, again.slot_size);
        has(&r, "c1", 3, 1000, v);

        /* closing the writer releases the claim */
        mcpu_seen_close(&again);
        CHECK_EQ_U64(r.hdr->writer_pid, 0);

        mcpu_seen_close(&r);

    } else {
        mcpu_seen_close(&again);
    }

    /* nothing but the table: no temporary file is left behind */
    CHECK_EQ_INT(dir_entries(dir), 1);
}


static void
test_seen_attach_with_other_geometry_is_refused_naming_both_values(
    const char *dir)
{
    int          i, rc;
    char         path[4096], err[ERR_SIZE];
    mcpu_seen_t  t, r;

    static const struct {
        uint32_t     slots;
        uint32_t     value_max;
        const char  *file_value;
        const char  *conf_value;
    } cases[] = {
        { 128, 2048, "slots=64", "slots=128" },
        { 32, 2048, "slots=64", "slots=32" },
        { 64, 1024, "value_max=2048", "value_max=1024" },
        { 64, 4096, "value_max=2048", "value_max=4096" },
    };

    path_in(path, sizeof(path), dir, "seen");

    if (!seen_writer(&t, path, 64, 2048)) {
        return;
    }
    mcpu_seen_close(&t);

    for (i = 0; i < (int) (sizeof(cases) / sizeof(cases[0])); i++) {
        memset(err, 0, sizeof(err));
        rc = mcpu_seen_open_writer(&t, path, cases[i].slots,
                                   cases[i].value_max, err, sizeof(err));

        CHECK_EQ_INT(rc, MCPU_SEEN_ERROR);
        CHECK(t.hdr == NULL);
        CHECK_STR_CONTAINS(err, path);
        CHECK_STR_CONTAINS(err, cases[i].file_value);
        CHECK_STR_CONTAINS(err, cases[i].conf_value);
    }

    /* a refused open claims nothing, and the file is as it was */
    if (seen_reader(&r, path)) {
        CHECK_EQ_U64(r.hdr->writer_pid, 0);
        CHECK_EQ_U64(r.nslots, 64);
        CHECK_EQ_U64(r.value_max, 2048);
        mcpu_seen_close(&r);
    }

    if (seen_writer(&t, path, 64, 2048)) {
        mcpu_seen_close(&t);
    }
}


static void
test_seen_invalid_geometry_is_refused_and_creates_nothing(const char *dir)
{
    int          i, rc;
    char         path[4096], err[ERR_SIZE];
    mcpu_seen_t  t;

    static const struct {
        uint32_t     slots;
        uint32_t     value_max;
        const char  *named;
    } cases[] = {
        { 0, 1024, "not 0" },
        { 4, 1024, "not 4" },
        { 48, 1024, "not 48" },
        { 1u << 25, 1024, "not 33554432" },
        { 64, 1023, "not 1023" },
        { 64, 65537, "not 65537" },
        { 64, 0, "not 0" },
    };

    path_in(path, sizeof(path), dir, "seen");

    for (i = 0; i < (int) (sizeof(cases) / sizeof(cases[0])); i++) {
        memset(err, 0, sizeof(err));
        rc = mcpu_seen_open_writer(&t, path, cases[i].slots,
                                   cases[i].value_max, err, sizeof(err));

        CHECK_EQ_INT(rc, MCPU_SEEN_ERROR);
        CHECK_STR_CONTAINS(err, cases[i].named);
    }

    CHECK_EQ_INT(dir_entries(dir), 0);

    /* the bounds themselves are fine */
    if (seen_writer(&t, path, MCPU_SEEN_WAYS, MCPU_SEEN_MAX_VALUE_MAX)) {
        mcpu_seen_close(&t);
    }

    unlink(path);

    if (seen_writer(&t, path, 1024, MCPU_SEEN_MIN_VALUE_MAX)) {
        mcpu_seen_close(&t);
    }
}


static void
test_seen_reader_reports_absent_when_no_file(const char *dir)
{
    int          rc;
    char         path[4096], err[ERR_SIZE] = "";
    mcpu_seen_t  r;

    path_in(path, sizeof(path), dir, "seen");

    rc = mcpu_seen_open_reader(&r, path, err, sizeof(err));
    CHECK_EQ_INT(rc, MCPU_SEEN_ABSENT);
    CHECK(r.hdr == NULL);
    CHECK_STR_CONTAINS(err, path);

    /* a reader never creates it: that is the batcher's */
    CHECK_EQ_INT(dir_entries(dir), 0);

    /* a missing directory too: the batcher is the one to report it */
    path_in(path, sizeof(path), dir, "no-such-dir/seen");
    rc = mcpu_seen_open_reader(&r, path, err, sizeof(err));
    CHECK_EQ_INT(rc, MCPU_SEEN_ABSENT);
}


static void
test_seen_file_that_is_not_a_table_is_refused(const char *dir)
{
    int                  rc;
    char                 path[4096], good[4096], err[ERR_SIZE];
    uint32_t             v;
    mcpu_seen_t          t;
    static char          junk[8192];

    memset(junk, 'x', sizeof(junk));

    /* garbage of a plausible size */
    path_in(path, sizeof(path), dir, "junk");
    file_write(path, 0, junk, sizeof(junk));

    memset(err, 0, sizeof(err));
    rc = mcpu_seen_open_reader(&t, path, err, sizeof(err));
    CHECK_EQ_INT(rc, MCPU_SEEN_ERROR);
    CHECK_STR_CONTAINS(err, "bad magic");

    rc = mcpu_seen_open_writer(&t, path, 64, 1024, err, sizeof(err));
    CHECK_EQ_INT(rc, MCPU_SEEN_ERROR);
    CHECK_STR_CONTAINS(err, "bad magic");

    /* shorter than a header */
    path_in(path, sizeof(path), dir, "short");
    file_write(path, 0, junk, 100);

    rc = mcpu_seen_open_reader(&t, path, err, sizeof(err));
    CHECK_EQ_INT(rc, MCPU_SEEN_ERROR);
    CHECK_STR_CONTAINS(err, "100 bytes");

    /* a table cut short */
    path_in(good, sizeof(good), dir, "seen");
    if (!seen_writer(&t, good, 64, 1024)) {
        return;
    }
    mcpu_seen_close(&t);

    CHECK(truncate(good, MCPU_SEEN_HEADER_SIZE + 1000) == 0);
    rc = mcpu_seen_open_reader(&t, good, err, sizeof(err));
    CHECK_EQ_INT(rc, MCPU_SEEN_ERROR);
    CHECK_STR_CONTAINS(err, "damaged");

    /* another layout version */
    unlink(good);
    if (!seen_writer(&t, good, 64, 1024)) {
        return;
    }
    mcpu_seen_close(&t);

    v = MCPU_SEEN_VERSION + 1;
    file_write(good, offsetof(mcpu_seen_header_t, version), &v, sizeof(v));

    rc = mcpu_seen_open_reader(&t, good, err, sizeof(err));
    CHECK_EQ_INT(rc, MCPU_SEEN_ERROR);
    CHECK_STR_CONTAINS(err, "layout version 2");

    /* a header whose slots disagree with the file */
    unlink(good);
    if (!seen_writer(&t, good, 64, 1024)) {
        return;
    }
    mcpu_seen_close(&t);

    v = 128;
    file_write(good, offsetof(mcpu_seen_header_t, slots), &v, sizeof(v));

    rc = mcpu_seen_open_reader(&t, good, err, sizeof(err));
    CHECK_EQ_INT(rc, MCPU_SEEN_ERROR);
    CHECK_STR_CONTAINS(err, "damaged");
}


#define FAULTED  42


static void
on_fault(int sig)
{
    (void) sig;
    _exit(FAULTED);
}


/* exits FAULTED if the store faults, 0 if it went through */
static int
child_write_through_reader(void *arg)
{
    mcpu_seen_t       *r = arg;
    struct sigaction   sa;

    /* a handler rather than the default action: the parent is told by the
     * exit status, and valgrind has no dying process to report */
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_fault;
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);

    ck_pr_store_64(&r->hdr->updates, 42);
    return 0;
}


static void
test_seen_reader_mapping_is_read_only(const char *dir)
{
    int                status;
    char               path[4096];
    pid_t              pid;
    mcpu_seen_t        t, r;
    mcpu_seen_entry_t  e;

    path_in(path, sizeof(path), dir, "seen");

    if (!seen_writer(&t, path, 64, 1024)) {
        return;
    }

    if (!seen_reader(&r, path)) {
        mcpu_seen_close(&t);
        return;
    }

    /* an update through a reader is refused, not a crash */
    memset(&e, 0, sizeof(e));
    e.key = "c1";
    e.key_len = 2;
    e.value = "{}";
    e.value_len = 2;
    CHECK_EQ_INT(mcpu_seen_update(&r, &e, 1, NULL), MCPU_SEEN_ERROR);
    CHECK_EQ_INT(lookup_rc(&t, "c1"), MCPU_SEEN_NOT_FOUND);

    /* and a stray store faults: a worker cannot damage the table */
    pid = fork();
    if (pid == 0) {
        _exit(child_write_through_reader(&r));
    }

    if (CHECK(pid > 0)) {
        status = reap(pid);
        CHECK(status != -1 && WIFEXITED(status)
              && WEXITSTATUS(status) == FAULTED);
    }

    CHECK_EQ_U64(t.hdr->updates, 0);

    mcpu_seen_close(&r);
    mcpu_seen_close(&t);
}


/* ---- update and lookup ---- */

static void
test_seen_update_then_lookup_round_trips(const char *dir)
{
    int                rc;
    char               path[4096], v1[2048], v2[2048], buf[4096], small[16];
    uint32_t           slot1, slot2, i, empty;
    mcpu_seen_t        t, r;
    mcpu_seen_entry_t  e;

    path_in(path, sizeof(path), dir, "seen");

    if (!seen_writer(&t, path, 64, 1024)) {
        return;
    }

    if (!seen_reader(&r, path)) {
        mcpu_seen_close(&t);
        return;
    }

    record(v1, sizeof(v1), "6a:d6:96:d3:45:35", 45, 1795471200250, "n1",
           "{\"type\":\"AppOpened\"}");
    record(v2, sizeof(v2), "6a:d6:96:d3:45:3", -1, 1795471200999, "n1",
           "{}");

    CHECK_EQ_INT(lookup_rc(&r, "6a:d6:96:d3:45:35"), MCPU_SEEN_NOT_FOUND);

    e.key = "6a:d6:96:d3:45:35";
    e.key_len = strlen(e.key);
    e.value = v1;
    e.value_len = strlen(v1);
    e.seq = 45;
    e.time_ms = 1795471200250;
    slot1 = UINT32_MAX;
    CHECK_EQ_INT(mcpu_seen_update(&t, &e, 10, &slot1), MCPU_SEEN_OK);
    CHECK(slot1 < 64);

    /* a key that is a prefix of the other is another client */
    e.key = "6a:d6:96:d3:45:3";
    e.key_len = strlen(e.key);
    e.value = v2;
    e.value_len = strlen(v2);
    e.seq = -1;
    e.time_ms = 1795471200999;
    slot2 = UINT32_MAX;
    CHECK_EQ_INT(mcpu_seen_update(&t, &e, 11, &slot2), MCPU_SEEN_OK);
    CHECK(slot2 < 64 && slot2 != slot1);

    /* the writer and a reader in its own mapping see the same */
    has(&t, "6a:d6:96:d3:45:35", 45, 1795471200250, v1);
    has(&r, "6a:d6:96:d3:45:35", 45, 1795471200250, v1);
    has(&r, "6a:d6:96:d3:45:3", -1, 1795471200999, v2);
    CHECK_EQ_INT(lookup_rc(&r, "6a:d6:96:d3:45:36"), MCPU_SEEN_NOT_FOUND);
    CHECK_EQ_INT(lookup_rc(&r, "6a:d6:96:d3:45:35x"), MCPU_SEEN_NOT_FOUND);
    CHECK_EQ_U64(r.hdr->updates, 2);
    CHECK_EQ_U64(r.hdr->evictions, 0);

    /* the stored slot, for publishing: key first, then value */
    memset(&e, 0, sizeof(e));
    rc = mcpu_seen_slot(&r, slot1, &e, buf, sizeof(buf));
    if (CHECK_EQ_INT(rc, MCPU_SEEN_OK)) {
        CHECK(e.key == buf);
        CHECK_EQ_U64(e.key_len, strlen("6a:d6:96:d3:45:35"));
        CHECK_MEM_EQ(e.key, "6a:d6:96:d3:45:35", e.key_len);
        CHECK(e.value == buf + e.key_len);
        CHECK_EQ_U64(e.value_len, strlen(v1));
        CHECK_MEM_EQ(e.value, v1, strlen(v1));
        CHECK_EQ_INT(e.seq, 45);
        CHECK_EQ_INT(e.time_ms, 1795471200250);
    }

    /* a buffer too small for the value, or for key and value */
    rc = mcpu_seen_lookup(&r, "6a:d6:96:d3:45:35", 17, &e, small,
                          sizeof(small));
    CHECK_EQ_INT(rc, MCPU_SEEN_TOO_LONG);
    rc = mcpu_seen_lookup(&r, "6a:d6:96:d3:45:35", 17, &e, buf, strlen(v1));
    CHECK_EQ_INT(rc, MCPU_SEEN_OK);
    rc = mcpu_seen_lookup(&r, "6a:d6:96:d3:45:35", 17, &e, buf,
                          strlen(v1) - 1);
    CHECK_EQ_INT(rc, MCPU_SEEN_TOO_LONG);
    rc = mcpu_seen_slot(&r, slot1, &e, buf, 17 + strlen(v1) - 1);
    CHECK_EQ_INT(rc, MCPU_SEEN_TOO_LONG);

    /* an empty slot, and one past the end */
    for (empty = 0; empty == slot1 || empty == slot2; empty++) {
        /* void */
    }

    CHECK_EQ_INT(mcpu_seen_slot(&r, empty, &e, buf, sizeof(buf)),
                 MCPU_SEEN_NOT_FOUND);
    CHECK_EQ_INT(mcpu_seen_slot(&r, 64, &e, buf, sizeof(buf)),
                 MCPU_SEEN_NOT_FOUND);
    CHECK_EQ_INT(mcpu_seen_slot(&r, UINT32_MAX, &e, buf, sizeof(buf)),
                 MCPU_SEEN_NOT_FOUND);

    for (i = 0; i < 64; i++) {
        rc = mcpu_seen_slot(&r, i, &e, buf, sizeof(buf));
        CHECK_EQ_INT(rc, i == slot1 || i == slot2 ? MCPU_SEEN_OK
                                                  : MCPU_SEEN_NOT_FOUND);
    }

    /* a newer event replaces the value in the same slot */
    e.key = "6a:d6:96:d3:45:35";
    e.key_len = strlen(e.key);
    e.value = v2;
    e.value_len = strlen(v2);
    e.seq = 46;
    e.time_ms = 1;
    CHECK_EQ_INT(mcpu_seen_update(&t, &e, 12, &slot2), MCPU_SEEN_OK);
    CHECK_EQ_U64(slot2, slot1);
    has(&r, "6a:d6:96:d3:45:35", 46, 1, v2);
    CHECK_EQ_U64(r.hdr->updates, 3);

    mcpu_seen_close(&r);
    mcpu_seen_close(&t);
}


static void
test_seen_key_is_placed_in_its_window(const char *dir)
{
    int                i;
    char               path[4096], key[32];
    uint32_t           slot, base, mask;
    uint64_t           hash;
    mcpu_seen_t        t;
    mcpu_seen_entry_t  e;

    path_in(path, sizeof(path), dir, "seen");

    if (!seen_writer(&t, path, 1024, 1024)) {
        return;
    }

    mask = t.nslots - 1;

    for (i = 0; i < 700; i++) {
        snprintf(key, sizeof(key), "client-%d", i);

        e.key = key;
        e.key_len = strlen(key);
        e.value = "{}";
        e.value_len = 2;
        e.seq = i;
        e.time_ms = i;

        if (!CHECK_EQ_INT(mcpu_seen_update(&t, &e, 1, &slot), MCPU_SEEN_OK)) {
            break;
        }

        hash = mcpu_siphash(t.hdr->hash_key, (const unsigned char *) key,
                            strlen(key));
        base = (uint32_t) hash & mask;

        if (!CHECK(((slot - base) & mask) < MCPU_SEEN_WAYS)) {
            printf("#   key \"%s\" in slot %u, window from %u\n", key, slot,
                   base);
        }
    }

    printf("# 700 keys in 1024 slots: %" PRIu64 " evictions\n",
           t.hdr->evictions);
    CHECK_EQ_U64(t.hdr->updates, 700);

    mcpu_seen_close(&t);
}


static void
test_seen_older_event_by_seq_is_ignored(const char *dir)
{
    char         path[4096];
    mcpu_seen_t  t;

    path_in(path, sizeof(path), dir, "seen");

    if (!seen_writer(&t, path, 64, 1024)) {
        return;
    }

    CHECK_EQ_INT(put(&t, "c1", 5, 1000, "{\"v\":\"five\"}", 1), MCPU_SEEN_OK);

    /* by seq when both have one: a later time does not make it newer */
    CHECK_EQ_INT(put(&t, "c1", 4, 2000, "{\"v\":\"four\"}", 2),
                 MCPU_SEEN_OLDER);

    /* equal is not newer */
    CHECK_EQ_INT(put(&t, "c1", 5, 1000, "{\"v\":\"again\"}", 3),
                 MCPU_SEEN_OLDER);
    CHECK_EQ_INT(put(&t, "c1", 5, 3000, "{\"v\":\"again\"}", 3),
                 MCPU_SEEN_OLDER);

    has(&t, "c1", 5, 1000, "{\"v\":\"five\"}");
    CHECK_EQ_U64(t.hdr->older, 3);
    CHECK_EQ_U64(t.hdr->updates, 1);

    /* and an earlier time does not make a higher seq older */
    CHECK_EQ_INT(put(&t, "c1", 6, 10, "{\"v\":\"six\"}", 4), MCPU_SEEN_OK);
    has(&t, "c1", 6, 10, "{\"v\":\"six\"}");
    CHECK_EQ_U64(t.hdr->updates, 2);

    mcpu_seen_close(&t);
}


static void
test_seen_older_event_by_time_is_ignored_when_either_lacks_seq(
    const char *dir)
{
    char         path[4096];
    mcpu_seen_t  t;

    path_in(path, sizeof(path), dir, "seen");

    if (!seen_writer(&t, path, 64, 1024)) {
        return;
    }

    /* the table's has none */
    CHECK_EQ_INT(put(&t, "c1", -1, 1000, "{\"v\":1}", 1), MCPU_SEEN_OK);
    CHECK_EQ_INT(put(&t, "c1", 7, 999, "{\"v\":2}", 2), MCPU_SEEN_OLDER);
    CHECK_EQ_INT(put(&t, "c1", 7, 1000, "{\"v\":2}", 2), MCPU_SEEN_OLDER);
    CHECK_EQ_INT(put(&t, "c1", -1, 1000, "{\"v\":2}", 2), MCPU_SEEN_OLDER);
    has(&t, "c1", -1, 1000, "{\"v\":1}");

    CHECK_EQ_INT(put(&t, "c1", 7, 1001, "{\"v\":3}", 3), MCPU_SEEN_OK);
    has(&t, "c1", 7, 1001, "{\"v\":3}");

    /* the update has none */
    CHECK_EQ_INT(put(&t, "c1", -1, 1000, "{\"v\":4}", 4), MCPU_SEEN_OLDER);
    CHECK_EQ_INT(put(&t, "c1", -1, 1001, "{\"v\":4}", 4), MCPU_SEEN_OLDER);
    has(&t, "c1", 7, 1001, "{\"v\":3}");

    /* any negative seq is "none", and is stored as -1 */
    CHECK_EQ_INT(put(&t, "c1", -5, 1002, "{\"v\":5}", 5), MCPU_SEEN_OK);
    has(&t, "c1", -1, 1002, "{\"v\":5}");

    CHECK_EQ_U64(t.hdr->older, 5);
    CHECK_EQ_U64(t.hdr->updates, 3);

    mcpu_seen_close(&t);
}


/* ---- values and keys that do not fit ---- */

static void
test_seen_long_value_is_stored_with_event_null(const char *dir)
{
    size_t       n, head;
    char         path[4096], pad[4096], event[4200], v[8192], want[2048];
    mcpu_seen_t  t;

    path_in(path, sizeof(path), dir, "seen");

    if (!seen_writer(&t, path, 64, 1024)) {
        return;
    }

    /* an event of 3000 bytes: the record keeps its head */
    snprintf(event, sizeof(event), "{\"type\":\"AppOpened\",\"pad\":%s}",
             json_string_of(pad, 3000, 'p'));
    record(v, sizeof(v), "c1", 9, 5000, "n1", event);
    record_shortened(want, sizeof(want), "c1", 9, 5000, "n1");

    CHECK_EQ_INT(put(&t, "c1", 9, 5000, v, 1), MCPU_SEEN_OK);
    has(&t, "c1", 9, 5000, want);
    CHECK_EQ_U64(t.hdr->shortened, 1);
    CHECK_EQ_U64(t.hdr->updates, 1);

    /* exactly value_max bytes are stored as they are, one more is not */
    head = record(v, sizeof(v), "c2", 1, 1, "n1", "\"\"");
    n = 1024 - head + 2;
    record(v, sizeof(v), "c2", 1, 1, "n1", json_string_of(pad, n, 'q'));
    CHECK_EQ_U64(strlen(v), 1024);
    CHECK_EQ_INT(put(&t, "c2", 1, 1, v, 1), MCPU_SEEN_OK);
    has(&t, "c2", 1, 1, v);
    CHECK_EQ_U64(t.hdr->shortened, 1);

    record(v, sizeof(v), "c2", 2, 1, "n1", json_string_of(pad, n + 1, 'q'));
    CHECK_EQ_U64(strlen(v), 1025);
    record_shortened(want, sizeof(want), "c2", 2, 1, "n1");
    CHECK_EQ_INT(put(&t, "c2", 2, 1, v, 1), MCPU_SEEN_OK);
    has(&t, "c2", 2, 1, want);
    CHECK_EQ_U64(t.hdr->shortened, 2);
    CHECK_EQ_U64(t.hdr->too_long, 0);

    mcpu_seen_close(&t);
}


static void
test_seen_event_with_its_own_event_member_is_cut_at_the_records(
    const char *dir)
{
    char         path[4096], pad[2048], event[4096], v[8192], want[2048];
    mcpu_seen_t  t;

    path_in(path, sizeof(path), dir, "seen");

    if (!seen_writer(&t, path, 64, 1024)) {
        return;
    }

    /* "event" members nested in the event, braces and escaped quotes in
     * its strings: only the record's own member is replaced */
    snprintf(event, sizeof(event),
             "{\"type\":\"X\",\"attributes\":{\"a\":1,\"event\":\"e\"},"
             "\"note\":\"}}]],\\\",\\\"event\\\":{\\\\\",\"x\":[1,{\"q\":2,"
             "\"event\":null}],\"event\":{\"pad\":%s}}",
             json_string_of(pad, 1500, 'z'));
    record(v, sizeof(v), "c1", 1, 1, "n1", event);
    record_shortened(want, sizeof(want), "c1", 1, 1, "n1");

    CHECK(strlen(v) > 1024);
    CHECK_EQ_INT(put(&t, "c1", 1, 1, v, 1), MCPU_SEEN_OK);
    has(&t, "c1", 1, 1, want);
    CHECK_EQ_U64(t.hdr->shortened, 1);

    mcpu_seen_close(&t);
}


static void
test_seen_value_too_long_even_shortened_is_refused(const char *dir)
{
    size_t       head;
    char         path[4096], node[2048], pad[4096], v[8192], want[2048];
    mcpu_seen_t  t;

    path_in(path, sizeof(path), dir, "seen");

    if (!seen_writer(&t, path, 64, 1024)) {
        return;
    }

    CHECK_EQ_INT(put(&t, "c1", 1, 1, "{\"v\":\"kept\"}", 1), MCPU_SEEN_OK);

    /* a head of 1100 bytes: even with "event":null it does not fit */
    memset(node, 'n', 1100);
    node[1100] = '\0';
    record(v, sizeof(v), "c1", 2, 2, node, "{}");
    CHECK_EQ_INT(put(&t, "c1", 2, 2, v, 2), MCPU_SEEN_TOO_LONG);
    CHECK_EQ_U64(t.hdr->too_long, 1);

    /* longer than value_max with no "event" member to drop */
    memset(pad, 'x', 1500);
    pad[0] = '{';
    memcpy(pad + 1, "\"a\":\"", 5);
    memcpy(pad + 1500 - 2, "\"}", 3);
    CHECK_EQ_INT(put(&t, "c1", 2, 2, pad, 2), MCPU_SEEN_TOO_LONG);
    CHECK_EQ_U64(t.hdr->too_long, 2);

    /* a refused update leaves the table's entry */
    has(&t, "c1", 1, 1, "{\"v\":\"kept\"}");
    CHECK_EQ_U64(t.hdr->shortened, 0);
    CHECK_EQ_U64(t.hdr->updates, 1);

    /* the head that exactly fits with "event":null, and one byte more */
    memset(node, 'n', sizeof(node));
    node[0] = '\0';
    head = record_shortened(want, sizeof(want), "c1", 3, 3, node);
    node[0] = 'n';
    node[1024 - head] = '\0';
    record_shortened(want, sizeof(want), "c1", 3, 3, node);
    CHECK_EQ_U64(strlen(want), 1024);
    record(v, sizeof(v), "c1", 3, 3, node, json_string_of(pad, 100, 'p'));
    CHECK_EQ_INT(put(&t, "c1", 3, 3, v, 3), MCPU_SEEN_OK);
    has(&t, "c1", 3, 3, want);

    node[1024 - head] = 'n';
    node[1024 - head + 1] = '\0';
    record(v, sizeof(v), "c1", 4, 4, node, json_string_of(pad, 100, 'p'));
    CHECK_EQ_INT(put(&t, "c1", 4, 4, v, 4), MCPU_SEEN_TOO_LONG);
    has(&t, "c1", 3, 3, want);

    CHECK_EQ_U64(t.hdr->too_long, 3);
    CHECK_EQ_U64(t.hdr->shortened, 1);

    mcpu_seen_close(&t);
}


static void
test_seen_key_empty_or_over_max_is_refused(const char *dir)
{
    char         path[4096], key[MCPU_SEEN_MAX_KEY + 2];
    mcpu_seen_t  t;

    path_in(path, sizeof(path), dir, "seen");

    if (!seen_writer(&t, path, 64, 1024)) {
        return;
    }

    memset(key, 'k', sizeof(key));
    key[MCPU_SEEN_MAX_KEY + 1] = '\0';

    CHECK_EQ_INT(put(&t, key, 1, 1, "{}", 1), MCPU_SEEN_TOO_LONG);
    CHECK_EQ_INT(put(&t, "", 1, 1, "{}", 1), MCPU_SEEN_TOO_LONG);
    CHECK_EQ_U64(t.hdr->too_long, 2);
    CHECK_EQ_U64(t.hdr->updates, 0);
    CHECK_EQ_INT(lookup_rc(&t, key), MCPU_SEEN_NOT_FOUND);
    CHECK_EQ_INT(lookup_rc(&t, ""), MCPU_SEEN_NOT_FOUND);

    /* MCPU_SEEN_MAX_KEY itself fits */
    key[MCPU_SEEN_MAX_KEY] = '\0';
    CHECK_EQ_INT(put(&t, key, 1, 1, "{}", 1), MCPU_SEEN_OK);
    has(&t, key, 1, 1, "{}");

    mcpu_seen_close(&t);
}


/* ---- eviction ---- */

static void
test_seen_full_window_evicts_least_recently_touched(const char *dir)
{
    int                i;
    char               path[4096], key[16];
    uint32_t           slot[12], s;
    mcpu_seen_t        t;
    mcpu_seen_entry_t  e;

    path_in(path, sizeof(path), dir, "seen");

    /* 8 slots: every key shares the one window */
    if (!seen_writer(&t, path, ONE_WINDOW, 1024)) {
        return;
    }

    e.value = "{}";
    e.value_len = 2;

    for (i = 0; i < 8; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        e.key = key;
        e.key_len = strlen(key);
        e.seq = 1;
        e.time_ms = 1;
        CHECK_EQ_INT(mcpu_seen_update(&t, &e, 100 + i, &slot[i]),
                     MCPU_SEEN_OK);
    }

    CHECK_EQ_U64(t.hdr->evictions, 0);

    /* k0 is touched again; k1 is now the least recently updated */
    CHECK_EQ_INT(put(&t, "k0", 2, 2, "{}", 200), MCPU_SEEN_OK);

    e.key = "k8";
    e.key_len = 2;
    e.seq = 1;
    CHECK_EQ_INT(mcpu_seen_update(&t, &e, 300, &s), MCPU_SEEN_OK);
    CHECK_EQ_U64(s, slot[1]);
    CHECK_EQ_U64(t.hdr->evictions, 1);
    CHECK_EQ_INT(lookup_rc(&t, "k1"), MCPU_SEEN_NOT_FOUND);

    /* an update ignored as older does not count as a touch */
    CHECK_EQ_INT(put(&t, "k2", 0, 0, "{}", 400), MCPU_SEEN_OLDER);

    e.key = "k9";
    CHECK_EQ_INT(mcpu_seen_update(&t, &e, 500, &s), MCPU_SEEN_OK);
    CHECK_EQ_U64(s, slot[2]);
    CHECK_EQ_U64(t.hdr->evictions, 2);
    CHECK_EQ_INT(lookup_rc(&t, "k2"), MCPU_SEEN_NOT_FOUND);

    /* everybody else is still there, and an evicted client comes back,
     * pushing out the next least recent (k3) */
    CHECK_EQ_INT(lookup_rc(&t, "k0"), MCPU_SEEN_OK);
    for (i = 3; i < 10; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        CHECK_EQ_INT(lookup_rc(&t, key), MCPU_SEEN_OK);
    }

    e.key = "k1";
    CHECK_EQ_INT(mcpu_seen_update(&t, &e, 600, &s), MCPU_SEEN_OK);
    CHECK_EQ_U64(s, slot[3]);
    CHECK_EQ_INT(lookup_rc(&t, "k3"), MCPU_SEEN_NOT_FOUND);
    CHECK_EQ_U64(t.hdr->evictions, 3);

    mcpu_seen_close(&t);
}


/* ---- one writer: claim, takeover, repair ---- */

typedef struct {
    const char  *path;
    int          ready;          /* write end: the child has opened */
    int          hold;           /* read end: hold until EOF */
    int          how;            /* HOLD_* */
} writer_arg_t;

#define HOLD_CLOSE   0           /* close the table at EOF, exit 0 */
#define HOLD_EXIT    1           /* _exit at once, without closing */
#define HOLD_KILLED  2           /* wait for SIGKILL */

typedef struct {
    int       rc;
    uint32_t  slot;
    char      err[ERR_SIZE];
} writer_report_t;


static int
child_writer(void *arg)
{
    char             c;
    writer_arg_t    *a = arg;
    mcpu_seen_t      t;
    writer_report_t  rep;

    memset(&rep, 0, sizeof(rep));
    rep.rc = mcpu_seen_open_writer(&t, a->path, 64, 1024, rep.err,
                                   sizeof(rep.err));
    if (rep.rc == MCPU_SEEN_OK) {
        rep.rc = put(&t, "from-child", 1, 1, "{\"child\":1}", 1);
    }

    write_full(a->ready, &rep, sizeof(rep));

    if (rep.rc != MCPU_SEEN_OK || a->how == HOLD_EXIT) {
        return 0;
    }

    if (a->how == HOLD_KILLED) {
        while (read(a->hold, &c, 1) == -1 && errno == EINTR) {
            /* void */
        }
        return child_fail("was not killed");
    }

    wait_eof(a->hold);
    mcpu_seen_close(&t);
    return 0;
}


/* forks a child_writer with how; its report in rep; hold[1] to release */
static pid_t
spawn_writer(const char *path, int how, int hold[2], writer_report_t *rep)
{
    int           ready[2];
    pid_t         pid;
    writer_arg_t  a;

    if (!CHECK(pipe(ready) == 0 && pipe(hold) == 0)) {
        return -1;
    }

    a.path = path;
    a.ready = ready[1];
    a.hold = hold[0];
    a.how = how;

    pid = fork();
    if (pid == 0) {
        close(ready[0]);
        close(hold[1]);
        _exit(child_writer(&a));
    }

    close(ready[1]);
    close(hold[0]);

    CHECK(pid > 0);
    read_full(ready[0], rep, sizeof(*rep));
    close(ready[0]);

    return pid;
}


static void
test_seen_second_live_writer_is_refused(const char *dir)
{
    int              rc, hold[2];
    char             path[4096], err[ERR_SIZE], pid_text[32];
    pid_t            pid;
    mcpu_seen_t      t, r;
    writer_report_t  rep;

    path_in(path, sizeof(path), dir, "seen");

    pid = spawn_writer(path, HOLD_CLOSE, hold, &rep);
    if (pid <= 0) {
        return;
    }

    if (!CHECK_EQ_INT(rep.rc, MCPU_SEEN_OK)) {
        printf("#   child: %s\n", rep.err);
    }

    /* the child holds it: refused, naming the holder */
    memset(err, 0, sizeof(err));
    rc = mcpu_seen_open_writer(&t, path, 64, 1024, err, sizeof(err));
    CHECK_EQ_INT(rc, MCPU_SEEN_ERROR);
    CHECK(t.hdr == NULL);
    snprintf(pid_text, sizeof(pid_text), "process %ld", (long) pid);
    CHECK_STR_CONTAINS(err, pid_text);
    CHECK_STR_CONTAINS(err, path);

    /* readers are not writers: they attach meanwhile, and the refused
     * writer took nothing */
    if (seen_reader(&r, path)) {
        CHECK_EQ_U64(r.hdr->writer_pid, (uint32_t) pid);
        has(&r, "from-child", 1, 1, "{\"child\":1}");
    }

    /* once the child closes (and it ends), the table is free */
    close(hold[1]);
    exited_ok(reap(pid), "writer child");

    if (r.hdr != NULL) {
        CHECK_EQ_U64(r.hdr->writer_pid, 0);
        mcpu_seen_close(&r);
    }

    if (seen_writer(&t, path, 64, 1024)) {
        CHECK_EQ_U64(t.hdr->writer_pid, getpid());
        mcpu_seen_close(&t);
    }
}


static void
test_seen_dead_writers_claim_is_taken_over(const char *dir)
{
    int              how, hold[2];
    char             path[4096];
    pid_t            pid;
    mcpu_seen_t      t;
    writer_report_t  rep;

    path_in(path, sizeof(path), dir, "seen");

    for (how = HOLD_EXIT; how <= HOLD_KILLED; how++) {
        pid = spawn_writer(path, how, hold, &rep);
        if (pid <= 0) {
            return;
        }

        if (!CHECK_EQ_INT(rep.rc, MCPU_SEEN_OK)) {
            printf("#   child: %s\n", rep.err);
        }

        if (how == HOLD_KILLED) {
            kill(pid, SIGKILL);
            killed_by(reap(pid), SIGKILL, "writer child");

        } else {
            exited_ok(reap(pid), "writer child");
        }

        close(hold[1]);

        /* it died holding the claim; a dead pid is taken over */
        if (!seen_writer(&t, path, 64, 1024)) {
            return;
        }

        CHECK_EQ_U64(t.hdr->writer_pid, getpid());
        has(&t, "from-child", 1, 1, "{\"child\":1}");

        /* gone again, so the next child can claim it */
        mcpu_seen_close(&t);
        unlink(path);
    }
}


/* a child that updates two keys and then "dies" inside the write of a */
static int
child_dies_mid_write(void *arg)
{
    uint32_t           slot;
    mcpu_seen_t        t;
    const char        *path = arg;
    mcpu_seen_entry_t  e;
    mcpu_seen_slot_t  *s;
    char               err[ERR_SIZE];

    if (mcpu_seen_open_writer(&t, path, ONE_WINDOW, 1024, err, sizeof(err))
        != MCPU_SEEN_OK)
    {
        return child_fail("%s", err);
    }

    if (put(&t, "b", 1, 1, "{\"b\":1}", 1) != MCPU_SEEN_OK) {
        return child_fail("update of b failed");
    }

    e.key = "a";
    e.key_len = 1;
    e.value = "{\"a\":1}";
    e.value_len = 7;
    e.seq = 1;
    e.time_ms = 1;

    if (mcpu_seen_update(&t, &e, 1, &slot) != MCPU_SEEN_OK) {
        return child_fail("update of a failed");
    }

    /* what a writer killed between the two version stores leaves: an odd
     * version, half a key, a length that no longer matches */
    s = (mcpu_seen_slot_t *) (t.slots + (size_t) slot * t.slot_size);
    s->version++;
    s->key[0] = '#';
    s->value_len = 3;

    _exit(0);
}


static void
test_seen_torn_slot_of_dead_writer_is_emptied_at_next_open(const char *dir)
{
    int                i, odd;
    char               path[4096], buf[64];
    pid_t              pid;
    mcpu_seen_t        t, r;
    mcpu_seen_entry_t  e;
    mcpu_seen_slot_t  *s;

    path_in(path, sizeof(path), dir, "seen");

    pid = fork();
    if (pid == 0) {
        _exit(child_dies_mid_write(path));
    }

    if (!CHECK(pid > 0) || !exited_ok(reap(pid), "dying writer")) {
        return;
    }

    if (!seen_reader(&r, path)) {
        return;
    }

    /* meanwhile readers give up on the torn slot, but find the other key
     * of the same window */
    CHECK_EQ_INT(lookup_rc(&r, "a"), MCPU_SEEN_BUSY);
    CHECK_EQ_INT(lookup_rc(&r, "c"), MCPU_SEEN_BUSY);
    has(&r, "b", 1, 1, "{\"b\":1}");

    for (i = 0, odd = 0; i < ONE_WINDOW; i++) {
        s = (mcpu_seen_slot_t *) (r.slots + (size_t) i * r.slot_size);
        odd += s->version & 1;
    }
    CHECK_EQ_INT(odd, 1);

    /* the next writer empties it: a answers "not found" until its next
     * event, which can be stored again */
    if (!seen_writer(&t, path, ONE_WINDOW, 1024)) {
        mcpu_seen_close(&r);
        return;
    }

    for (i = 0, odd = 0; i < ONE_WINDOW; i++) {
        s = (mcpu_seen_slot_t *) (r.slots + (size_t) i * r.slot_size);
        odd += s->version & 1;
        if (s->key_len == 0) {
            CHECK_EQ_INT(mcpu_seen_slot(&r, (uint32_t) i, &e, buf,
                                        sizeof(buf)), MCPU_SEEN_NOT_FOUND);
        }
    }
    CHECK_EQ_INT(odd, 0);

    CHECK_EQ_INT(lookup_rc(&r, "a"), MCPU_SEEN_NOT_FOUND);
    CHECK_EQ_INT(lookup_rc(&r, "c"), MCPU_SEEN_NOT_FOUND);
    has(&r, "b", 1, 1, "{\"b\":1}");

    CHECK_EQ_INT(put(&t, "a", 1, 1, "{\"a\":2}", 2), MCPU_SEEN_OK);
    has(&r, "a", 1, 1, "{\"a\":2}");

    mcpu_seen_close(&t);
    mcpu_seen_close(&r);
}


/* ---- creators racing ---- */

#define RACERS  6

static void
test_seen_racing_writers_create_one_table_and_one_wins(const char *dir)
{
    int              i, won, refused, go[2], hold[2], rep[2];
    char             path[4096], c;
    pid_t            pids[RACERS];
    writer_report_t  w;
    mcpu_seen_t      t;

    path_in(path, sizeof(path), dir, "seen");

    if (!CHECK(pipe(go) == 0 && pipe(hold) == 0 && pipe(rep) == 0)) {
        return;
    }

    for (i = 0; i < RACERS; i++) {
        pids[i] = fork();
        if (pids[i] == 0) {
            close(go[1]);
            close(hold[1]);
            close(rep[0]);

            wait_eof(go[0]);

            memset(&w, 0, sizeof(w));
            w.rc = mcpu_seen_open_writer(&t, path, 64, 1024, w.err,
                                         sizeof(w.err));
            write_full(rep[1], &w, sizeof(w));

            /* the winner holds its claim until every racer has tried */
            if (w.rc == MCPU_SEEN_OK) {
                while (read(hold[0], &c, 1) == -1 && errno == EINTR) {
                    /* void */
                }
                mcpu_seen_close(&t);
            }

            _exit(0);
        }

        CHECK(pids[i] > 0);
    }

    close(go[0]);
    close(hold[0]);
    close(rep[1]);

    /* all at once */
    close(go[1]);

    won = 0;
    refused = 0;

    for (i = 0; i < RACERS; i++) {
        if (!read_full(rep[0], &w, sizeof(w))) {
            break;
        }

        if (w.rc == MCPU_SEEN_OK) {
            won++;

        } else if (CHECK_EQ_INT(w.rc, MCPU_SEEN_ERROR)
                   && CHECK_STR_CONTAINS(w.err, "is being written by"))
        {
            refused++;
        }
    }

    CHECK_EQ_INT(won, 1);
    CHECK_EQ_INT(refused, RACERS - 1);

    close(hold[1]);
    close(rep[0]);

    for (i = 0; i < RACERS; i++) {
        if (pids[i] > 0) {
            exited_ok(reap(pids[i]), "racer");
        }
    }

    /* one table, no temporary file left */
    CHECK_EQ_INT(dir_entries(dir), 1);
}


/* ---- a reader during rewrites ---- */

/*
 * The value stored with seq n spells n out, and its length and its pad
 * byte both follow from n, so a read that mixes two writes shows.
 */
#define RW_KEY  "6a:d6:96:d3:45:35"

static int64_t
rw_time(int64_t seq)
{
    return 1795471200000 + seq * 3;
}


static size_t
rw_value(char *out, size_t size, int64_t seq)
{
    int     n;
    size_t  pad;

    pad = (size_t) (seq * 37 % 900) + 1;
    n = snprintf(out, size, "{\"seq\":%lld,\"pad\":\"", (long long) seq);
    memset(out + n, 'a' + (int) (seq % 26), pad);
    memcpy(out + n + pad, "\"}", 3);

    (void) size;
    return (size_t) n + pad + 2;
}


typedef struct {
    uint64_t  reads;
    uint64_t  ok;
    uint64_t  busy;
    uint64_t  changes;
    uint64_t  torn;
} rw_stats_t;


/* whether e is exactly what the writer stored with e->seq */
static int
rw_consistent(const mcpu_seen_entry_t *e, const char *key)
{
    char    want[1024];
    size_t  n;

    if (e->seq < 0 || e->time_ms != rw_time(e->seq)) {
        return 0;
    }

    if (key != NULL
        && (e->key_len != strlen(key) || memcmp(e->key, key, e->key_len)))
    {
        return 0;
    }

    n = rw_value(want, sizeof(want), e->seq);

    return e->value_len == n && memcmp(e->value, want, n) == 0;
}


static int
child_reader(const char *path, uint32_t slot, uint64_t reads, int report)
{
    int                rc;
    char               buf[2048], err[ERR_SIZE];
    int64_t            last;
    uint64_t           i;
    rw_stats_t         st;
    mcpu_seen_t        r;
    mcpu_seen_entry_t  e;

    if (mcpu_seen_open_reader(&r, path, err, sizeof(err)) != MCPU_SEEN_OK) {
        return child_fail("%s", err);
    }

    memset(&st, 0, sizeof(st));
    last = -1;

    /* the bound is a count: at least `reads`, and more until the writer was
     * seen at work, up to 100 times as many */
    for (i = 0; i < reads || (st.changes < 100 && i < reads * 100); i++) {
        memset(&e, 0, sizeof(e));

        /* both ways of reading: by key, and the slot for publishing */
        if (i & 1) {
            rc = mcpu_seen_slot(&r, slot, &e, buf, sizeof(buf));
        } else {
            rc = mcpu_seen_lookup(&r, RW_KEY, strlen(RW_KEY), &e, buf,
                                  sizeof(buf));
        }

        st.reads++;

        if (rc == MCPU_SEEN_BUSY) {
            st.busy++;
            continue;
        }

        if (rc != MCPU_SEEN_OK) {
            child_fail("read %" PRIu64 ": rc %d", i, rc);
            st.torn++;
            continue;
        }

        st.ok++;

        if (!rw_consistent(&e, RW_KEY) || e.seq < last) {
            if (st.torn++ < 5) {
                child_fail("read %" PRIu64 ": torn or older entry: seq %lld "
                           "(last %lld) time %lld, %zu bytes: %.60s", i,
                           (long long) e.seq, (long long) last,
                           (long long) e.time_ms, e.value_len, e.value);
            }
            continue;
        }

        st.changes += e.seq != last;
        last = e.seq;
    }

    write_full(report, &st, sizeof(st));
    mcpu_seen_close(&r);

    return st.torn != 0;
}


static void
test_seen_concurrent_reader_never_sees_a_torn_entry(const char *dir)
{
    int                rc, status, rep[2];
    char               path[4096], v[1024];
    pid_t              pid;
    int64_t            seq;
    uint32_t           slot, s;
    rw_stats_t         st;
    mcpu_seen_t        t;
    mcpu_seen_entry_t  e;

    path_in(path, sizeof(path), dir, "seen");

    if (!seen_writer(&t, path, 64, 1024) || !CHECK(pipe(rep) == 0)) {
        return;
    }

    seq = 0;
    e.key = RW_KEY;
    e.key_len = strlen(RW_KEY);
    e.value = v;
    e.value_len = rw_value(v, sizeof(v), seq);
    e.seq = seq;
    e.time_ms = rw_time(seq);

    if (!CHECK_EQ_INT(mcpu_seen_update(&t, &e, 1, &slot), MCPU_SEEN_OK)) {
        return;
    }

    pid = fork();
    if (pid == 0) {
        close(rep[0]);
        _exit(child_reader(path, slot, mcpu_test_scaled(200000), rep[1]));
    }

    close(rep[1]);

    if (!CHECK(pid > 0)) {
        mcpu_seen_close(&t);
        return;
    }

    /* rewrite the same key for as long as the reader reads */
    status = -1;

    for ( ;; ) {
        seq++;
        e.value_len = rw_value(v, sizeof(v), seq);
        e.seq = seq;
        e.time_ms = rw_time(seq);

        rc = mcpu_seen_update(&t, &e, (uint64_t) seq, &s);
        if (!CHECK_EQ_INT(rc, MCPU_SEEN_OK) || !CHECK_EQ_U64(s, slot)) {
            kill(pid, SIGKILL);
            status = reap(pid);
            break;
        }

        if ((seq & 63) == 0 && waitpid(pid, &status, WNOHANG) == pid) {
            break;
        }
    }

    exited_ok(status, "reader");

    if (read_full(rep[0], &st, sizeof(st))) {
        printf("# %" PRIu64 " reads during %lld rewrites: %" PRIu64 " ok, %"
               PRIu64 " busy, %" PRIu64 " values seen\n", st.reads,
               (long long) seq, st.ok, st.busy, st.changes);

        CHECK_EQ_U64(st.torn, 0);
        CHECK(st.ok > 0);
        CHECK(st.changes > 1);
    }

    close(rep[0]);
    mcpu_seen_close(&t);
}


/* ---- mcpu_record_peek_order ---- */

static void
test_record_peek_order_reads_time_ms_and_seq(const char *dir)
{
    int      i;
    char     v[2048];
    int64_t  time_ms, seq;

    static const struct {
        const char  *rec;
        int64_t      time_ms;
        int64_t      seq;
    } cases[] = {
        { "{\"schema\":1,\"type\":\"CpuMeasurement\",\"time\":"
          "\"2026-11-23T22:00:00.250Z\",\"timeMs\":123,\"seq\":45,"
          "\"receivedAt\":\"x\"}", 123, 45 },
        { "{\"schema\":1,\"type\":\"AppClosed\",\"time\":"
          "\"2026-11-23T22:00:00.250Z\",\"timeMs\":1795471200250,"
          "\"seq\":null,\"node\":\"n\"}", 1795471200250, -1 },
        { "{\"schema\":1,\"type\":\"X\",\"time\":\"\",\"timeMs\":0,"
          "\"seq\":0}", 0, 0 },
        { "{\"schema\":12,\"type\":\"X\",\"time\":\"t\",\"timeMs\":"
          "253402300799999,\"seq\":9007199254740992}", 253402300799999,
          9007199254740992 },
        { "{\"schema\":1,\"type\":\"X\",\"time\":\"t\",\"timeMs\":7,"
          "\"seq\":null}", 7, -1 },
        { "{\"schema\":1,\"type\":\"X\",\"time\":\"t\",\"timeMs\":"
          "999999999999999999,\"seq\":1}", 999999999999999999, 1 },
    };

    (void) dir;

    for (i = 0; i < (int) (sizeof(cases) / sizeof(cases[0])); i++) {
        time_ms = -7;
        seq = -7;

        if (!CHECK_EQ_INT(mcpu_record_peek_order(cases[i].rec,
                                                 strlen(cases[i].rec),
                                                 &time_ms, &seq), 0))
        {
            printf("#   %s\n", cases[i].rec);
            continue;
        }

        CHECK_EQ_INT(time_ms, cases[i].time_ms);
        CHECK_EQ_INT(seq, cases[i].seq);
    }

    /* the records the table is tested with have the same shape */
    record(v, sizeof(v), "c1", 45, 1795471200250, "n1", "{}");
    CHECK_EQ_INT(mcpu_record_peek_order(v, strlen(v), &time_ms, &seq), 0);
    CHECK_EQ_INT(time_ms, 1795471200250);
    CHECK_EQ_INT(seq, 45);

    record(v, sizeof(v), "c1", -1, 5, "n1", "{}");
    CHECK_EQ_INT(mcpu_record_peek_order(v, strlen(v), &time_ms, &seq), 0);
    CHECK_EQ_INT(time_ms, 5);
    CHECK_EQ_INT(seq, -1);
}


/* rec at exactly len bytes of its own allocation, so that valgrind sees
 * any read past it */
static int
peek_order_exact(const char *rec, size_t len, int64_t *time_ms,
    int64_t *seq)
{
    int    rc;
    char  *p;

    p = malloc(len ? len : 1);
    memcpy(p, rec, len);
    rc = mcpu_record_peek_order(p, len, time_ms, seq);
    free(p);

    return rc;
}


static void
test_record_peek_order_refuses_truncated_or_malformed_records(
    const char *dir)
{
    int       i, j;
    char      v[2048], junk[64];
    size_t    len, whole, end;
    int64_t   time_ms, seq;
    uint64_t  x;

    static const char  *bad[] = {
        "",
        "{",
        "{\"schema\":1}",
        "{\"schema\":1,\"type\":\"X\"}",
        "{\"schema\":1,\"type\":\"X\",\"time\":\"t\"}",
        "{\"schema\":1,\"type\":\"X\",\"time\":\"t\",\"timeMs\":,\"seq\":1}",
        "{\"schema\":1,\"type\":\"X\",\"time\":\"t\",\"timeMs\":-5,\"seq\":1}",
        "{\"schema\":1,\"type\":\"X\",\"time\":\"t\",\"timeMs\":5,\"seq\":-1}",
        "{\"schema\":1,\"type\":\"X\",\"time\":\"t\",\"timeMs\":5,"
            "\"seq\":\"1\"}",
        "{\"schema\":1,\"type\":\"X\",\"time\":\"t\",\"timeMs\":5,"
            "\"seq\":nul}",
        "{\"schema\":1,\"type\":\"X\",\"time\":\"t\",\"timeMs\":5,"
            "\"seq\":nullx}",
        "{\"schema\":1,\"type\":\"X\",\"time\":\"t\",\"timeMs\":5,"
            "\"seq\":1.5}",
        "{\"schema\":1,\"type\":\"X\",\"time\":\"t\",\"timeMs\":5.0,"
            "\"seq\":1}",
        "{\"schema\":1,\"type\":\"X\",\"time\":\"t\",\"timeMs\":5}",
        "{\"schema\":1,\"type\":\"X\",\"time\":\"t\",\"seq\":1,"
            "\"timeMs\":5}",
        "{\"schema\":1,\"type\":\"X\",\"time\":5,\"timeMs\":5,\"seq\":1}",
        "{\"schema\":1,\"type\":\"X\",\"timeMs\":5,\"seq\":1}",
        "{\"schema\":1,\"type\":\"X\",\"time\":\"t\",\"timeMs\":"
            "1000000000000000000,\"seq\":1}",
        "{\"schema\":1,\"type\":\"X\",\"time\":\"t\",\"timeMs\":1,"
            "\"seq\":99999999999999999999999}",
        "{\"schema\":1,\"type\":\"X\",\"time\":\"t\",\"timeMs\":1 ,"
            "\"seq\":1}",
        "[\"schema\",1]",
    };

    (void) dir;

    for (i = 0; i < (int) (sizeof(bad) / sizeof(bad[0])); i++) {
        if (!CHECK_EQ_INT(peek_order_exact(bad[i], strlen(bad[i]), &time_ms,
                                           &seq), -1))
        {
            printf("#   accepted: %s\n", bad[i]);
        }
    }

    /* every cut of a good record up to the comma after seq is refused,
     * never read as a smaller number; from there on it is read whole */
    for (j = 0; j < 2; j++) {
        whole = record(v, sizeof(v), "c1", j ? 123456 : -1, 1795471200250,
                       "n1", "{}");
        end = (size_t) (strstr(v, ",\"receivedAt\"") - v);

        for (len = 0; len <= whole; len++) {
            time_ms = 0;
            seq = 0;

            if (!CHECK_EQ_INT(peek_order_exact(v, len, &time_ms, &seq),
                              len > end ? 0 : -1))
            {
                printf("#   cut at %zu: %.*s\n", len, (int) len, v);
                continue;
            }

            if (len > end) {
                CHECK_EQ_INT(time_ms, 1795471200250);
                CHECK_EQ_INT(seq, j ? 123456 : -1);
            }
        }
    }

    /* random bytes, and random bytes behind a good beginning */
    x = mcpu_test_seed() | 1;

    for (i = 0; i < (int) mcpu_test_scaled(20000); i++) {
        len = (size_t) (x % sizeof(junk));

        for (j = 0; j < (int) sizeof(junk); j++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            junk[j] = "{}\":,0123456789snul\\"[x % 20];
        }

        if (i & 1) {
            memcpy(junk, "{\"schema\":1,\"type\":\"X\",\"time\":\"",
                   sizeof("{\"schema\":1,\"type\":\"X\",\"time\":\"") - 1);
        }

        /* whatever it answers, it reads nothing outside junk[0..len) */
        peek_order_exact(junk, len, &time_ms, &seq);
    }
}


TEST_LIST = {
    { "test_seen_created_file_attaches_with_same_geometry",
      test_seen_created_file_attaches_with_same_geometry },
    { "test_seen_attach_with_other_geometry_is_refused_naming_both_values",
      test_seen_attach_with_other_geometry_is_refused_naming_both_values },
    { "test_seen_invalid_geometry_is_refused_and_creates_nothing",
      test_seen_invalid_geometry_is_refused_and_creates_nothing },
    { "test_seen_reader_reports_absent_when_no_file",
      test_seen_reader_reports_absent_when_no_file },
    { "test_seen_file_that_is_not_a_table_is_refused",
      test_seen_file_that_is_not_a_table_is_refused },
    { "test_seen_reader_mapping_is_read_only",
      test_seen_reader_mapping_is_read_only },
    { "test_seen_update_then_lookup_round_trips",
      test_seen_update_then_lookup_round_trips },
    { "test_seen_key_is_placed_in_its_window",
      test_seen_key_is_placed_in_its_window },
    { "test_seen_older_event_by_seq_is_ignored",
      test_seen_older_event_by_seq_is_ignored },
    { "test_seen_older_event_by_time_is_ignored_when_either_lacks_seq",
      test_seen_older_event_by_time_is_ignored_when_either_lacks_seq },
    { "test_seen_long_value_is_stored_with_event_null",
      test_seen_long_value_is_stored_with_event_null },
    { "test_seen_event_with_its_own_event_member_is_cut_at_the_records",
      test_seen_event_with_its_own_event_member_is_cut_at_the_records },
    { "test_seen_value_too_long_even_shortened_is_refused",
      test_seen_value_too_long_even_shortened_is_refused },
    { "test_seen_key_empty_or_over_max_is_refused",
      test_seen_key_empty_or_over_max_is_refused },
    { "test_seen_full_window_evicts_least_recently_touched",
      test_seen_full_window_evicts_least_recently_touched },
    { "test_seen_second_live_writer_is_refused",
      test_seen_second_live_writer_is_refused },
    { "test_seen_dead_writers_claim_is_taken_over",
      test_seen_dead_writers_claim_is_taken_over },
    { "test_seen_torn_slot_of_dead_writer_is_emptied_at_next_open",
      test_seen_torn_slot_of_dead_writer_is_emptied_at_next_open },
    { "test_seen_racing_writers_create_one_table_and_one_wins",
      test_seen_racing_writers_create_one_table_and_one_wins },
    { "test_seen_concurrent_reader_never_sees_a_torn_entry",
      test_seen_concurrent_reader_never_sees_a_torn_entry },
    { "test_record_peek_order_reads_time_ms_and_seq",
      test_record_peek_order_reads_time_ms_and_seq },
    { "test_record_peek_order_refuses_truncated_or_malformed_records",
      test_record_peek_order_refuses_truncated_or_malformed_records },
    { NULL, NULL }
};

MCPU_TEST_MAIN()
