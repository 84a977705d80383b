/*
 * mcpu_daemon.c: signals and the metrics text file (mcpu_daemon.h).
 */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mcpu_daemon.h"


volatile sig_atomic_t  mcpu_daemon_stop;
volatile sig_atomic_t  mcpu_daemon_reopen;


static int64_t
mcpu_daemon_ms(clockid_t clock)
{
    struct timespec  ts;

    clock_gettime(clock, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


int64_t
mcpu_daemon_wall_ms(void)
{
    return mcpu_daemon_ms(CLOCK_REALTIME);
}


int64_t
mcpu_daemon_mono_ms(void)
{
    return mcpu_daemon_ms(CLOCK_MONOTONIC);
}


static void
mcpu_daemon_signal(int signo)
{
    if (signo == SIGHUP) {
        mcpu_daemon_reopen = 1;
    } else {
        mcpu_daemon_stop = 1;
    }
}


int
mcpu_daemon_signals(void)
{
    struct sigaction  sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = mcpu_daemon_signal;
    sigemptyset(&sa.sa_mask);

    if (sigaction(SIGTERM, &sa, NULL) != 0
        || sigaction(SIGINT, &sa, NULL) != 0
        || sigaction(SIGHUP, &sa, NULL) != 0)
    {
        return -1;
    }

    sa.sa_handler = SIG_IGN;
    return sigaction(SIGPIPE, &sa, NULL);
}


FILE *
mcpu_daemon_textfile_open(const char *path, char *tmp, size_t tmp_size,
    char *errstr, size_t errstr_size)
{
    FILE  *f;

    if ((size_t) snprintf(tmp, tmp_size, "%s.tmp", path) >= tmp_size) {
        snprintf(errstr, errstr_size, "metrics_file is too long");
        return NULL;
    }

    f = fopen(tmp, "w");
    if (f == NULL) {
        snprintf(errstr, errstr_size, "metrics_file: %s: %s", tmp,
                 strerror(errno));
    }

    return f;
}


int
mcpu_daemon_textfile_commit(FILE *f, const char *tmp, const char *path,
    char *errstr, size_t errstr_size)
{
    int  failed;

    failed = fflush(f) != 0 || ferror(f);
    failed |= fclose(f) != 0;

    if (failed) {
        snprintf(errstr, errstr_size, "metrics_file: writing %s: %s", tmp,
                 strerror(errno));
        unlink(tmp);
        return -1;
    }

    if (rename(tmp, path) != 0) {
        snprintf(errstr, errstr_size, "metrics_file: rename to %s: %s", path,
                 strerror(errno));
        unlink(tmp);
        return -1;
    }

    return 0;
}
