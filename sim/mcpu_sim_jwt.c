/*
 * mcpu_sim_jwt.c: the clients' tokens (mcpu_sim_jwt.h).
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jwt.h>

#include "mcpu_sim_jwt.h"


#define MCPU_SIM_JWT_FILE_MAX  (1024 * 1024)    /* bytes of a key file */


int
mcpu_sim_jwt_load(mcpu_sim_key_t *key, const char *path, const char *alg,
    char *errstr, size_t errstr_size)
{
    FILE   *f;
    char   *token;
    size_t  n;

    memset(key, 0, sizeof(*key));

    key->alg = jwt_str_alg(alg);
    if (key->alg == JWT_ALG_INVAL || key->alg == JWT_ALG_NONE) {
        snprintf(errstr, errstr_size, "libjwt does not know algorithm \"%s\"",
                 alg);
        return -1;
    }

    f = fopen(path, "re");
    if (f == NULL) {
        snprintf(errstr, errstr_size, "cannot open key \"%s\": %s", path,
                 strerror(errno));
        return -1;
    }

    /* one byte more than allowed, to tell a file that is too large */
    key->key = malloc(MCPU_SIM_JWT_FILE_MAX + 1);
    if (key->key == NULL) {
        fclose(f);
        snprintf(errstr, errstr_size, "out of memory");
        return -1;
    }

    n = fread(key->key, 1, MCPU_SIM_JWT_FILE_MAX + 1, f);

    if (ferror(f) || n > MCPU_SIM_JWT_FILE_MAX) {
        snprintf(errstr, errstr_size, "reading key \"%s\" failed: %s", path,
                 ferror(f) ? strerror(errno) : "larger than 1 MiB");
        fclose(f);
        return -1;
    }

    fclose(f);

    /* an HMAC secret is the file less one trailing newline, as the module
     * and mcpu-token read it; a PEM key is given to libjwt whole */
    if (key->alg <= JWT_ALG_HS512 && n > 0 && key->key[n - 1] == '\n') {
        n--;
    }

    if (n == 0) {
        snprintf(errstr, errstr_size, "key \"%s\" is empty", path);
        return -1;
    }

    key->len = n;

    token = mcpu_sim_jwt_make(key, "mcpu-sim-check", 0, 60, errstr,
                              errstr_size);
    if (token == NULL) {
        n = strlen(errstr);
        snprintf(errstr + n, errstr_size - n, " (key \"%s\", %s: a secret "
                 "for HS*, an unencrypted PEM private key for RS* and ES*)",
                 path, alg);
        return -1;
    }

    free(token);
    return 0;
}


void
mcpu_sim_jwt_free(mcpu_sim_key_t *key)
{
    if (key->key != NULL) {
        memset(key->key, 0, key->len);
        free(key->key);
    }

    memset(key, 0, sizeof(*key));
}


char *
mcpu_sim_jwt_make(const mcpu_sim_key_t *key, const char *sub, int64_t now,
    int64_t ttl, char *errstr, size_t errstr_size)
{
    int     rc;
    char   *token;
    jwt_t  *jwt;

    rc = jwt_new(&jwt);
    if (rc != 0) {
        snprintf(errstr, errstr_size, "jwt_new() failed: %s", strerror(rc));
        return NULL;
    }

    /* libjwt copies the key (and scrubs its copy in jwt_free()) */
    rc = jwt_set_alg(jwt, (jwt_alg_t) key->alg, key->key, (int) key->len);

    if (rc == 0) {
        rc = jwt_add_grant(jwt, "sub", sub);
    }

    if (rc == 0) {
        rc = jwt_add_grant_int(jwt, "iat", (long) now);
    }

    if (rc == 0) {
        rc = jwt_add_grant_int(jwt, "exp", (long) (now + ttl));
    }

    if (rc != 0) {
        snprintf(errstr, errstr_size, "libjwt refused the token: %s",
                 strerror(rc));
        jwt_free(jwt);
        return NULL;
    }

    errno = 0;
    token = jwt_encode_str(jwt);

    if (token == NULL) {
        snprintf(errstr, errstr_size, "libjwt could not sign: %s",
                 errno ? strerror(errno) : "unknown error");
    }

    jwt_free(jwt);
    return token;
}
