/*
 * mcpu_sim_spool.c: a client's spool file (mcpu_sim_spool.h).
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mcpu_log.h"
#include "mcpu_sim_spool.h"


/* the header line: fixed length, so that it is rewritten in place */
#define MCPU_SIM_SPOOL_MAGIC     "mcpu-sim spool 1 "
#define MCPU_SIM_SPOOL_FORMAT    MCPU_SIM_SPOOL_MAGIC "next_seq=%020" PRIu64 \
                                 " acked=%020" PRIu64 "\n"
#define MCPU_SIM_SPOOL_HEADER    74      /* strlen of the format's output */

#define MCPU_SIM_SPOOL_CHUNK     (1024 * 1024)   /* read back at a time */


static int mcpu_sim_spool_load(mcpu_sim_spool_t *sp, off_t size,
    char *errstr, size_t errstr_size);
static int mcpu_sim_spool_lines(mcpu_sim_spool_t *sp, char *p, size_t len,
    off_t at, size_t *used, char *errstr, size_t errstr_size);
static int mcpu_sim_spool_header(mcpu_sim_spool_t *sp, char *errstr,
    size_t errstr_size);
static int mcpu_sim_spool_entry_add(mcpu_sim_spool_t *sp, uint64_t seq,
    int64_t time, size_t len);
static int mcpu_sim_spool_pwrite(int fd, const char *p, size_t len,
    off_t at);


int
mcpu_sim_spool_open(mcpu_sim_spool_t *sp, const char *dir, const char *id,
    char *errstr, size_t errstr_size)
{
    char         *p;
    struct stat   st;

    memset(sp, 0, sizeof(*sp));
    sp->fd = -1;

    if (asprintf(&sp->path, "%s/%s.spool", dir, id) < 0) {
        sp->path = NULL;
        snprintf(errstr, errstr_size, "out of memory");
        return -1;
    }

    /* a MAC-like id's ':' would make the name awkward to type */
    for (p = sp->path + strlen(dir) + 1; *p; p++) {
        if (*p == ':') {
            *p = '-';
        }
    }

    sp->fd = open(sp->path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (sp->fd == -1) {
        snprintf(errstr, errstr_size, "open(\"%s\") failed: %s", sp->path,
                 strerror(errno));
        return -1;
    }

    if (fstat(sp->fd, &st) != 0) {
        snprintf(errstr, errstr_size, "fstat(\"%s\") failed: %s", sp->path,
                 strerror(errno));
        return -1;
    }

    sp->next_seq = 1;
    sp->acked = MCPU_SIM_SPOOL_HEADER;
    sp->end = MCPU_SIM_SPOOL_HEADER;

    if (st.st_size == 0) {
        return mcpu_sim_spool_header(sp, errstr, errstr_size);
    }

    return mcpu_sim_spool_load(sp, st.st_size, errstr, errstr_size);
}


void
mcpu_sim_spool_close(mcpu_sim_spool_t *sp)
{
    /* a zeroed spool (never opened) has no path, and fd 0 is not its */
    if (sp->path != NULL && sp->fd != -1) {
        close(sp->fd);
    }

    free(sp->path);
    free(sp->entries);
    free(sp->wbuf);
    memset(sp, 0, sizeof(*sp));
    sp->fd = -1;
}


/* an existing file: its header, then every line from acked on */
static int
mcpu_sim_spool_load(mcpu_sim_spool_t *sp, off_t size, char *errstr,
    size_t errstr_size)
{
    int        rc;
    char       head[MCPU_SIM_SPOOL_HEADER + 1], *buf;
    off_t      at;
    size_t     have, used;
    ssize_t    n;
    uint64_t   next_seq, acked;

    n = pread(sp->fd, head, MCPU_SIM_SPOOL_HEADER, 0);
    head[n > 0 ? n : 0] = '\0';

    if (n != MCPU_SIM_SPOOL_HEADER
        || sscanf(head, MCPU_SIM_SPOOL_MAGIC "next_seq=%20" SCNu64
                  " acked=%20" SCNu64, &next_seq, &acked) != 2
        || head[MCPU_SIM_SPOOL_HEADER - 1] != '\n')
    {
        snprintf(errstr, errstr_size, "\"%s\" is not a spool of mcpu-sim "
                 "(its first line is not \"%.17s...\")", sp->path,
                 MCPU_SIM_SPOOL_MAGIC);
        return -1;
    }

    if (acked < MCPU_SIM_SPOOL_HEADER) {
        snprintf(errstr, errstr_size, "\"%s\": acked=%" PRIu64 " points into "
                 "the header", sp->path, acked);
        return -1;
    }

    sp->next_seq = next_seq > 0 ? next_seq : 1;

    if ((off_t) acked >= size) {
        /* everything was delivered; a cut without its header update (a
         * crash between the two) leaves acked past the end */
        sp->acked = MCPU_SIM_SPOOL_HEADER;
        sp->end = MCPU_SIM_SPOOL_HEADER;

        if (ftruncate(sp->fd, MCPU_SIM_SPOOL_HEADER) != 0) {
            snprintf(errstr, errstr_size, "ftruncate(\"%s\") failed: %s",
                     sp->path, strerror(errno));
            return -1;
        }

        return mcpu_sim_spool_header(sp, errstr, errstr_size);
    }

    sp->acked = (off_t) acked;
    sp->end = (off_t) acked;

    buf = malloc(MCPU_SIM_SPOOL_CHUNK);
    if (buf == NULL) {
        snprintf(errstr, errstr_size, "out of memory");
        return -1;
    }

    rc = -1;
    have = 0;

    for (at = sp->acked; at + (off_t) have < size; /* void */) {
        n = pread(sp->fd, buf + have, MCPU_SIM_SPOOL_CHUNK - have,
                  at + (off_t) have);
        if (n <= 0) {
            snprintf(errstr, errstr_size, "pread(\"%s\") failed: %s",
                     sp->path, n == 0 ? "unexpected end" : strerror(errno));
            goto done;
        }

        have += (size_t) n;

        if (mcpu_sim_spool_lines(sp, buf, have, at, &used, errstr,
                                 errstr_size) != 0)
        {
            goto done;
        }

        if (used == 0 && have == MCPU_SIM_SPOOL_CHUNK) {
            snprintf(errstr, errstr_size, "\"%s\": a line at offset %jd is "
                     "longer than %d bytes", sp->path, (intmax_t) at,
                     MCPU_SIM_SPOOL_CHUNK);
            goto done;
        }

        memmove(buf, buf + used, have - used);
        have -= used;
        at += (off_t) used;
    }

    if (have > 0) {
        /* the last line has no '\n': cut while it was appended */
        mcpu_log(MCPU_LOG_WARN, "spool \"%s\": an incomplete last line of "
                 "%zu bytes is removed", sp->path, have);

        if (ftruncate(sp->fd, sp->end) != 0) {
            snprintf(errstr, errstr_size, "ftruncate(\"%s\") failed: %s",
                     sp->path, strerror(errno));
            goto done;
        }
    }

    if (sp->count > 0) {
        next_seq = sp->entries[sp->head + sp->count - 1].seq + 1;
        if (next_seq > sp->next_seq) {
            sp->next_seq = next_seq;
        }
    }

    rc = 0;

done:

    free(buf);
    return rc;
}


/* the complete lines of p (read at file offset at); *used: their bytes */
static int
mcpu_sim_spool_lines(mcpu_sim_spool_t *sp, char *p, size_t len, off_t at,
    size_t *used, char *errstr, size_t errstr_size)
{
    char      *nl, *s, *line;
    int64_t    time;
    uint64_t   seq;

    *used = 0;

    while ((nl = memchr(p + *used, '\n', len - *used)) != NULL) {
        line = p + *used;
        *nl = '\0';

        /* mcpu-sim's own lines: "time" then "seq", both integers */
        s = strstr(line, "\"time\":");
        time = s ? strtoll(s + 7, NULL, 10) : 0;
        s = s ? strstr(s, "\"seq\":") : NULL;
        seq = s ? strtoull(s + 6, NULL, 10) : 0;

        if (seq == 0 || time <= 0) {
            snprintf(errstr, errstr_size, "\"%s\": the line at offset %jd is "
                     "not an event of mcpu-sim (no \"time\" and \"seq\")",
                     sp->path, (intmax_t) (at + (off_t) *used));
            return -1;
        }

        if (mcpu_sim_spool_entry_add(sp, seq, time, (size_t) (nl - line) + 1)
            != 0)
        {
            snprintf(errstr, errstr_size, "out of memory");
            return -1;
        }

        sp->written = sp->count;
        sp->end += nl - line + 1;
        *used = (size_t) (nl - p) + 1;
    }

    return 0;
}


int
mcpu_sim_spool_append(mcpu_sim_spool_t *sp, const char *line, size_t len,
    uint64_t seq, int64_t time)
{
    char    *more;
    size_t   cap;

    if (sp->wlen + len > sp->wcap) {
        cap = sp->wcap ? sp->wcap : 4096;
        while (cap < sp->wlen + len) {
            cap *= 2;
        }

        more = realloc(sp->wbuf, cap);
        if (more == NULL) {
            return -1;
        }

        sp->wbuf = more;
        sp->wcap = cap;
    }

    if (mcpu_sim_spool_entry_add(sp, seq, time, len) != 0) {
        return -1;
    }

    memcpy(sp->wbuf + sp->wlen, line, len);
    sp->wlen += len;
    sp->next_seq = seq + 1;

    return 0;
}


static int
mcpu_sim_spool_entry_add(mcpu_sim_spool_t *sp, uint64_t seq, int64_t time,
    size_t len)
{
    size_t             cap;
    mcpu_sim_entry_t  *e, *more;

    if (sp->head + sp->count == sp->cap) {
        if (sp->head > sp->cap / 2) {
            /* the front was removed: slide the rest back */
            memmove(sp->entries, sp->entries + sp->head,
                    sp->count * sizeof(*e));
            sp->head = 0;

        } else {
            cap = sp->cap ? sp->cap * 2 : 64;
            more = realloc(sp->entries, cap * sizeof(*e));
            if (more == NULL) {
                return -1;
            }

            sp->entries = more;
            sp->cap = cap;
        }
    }

    e = &sp->entries[sp->head + sp->count++];
    e->seq = seq;
    e->time = time;
    e->len = (uint32_t) len;
    e->sends = 0;
    e->unanswered = 0;

    return 0;
}


int
mcpu_sim_spool_write(mcpu_sim_spool_t *sp, char *errstr, size_t errstr_size)
{
    if (sp->wlen == 0) {
        return 0;
    }

    if (mcpu_sim_spool_pwrite(sp->fd, sp->wbuf, sp->wlen, sp->end) != 0) {
        snprintf(errstr, errstr_size, "pwrite(\"%s\") failed: %s", sp->path,
                 strerror(errno));
        return -1;
    }

    sp->end += (off_t) sp->wlen;
    sp->wlen = 0;
    sp->written = sp->count;

    return 0;
}


ssize_t
mcpu_sim_spool_read(mcpu_sim_spool_t *sp, size_t max_events,
    size_t max_bytes, char *buf, size_t *len, char *errstr,
    size_t errstr_size)
{
    size_t             i, bytes;
    ssize_t            n;
    mcpu_sim_entry_t  *e;

    bytes = 0;

    for (i = 0; i < sp->written && i < max_events; i++) {
        e = mcpu_sim_spool_entry(sp, i);

        if (bytes + e->len > max_bytes) {
            if (i == 0) {
                snprintf(errstr, errstr_size, "\"%s\": an event of %u bytes "
                         "is larger than a request body may be (%zu)",
                         sp->path, e->len, max_bytes);
                return -1;
            }

            break;
        }

        bytes += e->len;
    }

    *len = bytes;

    if (i == 0) {
        return 0;
    }

    n = pread(sp->fd, buf, bytes, sp->acked);
    if (n != (ssize_t) bytes) {
        snprintf(errstr, errstr_size, "pread(\"%s\") failed: %s", sp->path,
                 n < 0 ? strerror(errno) : "short read");
        return -1;
    }

    return (ssize_t) i;
}


int
mcpu_sim_spool_remove(mcpu_sim_spool_t *sp, size_t n, char *errstr,
    size_t errstr_size)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        sp->acked += mcpu_sim_spool_entry(sp, i)->len;
    }

    sp->head += n;
    sp->count -= n;
    sp->written -= n;

    if (sp->count > 0) {
        return mcpu_sim_spool_header(sp, errstr, errstr_size);
    }

    /* all delivered: cut the file back to its header; a crash between the
     * two calls leaves acked past the end, which open() understands */
    sp->head = 0;

    if (ftruncate(sp->fd, MCPU_SIM_SPOOL_HEADER) != 0) {
        snprintf(errstr, errstr_size, "ftruncate(\"%s\") failed: %s",
                 sp->path, strerror(errno));
        return -1;
    }

    sp->acked = MCPU_SIM_SPOOL_HEADER;
    sp->end = MCPU_SIM_SPOOL_HEADER;

    return mcpu_sim_spool_header(sp, errstr, errstr_size);
}


size_t
mcpu_sim_spool_count_upto(const mcpu_sim_spool_t *sp, uint64_t seq)
{
    size_t  i;

    for (i = 0; i < sp->written; i++) {
        if (sp->entries[sp->head + i].seq > seq) {
            break;
        }
    }

    return i;
}


/*
 * The header's next_seq is the one after the last event in the file:
 * events still in wbuf are not, and a crash forgets them with their seqs.
 */
static int
mcpu_sim_spool_header(mcpu_sim_spool_t *sp, char *errstr,
    size_t errstr_size)
{
    int       n;
    char      head[MCPU_SIM_SPOOL_HEADER + 1];
    uint64_t  next_seq;

    next_seq = sp->next_seq - (sp->count - sp->written);

    n = snprintf(head, sizeof(head), MCPU_SIM_SPOOL_FORMAT, next_seq,
                 (uint64_t) sp->acked);

    if (n != MCPU_SIM_SPOOL_HEADER) {
        snprintf(errstr, errstr_size, "\"%s\": the header would be %d bytes, "
                 "not %d", sp->path, n, MCPU_SIM_SPOOL_HEADER);
        return -1;
    }

    if (mcpu_sim_spool_pwrite(sp->fd, head, MCPU_SIM_SPOOL_HEADER, 0) != 0) {
        snprintf(errstr, errstr_size, "pwrite(\"%s\") failed: %s", sp->path,
                 strerror(errno));
        return -1;
    }

    return 0;
}


static int
mcpu_sim_spool_pwrite(int fd, const char *p, size_t len, off_t at)
{
    ssize_t  n;

    while (len > 0) {
        n = pwrite(fd, p, len, at);

        if (n == -1 && errno == EINTR) {
            continue;
        }

        if (n <= 0) {
            if (n == 0) {
                errno = EIO;
            }
            return -1;
        }

        p += n;
        len -= (size_t) n;
        at += n;
    }

    return 0;
}
