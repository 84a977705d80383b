/*
 * test_jwt.c: key files, token verification and the verification cache.
 *
 * Keys are made at start with OpenSSL (RSA 2048, EC P-256/P-384/P-521) and
 * written per test, as PEM or inside a JWKS, to the test's scratch
 * directory; tokens are signed with libjwt.  Time is a parameter (NOW), so
 * nothing sleeps.
 *
 * Everything runs the way an nginx worker does: with mcpu_event_init()'s
 * arena as jansson's allocator (so libjwt's JSON comes from it too), reset
 * after each verification as the worker's event step resets it.  Only the
 * signing helper switches jansson back to malloc: libjwt 1.10.2's
 * jwt_encode_str() passes json_dumps() output to plain free(), which
 * crashes on an arena pointer.
 *
 * This file defines jwt_decode(), which the executable's references bind
 * to; it counts the calls and passes them to libjwt's.  "The signature was
 * never checked" is then a number, not a belief.
 */

#include <dlfcn.h>

#include <jansson.h>
#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "mcpu_test.h"
#include "mcpu_event.h"
#include "mcpu_jwt.h"


#define NOW        1795467600LL         /* 2026-11-23T21:00:00Z */
#define TOK_SIZE   12288
#define NALGS      9


typedef struct {
    const char  *alg;
    const char  *sign_key;       /* secret, or private key PEM */
    size_t       sign_len;
    const char  *pub;            /* the key file: secret, or public PEM */
    size_t       pub_len;
    EVP_PKEY    *pkey;           /* NULL for HS* */
} test_alg_t;


static unsigned            decode_calls;
static char                err[1024];
static mcpu_jwt_result_t   res;
static mcpu_jwt_policy_t   no_policy;

static EVP_PKEY           *rsa[2], *rsa_small, *ec[3];
static char               *rsa_pub[2], *rsa_priv[2], *ec_pub[3], *ec_priv[3];
static char               *rsa_small_pub;
static test_alg_t          algs[NALGS];

/* 64 bytes: HS256 uses 32 of them, HS384 48, HS512 all */
static const char  secret[] = "0123456789abcdef0123456789ABCDEF"
                              "fedcba9876543210FEDCBA9876543210";


/* ------------------------------------------------------------------------
 * the jwt_decode() counter
 */

int
jwt_decode(jwt_t **jwt, const char *token, const unsigned char *key,
    int key_len)
{
    static int  (*real)(jwt_t **, const char *, const unsigned char *, int);

    if (real == NULL) {
        *(void **) &real = dlsym(RTLD_NEXT, "jwt_decode");
        if (real == NULL) {
            printf("# libjwt's jwt_decode not found: %s\n", dlerror());
            exit(1);
        }
    }

    decode_calls++;
    return real(jwt, token, key, key_len);
}


/* ------------------------------------------------------------------------
 * helpers
 */

static void
b64url(char *out, const void *in, size_t len)
{
    size_t                i;
    unsigned              acc, bits;
    const unsigned char  *p = in;
    static const char     a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                "0123456789-_";

    acc = 0;
    bits = 0;

    for (i = 0; i < len; i++) {
        acc = (acc << 8) | p[i];
        bits += 8;

        while (bits >= 6) {
            bits -= 6;
            *out++ = a[(acc >> bits) & 63];
        }
    }

    if (bits > 0) {
        *out++ = a[(acc << (6 - bits)) & 63];
    }

    *out = '\0';
}


/* header.payload.sig from JSON texts, signature text as given */
static const char *
raw(char *out, const char *header, const char *payload, const char *sig)
{
    char  *p;

    b64url(out, header, strlen(header));
    p = out + strlen(out);
    *p++ = '.';
    b64url(p, payload, strlen(payload));
    p += strlen(p);
    *p++ = '.';
    strcpy(p, sig);

    return out;
}


static char *
pem_of(EVP_PKEY *pkey, int private)
{
    BIO   *bio;
    char  *p, *s;
    long   n;

    bio = BIO_new(BIO_s_mem());

    if (private) {
        PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL);
    } else {
        PEM_write_bio_PUBKEY(bio, pkey);
    }

    n = BIO_get_mem_data(bio, &p);
    s = strndup(p, (size_t) n);
    BIO_free(bio);

    return s;
}


static void
keys_free(void)
{
    int  i;

    for (i = 0; i < 2; i++) {
        EVP_PKEY_free(rsa[i]);
        free(rsa_pub[i]);
        free(rsa_priv[i]);
    }

    for (i = 0; i < 3; i++) {
        EVP_PKEY_free(ec[i]);
        free(ec_pub[i]);
        free(ec_priv[i]);
    }

    EVP_PKEY_free(rsa_small);
    free(rsa_small_pub);
}


/* once per process: keys, the algorithm table, and the worker's arena */
static void test_jwt_setup(void) __attribute__((constructor));

static void
test_jwt_setup(void)
{
    int                i;
    static const char *curves[3] = { "P-256", "P-384", "P-521" };

    if (mcpu_event_init(1024 * 1024) != 0) {
        printf("# cannot allocate the event arena\n");
        exit(1);
    }

    for (i = 0; i < 2; i++) {
        rsa[i] = EVP_RSA_gen(2048);
        if (rsa[i] == NULL) {
            printf("# RSA key generation failed\n");
            exit(1);
        }

        rsa_pub[i] = pem_of(rsa[i], 0);
        rsa_priv[i] = pem_of(rsa[i], 1);
    }

    for (i = 0; i < 3; i++) {
        ec[i] = EVP_EC_gen(curves[i]);
        if (ec[i] == NULL) {
            printf("# EC key generation failed\n");
            exit(1);
        }

        ec_pub[i] = pem_of(ec[i], 0);
        ec_priv[i] = pem_of(ec[i], 1);
    }

    rsa_small = EVP_RSA_gen(1024);
    if (rsa_small == NULL) {
        printf("# RSA key generation failed\n");
        exit(1);
    }

    rsa_small_pub = pem_of(rsa_small, 0);

    atexit(keys_free);

    for (i = 0; i < 3; i++) {
        algs[i] = (test_alg_t) { i == 0 ? "HS256" : i == 1 ? "HS384"
                                                           : "HS512",
                                 secret, (size_t) 32 + 16 * i,
                                 secret, (size_t) 32 + 16 * i, NULL };
        algs[3 + i] = (test_alg_t) { i == 0 ? "RS256" : i == 1 ? "RS384"
                                                               : "RS512",
                                     rsa_priv[0], strlen(rsa_priv[0]),
                                     rsa_pub[0], strlen(rsa_pub[0]), rsa[0] };
        algs[6 + i] = (test_alg_t) { i == 0 ? "ES256" : i == 1 ? "ES384"
                                                               : "ES512",
                                     ec_priv[i], strlen(ec_priv[i]),
                                     ec_pub[i], strlen(ec_pub[i]), ec[i] };
    }
}


static const test_alg_t *
alg_of(const char *name)
{
    int  i;

    for (i = 0; i < NALGS; i++) {
        if (strcmp(algs[i].alg, name) == 0) {
            return &algs[i];
        }
    }

    return NULL;
}


/* what the worker's event step does after each request */
static void
arena_reset(void)
{
    char                out[16];
    size_t              out_len;
    mcpu_ev_meta_t      m = { .client_id = { "t", 1 }, .node = { "n", 1 } };
    mcpu_ev_result_t    r;

    /* bad JSON: refused, and the arena is reset on the way out */
    CHECK_EQ_INT(mcpu_event_record("x", 1, &m, out, sizeof(out), &out_len,
                                   &r), MCPU_EV_BAD_JSON);
}


/*
 * Signs payload (a JSON object's text) with libjwt.  jansson is switched
 * to malloc for the call: jwt_encode_str() frees json_dumps() output with
 * free() (libjwt 1.10.2, jwt.c write_js()).
 */
static const char *
sign(char *out, const char *alg, const void *key, size_t key_len,
    const char *kid, const char *payload)
{
    jwt_t           *jwt;
    char            *s;
    json_free_t      f;
    json_malloc_t    m;

    json_get_alloc_funcs(&m, &f);
    json_set_alloc_funcs(malloc, free);

    s = NULL;
    out[0] = '\0';

    if (jwt_new(&jwt) == 0) {
        if (jwt_add_grants_json(jwt, payload) == 0
            && (kid == NULL || jwt_add_header(jwt, "kid", kid) == 0)
            && jwt_set_alg(jwt, jwt_str_alg(alg), key, (int) key_len) == 0)
        {
            s = jwt_encode_str(jwt);
        }

        jwt_free(jwt);
    }

    json_set_alloc_funcs(m, f);

    if (s == NULL || strlen(s) >= TOK_SIZE) {
        FAIL_MSG("signing %s with libjwt failed", alg);

    } else {
        strcpy(out, s);
    }

    free(s);
    return out;
}


/* a payload with sub and an exp an hour after NOW */
static const char *
std_payload(char *out, size_t size, const char *sub)
{
    snprintf(out, size, "{\"sub\":\"%s\",\"exp\":%lld}", sub, NOW + 3600);
    return out;
}


static const char *
sign_std(char *out, const test_alg_t *a, const char *kid)
{
    char  p[256];

    return sign(out, a->alg, a->sign_key, a->sign_len, kid,
                std_payload(p, sizeof(p), "client-7"));
}


static const char *
put(const char *dir, const char *name, const void *data, size_t len)
{
    FILE         *f;
    static int    n;
    static char   paths[8][4096];
    char         *path;

    path = paths[n++ % 8];
    snprintf(path, 4096, "%s/%s", dir, name);

    f = fopen(path, "w");
    if (f == NULL || fwrite(data, 1, len, f) != len) {
        FAIL_MSG("cannot write %s", path);
    }

    if (f != NULL) {
        fclose(f);
    }

    return path;
}


static const char *
put_str(const char *dir, const char *name, const char *text)
{
    return put(dir, name, text, strlen(text));
}


static int
load(mcpu_jwt_keyset_t *ks, const char *path, const char *alg,
    const char *kid)
{
    err[0] = '\0';
    return mcpu_jwt_keyset_load(ks, path, alg, kid, err, sizeof(err));
}


/* a key set of one file; NULL (and a failure) if it does not load */
static mcpu_jwt_keyset_t *
keyset_of(const char *path, const char *alg, const char *kid)
{
    mcpu_jwt_keyset_t  *ks;

    ks = mcpu_jwt_keyset_new();

    if (!CHECK(ks != NULL)) {
        return NULL;
    }

    if (load(ks, path, alg, kid) != 0) {
        FAIL_MSG("loading %s failed: %s", path, err);
        mcpu_jwt_keyset_free(ks);
        return NULL;
    }

    return ks;
}


/* a refusal says why, and never with the token's payload or signature */
static void
check_detail(const char *tok, mcpu_jwt_rc_t rc)
{
    const char  *sig, *payload;
    char         part[TOK_SIZE];

    if (rc == MCPU_JWT_OK) {
        CHECK_STR_EQ(res.detail, "");
        return;
    }

    CHECK(res.detail[0] != '\0');

    sig = strrchr(tok, '.');
    payload = strchr(tok, '.');

    if (sig != NULL && strlen(sig + 1) >= 8) {
        CHECK(strstr(res.detail, sig + 1) == NULL);
    }

    if (payload != NULL && payload != sig && sig - payload > 8) {
        snprintf(part, sizeof(part), "%.*s", (int) (sig - payload - 1),
                 payload + 1);
        CHECK(strstr(res.detail, part) == NULL);
    }
}


static mcpu_jwt_rc_t
verify_with(const mcpu_jwt_keyset_t *ks, const mcpu_jwt_policy_t *pol,
    const char *tok, int64_t now)
{
    mcpu_jwt_rc_t  rc;

    memset(&res, 0x5a, sizeof(res));

    rc = mcpu_jwt_verify(ks, pol, tok, strlen(tok), now, &res);
    check_detail(tok, rc);
    arena_reset();

    return rc;
}


static mcpu_jwt_rc_t
verify(const mcpu_jwt_keyset_t *ks, const char *tok)
{
    return verify_with(ks, &no_policy, tok, NOW);
}


static mcpu_jwt_rc_t
cached(mcpu_jwt_cache_t *c, uint64_t scope, const mcpu_jwt_keyset_t *ks,
    const mcpu_jwt_policy_t *pol, const char *tok, int64_t now)
{
    mcpu_jwt_rc_t  rc;

    memset(&res, 0x5a, sizeof(res));

    rc = mcpu_jwt_verify_cached(c, scope, ks, pol, tok, strlen(tok), now,
                                &res);
    check_detail(tok, rc);
    arena_reset();

    return rc;
}


static void
check_stats(mcpu_jwt_cache_t *c, uint64_t hits, uint64_t misses)
{
    uint64_t  h, m;

    mcpu_jwt_cache_stats(c, &h, &m);
    CHECK_EQ_U64(h, hits);
    CHECK_EQ_U64(m, misses);
}


/* "kty":...,"n":...,"e":... or "kty":"EC","crv":...,"x":...,"y":... */
static const char *
jwk_members(char *out, EVP_PKEY *pkey)
{
    int             flen;
    BIGNUM         *a, *b;
    char            ea[1024], eb[1024], group[64];
    unsigned char   bin[1024];

    a = NULL;
    b = NULL;

    if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA) {
        EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &a);
        EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &b);
        b64url(ea, bin, (size_t) BN_bn2bin(a, bin));
        b64url(eb, bin, (size_t) BN_bn2bin(b, bin));
        sprintf(out, "\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"%s\"", ea, eb);

    } else {
        EVP_PKEY_get_group_name(pkey, group, sizeof(group), NULL);
        flen = (EVP_PKEY_get_bits(pkey) + 7) / 8;
        EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, &a);
        EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &b);
        BN_bn2binpad(a, bin, flen);
        b64url(ea, bin, (size_t) flen);
        BN_bn2binpad(b, bin, flen);
        b64url(eb, bin, (size_t) flen);
        sprintf(out, "\"kty\":\"EC\",\"crv\":\"%s\",\"x\":\"%s\",\"y\":\"%s\"",
                strcmp(group, "prime256v1") == 0 ? "P-256"
                : strcmp(group, "secp384r1") == 0 ? "P-384" : "P-521",
                ea, eb);
    }

    BN_free(a);
    BN_free(b);

    return out;
}


static const char *
oct_members(char *out, const char *s, size_t len)
{
    char  e[256];

    b64url(e, s, len);
    sprintf(out, "\"kty\":\"oct\",\"k\":\"%s\"", e);

    return out;
}


/* flips the character at i to another base64url character */
static void
flip(char *tok, size_t i)
{
    tok[i] = tok[i] == 'A' ? 'B' : 'A';
}


/* ------------------------------------------------------------------------
 * accepted tokens
 */

static void
test_jwt_every_alg_from_a_key_file_is_accepted(const char *dir)
{
    int                 i;
    const char         *path;
    char                tok[TOK_SIZE];
    mcpu_jwt_keyset_t  *ks;

    for (i = 0; i < NALGS; i++) {
        path = put(dir, algs[i].alg, algs[i].pub, algs[i].pub_len);

        ks = keyset_of(path, algs[i].alg, NULL);
        if (ks == NULL) {
            continue;
        }

        sign_std(tok, &algs[i], NULL);
        decode_calls = 0;

        if (!CHECK_EQ_INT(verify(ks, tok), MCPU_JWT_OK)) {
            printf("#     %s: %s\n", algs[i].alg, res.detail);
        }

        CHECK_STR_EQ(res.sub, "client-7");
        CHECK_EQ_U64(res.sub_len, 8);
        CHECK_EQ_INT(res.exp, NOW + 3600);
        CHECK_EQ_INT(decode_calls, 1);

        mcpu_jwt_keyset_free(ks);
    }
}


static void
test_jwt_every_alg_from_a_jwks_is_accepted(const char *dir)
{
    int                 i;
    char                jwks[65536], m[2048], kid[16], tok[TOK_SIZE];
    size_t              n;
    mcpu_jwt_keyset_t  *ks;

    n = (size_t) sprintf(jwks, "{\"keys\":[");

    for (i = 0; i < NALGS; i++) {
        if (algs[i].pkey == NULL) {
            oct_members(m, algs[i].pub, algs[i].pub_len);
        } else {
            jwk_members(m, algs[i].pkey);
        }

        n += (size_t) sprintf(jwks + n, "%s{%s,\"alg\":\"%s\",\"kid\":\"k%d\","
                              "\"use\":\"sig\"}", i ? "," : "", m,
                              algs[i].alg, i);
    }

    strcpy(jwks + n, "]}");

    ks = keyset_of(put_str(dir, "keys.jwks", jwks), NULL, NULL);
    if (ks == NULL) {
        return;
    }

    CHECK_EQ_U64(mcpu_jwt_keyset_count(ks), NALGS);

    for (i = 0; i < NALGS; i++) {
        snprintf(kid, sizeof(kid), "k%d", i);
        sign_std(tok, &algs[i], kid);
        decode_calls = 0;

        if (!CHECK_EQ_INT(verify(ks, tok), MCPU_JWT_OK)) {
            printf("#     %s: %s\n", algs[i].alg, res.detail);
        }

        CHECK_STR_EQ(res.sub, "client-7");
        CHECK_EQ_INT(decode_calls, 1);
    }

    mcpu_jwt_keyset_free(ks);
}


static void
test_jwt_jwks_key_without_alg_takes_the_given_alg_or_its_curve(
    const char *dir)
{
    char                jwks[8192], m[2048], tok[TOK_SIZE];
    mcpu_jwt_keyset_t  *ks;

    /* an RSA key without alg, alg=RS384 given */
    snprintf(jwks, sizeof(jwks), "{\"keys\":[{%s,\"kid\":\"r\"}]}",
             jwk_members(m, rsa[0]));

    ks = keyset_of(put_str(dir, "rsa.jwks", jwks), "RS384", NULL);
    if (ks != NULL) {
        CHECK_EQ_INT(verify(ks, sign_std(tok, alg_of("RS384"), "r")),
                     MCPU_JWT_OK);
        CHECK_EQ_INT(verify(ks, sign_std(tok, alg_of("RS256"), "r")),
                     MCPU_JWT_ALG_MISMATCH);
        mcpu_jwt_keyset_free(ks);
    }

    /* a P-384 key without alg and none given: ES384 */
    snprintf(jwks, sizeof(jwks), "{\"keys\":[{%s}]}", jwk_members(m, ec[1]));

    ks = keyset_of(put_str(dir, "ec.jwks", jwks), NULL, NULL);
    if (ks != NULL) {
        CHECK_EQ_INT(verify(ks, sign_std(tok, alg_of("ES384"), NULL)),
                     MCPU_JWT_OK);
        mcpu_jwt_keyset_free(ks);
    }
}


static void
test_jwt_secret_file_loses_one_trailing_newline(const char *dir)
{
    char                file[64], tok[TOK_SIZE];
    mcpu_jwt_keyset_t  *ks;

    /* the 32 bytes and "\n": the key is the 32 bytes */
    memcpy(file, secret, 32);
    file[32] = '\n';

    ks = keyset_of(put(dir, "hs.secret", file, 33), "HS256", NULL);
    if (ks == NULL) {
        return;
    }

    CHECK_EQ_INT(verify(ks, sign_std(tok, alg_of("HS256"), NULL)),
                 MCPU_JWT_OK);
    mcpu_jwt_keyset_free(ks);
}


/* ------------------------------------------------------------------------
 * the header
 */

static void
test_jwt_alg_none_is_refused(const char *dir)
{
    char                tok[TOK_SIZE], p[256];
    mcpu_jwt_keyset_t  *ks;

    ks = keyset_of(put(dir, "hs", secret, 32), "HS256", NULL);
    if (ks == NULL) {
        return;
    }

    std_payload(p, sizeof(p), "client-7");
    decode_calls = 0;

    /* as libjwt writes it: "h.p." */
    CHECK_EQ_INT(verify(ks, sign(tok, "none", NULL, 0, NULL, p)),
                 MCPU_JWT_ALG_NONE);
    CHECK_STR_CONTAINS(res.detail, "alg none");

    CHECK_EQ_INT(verify(ks, raw(tok, "{\"alg\":\"NONE\"}", p, "c2ln")),
                 MCPU_JWT_ALG_NONE);
    CHECK_EQ_INT(verify(ks, raw(tok, "{\"typ\":\"JWT\"}", p, "c2ln")),
                 MCPU_JWT_ALG_NONE);
    CHECK_EQ_INT(decode_calls, 0);

    mcpu_jwt_keyset_free(ks);
}


static void
test_jwt_alg_no_key_is_bound_to_is_refused(const char *dir)
{
    char                tok[TOK_SIZE], p[256];
    mcpu_jwt_keyset_t  *ks;

    ks = keyset_of(put(dir, "hs", secret, 32), "HS256", NULL);
    if (ks == NULL) {
        return;
    }

    if (!CHECK_EQ_INT(load(ks, put_str(dir, "rsa.pub", rsa_pub[0]), "RS256",
                           NULL), 0))
    {
        printf("#     %s\n", err);
    }

    std_payload(p, sizeof(p), "client-7");
    decode_calls = 0;

    /* a real key, but for an alg no key of the set is bound to */
    CHECK_EQ_INT(verify(ks, sign_std(tok, alg_of("RS384"), NULL)),
                 MCPU_JWT_ALG_MISMATCH);
    CHECK_STR_EQ(res.detail, "no key is bound to RS384");
    CHECK_EQ_INT(verify(ks, sign_std(tok, alg_of("ES256"), NULL)),
                 MCPU_JWT_ALG_MISMATCH);
    CHECK_EQ_INT(verify(ks, sign_std(tok, alg_of("HS384"), NULL)),
                 MCPU_JWT_ALG_MISMATCH);

    /* algorithms nobody supports, and the names in another case */
    CHECK_EQ_INT(verify(ks, raw(tok, "{\"alg\":\"PS256\"}", p, "c2ln")),
                 MCPU_JWT_ALG_MISMATCH);
    CHECK_EQ_INT(verify(ks, raw(tok, "{\"alg\":\"hs256\"}", p, "c2ln")),
                 MCPU_JWT_ALG_MISMATCH);

    /* jansson refuses "\u0000" (no JSON_ALLOW_NUL): no name can hide one */
    CHECK_EQ_INT(verify(ks, raw(tok, "{\"alg\":\"HS256\\u0000\"}", p,
                                "c2ln")),
                 MCPU_JWT_MALFORMED);
    CHECK_EQ_INT(decode_calls, 0);

    mcpu_jwt_keyset_free(ks);
}


static void
test_jwt_hs256_signed_with_the_rsa_public_key_text_is_refused_unchecked(
    const char *dir)
{
    jwt_t              *jwt;
    const char         *path;
    char                tok[TOK_SIZE], p[256];
    mcpu_jwt_keyset_t  *ks;

    path = put_str(dir, "rsa.pub", rsa_pub[0]);

    ks = keyset_of(path, "RS256", NULL);
    if (ks == NULL) {
        return;
    }

    sign(tok, "HS256", rsa_pub[0], strlen(rsa_pub[0]), NULL,
         std_payload(p, sizeof(p), "attacker"));

    /* the token is the real attack: libjwt given the PEM text accepts it */
    jwt = NULL;
    CHECK_EQ_INT(jwt_decode(&jwt, tok, (const unsigned char *) rsa_pub[0],
                            (int) strlen(rsa_pub[0])), 0);
    jwt_free(jwt);
    arena_reset();

    decode_calls = 0;
    CHECK_EQ_INT(verify(ks, tok), MCPU_JWT_ALG_MISMATCH);
    CHECK_STR_EQ(res.detail, "no key is bound to HS256");
    CHECK_EQ_INT(decode_calls, 0);

    /* and no HS256 key can be that text */
    CHECK_EQ_INT(load(ks, path, "HS256", NULL), -1);
    CHECK_STR_CONTAINS(err, "must not be a PEM block");
    CHECK_EQ_U64(mcpu_jwt_keyset_count(ks), 1);

    mcpu_jwt_keyset_free(ks);
}


static void
test_jwt_unknown_kid_is_refused(const char *dir)
{
    char                tok[TOK_SIZE];
    mcpu_jwt_keyset_t  *ks;

    ks = keyset_of(put_str(dir, "rsa.pub", rsa_pub[0]), "RS256", "k1");
    if (ks == NULL) {
        return;
    }

    decode_calls = 0;
    CHECK_EQ_INT(verify(ks, sign_std(tok, alg_of("RS256"), "k9")),
                 MCPU_JWT_UNKNOWN_KID);
    CHECK_STR_EQ(res.detail, "no RS256 key has kid \"k9\"");
    CHECK_EQ_INT(decode_calls, 0);

    CHECK_EQ_INT(verify(ks, sign_std(tok, alg_of("RS256"), "k1")),
                 MCPU_JWT_OK);

    mcpu_jwt_keyset_free(ks);
}


static void
test_jwt_kid_selects_that_key_only(const char *dir)
{
    char                tok[TOK_SIZE], p[256];
    mcpu_jwt_keyset_t  *ks;

    ks = keyset_of(put_str(dir, "a.pub", rsa_pub[0]), "RS256", "k1");
    if (ks == NULL) {
        return;
    }

    if (!CHECK_EQ_INT(load(ks, put_str(dir, "b.pub", rsa_pub[1]), "RS256",
                           "k2"), 0))
    {
        printf("#     %s\n", err);
    }

    std_payload(p, sizeof(p), "client-7");

    /* signed by the second key, naming the first: one check, refused */
    sign(tok, "RS256", rsa_priv[1], strlen(rsa_priv[1]), "k1", p);
    decode_calls = 0;
    CHECK_EQ_INT(verify(ks, tok), MCPU_JWT_BAD_SIGNATURE);
    CHECK_STR_EQ(res.detail,
                 "the signature does not verify with RS256 key \"k1\"");
    CHECK_EQ_INT(decode_calls, 1);

    sign(tok, "RS256", rsa_priv[1], strlen(rsa_priv[1]), "k2", p);
    decode_calls = 0;
    CHECK_EQ_INT(verify(ks, tok), MCPU_JWT_OK);
    CHECK_EQ_INT(decode_calls, 1);

    mcpu_jwt_keyset_free(ks);
}


static void
test_jwt_without_kid_is_tried_with_every_key_of_its_alg(const char *dir)
{
    char                tok[TOK_SIZE], p[256];
    mcpu_jwt_keyset_t  *ks;

    ks = keyset_of(put_str(dir, "a.pub", rsa_pub[0]), "RS256", "k1");
    if (ks == NULL) {
        return;
    }

    CHECK_EQ_INT(load(ks, put(dir, "hs", secret, 32), "HS256", NULL), 0);
    CHECK_EQ_INT(load(ks, put_str(dir, "b.pub", rsa_pub[1]), "RS256", NULL),
                 0);

    std_payload(p, sizeof(p), "client-7");

    /* the second RS256 key: the first is tried, then it; never the HMAC */
    sign(tok, "RS256", rsa_priv[1], strlen(rsa_priv[1]), NULL, p);
    decode_calls = 0;
    CHECK_EQ_INT(verify(ks, tok), MCPU_JWT_OK);
    CHECK_EQ_INT(decode_calls, 2);

    /* a key with a kid verifies a token without one */
    sign(tok, "RS256", rsa_priv[0], strlen(rsa_priv[0]), NULL, p);
    decode_calls = 0;
    CHECK_EQ_INT(verify(ks, tok), MCPU_JWT_OK);
    CHECK_EQ_INT(decode_calls, 1);

    /* a key of neither */
    raw(tok, "{\"alg\":\"RS256\",\"typ\":\"JWT\"}", p, "c2lnbmF0dXJl");
    decode_calls = 0;
    CHECK_EQ_INT(verify(ks, tok), MCPU_JWT_BAD_SIGNATURE);
    CHECK_STR_EQ(res.detail,
                 "the signature does not verify with any of 2 RS256 keys");
    CHECK_EQ_INT(decode_calls, 2);

    mcpu_jwt_keyset_free(ks);
}


static void
test_jwt_flipped_signature_byte_is_refused(const char *dir)
{
    int                 i;
    size_t              len;
    char                tok[TOK_SIZE], other[TOK_SIZE], p[256];
    const char         *sig;
    const test_alg_t   *a;
    mcpu_jwt_keyset_t  *ks;
    static const char  *names[] = { "HS256", "RS256", "ES256", "ES512" };

    for (i = 0; i < 4; i++) {
        a = alg_of(names[i]);

        ks = keyset_of(put(dir, a->alg, a->pub, a->pub_len), a->alg, NULL);
        if (ks == NULL) {
            continue;
        }

        sign_std(tok, a, NULL);
        len = strlen(tok);
        sig = strrchr(tok, '.') + 1;

        /* a byte in the middle of the signature */
        flip(tok, (size_t) (sig - tok) + (len - (size_t) (sig - tok)) / 2);
        if (!CHECK_EQ_INT(verify(ks, tok), MCPU_JWT_BAD_SIGNATURE)) {
            printf("#     %s: %s\n", a->alg, res.detail);
        }

        /* and OpenSSL's error queue is left empty for nginx's SSL code */
        CHECK_EQ_U64(ERR_peek_error(), 0);

        /* the signature of another payload */
        sign_std(tok, a, NULL);
        sign(other, a->alg, a->sign_key, a->sign_len, NULL,
             std_payload(p, sizeof(p), "client-8"));
        strcpy(strrchr(other, '.'), strrchr(tok, '.'));
        if (!CHECK_EQ_INT(verify(ks, other), MCPU_JWT_BAD_SIGNATURE)) {
            printf("#     %s: %s\n", a->alg, res.detail);
        }

        mcpu_jwt_keyset_free(ks);
    }
}


/* libjwt's decoder ignores the spare bits of the last character; ours
 * does not, so no token has a second spelling */
static void
test_jwt_non_canonical_base64_is_refused(const char *dir)
{
    jwt_t              *jwt;
    size_t              len, v;
    char                tok[TOK_SIZE];
    mcpu_jwt_keyset_t  *ks;
    static const char   a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                              "0123456789-_";

    ks = keyset_of(put_str(dir, "rsa.pub", rsa_pub[0]), "RS256", NULL);
    if (ks == NULL) {
        return;
    }

    sign_std(tok, alg_of("RS256"), NULL);
    len = strlen(tok);

    /* 256 bytes are 342 characters: the last carries 2 bits and 4 spare */
    CHECK_EQ_INT((len - (size_t) (strrchr(tok, '.') + 1 - tok)) % 4, 2);
    v = (size_t) (strchr(a, tok[len - 1]) - a);
    tok[len - 1] = a[v ^ 1];

    /* libjwt alone accepts the second spelling */
    jwt = NULL;
    CHECK_EQ_INT(jwt_decode(&jwt, tok, (const unsigned char *) rsa_pub[0],
                            (int) strlen(rsa_pub[0])), 0);
    jwt_free(jwt);
    arena_reset();

    decode_calls = 0;
    CHECK_EQ_INT(verify(ks, tok), MCPU_JWT_MALFORMED);
    CHECK_EQ_INT(decode_calls, 0);

    mcpu_jwt_keyset_free(ks);
}


static void
test_jwt_malformed_tokens_are_refused(const char *dir)
{
    size_t              i;
    char                tok[TOK_SIZE], good[TOK_SIZE], p[256], *big;
    mcpu_jwt_keyset_t  *ks;
    static const char  *bad[] = {
        "",
        "abc",
        "eyJhbGciOiJIUzI1NiJ9.e30",
        "eyJhbGciOiJIUzI1NiJ9.e30.c2ln.c2ln",
        "eyJhbGciOiJIUzI1NiJ9..c2ln",
        ".e30.c2ln",
        "eyJhbGciOiJIUzI1NiJ9.e30.",
        "eyJhbGciOiJIUzI1NiJ9.e30.c2ln!",
        "eyJhbGc!OiJIUzI1NiJ9.e30.c2ln",
        "eyJhbGciOiJIUzI1NiJ9=.e30.c2ln",
        "eyJhbGciOiJIUzI1NiJ9.e30=.c2ln",
        "e.e30.c2ln",
        "bm90IGpzb24.e30.c2ln",                /* "not json" */
        "WyJIUzI1NiJd.e30.c2ln",               /* ["HS256"] */
        "eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24.c2ln",
        "eyJhbGciOiJIUzI1NiJ9.WzFd.c2ln",      /* [1] */
        "eyJhbGciOiJIUzI1NiJ9 .e30.c2ln",
        "eyJhbGciOiJIUzI1NiJ9.e30.c2ln\n",
    };

    ks = keyset_of(put(dir, "hs", secret, 32), "HS256", NULL);
    if (ks == NULL) {
        return;
    }

    std_payload(p, sizeof(p), "client-7");
    sign_std(good, alg_of("HS256"), NULL);
    decode_calls = 0;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (!CHECK_EQ_INT(verify(ks, bad[i]), MCPU_JWT_MALFORMED)) {
            printf("#     \"%s\": %s\n", bad[i], res.detail);
        }
    }

    /* a good token with a NUL or a dot added */
    strcpy(tok, good);
    tok[10] = '\0';
    CHECK_EQ_INT(mcpu_jwt_verify(ks, &no_policy, tok, strlen(good), NOW,
                                 &res), MCPU_JWT_MALFORMED);
    strcpy(tok, good);
    strcat(tok, ".");
    CHECK_EQ_INT(verify(ks, tok), MCPU_JWT_MALFORMED);

    /* headers libjwt would refuse, or that we do not understand */
    CHECK_EQ_INT(verify(ks, raw(tok, "{\"alg\":\"HS256\",\"typ\":\"at+jwt\"}",
                                p, "c2ln")), MCPU_JWT_MALFORMED);
    CHECK_EQ_INT(verify(ks, raw(tok, "{\"alg\":\"HS256\",\"crit\":[\"b64\"],"
                                "\"b64\":false}", p, "c2ln")),
                 MCPU_JWT_MALFORMED);
    CHECK_EQ_INT(verify(ks, raw(tok, "{\"alg\":\"HS256\",\"alg\":\"none\"}", p,
                                "c2ln")), MCPU_JWT_MALFORMED);
    CHECK_EQ_INT(verify(ks, raw(tok, "{\"alg\":256}", p, "c2ln")),
                 MCPU_JWT_MALFORMED);
    CHECK_EQ_INT(verify(ks, raw(tok, "{\"alg\":\"HS256\",\"kid\":7}", p,
                                "c2ln")), MCPU_JWT_MALFORMED);

    /* longer than 8 KiB, even if it were signed */
    big = malloc(9000);
    if (CHECK(big != NULL)) {
        memset(big, 'A', 8999);
        big[8999] = '\0';
        memcpy(big, good, strlen(good));
        big[strlen(good)] = 'A';
        CHECK_EQ_INT(verify(ks, big), MCPU_JWT_MALFORMED);
        CHECK_STR_CONTAINS(res.detail, "8999 bytes");
        free(big);
    }

    CHECK_EQ_INT(decode_calls, 0);
    CHECK_EQ_INT(verify(ks, good), MCPU_JWT_OK);

    mcpu_jwt_keyset_free(ks);
}


/* ------------------------------------------------------------------------
 * claims
 */

static mcpu_jwt_keyset_t *
hs_keyset(const char *dir)
{
    return keyset_of(put(dir, "hs", secret, 32), "HS256", NULL);
}


static const char *
hs(char *tok, const char *payload)
{
    return sign(tok, "HS256", secret, 32, NULL, payload);
}


static void
test_jwt_expired_one_second_ago_is_rejected(const char *dir)
{
    char                tok[TOK_SIZE], p[256];
    mcpu_jwt_policy_t   pol = { NULL, NULL, 0 };
    mcpu_jwt_keyset_t  *ks;

    ks = hs_keyset(dir);
    if (ks == NULL) {
        return;
    }

    snprintf(p, sizeof(p), "{\"sub\":\"c\",\"exp\":%lld}", NOW - 1);
    hs(tok, p);

    CHECK_EQ_INT(verify_with(ks, &pol, tok, NOW), MCPU_JWT_EXPIRED);
    CHECK_STR_EQ(res.detail, "token expired 1 s ago");

    CHECK_EQ_INT(verify_with(ks, &pol, tok, NOW - 1), MCPU_JWT_OK);

    pol.leeway = 5;
    CHECK_EQ_INT(verify_with(ks, &pol, tok, NOW), MCPU_JWT_OK);
    CHECK_EQ_INT(verify_with(ks, &pol, tok, NOW + 4), MCPU_JWT_OK);
    CHECK_EQ_INT(verify_with(ks, &pol, tok, NOW + 5), MCPU_JWT_EXPIRED);
    CHECK_STR_EQ(res.detail, "token expired 6 s ago");

    /* no overflow at the ends of the range */
    snprintf(p, sizeof(p), "{\"sub\":\"c\",\"exp\":%lld}",
             (long long) INT64_MIN);
    CHECK_EQ_INT(verify_with(ks, &pol, hs(tok, p), NOW), MCPU_JWT_EXPIRED);
    snprintf(p, sizeof(p), "{\"sub\":\"c\",\"exp\":%lld}",
             (long long) INT64_MAX);
    pol.leeway = INT64_MAX;
    CHECK_EQ_INT(verify_with(ks, &pol, hs(tok, p), NOW), MCPU_JWT_OK);

    mcpu_jwt_keyset_free(ks);
}


static void
test_jwt_nbf_in_the_future_is_refused_within_leeway_accepted(
    const char *dir)
{
    char                tok[TOK_SIZE], p[256];
    mcpu_jwt_policy_t   pol = { NULL, NULL, 0 };
    mcpu_jwt_keyset_t  *ks;

    ks = hs_keyset(dir);
    if (ks == NULL) {
        return;
    }

    snprintf(p, sizeof(p), "{\"sub\":\"c\",\"exp\":%lld,\"nbf\":%lld}",
             NOW + 3600, NOW + 10);
    hs(tok, p);

    CHECK_EQ_INT(verify_with(ks, &pol, tok, NOW), MCPU_JWT_NOT_YET_VALID);
    CHECK_STR_EQ(res.detail, "token not valid for another 10 s");
    CHECK_EQ_INT(verify_with(ks, &pol, tok, NOW + 10), MCPU_JWT_OK);

    pol.leeway = 9;
    CHECK_EQ_INT(verify_with(ks, &pol, tok, NOW), MCPU_JWT_NOT_YET_VALID);
    pol.leeway = 10;
    CHECK_EQ_INT(verify_with(ks, &pol, tok, NOW), MCPU_JWT_OK);

    snprintf(p, sizeof(p), "{\"sub\":\"c\",\"exp\":%lld,\"nbf\":\"%lld\"}",
             NOW + 3600, NOW);
    CHECK_EQ_INT(verify_with(ks, &pol, hs(tok, p), NOW), MCPU_JWT_MALFORMED);

    mcpu_jwt_keyset_free(ks);
}


static void
test_jwt_without_exp_is_refused(const char *dir)
{
    char                tok[TOK_SIZE];
    mcpu_jwt_keyset_t  *ks;

    ks = hs_keyset(dir);
    if (ks == NULL) {
        return;
    }

    CHECK_EQ_INT(verify(ks, hs(tok, "{\"sub\":\"c\"}")), MCPU_JWT_NO_EXP);
    CHECK_STR_EQ(res.detail, "the token has no exp");

    mcpu_jwt_keyset_free(ks);
}


static void
test_jwt_exp_not_an_integer_is_refused(const char *dir)
{
    size_t              i;
    char                tok[TOK_SIZE];
    mcpu_jwt_keyset_t  *ks;
    static const char  *p[] = {
        "{\"sub\":\"c\",\"exp\":\"9999999999\"}",
        "{\"sub\":\"c\",\"exp\":9999999999.5}",
        "{\"sub\":\"c\",\"exp\":1e10}",
        "{\"sub\":\"c\",\"exp\":null}",
        "{\"sub\":\"c\",\"exp\":true}",
        "{\"sub\":\"c\",\"exp\":[9999999999]}",
    };

    ks = hs_keyset(dir);
    if (ks == NULL) {
        return;
    }

    for (i = 0; i < sizeof(p) / sizeof(p[0]); i++) {
        if (!CHECK_EQ_INT(verify(ks, hs(tok, p[i])), MCPU_JWT_NO_EXP)) {
            printf("#     %s: %s\n", p[i], res.detail);
        }
    }

    CHECK_EQ_INT(verify(ks, hs(tok, "{\"sub\":\"c\",\"exp\":9999999999}")),
                 MCPU_JWT_OK);

    mcpu_jwt_keyset_free(ks);
}


static void
test_jwt_wrong_issuer_is_refused(const char *dir)
{
    char                tok[TOK_SIZE], p[256];
    mcpu_jwt_policy_t   pol = { "https://id.example", NULL, 0 };
    mcpu_jwt_keyset_t  *ks;

    ks = hs_keyset(dir);
    if (ks == NULL) {
        return;
    }

    snprintf(p, sizeof(p), "{\"sub\":\"c\",\"exp\":%lld,"
             "\"iss\":\"https://id.example\"}", NOW + 60);
    CHECK_EQ_INT(verify_with(ks, &pol, hs(tok, p), NOW), MCPU_JWT_OK);

    snprintf(p, sizeof(p), "{\"sub\":\"c\",\"exp\":%lld,"
             "\"iss\":\"https://other.example\"}", NOW + 60);
    CHECK_EQ_INT(verify_with(ks, &pol, hs(tok, p), NOW),
                 MCPU_JWT_BAD_ISSUER);

    snprintf(p, sizeof(p), "{\"sub\":\"c\",\"exp\":%lld,"
             "\"iss\":\"https://id.example/\"}", NOW + 60);
    CHECK_EQ_INT(verify_with(ks, &pol, hs(tok, p), NOW),
                 MCPU_JWT_BAD_ISSUER);

    snprintf(p, sizeof(p), "{\"sub\":\"c\",\"exp\":%lld}", NOW + 60);
    CHECK_EQ_INT(verify_with(ks, &pol, hs(tok, p), NOW),
                 MCPU_JWT_BAD_ISSUER);
    CHECK_STR_EQ(res.detail, "the token has no iss");

    /* no issuer configured: not checked */
    CHECK_EQ_INT(verify(ks, tok), MCPU_JWT_OK);

    mcpu_jwt_keyset_free(ks);
}


static void
test_jwt_audience_string_or_array_containing_it_is_accepted(
    const char *dir)
{
    size_t              i;
    char                tok[TOK_SIZE], p[256];
    mcpu_jwt_policy_t   pol = { NULL, "mcpu", 0 };
    mcpu_jwt_keyset_t  *ks;
    static const struct {
        const char     *aud;
        mcpu_jwt_rc_t   rc;
    } t[] = {
        { ",\"aud\":\"mcpu\"", MCPU_JWT_OK },
        { ",\"aud\":[\"other\",\"mcpu\"]", MCPU_JWT_OK },
        { ",\"aud\":\"other\"", MCPU_JWT_BAD_AUDIENCE },
        { ",\"aud\":\"mcpu2\"", MCPU_JWT_BAD_AUDIENCE },
        { ",\"aud\":[\"a\",\"b\"]", MCPU_JWT_BAD_AUDIENCE },
        { ",\"aud\":[]", MCPU_JWT_BAD_AUDIENCE },
        { ",\"aud\":[[\"mcpu\"]]", MCPU_JWT_BAD_AUDIENCE },
        { ",\"aud\":7", MCPU_JWT_BAD_AUDIENCE },
        { "", MCPU_JWT_BAD_AUDIENCE },
    };

    ks = hs_keyset(dir);
    if (ks == NULL) {
        return;
    }

    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        snprintf(p, sizeof(p), "{\"sub\":\"c\",\"exp\":%lld%s}", NOW + 60,
                 t[i].aud);
        if (!CHECK_EQ_INT(verify_with(ks, &pol, hs(tok, p), NOW), t[i].rc)) {
            printf("#     %s: %s\n", p, res.detail);
        }
    }

    /* no audience configured: not checked */
    CHECK_EQ_INT(verify(ks, tok), MCPU_JWT_OK);

    mcpu_jwt_keyset_free(ks);
}


static void
test_jwt_bad_sub_is_refused(const char *dir)
{
    size_t              i;
    char                tok[TOK_SIZE], p[512], sub[200];
    mcpu_jwt_keyset_t  *ks;
    static const char  *bad[] = {
        "",
        ",\"sub\":\"\"",
        ",\"sub\":\"client 7\"",
        ",\"sub\":\"client\\t7\"",
        ",\"sub\":\"caf\\u00e9\"",
        ",\"sub\":\"c\\u007f\"",
        ",\"sub\":7",
        ",\"sub\":null",
        ",\"sub\":[\"c\"]",
    };

    ks = hs_keyset(dir);
    if (ks == NULL) {
        return;
    }

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(p, sizeof(p), "{\"exp\":%lld%s}", NOW + 60, bad[i]);
        if (!CHECK_EQ_INT(verify(ks, hs(tok, p)), MCPU_JWT_BAD_SUB)) {
            printf("#     %s: %s\n", p, res.detail);
        }
    }

    /* 129 visible bytes: refused; 128: accepted, whole */
    memset(sub, 'x', 129);
    sub[129] = '\0';
    snprintf(p, sizeof(p), "{\"exp\":%lld,\"sub\":\"%s\"}", NOW + 60, sub);
    CHECK_EQ_INT(verify(ks, hs(tok, p)), MCPU_JWT_BAD_SUB);
    CHECK_STR_EQ(res.detail, "sub has 129 bytes, not 1 to 128");

    sub[127] = '~';
    sub[128] = '\0';
    snprintf(p, sizeof(p), "{\"exp\":%lld,\"sub\":\"%s\"}", NOW + 60, sub);
    CHECK_EQ_INT(verify(ks, hs(tok, p)), MCPU_JWT_OK);
    CHECK_STR_EQ(res.sub, sub);
    CHECK_EQ_U64(res.sub_len, 128);

    snprintf(p, sizeof(p), "{\"exp\":%lld,\"sub\":\"!\"}", NOW + 60);
    CHECK_EQ_INT(verify(ks, hs(tok, p)), MCPU_JWT_OK);

    mcpu_jwt_keyset_free(ks);
}


/* ------------------------------------------------------------------------
 * key files
 */

static void
test_jwt_key_missing_file_is_refused(const char *dir)
{
    char                path[4096];
    mcpu_jwt_keyset_t  *ks;

    ks = mcpu_jwt_keyset_new();
    if (!CHECK(ks != NULL)) {
        return;
    }

    snprintf(path, sizeof(path), "%s/none.pem", dir);
    CHECK_EQ_INT(load(ks, path, "RS256", NULL), -1);
    CHECK_STR_CONTAINS(err, path);
    CHECK_STR_CONTAINS(err, "cannot be opened: No such file or directory");

    CHECK_EQ_INT(load(ks, dir, "RS256", NULL), -1);
    CHECK_STR_CONTAINS(err, "is not a regular file");

    CHECK_EQ_U64(mcpu_jwt_keyset_count(ks), 0);
    mcpu_jwt_keyset_free(ks);
}


static void
test_jwt_key_short_hmac_secret_is_refused(const char *dir)
{
    char                want[256], file[64];
    const char         *path;
    mcpu_jwt_keyset_t  *ks;

    ks = mcpu_jwt_keyset_new();
    if (!CHECK(ks != NULL)) {
        return;
    }

    path = put(dir, "s31", secret, 31);
    CHECK_EQ_INT(load(ks, path, "HS256", NULL), -1);
    snprintf(want, sizeof(want), "\"%s\": an HS256 secret must have at least "
             "32 bytes, this one has 31", path);
    CHECK_STR_EQ(err, want);

    CHECK_EQ_INT(load(ks, put(dir, "s47", secret, 47), "HS384", NULL), -1);
    CHECK_STR_CONTAINS(err, "at least 48 bytes, this one has 47");
    CHECK_EQ_INT(load(ks, put(dir, "s63", secret, 63), "HS512", NULL), -1);
    CHECK_STR_CONTAINS(err, "at least 64 bytes, this one has 63");
    CHECK_EQ_INT(load(ks, put(dir, "s0", "", 0), "HS256", NULL), -1);

    /* the newline is not counted */
    memcpy(file, secret, 31);
    file[31] = '\n';
    CHECK_EQ_INT(load(ks, put(dir, "s31nl", file, 32), "HS256", NULL), -1);

    CHECK_EQ_INT(load(ks, put(dir, "s32", secret, 32), "HS256", NULL), 0);
    CHECK_EQ_INT(load(ks, put(dir, "s48", secret, 48), "HS384", NULL), 0);
    CHECK_EQ_INT(load(ks, put(dir, "s64", secret, 64), "HS512", NULL), 0);
    CHECK_EQ_U64(mcpu_jwt_keyset_count(ks), 3);

    mcpu_jwt_keyset_free(ks);
}


static void
test_jwt_key_pem_given_as_hmac_secret_is_refused(const char *dir)
{
    char                want[4200];
    const char         *path;
    mcpu_jwt_keyset_t  *ks;

    ks = mcpu_jwt_keyset_new();
    if (!CHECK(ks != NULL)) {
        return;
    }

    path = put_str(dir, "rsa.pub", rsa_pub[0]);
    CHECK_EQ_INT(load(ks, path, "HS256", NULL), -1);
    snprintf(want, sizeof(want), "\"%s\": an HS256 secret must not be a PEM "
             "block, this is one", path);
    CHECK_STR_EQ(err, want);

    CHECK_EQ_INT(load(ks, put_str(dir, "ec.pub", ec_pub[2]), "HS512", NULL),
                 -1);
    CHECK_STR_CONTAINS(err, "must not be a PEM block");

    CHECK_EQ_U64(mcpu_jwt_keyset_count(ks), 0);
    mcpu_jwt_keyset_free(ks);
}


static void
test_jwt_key_ec_key_for_rs256_is_refused(const char *dir)
{
    char                want[4200];
    const char         *path;
    mcpu_jwt_keyset_t  *ks;

    ks = mcpu_jwt_keyset_new();
    if (!CHECK(ks != NULL)) {
        return;
    }

    path = put_str(dir, "ec.pub", ec_pub[0]);
    CHECK_EQ_INT(load(ks, path, "RS256", NULL), -1);
    snprintf(want, sizeof(want), "\"%s\": an RS256 key must be an RSA public "
             "key, this is EC (prime256v1)", path);
    CHECK_STR_EQ(err, want);

    CHECK_EQ_INT(load(ks, put_str(dir, "rsa.pub", rsa_pub[0]), "ES256", NULL),
                 -1);
    CHECK_STR_CONTAINS(err, "an ES256 key must be an EC public key, this is "
                       "RSA (2048 bits)");

    CHECK_EQ_INT(load(ks, put_str(dir, "small.pub", rsa_small_pub), "RS256",
                      NULL), -1);
    CHECK_STR_CONTAINS(err, "at least 2048 bits, this one has 1024");

    CHECK_EQ_INT(load(ks, put_str(dir, "junk.pub", "not a key\n"), "RS256",
                      NULL), -1);
    CHECK_STR_CONTAINS(err, "must be a PEM public key");

    CHECK_EQ_U64(mcpu_jwt_keyset_count(ks), 0);
    mcpu_jwt_keyset_free(ks);
}


static void
test_jwt_key_p256_key_for_es384_is_refused(const char *dir)
{
    char                want[4200];
    const char         *path;
    mcpu_jwt_keyset_t  *ks;

    ks = mcpu_jwt_keyset_new();
    if (!CHECK(ks != NULL)) {
        return;
    }

    path = put_str(dir, "p256.pub", ec_pub[0]);
    CHECK_EQ_INT(load(ks, path, "ES384", NULL), -1);
    snprintf(want, sizeof(want), "\"%s\": an ES384 key must be on P-384 "
             "(secp384r1), this one is on P-256 (prime256v1)", path);
    CHECK_STR_EQ(err, want);

    CHECK_EQ_INT(load(ks, put_str(dir, "p521.pub", ec_pub[2]), "ES256", NULL),
                 -1);
    CHECK_STR_CONTAINS(err, "this one is on P-521 (secp521r1)");

    CHECK_EQ_U64(mcpu_jwt_keyset_count(ks), 0);
    mcpu_jwt_keyset_free(ks);
}


static void
test_jwt_key_private_key_is_refused(const char *dir)
{
    char                want[4200], jwks[8192], m[2048];
    const char         *path;
    mcpu_jwt_keyset_t  *ks;

    ks = mcpu_jwt_keyset_new();
    if (!CHECK(ks != NULL)) {
        return;
    }

    path = put_str(dir, "rsa.key", rsa_priv[0]);
    CHECK_EQ_INT(load(ks, path, "RS256", NULL), -1);
    snprintf(want, sizeof(want), "\"%s\": a public key is expected; this is "
             "a private key", path);
    CHECK_STR_EQ(err, want);

    CHECK_EQ_INT(load(ks, put_str(dir, "ec.key", ec_priv[0]), "ES256", NULL),
                 -1);
    CHECK_STR_CONTAINS(err, "this is a private key");

    /* a JWK with its private part */
    snprintf(jwks, sizeof(jwks), "{\"keys\":[{%s,\"alg\":\"ES256\","
             "\"d\":\"AAAA\"}]}", jwk_members(m, ec[0]));
    CHECK_EQ_INT(load(ks, put_str(dir, "k.jwks", jwks), NULL, NULL), -1);
    CHECK_STR_CONTAINS(err, "keys[0]: a public key is expected; this is a "
                       "private key");

    CHECK_EQ_U64(mcpu_jwt_keyset_count(ks), 0);
    mcpu_jwt_keyset_free(ks);
}


static void
test_jwt_key_alg_must_be_given_and_supported(const char *dir)
{
    const char         *path;
    mcpu_jwt_keyset_t  *ks;

    ks = mcpu_jwt_keyset_new();
    if (!CHECK(ks != NULL)) {
        return;
    }

    path = put_str(dir, "rsa.pub", rsa_pub[0]);

    CHECK_EQ_INT(load(ks, path, NULL, NULL), -1);
    CHECK_STR_CONTAINS(err, "the algorithm (alg=) must be given");
    CHECK_EQ_INT(load(ks, path, "PS256", NULL), -1);
    CHECK_STR_CONTAINS(err, "alg \"PS256\" is not one of");
    CHECK_EQ_INT(load(ks, path, "none", NULL), -1);
    CHECK_EQ_INT(load(ks, path, "rs256", NULL), -1);

    /* one kid per alg */
    CHECK_EQ_INT(load(ks, path, "RS256", "k1"), 0);
    CHECK_EQ_INT(load(ks, path, "RS384", "k1"), 0);
    CHECK_EQ_INT(load(ks, path, "RS256", "k1"), -1);
    CHECK_STR_CONTAINS(err, "a second RS256 key with kid \"k1\"");

    CHECK_EQ_U64(mcpu_jwt_keyset_count(ks), 2);
    mcpu_jwt_keyset_free(ks);
}


static void
test_jwt_jwks_key_lacking_alg_is_refused(const char *dir)
{
    char                jwks[8192], m[2048];
    mcpu_jwt_keyset_t  *ks;

    ks = mcpu_jwt_keyset_new();
    if (!CHECK(ks != NULL)) {
        return;
    }

    snprintf(jwks, sizeof(jwks), "{\"keys\":[{%s,\"kid\":\"r1\"}]}",
             jwk_members(m, rsa[0]));
    CHECK_EQ_INT(load(ks, put_str(dir, "rsa.jwks", jwks), NULL, NULL), -1);
    CHECK_STR_CONTAINS(err, "keys[0] (kid \"r1\") is an RSA key without alg, "
                       "and no alg was given for the file");

    snprintf(jwks, sizeof(jwks), "{\"keys\":[{%s}]}",
             oct_members(m, secret, 32));
    CHECK_EQ_INT(load(ks, put_str(dir, "oct.jwks", jwks), NULL, NULL), -1);
    CHECK_STR_CONTAINS(err, "keys[0] is an oct key without alg");

    CHECK_EQ_U64(mcpu_jwt_keyset_count(ks), 0);
    mcpu_jwt_keyset_free(ks);
}


static void
test_jwt_jwks_key_with_use_enc_is_skipped(const char *dir)
{
    char                jwks[16384], m1[2048], m2[2048], tok[TOK_SIZE];
    mcpu_jwt_keyset_t  *ks;

    snprintf(jwks, sizeof(jwks), "{\"keys\":[{%s,\"alg\":\"RS256\","
             "\"kid\":\"enc\",\"use\":\"enc\"},{%s,\"kid\":\"sig\","
             "\"use\":\"sig\"}]}", jwk_members(m1, rsa[0]),
             jwk_members(m2, ec[0]));

    ks = keyset_of(put_str(dir, "k.jwks", jwks), NULL, NULL);
    if (ks == NULL) {
        return;
    }

    CHECK_EQ_U64(mcpu_jwt_keyset_count(ks), 1);
    CHECK_EQ_INT(verify(ks, sign_std(tok, alg_of("RS256"), "enc")),
                 MCPU_JWT_ALG_MISMATCH);
    CHECK_EQ_INT(verify(ks, sign_std(tok, alg_of("ES256"), "sig")),
                 MCPU_JWT_OK);

    mcpu_jwt_keyset_free(ks);
}


static void
test_jwt_empty_jwks_is_refused(const char *dir)
{
    char                jwks[8192], m[2048];
    mcpu_jwt_keyset_t  *ks;

    ks = mcpu_jwt_keyset_new();
    if (!CHECK(ks != NULL)) {
        return;
    }

    CHECK_EQ_INT(load(ks, put_str(dir, "e.jwks", "{\"keys\":[]}"), NULL,
                      NULL), -1);
    CHECK_STR_CONTAINS(err, "no usable key");

    snprintf(jwks, sizeof(jwks), "{\"keys\":[{%s,\"alg\":\"ES256\","
             "\"use\":\"enc\"}]}", jwk_members(m, ec[0]));
    CHECK_EQ_INT(load(ks, put_str(dir, "enc.jwks", jwks), NULL, NULL), -1);
    CHECK_STR_CONTAINS(err, "no usable key in the JWKS (1 key, 1 with a "
                       "\"use\" other than \"sig\")");

    CHECK_EQ_INT(load(ks, put_str(dir, "n.jwks", "{\"keys\":{}}"), NULL,
                      NULL), -1);
    CHECK_STR_CONTAINS(err, "\"keys\" is not an array");

    CHECK_EQ_U64(mcpu_jwt_keyset_count(ks), 0);
    mcpu_jwt_keyset_free(ks);
}


static void
test_jwt_jwks_key_that_cannot_verify_its_alg_is_refused_whole(
    const char *dir)
{
    size_t              i;
    char                jwks[16384], ok[2048], m[2048], bad[2200];
    mcpu_jwt_keyset_t  *ks;
    struct {
        const char  *members;
        const char  *given;
        const char  *err;
    } t[] = {
        { NULL, NULL, "keys[1] is on P-256; ES384 needs P-384" },
        { NULL, NULL, "keys[1] is an RSA key, which cannot verify HS256" },
        { NULL, "RS256", "keys[1] has alg RS384, not the RS256 given" },
        { NULL, NULL, "keys[1] has alg \"PS256\", not one of" },
        { NULL, NULL, "keys[1] has kty \"OKP\"" },
        { NULL, NULL, "keys[1]: \"x\" and \"y\" must have 32 bytes each" },
        { NULL, NULL, "keys[1]: \"n\" is not base64url without padding" },
        { NULL, NULL, "keys[1] is an oct key, which cannot verify RS256" },
    };

    ks = mcpu_jwt_keyset_new();
    if (!CHECK(ks != NULL)) {
        return;
    }

    /* keys[0] is fine every time: the file is refused as a whole */
    snprintf(ok, sizeof(ok), "{%s,\"alg\":\"RS256\",\"kid\":\"ok\"}",
             jwk_members(m, rsa[1]));

    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        switch (i) {
        case 0:
            snprintf(bad, sizeof(bad), "{%s,\"alg\":\"ES384\"}",
                     jwk_members(m, ec[0]));
            break;
        case 1:
            snprintf(bad, sizeof(bad), "{%s,\"alg\":\"HS256\"}",
                     jwk_members(m, rsa[0]));
            break;
        case 2:
            snprintf(bad, sizeof(bad), "{%s,\"alg\":\"RS384\"}",
                     jwk_members(m, rsa[0]));
            break;
        case 3:
            snprintf(bad, sizeof(bad), "{%s,\"alg\":\"PS256\"}",
                     jwk_members(m, rsa[0]));
            break;
        case 4:
            snprintf(bad, sizeof(bad), "{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
                     "\"x\":\"AAAA\",\"alg\":\"RS256\"}");
            break;
        case 5:
            snprintf(bad, sizeof(bad), "{\"kty\":\"EC\",\"crv\":\"P-256\","
                     "\"x\":\"AAAA\",\"y\":\"AAAA\"}");
            break;
        case 6:
            snprintf(bad, sizeof(bad), "{\"kty\":\"RSA\",\"n\":\"AA==\","
                     "\"e\":\"AQAB\",\"alg\":\"RS256\"}");
            break;
        default:
            snprintf(bad, sizeof(bad), "{%s,\"alg\":\"RS256\"}",
                     oct_members(m, secret, 32));
        }

        snprintf(jwks, sizeof(jwks), "{\"keys\":[%s,%s]}", ok, bad);

        if (!CHECK_EQ_INT(load(ks, put_str(dir, "k.jwks", jwks), t[i].given,
                               NULL), -1)
            || !CHECK_STR_CONTAINS(err, t[i].err))
        {
            printf("#     case %zu\n", i);
        }

        CHECK_EQ_U64(mcpu_jwt_keyset_count(ks), 0);
    }

    /* a point that is not on the curve */
    snprintf(jwks, sizeof(jwks), "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\","
             "\"x\":\"AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA\","
             "\"y\":\"AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA\"}]}");
    CHECK_EQ_INT(load(ks, put_str(dir, "p.jwks", jwks), NULL, NULL), -1);
    CHECK_STR_CONTAINS(err, "are not a point on P-256");

    /* a kid= for a JWKS, and a lone JWK */
    snprintf(jwks, sizeof(jwks), "{\"keys\":[%s]}", ok);
    CHECK_EQ_INT(load(ks, put_str(dir, "k.jwks", jwks), NULL, "x"), -1);
    CHECK_STR_CONTAINS(err, "applies to a single key only");
    CHECK_EQ_INT(load(ks, put_str(dir, "one.jwk", ok), NULL, NULL), -1);
    CHECK_STR_CONTAINS(err, "a single JWK is not read");

    CHECK_EQ_INT(load(ks, put_str(dir, "k.jwks", jwks), NULL, NULL), 0);
    CHECK_EQ_U64(mcpu_jwt_keyset_count(ks), 1);

    mcpu_jwt_keyset_free(ks);
}


/* ------------------------------------------------------------------------
 * the cache
 */

static void
test_jwt_cache_hit_does_not_verify_again(const char *dir)
{
    int                 i;
    char                tok[TOK_SIZE];
    mcpu_jwt_cache_t   *c;
    mcpu_jwt_keyset_t  *ks;

    ks = keyset_of(put_str(dir, "rsa.pub", rsa_pub[0]), "RS256", NULL);
    c = mcpu_jwt_cache_new(8, 2048);

    if (ks == NULL || !CHECK(c != NULL)) {
        goto done;
    }

    sign_std(tok, alg_of("RS256"), NULL);
    decode_calls = 0;

    for (i = 0; i < 3; i++) {
        CHECK_EQ_INT(cached(c, 1, ks, &no_policy, tok, NOW + i), MCPU_JWT_OK);
        CHECK_STR_EQ(res.sub, "client-7");
        CHECK_EQ_U64(res.sub_len, 8);
        CHECK_EQ_INT(res.exp, NOW + 3600);
    }

    CHECK_EQ_INT(decode_calls, 1);
    check_stats(c, 2, 1);

done:

    mcpu_jwt_cache_free(c);
    mcpu_jwt_keyset_free(ks);
}


static void
test_jwt_cache_other_scope_misses(const char *dir)
{
    char                tok[TOK_SIZE];
    mcpu_jwt_cache_t   *c;
    mcpu_jwt_keyset_t  *ks;
    mcpu_jwt_policy_t   strict = { "https://id.example", NULL, 0 };

    ks = hs_keyset(dir);
    c = mcpu_jwt_cache_new(1, 2048);

    if (ks == NULL || !CHECK(c != NULL)) {
        goto done;
    }

    sign_std(tok, alg_of("HS256"), NULL);
    decode_calls = 0;

    CHECK_EQ_INT(cached(c, 1, ks, &no_policy, tok, NOW), MCPU_JWT_OK);
    CHECK_EQ_INT(cached(c, 2, ks, &strict, tok, NOW), MCPU_JWT_BAD_ISSUER);
    CHECK_EQ_INT(cached(c, 1, ks, &no_policy, tok, NOW), MCPU_JWT_OK);

    CHECK_EQ_INT(decode_calls, 2);
    check_stats(c, 1, 2);

done:

    mcpu_jwt_cache_free(c);
    mcpu_jwt_keyset_free(ks);
}


static void
test_jwt_cache_token_one_byte_different_misses(const char *dir)
{
    size_t              len;
    char                tok[TOK_SIZE], other[TOK_SIZE];
    mcpu_jwt_cache_t   *c;
    mcpu_jwt_keyset_t  *ks;

    ks = hs_keyset(dir);
    c = mcpu_jwt_cache_new(1, 2048);      /* one entry: every token shares it */

    if (ks == NULL || !CHECK(c != NULL)) {
        goto done;
    }

    sign_std(tok, alg_of("HS256"), NULL);
    len = strlen(tok);
    strcpy(other, tok);
    flip(other, len - 10);

    decode_calls = 0;

    CHECK_EQ_INT(cached(c, 1, ks, &no_policy, tok, NOW), MCPU_JWT_OK);
    CHECK_EQ_INT(cached(c, 1, ks, &no_policy, other, NOW),
                 MCPU_JWT_BAD_SIGNATURE);
    CHECK_EQ_INT(cached(c, 1, ks, &no_policy, other, NOW),
                 MCPU_JWT_BAD_SIGNATURE);

    /* the failures did not evict it */
    CHECK_EQ_INT(cached(c, 1, ks, &no_policy, tok, NOW), MCPU_JWT_OK);
    CHECK_EQ_INT(decode_calls, 3);
    check_stats(c, 1, 3);

    /* a prefix of the cached token is no hit */
    CHECK(mcpu_jwt_verify_cached(c, 1, ks, &no_policy, tok, len - 1, NOW,
                                 &res) != MCPU_JWT_OK);
    arena_reset();
    check_stats(c, 1, 4);

done:

    mcpu_jwt_cache_free(c);
    mcpu_jwt_keyset_free(ks);
}


static void
test_jwt_cache_entry_past_its_exp_is_verified_again_and_refused(
    const char *dir)
{
    char                tok[TOK_SIZE], p[256];
    mcpu_jwt_cache_t   *c;
    mcpu_jwt_keyset_t  *ks;

    ks = hs_keyset(dir);
    c = mcpu_jwt_cache_new(16, 2048);

    if (ks == NULL || !CHECK(c != NULL)) {
        goto done;
    }

    snprintf(p, sizeof(p), "{\"sub\":\"c\",\"exp\":%lld}", NOW + 10);
    hs(tok, p);
    decode_calls = 0;

    CHECK_EQ_INT(cached(c, 1, ks, &no_policy, tok, NOW), MCPU_JWT_OK);
    CHECK_EQ_INT(cached(c, 1, ks, &no_policy, tok, NOW + 10), MCPU_JWT_OK);
    CHECK_EQ_INT(decode_calls, 1);

    CHECK_EQ_INT(cached(c, 1, ks, &no_policy, tok, NOW + 11),
                 MCPU_JWT_EXPIRED);
    CHECK_STR_EQ(res.detail, "token expired 1 s ago");
    CHECK_EQ_INT(decode_calls, 2);
    check_stats(c, 1, 2);

done:

    mcpu_jwt_cache_free(c);
    mcpu_jwt_keyset_free(ks);
}


static void
test_jwt_cache_success_only_the_leeway_allowed_is_not_kept(const char *dir)
{
    char                tok[TOK_SIZE], p[256];
    mcpu_jwt_cache_t   *c;
    mcpu_jwt_policy_t   pol = { NULL, NULL, 30 };
    mcpu_jwt_keyset_t  *ks;

    ks = hs_keyset(dir);
    c = mcpu_jwt_cache_new(16, 2048);

    if (ks == NULL || !CHECK(c != NULL)) {
        goto done;
    }

    snprintf(p, sizeof(p), "{\"sub\":\"c\",\"exp\":%lld}", NOW - 1);
    hs(tok, p);
    decode_calls = 0;

    CHECK_EQ_INT(cached(c, 1, ks, &pol, tok, NOW), MCPU_JWT_OK);
    CHECK_EQ_INT(cached(c, 1, ks, &pol, tok, NOW), MCPU_JWT_OK);
    CHECK_EQ_INT(decode_calls, 2);
    check_stats(c, 0, 2);

done:

    mcpu_jwt_cache_free(c);
    mcpu_jwt_keyset_free(ks);
}


static void
test_jwt_cache_failures_are_not_cached(const char *dir)
{
    char                tok[TOK_SIZE];
    mcpu_jwt_cache_t   *c;
    mcpu_jwt_keyset_t  *ks;

    ks = hs_keyset(dir);
    c = mcpu_jwt_cache_new(16, 2048);

    if (ks == NULL || !CHECK(c != NULL)) {
        goto done;
    }

    hs(tok, "{\"sub\":\"c\"}");
    decode_calls = 0;

    CHECK_EQ_INT(cached(c, 1, ks, &no_policy, tok, NOW), MCPU_JWT_NO_EXP);
    CHECK_EQ_INT(cached(c, 1, ks, &no_policy, tok, NOW), MCPU_JWT_NO_EXP);
    CHECK_EQ_INT(decode_calls, 2);
    check_stats(c, 0, 2);

done:

    mcpu_jwt_cache_free(c);
    mcpu_jwt_keyset_free(ks);
}


static void
test_jwt_cache_direct_mapped_eviction_keeps_the_table_bounded(
    const char *dir)
{
    int                 i, round;
    char                sub[32], p[256];
    uint64_t            hits, misses;
    mcpu_jwt_cache_t   *c;
    mcpu_jwt_keyset_t  *ks;
    static char         toks[64][TOK_SIZE];

    ks = hs_keyset(dir);
    c = mcpu_jwt_cache_new(4, 512);

    if (ks == NULL || !CHECK(c != NULL)) {
        goto done;
    }

    for (i = 0; i < 64; i++) {
        snprintf(sub, sizeof(sub), "client-%d", i);
        hs(toks[i], std_payload(p, sizeof(p), sub));
    }

    /* each token verified twice in a row: the second is a hit, whatever
     * the others evicted; every outcome names its own client */
    for (round = 0; round < 2; round++) {
        for (i = 0; i < 64; i++) {
            snprintf(sub, sizeof(sub), "client-%d", i);

            CHECK_EQ_INT(cached(c, 1, ks, &no_policy, toks[i], NOW),
                         MCPU_JWT_OK);
            CHECK_STR_EQ(res.sub, sub);
            CHECK_EQ_INT(cached(c, 1, ks, &no_policy, toks[i], NOW),
                         MCPU_JWT_OK);
            CHECK_STR_EQ(res.sub, sub);
        }
    }

    mcpu_jwt_cache_stats(c, &hits, &misses);
    CHECK_EQ_U64(hits + misses, 256);
    CHECK(hits >= 128);

    /* 4 entries hold at most 4 of the 64: the second round mostly missed */
    CHECK(misses >= 128 - 4);

    /* and one pass over all 64 hits at most 4 of them */
    for (i = 0; i < 64; i++) {
        cached(c, 1, ks, &no_policy, toks[i], NOW);
    }

    mcpu_jwt_cache_stats(c, &hits, &misses);
    CHECK(misses >= 128 - 4 + 60);

done:

    mcpu_jwt_cache_free(c);
    mcpu_jwt_keyset_free(ks);
}


static void
test_jwt_cache_token_longer_than_max_token_is_verified_never_cached(
    const char *dir)
{
    size_t              len;
    char                tok[TOK_SIZE];
    mcpu_jwt_cache_t   *c;
    mcpu_jwt_keyset_t  *ks;

    ks = hs_keyset(dir);
    if (ks == NULL) {
        return;
    }

    sign_std(tok, alg_of("HS256"), NULL);
    len = strlen(tok);

    /* one byte too long: verified each time, never cached */
    c = mcpu_jwt_cache_new(4, len - 1);
    if (CHECK(c != NULL)) {
        decode_calls = 0;
        CHECK_EQ_INT(cached(c, 1, ks, &no_policy, tok, NOW), MCPU_JWT_OK);
        CHECK_EQ_INT(cached(c, 1, ks, &no_policy, tok, NOW), MCPU_JWT_OK);
        CHECK_STR_EQ(res.sub, "client-7");
        CHECK_EQ_INT(decode_calls, 2);
        check_stats(c, 0, 2);
        mcpu_jwt_cache_free(c);
    }

    /* exactly max_token: cached */
    c = mcpu_jwt_cache_new(4, len);
    if (CHECK(c != NULL)) {
        decode_calls = 0;
        CHECK_EQ_INT(cached(c, 1, ks, &no_policy, tok, NOW), MCPU_JWT_OK);
        CHECK_EQ_INT(cached(c, 1, ks, &no_policy, tok, NOW), MCPU_JWT_OK);
        CHECK_EQ_INT(decode_calls, 1);
        check_stats(c, 1, 1);
        mcpu_jwt_cache_free(c);
    }

    mcpu_jwt_keyset_free(ks);
}


static void
test_jwt_cache_size_must_be_a_power_of_two(const char *dir)
{
    char                tok[TOK_SIZE];
    mcpu_jwt_cache_t   *c;
    mcpu_jwt_keyset_t  *ks;

    CHECK(mcpu_jwt_cache_new(0, 2048) == NULL);
    CHECK(mcpu_jwt_cache_new(3, 2048) == NULL);
    CHECK(mcpu_jwt_cache_new(1000, 2048) == NULL);
    CHECK(mcpu_jwt_cache_new((size_t) 1 << 62, 2048) == NULL);

    c = mcpu_jwt_cache_new(1, 0);
    CHECK(c != NULL);
    mcpu_jwt_cache_free(c);

    c = mcpu_jwt_cache_new(1024, 2048);
    CHECK(c != NULL);
    mcpu_jwt_cache_free(c);

    /* no cache: verified directly */
    ks = hs_keyset(dir);
    if (ks != NULL) {
        decode_calls = 0;
        sign_std(tok, alg_of("HS256"), NULL);
        CHECK_EQ_INT(cached(NULL, 1, ks, &no_policy, tok, NOW), MCPU_JWT_OK);
        CHECK_EQ_INT(cached(NULL, 1, ks, &no_policy, tok, NOW), MCPU_JWT_OK);
        CHECK_EQ_INT(decode_calls, 2);
        mcpu_jwt_keyset_free(ks);
    }
}


/* ------------------------------------------------------------------------
 * the rest
 */

static void
test_jwt_codes_are_stable(const char *dir)
{
    (void) dir;

    CHECK_STR_EQ(mcpu_jwt_code(MCPU_JWT_OK), "ok");
    CHECK_STR_EQ(mcpu_jwt_code(MCPU_JWT_MALFORMED), "malformed");
    CHECK_STR_EQ(mcpu_jwt_code(MCPU_JWT_ALG_NONE), "alg_none");
    CHECK_STR_EQ(mcpu_jwt_code(MCPU_JWT_ALG_MISMATCH), "alg_mismatch");
    CHECK_STR_EQ(mcpu_jwt_code(MCPU_JWT_UNKNOWN_KID), "unknown_kid");
    CHECK_STR_EQ(mcpu_jwt_code(MCPU_JWT_BAD_SIGNATURE), "bad_signature");
    CHECK_STR_EQ(mcpu_jwt_code(MCPU_JWT_NO_EXP), "no_exp");
    CHECK_STR_EQ(mcpu_jwt_code(MCPU_JWT_EXPIRED), "expired");
    CHECK_STR_EQ(mcpu_jwt_code(MCPU_JWT_NOT_YET_VALID), "not_yet_valid");
    CHECK_STR_EQ(mcpu_jwt_code(MCPU_JWT_BAD_ISSUER), "bad_issuer");
    CHECK_STR_EQ(mcpu_jwt_code(MCPU_JWT_BAD_AUDIENCE), "bad_audience");
    CHECK_STR_EQ(mcpu_jwt_code(MCPU_JWT_BAD_SUB), "bad_sub");
    CHECK_STR_EQ(mcpu_jwt_code(MCPU_JWT_LAST), "unknown");
}


/* the worker's setting: jansson (and libjwt through it) on the arena */
static void
test_jwt_verification_runs_on_the_event_arena(const char *dir)
{
    int                 i;
    char                tok[TOK_SIZE];
    json_free_t         f;
    json_malloc_t       m;
    mcpu_jwt_keyset_t  *ks;

    json_get_alloc_funcs(&m, &f);
    CHECK(m != malloc);
    CHECK(f != free);

    ks = keyset_of(put_str(dir, "ec.pub", ec_pub[2]), "ES512", NULL);
    if (ks == NULL) {
        return;
    }

    /* successes and each kind of failure after the header, many times:
     * under valgrind, any arena pointer that reached free() shows */
    for (i = 0; i < 20; i++) {
        CHECK_EQ_INT(verify(ks, sign_std(tok, alg_of("ES512"), NULL)),
                     MCPU_JWT_OK);
        flip(tok, strlen(tok) - 20);
        CHECK_EQ_INT(verify(ks, tok), MCPU_JWT_BAD_SIGNATURE);
    }

    mcpu_jwt_keyset_free(ks);
}


TEST_LIST = {
    { "test_jwt_every_alg_from_a_key_file_is_accepted",
      test_jwt_every_alg_from_a_key_file_is_accepted },
    { "test_jwt_every_alg_from_a_jwks_is_accepted",
      test_jwt_every_alg_from_a_jwks_is_accepted },
    { "test_jwt_jwks_key_without_alg_takes_the_given_alg_or_its_curve",
      test_jwt_jwks_key_without_alg_takes_the_given_alg_or_its_curve },
    { "test_jwt_secret_file_loses_one_trailing_newline",
      test_jwt_secret_file_loses_one_trailing_newline },
    { "test_jwt_alg_none_is_refused", test_jwt_alg_none_is_refused },
    { "test_jwt_alg_no_key_is_bound_to_is_refused",
      test_jwt_alg_no_key_is_bound_to_is_refused },
    { "test_jwt_hs256_signed_with_the_rsa_public_key_text_is_refused_unchecked",
      test_jwt_hs256_signed_with_the_rsa_public_key_text_is_refused_unchecked },
    { "test_jwt_unknown_kid_is_refused", test_jwt_unknown_kid_is_refused },
    { "test_jwt_kid_selects_that_key_only",
      test_jwt_kid_selects_that_key_only },
    { "test_jwt_without_kid_is_tried_with_every_key_of_its_alg",
      test_jwt_without_kid_is_tried_with_every_key_of_its_alg },
    { "test_jwt_flipped_signature_byte_is_refused",
      test_jwt_flipped_signature_byte_is_refused },
    { "test_jwt_non_canonical_base64_is_refused",
      test_jwt_non_canonical_base64_is_refused },
    { "test_jwt_malformed_tokens_are_refused",
      test_jwt_malformed_tokens_are_refused },
    { "test_jwt_expired_one_second_ago_is_rejected",
      test_jwt_expired_one_second_ago_is_rejected },
    { "test_jwt_nbf_in_the_future_is_refused_within_leeway_accepted",
      test_jwt_nbf_in_the_future_is_refused_within_leeway_accepted },
    { "test_jwt_without_exp_is_refused", test_jwt_without_exp_is_refused },
    { "test_jwt_exp_not_an_integer_is_refused",
      test_jwt_exp_not_an_integer_is_refused },
    { "test_jwt_wrong_issuer_is_refused", test_jwt_wrong_issuer_is_refused },
    { "test_jwt_audience_string_or_array_containing_it_is_accepted",
      test_jwt_audience_string_or_array_containing_it_is_accepted },
    { "test_jwt_bad_sub_is_refused", test_jwt_bad_sub_is_refused },
    { "test_jwt_key_missing_file_is_refused",
      test_jwt_key_missing_file_is_refused },
    { "test_jwt_key_short_hmac_secret_is_refused",
      test_jwt_key_short_hmac_secret_is_refused },
    { "test_jwt_key_pem_given_as_hmac_secret_is_refused",
      test_jwt_key_pem_given_as_hmac_secret_is_refused },
    { "test_jwt_key_ec_key_for_rs256_is_refused",
      test_jwt_key_ec_key_for_rs256_is_refused },
    { "test_jwt_key_p256_key_for_es384_is_refused",
      test_jwt_key_p256_key_for_es384_is_refused },
    { "test_jwt_key_private_key_is_refused",
      test_jwt_key_private_key_is_refused },
    { "test_jwt_key_alg_must_be_given_and_supported",
      test_jwt_key_alg_must_be_given_and_supported },
    { "test_jwt_jwks_key_lacking_alg_is_refused",
      test_jwt_jwks_key_lacking_alg_is_refused },
    { "test_jwt_jwks_key_with_use_enc_is_skipped",
      test_jwt_jwks_key_with_use_enc_is_skipped },
    { "test_jwt_empty_jwks_is_refused", test_jwt_empty_jwks_is_refused },
    { "test_jwt_jwks_key_that_cannot_verify_its_alg_is_refused_whole",
      test_jwt_jwks_key_that_cannot_verify_its_alg_is_refused_whole },
    { "test_jwt_cache_hit_does_not_verify_again",
      test_jwt_cache_hit_does_not_verify_again },
    { "test_jwt_cache_other_scope_misses", test_jwt_cache_other_scope_misses },
    { "test_jwt_cache_token_one_byte_different_misses",
      test_jwt_cache_token_one_byte_different_misses },
    { "test_jwt_cache_entry_past_its_exp_is_verified_again_and_refused",
      test_jwt_cache_entry_past_its_exp_is_verified_again_and_refused },
    { "test_jwt_cache_success_only_the_leeway_allowed_is_not_kept",
      test_jwt_cache_success_only_the_leeway_allowed_is_not_kept },
    { "test_jwt_cache_failures_are_not_cached",
      test_jwt_cache_failures_are_not_cached },
    { "test_jwt_cache_direct_mapped_eviction_keeps_the_table_bounded",
      test_jwt_cache_direct_mapped_eviction_keeps_the_table_bounded },
    { "test_jwt_cache_token_longer_than_max_token_is_verified_never_cached",
      test_jwt_cache_token_longer_than_max_token_is_verified_never_cached },
    { "test_jwt_cache_size_must_be_a_power_of_two",
      test_jwt_cache_size_must_be_a_power_of_two },
    { "test_jwt_codes_are_stable", test_jwt_codes_are_stable },
    { "test_jwt_verification_runs_on_the_event_arena",
      test_jwt_verification_runs_on_the_event_arena },
    { NULL, NULL }
};


MCPU_TEST_MAIN()
