/*
 * test_ring.c: tests of mcpu_ring.c, in the manner of ck's
 * regressions/ck_ring/validate: every record carries what is needed to check
 * it (bytes derived from its identity, or a checksum seeded by it), the tests
 * check invariants over many sizes and positions rather than single examples,
 * producers are forked processes, and one of them dies mid-write.
 *
 * Loop counts scale with MCPU_TEST_SCALE and random choices follow
 * MCPU_TEST_SEED (see mcpu_test.h).  Nothing waits on a timer: processes
 * synchronise through pipes and waitpid.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
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

#include "mcpu_ring.h"
#include "mcpu_test.h"


#define KB  1024u

/* model_produce() found the ring disagreeing with the model */
#define MODEL_BROKEN  100


/* 8 lanes of 64 KiB (the minimum), records up to 4 KiB */
static const mcpu_ring_geometry_t  geo_small = { 512 * KB, 8, 4096 };


/* ---- helpers: files, processes, patterns ---- */

static char *
path_in(char *buf, size_t size, const char *dir, const char *name)
{
    snprintf(buf, size, "%s/%s", dir, name);
    return buf;
}


static int
ring_create(mcpu_ring_t *ring, const char *path,
    const mcpu_ring_geometry_t *g)
{
    int   rc;
    char  err[512] = "";

    rc = mcpu_ring_open(ring, path, g, 1, 0600, err, sizeof(err));
    if (!CHECK_EQ_INT(rc, MCPU_RING_OK)) {
        printf("#   mcpu_ring_open: %s\n", err);
        return 0;
    }

    return 1;
}


/* the file at path still attaches (and is let go again) with geometry g */
static void
ring_attaches(const char *path, const mcpu_ring_geometry_t *g)
{
    int          rc;
    char         err[512] = "";
    mcpu_ring_t  ring;

    rc = mcpu_ring_open(&ring, path, g, 0, 0600, err, sizeof(err));
    if (!CHECK_EQ_INT(rc, MCPU_RING_OK)) {
        printf("#   mcpu_ring_open: %s\n", err);
        return;
    }

    mcpu_ring_close(&ring);
}


static unsigned char *
file_read(const char *path, size_t *size)
{
    int             fd;
    ssize_t         n;
    struct stat     st;
    unsigned char  *p;

    fd = open(path, O_RDONLY);
    if (fd == -1 || fstat(fd, &st) == -1) {
        FAIL_MSG("reading \"%s\": %s", path, strerror(errno));
        if (fd != -1) {
            close(fd);
        }
        return NULL;
    }

    p = malloc((size_t) st.st_size + 1);
    n = read(fd, p, (size_t) st.st_size);
    close(fd);

    if (n != (ssize_t) st.st_size) {
        FAIL_MSG("short read of \"%s\"", path);
        free(p);
        return NULL;
    }

    *size = (size_t) st.st_size;
    return p;
}


static int
file_pwrite(const char *path, off_t off, const void *data, size_t n)
{
    int  fd, ok;

    fd = open(path, O_WRONLY);
    ok = fd != -1 && pwrite(fd, data, n, off) == (ssize_t) n;
    if (fd != -1) {
        close(fd);
    }

    return CHECK(ok);
}


static int
file_truncate(const char *path, off_t size)
{
    return CHECK(truncate(path, size) == 0);
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


static void
dir_clear(const char *dir)
{
    char            path[4096];
    DIR            *d;
    struct dirent  *e;

    d = opendir(dir);
    if (d == NULL) {
        return;
    }

    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
            unlink(path);
        }
    }

    closedir(d);
}


static int
alive(uint32_t pid)
{
    return kill((pid_t) pid, 0) == 0 || errno == EPERM;
}


static int
alive_always(uint32_t pid)
{
    (void) pid;
    return 1;
}


static int
alive_never(uint32_t pid)
{
    (void) pid;
    return 0;
}


static pid_t
spawn(int (*fn)(void *), void *arg)
{
    pid_t  pid;

    pid = fork();
    if (pid == 0) {
        _exit(fn(arg));
    }

    CHECK(pid > 0);
    return pid;
}


static void
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

    CHECK_EQ_U64(got, n);
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


static uint64_t
mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}


static uint64_t
rng_next(uint64_t *state)
{
    *state += 0x9e3779b97f4a7c15ull;
    return mix64(*state);
}


/* bytes that depend on seed and on their index */
static void
fill(unsigned char *p, size_t n, uint64_t seed)
{
    size_t    i;
    uint64_t  w;

    for (i = 0; i < n; i += 8) {
        w = mix64(seed + i);
        memcpy(p + i, &w, n - i < 8 ? n - i : 8);
    }
}


/* the index of the first byte that fill() would not have written, or n */
static size_t
mismatch(const unsigned char *p, size_t n, uint64_t seed)
{
    size_t    i, k;
    uint64_t  w;

    for (i = 0; i < n; i += 8) {
        w = mix64(seed + i);
        k = n - i < 8 ? n - i : 8;
        if (memcmp(p + i, &w, k) != 0) {
            while (p[i] == ((unsigned char *) &w)[0]) {
                i++;
                w >>= 8;
            }
            return i;
        }
    }

    return n;
}


static unsigned char *
lane_base(mcpu_ring_t *ring, int lane)
{
    return ring->data + (uint64_t) lane * ring->lane_size;
}


static mcpu_ring_rec_t *
rec_at(mcpu_ring_t *ring, int lane, uint64_t pos)
{
    return (mcpu_ring_rec_t *) (lane_base(ring, lane) + (pos & ring->mask));
}


/* ---- a model of one lane: what every produce, peek and release must do ----
 *
 * Record id n has a key and a value made by fill() from seeds of n, so the
 * consumer can check every byte.  The model predicts each outcome: a record
 * takes mcpu_ring_record_size() bytes, preceded by a PAD to the end of the
 * lane when it does not fit before it, and the lane refuses it (FULL) exactly
 * when unread bytes + PAD + record would exceed the lane.
 */

typedef struct {
    uint64_t  id;
    uint64_t  pos;
    uint64_t  seq;
    uint32_t  key_len;
    uint32_t  value_len;
} expect_t;


typedef struct {
    mcpu_ring_t    *ring;
    int             lane;
    int             snapshot;     /* compare the lane's bytes on refusals */
    uint64_t        tail;         /* p_tail as it must be */
    uint64_t        head;         /* c_head */
    uint64_t        cursor;       /* the consumer's read position */
    uint64_t        seq;          /* p_seq as it must be */
    uint64_t        unreleased;   /* records read since the last release */
    uint64_t        next_id;
    uint64_t        consumed;
    uint64_t        pads;
    uint64_t        full;
    expect_t       *q;            /* records published, not yet read */
    size_t          qsize;
    size_t          qhead;
    size_t          qlen;
    unsigned char  *buf;
    unsigned char  *snap;
} model_t;


static uint64_t
key_seed(uint64_t id)
{
    return mix64(id) ^ 0x6b6579;
}


static uint64_t
value_seed(uint64_t id)
{
    return mix64(id) ^ 0x76616c7565;
}


/* starts a model from the lane's current state, whatever it is */
static void
model_init(model_t *m, mcpu_ring_t *ring, int lane)
{
    mcpu_ring_lane_t  *l = &ring->lanes[lane];

    memset(m, 0, sizeof(*m));
    m->ring = ring;
    m->lane = lane;
    m->tail = l->p_tail;
    m->head = l->c_head;
    m->cursor = l->c_head;
    m->seq = l->p_seq;
    m->qsize = ring->lane_size / MCPU_RING_ALIGN + 1;
    m->q = calloc(m->qsize, sizeof(expect_t));
    m->buf = malloc((size_t) ring->max_record + (size_t) UINT16_MAX + 1);
    m->snap = malloc(ring->lane_size);

    CHECK_EQ_U64(l->p_tail - l->c_head, 0);
}


static void
model_free(model_t *m)
{
    free(m->q);
    free(m->buf);
    free(m->snap);
}


static int
model_produce(model_t *m, size_t key_len, size_t value_len)
{
    int                rc, want;
    uint64_t           need, off, room, total, tail0, seq0, full0, pos;
    mcpu_ring_t       *ring = m->ring;
    mcpu_ring_lane_t  *l = &ring->lanes[m->lane];

    need = mcpu_ring_record_size(key_len, value_len);
    off = m->tail & ring->mask;
    room = ring->lane_size - off;
    total = need <= room ? need : room + need;
    pos = need <= room ? m->tail : m->tail + room;

    if (need > ring->max_record || key_len > UINT16_MAX) {
        want = MCPU_RING_TOO_BIG;

    } else if (m->tail - m->head + total > ring->lane_size) {
        want = MCPU_RING_FULL;

    } else {
        want = MCPU_RING_OK;
    }

    fill(m->buf, key_len, key_seed(m->next_id));
    fill(m->buf + key_len, value_len, value_seed(m->next_id));

    tail0 = l->p_tail;
    seq0 = l->p_seq;
    full0 = l->full;

    if (want != MCPU_RING_OK && m->snapshot) {
        memcpy(m->snap, lane_base(ring, m->lane), ring->lane_size);
    }

    rc = mcpu_ring_produce(ring, m->lane, m->buf, key_len,
                           m->buf + key_len, value_len);

    if (!CHECK_EQ_INT(rc, want)) {
        printf("#   record %" PRIu64 ": key %zu + value %zu bytes (%" PRIu64
               " with header) at p_tail %" PRIu64 ", c_head %" PRIu64
               ", lane %" PRIu64 " bytes\n", m->next_id, key_len, value_len,
               need, m->tail, m->head, ring->lane_size);
        return MODEL_BROKEN;
    }

    if (rc != MCPU_RING_OK) {
        /* a refusal writes nothing */
        if (!CHECK_EQ_U64(l->p_tail, tail0) || !CHECK_EQ_U64(l->p_seq, seq0)
            || !CHECK_EQ_U64(l->full, full0 + (rc == MCPU_RING_FULL))
            || (m->snapshot
                && !CHECK_MEM_EQ(lane_base(ring, m->lane), m->snap,
                                 ring->lane_size)))
        {
            return MODEL_BROKEN;
        }

        m->full += rc == MCPU_RING_FULL;
        return rc;
    }

    if (!CHECK_EQ_U64(l->p_tail, m->tail + total)
        || !CHECK_EQ_U64(l->p_seq, m->seq + 1)
        || !CHECK_EQ_U64(mcpu_ring_used(ring, m->lane),
                         m->tail + total - m->head)
        || !CHECK(m->qlen < m->qsize))
    {
        return MODEL_BROKEN;
    }

    m->q[(m->qhead + m->qlen) % m->qsize] = (expect_t) {
        m->next_id, pos, m->seq, (uint32_t) key_len, (uint32_t) value_len
    };
    m->qlen++;
    m->pads += need > room;
    m->tail += total;
    m->seq++;
    m->next_id++;

    return MCPU_RING_OK;
}


/* reads up to max records (0: all), checking each; returns how many, or -1 */
static long
model_consume(model_t *m, uint64_t max)
{
    int                rc;
    long               n;
    size_t             bad;
    expect_t          *e;
    mcpu_ring_view_t   v;
    const unsigned char *at;

    for (n = 0; max == 0 || (uint64_t) n < max; n++) {
        rc = mcpu_ring_peek(m->ring, m->lane, &m->cursor, &v);

        if (m->qlen == 0) {
            if (!CHECK_EQ_INT(rc, MCPU_RING_EMPTY)
                || !CHECK_EQ_U64(m->cursor, m->tail))
            {
                return -1;
            }
            break;
        }

        e = &m->q[m->qhead];

        if (!CHECK_EQ_INT(rc, MCPU_RING_OK)) {
            printf("#   record %" PRIu64 " at position %" PRIu64 "\n", e->id,
                   e->pos);
            return -1;
        }

        /* the view points into the mapping: records are read in place */
        at = lane_base(m->ring, m->lane) + (e->pos & m->ring->mask)
             + sizeof(mcpu_ring_rec_t);

        if (!CHECK_EQ_U64(v.pos, e->pos)
            || !CHECK_EQ_U64(v.end, e->pos + mcpu_ring_record_size(
                                                 e->key_len, e->value_len))
            || !CHECK_EQ_U64(m->cursor, v.end)
            || !CHECK_EQ_U64(v.seq, (uint32_t) e->seq)
            || !CHECK_EQ_U64(v.key_len, e->key_len)
            || !CHECK_EQ_U64(v.value_len, e->value_len)
            || !CHECK(v.key == at)
            || !CHECK(v.value == at + e->key_len))
        {
            printf("#   record %" PRIu64 "\n", e->id);
            return -1;
        }

        bad = mismatch(v.key, v.key_len, key_seed(e->id));
        if (bad != v.key_len) {
            FAIL_MSG("record %" PRIu64 ": key byte %zu of %" PRIu32
                     " is wrong", e->id, bad, v.key_len);
            return -1;
        }

        bad = mismatch(v.value, v.value_len, value_seed(e->id));
        if (bad != v.value_len) {
            FAIL_MSG("record %" PRIu64 ": value byte %zu of %" PRIu32
                     " is wrong", e->id, bad, v.value_len);
            return -1;
        }

        m->qhead = (m->qhead + 1) % m->qsize;
        m->qlen--;
        m->unreleased++;
        m->consumed++;
    }

    return n;
}


static int
model_release(model_t *m)
{
    uint64_t           c_seq0;
    mcpu_ring_lane_t  *l = &m->ring->lanes[m->lane];

    c_seq0 = l->c_seq;
    mcpu_ring_release(m->ring, m->lane, m->cursor, m->unreleased);

    m->head = m->cursor;

    if (!CHECK_EQ_U64(l->c_head, m->cursor)
        || !CHECK_EQ_U64(l->c_seq, c_seq0 + m->unreleased)
        || !CHECK_EQ_U64(mcpu_ring_used(m->ring, m->lane),
                         m->tail - m->head))
    {
        return 0;
    }

    m->unreleased = 0;
    return 1;
}


/* produces, and when the lane is full reads and releases everything first */
static int
model_push(model_t *m, size_t key_len, size_t value_len)
{
    int  rc;

    rc = model_produce(m, key_len, value_len);
    if (rc != MCPU_RING_FULL) {
        return rc;
    }

    if (model_consume(m, 0) < 0 || !model_release(m)) {
        return MODEL_BROKEN;
    }

    return model_produce(m, key_len, value_len);
}


static int
model_drain(model_t *m)
{
    return model_consume(m, 0) >= 0 && model_release(m)
           && CHECK_EQ_U64(m->qlen, 0);
}


static int
ring_check_ok(mcpu_ring_t *ring)
{
    int   rc;
    char  err[512] = "";

    rc = mcpu_ring_check(ring, err, sizeof(err));
    if (!CHECK_EQ_INT(rc, MCPU_RING_OK)) {
        printf("#   mcpu_ring_check: %s\n", err);
        return 0;
    }

    return 1;
}


/* ---- messages of forked producers ----
 *
 * key "p<producer>", value a msg_t and len payload bytes; sum covers
 * producer, seq, len and the payload, so a torn, stale or misplaced record
 * cannot pass.
 */

typedef struct {
    uint32_t  producer;
    uint32_t  len;
    uint64_t  seq;
    uint64_t  sum;
} msg_t;

#define MSG_MAX_PAYLOAD  2000


static uint64_t
msg_sum(uint32_t producer, uint64_t seq, const unsigned char *p, size_t n)
{
    size_t    i;
    uint64_t  h, w;

    h = mix64(((uint64_t) producer << 32) ^ mix64(seq) ^ n);

    for (i = 0; i + 8 <= n; i += 8) {
        memcpy(&w, p + i, 8);
        h = (h ^ w) * 0x100000001b3ull;
        h ^= h >> 29;
    }

    w = 0;
    memcpy(&w, p + i, n - i);
    return mix64(h ^ w ^ ((uint64_t) n << 48));
}


static uint32_t
msg_len(uint32_t producer, uint64_t seq)
{
    return 1 + (uint32_t) (mix64(((uint64_t) producer << 40) ^ seq)
                           % MSG_MAX_PAYLOAD);
}


static size_t
msg_key(char *key, uint32_t producer)
{
    return (size_t) snprintf(key, 16, "p%" PRIu32, producer);
}


/* builds message seq of producer into buf; returns the value's length */
static size_t
msg_make(unsigned char *buf, uint32_t producer, uint64_t seq)
{
    msg_t  msg;

    msg.producer = producer;
    msg.seq = seq;
    msg.len = msg_len(producer, seq);
    fill(buf + sizeof(msg), msg.len, ((uint64_t) producer << 40) ^ seq);
    msg.sum = msg_sum(producer, seq, buf + sizeof(msg), msg.len);
    memcpy(buf, &msg, sizeof(msg));

    return sizeof(msg) + msg.len;
}


/* produces message seq; spin: while the lane is full, else it is refused */
static int
msg_produce(mcpu_ring_t *ring, int lane, unsigned char *buf,
    uint32_t producer, uint64_t seq, int spin)
{
    int     rc;
    char    key[16];
    size_t  key_len, value_len;

    key_len = msg_key(key, producer);
    value_len = msg_make(buf, producer, seq);

    while ((rc = mcpu_ring_produce(ring, lane, key, key_len, buf, value_len))
           == MCPU_RING_FULL && spin)
    {
        sched_yield();
    }

    return rc;
}


/* 1 if the view holds a well-formed message, copied into msg */
static int
msg_parse(const mcpu_ring_view_t *v, msg_t *msg)
{
    char    key[16];
    size_t  key_len;

    if (v->value_len < sizeof(*msg)) {
        return 0;
    }

    memcpy(msg, v->value, sizeof(*msg));
    key_len = msg_key(key, msg->producer);

    return msg->len == v->value_len - sizeof(*msg)
           && msg->len == msg_len(msg->producer, msg->seq)
           && v->key_len == key_len && memcmp(v->key, key, key_len) == 0
           && msg->sum == msg_sum(msg->producer, msg->seq,
                                  v->value + sizeof(*msg), msg->len);
}


/* the consumer's state for one lane of messages */
typedef struct {
    uint64_t  cursor;
    uint64_t  ring_seq;       /* the view->seq expected next (low 32 bits) */
    int64_t   producer;       /* whose records come next; -1: learn it */
    uint64_t  msg_seq;        /* its next message number */
    uint64_t  records;        /* read in all */
} reader_t;


static void
reader_init(reader_t *r, mcpu_ring_t *ring, int lane, int64_t producer)
{
    memset(r, 0, sizeof(*r));
    r->cursor = ring->lanes[lane].c_head;
    r->ring_seq = ring->lanes[lane].c_seq;
    r->producer = producer;
}


/*
 * Reads up to max messages (0: until EMPTY), releasing after each batch of
 * batch records (0: never).  Each must be valid, from r->producer, and carry the next
 * message number and the next ring seq.  Returns how many, or -1.
 */
static long
reader_read(mcpu_ring_t *ring, int lane, reader_t *r, uint64_t max,
    uint64_t batch)
{
    int               rc;
    long              n = 0;
    msg_t             msg;
    uint64_t          pending = 0;
    mcpu_ring_view_t  v;

    while (max == 0 || (uint64_t) n < max) {
        rc = mcpu_ring_peek(ring, lane, &r->cursor, &v);

        if (rc == MCPU_RING_EMPTY) {
            break;
        }

        if (rc != MCPU_RING_OK) {
            FAIL_MSG("lane %d: mcpu_ring_peek returned %d at position %"
                     PRIu64 " after %" PRIu64 " records", lane, rc,
                     r->cursor, r->records);
            return -1;
        }

        if (!msg_parse(&v, &msg)) {
            FAIL_MSG("lane %d: the record at position %" PRIu64 " (record %"
                     PRIu64 " of the lane) is not a valid message", lane,
                     v.pos, r->records);
            return -1;
        }

        if (r->producer == -1) {
            r->producer = msg.producer;
        }

        if (msg.producer != r->producer || msg.seq != r->msg_seq) {
            FAIL_MSG("lane %d: expected message %" PRIu64 " of producer %"
                     PRId64 ", read message %" PRIu64 " of producer %" PRIu32,
                     lane, r->msg_seq, r->producer, msg.seq, msg.producer);
            return -1;
        }

        if (v.seq != (uint32_t) r->ring_seq) {
            FAIL_MSG("lane %d: record %" PRIu64 " has ring seq %" PRIu32
                     ", expected %" PRIu32, lane, r->records, v.seq,
                     (uint32_t) r->ring_seq);
            return -1;
        }

        r->msg_seq++;
        r->ring_seq++;
        r->records++;
        n++;

        if (batch && ++pending == batch) {
            mcpu_ring_release(ring, lane, r->cursor, pending);
            pending = 0;
        }
    }

    if (pending) {
        mcpu_ring_release(ring, lane, r->cursor, pending);
    }

    return n;
}


/*
 * Reads count messages from the lane while producer pid runs (it may need
 * the room), stopping early if it exits before writing them all; then waits
 * for it.  Returns its wait status.
 */
static int
reader_follow(mcpu_ring_t *ring, int lane, reader_t *r, uint64_t count,
    pid_t pid)
{
    int       status, exited = 0;
    long      n;
    uint64_t  got = 0;

    while (got < count) {
        n = reader_read(ring, lane, r, count - got, 16);
        if (n < 0) {
            kill(pid, SIGKILL);
            break;
        }

        if (n == 0) {
            if (exited) {
                break;
            }

            /* one more pass after it exited: what it published is there */
            exited = waitpid(pid, &status, WNOHANG) == pid;
            sched_yield();
        }

        got += (uint64_t) n;
    }

    CHECK_EQ_U64(got, count);

    return exited ? status : reap(pid);
}


/* ---- open: create, attach, refuse ---- */

static void
test_ring_created_file_attaches_with_same_geometry(const char *dir)
{
    int                   i, rc;
    char                  path[4096], err[512];
    struct stat           st;
    mcpu_ring_t           ring, again;
    mcpu_ring_view_t      v;
    mcpu_ring_header_t   *h;
    mcpu_ring_geometry_t  g, some;
    uint64_t              cursor, lanes_end;

    static const mcpu_ring_geometry_t  geos[] = {
        { 64 * KB, 1, 256 },
        { 512 * KB, 8, 4096 },
        { 4096 * KB, 16, 128 * KB },
        { 16384 * KB, 256, 32 * KB },
    };

    for (i = 0; i < (int) (sizeof(geos) / sizeof(geos[0])); i++) {
        g = geos[i];
        snprintf(path, sizeof(path), "%s/ring-%d", dir, i);

        if (!ring_create(&ring, path, &g)) {
            return;
        }

        h = ring.hdr;
        lanes_end = MCPU_RING_HEADER_SIZE
                    + (uint64_t) g.lanes * sizeof(mcpu_ring_lane_t);

        CHECK_MEM_EQ(h->magic, MCPU_RING_MAGIC, 8);
        CHECK_EQ_U64(h->version, MCPU_RING_VERSION);
        CHECK_EQ_U64(h->header_size, MCPU_RING_HEADER_SIZE);
        CHECK_EQ_U64(h->lane_struct_size, sizeof(mcpu_ring_lane_t));
        CHECK_EQ_U64(h->lanes, g.lanes);
        CHECK_EQ_U64(h->max_record, g.max_record);
        CHECK_EQ_U64(h->lane_size * h->lanes, g.size);
        CHECK_EQ_U64(h->data_offset % MCPU_RING_PAGE, 0);
        CHECK(h->data_offset >= lanes_end);
        CHECK(h->data_offset < lanes_end + MCPU_RING_PAGE);
        CHECK_EQ_U64(h->file_size, h->data_offset + g.size);
        CHECK_EQ_U64(h->creator_pid, getpid());
        CHECK(h->created_ms != 0);

        CHECK(stat(path, &st) == 0);
        CHECK_EQ_U64(st.st_size, h->file_size);
        CHECK_EQ_U64(st.st_mode & 0777, 0600);
        CHECK_EQ_U64(ring.map_size, h->file_size);

        CHECK_EQ_U64(ring.nlanes, g.lanes);
        CHECK_EQ_U64(ring.lane_size, g.size / g.lanes);
        CHECK_EQ_U64(ring.mask, g.size / g.lanes - 1);
        CHECK_EQ_U64(ring.max_record, g.max_record);
        CHECK(ring.lanes == (void *) ((char *) h + MCPU_RING_HEADER_SIZE));
        CHECK(ring.data == (unsigned char *) h + h->data_offset);

        /* every lane starts empty and unowned */
        CHECK(ring.lanes[g.lanes - 1].owner_pid == 0);
        CHECK(ring.lanes[g.lanes - 1].p_tail == 0);
        CHECK(ring.lanes[g.lanes - 1].c_head == 0);

        /* the same geometry, and "whatever the file says", both attach */
        some = g;
        some.lanes = 0;
        some.max_record = 0;
        memset(err, 0, sizeof(err));

        rc = mcpu_ring_open(&again, path, &g, 0, 0600, err, sizeof(err));
        if (CHECK_EQ_INT(rc, MCPU_RING_OK)) {
            mcpu_ring_close(&again);
        }

        rc = mcpu_ring_open(&again, path, NULL, 0, 0600, err, sizeof(err));
        if (CHECK_EQ_INT(rc, MCPU_RING_OK)) {
            mcpu_ring_close(&again);
        }

        rc = mcpu_ring_open(&again, path, &some, 1, 0600, err, sizeof(err));
        if (!CHECK_EQ_INT(rc, MCPU_RING_OK)) {
            printf("#   %s\n", err);
            mcpu_ring_close(&ring);
            return;
        }

        /* two mappings of one file, at different addresses, share records:
         * the layout holds offsets only */
        CHECK(again.hdr != ring.hdr);
        CHECK_EQ_U64(again.nlanes, g.lanes);
        CHECK_EQ_U64(again.lane_size, ring.lane_size);

        CHECK_EQ_INT(mcpu_ring_produce(&ring, (int) g.lanes - 1, "k", 1,
                                       "value", 5), MCPU_RING_OK);
        cursor = 0;
        if (CHECK_EQ_INT(mcpu_ring_peek(&again, (int) g.lanes - 1, &cursor,
                                        &v), MCPU_RING_OK))
        {
            CHECK_EQ_U64(v.key_len, 1);
            CHECK_EQ_U64(v.value_len, 5);
            CHECK_MEM_EQ(v.value, "value", 5);
        }

        mcpu_ring_close(&again);
        mcpu_ring_close(&ring);
        CHECK(ring.hdr == NULL);
    }

    /* nothing but the rings: no temporary file is left behind */
    CHECK_EQ_INT(dir_entries(dir), sizeof(geos) / sizeof(geos[0]));
}


static void
test_ring_attach_with_other_size_is_refused_naming_both_values(
    const char *dir)
{
    int                   i, rc;
    char                  path[4096], err[1024];
    mcpu_ring_t           ring;
    mcpu_ring_geometry_t  g;

    static const struct {
        mcpu_ring_geometry_t  g;
        const char           *file_value;
        const char           *conf_value;
    } cases[] = {
        { { 1024 * KB, 8, 4096 }, "size=524288", "size=1048576" },
        { { 256 * KB, 0, 0 }, "size=524288", "size=262144" },
        { { 512 * KB, 4, 4096 }, "lanes=8", "lanes=4" },
        { { 512 * KB, 8, 8192 }, "max_record=4096", "max_record=8192" },
    };

    path_in(path, sizeof(path), dir, "ring");

    if (!ring_create(&ring, path, &geo_small)) {
        return;
    }
    mcpu_ring_close(&ring);

    for (i = 0; i < (int) (sizeof(cases) / sizeof(cases[0])); i++) {
        g = cases[i].g;

        /* with create set too: an existing ring is never re-created */
        for (int create = 0; create < 2; create++) {
            memset(err, 0, sizeof(err));
            rc = mcpu_ring_open(&ring, path, &g, create, 0600, err,
                                sizeof(err));

            CHECK_EQ_INT(rc, MCPU_RING_ERROR);
            CHECK(ring.hdr == NULL);
            CHECK_STR_CONTAINS(err, path);
            CHECK_STR_CONTAINS(err, cases[i].file_value);
            CHECK_STR_CONTAINS(err, cases[i].conf_value);
        }
    }

    /* and the file still attaches with its own geometry */
    ring_attaches(path, &geo_small);
}


static void
test_ring_attach_other_layout_version_is_refused(const char *dir)
{
    int          i, rc;
    char         path[4096], err[1024];
    uint32_t     v;
    mcpu_ring_t  ring;

    static const struct {
        size_t    offset;
        uint32_t  value;
    } cases[] = {
        { offsetof(mcpu_ring_header_t, version), MCPU_RING_VERSION + 1 },
        { offsetof(mcpu_ring_header_t, header_size), 1024 },
        { offsetof(mcpu_ring_header_t, lane_struct_size), 256 },
    };

    path_in(path, sizeof(path), dir, "ring");

    if (!ring_create(&ring, path, &geo_small)) {
        return;
    }
    mcpu_ring_close(&ring);

    for (i = 0; i < (int) (sizeof(cases) / sizeof(cases[0])); i++) {
        if (!file_pwrite(path, (off_t) cases[i].offset, &cases[i].value, 4)) {
            return;
        }

        memset(err, 0, sizeof(err));
        rc = mcpu_ring_open(&ring, path, &geo_small, 1, 0600, err,
                            sizeof(err));
        CHECK_EQ_INT(rc, MCPU_RING_ERROR);
        CHECK_STR_CONTAINS(err, path);
        CHECK_STR_CONTAINS(err, "layout version");

        if (i == 0) {
            CHECK_STR_CONTAINS(err, "version 2");
            CHECK_STR_CONTAINS(err, "version 1");
        }

        rc = mcpu_ring_open(&ring, path, NULL, 0, 0600, err, sizeof(err));
        CHECK_EQ_INT(rc, MCPU_RING_ERROR);

        /* put the field back: the ring attaches again */
        v = i == 0 ? MCPU_RING_VERSION
            : i == 1 ? MCPU_RING_HEADER_SIZE : sizeof(mcpu_ring_lane_t);
        file_pwrite(path, (off_t) cases[i].offset, &v, 4);

        rc = mcpu_ring_open(&ring, path, &geo_small, 0, 0600, err,
                            sizeof(err));
        if (CHECK_EQ_INT(rc, MCPU_RING_OK)) {
            mcpu_ring_close(&ring);
        }
    }
}


static void
test_ring_bad_magic_is_refused(const char *dir)
{
    int            i, rc, fd;
    char           path[4096], other[4096], err[1024];
    mcpu_ring_t    ring;
    unsigned char  junk[8192];

    static const size_t  junk_sizes[] = { 0, 100, 600, 8192 };

    path_in(path, sizeof(path), dir, "ring");

    if (!ring_create(&ring, path, &geo_small)) {
        return;
    }
    mcpu_ring_close(&ring);

    file_pwrite(path, 0, "MCPURINX", 8);

    for (int create = 0; create < 2; create++) {
        memset(err, 0, sizeof(err));
        rc = mcpu_ring_open(&ring, path, &geo_small, create, 0600, err,
                            sizeof(err));
        CHECK_EQ_INT(rc, MCPU_RING_ERROR);
        CHECK_STR_CONTAINS(err, path);
        CHECK_STR_CONTAINS(err, "bad magic");
    }

    /* files that are no ring at all, of every length */
    fill(junk, sizeof(junk), 42);

    for (i = 0; i < (int) (sizeof(junk_sizes) / sizeof(junk_sizes[0])); i++) {
        snprintf(other, sizeof(other), "%s/junk-%d", dir, i);
        fd = open(other, O_WRONLY | O_CREAT | O_EXCL, 0600);
        CHECK(fd != -1 && write(fd, junk, junk_sizes[i])
                          == (ssize_t) junk_sizes[i]);
        close(fd);

        memset(err, 0, sizeof(err));
        rc = mcpu_ring_open(&ring, other, NULL, 1, 0600, err, sizeof(err));
        CHECK_EQ_INT(rc, MCPU_RING_ERROR);
        CHECK_STR_CONTAINS(err, other);
    }

    /* a directory where the ring should be */
    snprintf(other, sizeof(other), "%s/a-directory", dir);
    CHECK(mkdir(other, 0700) == 0);
    rc = mcpu_ring_open(&ring, other, &geo_small, 1, 0600, err, sizeof(err));
    CHECK_EQ_INT(rc, MCPU_RING_ERROR);
    CHECK_STR_CONTAINS(err, other);
}


static void
test_ring_truncated_file_is_refused(const char *dir)
{
    int          i, rc;
    char         path[4096], err[1024], want[64];
    off_t        size;
    struct stat  st;
    mcpu_ring_t  ring;

    path_in(path, sizeof(path), dir, "ring");

    if (!ring_create(&ring, path, &geo_small)) {
        return;
    }
    size = (off_t) ring.hdr->file_size;
    mcpu_ring_close(&ring);

    static const off_t  deltas[] = { -1, -4096, -(512 * 1024), 4096 };

    for (i = 0; i < (int) (sizeof(deltas) / sizeof(deltas[0])); i++) {
        if (!file_truncate(path, size + deltas[i])) {
            return;
        }

        for (int create = 0; create < 2; create++) {
            memset(err, 0, sizeof(err));
            rc = mcpu_ring_open(&ring, path, &geo_small, create, 0600, err,
                                sizeof(err));
            CHECK_EQ_INT(rc, MCPU_RING_ERROR);
            CHECK_STR_CONTAINS(err, path);

            /* both lengths are named: the header's and the file's */
            snprintf(want, sizeof(want), "%lld", (long long) size);
            CHECK_STR_CONTAINS(err, want);
            snprintf(want, sizeof(want), "%lld",
                     (long long) (size + deltas[i]));
            CHECK_STR_CONTAINS(err, want);

            CHECK(stat(path, &st) == 0 && st.st_size == size + deltas[i]);
        }
    }

    /* a file shorter than the header */
    file_truncate(path, 256);
    rc = mcpu_ring_open(&ring, path, NULL, 1, 0600, err, sizeof(err));
    CHECK_EQ_INT(rc, MCPU_RING_ERROR);
    CHECK_STR_CONTAINS(err, path);

    file_truncate(path, size);
    ring_attaches(path, &geo_small);
}


static void
test_ring_geometry_not_power_of_two_is_refused(const char *dir)
{
    int                   i, rc;
    char                  path[4096], err[1024];
    mcpu_ring_t           ring;
    mcpu_ring_geometry_t  g;

    static const struct {
        mcpu_ring_geometry_t  g;
        const char           *value;
    } bad[] = {
        { { 786432, 8, 4096 }, "786432" },
        { { 1024 * KB + 16, 8, 4096 }, "1048592" },
        { { 1024 * KB, 3, 4096 }, "3" },
        { { 1024 * KB, 6, 4096 }, "6" },
        { { 1024 * KB, 12, 4096 }, "12" },
        { { 1024 * KB, 0, 4096 }, "0" },
        { { 0, 8, 4096 }, "0" },
        { { 16384 * KB, 512, 4096 }, "512" },
    };

    /* powers of two at the limits are fine */
    static const mcpu_ring_geometry_t  good[] = {
        { 64 * KB, 1, 256 },
        { 64 * KB, 1, 32 * KB },
        { 16384 * KB, 256, 256 },
        { 1ull << 40, 2, 1u << 31 },
    };

    for (i = 0; i < (int) (sizeof(bad) / sizeof(bad[0])); i++) {
        memset(err, 0, sizeof(err));
        rc = mcpu_ring_geometry_check(&bad[i].g, err, sizeof(err));
        if (!CHECK_EQ_INT(rc, MCPU_RING_ERROR)) {
            printf("#   size %" PRIu64 " lanes %" PRIu32 " accepted\n",
                   bad[i].g.size, bad[i].g.lanes);
        }
        CHECK_STR_CONTAINS(err, "power of two");
        CHECK_STR_CONTAINS(err, bad[i].value);
    }

    for (i = 0; i < (int) (sizeof(good) / sizeof(good[0])); i++) {
        rc = mcpu_ring_geometry_check(&good[i], err, sizeof(err));
        if (!CHECK_EQ_INT(rc, MCPU_RING_OK)) {
            printf("#   %s\n", err);
        }
    }

    /* mcpu_ring_open refuses to make such a ring too; here only sizes and
     * lane counts that no version could divide by zero (every geometry, in
     * children: test_ring_open_with_invalid_geometry_creates_nothing) */
    for (i = 0; i < 5; i++) {
        g = bad[i].g;
        snprintf(path, sizeof(path), "%s/ring-%d", dir, i);
        rc = mcpu_ring_open(&ring, path, &g, 1, 0600, err, sizeof(err));
        if (!CHECK_EQ_INT(rc, MCPU_RING_ERROR)) {
            mcpu_ring_close(&ring);
        }
    }
}


typedef struct {
    const char                  *path;
    const mcpu_ring_geometry_t  *g;
    int                          fd;
} open_child_t;


static int
child_open_create(void *arg)
{
    int           rc;
    char          err[1024];
    mcpu_ring_t   ring;
    open_child_t *a = arg;

    memset(err, 0, sizeof(err));
    rc = mcpu_ring_open(&ring, a->path, a->g, 1, 0600, err, sizeof(err));
    if (rc == MCPU_RING_OK) {
        mcpu_ring_close(&ring);
    }

    if (write(a->fd, &rc, sizeof(rc)) != sizeof(rc)
        || write(a->fd, err, sizeof(err)) != sizeof(err))
    {
        return 2;
    }

    return 0;
}


/*
 * A geometry that mcpu_ring_geometry_check refuses must not become a file:
 * a ring is never re-created, so a bad one would stay for good.  open
 * refuses it with the same sentence, leaves nothing behind and does not
 * crash (each attempt runs in a child for that reason).
 */
static void
test_ring_open_with_invalid_geometry_creates_nothing(const char *dir)
{
    int           i, rc, status, fds[2];
    char          path[4096], err[1024], want[1024], who[64];
    pid_t         pid;
    open_child_t  a;

    static const mcpu_ring_geometry_t  bad[] = {
        { 786432, 8, 4096 },             /* size not a power of two */
        { 1024 * KB, 3, 4096 },          /* lanes not a power of two */
        { 1024 * KB, 0, 4096 },          /* no lanes */
        { 0, 0, 0 },                     /* nothing said */
        { 16384 * KB, 512, 4096 },       /* more lanes than the maximum */
        { 1024 * KB, 8, 0 },             /* no record fits */
        { 1024 * KB, 8, 64 * KB + 16 },  /* more than half a lane */
        { 256 * KB, 8, 4096 },           /* lanes under the minimum */
    };

    for (i = 0; i < (int) (sizeof(bad) / sizeof(bad[0])); i++) {
        snprintf(path, sizeof(path), "%s/ring-%d", dir, i);
        snprintf(who, sizeof(who), "open of geometry %d", i);

        CHECK_EQ_INT(mcpu_ring_geometry_check(&bad[i], want, sizeof(want)),
                     MCPU_RING_ERROR);

        if (!CHECK(pipe(fds) == 0)) {
            return;
        }

        a.path = path;
        a.g = &bad[i];
        a.fd = fds[1];
        pid = spawn(child_open_create, &a);
        close(fds[1]);

        rc = 0;
        memset(err, 0, sizeof(err));
        status = reap(pid);

        if (exited_ok(status, who)) {
            read_full(fds[0], &rc, sizeof(rc));
            read_full(fds[0], err, sizeof(err));
            err[sizeof(err) - 1] = '\0';

            if (!CHECK_EQ_INT(rc, MCPU_RING_ERROR)) {
                printf("#   geometry %d (size %" PRIu64 " lanes %" PRIu32
                       " max_record %" PRIu32 ") was created\n", i,
                       bad[i].size, bad[i].lanes, bad[i].max_record);
            }

            CHECK_STR_CONTAINS(err, want);
        }

        close(fds[0]);

        if (!CHECK_EQ_INT(dir_entries(dir), 0)) {
            printf("#   geometry %d left a file behind\n", i);
            dir_clear(dir);
        }
    }
}


/*
 * A header that open could never have written (lanes overlapping the lane
 * table, a max_record that no lane can take twice, lanes under the minimum)
 * is damage, and attaching to it would let producers scribble over the lane
 * table or stall on a lane that can never take their record.
 */
static void
test_ring_header_with_impossible_geometry_is_refused(const char *dir)
{
    int                  i, rc;
    char                 path[4096], err[1024];
    mcpu_ring_t          ring;
    mcpu_ring_header_t   h, d;

    path_in(path, sizeof(path), dir, "ring");

    if (!ring_create(&ring, path, &geo_small)) {
        return;
    }
    h = *ring.hdr;
    mcpu_ring_close(&ring);

    for (i = 0; i < 4; i++) {
        d = h;

        switch (i) {
        case 0:     /* lane data on top of the lane table */
            d.data_offset = 1024;
            break;
        case 1:     /* no record fits */
            d.max_record = 0;
            break;
        case 2:     /* a lane that cannot take two: FULL for ever */
            d.max_record = (uint32_t) h.lane_size;
            break;
        default:    /* 8 lanes of 16 bytes */
            d.lane_size = 16;
            break;
        }

        d.file_size = d.data_offset + d.lane_size * d.lanes;

        if (!file_truncate(path, (off_t) d.file_size)
            || !file_pwrite(path, 0, &d, sizeof(d)))
        {
            return;
        }

        memset(err, 0, sizeof(err));
        rc = mcpu_ring_open(&ring, path, NULL, 0, 0600, err, sizeof(err));
        if (!CHECK_EQ_INT(rc, MCPU_RING_ERROR)) {
            printf("#   header %d (data_offset %" PRIu64 " lane_size %" PRIu64
                   " max_record %" PRIu32 ") attached\n", i, d.data_offset,
                   d.lane_size, d.max_record);
            mcpu_ring_close(&ring);

        } else {
            CHECK_STR_CONTAINS(err, path);
        }
    }

    /* the original header attaches again */
    file_truncate(path, (off_t) h.file_size);
    file_pwrite(path, 0, &h, sizeof(h));
    ring_attaches(path, &geo_small);
}


static void
test_ring_missing_file_without_create_reports_missing(const char *dir)
{
    int          rc;
    char         path[4096], err[1024];
    mcpu_ring_t  ring;

    path_in(path, sizeof(path), dir, "ring");

    memset(err, 0, sizeof(err));
    rc = mcpu_ring_open(&ring, path, &geo_small, 0, 0600, err, sizeof(err));
    CHECK_EQ_INT(rc, MCPU_RING_MISSING);
    CHECK(ring.hdr == NULL);
    CHECK_STR_CONTAINS(err, path);
    CHECK_STR_CONTAINS(err, "does not exist");

    rc = mcpu_ring_open(&ring, path, NULL, 0, 0600, err, sizeof(err));
    CHECK_EQ_INT(rc, MCPU_RING_MISSING);

    /* looking created nothing */
    CHECK_EQ_INT(dir_entries(dir), 0);

    /* a missing directory is missing too; creating in it is an error that
     * names the call */
    path_in(path, sizeof(path), dir, "no-such-dir/ring");
    rc = mcpu_ring_open(&ring, path, &geo_small, 0, 0600, err, sizeof(err));
    CHECK_EQ_INT(rc, MCPU_RING_MISSING);

    memset(err, 0, sizeof(err));
    rc = mcpu_ring_open(&ring, path, &geo_small, 1, 0600, err, sizeof(err));
    CHECK_EQ_INT(rc, MCPU_RING_ERROR);
    CHECK_STR_CONTAINS(err, "no-such-dir/ring");
    CHECK_STR_CONTAINS(err, strerror(ENOENT));

    /* once there, it attaches */
    path_in(path, sizeof(path), dir, "ring");
    if (ring_create(&ring, path, &geo_small)) {
        mcpu_ring_close(&ring);
        rc = mcpu_ring_open(&ring, path, &geo_small, 0, 0600, err,
                            sizeof(err));
        if (CHECK_EQ_INT(rc, MCPU_RING_OK)) {
            mcpu_ring_close(&ring);
        }
    }
}


static void
test_ring_open_never_rewrites_an_existing_file(const char *dir)
{
    int                   i, rc, create;
    char                  path[4096], err[1024];
    size_t                n0, n1;
    struct stat           st0, st1;
    mcpu_ring_t           ring;
    unsigned char        *before, *after;
    mcpu_ring_geometry_t  g;

    path_in(path, sizeof(path), dir, "ring");

    if (!ring_create(&ring, path, &geo_small)) {
        return;
    }

    /* some state worth losing: records in two lanes, an owner */
    CHECK_EQ_INT(mcpu_ring_claim(&ring, 4242, alive_always), 0);
    for (i = 0; i < 100; i++) {
        CHECK_EQ_INT(mcpu_ring_produce(&ring, i % 2, "key", 3, "value", 5),
                     MCPU_RING_OK);
    }
    mcpu_ring_close(&ring);

    for (i = 0; i < 6; i++) {
        g = geo_small;
        create = i % 2;

        switch (i / 2) {
        case 0:                      /* attaches */
            break;
        case 1:                      /* refused: other geometry */
            g.size *= 2;
            break;
        default:                     /* refused: damaged */
            file_pwrite(path, 0, "XXXX", 4);
            break;
        }

        before = file_read(path, &n0);
        CHECK(stat(path, &st0) == 0);

        rc = mcpu_ring_open(&ring, path, &g, create, 0644, err, sizeof(err));
        CHECK_EQ_INT(rc, i / 2 == 0 ? MCPU_RING_OK : MCPU_RING_ERROR);
        if (rc == MCPU_RING_OK) {
            mcpu_ring_close(&ring);
        }

        after = file_read(path, &n1);
        CHECK(stat(path, &st1) == 0);

        if (before != NULL && after != NULL && CHECK_EQ_U64(n1, n0)) {
            CHECK_MEM_EQ(after, before, n0);
        }

        /* the same file, not a new one of the same content */
        CHECK_EQ_U64(st1.st_ino, st0.st_ino);
        CHECK_EQ_U64(st1.st_mode, st0.st_mode);
        CHECK_EQ_INT(dir_entries(dir), 1);

        free(before);
        free(after);
    }
}


typedef struct {
    const char  *path;
    int          go;          /* read end: EOF means start */
    int          go_w;        /* the write end, closed by the child */
} creator_t;


static int
child_create_and_claim(void *arg)
{
    int          rc, lane;
    char         err[1024];
    creator_t   *a = arg;
    mcpu_ring_t  ring;

    close(a->go_w);
    wait_eof(a->go);

    rc = mcpu_ring_open(&ring, a->path, &geo_small, 1, 0600, err,
                        sizeof(err));
    if (rc != MCPU_RING_OK) {
        return child_fail("mcpu_ring_open: %s", err);
    }

    lane = mcpu_ring_claim(&ring, (uint32_t) getpid(), alive);
    if (lane < 0) {
        return child_fail("mcpu_ring_claim: %d", lane);
    }

    /* exits owning the lane, so the parent can count who shared the file */
    return 0;
}


/*
 * Processes that start together (nginx -t next to nginx, the batcher next to
 * both) and find no ring must all end up in one file: a creator that loses
 * the race attaches to the winner's ring instead of replacing it, or the
 * processes that mapped the replaced ring write into a file nobody reads.
 */
static void
test_ring_racing_creators_attach_to_one_file(const char *dir)
{
    int          i, r, n, rc, go[2];
    char         path[4096], err[1024], who[64];
    pid_t        pids[8];
    uint64_t     rounds;
    creator_t    a;
    mcpu_ring_t  ring;

    rounds = mcpu_test_scaled(10);

    for (r = 0; r < (int) rounds; r++) {
        snprintf(path, sizeof(path), "%s/ring-%d", dir, r);

        if (!CHECK(pipe(go) == 0)) {
            return;
        }

        a.path = path;
        a.go = go[0];
        a.go_w = go[1];

        for (i = 0; i < 8; i++) {
            pids[i] = spawn(child_create_and_claim, &a);
        }

        close(go[0]);
        close(go[1]);

        for (i = 0; i < 8; i++) {
            snprintf(who, sizeof(who), "creator %d", i);
            exited_ok(reap(pids[i]), who);
        }

        rc = mcpu_ring_open(&ring, path, &geo_small, 0, 0600, err,
                            sizeof(err));
        if (!CHECK_EQ_INT(rc, MCPU_RING_OK)) {
            return;
        }

        n = 0;
        for (i = 0; i < 8; i++) {
            for (int lane = 0; lane < 8; lane++) {
                n += ring.lanes[lane].owner_pid == (uint32_t) pids[i];
            }
        }

        mcpu_ring_close(&ring);

        if (!CHECK_EQ_INT(n, 8)) {
            printf("#   round %d: only %d of 8 processes claimed a lane in "
                   "the file left at \"%s\"; the others mapped a ring that "
                   "was replaced\n", r, n, path);
            break;
        }
    }

    /* and no temporary file is left over */
    CHECK_EQ_INT(dir_entries(dir), r + (r < (int) rounds));
}


/* ---- records ---- */

static void
test_ring_records_of_many_sizes_round_trip(const char *dir)
{
    int          rc;
    char         path[4096];
    size_t       t, k, max;
    model_t      m;
    mcpu_ring_t  ring;

    path_in(path, sizeof(path), dir, "ring");
    if (!ring_create(&ring, path, &geo_small)) {
        return;
    }

    model_init(&m, &ring, 5);
    max = ring.max_record - sizeof(mcpu_ring_rec_t);

    /* every total length from 0 to the maximum, the key taking none, all or
     * part of it; the consumer lags behind by a varying amount */
    for (t = 0; t <= max; t++) {
        k = t % 3 == 0 ? 0 : t % 3 == 1 ? t : mix64(t) % (t + 1);

        rc = model_push(&m, k, t - k);
        if (!CHECK_EQ_INT(rc, MCPU_RING_OK)) {
            goto done;
        }

        if (t % 7 == 0 && (model_consume(&m, t % 5) < 0 || !model_release(&m)))
        {
            goto done;
        }
    }

    if (!model_drain(&m)) {
        goto done;
    }

    CHECK_EQ_U64(m.consumed, max + 1);
    CHECK_EQ_U64(ring.lanes[5].p_seq, max + 1);
    CHECK_EQ_U64(ring.lanes[5].c_seq, max + 1);
    CHECK_EQ_U64(mcpu_ring_used(&ring, 5), 0);
    CHECK(m.pads > 0);
    ring_check_ok(&ring);

    /* the other lanes saw nothing */
    for (int lane = 0; lane < 8; lane++) {
        if (lane != 5) {
            CHECK_EQ_U64(ring.lanes[lane].p_tail, 0);
        }
    }

done:

    model_free(&m);
    mcpu_ring_close(&ring);
}


static void
test_ring_small_record_does_not_occupy_max_slot(const char *dir)
{
    int                   i;
    char                  path[4096];
    uint64_t              sum;
    model_t               m;
    mcpu_ring_t           ring;
    mcpu_ring_geometry_t  g = { 2048 * KB, 8, 16 * KB };

    path_in(path, sizeof(path), dir, "ring");
    if (!ring_create(&ring, path, &g)) {
        return;
    }

    model_init(&m, &ring, 0);

    CHECK_EQ_U64(mcpu_ring_record_size(8, 200), 224);

    for (i = 0; i < 1000; i++) {
        if (!CHECK_EQ_INT(model_produce(&m, 8, 200), MCPU_RING_OK)) {
            goto done;
        }
    }

    /* 1000 x 224 bytes, not 1000 x max_record (which would not even fit) */
    CHECK_EQ_U64(ring.lanes[0].p_tail, 1000 * 224);
    CHECK_EQ_U64(mcpu_ring_used(&ring, 0), 1000 * 224);
    CHECK_EQ_U64(mcpu_ring_free(&ring, 0), ring.lane_size - 1000 * 224);

    if (!model_drain(&m)) {
        goto done;
    }

    /* every length takes its own size rounded up to 16, nothing more */
    model_free(&m);
    model_init(&m, &ring, 1);
    sum = 0;

    for (i = 0; i <= 600; i++) {
        if (!CHECK_EQ_INT(model_produce(&m, (size_t) i % 17, (size_t) i),
                          MCPU_RING_OK))
        {
            goto done;
        }
        sum += (sizeof(mcpu_ring_rec_t) + (size_t) i % 17 + (size_t) i + 15)
               / 16 * 16;
    }

    CHECK_EQ_U64(ring.lanes[1].p_tail, sum);
    CHECK_EQ_U64(m.pads, 0);
    model_drain(&m);

done:

    model_free(&m);
    mcpu_ring_close(&ring);
}


static void
test_ring_record_over_max_is_too_big(const char *dir)
{
    int                   i;
    char                  path[4096];
    size_t                k, max;
    model_t               m;
    mcpu_ring_t           ring;
    unsigned char         small[64];
    mcpu_ring_geometry_t  big = { 2048 * KB, 8, 128 * KB };

    static const size_t  keys[] = { 0, 1, 15, 16, 100, 4080 };

    path_in(path, sizeof(path), dir, "ring");
    if (!ring_create(&ring, path, &geo_small)) {
        return;
    }

    model_init(&m, &ring, 1);
    m.snapshot = 1;
    max = ring.max_record - sizeof(mcpu_ring_rec_t);

    /* exactly max_record fits, one byte more is refused and writes nothing,
     * however the bytes are split between key and value */
    for (i = 0; i < (int) (sizeof(keys) / sizeof(keys[0])); i++) {
        k = keys[i];

        if (model_push(&m, k, max - k) != MCPU_RING_OK
            || model_push(&m, k, max - k + 1) != MCPU_RING_TOO_BIG
            || model_push(&m, k, max - k + 16) != MCPU_RING_TOO_BIG
            || model_push(&m, k + 4096, max - k) != MCPU_RING_TOO_BIG)
        {
            FAIL_MSG("key of %zu bytes", k);
            goto done;
        }
    }

    /* lengths that would not even fit the header's 32-bit size */
    CHECK_EQ_INT(mcpu_ring_produce(&ring, 1, small, 0, small, UINT32_MAX),
                 MCPU_RING_TOO_BIG);
    CHECK_EQ_INT(mcpu_ring_produce(&ring, 1, small, 0, small,
                                   (size_t) UINT32_MAX + 17),
                 MCPU_RING_TOO_BIG);

    if (!model_drain(&m)) {
        goto done;
    }

    CHECK_EQ_U64(ring.lanes[1].full, 0);
    model_free(&m);
    mcpu_ring_close(&ring);

    /* a key longer than the header's 16-bit key_len is refused even when
     * the record would fit */
    path_in(path, sizeof(path), dir, "big");
    if (!ring_create(&ring, path, &big)) {
        return;
    }

    model_init(&m, &ring, 2);
    m.snapshot = 1;

    if (!CHECK_EQ_INT(model_push(&m, UINT16_MAX, 100), MCPU_RING_OK)
        || !CHECK_EQ_INT(model_push(&m, UINT16_MAX + 1, 0), MCPU_RING_TOO_BIG)
        || !CHECK_EQ_INT(model_push(&m, UINT16_MAX + 1000, 0),
                         MCPU_RING_TOO_BIG))
    {
        goto done;
    }

    model_drain(&m);

done:

    model_free(&m);
    mcpu_ring_close(&ring);
}


typedef struct {
    const char  *path;
    size_t       key_len;
    size_t       value_len;
} overflow_t;


static int
child_produce_huge(void *arg)
{
    int            rc;
    char           err[1024];
    overflow_t    *a = arg;
    mcpu_ring_t    ring;
    unsigned char  small[64];

    memset(small, 'x', sizeof(small));

    if (mcpu_ring_open(&ring, a->path, NULL, 0, 0, err, sizeof(err))
        != MCPU_RING_OK)
    {
        return child_fail("%s", err);
    }

    rc = mcpu_ring_produce(&ring, 0, small, a->key_len, small, a->value_len);
    if (rc != MCPU_RING_TOO_BIG || ring.lanes[0].p_tail != 0) {
        return child_fail("key %zu value %zu: rc %d, p_tail %" PRIu64,
                          a->key_len, a->value_len, rc,
                          ring.lanes[0].p_tail);
    }

    return 0;
}


/*
 * A length whose record size wraps around size_t (a caller's length
 * computation gone negative) is over max_record like any other and must be
 * refused, not turned into a 16-byte record followed by a huge memcpy.  Each
 * attempt runs in a child on a ring of its own.
 */
static void
test_ring_record_length_overflow_is_too_big(const char *dir)
{
    int          i;
    char         path[4096], who[96];
    mcpu_ring_t  ring;
    overflow_t   a;

    static const size_t  lens[][2] = {
        { 0, SIZE_MAX },
        { 0, SIZE_MAX - 15 },
        { 0, SIZE_MAX - 30 },
        { 16, SIZE_MAX - 40 },
        { SIZE_MAX - 15, 0 },
    };

    for (i = 0; i < (int) (sizeof(lens) / sizeof(lens[0])); i++) {
        snprintf(path, sizeof(path), "%s/ring-%d", dir, i);
        if (!ring_create(&ring, path, &geo_small)) {
            return;
        }
        mcpu_ring_close(&ring);

        a.path = path;
        a.key_len = lens[i][0];
        a.value_len = lens[i][1];
        snprintf(who, sizeof(who), "produce(key_len %zu, value_len %zu)",
                 a.key_len, a.value_len);

        exited_ok(reap(spawn(child_produce_huge, &a)), who);
    }
}


/* ---- full lanes and wrap ---- */

static void
test_ring_full_lane_refuses_then_accepts_after_release(const char *dir)
{
    int          i, rc;
    char         path[4096];
    uint64_t     ops, rng, k, v;
    model_t      m;
    mcpu_ring_t  ring;

    path_in(path, sizeof(path), dir, "ring");
    if (!ring_create(&ring, path, &geo_small)) {
        return;
    }

    model_init(&m, &ring, 7);
    m.snapshot = 1;

    /* 256-byte records fill the 64 KiB lane exactly: all of it is usable */
    for (i = 0; i < 256; i++) {
        if (!CHECK_EQ_INT(model_produce(&m, 4, 236), MCPU_RING_OK)) {
            goto done;
        }
    }

    CHECK_EQ_U64(mcpu_ring_used(&ring, 7), ring.lane_size);
    CHECK_EQ_U64(mcpu_ring_free(&ring, 7), 0);

    /* full: not even an empty record, and nothing is written */
    if (!CHECK_EQ_INT(model_produce(&m, 4, 236), MCPU_RING_FULL)
        || !CHECK_EQ_INT(model_produce(&m, 0, 0), MCPU_RING_FULL))
    {
        goto done;
    }

    /* one record released makes room for one record of its size */
    if (!CHECK_EQ_INT(model_consume(&m, 1), 1) || !model_release(&m)
        || !CHECK_EQ_INT(model_produce(&m, 4, 236), MCPU_RING_OK)
        || !CHECK_EQ_INT(model_produce(&m, 0, 0), MCPU_RING_FULL))
    {
        goto done;
    }

    /* two released make room for exactly 32 records of 16 bytes */
    if (!CHECK_EQ_INT(model_consume(&m, 2), 2) || !model_release(&m)) {
        goto done;
    }

    for (i = 0; i < 32; i++) {
        if (!CHECK_EQ_INT(model_produce(&m, 0, 0), MCPU_RING_OK)) {
            goto done;
        }
    }

    if (!CHECK_EQ_INT(model_produce(&m, 0, 0), MCPU_RING_FULL)
        || !model_drain(&m))
    {
        goto done;
    }

    /* then at random: the lane refuses a record exactly when the unread
     * bytes, the PAD it would need and the record exceed the lane */
    rng = mcpu_test_seed();
    ops = mcpu_test_scaled(40000);

    for (i = 0; i < (int) ops; i++) {
        /* phases of 1000 operations where the producer is ahead, then the
         * consumer, so the lane goes from full to empty and back */
        if (rng_next(&rng) % 10 < ((i / 1000) % 2 ? 8 : 4)) {
            k = rng_next(&rng) % 33;
            v = rng_next(&rng) % (ring.max_record - 16 - k + 1);
            rc = model_produce(&m, k, v);
            if (rc == MODEL_BROKEN) {
                goto done;
            }

        } else if (model_consume(&m, 1 + rng_next(&rng) % 3) < 0
                   || !model_release(&m))
        {
            goto done;
        }
    }

    model_drain(&m);
    CHECK(m.full > ops / 100);
    CHECK(m.pads > ops / 400);
    CHECK_EQ_U64(ring.lanes[7].full, m.full);

done:

    model_free(&m);
    mcpu_ring_close(&ring);
}


static void
test_ring_wrap_pad_record_is_skipped_by_consumer(const char *dir)
{
    int               i, rc;
    char              path[4096];
    uint64_t          pad_pos, cursor, left;
    model_t           m;
    mcpu_ring_t       ring;
    mcpu_ring_rec_t  *pad;
    mcpu_ring_view_t  v;

    path_in(path, sizeof(path), dir, "ring");
    if (!ring_create(&ring, path, &geo_small)) {
        return;
    }

    model_init(&m, &ring, 3);

    /* a record that ends exactly at the lane's end needs no PAD */
    for (i = 0; i < 16; i++) {
        if (!CHECK_EQ_INT(model_produce(&m, 10, 4096 - 16 - 10),
                          MCPU_RING_OK))
        {
            goto done;
        }
    }

    CHECK_EQ_U64(m.pads, 0);
    CHECK_EQ_U64(ring.lanes[3].p_tail, ring.lane_size);

    if (!model_drain(&m)) {
        goto done;
    }

    /* 21 records of 3008 bytes leave 2368 at the end; the 22nd goes to the
     * lane's start behind a PAD of 2368 */
    for (i = 0; i < 21; i++) {
        if (!CHECK_EQ_INT(model_produce(&m, 8, 3008 - 16 - 8), MCPU_RING_OK)) {
            goto done;
        }
    }

    pad_pos = m.tail;
    CHECK_EQ_U64(pad_pos & ring.mask, 21 * 3008);

    /* it does not fit until the consumer releases room for PAD + record */
    if (!CHECK_EQ_INT(model_produce(&m, 8, 3008 - 16 - 8), MCPU_RING_FULL)
        || !CHECK_EQ_INT(model_consume(&m, 21), 21)
        || !model_release(&m)
        || !CHECK_EQ_INT(model_produce(&m, 8, 3008 - 16 - 8), MCPU_RING_OK))
    {
        goto done;
    }

    CHECK_EQ_U64(m.pads, 1);
    CHECK_EQ_U64(ring.lanes[3].p_tail, pad_pos + 2368 + 3008);
    CHECK_EQ_U64(ring.lanes[3].p_seq, 16 + 22);

    pad = rec_at(&ring, 3, pad_pos);
    CHECK_EQ_U64(pad->type, MCPU_RING_REC_PAD);
    CHECK_EQ_U64(pad->size, 2368);
    CHECK_EQ_U64(pad->check, mcpu_ring_rec_check(pad->size, pad->type,
                                                 pad->key_len, pad->seq));

    /* the consumer, standing on the PAD, gets the record after it */
    cursor = pad_pos;
    rc = mcpu_ring_peek(&ring, 3, &cursor, &v);
    if (CHECK_EQ_INT(rc, MCPU_RING_OK)) {
        CHECK_EQ_U64(v.pos, pad_pos + 2368);
        CHECK_EQ_U64(v.pos & ring.mask, 0);
        CHECK_EQ_U64(v.seq, 16 + 21);
        CHECK_EQ_U64(cursor, v.end);
    }

    /* released up to the PAD only: the check walks over it */
    ring_check_ok(&ring);

    if (!model_drain(&m)) {
        goto done;
    }

    /* the smallest PAD, 16 bytes, just a header: fill up to 16 bytes
     * before the lane's end */
    for ( ;; ) {
        left = ring.lane_size - 16 - (m.tail & ring.mask);
        if (left == 0) {
            break;
        }

        left = left < 4096 ? left : 4096;
        if (!CHECK_EQ_INT(model_push(&m, 0, left - 16), MCPU_RING_OK)) {
            goto done;
        }
    }

    if (!model_drain(&m)) {
        goto done;
    }

    pad_pos = m.tail;

    if (!CHECK_EQ_INT(model_produce(&m, 0, 1), MCPU_RING_OK)) {
        goto done;
    }

    pad = rec_at(&ring, 3, pad_pos);
    CHECK_EQ_U64(pad->type, MCPU_RING_REC_PAD);
    CHECK_EQ_U64(pad->size, 16);
    CHECK_EQ_U64(ring.lanes[3].p_tail, pad_pos + 16 + 32);

    model_drain(&m);
    CHECK_EQ_U64(m.pads, 2);
    ring_check_ok(&ring);

done:

    model_free(&m);
    mcpu_ring_close(&ring);
}


/*
 * ck's test_valid style: counters just below the top, then produce and
 * consume across it.  Positions wrap at 2^64 exactly where the lane wraps
 * (2^64 is a multiple of the lane size), so each start leaves a different
 * number of bytes before that point: some end on a record boundary, the
 * others force the PAD path at the crossing.
 */
static void
test_ring_counters_near_uint64_max_wrap_cleanly(const char *dir)
{
    int                i, rc;
    char               path[4096];
    uint64_t           start, rng, k, v, n, laps;
    model_t            m;
    mcpu_ring_t        ring;
    mcpu_ring_lane_t  *l;

    static const uint64_t  before_top[] = {
        16, 48, 4096, 3008, 32 * KB + 16, 64 * KB - 16, 64 * KB
    };

    path_in(path, sizeof(path), dir, "ring");
    if (!ring_create(&ring, path, &geo_small)) {
        return;
    }

    rng = mcpu_test_seed();
    laps = mcpu_test_scaled(4);

    for (i = 0; i < (int) (sizeof(before_top) / sizeof(before_top[0])); i++) {
        l = &ring.lanes[i];
        start = 0 - before_top[i];

        /* a fresh lane, with its counters set before anything is produced */
        l->p_tail = start;
        l->c_head = start;
        l->p_seq = i % 2 ? UINT32_MAX - 2 : UINT64_MAX - 2;
        l->c_seq = l->p_seq;

        model_init(&m, &ring, i);
        n = 0;

        /* the first record is bigger than what is left before 2^64 unless
         * that is a whole lane */
        rc = model_produce(&m, 4, 2000);
        if (!CHECK_EQ_INT(rc, MCPU_RING_OK)) {
            goto done;
        }

        CHECK_EQ_U64(m.pads, before_top[i] < 2032 ? 1 : 0);

        /* then several laps of random records with a lagging consumer */
        while (m.tail - start < laps * ring.lane_size) {
            k = rng_next(&rng) % 20;
            v = rng_next(&rng) % (ring.max_record - 16 - k + 1);

            rc = model_produce(&m, k, v);
            if (rc == MODEL_BROKEN) {
                goto done;
            }

            if (rc == MCPU_RING_FULL || rng_next(&rng) % 4 == 0) {
                if (model_consume(&m, rng_next(&rng) % 16) < 0
                    || !model_release(&m))
                {
                    goto done;
                }
            }

            /* unread bytes straddling 2^64 are a healthy lane too */
            if (++n % 97 == 0 && !ring_check_ok(&ring)) {
                goto done;
            }
        }

        if (!model_drain(&m)) {
            goto done;
        }

        /* both counters wrapped and still agree */
        CHECK(l->p_tail < start);
        CHECK_EQ_U64(l->c_head, l->p_tail);
        CHECK_EQ_U64(l->p_seq, m.seq);
        CHECK((uint32_t) l->p_seq < (uint32_t) (i % 2 ? UINT32_MAX - 2
                                                      : UINT64_MAX - 2));
        CHECK_EQ_U64(mcpu_ring_used(&ring, i), 0);
        CHECK_EQ_U64(mcpu_ring_free(&ring, i), ring.lane_size);

        model_free(&m);
    }

    ring_check_ok(&ring);
    mcpu_ring_close(&ring);
    return;

done:

    printf("#   lane %d started %" PRIu64 " bytes below 2^64\n", i,
           before_top[i]);
    model_free(&m);
    mcpu_ring_close(&ring);
}


/* ---- forked producers ---- */

typedef struct {
    const char  *path;
    uint32_t     producer;
    uint64_t     count;
    int          go;          /* read end: EOF means start */
    int          go_w;        /* the write end, closed by the child */
} producer_t;


static int
child_producer(void *arg)
{
    int            lane, rc;
    char           err[1024];
    uint64_t       seq;
    producer_t    *a = arg;
    mcpu_ring_t    ring;
    unsigned char  buf[sizeof(msg_t) + MSG_MAX_PAYLOAD];

    /* a mapping of its own, at another address than the parent's */
    if (mcpu_ring_open(&ring, a->path, NULL, 0, 0, err, sizeof(err))
        != MCPU_RING_OK)
    {
        return child_fail("%s", err);
    }

    close(a->go_w);
    wait_eof(a->go);

    lane = mcpu_ring_claim(&ring, (uint32_t) getpid(), alive);
    if (lane < 0) {
        return child_fail("mcpu_ring_claim: %d", lane);
    }

    for (seq = 0; seq < a->count; seq++) {
        rc = msg_produce(&ring, lane, buf, a->producer, seq, 1);
        if (rc != MCPU_RING_OK) {
            return child_fail("produce %" PRIu64 ": %d", seq, rc);
        }
    }

    mcpu_ring_unclaim(&ring, lane, (uint32_t) getpid());
    mcpu_ring_close(&ring);
    return 0;
}


static void
test_ring_forked_producers_each_in_own_lane_one_consumer(const char *dir)
{
    int                   i, lane, live, live_before, status, go[2];
    long                  n;
    char                  path[4096], who[64];
    pid_t                 pids[4];
    uint64_t              m, received, got;
    reader_t              r[8];
    producer_t            a;
    mcpu_ring_t           ring;
    mcpu_ring_geometry_t  g = { 8192 * KB, 8, 4096 };

    enum { P = 4 };

    path_in(path, sizeof(path), dir, "ring");
    if (!ring_create(&ring, path, &g) || !CHECK(pipe(go) == 0)) {
        return;
    }

    m = mcpu_test_scaled(200000);

    for (lane = 0; lane < 8; lane++) {
        reader_init(&r[lane], &ring, lane, -1);
    }

    a.path = path;
    a.count = m;
    a.go = go[0];
    a.go_w = go[1];

    for (i = 0; i < P; i++) {
        a.producer = (uint32_t) i;
        pids[i] = spawn(child_producer, &a);
    }

    /* all start together */
    close(go[0]);
    close(go[1]);

    received = 0;
    live = P;

    /* one consumer for all lanes, reading in place and releasing per batch;
     * reader_read checks each record's checksum and that every producer's
     * messages come in order, without gap or repeat, in one lane */
    for ( ;; ) {
        live_before = live;
        got = 0;

        for (lane = 0; lane < 8; lane++) {
            n = reader_read(&ring, lane, &r[lane], 64, 64);
            if (n < 0) {
                goto done;
            }
            got += (uint64_t) n;
        }

        received += got;

        if (got == 0) {
            if (live_before == 0) {
                break;
            }

            for (i = 0; i < P; i++) {
                if (pids[i] > 0 && waitpid(pids[i], &status, WNOHANG)
                                   == pids[i])
                {
                    snprintf(who, sizeof(who), "producer %d", i);
                    exited_ok(status, who);
                    pids[i] = 0;
                    live--;
                }
            }

            sched_yield();
        }
    }

done:

    for (i = 0; i < P; i++) {
        if (pids[i] > 0) {
            if (received != m * P) {
                kill(pids[i], SIGKILL);
            }
            snprintf(who, sizeof(who), "producer %d", i);
            exited_ok(reap(pids[i]), who);
        }
    }

    CHECK_EQ_U64(received, m * P);

    /* each producer had a lane of its own and all its records came */
    for (i = 0; i < P; i++) {
        int  lanes = 0;

        for (lane = 0; lane < 8; lane++) {
            if (r[lane].producer == i) {
                lanes++;
                CHECK_EQ_U64(r[lane].msg_seq, m);
                CHECK_EQ_U64(ring.lanes[lane].p_seq, m);
                CHECK_EQ_U64(ring.lanes[lane].c_seq, m);
                CHECK_EQ_U64(ring.lanes[lane].owner_pid, 0);
                CHECK_EQ_U64(ring.lanes[lane].claims, 1);
            }
        }

        if (!CHECK_EQ_INT(lanes, 1)) {
            printf("#   producer %d wrote to %d lanes\n", i, lanes);
        }
    }

    for (lane = 0; lane < 8; lane++) {
        CHECK_EQ_U64(mcpu_ring_used(&ring, lane), 0);
    }

    ring_check_ok(&ring);
    mcpu_ring_close(&ring);
}


/* ---- producers that die ---- */

typedef struct {
    mcpu_ring_t  *ring;
    uint32_t      producer;
    uint64_t      count;        /* records to produce, 0: until killed */
    int           report;       /* the child writes its lane here */
    int           how;          /* what it does after count records */
    int           spin;         /* wait for room; else a full lane fails */
} victim_t;

#define VICTIM_EXITS         0  /* unclaims and exits */
#define VICTIM_TORN_WRITE    1  /* writes part of a record, dies */
#define VICTIM_UNCOUNTED     2  /* dies between the p_tail store and the
                                   p_seq store of its last record */


static int
child_victim(void *arg)
{
    int                lane, rc;
    size_t             key_len, value_len, n;
    uint64_t           seq, off, room;
    victim_t          *a = arg;
    mcpu_ring_t       *ring = a->ring;
    mcpu_ring_rec_t    rec;
    mcpu_ring_lane_t  *l;
    unsigned char     *at, buf[sizeof(msg_t) + MSG_MAX_PAYLOAD];
    char               key[16];

    lane = mcpu_ring_claim(ring, (uint32_t) getpid(), alive);
    if (write(a->report, &lane, sizeof(lane)) != sizeof(lane)) {
        return child_fail("report");
    }

    if (lane < 0) {
        return child_fail("mcpu_ring_claim: %d", lane);
    }

    for (seq = 0; a->count == 0 || seq < a->count; seq++) {
        rc = msg_produce(ring, lane, buf, a->producer, seq, a->spin);
        if (rc != MCPU_RING_OK) {
            return child_fail("produce %" PRIu64 ": %d", seq, rc);
        }
    }

    if (a->how == VICTIM_EXITS) {
        mcpu_ring_unclaim(ring, lane, (uint32_t) getpid());
        return 0;
    }

    l = &ring->lanes[lane];

    if (a->how == VICTIM_UNCOUNTED) {
        /* mcpu_ring_produce publishes p_tail, then counts the record in
         * p_seq: this is the state between the two stores */
        l->p_seq--;
        raise(SIGKILL);
        return child_fail("still alive after SIGKILL");
    }

    /* what mcpu_ring_produce leaves when the process dies inside it before
     * publishing: a well-formed header and bytes past p_tail, which is
     * unchanged */
    off = l->p_tail & ring->mask;
    room = ring->lane_size - off;
    at = lane_base(ring, lane) + off;

    key_len = msg_key(key, a->producer);
    value_len = msg_make(buf, a->producer, seq);

    rec.size = (uint32_t) (sizeof(rec) + key_len + value_len);
    rec.type = MCPU_RING_REC_EVENT;
    rec.key_len = (uint16_t) key_len;
    rec.seq = (uint32_t) l->p_seq;
    rec.check = mcpu_ring_rec_check(rec.size, rec.type, rec.key_len, rec.seq);

    if (room < mcpu_ring_record_size(key_len, value_len)) {
        return child_fail("the test wants the record before the lane's end");
    }

    /* the header, the key, half the value, then garbage */
    memcpy(at, &rec, sizeof(rec));
    memcpy(at + sizeof(rec), key, key_len);
    n = value_len / 2;
    memcpy(at + sizeof(rec) + key_len, buf, n);
    fill(at + sizeof(rec) + key_len + n, room - sizeof(rec) - key_len - n,
         0xdead);

    raise(SIGKILL);
    return child_fail("still alive after SIGKILL");
}


/* marks every free lane as owned by this (live) process */
static void
take_free_lanes(mcpu_ring_t *ring)
{
    for (uint32_t i = 0; i < ring->nlanes; i++) {
        if (ring->lanes[i].owner_pid == 0) {
            ring->lanes[i].owner_pid = (uint32_t) getpid();
        }
    }
}


static void
release_taken_lanes(mcpu_ring_t *ring)
{
    for (uint32_t i = 0; i < ring->nlanes; i++) {
        mcpu_ring_unclaim(ring, (int) i, (uint32_t) getpid());
    }
}


/*
 * Spawns a victim and returns its pid, its lane in *lane (-1 on failure).
 */
static pid_t
spawn_victim(victim_t *a, int *lane)
{
    int    fds[2];
    pid_t  pid;

    *lane = -1;

    if (!CHECK(pipe(fds) == 0)) {
        return -1;
    }

    a->report = fds[1];
    pid = spawn(child_victim, a);
    close(fds[1]);

    read_full(fds[0], lane, sizeof(*lane));
    close(fds[0]);

    return pid;
}


static void
test_ring_producer_killed_mid_write_stalls_nobody(const char *dir)
{
    int                   lane_a, lane_b, lane_c, free_lane, i;
    long                  n;
    char                  path[4096];
    pid_t                 pid_a, pid_b, pid_c;
    uint64_t              k, mb, r;
    reader_t              ra, rb, peek;
    victim_t              a, b, c;
    mcpu_ring_t           ring;
    mcpu_ring_view_t      v;
    mcpu_ring_geometry_t  g = { 1024 * KB, 8, 4096 };

    path_in(path, sizeof(path), dir, "ring");
    if (!ring_create(&ring, path, &g)) {
        return;
    }

    k = 40;
    r = 30;
    mb = mcpu_test_scaled(50000);

    /* B produces steadily in its lane and lives on while A dies */
    b = (victim_t) { &ring, 1, mb, -1, VICTIM_EXITS, 1 };
    pid_b = spawn_victim(&b, &lane_b);

    a = (victim_t) { &ring, 0, k, -1, VICTIM_TORN_WRITE, 0 };
    pid_a = spawn_victim(&a, &lane_a);

    killed_by(reap(pid_a), SIGKILL, "producer A");

    if (!CHECK(lane_a >= 0 && lane_b >= 0 && lane_a != lane_b)) {
        goto done;
    }

    /* A's lane: its k records, then nothing; the torn bytes are invisible
     * although they start with a well-formed header.  Only the first half
     * is released, so the rest is still held when the lane changes hands. */
    reader_init(&ra, &ring, lane_a, 0);
    CHECK_EQ_INT(reader_read(&ring, lane_a, &ra, k / 2, 5), (long) (k / 2));

    peek = ra;
    CHECK_EQ_INT(reader_read(&ring, lane_a, &peek, 0, 0), (long) (k - k / 2));
    CHECK_EQ_INT(mcpu_ring_peek(&ring, lane_a, &peek.cursor, &v),
                 MCPU_RING_EMPTY);
    CHECK_EQ_INT(mcpu_ring_peek(&ring, lane_a, &peek.cursor, &v),
                 MCPU_RING_EMPTY);
    ring_check_ok(&ring);

    /* B was never held up: all its records arrive, in order */
    reader_init(&rb, &ring, lane_b, 1);
    exited_ok(reader_follow(&ring, lane_b, &rb, mb, pid_b), "producer B");
    CHECK_EQ_INT(mcpu_ring_peek(&ring, lane_b, &rb.cursor, &v),
                 MCPU_RING_EMPTY);

    /* while free lanes exist, a new producer gets one of them, not A's */
    free_lane = -1;
    for (i = 0; i < 8 && free_lane == -1; i++) {
        if (ring.lanes[i].owner_pid == 0) {
            free_lane = i;
        }
    }

    CHECK_EQ_U64(ring.lanes[lane_a].owner_pid, (uint32_t) pid_a);

    c = (victim_t) { &ring, 2, 1, -1, VICTIM_EXITS, 0 };
    pid_c = spawn_victim(&c, &lane_c);

    if (!CHECK_EQ_INT(lane_c, free_lane) || !CHECK(lane_c != lane_a)) {
        kill(pid_c, SIGKILL);
        reap(pid_c);
        goto done;
    }

    exited_ok(reap(pid_c), "producer C");

    reader_init(&rb, &ring, lane_c, 2);
    CHECK_EQ_INT(reader_read(&ring, lane_c, &rb, 0, 64), 1);

    /* when every other lane has a live owner, the dead owner's lane is
     * taken over, and the new records follow A's in it */
    take_free_lanes(&ring);

    c = (victim_t) { &ring, 3, r, -1, VICTIM_EXITS, 0 };
    pid_c = spawn_victim(&c, &lane_c);

    if (!CHECK_EQ_INT(lane_c, lane_a)) {
        kill(pid_c, SIGKILL);
        reap(pid_c);

    } else {
        exited_ok(reap(pid_c), "producer D");
        CHECK_EQ_INT(reader_read(&ring, lane_a, &ra, k - k / 2, 7),
                     (long) (k - k / 2));
        ra.producer = 3;
        ra.msg_seq = 0;
        n = reader_read(&ring, lane_a, &ra, 0, 7);
        CHECK_EQ_INT(n, (long) r);
        CHECK_EQ_INT(mcpu_ring_peek(&ring, lane_a, &ra.cursor, &v),
                     MCPU_RING_EMPTY);
        CHECK_EQ_U64(ring.lanes[lane_a].p_seq, k + r);
        CHECK_EQ_U64(ring.lanes[lane_a].claims, 2);
        CHECK_EQ_U64(ring.lanes[lane_a].owner_pid, 0);
        CHECK_EQ_U64(mcpu_ring_used(&ring, lane_a), 0);
    }

    release_taken_lanes(&ring);
    ring_check_ok(&ring);

done:

    mcpu_ring_close(&ring);
}


/*
 * mcpu_ring_produce publishes a record (the p_tail store) and then counts it
 * in p_seq.  A producer killed between the two leaves p_seq one behind, and
 * the next owner must not give its first record the dead one's last seq: a
 * lane's seqs run on without gap or repeat.  The takeover happens once while
 * that last record is still unread, and once after the batcher has read and
 * released everything, which is what usually happens first.
 */
static void
test_ring_producer_killed_between_publish_and_count_keeps_seq_contiguous(
    const char *dir)
{
    int                   lane_a, lane_d, drained;
    long                  n;
    char                  path[4096];
    pid_t                 pid;
    uint64_t              k, r;
    reader_t              rd;
    victim_t              a;
    mcpu_ring_t           ring;
    mcpu_ring_view_t      v;

    k = 10;
    r = 10;

    for (drained = 0; drained < 2; drained++) {
        snprintf(path, sizeof(path), "%s/ring-%d", dir, drained);
        if (!ring_create(&ring, path, &geo_small)) {
            return;
        }

        a = (victim_t) { &ring, 0, k, -1, VICTIM_UNCOUNTED, 0 };
        pid = spawn_victim(&a, &lane_a);
        killed_by(reap(pid), SIGKILL, "producer A");

        reader_init(&rd, &ring, lane_a, 0);

        if (drained) {
            CHECK_EQ_INT(reader_read(&ring, lane_a, &rd, 0, 4), (long) k);
            CHECK_EQ_INT(mcpu_ring_peek(&ring, lane_a, &rd.cursor, &v),
                         MCPU_RING_EMPTY);
        }

        take_free_lanes(&ring);

        a = (victim_t) { &ring, 1, r, -1, VICTIM_EXITS, 0 };
        pid = spawn_victim(&a, &lane_d);

        if (!CHECK_EQ_INT(lane_d, lane_a)) {
            kill(pid, SIGKILL);
            reap(pid);

        } else {
            exited_ok(reap(pid), "producer D");

            if (!drained) {
                CHECK_EQ_INT(reader_read(&ring, lane_a, &rd, k, 4), (long) k);
            }

            rd.producer = 1;
            rd.msg_seq = 0;
            n = reader_read(&ring, lane_a, &rd, 0, 4);

            if (!CHECK_EQ_INT(n, (long) r)
                || !CHECK_EQ_U64(ring.lanes[lane_a].p_seq, k + r))
            {
                printf("#   taken over with the last record %s\n",
                       drained ? "read and released" : "unread");
            }
        }

        release_taken_lanes(&ring);
        mcpu_ring_close(&ring);
    }
}


/*
 * The real race: a producer in a tight loop killed by SIGKILL wherever it
 * happens to be, round after round in the same lane.  Whatever the consumer
 * then sees is valid and in order, the lane's seqs run on across owners, and
 * a last owner that exits cleanly continues the lane.
 */
static void
test_ring_producer_sigkilled_while_producing_leaves_valid_records(
    const char *dir)
{
    int                   lane, round, status;
    long                  n;
    char                  path[4096];
    pid_t                 pid;
    uint64_t              rounds, rng, target, total;
    reader_t              rd;
    victim_t              a;
    mcpu_ring_t           ring;
    mcpu_ring_view_t      v;
    mcpu_ring_geometry_t  g = { 1024 * KB, 8, 4096 };

    path_in(path, sizeof(path), dir, "ring");
    if (!ring_create(&ring, path, &g)) {
        return;
    }

    /* lanes 1-7 have a live owner: every child gets lane 0, the first one
     * free, each later one from its dead predecessor */
    take_free_lanes(&ring);
    ring.lanes[0].owner_pid = 0;

    rng = mcpu_test_seed() ^ 0x7261636521ull;
    rounds = mcpu_test_scaled(16);
    reader_init(&rd, &ring, 0, 0);
    total = 0;

    for (round = 0; round < (int) rounds; round++) {
        a = (victim_t) { &ring, (uint32_t) round, 0, -1, VICTIM_EXITS, 1 };
        pid = spawn_victim(&a, &lane);

        if (!CHECK_EQ_INT(lane, 0)) {
            kill(pid, SIGKILL);
            reap(pid);
            break;
        }

        rd.producer = round;
        rd.msg_seq = 0;

        /* it runs: read a random number of its records, then kill it
         * wherever it is */
        target = rng_next(&rng) % 3000;
        while (rd.msg_seq < target) {
            n = reader_read(&ring, 0, &rd, target - rd.msg_seq, 16);
            if (n < 0) {
                printf("#   round %d, %" PRIu64 " records of the round read\n",
                       round, rd.msg_seq);
                goto done;
            }

            if (n == 0) {
                if (waitpid(pid, &status, WNOHANG) == pid) {
                    exited_ok(status, "producer");
                    FAIL_MSG("round %d: the producer stopped", round);
                    pid = -1;
                    goto done;
                }
                sched_yield();
            }
        }

        kill(pid, SIGKILL);
        killed_by(reap(pid), SIGKILL, "producer");

        /* everything it published is there, valid and in order */
        n = reader_read(&ring, 0, &rd, 0, 16);
        if (!CHECK(n >= 0) || !CHECK(rd.msg_seq >= target)
            || !CHECK_EQ_INT(mcpu_ring_peek(&ring, 0, &rd.cursor, &v),
                             MCPU_RING_EMPTY))
        {
            printf("#   round %d, killed after %" PRIu64 " records read\n",
                   round, target);
            break;
        }

        total += rd.msg_seq;
    }

    /* a last owner that exits cleanly continues the lane */
    a = (victim_t) { &ring, 1000, 1000, -1, VICTIM_EXITS, 1 };
    pid = spawn_victim(&a, &lane);
    rd.producer = 1000;
    rd.msg_seq = 0;

    if (!CHECK_EQ_INT(lane, 0)) {
        kill(pid, SIGKILL);
        reap(pid);

    } else {
        exited_ok(reader_follow(&ring, 0, &rd, 1000, pid), "last producer");
        CHECK_EQ_INT(mcpu_ring_peek(&ring, 0, &rd.cursor, &v),
                     MCPU_RING_EMPTY);
        total += 1000;

        CHECK_EQ_U64(rd.records, total);
        CHECK_EQ_U64(ring.lanes[0].p_seq, total);
        CHECK_EQ_U64(ring.lanes[0].claims, round + 1);
        CHECK_EQ_U64(mcpu_ring_used(&ring, 0), 0);
    }

    release_taken_lanes(&ring);
    ring_check_ok(&ring);
    mcpu_ring_close(&ring);
    return;

done:

    if (pid > 0) {
        kill(pid, SIGKILL);
        reap(pid);
    }

    mcpu_ring_close(&ring);
}


/* ---- claiming lanes ---- */

static void
test_ring_claim_same_pid_gets_same_lane(const char *dir)
{
    int          rc;
    char         path[4096], err[1024];
    mcpu_ring_t  ring, other;

    path_in(path, sizeof(path), dir, "ring");
    if (!ring_create(&ring, path, &geo_small)) {
        return;
    }

    CHECK_EQ_INT(mcpu_ring_claim(&ring, 1000, alive_always), 0);
    CHECK_EQ_INT(mcpu_ring_claim(&ring, 1001, alive_always), 1);
    CHECK_EQ_INT(mcpu_ring_claim(&ring, 1002, alive_always), 2);

    /* again and again, whatever alive() says about the caller itself, and
     * without counting a new claim */
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_INT(mcpu_ring_claim(&ring, 1001, alive_always), 1);
        CHECK_EQ_INT(mcpu_ring_claim(&ring, 1001, alive_never), 1);
        CHECK_EQ_INT(mcpu_ring_claim(&ring, 1000, alive_never), 0);
    }

    CHECK_EQ_U64(ring.lanes[0].claims, 1);
    CHECK_EQ_U64(ring.lanes[1].claims, 1);
    CHECK_EQ_U64(ring.lanes[0].owner_pid, 1000);
    CHECK_EQ_U64(ring.lanes[1].owner_pid, 1001);
    CHECK_EQ_U64(ring.lanes[2].owner_pid, 1002);
    CHECK_EQ_U64(ring.lanes[3].owner_pid, 0);

    /* through another mapping of the file too (a worker inherits the
     * master's; the batcher has its own) */
    rc = mcpu_ring_open(&other, path, NULL, 0, 0, err, sizeof(err));
    if (CHECK_EQ_INT(rc, MCPU_RING_OK)) {
        CHECK_EQ_INT(mcpu_ring_claim(&other, 1002, alive_always), 2);
        CHECK_EQ_INT(mcpu_ring_claim(&other, (uint32_t) getpid(), alive), 3);
        CHECK_EQ_INT(mcpu_ring_claim(&ring, (uint32_t) getpid(), alive), 3);
        mcpu_ring_close(&other);
    }

    mcpu_ring_close(&ring);
}


typedef struct {
    mcpu_ring_t  *ring;
    int           go;
    int           hold;
    int           report;
} holder_t;


typedef struct {
    pid_t  pid;
    int    lane;
} claimed_t;


static int
child_claim_and_hold(void *arg)
{
    holder_t   *a = arg;
    claimed_t   c;

    wait_eof(a->go);

    c.pid = getpid();
    c.lane = mcpu_ring_claim(a->ring, (uint32_t) c.pid, alive);

    /* one write, so the reports of racing children do not interleave */
    if (write(a->report, &c, sizeof(c)) != sizeof(c)) {
        return child_fail("report");
    }

    /* alive until the parent says so */
    wait_eof(a->hold);
    return 0;
}


static void
test_ring_claim_fails_when_every_lane_has_live_owner(const char *dir)
{
    int          i, j, lanes[8], go[2], hold[2], rep[2];
    char         path[4096], who[64];
    pid_t        pid, pids[8], me;
    uint32_t     owners[8];
    claimed_t    c;
    holder_t     a;
    mcpu_ring_t  ring;

    path_in(path, sizeof(path), dir, "ring");
    if (!ring_create(&ring, path, &geo_small)
        || !CHECK(pipe(go) == 0 && pipe(hold) == 0 && pipe(rep) == 0))
    {
        return;
    }

    a.ring = &ring;
    a.go = go[0];
    a.hold = hold[0];
    a.report = rep[1];

    /* each child closes its copies of the write ends, or it would never see
     * the EOF it waits for */
    for (i = 0; i < 8; i++) {
        pid = fork();
        if (pid == 0) {
            close(go[1]);
            close(hold[1]);
            close(rep[0]);
            _exit(child_claim_and_hold(&a));
        }
        pids[i] = pid;
    }

    close(go[0]);
    close(hold[0]);
    close(rep[1]);

    /* eight processes claim at the same moment: eight distinct lanes */
    close(go[1]);

    for (i = 0; i < 8; i++) {
        read_full(rep[0], &c, sizeof(c));

        for (j = 0; j < 8 && pids[j] != c.pid; j++) {
            /* void */
        }

        if (!CHECK(j < 8) || !CHECK(c.lane >= 0 && c.lane < 8)) {
            goto done;
        }

        lanes[j] = c.lane;
        CHECK_EQ_U64(ring.lanes[c.lane].owner_pid, (uint32_t) c.pid);
    }

    for (i = 0; i < 8; i++) {
        for (j = 0; j < i; j++) {
            CHECK(lanes[i] != lanes[j]);
        }
        owners[i] = ring.lanes[i].owner_pid;
    }

    /* a ninth finds none, and takes nobody's */
    me = getpid();
    CHECK_EQ_INT(mcpu_ring_claim(&ring, (uint32_t) me, alive),
                 MCPU_RING_NO_LANE);
    CHECK_EQ_INT(mcpu_ring_claim(&ring, (uint32_t) me, alive_always),
                 MCPU_RING_NO_LANE);

    for (i = 0; i < 8; i++) {
        CHECK_EQ_U64(ring.lanes[i].owner_pid, owners[i]);
        CHECK_EQ_U64(ring.lanes[i].claims, 1);
    }

    /* one owner dies: its lane is the one to be had */
    kill(pids[5], SIGKILL);
    killed_by(reap(pids[5]), SIGKILL, "owner 5");
    pids[5] = 0;

    CHECK_EQ_INT(mcpu_ring_claim(&ring, (uint32_t) me, alive), lanes[5]);
    CHECK_EQ_U64(ring.lanes[lanes[5]].owner_pid, (uint32_t) me);
    CHECK_EQ_U64(ring.lanes[lanes[5]].claims, 2);

    /* and then none again, for a live process that owns none (init) */
    CHECK_EQ_INT(mcpu_ring_claim(&ring, 1, alive), MCPU_RING_NO_LANE);

    mcpu_ring_unclaim(&ring, lanes[5], (uint32_t) me);

done:

    close(hold[1]);
    close(rep[0]);

    for (i = 0; i < 8; i++) {
        if (pids[i] > 0) {
            snprintf(who, sizeof(who), "owner %d", i);
            exited_ok(reap(pids[i]), who);
        }
    }

    mcpu_ring_close(&ring);
}


static void
test_ring_unclaim_frees_lane(const char *dir)
{
    char         path[4096];
    model_t      m;
    mcpu_ring_t  ring;

    path_in(path, sizeof(path), dir, "ring");
    if (!ring_create(&ring, path, &geo_small)) {
        return;
    }

    CHECK_EQ_INT(mcpu_ring_claim(&ring, 2000, alive_always), 0);
    CHECK_EQ_INT(mcpu_ring_claim(&ring, 2001, alive_always), 1);

    model_init(&m, &ring, 0);
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_INT(model_produce(&m, 3, 30), MCPU_RING_OK);
    }

    /* someone else's unclaim is a no-op */
    mcpu_ring_unclaim(&ring, 0, 2001);
    mcpu_ring_unclaim(&ring, 0, 0);
    CHECK_EQ_U64(ring.lanes[0].owner_pid, 2000);
    CHECK_EQ_INT(mcpu_ring_claim(&ring, 2002, alive_always), 2);

    /* the owner's frees the lane, and the next claimer (alive or not
     * alive() says about others) gets it, lowest free first */
    mcpu_ring_unclaim(&ring, 0, 2000);
    CHECK_EQ_U64(ring.lanes[0].owner_pid, 0);
    CHECK_EQ_U64(ring.lanes[1].owner_pid, 2001);
    CHECK_EQ_INT(mcpu_ring_claim(&ring, 2003, alive_always), 0);
    CHECK_EQ_U64(ring.lanes[0].claims, 2);

    /* the records survive the change of owner and the new ones follow */
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_INT(model_produce(&m, 3, 30), MCPU_RING_OK);
    }

    model_drain(&m);
    CHECK_EQ_U64(m.consumed, 6);
    CHECK_EQ_U64(ring.lanes[0].p_seq, 6);

    /* a pid that unclaimed may claim again like anyone */
    mcpu_ring_unclaim(&ring, 1, 2001);
    CHECK_EQ_INT(mcpu_ring_claim(&ring, 2001, alive_always), 1);

    model_free(&m);
    mcpu_ring_close(&ring);
}


/* ---- mcpu_ring_check ---- */

static void
test_ring_check_detects_corrupt_record(const char *dir)
{
    int               i, rc, j;
    char              path[4096], err[1024], want[64];
    uint64_t          pos[10], end[10], cursor;
    model_t           m;
    mcpu_ring_t       ring;
    mcpu_ring_rec_t  *rec, saved, bad;
    mcpu_ring_view_t  v;

    enum { LANE = 3, VARIANTS = 13 };

    path_in(path, sizeof(path), dir, "ring");
    if (!ring_create(&ring, path, &geo_small)) {
        return;
    }

    /* healthy records in other lanes; ten in lane 3 behind a released
     * start, so positions are not small numbers */
    for (i = 0; i < 5; i++) {
        CHECK_EQ_INT(mcpu_ring_produce(&ring, 0, "a", 1, "b", 1),
                     MCPU_RING_OK);
        CHECK_EQ_INT(mcpu_ring_produce(&ring, 6, "a", 1, "b", 1),
                     MCPU_RING_OK);
    }

    model_init(&m, &ring, LANE);
    for (i = 0; i < 30; i++) {
        model_push(&m, 5, 1000);
    }
    if (!model_drain(&m)) {
        goto done;
    }

    for (i = 0; i < 10; i++) {
        pos[i] = m.tail;
        if (!CHECK_EQ_INT(model_produce(&m, 5, 100 + 16 * i), MCPU_RING_OK)) {
            goto done;
        }
        end[i] = m.tail;
    }

    if (!ring_check_ok(&ring)) {
        goto done;
    }

    for (i = 0; i < VARIANTS; i++) {
        /* record 4, or the last one for the variants about p_tail */
        j = i >= 10 ? 9 : 4;
        rec = rec_at(&ring, LANE, pos[j]);
        saved = *rec;
        bad = saved;

        switch (i) {
        case 0:
            memset(&bad, 0, sizeof(bad));
            break;
        case 1:
            memset(&bad, 0xff, sizeof(bad));
            break;
        case 2:
            fill((unsigned char *) &bad, sizeof(bad), 7);
            break;
        case 3:                 /* size changed, check not */
            bad.size += 16;
            break;
        case 4:
            bad.seq++;
            break;
        case 5:
            bad.check ^= 1;
            break;
        case 6:                 /* neither EVENT nor PAD */
            bad.type = 7;
            break;
        case 7:                 /* key longer than the record */
            bad.key_len = (uint16_t) (saved.size - sizeof(bad) + 1);
            break;
        case 8:                 /* shorter than its own header */
            bad.size = 8;
            break;
        case 9:                 /* longer than what is left of the lane */
            bad.size = (uint32_t) (ring.lane_size - (pos[j] & ring.mask) + 16);
            break;
        case 10:                /* the last record reaching past p_tail */
            bad.size += 64;
            break;
        case 11:                /* a PAD reaching past p_tail */
            bad.type = MCPU_RING_REC_PAD;
            bad.size = (uint32_t) (end[j] - pos[j] + 16);
            break;
        default:                /* more than max_record */
            bad.size = ring.max_record + 16;
            break;
        }

        if (i >= 6) {
            /* the check word agrees: only the other rules can tell */
            bad.check = mcpu_ring_rec_check(bad.size, bad.type, bad.key_len,
                                            bad.seq);
        }

        *rec = bad;

        memset(err, 0, sizeof(err));
        rc = mcpu_ring_check(&ring, err, sizeof(err));
        if (!CHECK_EQ_INT(rc, MCPU_RING_CORRUPT)) {
            printf("#   variant %d was not detected\n", i);
        }

        snprintf(want, sizeof(want), "lane %d", LANE);
        CHECK_STR_CONTAINS(err, want);
        snprintf(want, sizeof(want), "%" PRIu64, pos[j]);
        CHECK_STR_CONTAINS(err, want);

        /* the consumer reads up to it, then stops there */
        cursor = ring.lanes[LANE].c_head;
        for (int k = 0; k < j; k++) {
            CHECK_EQ_INT(mcpu_ring_peek(&ring, LANE, &cursor, &v),
                         MCPU_RING_OK);
        }

        CHECK_EQ_INT(mcpu_ring_peek(&ring, LANE, &cursor, &v),
                     MCPU_RING_CORRUPT);
        CHECK_EQ_U64(cursor, pos[j]);

        *rec = saved;
        if (!ring_check_ok(&ring)) {
            goto done;
        }
    }

    /* more unread bytes than the lane holds */
    ring.lanes[LANE].p_tail += ring.lane_size;
    memset(err, 0, sizeof(err));
    CHECK_EQ_INT(mcpu_ring_check(&ring, err, sizeof(err)), MCPU_RING_CORRUPT);
    snprintf(want, sizeof(want), "lane %d", LANE);
    CHECK_STR_CONTAINS(err, want);
    ring.lanes[LANE].p_tail -= ring.lane_size;

    model_drain(&m);
    ring_check_ok(&ring);

done:

    model_free(&m);
    mcpu_ring_close(&ring);
}


static void
test_ring_check_accepts_healthy_ring_with_wrapped_counters(const char *dir)
{
    int                i, lane;
    char               path[4096];
    uint64_t           start, rng;
    model_t            ms[8];
    mcpu_ring_t        ring;
    mcpu_ring_lane_t  *l;

    static const uint64_t  before_top[8] = {
        16, 16, 3008, 2048, 40 * KB, 64 * KB - 16, 48, 3 * 64 * KB
    };

    path_in(path, sizeof(path), dir, "ring");
    if (!ring_create(&ring, path, &geo_small)) {
        return;
    }

    rng = mcpu_test_seed() ^ 0x636865636bull;

    /* each lane's counters a different distance below 2^64; records are
     * produced across the top and left unread */
    for (lane = 0; lane < 8; lane++) {
        l = &ring.lanes[lane];
        start = 0 - before_top[lane];
        l->p_tail = l->c_head = start;
        l->p_seq = l->c_seq = UINT32_MAX - (uint64_t) lane;
        model_init(&ms[lane], &ring, lane);
    }

    /* lane 0 stays empty just below 2^64; the others are filled until the
     * lane refuses, and half of them partly read and released */
    for (lane = 1; lane < 8; lane++) {
        for (i = 0; i < 200; i++) {
            if (model_produce(&ms[lane], (size_t) lane,
                              100 + rng_next(&rng) % 3000) != MCPU_RING_OK)
            {
                break;
            }
        }

        CHECK_EQ_U64(ms[lane].full, 1);

        if (lane % 2) {
            model_consume(&ms[lane], 3);
            model_release(&ms[lane]);
        }
    }

    /* unread bytes straddle 2^64: c_head > p_tail as plain numbers */
    CHECK(ring.lanes[2].c_head > ring.lanes[2].p_tail);
    CHECK(ring.lanes[4].c_head > ring.lanes[4].p_tail);

    ring_check_ok(&ring);

    /* and after everything was read and released */
    for (lane = 0; lane < 8; lane++) {
        model_drain(&ms[lane]);
        CHECK_EQ_U64(mcpu_ring_used(&ring, lane), 0);
    }

    ring_check_ok(&ring);

    for (lane = 0; lane < 8; lane++) {
        model_free(&ms[lane]);
    }

    mcpu_ring_close(&ring);
}


/* ---- transactions: several records, published at once or not at all ---- */

static int
txn_nobody_alive(uint32_t pid)
{
    (void) pid;
    return 0;
}


/* reads every record of a lane, checks they are k, k+1, ... by value */
static long
txn_read_all(mcpu_ring_t *ring, int lane, uint64_t *cursor, long first)
{
    long              n, v;
    mcpu_ring_view_t  view;

    for (n = 0; mcpu_ring_peek(ring, lane, cursor, &view) == MCPU_RING_OK;
         n++)
    {
        v = -1;
        sscanf((const char *) view.value, "%ld", &v);
        if (!CHECK_EQ_INT(v, first + n)) {
            return -1;
        }
    }

    return n;
}


static int
txn_append_n(mcpu_ring_t *ring, mcpu_ring_txn_t *txn, long first, long n)
{
    int   rc;
    char  value[32];
    long  i;

    for (i = 0; i < n; i++) {
        snprintf(value, sizeof(value), "%ld", first + i);
        rc = mcpu_ring_append(ring, txn, "k", 1, value, strlen(value) + 1);
        if (rc != MCPU_RING_OK) {
            return rc;
        }
    }

    return MCPU_RING_OK;
}


static void
test_ring_txn_publishes_its_records_only_at_commit(const char *dir)
{
    int               lane;
    char              path[4096];
    uint64_t          cursor, tail;
    mcpu_ring_t       ring;
    mcpu_ring_txn_t   txn;

    path_in(path, sizeof(path), dir, "ring");
    if (!ring_create(&ring, path, &geo_small)) {
        return;
    }

    lane = mcpu_ring_claim(&ring, 1001, txn_nobody_alive);
    cursor = ring.lanes[lane].c_head;
    tail = ring.lanes[lane].p_tail;

    mcpu_ring_begin(&ring, lane, &txn);
    CHECK_EQ_INT(txn_append_n(&ring, &txn, 0, 5), MCPU_RING_OK);

    /* appended but not committed: the batcher sees nothing */
    CHECK_EQ_U64(ring.lanes[lane].p_tail, tail);
    CHECK_EQ_INT(txn_read_all(&ring, lane, &cursor, 0), 0);

    mcpu_ring_commit(&ring, &txn);
    CHECK_EQ_INT(txn_read_all(&ring, lane, &cursor, 0), 5);
    CHECK_EQ_U64(ring.lanes[lane].p_seq, 5);

    mcpu_ring_close(&ring);
}


static void
test_ring_txn_dropped_leaves_nothing_and_the_lane_goes_on(const char *dir)
{
    int               lane;
    char              path[4096];
    uint64_t          cursor;
    mcpu_ring_t       ring;
    mcpu_ring_txn_t   txn;

    path_in(path, sizeof(path), dir, "ring");
    if (!ring_create(&ring, path, &geo_small)) {
        return;
    }

    lane = mcpu_ring_claim(&ring, 1001, txn_nobody_alive);
    cursor = 0;

    mcpu_ring_begin(&ring, lane, &txn);
    CHECK_EQ_INT(txn_append_n(&ring, &txn, 100, 3), MCPU_RING_OK);
    /* dropped: never committed */

    mcpu_ring_begin(&ring, lane, &txn);
    CHECK_EQ_INT(txn_append_n(&ring, &txn, 0, 2), MCPU_RING_OK);
    mcpu_ring_commit(&ring, &txn);

    CHECK_EQ_INT(txn_read_all(&ring, lane, &cursor, 0), 2);
    CHECK_EQ_U64(ring.lanes[lane].p_seq, 2);

    mcpu_ring_close(&ring);
}


static void
test_ring_txn_that_does_not_fit_publishes_none(const char *dir)
{
    int               lane, rc;
    long              n;
    char              path[4096];
    uint64_t          tail, cursor;
    mcpu_ring_t       ring;
    mcpu_ring_txn_t   txn;

    path_in(path, sizeof(path), dir, "ring");
    if (!ring_create(&ring, path, &geo_small)) {
        return;
    }

    lane = mcpu_ring_claim(&ring, 1001, txn_nobody_alive);
    tail = ring.lanes[lane].p_tail;
    cursor = 0;

    /* more records than a lane holds: append says FULL part way */
    mcpu_ring_begin(&ring, lane, &txn);
    for (n = 0; (rc = txn_append_n(&ring, &txn, n, 1)) == MCPU_RING_OK; n++) {
        /* void */
    }

    CHECK_EQ_INT(rc, MCPU_RING_FULL);
    CHECK(n > 100);

    /* the caller drops it: the lane is as before, and takes the next one */
    CHECK_EQ_U64(ring.lanes[lane].p_tail, tail);
    CHECK_EQ_INT(txn_read_all(&ring, lane, &cursor, 0), 0);
    CHECK_EQ_INT(mcpu_ring_produce(&ring, lane, "k", 1, "0", 2), MCPU_RING_OK);
    CHECK_EQ_INT(txn_read_all(&ring, lane, &cursor, 0), 1);

    mcpu_ring_close(&ring);
}


/*
 * A producer killed between a commit's p_tail store and its p_seq store
 * leaves p_seq behind by the whole commit; the next owner repairs it from
 * the last record, or from the batcher's count when the lane was drained.
 */
static void
test_ring_txn_killed_before_counting_repairs_seq_by_the_commit(
    const char *dir)
{
    int                   lane, drained;
    char                  path[4096];
    uint64_t              cursor;
    mcpu_ring_t           ring;
    mcpu_ring_txn_t       txn;
    mcpu_ring_view_t      v;
    mcpu_ring_geometry_t  one = { 64 * KB, 1, 1024 };

    for (drained = 0; drained < 2; drained++) {
        path_in(path, sizeof(path), dir, drained ? "ring-d" : "ring");
        if (!ring_create(&ring, path, &one)) {
            return;
        }

        lane = mcpu_ring_claim(&ring, 1001, txn_nobody_alive);

        mcpu_ring_begin(&ring, lane, &txn);
        CHECK_EQ_INT(txn_append_n(&ring, &txn, 0, 6), MCPU_RING_OK);
        mcpu_ring_commit(&ring, &txn);
        ring.lanes[lane].p_seq -= 6;          /* the store that never ran */

        cursor = 0;
        if (drained) {
            CHECK_EQ_INT(txn_read_all(&ring, lane, &cursor, 0), 6);
            mcpu_ring_release(&ring, lane, cursor, 6);
        }

        /* pid 1001 is dead now: 1002 takes the only lane over */
        CHECK_EQ_INT(mcpu_ring_claim(&ring, 1002, txn_nobody_alive), lane);
        CHECK_EQ_U64(ring.lanes[lane].p_seq, 6);

        CHECK_EQ_INT(mcpu_ring_produce(&ring, lane, "k", 1, "6", 2),
                     MCPU_RING_OK);
        if (!drained) {
            CHECK_EQ_INT(txn_read_all(&ring, lane, &cursor, 0), 7);
        }

        cursor = ring.lanes[lane].p_tail - mcpu_ring_record_size(1, 2);
        if (CHECK_EQ_INT(mcpu_ring_peek(&ring, lane, &cursor, &v),
                         MCPU_RING_OK))
        {
            CHECK_EQ_INT(v.seq, 6);
        }

        mcpu_ring_close(&ring);
    }
}


/* ---- mcpu_ring_peek_oldest: the status page's read of the oldest record */

static void
test_ring_peek_oldest_copies_the_record_at_the_release_point(
    const char *dir)
{
    int                   lane;
    char                  path[4096], buf[64];
    size_t                len;
    uint64_t              cursor;
    mcpu_ring_t           ring;
    mcpu_ring_view_t      v;
    mcpu_ring_rec_t      *rec;
    mcpu_ring_geometry_t  one = { 64 * KB, 1, 1024 };

    path_in(path, sizeof(path), dir, "ring");
    if (!ring_create(&ring, path, &one)) {
        return;
    }

    lane = mcpu_ring_claim(&ring, 1001, txn_nobody_alive);
    len = 99;

    CHECK_EQ_INT(mcpu_ring_peek_oldest(&ring, lane, buf, sizeof(buf), &len),
                 MCPU_RING_EMPTY);
    CHECK_EQ_U64(len, 99);

    CHECK_EQ_INT(mcpu_ring_produce(&ring, lane, "k", 1, "first", 5),
                 MCPU_RING_OK);
    CHECK_EQ_INT(mcpu_ring_produce(&ring, lane, "k", 1, "second", 6),
                 MCPU_RING_OK);

    /* the oldest, whole; then only what fits */
    if (CHECK_EQ_INT(mcpu_ring_peek_oldest(&ring, lane, buf, sizeof(buf),
                                           &len), MCPU_RING_OK))
    {
        CHECK_EQ_U64(len, 5);
        CHECK_MEM_EQ(buf, "first", 5);
    }

    if (CHECK_EQ_INT(mcpu_ring_peek_oldest(&ring, lane, buf, 3, &len),
                     MCPU_RING_OK))
    {
        CHECK_EQ_U64(len, 3);
        CHECK_MEM_EQ(buf, "fir", 3);
    }

    /* read-only: the consumer still finds both */
    cursor = ring.lanes[lane].c_head;
    CHECK_EQ_INT(mcpu_ring_peek(&ring, lane, &cursor, &v), MCPU_RING_OK);
    mcpu_ring_release(&ring, lane, cursor, 1);

    if (CHECK_EQ_INT(mcpu_ring_peek_oldest(&ring, lane, buf, sizeof(buf),
                                           &len), MCPU_RING_OK))
    {
        CHECK_EQ_U64(len, 6);
        CHECK_MEM_EQ(buf, "second", 6);
    }

    CHECK_EQ_INT(mcpu_ring_peek(&ring, lane, &cursor, &v), MCPU_RING_OK);
    mcpu_ring_release(&ring, lane, cursor, 1);

    CHECK_EQ_INT(mcpu_ring_peek_oldest(&ring, lane, buf, sizeof(buf), &len),
                 MCPU_RING_EMPTY);

    /* up to 100 bytes before the lane's end, released: the next record
     * goes after a PAD, which is at c_head now */
    while (ring.lane_size - (ring.lanes[lane].p_tail & ring.mask) > 100) {
        CHECK_EQ_INT(mcpu_ring_produce(&ring, lane, "k", 1, "x", 1),
                     MCPU_RING_OK);
        CHECK_EQ_INT(mcpu_ring_peek(&ring, lane, &cursor, &v), MCPU_RING_OK);
        mcpu_ring_release(&ring, lane, cursor, 1);
    }

    CHECK_EQ_INT(mcpu_ring_produce(&ring, lane, "k", 1,
                                   "after the pad: 0123456789012345678901234"
                                   "5678901234567890123456789012345678901234"
                                   "567890", 86), MCPU_RING_OK);
    CHECK_EQ_INT(rec_at(&ring, lane, ring.lanes[lane].c_head)->type,
                 MCPU_RING_REC_PAD);

    if (CHECK_EQ_INT(mcpu_ring_peek_oldest(&ring, lane, buf, 13, &len),
                     MCPU_RING_OK))
    {
        CHECK_EQ_U64(len, 13);
        CHECK_MEM_EQ(buf, "after the pad", 13);
    }

    /* bytes at c_head that are no record */
    rec = rec_at(&ring, lane, ring.lanes[lane].c_head);
    rec->check ^= 1;
    CHECK_EQ_INT(mcpu_ring_peek_oldest(&ring, lane, buf, sizeof(buf), &len),
                 MCPU_RING_CORRUPT);
    rec->check ^= 1;

    mcpu_ring_close(&ring);
}


/* record n of peek_oldest's race: an 8-byte id, then fill()ed bytes */
static size_t
oldest_len(uint64_t id)
{
    return 8 + (size_t) (mix64(id) % 900);
}


typedef struct {
    const char  *path;
    uint64_t     count;
    int          go;
    int          go_w;
} oldest_race_t;


/* producer and consumer of the only lane at once, as fast as they go */
static int
child_produce_and_release(void *arg)
{
    int                lane, rc;
    char               err[1024];
    size_t             n;
    uint64_t           id, cursor, unreleased;
    mcpu_ring_t        ring;
    oldest_race_t     *a = arg;
    mcpu_ring_view_t   v;
    unsigned char      buf[1024];

    if (mcpu_ring_open(&ring, a->path, NULL, 0, 0, err, sizeof(err))
        != MCPU_RING_OK)
    {
        return child_fail("%s", err);
    }

    close(a->go_w);
    wait_eof(a->go);

    lane = mcpu_ring_claim(&ring, (uint32_t) getpid(), alive);
    if (lane < 0) {
        return child_fail("mcpu_ring_claim: %d", lane);
    }

    cursor = ring.lanes[lane].c_head;
    unreleased = 0;

    for (id = 0; id < a->count; id++) {
        n = oldest_len(id);
        memcpy(buf, &id, 8);
        fill(buf + 8, n - 8, value_seed(id));

        while ((rc = mcpu_ring_produce(&ring, lane, "k", 1, buf, n))
               == MCPU_RING_FULL)
        {
            /* release a few, so c_head moves under the reader */
            while (unreleased < 4
                   && mcpu_ring_peek(&ring, lane, &cursor, &v)
                      == MCPU_RING_OK)
            {
                unreleased++;
            }

            mcpu_ring_release(&ring, lane, cursor, unreleased);
            unreleased = 0;
        }

        if (rc != MCPU_RING_OK) {
            return child_fail("produce %" PRIu64 ": %d", id, rc);
        }
    }

    /* the records still unreleased stay: the lane's oldest is known */
    mcpu_ring_close(&ring);
    return 0;
}


/*
 * A reader racing the producer and the consumer of a lane gets either a
 * whole record (every byte as written, the oldest never older than one
 * seen before) or MCPU_RING_BUSY: never bytes the producer was rewriting.
 */
static void
test_ring_peek_oldest_never_returns_a_torn_record(const char *dir)
{
    int                   rc, go[2];
    char                  path[4096];
    pid_t                 pid;
    size_t                len;
    uint64_t              id, last, ok, busy, head;
    mcpu_ring_t           ring;
    oldest_race_t         a;
    unsigned char         buf[1024];
    mcpu_ring_geometry_t  one = { 64 * KB, 1, 2048 };

    path_in(path, sizeof(path), dir, "ring");
    if (!ring_create(&ring, path, &one) || !CHECK(pipe(go) == 0)) {
        return;
    }

    a.path = path;
    a.count = mcpu_test_scaled(3000000);
    a.go = go[0];
    a.go_w = go[1];

    pid = spawn(child_produce_and_release, &a);
    close(go[0]);
    close(go[1]);

    last = 0;
    ok = 0;
    busy = 0;

    for ( ;; ) {
        rc = mcpu_ring_peek_oldest(&ring, 0, buf, sizeof(buf), &len);

        if (rc == MCPU_RING_OK) {
            memcpy(&id, buf, 8);
            if (!CHECK(len >= 8 && len == oldest_len(id))
                || !CHECK_EQ_U64(mismatch(buf + 8, len - 8, value_seed(id)),
                                 len - 8)
                || !CHECK(id >= last))
            {
                printf("#   record %" PRIu64 " after %" PRIu64 ", %zu bytes\n",
                       id, last, len);
                break;
            }

            last = id;
            ok++;

        } else if (rc == MCPU_RING_BUSY) {
            busy++;

        } else if (!CHECK(rc == MCPU_RING_EMPTY)) {
            printf("#   peek_oldest: %d\n", rc);
            break;
        }

        /* rarely: a syscall per peek would leave the race little room */
        if ((ok + busy) % 4096 == 0 && waitpid(pid, NULL, WNOHANG) == pid) {
            pid = 0;
            break;
        }
    }

    if (pid != 0) {
        kill(pid, SIGKILL);
        reap(pid);
    }

    printf("# %" PRIu64 " whole records, %" PRIu64 " busy\n", ok, busy);

    /* at rest: the record at c_head, whole */
    head = ring.lanes[0].c_head;
    if (CHECK_EQ_INT(mcpu_ring_peek_oldest(&ring, 0, buf, sizeof(buf), &len),
                     MCPU_RING_OK))
    {
        memcpy(&id, buf, 8);
        CHECK_EQ_U64(len, oldest_len(id));
        CHECK_EQ_U64(mismatch(buf + 8, len - 8, value_seed(id)), len - 8);
        CHECK(id >= last);
        CHECK_EQ_U64(ring.lanes[0].c_head, head);
    }

    mcpu_ring_close(&ring);
}


TEST_LIST = {
    { "test_ring_created_file_attaches_with_same_geometry",
      test_ring_created_file_attaches_with_same_geometry },
    { "test_ring_attach_with_other_size_is_refused_naming_both_values",
      test_ring_attach_with_other_size_is_refused_naming_both_values },
    { "test_ring_attach_other_layout_version_is_refused",
      test_ring_attach_other_layout_version_is_refused },
    { "test_ring_bad_magic_is_refused", test_ring_bad_magic_is_refused },
    { "test_ring_truncated_file_is_refused",
      test_ring_truncated_file_is_refused },
    { "test_ring_geometry_not_power_of_two_is_refused",
      test_ring_geometry_not_power_of_two_is_refused },
    { "test_ring_open_with_invalid_geometry_creates_nothing",
      test_ring_open_with_invalid_geometry_creates_nothing },
    { "test_ring_header_with_impossible_geometry_is_refused",
      test_ring_header_with_impossible_geometry_is_refused },
    { "test_ring_missing_file_without_create_reports_missing",
      test_ring_missing_file_without_create_reports_missing },
    { "test_ring_open_never_rewrites_an_existing_file",
      test_ring_open_never_rewrites_an_existing_file },
    { "test_ring_racing_creators_attach_to_one_file",
      test_ring_racing_creators_attach_to_one_file },
    { "test_ring_records_of_many_sizes_round_trip",
      test_ring_records_of_many_sizes_round_trip },
    { "test_ring_small_record_does_not_occupy_max_slot",
      test_ring_small_record_does_not_occupy_max_slot },
    { "test_ring_record_over_max_is_too_big",
      test_ring_record_over_max_is_too_big },
    { "test_ring_record_length_overflow_is_too_big",
      test_ring_record_length_overflow_is_too_big },
    { "test_ring_full_lane_refuses_then_accepts_after_release",
      test_ring_full_lane_refuses_then_accepts_after_release },
    { "test_ring_wrap_pad_record_is_skipped_by_consumer",
      test_ring_wrap_pad_record_is_skipped_by_consumer },
    { "test_ring_counters_near_uint64_max_wrap_cleanly",
      test_ring_counters_near_uint64_max_wrap_cleanly },
    { "test_ring_forked_producers_each_in_own_lane_one_consumer",
      test_ring_forked_producers_each_in_own_lane_one_consumer },
    { "test_ring_producer_killed_mid_write_stalls_nobody",
      test_ring_producer_killed_mid_write_stalls_nobody },
    { "test_ring_producer_killed_between_publish_and_count_keeps_seq_contiguous",
      test_ring_producer_killed_between_publish_and_count_keeps_seq_contiguous },
    { "test_ring_producer_sigkilled_while_producing_leaves_valid_records",
      test_ring_producer_sigkilled_while_producing_leaves_valid_records },
    { "test_ring_claim_same_pid_gets_same_lane",
      test_ring_claim_same_pid_gets_same_lane },
    { "test_ring_claim_fails_when_every_lane_has_live_owner",
      test_ring_claim_fails_when_every_lane_has_live_owner },
    { "test_ring_unclaim_frees_lane", test_ring_unclaim_frees_lane },
    { "test_ring_check_detects_corrupt_record",
      test_ring_check_detects_corrupt_record },
    { "test_ring_check_accepts_healthy_ring_with_wrapped_counters",
      test_ring_check_accepts_healthy_ring_with_wrapped_counters },
    { "test_ring_txn_publishes_its_records_only_at_commit",
      test_ring_txn_publishes_its_records_only_at_commit },
    { "test_ring_txn_dropped_leaves_nothing_and_the_lane_goes_on",
      test_ring_txn_dropped_leaves_nothing_and_the_lane_goes_on },
    { "test_ring_txn_that_does_not_fit_publishes_none",
      test_ring_txn_that_does_not_fit_publishes_none },
    { "test_ring_txn_killed_before_counting_repairs_seq_by_the_commit",
      test_ring_txn_killed_before_counting_repairs_seq_by_the_commit },
    { "test_ring_peek_oldest_copies_the_record_at_the_release_point",
      test_ring_peek_oldest_copies_the_record_at_the_release_point },
    { "test_ring_peek_oldest_never_returns_a_torn_record",
      test_ring_peek_oldest_never_returns_a_torn_record },
    { NULL, NULL }
};

MCPU_TEST_MAIN()
