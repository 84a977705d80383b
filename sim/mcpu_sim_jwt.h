/*
 * mcpu_sim_jwt.h: the clients' tokens, signed with libjwt.
 *
 * Unlike tools/mcpu_token.c, which signs with libcrypto so that tests can
 * make tokens that lie about their algorithm, a simulated client only
 * needs honest tokens, which libjwt makes: nothing is shared between the
 * two but the rule for reading an HMAC secret (the file's bytes without
 * one trailing newline, as the module reads it), three lines here.
 */

#ifndef MCPU_SIM_JWT_H
#define MCPU_SIM_JWT_H

#include <stddef.h>
#include <stdint.h>


typedef struct {
    int             alg;         /* libjwt's jwt_alg_t */
    unsigned char  *key;         /* the secret, or the PEM private key */
    size_t          len;
} mcpu_sim_key_t;


/**
 * @brief Reads the key file at path for algorithm alg ("HS256", ...):
 *        HS*: the secret, without one trailing newline; RS*, ES*: a PEM
 *        private key.  Makes a token with it, so that a key libjwt cannot
 *        sign with is refused now.
 * @returns 0, or -1 with a sentence in errstr naming the file.
 * @locality main thread, at start-up.
 */
int mcpu_sim_jwt_load(mcpu_sim_key_t *key, const char *path, const char *alg,
    char *errstr, size_t errstr_size);

void mcpu_sim_jwt_free(mcpu_sim_key_t *key);

/**
 * @brief A signed token: sub, iat = now, exp = now + ttl (seconds).
 * @returns the token (free() it), or NULL with a sentence in errstr.
 */
char *mcpu_sim_jwt_make(const mcpu_sim_key_t *key, const char *sub,
    int64_t now, int64_t ttl, char *errstr, size_t errstr_size);

#endif /* MCPU_SIM_JWT_H */
