/*
 * mcpu-token: issue test JWTs, write JSON Web Key Sets and generate keys for
 * the mcpu module, so that operators, `make run` and the test-suite need no
 * openssl CLI.
 *
 *   mcpu-token --key FILE --alg ALG --sub ID [--kid K] [--exp S | --no-exp]
 *              [--nbf S] [--iss S] [--aud S] [--claim NAME=VALUE]...
 *              [--alg-header NAME]
 *   mcpu-token --jwks --key PEM [--kid K] [--alg ALG] [--key PEM ...]...
 *   mcpu-token --gen-key ALG --out PREFIX
 *
 * Tokens are signed here with libcrypto, not with libjwt: libjwt 1.10.2
 * always rewrites the header's "alg" from the algorithm it signs with and
 * writes "alg":"none" without "typ", and the tests need a header that lies
 * about its algorithm as well as the exact unsigned form.
 *
 * This is a test tool: it signs with whatever it is given (the text of an RSA
 * public PEM as an HMAC secret, a P-384 key for ES256), so that tests can
 * make the tokens the server must refuse.  Only a key of the wrong type (an
 * EC key for RS256) is refused, because nothing could be signed with it.
 *
 * Exit status: 0, or 2 with one line on stderr.
 */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>


#define MCPU_TOKEN_MAX_KEYS      16
#define MCPU_TOKEN_MAX_CLAIMS    32
#define MCPU_TOKEN_FILE_MAX      (1024 * 1024)  /* bytes of a key file */
#define MCPU_TOKEN_SECONDS_MAX   (100LL * 366 * 86400)  /* --exp, --nbf */
#define MCPU_TOKEN_EXP_DEFAULT   3600           /* seconds */
#define MCPU_TOKEN_RSA_BITS      2048


enum mcpu_token_kind {
    MCPU_TOKEN_NONE,
    MCPU_TOKEN_HMAC,
    MCPU_TOKEN_RSA,
    MCPU_TOKEN_EC,
};

struct mcpu_token_alg {
    const char            *name;
    enum mcpu_token_kind   kind;
    const EVP_MD        *(*md)(void);
    size_t                 hash_len;    /* bytes: a generated secret's length */
    const char            *curve;       /* ES: the curve --gen-key uses */
};

static const struct mcpu_token_alg  mcpu_token_algs[] = {
    { "none",  MCPU_TOKEN_NONE, NULL,       0,  NULL },
    { "HS256", MCPU_TOKEN_HMAC, EVP_sha256, 32, NULL },
    { "HS384", MCPU_TOKEN_HMAC, EVP_sha384, 48, NULL },
    { "HS512", MCPU_TOKEN_HMAC, EVP_sha512, 64, NULL },
    { "RS256", MCPU_TOKEN_RSA,  EVP_sha256, 32, NULL },
    { "RS384", MCPU_TOKEN_RSA,  EVP_sha384, 48, NULL },
    { "RS512", MCPU_TOKEN_RSA,  EVP_sha512, 64, NULL },
    { "ES256", MCPU_TOKEN_EC,   EVP_sha256, 32, "P-256" },
    { "ES384", MCPU_TOKEN_EC,   EVP_sha384, 48, "P-384" },
    { "ES512", MCPU_TOKEN_EC,   EVP_sha512, 64, "P-521" },
};

/* OpenSSL's group name, the JWK "crv" (RFC 7518 6.2.1.1) and the bytes of
   each coordinate, which a JWK pads to that size */
static const struct {
    const char  *group;
    const char  *crv;
    size_t       size;
} mcpu_token_curves[] = {
    { "prime256v1", "P-256", 32 },
    { "secp384r1",  "P-384", 48 },
    { "secp521r1",  "P-521", 66 },
};


struct mcpu_token_key {
    const char                   *file;
    const char                   *kid;
    const struct mcpu_token_alg  *alg;
};

enum mcpu_token_mode { MCPU_TOKEN_MAKE, MCPU_TOKEN_JWKS, MCPU_TOKEN_GEN };

struct mcpu_token_conf {
    enum mcpu_token_mode          mode;
    struct mcpu_token_key         keys[MCPU_TOKEN_MAX_KEYS];
    unsigned                      nkeys;

    const char                   *sub;
    const char                   *iss;
    const char                   *aud;
    const char                   *alg_header;
    long long                     exp;      /* seconds from now */
    long long                     nbf;
    bool                          no_exp;
    bool                          has_nbf;
    const char                   *claims[MCPU_TOKEN_MAX_CLAIMS];  /* N=V */
    unsigned                      nclaims;
    const char                   *token_opt;  /* first token-only option */

    const struct mcpu_token_alg  *gen_alg;
    const char                   *out;
};


/* Long options only: the letters label the switch cases, and optstring
   holds none of them but h. */
static const struct option  mcpu_token_options[] = {
    { "key",        required_argument, NULL, 'k' },
    { "alg",        required_argument, NULL, 'a' },
    { "kid",        required_argument, NULL, 'i' },
    { "jwks",       no_argument,       NULL, 'j' },
    { "gen-key",    required_argument, NULL, 'g' },
    { "out",        required_argument, NULL, 'o' },
    /* token only, from here on */
    { "sub",        required_argument, NULL, 's' },
    { "exp",        required_argument, NULL, 'e' },
    { "no-exp",     no_argument,       NULL, 'E' },
    { "nbf",        required_argument, NULL, 'n' },
    { "iss",        required_argument, NULL, 'I' },
    { "aud",        required_argument, NULL, 'A' },
    { "claim",      required_argument, NULL, 'c' },
    { "alg-header", required_argument, NULL, 'H' },
    { "help",       no_argument,       NULL, 'h' },
    { NULL, 0, NULL, 0 }
};

static const char  mcpu_token_usage[] =
"usage:\n"
"  mcpu-token --key FILE --alg ALG --sub ID [--kid K] [--exp SECONDS | --no-exp]\n"
"             [--nbf SECONDS] [--iss S] [--aud S] [--claim NAME=VALUE]...\n"
"             [--alg-header NAME]\n"
"      print a signed JWT; iat = now, exp = now + SECONDS (default 3600,\n"
"      negative allowed), nbf = now + SECONDS.  ALG HS256/384/512: FILE is the\n"
"      secret (its bytes without one trailing newline); RS* and ES*: FILE is a\n"
"      PEM private key; none: an unsigned token, no --key.  --alg-header\n"
"      writes NAME as the header's \"alg\" without changing the signature.\n"
"  mcpu-token --jwks --key PEM [--kid K] [--alg ALG] [--key PEM ...]...\n"
"      print a JSON Web Key Set with the public part of each key; --kid and\n"
"      --alg belong to the --key before them; --alg HS*: the file is a secret.\n"
"  mcpu-token --gen-key ALG --out PREFIX\n"
"      HS*: PREFIX.secret (0600); RS* (RSA 2048) and ES*: PREFIX.key (0600)\n"
"      and PREFIX.pub (0644).\n";


static int
mcpu_token_verror(bool ssl, const char *fmt, va_list ap)
{
    unsigned long  e = ssl ? ERR_peek_last_error() : 0;
    const char    *reason = e ? ERR_reason_error_string(e) : NULL;

    fputs("mcpu-token: ", stderr);
    vfprintf(stderr, fmt, ap);
    if (e != 0) {
        fprintf(stderr, ": %s", reason ? reason : "OpenSSL error");
    }
    fputc('\n', stderr);
    ERR_clear_error();
    return -1;
}

/* Both print one line and return -1; the _ssl one adds OpenSSL's reason. */
static int
mcpu_token_error(const char *fmt, ...)
{
    va_list  ap;

    va_start(ap, fmt);
    mcpu_token_verror(false, fmt, ap);
    va_end(ap);
    return -1;
}

static int
mcpu_token_ssl_error(const char *fmt, ...)
{
    va_list  ap;

    va_start(ap, fmt);
    mcpu_token_verror(true, fmt, ap);
    va_end(ap);
    return -1;
}


/* base64url without padding (RFC 7515 section 2); malloc'd, NUL-ended. */
static char *
mcpu_token_b64url(const unsigned char *data, size_t len)
{
    char  *out, *p;

    out = malloc(4 * ((len + 2) / 3) + 1);
    if (out == NULL) {
        return NULL;
    }
    EVP_EncodeBlock((unsigned char *) out, data, (int) len);
    for (p = out; *p != '\0' && *p != '='; p++) {
        *p = (*p == '+') ? '-' : (*p == '/') ? '_' : *p;
    }
    *p = '\0';
    return out;
}

static int
mcpu_token_set_b64(json_t *o, const char *name, const void *data, size_t len)
{
    char  *b64 = mcpu_token_b64url(data, len);
    int    rc;

    rc = (b64 == NULL) ? -1 : json_object_set_new(o, name, json_string(b64));
    free(b64);
    return rc == 0 ? 0 : mcpu_token_error("out of memory");
}

/* json_string() refuses bytes that are not UTF-8; say which value it was. */
static int
mcpu_token_set_str(json_t *o, const char *name, const char *value)
{
    json_t  *s = json_string(value);

    if (s == NULL) {
        return mcpu_token_error("%s: '%s' is not UTF-8", name, value);
    }
    return json_object_set_new(o, name, s) == 0
           ? 0 : mcpu_token_error("out of memory");
}

static int
mcpu_token_set_int(json_t *o, const char *name, long long value)
{
    return json_object_set_new(o, name, json_integer(value)) == 0
           ? 0 : mcpu_token_error("out of memory");
}


/* The whole file, NUL-terminated; *len excludes the NUL. */
static char *
mcpu_token_read_file(const char *path, size_t *len)
{
    FILE  *f;
    char  *buf;
    int    err;

    f = fopen(path, "rb");
    if (f == NULL) {
        mcpu_token_error("%s: %s", path, strerror(errno));
        return NULL;
    }
    buf = malloc(MCPU_TOKEN_FILE_MAX + 1);
    if (buf == NULL) {
        fclose(f);
        mcpu_token_error("out of memory");
        return NULL;
    }
    *len = fread(buf, 1, MCPU_TOKEN_FILE_MAX + 1, f);
    err = ferror(f) ? errno : 0;
    fclose(f);
    if (err != 0 || *len > MCPU_TOKEN_FILE_MAX) {
        free(buf);
        mcpu_token_error("%s: %s", path,
                         err ? strerror(err) : "larger than 1 MiB");
        return NULL;
    }
    buf[*len] = '\0';
    return buf;
}

/* An HMAC secret is the file's bytes without one trailing newline, the same
   rule the module applies, so both sides hold the same key. */
static char *
mcpu_token_read_secret(const char *path, size_t *len)
{
    char  *s = mcpu_token_read_file(path, len);

    if (s != NULL && *len > 0 && s[*len - 1] == '\n') {
        s[--*len] = '\0';
    }
    if (s != NULL && *len == 0) {
        free(s);
        mcpu_token_error("%s: the secret is empty", path);
        return NULL;
    }
    return s;
}

/* Never prompt for a passphrase: the tool runs unattended in tests. */
static int
mcpu_token_no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void) buf; (void) size; (void) rwflag; (void) u;
    return -1;
}

/* A PEM private key, or (unless private_only) a public one first. */
static EVP_PKEY *
mcpu_token_load_pem(const char *path, bool private_only)
{
    EVP_PKEY  *pkey = NULL;
    BIO       *bio;
    size_t     len;
    char      *pem;
    int        i;

    pem = mcpu_token_read_file(path, &len);
    if (pem == NULL) {
        return NULL;
    }
    for (i = private_only ? 1 : 0; pkey == NULL && i < 2; i++) {
        bio = BIO_new_mem_buf(pem, (int) len);
        if (bio == NULL) {
            break;
        }
        pkey = (i == 0)
               ? PEM_read_bio_PUBKEY(bio, NULL, mcpu_token_no_passphrase, NULL)
               : PEM_read_bio_PrivateKey(bio, NULL, mcpu_token_no_passphrase,
                                         NULL);
        BIO_free(bio);
    }
    free(pem);
    if (pkey == NULL) {
        mcpu_token_ssl_error(private_only ? "%s: not a PEM private key"
                             : "%s: not a PEM key (a secret needs --alg HS*)",
                             path);
        return NULL;
    }
    ERR_clear_error();    /* the failed PUBKEY attempt, if any */
    return pkey;
}

static int
mcpu_token_check_type(const char *path, EVP_PKEY *pkey,
    const struct mcpu_token_alg *alg)
{
    bool  rsa = (alg->kind == MCPU_TOKEN_RSA);

    if (EVP_PKEY_get_base_id(pkey) != (rsa ? EVP_PKEY_RSA : EVP_PKEY_EC)) {
        return mcpu_token_error("%s: not an %s key, which %s needs", path,
                                rsa ? "RSA" : "EC", alg->name);
    }
    return 0;
}


/* JWS wants ECDSA signatures as r || s, each padded to the key's size
   (RFC 7518 3.4); libcrypto makes DER.  Replaces *sig. */
static int
mcpu_token_ecdsa_raw(EVP_PKEY *pkey, unsigned char **sig, size_t *siglen)
{
    const unsigned char  *p = *sig;
    const BIGNUM         *r, *s;
    unsigned char        *raw;
    ECDSA_SIG            *es;
    size_t                size = ((size_t) EVP_PKEY_get_bits(pkey) + 7) / 8;

    es = d2i_ECDSA_SIG(NULL, &p, (long) *siglen);
    raw = malloc(2 * size);
    if (es == NULL || raw == NULL) {
        ECDSA_SIG_free(es);
        free(raw);
        return mcpu_token_ssl_error("cannot convert the ECDSA signature");
    }
    ECDSA_SIG_get0(es, &r, &s);
    if (BN_bn2binpad(r, raw, (int) size) < 0
        || BN_bn2binpad(s, raw + size, (int) size) < 0)
    {
        ECDSA_SIG_free(es);
        free(raw);
        return mcpu_token_error("the ECDSA signature is larger than the key");
    }
    ECDSA_SIG_free(es);
    free(*sig);
    *sig = raw;
    *siglen = 2 * size;
    return 0;
}

static int
mcpu_token_sign_pkey(const struct mcpu_token_key *k, const char *data,
    unsigned char **sig, size_t *siglen)
{
    EVP_MD_CTX  *ctx = NULL;
    EVP_PKEY    *pkey;
    size_t       n = strlen(data);
    int          rc = -1;

    pkey = mcpu_token_load_pem(k->file, true);
    if (pkey == NULL || mcpu_token_check_type(k->file, pkey, k->alg) != 0) {
        goto done;
    }
    ctx = EVP_MD_CTX_new();
    if (ctx == NULL
        || EVP_DigestSignInit(ctx, NULL, k->alg->md(), NULL, pkey) != 1
        || EVP_DigestSign(ctx, NULL, siglen, (const void *) data, n) != 1
        || (*sig = malloc(*siglen)) == NULL
        || EVP_DigestSign(ctx, *sig, siglen, (const void *) data, n) != 1)
    {
        mcpu_token_ssl_error("%s: cannot sign with %s", k->file, k->alg->name);
        goto done;
    }
    rc = (k->alg->kind == MCPU_TOKEN_EC)
         ? mcpu_token_ecdsa_raw(pkey, sig, siglen) : 0;
done:
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pkey);
    return rc;
}

static int
mcpu_token_sign_hmac(const struct mcpu_token_key *k, const char *data,
    unsigned char **sig, size_t *siglen)
{
    unsigned int  len;
    size_t        keylen;
    char         *key;

    key = mcpu_token_read_secret(k->file, &keylen);
    if (key == NULL) {
        return -1;
    }
    *sig = malloc(EVP_MAX_MD_SIZE);
    if (*sig == NULL
        || HMAC(k->alg->md(), key, (int) keylen, (const unsigned char *) data,
                strlen(data), *sig, &len) == NULL)
    {
        free(key);
        return mcpu_token_ssl_error("%s: HMAC failed", k->file);
    }
    free(key);
    *siglen = len;
    return 0;
}


/* Each setter prints its own error; || stops at the first. */
static json_t *
mcpu_token_payload(const struct mcpu_token_conf *cf, long long now)
{
    json_t    *p = json_object();
    unsigned   i;
    int        rc;

    if (p == NULL) {
        mcpu_token_error("out of memory");
        return NULL;
    }
    rc = mcpu_token_set_str(p, "sub", cf->sub)
         || mcpu_token_set_int(p, "iat", now)
         || (cf->has_nbf && mcpu_token_set_int(p, "nbf", now + cf->nbf))
         || (!cf->no_exp && mcpu_token_set_int(p, "exp", now + cf->exp))
         || (cf->iss && mcpu_token_set_str(p, "iss", cf->iss))
         || (cf->aud && mcpu_token_set_str(p, "aud", cf->aud));
    for (i = 0; i < cf->nclaims && rc == 0; i++) {
        /* NAME=VALUE was checked when parsed; a NAME may replace sub etc. */
        const char  *eq = strchr(cf->claims[i], '=');
        char        *name = strndup(cf->claims[i], eq - cf->claims[i]);

        rc = name ? mcpu_token_set_str(p, name, eq + 1)
                  : mcpu_token_error("out of memory");
        free(name);
    }
    if (rc != 0) {
        json_decref(p);
        return NULL;
    }
    return p;
}

static json_t *
mcpu_token_header(const struct mcpu_token_conf *cf)
{
    const struct mcpu_token_key  *k = &cf->keys[0];
    json_t                       *h = json_object();

    if (h == NULL) {
        mcpu_token_error("out of memory");
        return NULL;
    }
    if (mcpu_token_set_str(h, "alg", cf->alg_header ? cf->alg_header
                                                    : k->alg->name)
        || mcpu_token_set_str(h, "typ", "JWT")
        || (k->kid && mcpu_token_set_str(h, "kid", k->kid)))
    {
        json_decref(h);
        return NULL;
    }
    return h;
}

/* The JSON of header or payload, base64url-encoded; consumes o.  o NULL:
   its builder has already said why. */
static char *
mcpu_token_encode(json_t *o)
{
    char  *json, *b64 = NULL;

    if (o == NULL) {
        return NULL;
    }
    json = json_dumps(o, JSON_COMPACT);
    if (json != NULL) {
        b64 = mcpu_token_b64url((unsigned char *) json, strlen(json));
    }
    if (b64 == NULL) {
        mcpu_token_error("out of memory");
    }
    free(json);
    json_decref(o);
    return b64;
}

static int
mcpu_token_make(const struct mcpu_token_conf *cf)
{
    const struct mcpu_token_key  *k = &cf->keys[0];
    unsigned char                *sig = NULL;
    size_t                        siglen = 0;
    char                         *hb, *pb = NULL, *input = NULL, *sb = NULL;
    int                           rc = -1;

    hb = mcpu_token_encode(mcpu_token_header(cf));
    if (hb == NULL) {
        goto done;
    }
    pb = mcpu_token_encode(mcpu_token_payload(cf, (long long) time(NULL)));
    if (pb == NULL) {
        goto done;
    }
    if (asprintf(&input, "%s.%s", hb, pb) < 0) {
        input = NULL;
        mcpu_token_error("out of memory");
        goto done;
    }
    if (k->alg->kind != MCPU_TOKEN_NONE) {
        rc = (k->alg->kind == MCPU_TOKEN_HMAC)
             ? mcpu_token_sign_hmac(k, input, &sig, &siglen)
             : mcpu_token_sign_pkey(k, input, &sig, &siglen);
        if (rc != 0) {
            goto done;
        }
        sb = mcpu_token_b64url(sig, siglen);
        if (sb == NULL) {
            rc = mcpu_token_error("out of memory");
            goto done;
        }
    }
    /* "alg":"none" ends in an empty signature: "header.payload." */
    printf("%s.%s\n", input, sb ? sb : "");
    rc = 0;
done:
    free(hb);
    free(pb);
    free(input);
    free(sig);
    free(sb);
    return rc;
}


/* Big-endian bytes of a key's BIGNUM parameter, padded to pad if not 0. */
static int
mcpu_token_set_bn(json_t *o, const char *name, EVP_PKEY *pkey,
    const char *param, size_t pad)
{
    unsigned char  *buf = NULL;
    BIGNUM         *bn = NULL;
    size_t          len;
    int             rc;

    if (EVP_PKEY_get_bn_param(pkey, param, &bn) != 1) {
        return mcpu_token_ssl_error("cannot read the key's \"%s\"", param);
    }
    len = pad ? pad : (size_t) BN_num_bytes(bn);
    buf = malloc(len ? len : 1);
    if (buf == NULL || BN_bn2binpad(bn, buf, (int) len) < 0) {
        rc = mcpu_token_error("cannot encode the key's \"%s\"", param);
    } else {
        rc = mcpu_token_set_b64(o, name, buf, len);
    }
    free(buf);
    BN_free(bn);
    return rc;
}

static int
mcpu_token_jwk_ec(json_t *jwk, EVP_PKEY *pkey, const char *path)
{
    char    group[64];
    size_t  i, n = sizeof(mcpu_token_curves) / sizeof(mcpu_token_curves[0]);

    if (EVP_PKEY_get_group_name(pkey, group, sizeof(group), NULL) != 1) {
        return mcpu_token_ssl_error("%s: cannot read the EC curve", path);
    }
    for (i = 0; i < n; i++) {
        if (strcmp(group, mcpu_token_curves[i].group) == 0) {
            break;
        }
    }
    if (i == n) {
        return mcpu_token_error("%s: curve %s has no JWK name", path, group);
    }
    if (mcpu_token_set_str(jwk, "kty", "EC")
        || mcpu_token_set_str(jwk, "crv", mcpu_token_curves[i].crv)
        || mcpu_token_set_bn(jwk, "x", pkey, OSSL_PKEY_PARAM_EC_PUB_X,
                             mcpu_token_curves[i].size) != 0
        || mcpu_token_set_bn(jwk, "y", pkey, OSSL_PKEY_PARAM_EC_PUB_Y,
                             mcpu_token_curves[i].size) != 0)
    {
        return -1;
    }
    return 0;
}

/* kty, then the public key material of the key k names. */
static int
mcpu_token_jwk_material(json_t *jwk, const struct mcpu_token_key *k)
{
    EVP_PKEY  *pkey;
    size_t     len;
    char      *secret;
    int        rc;

    if (k->alg != NULL && k->alg->kind == MCPU_TOKEN_HMAC) {
        secret = mcpu_token_read_secret(k->file, &len);
        if (secret == NULL) {
            return -1;
        }
        rc = mcpu_token_set_str(jwk, "kty", "oct")
             || mcpu_token_set_b64(jwk, "k", secret, len);
        free(secret);
        return rc;
    }
    pkey = mcpu_token_load_pem(k->file, false);
    if (pkey == NULL) {
        return -1;
    }
    if (k->alg != NULL && mcpu_token_check_type(k->file, pkey, k->alg) != 0) {
        rc = -1;
    } else if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA) {
        rc = mcpu_token_set_str(jwk, "kty", "RSA")
             || mcpu_token_set_bn(jwk, "n", pkey, OSSL_PKEY_PARAM_RSA_N, 0)
             || mcpu_token_set_bn(jwk, "e", pkey, OSSL_PKEY_PARAM_RSA_E, 0);
    } else if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_EC) {
        rc = mcpu_token_jwk_ec(jwk, pkey, k->file);
    } else {
        rc = mcpu_token_error("%s: the key is %s, neither RSA nor EC",
                              k->file, EVP_PKEY_get0_type_name(pkey));
    }
    EVP_PKEY_free(pkey);
    return rc ? -1 : 0;
}

static int
mcpu_token_jwks(const struct mcpu_token_conf *cf)
{
    json_t    *root, *keys, *jwk;
    unsigned   i;
    char      *out = NULL;
    int        rc = 0;

    root = json_object();
    keys = json_array();
    if (root == NULL || json_object_set_new(root, "keys", keys) != 0) {
        json_decref(root);
        return mcpu_token_error("out of memory");
    }
    for (i = 0; i < cf->nkeys && rc == 0; i++) {
        const struct mcpu_token_key  *k = &cf->keys[i];

        jwk = json_object();
        if (jwk == NULL || json_array_append_new(keys, jwk) != 0) {
            rc = mcpu_token_error("out of memory");
            break;
        }
        rc = mcpu_token_jwk_material(jwk, k)
             || mcpu_token_set_str(jwk, "use", "sig")
             || (k->alg && mcpu_token_set_str(jwk, "alg", k->alg->name))
             || (k->kid && mcpu_token_set_str(jwk, "kid", k->kid));
    }
    out = rc ? NULL : json_dumps(root, JSON_INDENT(2));
    if (out != NULL) {
        printf("%s\n", out);
    } else if (rc == 0) {
        rc = mcpu_token_error("out of memory");
    }
    free(out);
    json_decref(root);
    return rc ? -1 : 0;
}


static int
mcpu_token_write_file(const char *path, mode_t mode, const void *data,
    size_t len)
{
    const char  *p = data;
    ssize_t      n;
    int          fd, err;

    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd == -1) {
        return mcpu_token_error("%s: %s", path, strerror(errno));
    }
    /* open() keeps an existing file's mode: a private key must not stay
       world-readable, so set it before any byte is written */
    if (fchmod(fd, mode) == -1) {
        goto failed;
    }
    while (len > 0) {
        n = write(fd, p, len);
        if (n == -1 && errno == EINTR) {
            continue;
        }
        if (n == -1) {
            goto failed;
        }
        p += n;
        len -= (size_t) n;
    }
    if (close(fd) == -1) {
        return mcpu_token_error("%s: %s", path, strerror(errno));
    }
    return 0;
failed:
    err = errno;
    close(fd);
    return mcpu_token_error("%s: %s", path, strerror(err));
}

/* Printable, so an operator can paste it; base64url's 64 characters take
   exactly 6 bits of each random byte, so none is more likely than another. */
static int
mcpu_token_gen_secret(const struct mcpu_token_alg *alg, const char *prefix)
{
    static const char  abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                               "abcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned char      buf[EVP_MAX_MD_SIZE + 1];
    size_t             i, n = alg->hash_len;
    char              *path;
    int                rc;

    if (RAND_bytes(buf, (int) n) != 1) {
        return mcpu_token_ssl_error("no random bytes");
    }
    for (i = 0; i < n; i++) {
        buf[i] = (unsigned char) abc[buf[i] & 63];
    }
    buf[n] = '\n';          /* readers drop one trailing newline */
    if (asprintf(&path, "%s.secret", prefix) < 0) {
        return mcpu_token_error("out of memory");
    }
    rc = mcpu_token_write_file(path, 0600, buf, n + 1);
    free(path);
    return rc;
}

static int
mcpu_token_write_pem(EVP_PKEY *pkey, bool private, const char *prefix)
{
    char  *path = NULL, *data;
    long   len;
    BIO   *bio;
    int    rc;

    bio = BIO_new(BIO_s_mem());
    if (bio == NULL
        || (private ? PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0,
                                               NULL, NULL)
                    : PEM_write_bio_PUBKEY(bio, pkey)) != 1
        || (len = BIO_get_mem_data(bio, &data)) <= 0)
    {
        BIO_free(bio);
        return mcpu_token_ssl_error("cannot write the %s key as PEM",
                                    private ? "private" : "public");
    }
    if (asprintf(&path, "%s.%s", prefix, private ? "key" : "pub") < 0) {
        path = NULL;
        rc = mcpu_token_error("out of memory");
    } else {
        rc = mcpu_token_write_file(path, private ? 0600 : 0644, data,
                                   (size_t) len);
    }
    free(path);
    BIO_free(bio);
    return rc;
}

static int
mcpu_token_gen(const struct mcpu_token_conf *cf)
{
    const struct mcpu_token_alg  *alg = cf->gen_alg;
    EVP_PKEY                     *pkey;
    int                           rc;

    if (alg->kind == MCPU_TOKEN_HMAC) {
        return mcpu_token_gen_secret(alg, cf->out);
    }
    pkey = (alg->kind == MCPU_TOKEN_RSA)
           ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) MCPU_TOKEN_RSA_BITS)
           : EVP_PKEY_Q_keygen(NULL, NULL, "EC", alg->curve);
    if (pkey == NULL) {
        return mcpu_token_ssl_error("cannot generate a key for %s", alg->name);
    }
    rc = mcpu_token_write_pem(pkey, true, cf->out);
    rc = rc ? rc : mcpu_token_write_pem(pkey, false, cf->out);
    EVP_PKEY_free(pkey);
    return rc;
}


static const struct mcpu_token_alg *
mcpu_token_find_alg(const char *opt, const char *name)
{
    size_t  i;

    for (i = 0; i < sizeof(mcpu_token_algs) / sizeof(mcpu_token_algs[0]); i++)
    {
        if (strcmp(name, mcpu_token_algs[i].name) == 0) {
            return &mcpu_token_algs[i];
        }
    }
    mcpu_token_error("%s: unknown algorithm '%s' (HS256/384/512, "
                     "RS256/384/512, ES256/384/512, none)", opt, name);
    return NULL;
}

static int
mcpu_token_seconds(const char *opt, const char *s, long long *v)
{
    char  *end;

    errno = 0;
    *v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0'
        || *v < -MCPU_TOKEN_SECONDS_MAX || *v > MCPU_TOKEN_SECONDS_MAX)
    {
        return mcpu_token_error("%s: '%s' is not a number of seconds", opt, s);
    }
    return 0;
}

/* --key starts a key unless the last one has no file yet (its --kid or --alg
   came first); --kid and --alg belong to the last key. */
static struct mcpu_token_key *
mcpu_token_key(struct mcpu_token_conf *cf, bool for_file)
{
    struct mcpu_token_key  *last = cf->nkeys ? &cf->keys[cf->nkeys - 1] : NULL;

    if (last != NULL && !(for_file && last->file != NULL)) {
        return last;
    }
    if (cf->nkeys == MCPU_TOKEN_MAX_KEYS) {
        mcpu_token_error("more than %d keys", MCPU_TOKEN_MAX_KEYS);
        return NULL;
    }
    return &cf->keys[cf->nkeys++];
}

static int
mcpu_token_option(struct mcpu_token_conf *cf, const struct option *o,
    const char *arg)
{
    struct mcpu_token_key  *k;
    enum mcpu_token_mode    mode;

    switch (o->val) {
    case 'k':
        k = mcpu_token_key(cf, true);
        if (k != NULL) {
            k->file = arg;
        }
        return k ? 0 : -1;
    case 'i':
        k = mcpu_token_key(cf, false);
        if (k == NULL || k->kid != NULL) {
            return k ? mcpu_token_error("--kid given twice for one --key") : -1;
        }
        k->kid = arg;
        return 0;
    case 'a':
        k = mcpu_token_key(cf, false);
        if (k == NULL || k->alg != NULL) {
            return k ? mcpu_token_error("--alg given twice for one --key") : -1;
        }
        k->alg = mcpu_token_find_alg("--alg", arg);
        return k->alg ? 0 : -1;
    case 'j':
    case 'g':
        mode = (o->val == 'j') ? MCPU_TOKEN_JWKS : MCPU_TOKEN_GEN;
        if (cf->mode != MCPU_TOKEN_MAKE && cf->mode != mode) {
            return mcpu_token_error("--jwks and --gen-key exclude each other");
        }
        cf->mode = mode;
        if (mode == MCPU_TOKEN_GEN) {
            cf->gen_alg = mcpu_token_find_alg("--gen-key", arg);
        }
        return (mode == MCPU_TOKEN_GEN && cf->gen_alg == NULL) ? -1 : 0;
    case 'o':
        cf->out = arg;
        return 0;
    }

    /* the rest make sense only for a token; check() refuses them elsewhere */
    if (cf->token_opt == NULL) {
        cf->token_opt = o->name;
    }
    switch (o->val) {
    case 's': cf->sub = arg;         return 0;
    case 'I': cf->iss = arg;         return 0;
    case 'A': cf->aud = arg;         return 0;
    case 'H': cf->alg_header = arg;  return 0;
    case 'E': cf->no_exp = true;     return 0;
    case 'e':
        return mcpu_token_seconds("--exp", arg, &cf->exp);
    case 'n':
        cf->has_nbf = true;
        return mcpu_token_seconds("--nbf", arg, &cf->nbf);
    case 'c':
        if (strchr(arg, '=') == NULL || arg[0] == '=') {
            return mcpu_token_error("--claim: '%s' is not NAME=VALUE", arg);
        }
        if (cf->nclaims == MCPU_TOKEN_MAX_CLAIMS) {
            return mcpu_token_error("more than %d --claim",
                                    MCPU_TOKEN_MAX_CLAIMS);
        }
        cf->claims[cf->nclaims++] = arg;
        return 0;
    }
    return mcpu_token_error("--%s is not handled", o->name);
}

/* What each mode needs, and nothing it would silently ignore. */
static int
mcpu_token_check(const struct mcpu_token_conf *cf)
{
    const struct mcpu_token_key  *k = &cf->keys[0];
    unsigned                      i;

    if (cf->mode != MCPU_TOKEN_MAKE && cf->token_opt != NULL) {
        return mcpu_token_error("--%s is only for making a token",
                                cf->token_opt);
    }
    if (cf->mode != MCPU_TOKEN_GEN && cf->out != NULL) {
        return mcpu_token_error("--out is only for --gen-key");
    }
    switch (cf->mode) {
    case MCPU_TOKEN_GEN:
        if (cf->nkeys != 0) {
            return mcpu_token_error("--gen-key takes no --key, --kid or --alg");
        }
        if (cf->gen_alg->kind == MCPU_TOKEN_NONE) {
            return mcpu_token_error("--gen-key: 'none' has no key");
        }
        return cf->out ? 0 : mcpu_token_error("--gen-key needs --out PREFIX");
    case MCPU_TOKEN_JWKS:
        for (i = 0; i < cf->nkeys; i++) {
            if (cf->keys[i].file == NULL) {
                return mcpu_token_error("--kid or --alg without a --key");
            }
            if (cf->keys[i].alg && cf->keys[i].alg->kind == MCPU_TOKEN_NONE) {
                return mcpu_token_error("--alg none has no key for a JWKS");
            }
        }
        return cf->nkeys ? 0 : mcpu_token_error("--jwks needs --key");
    case MCPU_TOKEN_MAKE:
        break;
    }
    if (cf->nkeys > 1) {
        return mcpu_token_error("a token takes one --key");
    }
    if (cf->nkeys == 0 || k->alg == NULL) {
        return mcpu_token_error("--alg is required");
    }
    if (k->file == NULL && k->alg->kind != MCPU_TOKEN_NONE) {
        return mcpu_token_error("--key is required for %s", k->alg->name);
    }
    return cf->sub ? 0 : mcpu_token_error("--sub is required");
}

/* Returns 0 to go on, 1 after -h, -1 on a usage error. */
static int
mcpu_token_parse(int argc, char **argv, struct mcpu_token_conf *cf)
{
    int  opt, i;

    cf->exp = MCPU_TOKEN_EXP_DEFAULT;
    if (argc < 2) {
        return mcpu_token_error("no arguments (-h prints the usage)");
    }
    opterr = 0;    /* our own messages, one line each */
    while ((opt = getopt_long(argc, argv, ":h", mcpu_token_options, &i))
           != -1)
    {
        if (opt == 'h') {
            fputs(mcpu_token_usage, stdout);
            return 1;
        }
        if (opt == '?' || opt == ':') {
            return mcpu_token_error("%s '%s' (-h prints the usage)",
                                    opt == '?' ? "unknown option"
                                               : "no value for",
                                    argv[optind - 1]);
        }
        if (mcpu_token_option(cf, &mcpu_token_options[i], optarg) != 0) {
            return -1;
        }
    }
    if (optind < argc) {
        return mcpu_token_error("unexpected argument '%s'", argv[optind]);
    }
    return mcpu_token_check(cf);
}


int
main(int argc, char **argv)
{
    static struct mcpu_token_conf  cf;    /* zeroed: no keys, no options */
    int                            rc;

    rc = mcpu_token_parse(argc, argv, &cf);
    if (rc != 0) {
        return rc > 0 ? 0 : 2;
    }
    switch (cf.mode) {
    case MCPU_TOKEN_JWKS:
        rc = mcpu_token_jwks(&cf);
        break;
    case MCPU_TOKEN_GEN:
        rc = mcpu_token_gen(&cf);
        break;
    default:
        rc = mcpu_token_make(&cf);
        break;
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        rc = mcpu_token_error("stdout: %s", strerror(errno));
    }
    return rc == 0 ? 0 : 2;
}
