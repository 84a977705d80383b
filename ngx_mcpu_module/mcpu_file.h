/*
 * mcpu_file.h: the shared-memory files (the ring, the last-seen table)
 * appear under their name complete or not at all.
 */

#ifndef MCPU_FILE_H
#define MCPU_FILE_H

#include <stddef.h>
#include <stdint.h>


/**
 * @brief Creates path as a file of file_size bytes (sparse zeros) that
 *        starts with the hdr_size bytes of hdr, mode whatever the umask:
 *        written under a temporary name, synced, then link()ed to path.
 *        link(), not rename(): of two racing creators the first wins and
 *        the other's file is dropped, so nobody keeps writing to a file
 *        that was replaced.
 * @param what  names the file in messages ("ring", "last-seen table").
 * @returns 0 when path exists afterwards (placed here, or by another
 *          creator first: the caller opens it and checks its header);
 *          -1 with a sentence in err.
 */
int mcpu_file_place(const char *path, const void *hdr, size_t hdr_size,
    uint64_t file_size, unsigned mode, const char *what, char *err,
    size_t err_size);

#endif /* MCPU_FILE_H */
