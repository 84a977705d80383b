/*
 * mcpu_seen.c: the "last event seen" table: create/attach, the writer's
 * claim and repair, update and the seqlock readers.
 * The layout, placement and the seqlock protocol: mcpu_seen.h.
 * Pure C (no nginx headers): linked into the module, the batcher and tests.
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <ck_pr.h>

#include "mcpu_file.h"
#include "mcpu_seen.h"
#include "mcpu_siphash.h"


/*
 * Readers are nginx workers, the writer the batcher: the group shares the
 * file as it shares the ring (0660), but only the writer needs to write it,
 * and client events are nobody else's business.
 */
#define MCPU_SEEN_FILE_MODE  0640

/* what replaces the event of a record too long for a slot */
#define MCPU_SEEN_EVENT_MEMBER  ",\"event\":"
#define MCPU_SEEN_EVENT_NULL    ",\"event\":null}"


static int mcpu_seen_is_pow2(uint64_t v);
static uint64_t mcpu_seen_now_ms(void);
static uint32_t mcpu_seen_slot_size(uint32_t value_max);
static int mcpu_seen_geometry_check(uint32_t slots, uint32_t value_max,
    char *err, size_t err_size);
static int mcpu_seen_create(const char *path, uint32_t slots,
    uint32_t value_max, char *err, size_t err_size);
static int mcpu_seen_header_check(const mcpu_seen_header_t *h,
    uint64_t file_size, const char *path, char *err, size_t err_size);
static int mcpu_seen_map(mcpu_seen_t *t, int fd, const char *path,
    int writable, char *err, size_t err_size);
static int mcpu_seen_claim(mcpu_seen_t *t, const char *path, char *err,
    size_t err_size);
static void mcpu_seen_repair(mcpu_seen_t *t);
static mcpu_seen_slot_t *mcpu_seen_at(const mcpu_seen_t *t, uint32_t i);
static unsigned char *mcpu_seen_value(const mcpu_seen_slot_t *s);
static uint64_t mcpu_seen_hash(const mcpu_seen_t *t, const char *key,
    size_t key_len);
static mcpu_seen_slot_t *mcpu_seen_place(mcpu_seen_t *t, const char *key,
    size_t key_len, uint64_t hash, uint32_t *index, int *found);
static int mcpu_seen_event_member(const char *v, size_t len, size_t *at);
static void mcpu_seen_store(mcpu_seen_slot_t *s, const mcpu_seen_entry_t *e,
    uint64_t hash, size_t keep, int shortened, uint64_t now_ms);
static void mcpu_seen_count(uint64_t *counter);
static int mcpu_seen_read(const mcpu_seen_t *t, const mcpu_seen_slot_t *s,
    const char *key, size_t key_len, uint64_t hash, mcpu_seen_entry_t *entry,
    char *buf, size_t buf_size, unsigned *tries);
static int mcpu_seen_copy(const mcpu_seen_t *t, const mcpu_seen_slot_t *s,
    const mcpu_seen_slot_t *c, const char *key, size_t key_len,
    uint64_t hash, char *buf, size_t buf_size);


static int
mcpu_seen_is_pow2(uint64_t v)
{
    return v != 0 && (v & (v - 1)) == 0;
}


static uint64_t
mcpu_seen_now_ms(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}


static uint32_t
mcpu_seen_slot_size(uint32_t value_max)
{
    return (uint32_t) ((sizeof(mcpu_seen_slot_t) + value_max + 63)
                       & ~(size_t) 63);
}


static int
mcpu_seen_geometry_check(uint32_t slots, uint32_t value_max, char *err,
    size_t err_size)
{
    if (!mcpu_seen_is_pow2(slots) || slots < MCPU_SEEN_WAYS
        || slots > MCPU_SEEN_MAX_SLOTS)
    {
        snprintf(err, err_size, "last-seen slots must be a power of two from "
                 "%d to %u, not %" PRIu32, MCPU_SEEN_WAYS,
                 (unsigned) MCPU_SEEN_MAX_SLOTS, slots);
        return MCPU_SEEN_ERROR;
    }

    if (value_max < MCPU_SEEN_MIN_VALUE_MAX
        || value_max > MCPU_SEEN_MAX_VALUE_MAX)
    {
        snprintf(err, err_size, "last-seen value size must be from %d to %d "
                 "bytes, not %" PRIu32, MCPU_SEEN_MIN_VALUE_MAX,
                 MCPU_SEEN_MAX_VALUE_MAX, value_max);
        return MCPU_SEEN_ERROR;
    }

    return MCPU_SEEN_OK;
}


/*
 * As the ring: the file appears under its name only once it is complete,
 * so a reader finds either no file or a whole one, and of two creators the
 * first link() wins and the other attaches to its file (and its hash key).
 */
static int
mcpu_seen_create(const char *path, uint32_t slots, uint32_t value_max,
    char *err, size_t err_size)
{
    ssize_t              n;
    mcpu_seen_header_t   h;

    memset(&h, 0, sizeof(h));
    h.magic = MCPU_SEEN_MAGIC;
    h.version = MCPU_SEEN_VERSION;
    h.slots = slots;
    h.value_max = value_max;
    h.slot_size = mcpu_seen_slot_size(value_max);
    h.file_size = MCPU_SEEN_HEADER_SIZE + (uint64_t) slots * h.slot_size;
    h.created_ms = mcpu_seen_now_ms();

    /* 16 bytes come whole once the pool is initialised; a signal before
     * that is the only short read */
    do {
        n = getrandom(h.hash_key, sizeof(h.hash_key), 0);
    } while (n == -1 && errno == EINTR);

    if (n != (ssize_t) sizeof(h.hash_key)) {
        snprintf(err, err_size, "getrandom() for the last-seen hash key "
                 "failed: %s", n == -1 ? strerror(errno) : "short read");
        return MCPU_SEEN_ERROR;
    }

    /* zeros: every slot starts empty (key_len 0) at an even version; the
     * mode lets nginx workers of the group read it whatever the umask */
    return mcpu_file_place(path, &h, sizeof(h), h.file_size,
                           MCPU_SEEN_FILE_MODE, "last-seen table", err,
                           err_size) == 0 ? MCPU_SEEN_OK : MCPU_SEEN_ERROR;
}


/* the header describes a table this program can map, of file_size bytes */
static int
mcpu_seen_header_check(const mcpu_seen_header_t *h, uint64_t file_size,
    const char *path, char *err, size_t err_size)
{
    char  why[256];

    if (h->magic != MCPU_SEEN_MAGIC) {
        snprintf(err, err_size, "\"%s\" is not an mcpu last-seen table "
                 "(bad magic)", path);
        return MCPU_SEEN_ERROR;
    }

    if (h->version != MCPU_SEEN_VERSION) {
        snprintf(err, err_size, "last-seen table \"%s\" has layout version %"
                 PRIu32 ", this program uses version %d", path, h->version,
                 MCPU_SEEN_VERSION);
        return MCPU_SEEN_ERROR;
    }

    if (mcpu_seen_geometry_check(h->slots, h->value_max, why, sizeof(why))
        != MCPU_SEEN_OK)
    {
        snprintf(err, err_size, "last-seen table \"%s\" is damaged: %s",
                 path, why);
        return MCPU_SEEN_ERROR;
    }

    if (h->slot_size != mcpu_seen_slot_size(h->value_max)
        || h->file_size != MCPU_SEEN_HEADER_SIZE
                           + (uint64_t) h->slots * h->slot_size
        || h->file_size != file_size)
    {
        snprintf(err, err_size, "last-seen table \"%s\" is damaged: header "
                 "says %" PRIu32 " slots of %" PRIu32 " bytes in %" PRIu64
                 " bytes, file has %" PRIu64, path, h->slots, h->slot_size,
                 h->file_size, file_size);
        return MCPU_SEEN_ERROR;
    }

    return MCPU_SEEN_OK;
}


static int
mcpu_seen_map(mcpu_seen_t *t, int fd, const char *path, int writable,
    char *err, size_t err_size)
{
    void                *p;
    struct stat          st;
    mcpu_seen_header_t   h;

    if (fstat(fd, &st) == -1) {
        snprintf(err, err_size, "fstat(\"%s\") failed: %s", path,
                 strerror(errno));
        return MCPU_SEEN_ERROR;
    }

    if ((uint64_t) st.st_size < MCPU_SEEN_HEADER_SIZE
        || pread(fd, &h, sizeof(h), 0) != (ssize_t) sizeof(h))
    {
        snprintf(err, err_size, "\"%s\" is not an mcpu last-seen table (%lld "
                 "bytes)", path, (long long) st.st_size);
        return MCPU_SEEN_ERROR;
    }

    if (mcpu_seen_header_check(&h, (uint64_t) st.st_size, path, err,
                               err_size)
        != MCPU_SEEN_OK)
    {
        return MCPU_SEEN_ERROR;
    }

    /* readers map it read-only: a worker cannot damage the table */
    p = mmap(NULL, (size_t) h.file_size,
             writable ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        snprintf(err, err_size, "mmap(\"%s\") failed: %s", path,
                 strerror(errno));
        return MCPU_SEEN_ERROR;
    }

    /* the geometry from the header read above, not from the mapping: it is
     * the one that was checked */
    t->hdr = p;
    t->slots = (unsigned char *) p + MCPU_SEEN_HEADER_SIZE;
    t->map_size = (size_t) h.file_size;
    t->nslots = h.slots;
    t->slot_size = h.slot_size;
    t->value_max = h.value_max;

    return MCPU_SEEN_OK;
}


int
mcpu_seen_open_writer(mcpu_seen_t *t, const char *path, uint32_t slots,
    uint32_t value_max, char *err, size_t err_size)
{
    int  fd, rc, created;

    memset(t, 0, sizeof(*t));

    if (mcpu_seen_geometry_check(slots, value_max, err, err_size)
        != MCPU_SEEN_OK)
    {
        return MCPU_SEEN_ERROR;
    }

    for (created = 0; /* void */ ; created = 1) {
        fd = open(path, O_RDWR | O_CLOEXEC);
        if (fd != -1) {
            break;
        }

        /* ENOENT right after creating: someone removed it meanwhile */
        if (errno != ENOENT || created) {
            snprintf(err, err_size, "open(\"%s\") failed: %s", path,
                     strerror(errno));
            return MCPU_SEEN_ERROR;
        }

        if (mcpu_seen_create(path, slots, value_max, err, err_size)
            != MCPU_SEEN_OK)
        {
            return MCPU_SEEN_ERROR;
        }
    }

    rc = mcpu_seen_map(t, fd, path, 1, err, err_size);

    /* the mapping keeps the file; the descriptor is not needed */
    close(fd);

    if (rc != MCPU_SEEN_OK) {
        return rc;
    }

    /* never re-created: removing it makes every client resend from its
     * start, which is the operator's call, not ours */
    if (t->nslots != slots || t->value_max != value_max) {
        snprintf(err, err_size, "last-seen table \"%s\" exists with slots=%"
                 PRIu32 " value_max=%" PRIu32 ", configured slots=%" PRIu32
                 " value_max=%" PRIu32 "; configure the existing geometry, or "
                 "stop mcpu-batcher and remove the file to start an empty "
                 "table", path, t->nslots, t->value_max, slots, value_max);
        goto failed;
    }

    if (mcpu_seen_claim(t, path, err, err_size) != MCPU_SEEN_OK) {
        goto failed;
    }

    t->writer = 1;

    mcpu_seen_repair(t);

    return MCPU_SEEN_OK;

failed:

    munmap(t->hdr, t->map_size);
    memset(t, 0, sizeof(*t));
    return MCPU_SEEN_ERROR;
}


/*
 * One writer: a CAS of our pid into writer_pid, over 0 or over a process
 * that no longer exists.  Our own pid counts as dead: in a container the
 * batcher restarted after a crash often gets the pid it had.
 */
static int
mcpu_seen_claim(mcpu_seen_t *t, const char *path, char *err,
    size_t err_size)
{
    uint32_t  me, owner;

    me = (uint32_t) getpid();

    for ( ;; ) {
        owner = ck_pr_load_32(&t->hdr->writer_pid);

        if (owner != 0 && owner != me
            && !(kill((pid_t) owner, 0) == -1 && errno == ESRCH))
        {
            snprintf(err, err_size, "last-seen table \"%s\" is being written "
                     "by process %" PRIu32 "; only one mcpu-batcher may write "
                     "it", path, owner);
            return MCPU_SEEN_ERROR;
        }

        if (ck_pr_cas_32(&t->hdr->writer_pid, owner, me)) {
            break;
        }
    }

    /* the previous writer's slots are read (repair, update) only after the
     * claim that makes them ours */
    ck_pr_fence_memory();
    return MCPU_SEEN_OK;
}


/*
 * A writer killed mid-write left its slot at an odd version, with a torn
 * key or value: readers retry on it until they give up (BUSY).  It is
 * emptied; its client answers 404 until its next acknowledged event, which
 * resends more, never less.  A slot whose lengths are impossible (a damaged
 * file) is emptied too, so that the writer never copies beyond a slot.
 */
static void
mcpu_seen_repair(mcpu_seen_t *t)
{
    uint32_t           i, v;
    mcpu_seen_slot_t  *s;

    for (i = 0; i < t->nslots; i++) {
        s = mcpu_seen_at(t, i);
        v = s->version;

        if ((v & 1) == 0 && s->key_len <= MCPU_SEEN_MAX_KEY
            && s->value_len <= t->value_max)
        {
            continue;
        }

        if ((v & 1) == 0) {
            ck_pr_store_32(&s->version, ++v);
            ck_pr_fence_store();
        }

        s->key_len = 0;
        s->value_len = 0;
        s->hash = 0;
        s->seq = -1;
        s->time_ms = 0;
        s->touched_ms = 0;

        ck_pr_fence_store();
        ck_pr_store_32(&s->version, v + 1);
    }
}


int
mcpu_seen_open_reader(mcpu_seen_t *t, const char *path, char *err,
    size_t err_size)
{
    int  fd, rc;

    memset(t, 0, sizeof(*t));

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        if (errno == ENOENT) {
            snprintf(err, err_size, "last-seen table \"%s\" does not exist "
                     "yet", path);
            return MCPU_SEEN_ABSENT;
        }

        snprintf(err, err_size, "open(\"%s\") failed: %s", path,
                 strerror(errno));
        return MCPU_SEEN_ERROR;
    }

    rc = mcpu_seen_map(t, fd, path, 0, err, err_size);

    close(fd);
    return rc;
}


void
mcpu_seen_close(mcpu_seen_t *t)
{
    if (t->hdr == NULL) {
        return;
    }

    /* every slot written is visible before the next writer can claim; a
     * forked child closing its copy of our handle releases nothing */
    if (t->writer) {
        ck_pr_fence_store();
        ck_pr_cas_32(&t->hdr->writer_pid, (uint32_t) getpid(), 0);
    }

    munmap(t->hdr, t->map_size);
    memset(t, 0, sizeof(*t));
}


static mcpu_seen_slot_t *
mcpu_seen_at(const mcpu_seen_t *t, uint32_t i)
{
    return (mcpu_seen_slot_t *) (t->slots + (size_t) i * t->slot_size);
}


static unsigned char *
mcpu_seen_value(const mcpu_seen_slot_t *s)
{
    return (unsigned char *) s + sizeof(mcpu_seen_slot_t);
}


static uint64_t
mcpu_seen_hash(const mcpu_seen_t *t, const char *key, size_t key_len)
{
    return mcpu_siphash(t->hdr->hash_key, (const unsigned char *) key,
                        key_len);
}


/*
 * The slot for key in its window: its own, else the first empty one, else
 * the one touched longest ago (the first of equals).  The writer is alone
 * in changing slots, so it reads them without the seqlock.
 */
static mcpu_seen_slot_t *
mcpu_seen_place(mcpu_seen_t *t, const char *key, size_t key_len,
    uint64_t hash, uint32_t *index, int *found)
{
    uint32_t           w, i, mask, empty, oldest;
    mcpu_seen_slot_t  *s, *o;

    mask = t->nslots - 1;
    empty = UINT32_MAX;
    oldest = UINT32_MAX;
    o = NULL;

    for (w = 0; w < MCPU_SEEN_WAYS; w++) {
        i = ((uint32_t) hash + w) & mask;
        s = mcpu_seen_at(t, i);

        if (s->key_len == 0) {
            if (empty == UINT32_MAX) {
                empty = i;
            }
            continue;
        }

        if (s->hash == hash && s->key_len == key_len
            && memcmp(s->key, key, key_len) == 0)
        {
            *found = 1;
            *index = i;
            return s;
        }

        if (o == NULL || s->touched_ms < o->touched_ms) {
            oldest = i;
            o = s;
        }
    }

    *found = 0;
    *index = empty != UINT32_MAX ? empty : oldest;

    return mcpu_seen_at(t, *index);
}


/*
 * Where the record's own "event" member starts (its comma): at depth 1 and
 * outside strings, so that an event which has an "event" member of its own
 * (an extra type's attributes, a field kept as sent) is not cut in the
 * middle.  The last such member, as "event" is the record's last.  A comma
 * cannot precede a quote inside a JSON string (it would be \"), so
 * tracking strings only keeps nested braces in strings from counting.
 */
static int
mcpu_seen_event_member(const char *v, size_t len, size_t *at)
{
    int     found, in_string;
    size_t  i, depth;

    static const char  m[] = MCPU_SEEN_EVENT_MEMBER;

    found = 0;
    in_string = 0;
    depth = 0;

    for (i = 0; i < len; i++) {
        if (in_string) {
            if (v[i] == '\\') {
                i++;

            } else if (v[i] == '"') {
                in_string = 0;
            }

            continue;
        }

        switch (v[i]) {

        case '"':
            in_string = 1;
            break;

        case '{':
        case '[':
            depth++;
            break;

        case '}':
        case ']':
            if (depth > 0) {
                depth--;
            }
            break;

        case ',':
            if (depth == 1 && len - i >= sizeof(m) - 1
                && memcmp(v + i, m, sizeof(m) - 1) == 0)
            {
                *at = i;
                found = 1;
            }
            break;
        }
    }

    return found;
}


/*
 * The seqlock's write side (mcpu_seen.h): readers that saw the even version
 * before this write see it changed after theirs, and retry.
 */
static void
mcpu_seen_store(mcpu_seen_slot_t *s, const mcpu_seen_entry_t *e,
    uint64_t hash, size_t keep, int shortened, uint64_t now_ms)
{
    size_t          len;
    uint32_t        v;
    unsigned char  *p;

    static const char  tail[] = MCPU_SEEN_EVENT_NULL;

    v = s->version;

    ck_pr_store_32(&s->version, v + 1);
    ck_pr_fence_store();

    s->key_len = (uint16_t) e->key_len;
    s->hash = hash;
    s->seq = e->seq >= 0 ? e->seq : -1;
    s->time_ms = e->time_ms;
    s->touched_ms = now_ms;
    memcpy(s->key, e->key, e->key_len);

    p = mcpu_seen_value(s);
    memcpy(p, e->value, keep);
    len = keep;

    if (shortened) {
        memcpy(p + keep, tail, sizeof(tail) - 1);
        len += sizeof(tail) - 1;
    }

    s->value_len = (uint32_t) len;

    ck_pr_fence_store();
    ck_pr_store_32(&s->version, v + 2);
}


/* the writer's counters: one writer, so a load and a store; readers (the
 * status page) load them whole */
static void
mcpu_seen_count(uint64_t *counter)
{
    ck_pr_store_64(counter, *counter + 1);
}


int
mcpu_seen_update(mcpu_seen_t *t, const mcpu_seen_entry_t *e,
    uint64_t now_ms, uint32_t *slot_out)
{
    int                 found, shortened;
    size_t              keep;
    uint32_t            i;
    uint64_t            hash;
    mcpu_seen_slot_t   *s;
    mcpu_seen_header_t *h = t->hdr;

    if (!t->writer) {
        return MCPU_SEEN_ERROR;
    }

    if (e->key_len == 0 || e->key_len > MCPU_SEEN_MAX_KEY) {
        mcpu_seen_count(&h->too_long);
        return MCPU_SEEN_TOO_LONG;
    }

    hash = mcpu_seen_hash(t, e->key, e->key_len);
    s = mcpu_seen_place(t, e->key, e->key_len, hash, &i, &found);

    /* delivery reports of one client may come back out of order, and the
     * compacted topic replays old records: only newer ones count */
    if (found && !mcpu_seen_newer(e->seq, e->time_ms, s->seq, s->time_ms)) {
        mcpu_seen_count(&h->older);
        return MCPU_SEEN_OLDER;
    }

    keep = e->value_len;
    shortened = 0;

    if (e->value_len > t->value_max) {
        if (!mcpu_seen_event_member(e->value, e->value_len, &keep)
            || keep > t->value_max - (sizeof(MCPU_SEEN_EVENT_NULL) - 1))
        {
            mcpu_seen_count(&h->too_long);
            return MCPU_SEEN_TOO_LONG;
        }

        shortened = 1;
    }

    if (!found && s->key_len != 0) {
        mcpu_seen_count(&h->evictions);
    }

    mcpu_seen_store(s, e, hash, keep, shortened, now_ms);

    mcpu_seen_count(&h->updates);

    if (shortened) {
        mcpu_seen_count(&h->shortened);
    }

    if (slot_out != NULL) {
        *slot_out = i;
    }

    return MCPU_SEEN_OK;
}


/*
 * What one consistent read of slot s found; c is the copy of its fixed
 * fields.  key == NULL: any entry, key and value into buf; else only key's,
 * value into buf.  Lengths are checked before any copy, since a read that
 * overlaps a write sees any values (the version check then discards it).
 */
static int
mcpu_seen_copy(const mcpu_seen_t *t, const mcpu_seen_slot_t *s,
    const mcpu_seen_slot_t *c, const char *key, size_t key_len,
    uint64_t hash, char *buf, size_t buf_size)
{
    if (c->key_len == 0 || c->key_len > MCPU_SEEN_MAX_KEY
        || c->value_len > t->value_max)
    {
        return MCPU_SEEN_NOT_FOUND;
    }

    if (key != NULL) {
        if (c->hash != hash || c->key_len != key_len
            || memcmp(s->key, key, key_len) != 0)
        {
            return MCPU_SEEN_NOT_FOUND;
        }

        if (c->value_len > buf_size) {
            return MCPU_SEEN_TOO_LONG;
        }

        memcpy(buf, mcpu_seen_value(s), c->value_len);
        return MCPU_SEEN_OK;
    }

    if ((size_t) c->key_len + c->value_len > buf_size) {
        return MCPU_SEEN_TOO_LONG;
    }

    memcpy(buf, s->key, c->key_len);
    memcpy(buf + c->key_len, mcpu_seen_value(s), c->value_len);
    return MCPU_SEEN_OK;
}


/*
 * The seqlock's read side (mcpu_seen.h).  tries counts failed attempts over
 * a whole lookup, so a lookup gives up after MCPU_SEEN_READ_TRIES of them
 * however many slots it reads.
 */
static int
mcpu_seen_read(const mcpu_seen_t *t, const mcpu_seen_slot_t *s,
    const char *key, size_t key_len, uint64_t hash, mcpu_seen_entry_t *entry,
    char *buf, size_t buf_size, unsigned *tries)
{
    int               rc;
    uint32_t          v;
    mcpu_seen_slot_t  c;

    rc = MCPU_SEEN_NOT_FOUND;

    for ( ;; ) {
        v = ck_pr_load_32(&s->version);

        if ((v & 1) == 0) {
            /* the fields and the value are read after the version... */
            ck_pr_fence_load();

            memcpy(&c, s, offsetof(mcpu_seen_slot_t, key));
            rc = mcpu_seen_copy(t, s, &c, key, key_len, hash, buf, buf_size);

            /* ...and before it is read again */
            ck_pr_fence_load();

            if (ck_pr_load_32(&s->version) == v) {
                break;
            }
        }

        if (++*tries >= MCPU_SEEN_READ_TRIES) {
            return MCPU_SEEN_BUSY;
        }

        ck_pr_stall();
    }

    if (rc == MCPU_SEEN_OK) {
        entry->key_len = c.key_len;
        entry->value_len = c.value_len;
        entry->seq = c.seq;
        entry->time_ms = c.time_ms;
    }

    return rc;
}


int
mcpu_seen_lookup(const mcpu_seen_t *t, const char *key, size_t key_len,
    mcpu_seen_entry_t *entry, char *buf, size_t buf_size)
{
    int                      rc, busy;
    uint32_t                 w, mask;
    uint64_t                 hash;
    unsigned                 tries;
    const mcpu_seen_slot_t  *s;

    /* such a key is never stored */
    if (key_len == 0 || key_len > MCPU_SEEN_MAX_KEY) {
        return MCPU_SEEN_NOT_FOUND;
    }

    hash = mcpu_seen_hash(t, key, key_len);
    mask = t->nslots - 1;
    tries = 0;
    busy = 0;

    /* every way, not up to an empty one: a repair may have emptied a slot
     * in front of the key's */
    for (w = 0; w < MCPU_SEEN_WAYS; w++) {
        s = mcpu_seen_at(t, ((uint32_t) hash + w) & mask);

        rc = mcpu_seen_read(t, s, key, key_len, hash, entry, buf, buf_size,
                            &tries);

        /* a slot that stays odd (its writer died in it) may be anybody's:
         * the key can still be found in another way, as a key is in one
         * slot at most; only "not found" is then uncertain */
        if (rc == MCPU_SEEN_BUSY) {
            busy = 1;
            continue;
        }

        if (rc == MCPU_SEEN_NOT_FOUND) {
            continue;
        }

        if (rc == MCPU_SEEN_OK) {
            entry->key = key;
            entry->value = buf;
        }

        return rc;
    }

    return busy ? MCPU_SEEN_BUSY : MCPU_SEEN_NOT_FOUND;
}


int
mcpu_seen_slot(const mcpu_seen_t *t, uint32_t i, mcpu_seen_entry_t *entry,
    char *buf, size_t buf_size)
{
    int       rc;
    unsigned  tries;

    if (i >= t->nslots) {
        return MCPU_SEEN_NOT_FOUND;
    }

    tries = 0;

    rc = mcpu_seen_read(t, mcpu_seen_at(t, i), NULL, 0, 0, entry, buf,
                        buf_size, &tries);
    if (rc == MCPU_SEEN_OK) {
        entry->key = buf;
        entry->value = buf + entry->key_len;
    }

    return rc;
}
