/*
 * mcpu_jwt.c: key files, token verification and the per-worker cache.
 *
 * libjwt 1.10.2 (Debian 12) is used for the signature only.  Its
 * jwt_decode() takes the algorithm from the token's own header, so this
 * file reads the header first and hands libjwt only a key bound to that
 * very algorithm; the claims are read from our own parse of the payload,
 * because 1.10.2 has no jwt_valid_* and jwt_get_grant_int() reads a
 * string or a real "exp" as 0.  PS256/384/512 are not offered: 1.10.2 does
 * not implement them.
 *
 * Allocation: the nginx worker gives jansson a bump arena whose free() is a
 * no-op (mcpu_event_init()), and libjwt allocates its JSON through jansson.
 * jwt_decode(), jwt_get_alg() and jwt_free() only json_decref() what jansson
 * allocated; jwt_encode_str(), jwt_dump_str() and jwt_get_*_json() pass
 * json_dumps() output to plain free() and must never run in a worker.
 */

/* memmem(); nginx builds this file without its headers, which define it */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "mcpu_jwt.h"
#include "mcpu_siphash.h"


#define MCPU_JWT_MAX_TOKEN       8192    /* bytes of a compact token */
#define MCPU_JWT_MAX_KEY_FILE    (1024 * 1024)
#define MCPU_JWT_MIN_RSA_BITS    2048
#define MCPU_JWT_SHOW            40      /* bytes of token text in a detail */


/* what an algorithm needs of its key */
typedef struct {
    const char  *name;
    jwt_alg_t    alg;
    size_t       hash_len;       /* HS*: the least secret length */
    int          type;           /* EVP_PKEY_RSA, EVP_PKEY_EC; 0: HMAC */
    const char  *group;          /* ES*: OpenSSL's name of the curve */
    const char  *crv;            /* ES*: the JWK name of the curve */
    size_t       field_len;      /* ES*: bytes of a coordinate */
} mcpu_jwt_alg_t;

typedef struct {
    jwt_alg_t       alg;
    char           *kid;         /* NULL: none */
    unsigned char  *key;         /* HS*: the secret; else PEM text, with a
                                    NUL after len bytes */
    size_t          len;
} mcpu_jwt_key_t;

struct mcpu_jwt_keyset_s {
    mcpu_jwt_key_t  *keys;
    size_t           nkeys;
    size_t           nalloc;
};

/*
 * The table is one block of entries * stride bytes: each entry's header,
 * then room for max_token bytes of its token.  token_len 0 marks an empty
 * entry (an empty token never verifies).
 */
typedef struct {
    uint64_t   hash;
    uint64_t   scope;
    int64_t    exp;
    uint32_t   token_len;
    uint32_t   sub_len;
    char       sub[MCPU_JWT_MAX_SUB + 1];
} mcpu_jwt_entry_t;

struct mcpu_jwt_cache_s {
    uint64_t        seed[2];     /* SipHash key, random per process */
    size_t          mask;
    size_t          max_token;
    size_t          stride;
    uint64_t        hits;
    uint64_t        misses;
    unsigned char  *table;
};


static const mcpu_jwt_alg_t *mcpu_jwt_alg_by_name(const char *s, size_t len);
static const mcpu_jwt_alg_t *mcpu_jwt_alg_by_id(jwt_alg_t alg);
static int mcpu_jwt_b64_value(unsigned char ch);
static long mcpu_jwt_b64url_decode(const char *s, size_t len,
    unsigned char *out);
static void mcpu_jwt_show(char *dst, size_t size, const char *s, size_t len);
static mcpu_jwt_rc_t mcpu_jwt_parse_part(const char *s, size_t len,
    unsigned char *buf, const char *what, json_t **out,
    mcpu_jwt_result_t *res);
static mcpu_jwt_rc_t mcpu_jwt_check_header(json_t *h,
    const mcpu_jwt_alg_t **alg, mcpu_jwt_result_t *res);
static mcpu_jwt_rc_t mcpu_jwt_check_signature(const mcpu_jwt_keyset_t *ks,
    const mcpu_jwt_alg_t *a, json_t *kid, const char *token, size_t len,
    mcpu_jwt_result_t *res);
static mcpu_jwt_rc_t mcpu_jwt_check_claims(json_t *p,
    const mcpu_jwt_policy_t *policy, int64_t now, mcpu_jwt_result_t *res);
static int mcpu_jwt_json_eq(json_t *v, const char *s);
static int mcpu_jwt_read_file(const char *path, unsigned char **data,
    size_t *len, char *err, size_t err_size);
static int mcpu_jwt_load_jwks(mcpu_jwt_keyset_t *ks, const char *path,
    json_t *root, const mcpu_jwt_alg_t *given, char *err, size_t err_size);
static int mcpu_jwt_load_jwk(mcpu_jwt_keyset_t *ks, const char *path,
    size_t i, json_t *k, const mcpu_jwt_alg_t *given, size_t *skipped,
    char *err, size_t err_size);
static int mcpu_jwt_load_single(mcpu_jwt_keyset_t *ks, const char *path,
    const unsigned char *data, size_t len, const mcpu_jwt_alg_t *a,
    const char *kid, char *err, size_t err_size);
static int mcpu_jwt_check_secret(const char *who, const mcpu_jwt_alg_t *a,
    const unsigned char *s, size_t len, char *err, size_t err_size);
static int mcpu_jwt_check_pkey(const char *who, const mcpu_jwt_alg_t *a,
    EVP_PKEY *pkey, char *err, size_t err_size);
static void mcpu_jwt_describe(EVP_PKEY *pkey, char *buf, size_t size);
static const char *mcpu_jwt_nist_name(const char *group);
static EVP_PKEY *mcpu_jwt_jwk_rsa(json_t *k, const char *who, char *err,
    size_t err_size);
static EVP_PKEY *mcpu_jwt_jwk_ec(json_t *k, const mcpu_jwt_alg_t *a,
    const char *who, char *err, size_t err_size);
static unsigned char *mcpu_jwt_jwk_bytes(json_t *k, const char *name,
    size_t *len, const char *who, char *err, size_t err_size);
static int mcpu_jwt_add_pkey(mcpu_jwt_keyset_t *ks, const char *who,
    const mcpu_jwt_alg_t *a, const char *kid, EVP_PKEY *pkey, char *err,
    size_t err_size);
static int mcpu_jwt_add_key(mcpu_jwt_keyset_t *ks, const char *who,
    jwt_alg_t alg, const char *kid, const unsigned char *key, size_t len,
    char *err, size_t err_size);
static void mcpu_jwt_key_free(mcpu_jwt_key_t *k);

static const mcpu_jwt_alg_t  mcpu_jwt_algs[] = {
    { "HS256", JWT_ALG_HS256, 32, 0, NULL, NULL, 0 },
    { "HS384", JWT_ALG_HS384, 48, 0, NULL, NULL, 0 },
    { "HS512", JWT_ALG_HS512, 64, 0, NULL, NULL, 0 },
    { "RS256", JWT_ALG_RS256, 0, EVP_PKEY_RSA, NULL, NULL, 0 },
    { "RS384", JWT_ALG_RS384, 0, EVP_PKEY_RSA, NULL, NULL, 0 },
    { "RS512", JWT_ALG_RS512, 0, EVP_PKEY_RSA, NULL, NULL, 0 },
    { "ES256", JWT_ALG_ES256, 0, EVP_PKEY_EC, "prime256v1", "P-256", 32 },
    { "ES384", JWT_ALG_ES384, 0, EVP_PKEY_EC, "secp384r1", "P-384", 48 },
    { "ES512", JWT_ALG_ES512, 0, EVP_PKEY_EC, "secp521r1", "P-521", 66 },
    { NULL, JWT_ALG_INVAL, 0, 0, NULL, NULL, 0 }
};

static const char  *mcpu_jwt_codes[MCPU_JWT_LAST] = {
    [MCPU_JWT_OK] = "ok",
    [MCPU_JWT_MALFORMED] = "malformed",
    [MCPU_JWT_ALG_NONE] = "alg_none",
    [MCPU_JWT_ALG_MISMATCH] = "alg_mismatch",
    [MCPU_JWT_UNKNOWN_KID] = "unknown_kid",
    [MCPU_JWT_BAD_SIGNATURE] = "bad_signature",
    [MCPU_JWT_NO_EXP] = "no_exp",
    [MCPU_JWT_EXPIRED] = "expired",
    [MCPU_JWT_NOT_YET_VALID] = "not_yet_valid",
    [MCPU_JWT_BAD_ISSUER] = "bad_issuer",
    [MCPU_JWT_BAD_AUDIENCE] = "bad_audience",
    [MCPU_JWT_BAD_SUB] = "bad_sub",
};


const char *
mcpu_jwt_code(mcpu_jwt_rc_t rc)
{
    return rc < MCPU_JWT_LAST ? mcpu_jwt_codes[rc] : "unknown";
}


/* exact names only: RFC 7515 "alg" values are case-sensitive */
static const mcpu_jwt_alg_t *
mcpu_jwt_alg_by_name(const char *s, size_t len)
{
    const mcpu_jwt_alg_t  *a;

    for (a = mcpu_jwt_algs; a->name != NULL; a++) {
        if (len == strlen(a->name) && memcmp(s, a->name, len) == 0) {
            return a;
        }
    }

    return NULL;
}


static const mcpu_jwt_alg_t *
mcpu_jwt_alg_by_id(jwt_alg_t alg)
{
    const mcpu_jwt_alg_t  *a;

    for (a = mcpu_jwt_algs; a->name != NULL; a++) {
        if (a->alg == alg) {
            return a;
        }
    }

    return NULL;
}


/* ------------------------------------------------------------------------
 * base64url and small helpers
 */

static int
mcpu_jwt_b64_value(unsigned char ch)
{
    if (ch >= 'A' && ch <= 'Z') {
        return ch - 'A';
    }

    if (ch >= 'a' && ch <= 'z') {
        return ch - 'a' + 26;
    }

    if (ch >= '0' && ch <= '9') {
        return ch - '0' + 52;
    }

    if (ch == '-') {
        return 62;
    }

    if (ch == '_') {
        return 63;
    }

    return -1;
}


/*
 * Strict base64url without padding (RFC 7515 section 2): the alphabet only,
 * no length of the form 4n + 1, and zero bits after the last byte, so that
 * each byte string has exactly one encoding and a token cannot be varied
 * without changing what it says.  out NULL: check only; else room for
 * len * 3 / 4 bytes.
 * Returns the decoded length or -1.
 */
static long
mcpu_jwt_b64url_decode(const char *s, size_t len, unsigned char *out)
{
    int       v;
    size_t    i, n;
    unsigned  acc, bits;

    if (len % 4 == 1) {
        return -1;
    }

    acc = 0;
    bits = 0;
    n = 0;

    for (i = 0; i < len; i++) {
        v = mcpu_jwt_b64_value((unsigned char) s[i]);
        if (v < 0) {
            return -1;
        }

        acc = ((acc << 6) | (unsigned) v) & 0xfff;
        bits += 6;

        if (bits >= 8) {
            bits -= 8;
            if (out != NULL) {
                out[n] = (unsigned char) (acc >> bits);
            }
            n++;
        }
    }

    if (acc & ((1u << bits) - 1)) {
        return -1;
    }

    return (long) n;
}


/* Copies text from a token or a key file for a message: visible ASCII
 * only, and at most size - 1 bytes ("..." when cut). */
static void
mcpu_jwt_show(char *dst, size_t size, const char *s, size_t len)
{
    size_t  i, n;

    n = len < size - 1 ? len : size - 1;

    for (i = 0; i < n; i++) {
        dst[i] = (s[i] >= 0x20 && s[i] <= 0x7e && s[i] != '"') ? s[i] : '?';
    }

    if (n < len && n >= 3) {
        memcpy(dst + n - 3, "...", 3);
    }

    dst[n] = '\0';
}


/* a JSON string equal to s, byte for byte (a "\u0000" cannot cut it) */
static int
mcpu_jwt_json_eq(json_t *v, const char *s)
{
    size_t  len = strlen(s);

    return json_is_string(v) && json_string_length(v) == len
           && memcmp(json_string_value(v), s, len) == 0;
}


/* ------------------------------------------------------------------------
 * verification
 */

mcpu_jwt_rc_t
mcpu_jwt_verify(const mcpu_jwt_keyset_t *ks, const mcpu_jwt_policy_t *policy,
    const char *token, size_t len, int64_t now, mcpu_jwt_result_t *res)
{
    json_t                *h, *p;
    const char            *dot1, *dot2;
    mcpu_jwt_rc_t          rc;
    const mcpu_jwt_alg_t  *a;
    unsigned char          buf[MCPU_JWT_MAX_TOKEN / 4 * 3 + 3];

    res->sub[0] = '\0';
    res->sub_len = 0;
    res->exp = 0;
    res->detail[0] = '\0';

    h = NULL;
    p = NULL;
    a = NULL;

    if (len == 0) {
        snprintf(res->detail, sizeof(res->detail), "the token is empty");
        return MCPU_JWT_MALFORMED;
    }

    if (len > MCPU_JWT_MAX_TOKEN) {
        snprintf(res->detail, sizeof(res->detail), "the token has %zu bytes, "
                 "more than %d", len, MCPU_JWT_MAX_TOKEN);
        return MCPU_JWT_MALFORMED;
    }

    /* header.payload.signature: exactly two dots */
    dot1 = memchr(token, '.', len);
    dot2 = dot1 ? memchr(dot1 + 1, '.', len - (size_t) (dot1 + 1 - token))
                : NULL;

    if (dot2 == NULL
        || memchr(dot2 + 1, '.', len - (size_t) (dot2 + 1 - token)) != NULL)
    {
        snprintf(res->detail, sizeof(res->detail),
                 "the token is not header.payload.signature");
        return MCPU_JWT_MALFORMED;
    }

    rc = mcpu_jwt_parse_part(token, (size_t) (dot1 - token), buf, "header",
                             &h, res);
    if (rc != MCPU_JWT_OK) {
        goto done;
    }

    rc = mcpu_jwt_check_header(h, &a, res);
    if (rc != MCPU_JWT_OK) {
        goto done;
    }

    rc = mcpu_jwt_parse_part(dot1 + 1, (size_t) (dot2 - dot1 - 1), buf,
                             "payload", &p, res);
    if (rc != MCPU_JWT_OK) {
        goto done;
    }

    /* "h.p." is how alg none looks, refused above as such; with a real
     * alg an empty signature is malformed */
    if (dot2 + 1 == token + len
        || mcpu_jwt_b64url_decode(dot2 + 1, len - (size_t) (dot2 + 1 - token),
                                  NULL) < 0)
    {
        snprintf(res->detail, sizeof(res->detail),
                 "the signature is empty or not base64url");
        rc = MCPU_JWT_MALFORMED;
        goto done;
    }

    rc = mcpu_jwt_check_signature(ks, a, json_object_get(h, "kid"), token,
                                  len, res);
    if (rc != MCPU_JWT_OK) {
        goto done;
    }

    rc = mcpu_jwt_check_claims(p, policy, now, res);

done:

    json_decref(h);
    json_decref(p);

    return rc;
}


/* buf: room for the decoded part and a NUL */
static mcpu_jwt_rc_t
mcpu_jwt_parse_part(const char *s, size_t len, unsigned char *buf,
    const char *what, json_t **out, mcpu_jwt_result_t *res)
{
    long     n;
    json_t  *v;

    if (len == 0) {
        snprintf(res->detail, sizeof(res->detail), "the %s is empty", what);
        return MCPU_JWT_MALFORMED;
    }

    n = mcpu_jwt_b64url_decode(s, len, buf);
    if (n < 0) {
        snprintf(res->detail, sizeof(res->detail), "the %s is not base64url",
                 what);
        return MCPU_JWT_MALFORMED;
    }

    /* duplicates refused: libjwt would take the last, a reader the first */
    v = json_loadb((const char *) buf, (size_t) n, JSON_REJECT_DUPLICATES,
                   NULL);

    if (!json_is_object(v)) {
        json_decref(v);
        snprintf(res->detail, sizeof(res->detail),
                 "the %s is not a JSON object", what);
        return MCPU_JWT_MALFORMED;
    }

    *out = v;
    return MCPU_JWT_OK;
}


static mcpu_jwt_rc_t
mcpu_jwt_check_header(json_t *h, const mcpu_jwt_alg_t **alg,
    mcpu_jwt_result_t *res)
{
    json_t  *v;
    char     show[MCPU_JWT_SHOW];

    v = json_object_get(h, "alg");

    if (v == NULL) {
        snprintf(res->detail, sizeof(res->detail), "the header has no alg");
        return MCPU_JWT_ALG_NONE;
    }

    if (!json_is_string(v)) {
        snprintf(res->detail, sizeof(res->detail), "alg is not a string");
        return MCPU_JWT_MALFORMED;
    }

    /* libjwt reads the name case-insensitively: so does this refusal */
    if (strcasecmp(json_string_value(v), "none") == 0) {
        snprintf(res->detail, sizeof(res->detail),
                 "alg none is never accepted");
        return MCPU_JWT_ALG_NONE;
    }

    *alg = mcpu_jwt_alg_by_name(json_string_value(v), json_string_length(v));

    if (*alg == NULL) {
        mcpu_jwt_show(show, sizeof(show), json_string_value(v),
                      json_string_length(v));
        snprintf(res->detail, sizeof(res->detail),
                 "alg \"%s\" is not supported", show);
        return MCPU_JWT_ALG_MISMATCH;
    }

    /* libjwt 1.10.2 refuses a "typ" other than JWT: say so, not
     * "bad_signature" */
    v = json_object_get(h, "typ");

    if (v != NULL && !(json_is_string(v)
                       && strcasecmp(json_string_value(v), "JWT") == 0))
    {
        snprintf(res->detail, sizeof(res->detail), "typ is not \"JWT\"");
        return MCPU_JWT_MALFORMED;
    }

    /* RFC 7515 4.1.11: extensions we do not understand must be refused */
    if (json_object_get(h, "crit") != NULL) {
        snprintf(res->detail, sizeof(res->detail),
                 "crit header extensions are not supported");
        return MCPU_JWT_MALFORMED;
    }

    v = json_object_get(h, "kid");

    if (v != NULL && !json_is_string(v)) {
        snprintf(res->detail, sizeof(res->detail), "kid is not a string");
        return MCPU_JWT_MALFORMED;
    }

    return MCPU_JWT_OK;
}


/*
 * Hands libjwt the token with a key of the header's alg only: the one with
 * the token's kid, or each key of the alg when the token has no kid.
 */
static mcpu_jwt_rc_t
mcpu_jwt_check_signature(const mcpu_jwt_keyset_t *ks,
    const mcpu_jwt_alg_t *a, json_t *kid, const char *token, size_t len,
    mcpu_jwt_result_t *res)
{
    int                    err;
    jwt_t                 *jwt;
    size_t                 i, of_alg, tried, kid_len;
    jwt_alg_t              got;
    const char            *kid_s;
    mcpu_jwt_key_t        *k;
    char                   show[MCPU_JWT_SHOW];
    char                   tok[MCPU_JWT_MAX_TOKEN + 1];

    kid_s = kid ? json_string_value(kid) : NULL;
    kid_len = kid ? json_string_length(kid) : 0;

    of_alg = 0;
    tried = 0;
    err = 0;

    /* jwt_decode() wants a C string */
    memcpy(tok, token, len);
    tok[len] = '\0';

    for (i = 0; i < ks->nkeys; i++) {
        k = &ks->keys[i];

        if (k->alg != a->alg) {
            continue;
        }

        of_alg++;

        if (kid_s != NULL
            && (k->kid == NULL || strlen(k->kid) != kid_len
                || memcmp(k->kid, kid_s, kid_len) != 0))
        {
            continue;
        }

        tried++;
        jwt = NULL;

        err = jwt_decode(&jwt, tok, k->key, (int) k->len);

        if (err != 0) {
            /* libjwt leaves OpenSSL's reasons queued; nginx's SSL code
             * must not find them later */
            ERR_clear_error();
            jwt_free(jwt);
            continue;
        }

        got = jwt_get_alg(jwt);
        jwt_free(jwt);

        if (got != a->alg) {
            snprintf(res->detail, sizeof(res->detail), "libjwt verified the "
                     "token as alg %d, not %s", (int) got, a->name);
            return MCPU_JWT_ALG_MISMATCH;
        }

        return MCPU_JWT_OK;
    }

    if (of_alg == 0) {
        snprintf(res->detail, sizeof(res->detail), "no key is bound to %s",
                 a->name);
        return MCPU_JWT_ALG_MISMATCH;
    }

    if (tried == 0) {
        mcpu_jwt_show(show, sizeof(show), kid_s, kid_len);
        snprintf(res->detail, sizeof(res->detail), "no %s key has kid \"%s\"",
                 a->name, show);
        return MCPU_JWT_UNKNOWN_KID;
    }

    if (err == ENOMEM) {
        snprintf(res->detail, sizeof(res->detail),
                 "libjwt ran out of memory");

    } else if (kid_s != NULL) {
        mcpu_jwt_show(show, sizeof(show), kid_s, kid_len);
        snprintf(res->detail, sizeof(res->detail), "the signature does not "
                 "verify with %s key \"%s\"", a->name, show);

    } else {
        snprintf(res->detail, sizeof(res->detail), "the signature does not "
                 "verify with any of %zu %s key%s", tried, a->name,
                 tried == 1 ? "" : "s");
    }

    return MCPU_JWT_BAD_SIGNATURE;
}


static mcpu_jwt_rc_t
mcpu_jwt_check_claims(json_t *p, const mcpu_jwt_policy_t *policy,
    int64_t now, mcpu_jwt_result_t *res)
{
    size_t       i, len;
    json_t      *v, *e;
    int64_t      exp, nbf, leeway;
    const char  *s;

    leeway = policy->leeway > 0 ? policy->leeway : 0;

    v = json_object_get(p, "exp");

    if (v == NULL) {
        snprintf(res->detail, sizeof(res->detail), "the token has no exp");
        return MCPU_JWT_NO_EXP;
    }

    if (!json_is_integer(v)) {
        snprintf(res->detail, sizeof(res->detail),
                 "exp is not an integer number of seconds");
        return MCPU_JWT_NO_EXP;
    }

    exp = json_integer_value(v);

    /* now > exp + leeway, without overflow: the difference of two int64
     * values fits in a uint64 */
    if (exp < now && (uint64_t) now - (uint64_t) exp > (uint64_t) leeway) {
        snprintf(res->detail, sizeof(res->detail),
                 "token expired %" PRIu64 " s ago",
                 (uint64_t) now - (uint64_t) exp);
        return MCPU_JWT_EXPIRED;
    }

    v = json_object_get(p, "nbf");

    if (v != NULL) {
        if (!json_is_integer(v)) {
            snprintf(res->detail, sizeof(res->detail),
                     "nbf is not an integer number of seconds");
            return MCPU_JWT_MALFORMED;
        }

        nbf = json_integer_value(v);

        /* now + leeway < nbf */
        if (nbf > now
            && (uint64_t) nbf - (uint64_t) now > (uint64_t) leeway)
        {
            snprintf(res->detail, sizeof(res->detail),
                     "token not valid for another %" PRIu64 " s",
                     (uint64_t) nbf - (uint64_t) now);
            return MCPU_JWT_NOT_YET_VALID;
        }
    }

    if (policy->issuer != NULL) {
        v = json_object_get(p, "iss");

        if (!mcpu_jwt_json_eq(v, policy->issuer)) {
            snprintf(res->detail, sizeof(res->detail), v == NULL
                     ? "the token has no iss"
                     : "iss is not the expected issuer");
            return MCPU_JWT_BAD_ISSUER;
        }
    }

    if (policy->audience != NULL) {
        v = json_object_get(p, "aud");

        if (json_is_array(v)) {
            json_array_foreach(v, i, e) {
                if (mcpu_jwt_json_eq(e, policy->audience)) {
                    break;
                }
            }

            if (i == json_array_size(v)) {
                v = NULL;
            }

        } else if (!mcpu_jwt_json_eq(v, policy->audience)) {
            v = NULL;
        }

        if (v == NULL) {
            snprintf(res->detail, sizeof(res->detail),
                     "aud does not name the expected audience");
            return MCPU_JWT_BAD_AUDIENCE;
        }
    }

    v = json_object_get(p, "sub");

    if (!json_is_string(v)) {
        snprintf(res->detail, sizeof(res->detail), v == NULL
                 ? "the token has no sub" : "sub is not a string");
        return MCPU_JWT_BAD_SUB;
    }

    s = json_string_value(v);
    len = json_string_length(v);

    if (len == 0 || len > MCPU_JWT_MAX_SUB) {
        snprintf(res->detail, sizeof(res->detail),
                 "sub has %zu bytes, not 1 to %d", len, MCPU_JWT_MAX_SUB);
        return MCPU_JWT_BAD_SUB;
    }

    /* it becomes the Kafka key and is compared with the Client-Id header */
    for (i = 0; i < len; i++) {
        if (s[i] < 0x21 || s[i] > 0x7e) {
            snprintf(res->detail, sizeof(res->detail),
                     "sub has a byte that is not visible ASCII at offset %zu",
                     i);
            return MCPU_JWT_BAD_SUB;
        }
    }

    memcpy(res->sub, s, len);
    res->sub[len] = '\0';
    res->sub_len = len;
    res->exp = exp;

    return MCPU_JWT_OK;
}


/* ------------------------------------------------------------------------
 * key sets
 */

mcpu_jwt_keyset_t *
mcpu_jwt_keyset_new(void)
{
    return calloc(1, sizeof(mcpu_jwt_keyset_t));
}


size_t
mcpu_jwt_keyset_count(const mcpu_jwt_keyset_t *ks)
{
    return ks->nkeys;
}


void
mcpu_jwt_keyset_free(mcpu_jwt_keyset_t *ks)
{
    size_t  i;

    if (ks == NULL) {
        return;
    }

    for (i = 0; i < ks->nkeys; i++) {
        mcpu_jwt_key_free(&ks->keys[i]);
    }

    free(ks->keys);
    free(ks);
}


static void
mcpu_jwt_key_free(mcpu_jwt_key_t *k)
{
    OPENSSL_cleanse(k->key, k->len);
    free(k->key);
    free(k->kid);
}


int
mcpu_jwt_keyset_load(mcpu_jwt_keyset_t *ks, const char *path,
    const char *alg, const char *kid, char *err, size_t err_size)
{
    int                    rc;
    size_t                 len;
    json_t                *root;
    unsigned char         *data;
    const mcpu_jwt_alg_t  *a;
    char                   show[MCPU_JWT_SHOW];

    a = NULL;

    if (alg != NULL) {
        a = mcpu_jwt_alg_by_name(alg, strlen(alg));

        if (a == NULL) {
            mcpu_jwt_show(show, sizeof(show), alg, strlen(alg));
            snprintf(err, err_size, "\"%s\": alg \"%s\" is not one of HS256, "
                     "HS384, HS512, RS256, RS384, RS512, ES256, ES384, ES512 "
                     "(libjwt 1.10.2 has no PS*)", path, show);
            return -1;
        }
    }

    if (kid != NULL && *kid == '\0') {
        snprintf(err, err_size, "\"%s\": the kid is empty", path);
        return -1;
    }

    if (mcpu_jwt_read_file(path, &data, &len, err, err_size) != 0) {
        return -1;
    }

    root = json_loadb((const char *) data, len, JSON_REJECT_DUPLICATES, NULL);

    if (json_is_object(root) && json_object_get(root, "keys") != NULL) {

        if (kid != NULL) {
            snprintf(err, err_size, "\"%s\": a JWKS gives each key its own "
                     "kid; kid \"%s\" applies to a single key only", path,
                     kid);
            rc = -1;

        } else {
            rc = mcpu_jwt_load_jwks(ks, path, root, a, err, err_size);
        }

    } else if (json_is_object(root) && json_object_get(root, "kty") != NULL) {
        snprintf(err, err_size, "\"%s\": a single JWK is not read; put it in "
                 "a JWKS: {\"keys\":[...]}", path);
        rc = -1;

    } else {
        rc = mcpu_jwt_load_single(ks, path, data, len, a, kid, err,
                                  err_size);
    }

    json_decref(root);
    OPENSSL_cleanse(data, len);
    free(data);

    return rc;
}


/* *data: len bytes and a NUL */
static int
mcpu_jwt_read_file(const char *path, unsigned char **data, size_t *len,
    char *err, size_t err_size)
{
    int             fd;
    size_t          size, n;
    ssize_t         got;
    struct stat     st;
    unsigned char  *p;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        snprintf(err, err_size, "\"%s\": cannot be opened: %s", path,
                 strerror(errno));
        return -1;
    }

    if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
        snprintf(err, err_size, "\"%s\": is not a regular file", path);
        close(fd);
        return -1;
    }

    if (st.st_size > MCPU_JWT_MAX_KEY_FILE) {
        snprintf(err, err_size, "\"%s\": has %lld bytes, more than the %d a "
                 "key file may have", path, (long long) st.st_size,
                 MCPU_JWT_MAX_KEY_FILE);
        close(fd);
        return -1;
    }

    size = (size_t) st.st_size;

    p = malloc(size + 1);
    if (p == NULL) {
        snprintf(err, err_size, "\"%s\": out of memory", path);
        close(fd);
        return -1;
    }

    n = 0;

    while (n < size) {
        got = read(fd, p + n, size - n);

        if (got == -1 && errno == EINTR) {
            continue;
        }

        if (got <= 0) {
            snprintf(err, err_size, "\"%s\": cannot be read: %s", path,
                     got == 0 ? "the file shrank" : strerror(errno));
            free(p);
            close(fd);
            return -1;
        }

        n += (size_t) got;
    }

    close(fd);

    p[n] = '\0';
    *data = p;
    *len = n;

    return 0;
}


static int
mcpu_jwt_load_single(mcpu_jwt_keyset_t *ks, const char *path,
    const unsigned char *data, size_t len, const mcpu_jwt_alg_t *a,
    const char *kid, char *err, size_t err_size)
{
    int        rc;
    BIO       *bio;
    EVP_PKEY  *pkey;
    char       who[1024];

    snprintf(who, sizeof(who), "\"%s\"", path);

    if (a == NULL) {
        snprintf(err, err_size, "%s: the algorithm (alg=) must be given for "
                 "a key file that is not a JWKS", who);
        return -1;
    }

    if (a->type == 0) {
        /* one trailing newline is the editor's, not the secret's */
        if (len > 0 && data[len - 1] == '\n') {
            len--;
        }

        if (mcpu_jwt_check_secret(who, a, data, len, err, err_size) != 0) {
            return -1;
        }

        return mcpu_jwt_add_key(ks, who, a->alg, kid, data, len, err,
                                err_size);
    }

    /* looked for before any parsing: an encrypted key would ask for a
     * passphrase */
    if (memmem(data, len, "PRIVATE KEY-----", 16) != NULL) {
        snprintf(err, err_size, "%s: a public key is expected; this is a "
                 "private key", who);
        return -1;
    }

    bio = BIO_new_mem_buf(data, (int) len);
    if (bio == NULL) {
        snprintf(err, err_size, "%s: out of memory", who);
        return -1;
    }

    pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    BIO_free(bio);

    if (pkey == NULL) {
        ERR_clear_error();
        snprintf(err, err_size, "%s: an %s key must be a PEM public key "
                 "(\"-----BEGIN PUBLIC KEY-----\"), none was found", who,
                 a->name);
        return -1;
    }

    rc = mcpu_jwt_add_pkey(ks, who, a, kid, pkey, err, err_size);
    EVP_PKEY_free(pkey);

    return rc;
}


/* who: "\"/etc/k\"" or "\"/etc/k.jwks\": keys[2]", to start a message */
static int
mcpu_jwt_check_secret(const char *who, const mcpu_jwt_alg_t *a,
    const unsigned char *s, size_t len, char *err, size_t err_size)
{
    /* the RSA-public-key-as-HMAC-secret attack starts with such a file */
    if (memmem(s, len, "-----BEGIN", 10) != NULL) {
        snprintf(err, err_size, "%s: an %s secret must not be a PEM block, "
                 "this is one", who, a->name);
        return -1;
    }

    if (len < a->hash_len) {
        snprintf(err, err_size, "%s: an %s secret must have at least %zu "
                 "bytes, this one has %zu", who, a->name, a->hash_len, len);
        return -1;
    }

    return 0;
}


/* the key must be what the alg verifies with: libjwt would only find out
 * per token */
static int
mcpu_jwt_check_pkey(const char *who, const mcpu_jwt_alg_t *a,
    EVP_PKEY *pkey, char *err, size_t err_size)
{
    int            ok;
    char           desc[80], group[64];
    EVP_PKEY_CTX  *ctx;

    if (EVP_PKEY_get_base_id(pkey) != a->type) {
        mcpu_jwt_describe(pkey, desc, sizeof(desc));
        snprintf(err, err_size, "%s: an %s key must be an %s public key, "
                 "this is %s", who, a->name,
                 a->type == EVP_PKEY_RSA ? "RSA" : "EC", desc);
        return -1;
    }

    if (a->type == EVP_PKEY_RSA
        && EVP_PKEY_get_bits(pkey) < MCPU_JWT_MIN_RSA_BITS)
    {
        snprintf(err, err_size, "%s: an %s key must have at least %d bits, "
                 "this one has %d", who, a->name, MCPU_JWT_MIN_RSA_BITS,
                 EVP_PKEY_get_bits(pkey));
        return -1;
    }

    if (a->type == EVP_PKEY_EC) {
        if (EVP_PKEY_get_group_name(pkey, group, sizeof(group), NULL) != 1) {
            snprintf(group, sizeof(group), "unnamed curve");
        }

        if (strcmp(group, a->group) != 0) {
            snprintf(err, err_size, "%s: an %s key must be on %s (%s), this "
                     "one is on %s (%s)", who, a->name, a->crv, a->group,
                     mcpu_jwt_nist_name(group), group);
            return -1;
        }
    }

    ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    ok = ctx != NULL && EVP_PKEY_public_check(ctx) == 1;
    EVP_PKEY_CTX_free(ctx);

    if (!ok) {
        ERR_clear_error();
        snprintf(err, err_size, "%s: the %s public key fails OpenSSL's "
                 "check", who, a->name);
        return -1;
    }

    return 0;
}


/* "RSA (2048 bits)", "EC (prime256v1)", "ED25519" */
static void
mcpu_jwt_describe(EVP_PKEY *pkey, char *buf, size_t size)
{
    char         group[64];
    const char  *name;

    switch (EVP_PKEY_get_base_id(pkey)) {

    case EVP_PKEY_RSA:
        snprintf(buf, size, "RSA (%d bits)", EVP_PKEY_get_bits(pkey));
        return;

    case EVP_PKEY_EC:
        if (EVP_PKEY_get_group_name(pkey, group, sizeof(group), NULL) != 1) {
            snprintf(group, sizeof(group), "unnamed curve");
        }

        snprintf(buf, size, "EC (%s)", group);
        return;

    default:
        name = EVP_PKEY_get0_type_name(pkey);
        snprintf(buf, size, "%s", name ? name : "a key of another type");
    }
}


static const char *
mcpu_jwt_nist_name(const char *group)
{
    const mcpu_jwt_alg_t  *a;

    for (a = mcpu_jwt_algs; a->name != NULL; a++) {
        if (a->group != NULL && strcmp(a->group, group) == 0) {
            return a->crv;
        }
    }

    return "a curve no ES* uses";
}


static int
mcpu_jwt_load_jwks(mcpu_jwt_keyset_t *ks, const char *path, json_t *root,
    const mcpu_jwt_alg_t *given, char *err, size_t err_size)
{
    size_t   i, start, skipped;
    json_t  *keys, *k;

    keys = json_object_get(root, "keys");

    if (!json_is_array(keys)) {
        snprintf(err, err_size, "\"%s\": \"keys\" is not an array", path);
        return -1;
    }

    start = ks->nkeys;
    skipped = 0;

    json_array_foreach(keys, i, k) {
        if (mcpu_jwt_load_jwk(ks, path, i, k, given, &skipped, err, err_size)
            != 0)
        {
            goto failed;
        }
    }

    if (ks->nkeys == start) {
        snprintf(err, err_size, "\"%s\": no usable key in the JWKS (%zu "
                 "key%s, %zu with a \"use\" other than \"sig\")", path,
                 json_array_size(keys), json_array_size(keys) == 1 ? "" : "s",
                 skipped);
        return -1;
    }

    return 0;

failed:

    /* a file is loaded whole or not at all */
    while (ks->nkeys > start) {
        mcpu_jwt_key_free(&ks->keys[--ks->nkeys]);
    }

    return -1;
}


static int
mcpu_jwt_load_jwk(mcpu_jwt_keyset_t *ks, const char *path, size_t i,
    json_t *k, const mcpu_jwt_alg_t *given, size_t *skipped, char *err,
    size_t err_size)
{
    int                    rc;
    size_t                 len;
    json_t                *kty, *use, *alg, *kid, *crv;
    EVP_PKEY              *pkey;
    const char            *kid_s;
    unsigned char         *secret;
    const mcpu_jwt_alg_t  *a, *curve;
    char                   show[MCPU_JWT_SHOW], who[1024];

    snprintf(who, sizeof(who), "\"%s\": keys[%zu]", path, i);

    if (!json_is_object(k)) {
        snprintf(err, err_size, "%s is not an object", who);
        return -1;
    }

    kid = json_object_get(k, "kid");

    if (kid != NULL) {
        if (!json_is_string(kid) || json_string_length(kid) == 0
            || strlen(json_string_value(kid)) != json_string_length(kid))
        {
            snprintf(err, err_size, "%s has a kid that is not a non-empty "
                     "string", who);
            return -1;
        }

        mcpu_jwt_show(show, sizeof(show), json_string_value(kid),
                      json_string_length(kid));
        snprintf(who, sizeof(who), "\"%s\": keys[%zu] (kid \"%s\")", path, i,
                 show);
    }

    kid_s = kid ? json_string_value(kid) : NULL;

    use = json_object_get(k, "use");

    if (use != NULL && !json_is_string(use)) {
        snprintf(err, err_size, "%s has a use that is not a string", who);
        return -1;
    }

    if (use != NULL && !mcpu_jwt_json_eq(use, "sig")) {
        (*skipped)++;
        return 0;
    }

    kty = json_object_get(k, "kty");

    if (!json_is_string(kty)) {
        snprintf(err, err_size, "%s has no kty", who);
        return -1;
    }

    if (json_object_get(k, "d") != NULL) {
        snprintf(err, err_size, "%s: a public key is expected; this is a "
                 "private key", who);
        return -1;
    }

    alg = json_object_get(k, "alg");
    a = given;

    if (alg != NULL) {
        a = json_is_string(alg) ? mcpu_jwt_alg_by_name(json_string_value(alg),
                                                       json_string_length(alg))
                                : NULL;
        if (a == NULL) {
            if (json_is_string(alg)) {
                mcpu_jwt_show(show, sizeof(show), json_string_value(alg),
                              json_string_length(alg));
            } else {
                snprintf(show, sizeof(show), "(not a string)");
            }

            snprintf(err, err_size, "%s has alg \"%s\", not one of HS256, "
                     "HS384, HS512, RS256, RS384, RS512, ES256, ES384, ES512 "
                     "(libjwt 1.10.2 has no PS*)", who, show);
            return -1;
        }

        if (given != NULL && given != a) {
            snprintf(err, err_size, "%s has alg %s, not the %s given", who,
                     a->name, given->name);
            return -1;
        }
    }

    if (mcpu_jwt_json_eq(kty, "EC")) {
        crv = json_object_get(k, "crv");

        for (curve = mcpu_jwt_algs; curve->name != NULL; curve++) {
            if (curve->crv != NULL && mcpu_jwt_json_eq(crv, curve->crv)) {
                break;
            }
        }

        if (curve->name == NULL) {
            snprintf(err, err_size, "%s has no crv P-256, P-384 or P-521",
                     who);
            return -1;
        }

        if (a == NULL) {
            a = curve;

        } else if (a->type != EVP_PKEY_EC) {
            snprintf(err, err_size, "%s is an EC key, which cannot verify %s",
                     who, a->name);
            return -1;

        } else if (a != curve) {
            snprintf(err, err_size, "%s is on %s; %s needs %s", who,
                     curve->crv, a->name, a->crv);
            return -1;
        }

        pkey = mcpu_jwt_jwk_ec(k, a, who, err, err_size);
        if (pkey == NULL) {
            return -1;
        }

        rc = mcpu_jwt_add_pkey(ks, who, a, kid_s, pkey, err, err_size);
        EVP_PKEY_free(pkey);

        return rc;
    }

    if (!mcpu_jwt_json_eq(kty, "RSA") && !mcpu_jwt_json_eq(kty, "oct")) {
        mcpu_jwt_show(show, sizeof(show), json_string_value(kty),
                      json_string_length(kty));
        snprintf(err, err_size, "%s has kty \"%s\"; only oct, RSA and EC "
                 "keys are supported", who, show);
        return -1;
    }

    if (a == NULL) {
        snprintf(err, err_size, "%s is an %s key without alg, and no alg was "
                 "given for the file", who, json_string_value(kty));
        return -1;
    }

    if (mcpu_jwt_json_eq(kty, "RSA")) {
        if (a->type != EVP_PKEY_RSA) {
            snprintf(err, err_size, "%s is an RSA key, which cannot verify "
                     "%s", who, a->name);
            return -1;
        }

        pkey = mcpu_jwt_jwk_rsa(k, who, err, err_size);
        if (pkey == NULL) {
            return -1;
        }

        rc = mcpu_jwt_add_pkey(ks, who, a, kid_s, pkey, err, err_size);
        EVP_PKEY_free(pkey);

        return rc;
    }

    /* oct */

    if (a->type != 0) {
        snprintf(err, err_size, "%s is an oct key, which cannot verify %s",
                 who, a->name);
        return -1;
    }

    secret = mcpu_jwt_jwk_bytes(k, "k", &len, who, err, err_size);
    if (secret == NULL) {
        return -1;
    }

    rc = mcpu_jwt_check_secret(who, a, secret, len, err, err_size);
    if (rc == 0) {
        rc = mcpu_jwt_add_key(ks, who, a->alg, kid_s, secret, len, err,
                              err_size);
    }

    OPENSSL_cleanse(secret, len);
    free(secret);

    return rc;
}


/* member name of k, base64url-decoded into malloc'd memory; NULL with err
 * set */
static unsigned char *
mcpu_jwt_jwk_bytes(json_t *k, const char *name, size_t *len, const char *who,
    char *err, size_t err_size)
{
    long            n;
    json_t         *v;
    unsigned char  *p;

    v = json_object_get(k, name);

    if (!json_is_string(v) || json_string_length(v) == 0) {
        snprintf(err, err_size, "%s has no \"%s\"", who, name);
        return NULL;
    }

    p = malloc(json_string_length(v) / 4 * 3 + 3);
    if (p == NULL) {
        snprintf(err, err_size, "%s: out of memory", who);
        return NULL;
    }

    n = mcpu_jwt_b64url_decode(json_string_value(v), json_string_length(v),
                               p);
    if (n <= 0) {
        free(p);
        snprintf(err, err_size, "%s: \"%s\" is not base64url without padding",
                 who, name);
        return NULL;
    }

    *len = (size_t) n;
    return p;
}


static EVP_PKEY *
mcpu_jwt_jwk_rsa(json_t *k, const char *who, char *err, size_t err_size)
{
    size_t           n_len, e_len;
    BIGNUM          *n, *e;
    EVP_PKEY        *pkey;
    OSSL_PARAM      *params;
    EVP_PKEY_CTX    *ctx;
    unsigned char   *n_bin, *e_bin;
    OSSL_PARAM_BLD  *bld;

    n = NULL;
    e = NULL;
    pkey = NULL;
    params = NULL;
    ctx = NULL;
    bld = NULL;

    n_bin = mcpu_jwt_jwk_bytes(k, "n", &n_len, who, err, err_size);
    if (n_bin == NULL) {
        return NULL;
    }

    e_bin = mcpu_jwt_jwk_bytes(k, "e", &e_len, who, err, err_size);
    if (e_bin == NULL) {
        free(n_bin);
        return NULL;
    }

    n = BN_bin2bn(n_bin, (int) n_len, NULL);
    e = BN_bin2bn(e_bin, (int) e_len, NULL);
    bld = OSSL_PARAM_BLD_new();

    if (n == NULL || e == NULL || bld == NULL
        || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n)
        || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e)
        || (params = OSSL_PARAM_BLD_to_param(bld)) == NULL
        || (ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) == NULL
        || EVP_PKEY_fromdata_init(ctx) != 1
        || EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
    {
        ERR_clear_error();
        EVP_PKEY_free(pkey);
        pkey = NULL;
        snprintf(err, err_size, "%s: \"n\" and \"e\" do not make an RSA "
                 "public key", who);
    }

    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);
    free(n_bin);
    free(e_bin);

    return pkey;
}


static EVP_PKEY *
mcpu_jwt_jwk_ec(json_t *k, const mcpu_jwt_alg_t *a, const char *who,
    char *err, size_t err_size)
{
    size_t           x_len, y_len;
    EVP_PKEY        *pkey;
    OSSL_PARAM      *params;
    EVP_PKEY_CTX    *ctx;
    unsigned char   *x, *y;
    OSSL_PARAM_BLD  *bld;
    unsigned char    point[1 + 2 * 66];

    pkey = NULL;
    params = NULL;
    ctx = NULL;
    bld = NULL;
    y = NULL;

    x = mcpu_jwt_jwk_bytes(k, "x", &x_len, who, err, err_size);
    if (x == NULL) {
        return NULL;
    }

    y = mcpu_jwt_jwk_bytes(k, "y", &y_len, who, err, err_size);
    if (y == NULL) {
        goto done;
    }

    /* RFC 7518 6.2.1.2: each coordinate is exactly the field's length */
    if (x_len != a->field_len || y_len != a->field_len) {
        snprintf(err, err_size, "%s: \"x\" and \"y\" must have %zu bytes "
                 "each on %s, they have %zu and %zu", who, a->field_len,
                 a->crv, x_len, y_len);
        goto done;
    }

    /* the uncompressed point: 04 || x || y */
    point[0] = 0x04;
    memcpy(point + 1, x, x_len);
    memcpy(point + 1 + x_len, y, y_len);

    bld = OSSL_PARAM_BLD_new();

    if (bld == NULL
        || !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
                                            a->group, 0)
        || !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
                                             point, 1 + x_len + y_len)
        || (params = OSSL_PARAM_BLD_to_param(bld)) == NULL
        || (ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL
        || EVP_PKEY_fromdata_init(ctx) != 1
        || EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
    {
        ERR_clear_error();
        EVP_PKEY_free(pkey);
        pkey = NULL;
        snprintf(err, err_size, "%s: \"x\" and \"y\" are not a point on %s",
                 who, a->crv);
    }

done:

    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    free(x);
    free(y);

    return pkey;
}


/* checks the key and stores it as the PEM text libjwt parses at each
 * verification: what was checked is what libjwt reads */
static int
mcpu_jwt_add_pkey(mcpu_jwt_keyset_t *ks, const char *who,
    const mcpu_jwt_alg_t *a, const char *kid, EVP_PKEY *pkey, char *err,
    size_t err_size)
{
    int    rc;
    BIO   *bio;
    long   len;
    char  *pem;

    if (mcpu_jwt_check_pkey(who, a, pkey, err, err_size) != 0) {
        return -1;
    }

    bio = BIO_new(BIO_s_mem());

    if (bio == NULL || PEM_write_bio_PUBKEY(bio, pkey) != 1
        || (len = BIO_get_mem_data(bio, &pem)) <= 0)
    {
        ERR_clear_error();
        BIO_free(bio);
        snprintf(err, err_size, "%s: the key cannot be written as PEM", who);
        return -1;
    }

    rc = mcpu_jwt_add_key(ks, who, a->alg, kid, (unsigned char *) pem,
                          (size_t) len, err, err_size);
    BIO_free(bio);

    return rc;
}


static int
mcpu_jwt_add_key(mcpu_jwt_keyset_t *ks, const char *who, jwt_alg_t alg,
    const char *kid, const unsigned char *key, size_t len, char *err,
    size_t err_size)
{
    size_t           i, n;
    mcpu_jwt_key_t  *k;

    /* two keys of one alg and kid: a token naming it would try both */
    for (i = 0; kid != NULL && i < ks->nkeys; i++) {
        if (ks->keys[i].alg == alg && ks->keys[i].kid != NULL
            && strcmp(ks->keys[i].kid, kid) == 0)
        {
            snprintf(err, err_size, "%s: a second %s key with kid \"%s\"",
                     who, mcpu_jwt_alg_by_id(alg)->name, kid);
            return -1;
        }
    }

    if (len > INT32_MAX) {
        snprintf(err, err_size, "%s: the key is too long", who);
        return -1;
    }

    if (ks->nkeys == ks->nalloc) {
        n = ks->nalloc ? ks->nalloc * 2 : 4;

        k = realloc(ks->keys, n * sizeof(mcpu_jwt_key_t));
        if (k == NULL) {
            goto nomem;
        }

        ks->keys = k;
        ks->nalloc = n;
    }

    k = &ks->keys[ks->nkeys];
    k->alg = alg;
    k->len = len;
    k->kid = NULL;

    k->key = malloc(len + 1);
    if (k->key == NULL) {
        goto nomem;
    }

    memcpy(k->key, key, len);
    k->key[len] = '\0';

    if (kid != NULL) {
        k->kid = strdup(kid);
        if (k->kid == NULL) {
            free(k->key);
            goto nomem;
        }
    }

    ks->nkeys++;
    return 0;

nomem:

    snprintf(err, err_size, "%s: out of memory", who);
    return -1;
}



/* ------------------------------------------------------------------------
 * the cache
 */

mcpu_jwt_cache_t *
mcpu_jwt_cache_new(size_t entries, size_t max_token)
{
    size_t             stride;
    mcpu_jwt_cache_t  *c;
    struct timespec    ts;

    if (entries == 0 || (entries & (entries - 1)) != 0
        || max_token > UINT32_MAX)
    {
        return NULL;
    }

    /* 64-byte aligned entries, so a lookup touches the fewest lines */
    stride = (sizeof(mcpu_jwt_entry_t) + max_token + 63) & ~(size_t) 63;

    if (entries > SIZE_MAX / stride) {
        return NULL;
    }

    c = calloc(1, sizeof(mcpu_jwt_cache_t));
    if (c == NULL) {
        return NULL;
    }

    c->table = aligned_alloc(64, entries * stride);
    if (c->table == NULL) {
        free(c);
        return NULL;
    }

    memset(c->table, 0, entries * stride);

    /* a seed the client cannot know, so it cannot aim tokens at another
     * client's entry; without getrandom() the clock and pid are better than
     * a constant */
    if (getrandom(c->seed, sizeof(c->seed), GRND_NONBLOCK)
        != (ssize_t) sizeof(c->seed))
    {
        clock_gettime(CLOCK_REALTIME, &ts);
        c->seed[0] = (uint64_t) ts.tv_nsec * 0x9e3779b97f4a7c15ULL
                     ^ (uint64_t) ts.tv_sec;
        c->seed[1] = (uint64_t) getpid() * 0xc2b2ae3d27d4eb4fULL
                     ^ (uint64_t) (uintptr_t) c;
    }

    c->mask = entries - 1;
    c->max_token = max_token;
    c->stride = stride;

    return c;
}


void
mcpu_jwt_cache_free(mcpu_jwt_cache_t *c)
{
    if (c == NULL) {
        return;
    }

    free(c->table);
    free(c);
}


void
mcpu_jwt_cache_stats(const mcpu_jwt_cache_t *c, uint64_t *hits,
    uint64_t *misses)
{
    *hits = c ? c->hits : 0;
    *misses = c ? c->misses : 0;
}


mcpu_jwt_rc_t
mcpu_jwt_verify_cached(mcpu_jwt_cache_t *c, uint64_t scope,
    const mcpu_jwt_keyset_t *ks, const mcpu_jwt_policy_t *policy,
    const char *token, size_t len, int64_t now, mcpu_jwt_result_t *res)
{
    uint64_t           hash;
    mcpu_jwt_rc_t      rc;
    unsigned char     *bytes;
    mcpu_jwt_entry_t  *e;

    if (c == NULL) {
        return mcpu_jwt_verify(ks, policy, token, len, now, res);
    }

    if (len == 0 || len > c->max_token) {
        c->misses++;
        return mcpu_jwt_verify(ks, policy, token, len, now, res);
    }

    hash = mcpu_siphash(c->seed, (const unsigned char *) token, len);
    e = (mcpu_jwt_entry_t *) (c->table + (hash & c->mask) * c->stride);
    bytes = (unsigned char *) (e + 1);

    if (e->hash == hash && e->scope == scope && e->token_len == len
        && now <= e->exp && memcmp(bytes, token, len) == 0)
    {
        c->hits++;

        memcpy(res->sub, e->sub, e->sub_len + 1);
        res->sub_len = e->sub_len;
        res->exp = e->exp;
        res->detail[0] = '\0';

        return MCPU_JWT_OK;
    }

    c->misses++;

    rc = mcpu_jwt_verify(ks, policy, token, len, now, res);

    /* failures are never kept, nor a success only the leeway allowed */
    if (rc != MCPU_JWT_OK || now > res->exp) {
        return rc;
    }

    e->hash = hash;
    e->scope = scope;
    e->exp = res->exp;
    e->token_len = (uint32_t) len;
    e->sub_len = (uint32_t) res->sub_len;
    memcpy(e->sub, res->sub, res->sub_len + 1);
    memcpy(bytes, token, len);

    return rc;
}
