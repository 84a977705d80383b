/*
 * mcpu_ring.c: create/attach, claim, produce and consume on the ring file.
 * The layout, the fences and why they are there: mcpu_ring.h.
 * Pure C (no nginx headers): linked into the module, the batcher and tests.
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <ck_pr.h>

#include "mcpu_file.h"
#include "mcpu_ring.h"


static int mcpu_ring_is_pow2(uint64_t v);
static uint64_t mcpu_ring_now_ms(void);
static int mcpu_ring_create(const char *path, const mcpu_ring_geometry_t *g,
    unsigned mode, char *err, size_t err_size);
static void mcpu_ring_init_header(mcpu_ring_header_t *h,
    const mcpu_ring_geometry_t *g);
static int mcpu_ring_map(mcpu_ring_t *ring, int fd, const char *path,
    char *err, size_t err_size);
static int mcpu_ring_match(const mcpu_ring_header_t *h, uint64_t file_size,
    const mcpu_ring_geometry_t *g, const char *path, char *err,
    size_t err_size);
static unsigned char *mcpu_ring_lane_data(mcpu_ring_t *ring, int lane);
static int mcpu_ring_rec_ok(mcpu_ring_t *ring, const mcpu_ring_rec_t *rec,
    uint64_t room);
static void mcpu_ring_repair_seq(mcpu_ring_t *ring, int lane);


static int
mcpu_ring_is_pow2(uint64_t v)
{
    return v != 0 && (v & (v - 1)) == 0;
}


static uint64_t
mcpu_ring_now_ms(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}


int
mcpu_ring_geometry_check(const mcpu_ring_geometry_t *g, char *err,
    size_t err_size)
{
    uint64_t  lane_size;

    if (g->lanes == 0 || g->lanes > MCPU_RING_MAX_LANES
        || !mcpu_ring_is_pow2(g->lanes))
    {
        snprintf(err, err_size, "lanes must be a power of two from 1 to %d, "
                 "not %" PRIu32, MCPU_RING_MAX_LANES, g->lanes);
        return MCPU_RING_ERROR;
    }

    if (!mcpu_ring_is_pow2(g->size)) {
        snprintf(err, err_size, "ring size must be a power of two, not %"
                 PRIu64, g->size);
        return MCPU_RING_ERROR;
    }

    lane_size = g->size / g->lanes;

    if (lane_size < MCPU_RING_MIN_LANE_SIZE) {
        snprintf(err, err_size, "ring size %" PRIu64 " gives %" PRIu32
                 " lanes of %" PRIu64 " bytes, less than the minimum %d",
                 g->size, g->lanes, lane_size, MCPU_RING_MIN_LANE_SIZE);
        return MCPU_RING_ERROR;
    }

    /* two maximum records per lane, so a full-size record plus the PAD in
     * front of it always fits into an empty lane */
    if (g->max_record < MCPU_RING_MIN_RECORD
        || (uint64_t) g->max_record * 2 > lane_size)
    {
        snprintf(err, err_size, "max record %" PRIu32 " must be at least %d "
                 "and at most half a lane (%" PRIu64 " bytes)",
                 g->max_record, MCPU_RING_MIN_RECORD, lane_size / 2);
        return MCPU_RING_ERROR;
    }

    return MCPU_RING_OK;
}


static void
mcpu_ring_init_header(mcpu_ring_header_t *h, const mcpu_ring_geometry_t *g)
{
    uint64_t  lanes_end;

    memcpy(h->magic, MCPU_RING_MAGIC, sizeof(h->magic));
    h->version = MCPU_RING_VERSION;
    h->header_size = MCPU_RING_HEADER_SIZE;
    h->lanes = g->lanes;
    h->max_record = g->max_record;
    h->lane_size = g->size / g->lanes;

    lanes_end = MCPU_RING_HEADER_SIZE
                + (uint64_t) g->lanes * sizeof(mcpu_ring_lane_t);
    h->data_offset = (lanes_end + MCPU_RING_PAGE - 1)
                     & ~(uint64_t) (MCPU_RING_PAGE - 1);
    h->file_size = h->data_offset + g->size;
    h->created_ms = mcpu_ring_now_ms();
    h->creator_pid = (uint32_t) getpid();
    h->lane_struct_size = sizeof(mcpu_ring_lane_t);
}


/*
 * The file appears under its name only once it is complete: a reader either
 * finds no file or a fully initialised one.  Of two creators racing (nginx -t
 * next to a starting nginx) the first link() wins and the other attaches to
 * its ring, so nobody keeps writing to a file that was replaced.
 */
static int
mcpu_ring_create(const char *path, const mcpu_ring_geometry_t *g,
    unsigned mode, char *err, size_t err_size)
{
    mcpu_ring_header_t  h;

    if (g == NULL) {
        snprintf(err, err_size, "ring \"%s\" cannot be created without a "
                 "geometry", path);
        return MCPU_RING_ERROR;
    }

    if (mcpu_ring_geometry_check(g, err, err_size) != MCPU_RING_OK) {
        return MCPU_RING_ERROR;
    }

    memset(&h, 0, sizeof(h));
    mcpu_ring_init_header(&h, g);

    /* every lane starts empty and unowned: zeros */
    return mcpu_file_place(path, &h, sizeof(h), h.file_size, mode, "ring",
                           err, err_size) == 0 ? MCPU_RING_OK
                                               : MCPU_RING_ERROR;
}


static int
mcpu_ring_match(const mcpu_ring_header_t *h, uint64_t file_size,
    const mcpu_ring_geometry_t *g, const char *path, char *err,
    size_t err_size)
{
    char                  why[256];
    uint64_t              size;
    mcpu_ring_geometry_t  stored;

    if (memcmp(h->magic, MCPU_RING_MAGIC, sizeof(h->magic)) != 0) {
        snprintf(err, err_size, "\"%s\" is not an mcpu ring (bad magic)",
                 path);
        return MCPU_RING_ERROR;
    }

    if (h->version != MCPU_RING_VERSION) {
        snprintf(err, err_size, "ring \"%s\" has layout version %" PRIu32
                 ", this program uses version %d", path, h->version,
                 MCPU_RING_VERSION);
        return MCPU_RING_ERROR;
    }

    if (h->header_size != MCPU_RING_HEADER_SIZE
        || h->lane_struct_size != sizeof(mcpu_ring_lane_t))
    {
        snprintf(err, err_size, "ring \"%s\" is damaged: header of %" PRIu32
                 " bytes and lanes of %" PRIu32 " bytes, layout version %d "
                 "has %d and %zu", path, h->header_size, h->lane_struct_size,
                 MCPU_RING_VERSION, MCPU_RING_HEADER_SIZE,
                 sizeof(mcpu_ring_lane_t));
        return MCPU_RING_ERROR;
    }

    size = h->lane_size * h->lanes;

    if (h->file_size != file_size || !mcpu_ring_is_pow2(h->lane_size)
        || h->lanes == 0 || h->lanes > MCPU_RING_MAX_LANES
        || h->data_offset < MCPU_RING_HEADER_SIZE
                            + (uint64_t) h->lanes * sizeof(mcpu_ring_lane_t)
        || h->data_offset + size != h->file_size)
    {
        snprintf(err, err_size, "ring \"%s\" is damaged: header says %" PRIu64
                 " bytes, file has %" PRIu64, path, h->file_size, file_size);
        return MCPU_RING_ERROR;
    }

    stored.size = size;
    stored.lanes = h->lanes;
    stored.max_record = h->max_record;

    if (mcpu_ring_geometry_check(&stored, why, sizeof(why)) != MCPU_RING_OK) {
        snprintf(err, err_size, "ring \"%s\" is damaged: %s", path, why);
        return MCPU_RING_ERROR;
    }

    if (g == NULL) {
        return MCPU_RING_OK;
    }

    if ((g->size && g->size != size) || (g->lanes && g->lanes != h->lanes)
        || (g->max_record && g->max_record != h->max_record))
    {
        snprintf(err, err_size, "ring \"%s\" exists with size=%" PRIu64
                 " lanes=%" PRIu32 " max_record=%" PRIu32 ", configured "
                 "size=%" PRIu64 " lanes=%" PRIu32 " max_record=%" PRIu32
                 "; it may hold unsent events, so it is not re-created: "
                 "let mcpu-batcher drain it and remove it, or configure "
                 "the existing geometry", path, size, h->lanes,
                 h->max_record, g->size, g->lanes, g->max_record);
        return MCPU_RING_ERROR;
    }

    return MCPU_RING_OK;
}


static int
mcpu_ring_map(mcpu_ring_t *ring, int fd, const char *path, char *err,
    size_t err_size)
{
    void                *p;
    struct stat          st;
    mcpu_ring_header_t  *h;

    if (fstat(fd, &st) == -1) {
        snprintf(err, err_size, "fstat(\"%s\") failed: %s", path,
                 strerror(errno));
        return MCPU_RING_ERROR;
    }

    if ((uint64_t) st.st_size < MCPU_RING_PAGE) {
        snprintf(err, err_size, "\"%s\" is not an mcpu ring (%lld bytes)",
                 path, (long long) st.st_size);
        return MCPU_RING_ERROR;
    }

    p = mmap(NULL, (size_t) st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED,
             fd, 0);
    if (p == MAP_FAILED) {
        snprintf(err, err_size, "mmap(\"%s\") failed: %s", path,
                 strerror(errno));
        return MCPU_RING_ERROR;
    }

    h = p;
    ring->hdr = h;
    ring->map_size = (size_t) st.st_size;
    ring->lanes = (mcpu_ring_lane_t *) ((unsigned char *) p
                                        + MCPU_RING_HEADER_SIZE);
    ring->data = (unsigned char *) p + h->data_offset;
    ring->lane_size = h->lane_size;
    ring->mask = h->lane_size - 1;
    ring->nlanes = h->lanes;
    ring->max_record = h->max_record;

    return MCPU_RING_OK;
}


int
mcpu_ring_open(mcpu_ring_t *ring, const char *path,
    const mcpu_ring_geometry_t *g, int create, unsigned mode, char *err,
    size_t err_size)
{
    int                  fd, rc;
    struct stat          st;
    mcpu_ring_header_t   h;

    memset(ring, 0, sizeof(*ring));

    for ( ;; ) {
        fd = open(path, O_RDWR | O_CLOEXEC);
        if (fd != -1) {
            break;
        }

        if (errno != ENOENT) {
            snprintf(err, err_size, "open(\"%s\") failed: %s", path,
                     strerror(errno));
            return MCPU_RING_ERROR;
        }

        if (!create) {
            snprintf(err, err_size, "ring \"%s\" does not exist yet", path);
            return MCPU_RING_MISSING;
        }

        if (mcpu_ring_create(path, g, mode, err, err_size) != MCPU_RING_OK) {
            return MCPU_RING_ERROR;
        }

        create = 0;
    }

    if (fstat(fd, &st) == -1
        || pread(fd, &h, sizeof(h), 0) != (ssize_t) sizeof(h))
    {
        snprintf(err, err_size, "\"%s\" is not an mcpu ring (too short)",
                 path);
        close(fd);
        return MCPU_RING_ERROR;
    }

    rc = mcpu_ring_match(&h, (uint64_t) st.st_size, g, path, err, err_size);
    if (rc == MCPU_RING_OK) {
        rc = mcpu_ring_map(ring, fd, path, err, err_size);
    }

    /* the mapping keeps the file; the descriptor is not needed */
    close(fd);
    return rc;
}


void
mcpu_ring_close(mcpu_ring_t *ring)
{
    if (ring->hdr != NULL) {
        munmap(ring->hdr, ring->map_size);
        ring->hdr = NULL;
    }
}


int
mcpu_ring_claim(mcpu_ring_t *ring, uint32_t pid, int (*alive)(uint32_t pid))
{
    int                i;
    uint32_t           owner;
    mcpu_ring_lane_t  *l;

    for (i = 0; i < (int) ring->nlanes; i++) {
        if (ck_pr_load_32(&ring->lanes[i].owner_pid) == pid) {
            return i;
        }
    }

    /* free lanes first, so a dead worker's lane is drained before reuse is
     * even considered; then lanes of dead owners */
    for (i = 0; i < (int) ring->nlanes; i++) {
        l = &ring->lanes[i];
        if (ck_pr_cas_32(&l->owner_pid, 0, pid)) {
            goto claimed;
        }
    }

    for (i = 0; i < (int) ring->nlanes; i++) {
        l = &ring->lanes[i];
        owner = ck_pr_load_32(&l->owner_pid);
        if (owner != 0 && !alive(owner) && ck_pr_cas_32(&l->owner_pid, owner,
                                                         pid))
        {
            goto taken_over;
        }
    }

    return MCPU_RING_NO_LANE;

taken_over:

    mcpu_ring_repair_seq(ring, i);

claimed:

    /* the previous owner may have died after writing bytes past p_tail; they
     * were never published and are overwritten from p_tail on */
    l->claims++;
    l->claimed_ms = mcpu_ring_now_ms();
    ck_pr_fence_store();
    return i;
}


/*
 * A producer killed between publishing p_tail and counting the record in
 * p_seq left p_seq one behind: the last published record already carries
 * that number.  Nobody produces into the lane while it is being taken over,
 * and the batcher only reads, so the walk sees stable bytes.
 */
static void
mcpu_ring_repair_seq(mcpu_ring_t *ring, int lane)
{
    int                found;
    uint32_t           last, behind;
    uint64_t           cursor;
    mcpu_ring_view_t   v;
    mcpu_ring_lane_t  *l = &ring->lanes[lane];

    found = 0;
    last = 0;
    cursor = ck_pr_load_64(&l->c_head);

    while (mcpu_ring_peek(ring, lane, &cursor, &v) == MCPU_RING_OK) {
        last = v.seq;
        found = 1;
    }

    /* a transaction publishes several records at once, so p_seq can be
     * behind by as many: the last published record says by how much */
    behind = (uint32_t) (last + 1 - (uint32_t) l->p_seq);

    if (found && behind < UINT32_MAX / 2) {
        ck_pr_store_64(&l->p_seq, l->p_seq + behind);
    }

    /* nothing unread (the usual case: the batcher drained the lane before
     * the owner was replaced): then the batcher's count of released records
     * is final, since c_seq is stored before c_head (mcpu_ring_release) */
    ck_pr_fence_load();

    if (!found && ck_pr_load_64(&l->c_seq) > l->p_seq) {
        ck_pr_store_64(&l->p_seq, ck_pr_load_64(&l->c_seq));
    }
}


void
mcpu_ring_unclaim(mcpu_ring_t *ring, int lane, uint32_t pid)
{
    ck_pr_fence_store();
    ck_pr_cas_32(&ring->lanes[lane].owner_pid, pid, 0);
}


static unsigned char *
mcpu_ring_lane_data(mcpu_ring_t *ring, int lane)
{
    return ring->data + (uint64_t) lane * ring->lane_size;
}


uint64_t
mcpu_ring_free(mcpu_ring_t *ring, int lane)
{
    mcpu_ring_lane_t  *l = &ring->lanes[lane];

    return ring->lane_size - (l->p_tail - ck_pr_load_64(&l->c_head));
}


uint64_t
mcpu_ring_used(mcpu_ring_t *ring, int lane)
{
    uint64_t           head;
    mcpu_ring_lane_t  *l = &ring->lanes[lane];

    /* c_head first: p_tail only grows past it, so a later read of p_tail is
     * never behind it (the other order can wrap to 2^64 - n) */
    head = ck_pr_load_64(&l->c_head);
    ck_pr_fence_load();

    return ck_pr_load_64(&l->p_tail) - head;
}


int
mcpu_ring_peek_oldest(mcpu_ring_t *ring, int lane, void *buf, size_t size,
    size_t *len)
{
    int                rc;
    size_t             n;
    uint64_t           head, cursor;
    mcpu_ring_view_t   v;
    mcpu_ring_lane_t  *l = &ring->lanes[lane];

    head = ck_pr_load_64(&l->c_head);
    cursor = head;

    /* peek loads p_tail after c_head and fences before reading the bytes */
    rc = mcpu_ring_peek(ring, lane, &cursor, &v);

    if (rc == MCPU_RING_OK) {
        n = v.value_len < size ? v.value_len : size;
        memcpy(buf, v.value, n);
        *len = n;
    }

    /* the bytes read above precede this load: with c_head unchanged, the
     * producer had no license to overwrite them while they were read */
    ck_pr_fence_load();

    if (ck_pr_load_64(&l->c_head) != head) {
        return MCPU_RING_BUSY;
    }

    return rc;
}


void
mcpu_ring_begin(mcpu_ring_t *ring, int lane, mcpu_ring_txn_t *txn)
{
    mcpu_ring_lane_t  *l = &ring->lanes[lane];

    txn->lane = lane;
    txn->tail = l->p_tail;
    txn->seq = l->p_seq;
    txn->records = 0;
}


int
mcpu_ring_append(mcpu_ring_t *ring, mcpu_ring_txn_t *txn, const void *key,
    size_t key_len, const void *value, size_t value_len)
{
    uint64_t           head, off, room, need, total;
    unsigned char     *base, *p;
    mcpu_ring_rec_t   *rec;
    mcpu_ring_lane_t  *l = &ring->lanes[txn->lane];

    /* each length alone first, so their sum cannot wrap */
    if (key_len > UINT16_MAX || value_len > ring->max_record) {
        return MCPU_RING_TOO_BIG;
    }

    need = mcpu_ring_record_size(key_len, value_len);

    if (need > ring->max_record) {
        return MCPU_RING_TOO_BIG;
    }

    /* the private tail is ours alone; c_head is the batcher's license to
     * overwrite */
    head = ck_pr_load_64(&l->c_head);

    off = txn->tail & ring->mask;
    room = ring->lane_size - off;
    total = need <= room ? need : room + need;

    if (txn->tail - head + total > ring->lane_size) {
        l->full++;
        return MCPU_RING_FULL;
    }

    base = mcpu_ring_lane_data(ring, txn->lane);

    if (need > room) {
        rec = (mcpu_ring_rec_t *) (base + off);
        rec->size = (uint32_t) room;
        rec->type = MCPU_RING_REC_PAD;
        rec->key_len = 0;
        rec->seq = (uint32_t) txn->seq;
        rec->check = mcpu_ring_rec_check(rec->size, rec->type, rec->key_len,
                                         rec->seq);
        off = 0;
    }

    rec = (mcpu_ring_rec_t *) (base + off);
    rec->size = (uint32_t) (sizeof(mcpu_ring_rec_t) + key_len + value_len);
    rec->type = MCPU_RING_REC_EVENT;
    rec->key_len = (uint16_t) key_len;
    rec->seq = (uint32_t) txn->seq;
    rec->check = mcpu_ring_rec_check(rec->size, rec->type, rec->key_len,
                                     rec->seq);

    p = (unsigned char *) (rec + 1);
    memcpy(p, key, key_len);
    memcpy(p + key_len, value, value_len);

    txn->tail += total;
    txn->seq++;
    txn->records++;

    return MCPU_RING_OK;
}


void
mcpu_ring_commit(mcpu_ring_t *ring, mcpu_ring_txn_t *txn)
{
    mcpu_ring_lane_t  *l = &ring->lanes[txn->lane];

    if (txn->records == 0) {
        return;
    }

    /* the record bytes must be visible before the batcher can see p_tail */
    ck_pr_fence_store();
    ck_pr_store_64(&l->p_tail, txn->tail);

    /* after the publish: a producer killed between the two stores leaves
     * p_seq behind, which the next owner repairs (mcpu_ring_claim) */
    ck_pr_store_64(&l->p_seq, txn->seq);
}


int
mcpu_ring_produce(mcpu_ring_t *ring, int lane, const void *key,
    size_t key_len, const void *value, size_t value_len)
{
    int              rc;
    mcpu_ring_txn_t  txn;

    mcpu_ring_begin(ring, lane, &txn);

    rc = mcpu_ring_append(ring, &txn, key, key_len, value, value_len);
    if (rc == MCPU_RING_OK) {
        mcpu_ring_commit(ring, &txn);
    }

    return rc;
}


static int
mcpu_ring_rec_ok(mcpu_ring_t *ring, const mcpu_ring_rec_t *rec,
    uint64_t room)
{
    if (rec->check != mcpu_ring_rec_check(rec->size, rec->type, rec->key_len,
                                          rec->seq)
        || rec->size < sizeof(mcpu_ring_rec_t) || rec->size > room)
    {
        return 0;
    }

    if (rec->type == MCPU_RING_REC_PAD) {
        return 1;
    }

    return rec->type == MCPU_RING_REC_EVENT
           && mcpu_ring_record_size(0, rec->size - sizeof(mcpu_ring_rec_t))
              <= ring->max_record
           && rec->key_len <= rec->size - sizeof(mcpu_ring_rec_t);
}


int
mcpu_ring_peek(mcpu_ring_t *ring, int lane, uint64_t *cursor,
    mcpu_ring_view_t *view)
{
    uint64_t                pos, tail, off;
    unsigned char          *base;
    mcpu_ring_rec_t         copy;
    const mcpu_ring_rec_t  *rec;
    mcpu_ring_lane_t       *l = &ring->lanes[lane];

    base = mcpu_ring_lane_data(ring, lane);
    pos = *cursor;
    rec = &copy;

    for ( ;; ) {
        tail = ck_pr_load_64(&l->p_tail);
        if (pos == tail) {
            return MCPU_RING_EMPTY;
        }

        /* record bytes are read only after p_tail said they are there */
        ck_pr_fence_load();

        off = pos & ring->mask;

        /*
         * Checked and used from one copy: a reader that races the producer
         * (mcpu_ring_peek_oldest) must not check one header and then use
         * another, which could point outside the lane.
         */
        memcpy(&copy, base + off, sizeof(copy));
        ck_pr_barrier();

        if (tail - pos < sizeof(mcpu_ring_rec_t)
            || !mcpu_ring_rec_ok(ring, rec, ring->lane_size - off))
        {
            return MCPU_RING_CORRUPT;
        }

        if (rec->type == MCPU_RING_REC_PAD) {
            if (rec->size > tail - pos) {
                return MCPU_RING_CORRUPT;
            }

            pos += rec->size;
            *cursor = pos;
            continue;
        }

        view->pos = pos;
        view->end = pos + mcpu_ring_record_size(0, rec->size
                                                - sizeof(mcpu_ring_rec_t));
        view->key = base + off + sizeof(mcpu_ring_rec_t);
        view->key_len = rec->key_len;
        view->value = view->key + rec->key_len;
        view->value_len = rec->size - sizeof(mcpu_ring_rec_t) - rec->key_len;
        view->seq = rec->seq;

        if (view->end - pos > tail - pos) {
            return MCPU_RING_CORRUPT;
        }

        *cursor = view->end;
        return MCPU_RING_OK;
    }
}


void
mcpu_ring_release(mcpu_ring_t *ring, int lane, uint64_t pos,
    uint64_t records)
{
    mcpu_ring_lane_t  *l = &ring->lanes[lane];

    /* every read of the released bytes (ours and librdkafka's, which ended
     * before its delivery report reached us) precedes the producer's license
     * to overwrite them */
    ck_pr_fence_load_store();
    ck_pr_store_64(&l->c_seq, l->c_seq + records);

    /* c_seq first: a producer taking over a drained lane trusts it */
    ck_pr_fence_store();
    ck_pr_store_64(&l->c_head, pos);
}


int
mcpu_ring_check(mcpu_ring_t *ring, char *err, size_t err_size)
{
    int               i, rc;
    uint64_t          cursor, tail;
    mcpu_ring_view_t  v;

    for (i = 0; i < (int) ring->nlanes; i++) {
        cursor = ck_pr_load_64(&ring->lanes[i].c_head);
        tail = ck_pr_load_64(&ring->lanes[i].p_tail);

        if (tail - cursor > ring->lane_size) {
            snprintf(err, err_size, "lane %d: %" PRIu64 " bytes unread, more "
                     "than the lane's %" PRIu64, i, tail - cursor,
                     ring->lane_size);
            return MCPU_RING_CORRUPT;
        }

        /* producers may append while we walk; stop at the tail read above */
        while (cursor != tail) {
            rc = mcpu_ring_peek(ring, i, &cursor, &v);
            if (rc == MCPU_RING_EMPTY) {
                break;
            }

            if (rc != MCPU_RING_OK) {
                snprintf(err, err_size, "lane %d: no valid record at position "
                         "%" PRIu64, i, cursor);
                return MCPU_RING_CORRUPT;
            }
        }
    }

    return MCPU_RING_OK;
}
