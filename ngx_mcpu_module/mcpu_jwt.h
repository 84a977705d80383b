/*
 * mcpu_jwt.h: JWT verification for the ingest path.  Pure C (libjwt,
 * jansson, OpenSSL's libcrypto): no nginx headers, so the C unit tests link
 * it as it is.
 *
 * Keys come from files at configuration time, each bound to the one
 * algorithm it may verify: an HMAC secret (HS256/384/512), an RSA public key
 * in PEM (RS256/384/512), an EC public key in PEM (ES256/384/512), or a JSON
 * Web Key Set holding any of those (each key's "alg", or the one given).
 * The token's header is read before any signature check, so "alg":"none",
 * an algorithm no key is bound to (an HS256 token signed with the text of an
 * RSA public key included) and an unknown "kid" are refused before libjwt
 * ever sees the token.
 */

#ifndef MCPU_JWT_H
#define MCPU_JWT_H

#include <stddef.h>
#include <stdint.h>


#define MCPU_JWT_MAX_SUB         128     /* bytes of "sub" we accept */
#define MCPU_JWT_MAX_DETAIL      160


typedef enum {
    MCPU_JWT_OK = 0,
    MCPU_JWT_MALFORMED,          /* not header.payload.signature, bad
                                    base64url or JSON */
    MCPU_JWT_ALG_NONE,           /* "alg":"none" (or no "alg") */
    MCPU_JWT_ALG_MISMATCH,       /* no key is bound to the token's alg */
    MCPU_JWT_UNKNOWN_KID,        /* a "kid" no key of that alg has */
    MCPU_JWT_BAD_SIGNATURE,
    MCPU_JWT_NO_EXP,             /* "exp" is required */
    MCPU_JWT_EXPIRED,
    MCPU_JWT_NOT_YET_VALID,      /* "nbf" in the future */
    MCPU_JWT_BAD_ISSUER,
    MCPU_JWT_BAD_AUDIENCE,
    MCPU_JWT_BAD_SUB,            /* no "sub", not a string, empty, longer
                                    than MCPU_JWT_MAX_SUB or not visible
                                    ASCII (it becomes the Kafka key) */
    MCPU_JWT_LAST
} mcpu_jwt_rc_t;


/* The keys a location verifies with; built at configuration time. */
typedef struct mcpu_jwt_keyset_s  mcpu_jwt_keyset_t;


typedef struct {
    const char  *issuer;         /* required "iss"; NULL: not checked */
    const char  *audience;       /* required in "aud" (a string or an array
                                    of strings); NULL: not checked */
    int64_t      leeway;         /* seconds of clock skew allowed for exp
                                    and nbf */
} mcpu_jwt_policy_t;


typedef struct {
    char         sub[MCPU_JWT_MAX_SUB + 1];    /* NUL-terminated */
    size_t       sub_len;
    int64_t      exp;            /* seconds since the epoch */
    char         detail[MCPU_JWT_MAX_DETAIL];  /* on failure: why, for the
                                                  log; never the token */
} mcpu_jwt_result_t;


/** @brief An empty key set. @returns NULL when out of memory. */
mcpu_jwt_keyset_t *mcpu_jwt_keyset_new(void);

/**
 * @brief Reads the key file at path into ks and checks it: a JWKS (a JSON
 *        object with "keys") adds each of its keys, with the key's "alg" or
 *        alg when the key has none (a key whose alg differs from a given alg
 *        is refused); any other file is an HMAC secret (alg HS*: the file's
 *        bytes without one trailing newline, at least as long as the hash,
 *        and not a PEM block) or a PEM public key (RS*: RSA; ES*: EC on the
 *        alg's curve).  kid, when not NULL, is the kid of a non-JWKS key.
 * @returns 0, or -1 with a sentence in err naming the file and the reason.
 * @locality configuration time (nginx master).
 */
int mcpu_jwt_keyset_load(mcpu_jwt_keyset_t *ks, const char *path,
    const char *alg, const char *kid, char *err, size_t err_size);

size_t mcpu_jwt_keyset_count(const mcpu_jwt_keyset_t *ks);

void mcpu_jwt_keyset_free(mcpu_jwt_keyset_t *ks);

/**
 * @brief Verifies token (the compact serialisation, without "Bearer ") at
 *        time now (seconds since the epoch): header (alg, kid), signature
 *        with the one key that matches, then exp (required), nbf, iss, aud
 *        and sub.  A token without kid is tried with every key of its alg.
 * @returns MCPU_JWT_OK with res->sub and res->exp set, or the reason, with
 *          a sentence in res->detail.
 * @locality any thread; allocates (libjwt), so callers cache the outcome.
 */
mcpu_jwt_rc_t mcpu_jwt_verify(const mcpu_jwt_keyset_t *ks,
    const mcpu_jwt_policy_t *policy, const char *token, size_t len,
    int64_t now, mcpu_jwt_result_t *res);

/* Stable machine-readable code for a refusal, e.g. "expired". */
const char *mcpu_jwt_code(mcpu_jwt_rc_t rc);


/*
 * The verification cache: a fixed table of entries allocated once, so a
 * client sending many requests with one token pays for verification once.
 * Direct-mapped: a token's 64-bit hash picks its slot; a new token evicts
 * whatever the slot held.  An entry holds the whole token and is used only
 * if the bytes match (a hash collision is a miss, never a false accept),
 * only for the same scope (the key set and policy it was verified under),
 * and never once its exp has passed.  Only successful verifications are
 * cached.  Not thread-safe: one cache per nginx worker.
 */
typedef struct mcpu_jwt_cache_s  mcpu_jwt_cache_t;

/**
 * @brief A cache of entries slots (a power of two) for tokens of up to
 *        max_token bytes (longer ones are never cached).
 * @returns NULL when out of memory or entries is not a power of two.
 */
mcpu_jwt_cache_t *mcpu_jwt_cache_new(size_t entries, size_t max_token);

void mcpu_jwt_cache_free(mcpu_jwt_cache_t *c);

/**
 * @brief Verifies through the cache: a hit (same scope, same bytes,
 *        now <= exp) fills res without verifying; a miss calls
 *        mcpu_jwt_verify() and caches a success.  c NULL: no cache.
 * @returns what mcpu_jwt_verify() would.
 * @locality the cache's single owner; no allocation on a hit.
 */
mcpu_jwt_rc_t mcpu_jwt_verify_cached(mcpu_jwt_cache_t *c, uint64_t scope,
    const mcpu_jwt_keyset_t *ks, const mcpu_jwt_policy_t *policy,
    const char *token, size_t len, int64_t now, mcpu_jwt_result_t *res);

/* Hits and misses so far, for the status endpoint and the benchmarks. */
void mcpu_jwt_cache_stats(const mcpu_jwt_cache_t *c, uint64_t *hits,
    uint64_t *misses);

#endif /* MCPU_JWT_H */
