/*
 * ngx_http_mcpu_auth.c: the JWT step of a request.  Keys are loaded and
 * checked when nginx reads its configuration; each worker verifies through
 * its own cache, so a client that sends many requests with one token pays
 * for one verification.  The outcome is kept in the request's context:
 * $mcpu_client_id (evaluated by limit_req in an earlier phase, or by
 * log_format) and the ingest handler verify a token once between them.
 */

#include "ngx_http_mcpu_module.h"


static void ngx_http_mcpu_keyset_cleanup(void *data);
static ngx_int_t ngx_http_mcpu_bearer(ngx_http_request_t *r,
    ngx_str_t *token);
static ngx_int_t ngx_http_mcpu_client_id_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


static ngx_http_variable_t  ngx_http_mcpu_vars[] = {

    { ngx_string("mcpu_client_id"), NULL,
      ngx_http_mcpu_client_id_variable, 0,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};

/* one per worker, shared by every location: entries carry their scope */
static mcpu_jwt_cache_t  *ngx_http_mcpu_jwt_cache;


ngx_http_mcpu_ctx_t *
ngx_http_mcpu_get_ctx(ngx_http_request_t *r)
{
    ngx_http_mcpu_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_mcpu_module);
    if (ctx != NULL) {
        return ctx;
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_mcpu_ctx_t));
    if (ctx == NULL) {
        return NULL;
    }

    ngx_http_set_ctx(r, ctx, ngx_http_mcpu_module);
    return ctx;
}


ngx_uint_t
ngx_http_mcpu_auth(ngx_http_request_t *r, ngx_http_mcpu_ctx_t *ctx)
{
    ngx_str_t                  token;
    ngx_http_mcpu_loc_conf_t  *mlcf;

    if (ctx->auth_done) {
        return ctx->auth;
    }

    ctx->auth_done = 1;
    mlcf = ngx_http_get_module_loc_conf(r, ngx_http_mcpu_module);

    if (!mlcf->jwt || mlcf->jwt_keys == NULL) {
        ctx->auth = NGX_HTTP_MCPU_AUTH_OFF;
        return ctx->auth;
    }

    if (ngx_http_mcpu_bearer(r, &token) != NGX_OK) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "mcpu: no bearer token");
        ctx->auth = NGX_HTTP_MCPU_AUTH_MISSING;
        return ctx->auth;
    }

    /* the scope is the location's configuration: a token verified under
     * one set of keys and claims is not a hit for another */
    ctx->jwt_rc = mcpu_jwt_verify_cached(ngx_http_mcpu_jwt_cache,
                                         (uintptr_t) mlcf->jwt_keys
                                         ^ (uintptr_t) &mlcf->jwt_policy,
                                         mlcf->jwt_keys, &mlcf->jwt_policy,
                                         (const char *) token.data,
                                         token.len, (int64_t) ngx_time(),
                                         &ctx->jwt);

    if (ctx->jwt_rc != MCPU_JWT_OK) {
        ngx_http_mcpu_count(ngx_http_get_module_main_conf(r,
                                                      ngx_http_mcpu_module),
                            NGX_HTTP_MCPU_STAT_TOKEN + ctx->jwt_rc, 1);

        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "mcpu: token refused, %s: %s",
                      mcpu_jwt_code(ctx->jwt_rc), ctx->jwt.detail);
        ctx->auth = NGX_HTTP_MCPU_AUTH_INVALID;
        return ctx->auth;
    }

    ctx->auth = NGX_HTTP_MCPU_AUTH_OK;
    return ctx->auth;
}


/* "Authorization: Bearer <token>", the scheme in any case (RFC 7235) */
static ngx_int_t
ngx_http_mcpu_bearer(ngx_http_request_t *r, ngx_str_t *token)
{
    u_char           *p, *last;
    ngx_table_elt_t  *h;

    h = r->headers_in.authorization;

    if (h == NULL || h->value.len < sizeof("Bearer ") - 1
        || ngx_strncasecmp(h->value.data, (u_char *) "Bearer ",
                           sizeof("Bearer ") - 1) != 0)
    {
        return NGX_DECLINED;
    }

    p = h->value.data + sizeof("Bearer ") - 1;
    last = h->value.data + h->value.len;

    while (p < last && *p == ' ') {
        p++;
    }

    while (last > p && last[-1] == ' ') {
        last--;
    }

    if (p == last) {
        return NGX_DECLINED;
    }

    token->data = p;
    token->len = last - p;

    return NGX_OK;
}


/*
 * RFC 6750 section 3: no credentials, a challenge without an error code;
 * a token that fails, error="invalid_token".  The description is the
 * reason's code, never anything of the token.
 */
ngx_int_t
ngx_http_mcpu_auth_refuse(ngx_http_request_t *r, ngx_http_mcpu_ctx_t *ctx,
    ngx_uint_t auth)
{
    size_t       len;
    u_char      *value;
    const char  *code;

    if (auth == NGX_HTTP_MCPU_AUTH_MISSING) {
        if (ngx_http_mcpu_add_header(r, "WWW-Authenticate",
                                     (u_char *) "Bearer realm=\"mcpu\"",
                                     sizeof("Bearer realm=\"mcpu\"") - 1)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_mcpu_refuse(r, NGX_HTTP_UNAUTHORIZED, "missing_token",
                                    "an Authorization: Bearer token is "
                                    "required");
    }

    code = mcpu_jwt_code(ctx->jwt_rc);
    len = sizeof("Bearer realm=\"mcpu\", error=\"invalid_token\", "
                 "error_description=\"\"") - 1 + ngx_strlen(code);

    value = ngx_pnalloc(r->pool, len);
    if (value == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_sprintf(value, "Bearer realm=\"mcpu\", error=\"invalid_token\", "
                "error_description=\"%s\"", code);

    if (ngx_http_mcpu_add_header(r, "WWW-Authenticate", value, len)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_mcpu_refuse(r, NGX_HTTP_UNAUTHORIZED, "invalid_token",
                                code);
}


static ngx_int_t
ngx_http_mcpu_client_id_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_mcpu_ctx_t  *ctx;

    ctx = ngx_http_mcpu_get_ctx(r);
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    if (ngx_http_mcpu_auth(r, ctx) != NGX_HTTP_MCPU_AUTH_OK) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->data = (u_char *) ctx->jwt.sub;
    v->len = ctx->jwt.sub_len;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}


ngx_int_t
ngx_http_mcpu_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_mcpu_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


/*
 * mcpu_jwt_key FILE [alg=ALG] [kid=KID];
 */
char *
ngx_http_mcpu_jwt_key(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_mcpu_loc_conf_t *mlcf = conf;

    char                *alg, *kid;
    char                 err[512];
    ngx_str_t           *value, path;
    ngx_uint_t           i;
    ngx_pool_cleanup_t  *cln;

    value = cf->args->elts;
    alg = NULL;
    kid = NULL;

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "alg=", 4) == 0 && value[i].len > 4) {
            alg = (char *) value[i].data + 4;
            continue;
        }

        if (ngx_strncmp(value[i].data, "kid=", 4) == 0 && value[i].len > 4) {
            kid = (char *) value[i].data + 4;
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\"", &value[i]);
        return NGX_CONF_ERROR;
    }

    if (mlcf->jwt_keys == NULL) {
        cln = ngx_pool_cleanup_add(cf->pool, 0);
        if (cln == NULL) {
            return NGX_CONF_ERROR;
        }

        mlcf->jwt_keys = mcpu_jwt_keyset_new();
        if (mlcf->jwt_keys == NULL) {
            return NGX_CONF_ERROR;
        }

        cln->handler = ngx_http_mcpu_keyset_cleanup;
        cln->data = mlcf->jwt_keys;
    }

    path = value[1];
    if (ngx_conf_full_name(cf->cycle, &path, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (mcpu_jwt_keyset_load(mlcf->jwt_keys, (char *) path.data, alg, kid,
                             err, sizeof(err)) != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "mcpu_jwt_key: %s", err);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static void
ngx_http_mcpu_keyset_cleanup(void *data)
{
    mcpu_jwt_keyset_free(data);
}


char *
ngx_http_mcpu_jwt_merge(ngx_conf_t *cf, ngx_http_mcpu_loc_conf_t *prev,
    ngx_http_mcpu_loc_conf_t *conf)
{
    /* keys are replaced as a whole, as nginx's array directives are */
    if (conf->jwt_keys == NULL) {
        conf->jwt_keys = prev->jwt_keys;
    }

    ngx_conf_merge_value(conf->jwt, prev->jwt, 1);
    ngx_conf_merge_str_value(conf->jwt_issuer, prev->jwt_issuer, "");
    ngx_conf_merge_str_value(conf->jwt_audience, prev->jwt_audience, "");
    ngx_conf_merge_sec_value(conf->jwt_leeway, prev->jwt_leeway, 0);

    /* ngx_str_t values from the configuration are NUL-terminated */
    conf->jwt_policy.issuer = conf->jwt_issuer.len
                              ? (const char *) conf->jwt_issuer.data : NULL;
    conf->jwt_policy.audience = conf->jwt_audience.len
                                ? (const char *) conf->jwt_audience.data
                                : NULL;
    conf->jwt_policy.leeway = conf->jwt_leeway;

    return NGX_CONF_OK;
}


ngx_int_t
ngx_http_mcpu_auth_init_worker(ngx_cycle_t *cycle,
    ngx_http_mcpu_main_conf_t *mmcf)
{
    if (mmcf->jwt_cache == 0) {
        return NGX_OK;
    }

    ngx_http_mcpu_jwt_cache = mcpu_jwt_cache_new(mmcf->jwt_cache,
                                      NGX_HTTP_MCPU_JWT_CACHE_MAX_TOKEN);
    if (ngx_http_mcpu_jwt_cache == NULL) {
        ngx_log_error(NGX_LOG_ALERT, cycle->log, 0,
                      "mcpu: cannot allocate the token cache of %ui entries",
                      mmcf->jwt_cache);
        return NGX_ERROR;
    }

    return NGX_OK;
}
