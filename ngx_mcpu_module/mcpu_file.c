/*
 * mcpu_file.c: placing a shared-memory file whole (see mcpu_file.h).
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mcpu_file.h"


int
mcpu_file_place(const char *path, const void *hdr, size_t hdr_size,
    uint64_t file_size, unsigned mode, const char *what, char *err,
    size_t err_size)
{
    int   fd;
    char  tmp[4096];

    if ((size_t) snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path,
                          (long) getpid()) >= sizeof(tmp))
    {
        snprintf(err, err_size, "%s path \"%s\" is too long", what, path);
        return -1;
    }

    fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd == -1) {
        snprintf(err, err_size, "open(\"%s\") failed: %s", tmp,
                 strerror(errno));
        return -1;
    }

    /* ftruncate leaves a sparse file of zeros: everything past the header
     * starts empty without writing its bytes */
    if (ftruncate(fd, (off_t) file_size) == -1
        || pwrite(fd, hdr, hdr_size, 0) != (ssize_t) hdr_size
        || fsync(fd) == -1)
    {
        snprintf(err, err_size, "writing \"%s\" failed: %s", tmp,
                 strerror(errno));
        goto failed;
    }

    /* the mode whatever the umask: the other side must be able to open it */
    if (fchmod(fd, mode) == -1) {
        snprintf(err, err_size, "fchmod(\"%s\") failed: %s", tmp,
                 strerror(errno));
        goto failed;
    }

    if (link(tmp, path) == -1 && errno != EEXIST) {
        snprintf(err, err_size, "placing %s \"%s\" failed: %s", what, path,
                 strerror(errno));
        goto failed;
    }

    unlink(tmp);
    close(fd);
    return 0;

failed:

    unlink(tmp);
    close(fd);
    return -1;
}
