/*
 * mcpu_log.c: the log lines of every mcpu program.  See mcpu_log.h.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "mcpu_log.h"


#define MCPU_LOG_LINE  2048


static const char  *mcpu_log_levels[] = {
    "EMERG", "ALERT", "CRIT", "ERROR", "WARN", "NOTICE", "INFO", "DEBUG"
};

/* descriptor of the log; its number never changes after start-up */
static int          mcpu_log_fd = STDERR_FILENO;
static const char  *mcpu_log_path;
static const char  *mcpu_log_prog = "mcpu";    /* until mcpu_log_open() */
static int          mcpu_log_max = MCPU_LOG_DEBUG;


int
mcpu_log_open(const char *prog, const char *path, char *errstr,
    size_t errstr_size)
{
    int  fd;

    mcpu_log_prog = prog;

    if (path == NULL || path[0] == '\0') {
        return 0;
    }

    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd == -1) {
        snprintf(errstr, errstr_size, "open(\"%s\") for the log failed: %s",
                 path, strerror(errno));
        return -1;
    }

    mcpu_log_fd = fd;
    mcpu_log_path = path;

    return 0;
}


int
mcpu_log_reopen(char *errstr, size_t errstr_size)
{
    int  fd;

    if (mcpu_log_path == NULL) {
        return 0;
    }

    fd = open(mcpu_log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd == -1) {
        snprintf(errstr, errstr_size, "reopening the log \"%s\" failed: %s",
                 mcpu_log_path, strerror(errno));
        return -1;
    }

    /* atomic for other threads: they write to the old file or the new one */
    if (dup3(fd, mcpu_log_fd, O_CLOEXEC) == -1) {
        snprintf(errstr, errstr_size, "dup3() for the log \"%s\" failed: %s",
                 mcpu_log_path, strerror(errno));
        close(fd);
        return -1;
    }

    close(fd);

    return 0;
}


void
mcpu_log_level(int level)
{
    mcpu_log_max = level;
}


void
mcpu_log(int level, const char *fmt, ...)
{
    int              n, m;
    char             line[MCPU_LOG_LINE];
    size_t           len;
    va_list          args;
    struct tm        tm;
    struct timespec  ts;

    if (level < 0 || level > MCPU_LOG_DEBUG) {
        level = MCPU_LOG_DEBUG;
    }

    if (level > mcpu_log_max) {
        return;
    }

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);

    /* the name is cut so that the prefix always fits the line */
    n = snprintf(line, sizeof(line),
                 "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %.64s[%ld] %s ",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                 tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
                 mcpu_log_prog, (long) getpid(), mcpu_log_levels[level]);

    va_start(args, fmt);
    m = vsnprintf(line + n, sizeof(line) - n - 1, fmt, args);
    va_end(args);

    len = (size_t) n;
    if (m > 0) {
        len += (size_t) m < sizeof(line) - n - 1 ? (size_t) m
                                                 : sizeof(line) - n - 2;
    }

    /* one line per event: a message with newlines (librdkafka's) is
     * flattened so that every log line starts with a timestamp */
    for (size_t i = (size_t) n; i < len; i++) {
        if (line[i] == '\n' || line[i] == '\r') {
            line[i] = ' ';
        }
    }

    line[len++] = '\n';

    while (write(mcpu_log_fd, line, len) == -1 && errno == EINTR) {
        /* retry: SIGHUP/SIGTERM may interrupt the write */
    }
}
