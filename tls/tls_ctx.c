/* The per-worker TLS context: options, trust store, client certificate, session pool.
 * Cold code: built once per worker (and once at plan time by tls_config_check()). */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "tls_internal.h"

_Static_assert(TLS_V1_2 == TLS1_2_VERSION && TLS_V1_3 == TLS1_3_VERSION, "tls.h's version numbers");

static const unsigned char alpn_http11[] = "\x08http/1.1";

void tls_openssl_reason(char *buf, size_t len)
{
    unsigned long e = ERR_peek_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    if (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE)
        snprintf(buf, len, "not PEM (no start line)");
    else if (ERR_GET_LIB(e) == ERR_LIB_SSL && (ERR_GET_REASON(e) == SSL_R_TLSV1_ALERT_PROTOCOL_VERSION ||
                                               ERR_GET_REASON(e) == SSL_R_UNSUPPORTED_PROTOCOL))
        snprintf(buf, len, "%s (no TLS version in common with the server)", r ? r : "protocol version");
    else if (r) snprintf(buf, len, "%s", r);
    else if (e) ERR_error_string_n(e, buf, len);
    else if (len) buf[0] = '\0';
    ERR_clear_error();
}

/* "FLAG ARG: <OpenSSL's reason>", then -1. */
static int fail_openssl(char *err, size_t errlen, const char *what)
{
    char reason[160];
    tls_openssl_reason(reason, sizeof(reason));
    snprintf(err, errlen, "%s: %s", what, reason[0] ? reason : "failed");
    return -1;
}

/* A file named by a flag must be there and readable; says which flag when it is not. A
 * directory opens too, and then read as "not PEM (no start line)". */
static int check_readable(const char *flag, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    struct stat st;
    if (f && !fstat(fileno(f), &st) && S_ISDIR(st.st_mode)) fclose(f), f = NULL, errno = EISDIR;
    if (!f) {
        snprintf(err, errlen, "%s %s: %s", flag, path, strerror(errno));
        return -1;
    }
    fclose(f);
    return 0;
}

/* OpenSSL looks certificates up in a --cacert directory by subject hash (9d66eef0.0), so a
 * directory of plain .pem files would fail every verification with "unable to get local
 * issuer certificate". Said at plan time instead, with the fix. */
static int check_hashed_dir(const char *path, char *err, size_t errlen)
{
    DIR *d = opendir(path);
    if (!d) {
        snprintf(err, errlen, "--cacert %s: %s", path, strerror(errno));
        return -1;
    }
    bool hashed = false;
    for (struct dirent *e; !hashed && (e = readdir(d));) {
        const char *n = e->d_name;
        size_t hex = strspn(n, "0123456789abcdef");
        hashed = hex == 8 && n[8] == '.' && n[9] && strspn(n + 9, "0123456789") == strlen(n + 9);
    }
    closedir(d);
    if (hashed) return 0;
    snprintf(err, errlen, "--cacert %s: a directory needs its certificates under hashed names (such as "
             "9d66eef0.0): run `openssl rehash %s`, or give a file", path, path);
    return -1;
}

/* min, max: the versions allowed (0: no limit), for a list that no allowed version uses. */
static int set_ciphers(SSL_CTX *sc, const char *spec, int min, int max, char *err, size_t errlen)
{
    /* Split the list: TLS_* names are TLS 1.3 suites, the rest a TLS 1.2 cipher string.
     * OpenSSL skips unknown names inside a list, so each name is tried alone first. */
    size_t n = strlen(spec);
    char *suites = calloc(1, n + 1), *list = calloc(1, n + 1), *copy = strdup(spec);
    int rc = -1;
    if (!suites || !list || !copy) {
        snprintf(err, errlen, "--ciphers: out of memory");
        goto out;
    }
    char *save = NULL;
    for (char *tok = strtok_r(copy, ":, ", &save); tok; tok = strtok_r(NULL, ":, ", &save)) {
        bool v13 = strncmp(tok, "TLS_", 4) == 0;
        bool op = strchr("!-+@", tok[0]) != NULL;  /* removals, reordering: nothing to check */
        if (!op && !(v13 ? SSL_CTX_set_ciphersuites(sc, tok) : SSL_CTX_set_cipher_list(sc, tok))) {
            ERR_clear_error();
            snprintf(err, errlen, "--ciphers: no %s cipher called '%s' (see `openssl ciphers -v`)",
                     v13 ? "TLS 1.3" : "TLS 1.2", tok);
            goto out;
        }
        char *dst = v13 ? suites : list;
        if (dst[0]) strcat(dst, ":");
        strcat(dst, tok);
    }
    if (suites[0] && !SSL_CTX_set_ciphersuites(sc, suites)) {
        fail_openssl(err, errlen, "--ciphers (TLS 1.3 suites)");
        goto out;
    }
    if (list[0] && !SSL_CTX_set_cipher_list(sc, list)) {
        fail_openssl(err, errlen, "--ciphers");
        goto out;
    }
    if (!suites[0] && !list[0]) {
        snprintf(err, errlen, "--ciphers: empty list");
        goto out;
    }
    /* The other version would go on with its defaults: the list would be silently unused. */
    if (!list[0] && max == TLS1_2_VERSION) {
        snprintf(err, errlen, "--ciphers: only TLS 1.3 suites (TLS_...), which --tls-max 1.2 rules out");
        goto out;
    }
    if (!suites[0] && min == TLS1_3_VERSION) {
        snprintf(err, errlen, "--ciphers: only TLS 1.2 ciphers, which --tls-min 1.3 rules out (TLS 1.3 suites are TLS_...)");
        goto out;
    }
    rc = 0;
out:
    free(suites);
    free(list);
    free(copy);
    return rc;
}

static int load_trust(struct tls_ctx *ctx, const struct tls_config *cfg, char *err, size_t errlen)
{
    SSL_CTX *sc = ctx->ssl_ctx;
    if (ctx->insecure) {
        SSL_CTX_set_verify(sc, SSL_VERIFY_NONE, NULL);
        return 0;
    }
    SSL_CTX_set_verify(sc, SSL_VERIFY_PEER, NULL);
    X509_VERIFY_PARAM *param = SSL_CTX_get0_param(sc);
    if (cfg->cacert) {
        struct stat st;
        if (stat(cfg->cacert, &st) < 0) {
            snprintf(err, errlen, "--cacert %s: %s", cfg->cacert, strerror(errno));
            return -1;
        }
        bool dir = S_ISDIR(st.st_mode);
        if (!dir && check_readable("--cacert", cfg->cacert, err, errlen)) return -1;
        if (dir && check_hashed_dir(cfg->cacert, err, errlen)) return -1;
        if (!SSL_CTX_load_verify_locations(sc, dir ? NULL : cfg->cacert, dir ? cfg->cacert : NULL)) {
            char what[300];
            snprintf(what, sizeof(what), "--cacert %s", cfg->cacert);
            return fail_openssl(err, errlen, what);
        }
        /* As curl does: a certificate given as trusted is an anchor even if it is not a
         * self-signed root (an intermediate, or the server's own certificate). */
        X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
    } else if (!SSL_CTX_set_default_verify_paths(sc)) {
        return fail_openssl(err, errlen, "the system CA store");
    }
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    int ok = ctx->host_is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, ctx->host)
                             : X509_VERIFY_PARAM_set1_host(param, ctx->host, 0);
    if (!ok) {
        char what[300];
        snprintf(what, sizeof(what), "host %s", ctx->host);
        return fail_openssl(err, errlen, what);
    }
    return 0;
}

/* OpenSSL would prompt on the terminal for an encrypted key's passphrase: refuse instead,
 * noting in *u that the key is encrypted. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf, (void)size, (void)rwflag;
    if (u) *(bool *)u = true;
    return -1;
}

static int load_client_cert(SSL_CTX *sc, const struct tls_config *cfg, char *err, size_t errlen)
{
    if (!cfg->cert) {
        if (!cfg->key) return 0;
        snprintf(err, errlen, "--key %s needs --cert", cfg->key);
        return -1;
    }
    const char *key = cfg->key ? cfg->key : cfg->cert;
    char what[600];
    if (check_readable("--cert", cfg->cert, err, errlen)) return -1;
    if (cfg->key && check_readable("--key", cfg->key, err, errlen)) return -1;
    if (!SSL_CTX_use_certificate_chain_file(sc, cfg->cert)) {
        snprintf(what, sizeof(what), "--cert %s", cfg->cert);
        return fail_openssl(err, errlen, what);
    }
    bool encrypted = false;
    SSL_CTX_set_default_passwd_cb(sc, no_passphrase);
    SSL_CTX_set_default_passwd_cb_userdata(sc, &encrypted);
    /* Loading a key that does not match the loaded certificate already fails here. */
    int loaded = SSL_CTX_use_PrivateKey_file(sc, key, SSL_FILETYPE_PEM);
    SSL_CTX_set_default_passwd_cb_userdata(sc, NULL);
    if (!loaded) {
        unsigned long e = ERR_peek_last_error(), first = ERR_peek_error();
        bool mismatch = ERR_GET_LIB(e) == ERR_LIB_X509 &&
                        (ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH || ERR_GET_REASON(e) == X509_R_KEY_TYPE_MISMATCH);
        /* OpenSSL 3's decoders say "unsupported" for a file with no key in it at all */
        bool no_key = ERR_GET_LIB(first) == ERR_LIB_OSSL_DECODER && ERR_GET_REASON(first) == ERR_R_UNSUPPORTED;
        if (mismatch || encrypted || !cfg->key || no_key) {  /* said in full: OpenSSL's reason would only confuse it */
            ERR_clear_error();
            if (mismatch) snprintf(err, errlen, "--key %s does not match --cert %s", key, cfg->cert);
            else if (encrypted)
                snprintf(err, errlen, "--key %s is encrypted, and barrage asks for no passphrase: decrypt it "
                         "(openssl pkey -in %s -out plain.key)", key, key);
            else if (!cfg->key) snprintf(err, errlen, "--cert %s has no private key; give --key", cfg->cert);
            else snprintf(err, errlen, "--key %s: no private key in it (PEM expected)", key);
            return -1;
        }
        snprintf(what, sizeof(what), "--key %s (unencrypted PEM expected)", key);
        return fail_openssl(err, errlen, what);
    }
    if (!SSL_CTX_check_private_key(sc)) {
        ERR_clear_error();
        snprintf(err, errlen, "--key %s does not match --cert %s", key, cfg->cert);
        return -1;
    }
    return 0;
}

static int version_ok(int v)
{
    return v == 0 || v == TLS1_2_VERSION || v == TLS1_3_VERSION;
}

/* TLS 1.3 tickets arrive after the handshake (read with the first response): each one is
 * a new session. TLS 1.2 sessions are taken when the handshake ends (tls_conn.c). */
static int on_new_session(SSL *ssl, SSL_SESSION *sess)
{
    if (SSL_version(ssl) == TLS1_3_VERSION) {
        struct tls_ctx *ctx = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
        tls_pool_put(ctx, sess);
    }
    return 0;  /* the pool took its own reference */
}

struct tls_ctx *tls_ctx_create(const struct tls_config *cfg, char *err, size_t errlen)
{
    struct tls_ctx *ctx = calloc(1, sizeof(*ctx));
    if (!ctx) {
        snprintf(err, errlen, "out of memory for the TLS context");
        return NULL;
    }
    ctx->insecure = cfg->insecure;
    ctx->resume = cfg->resume;
    ctx->pool_max = cfg->sessions > TLS_POOL_MIN ? cfg->sessions : TLS_POOL_MIN;
    if (ctx->resume && !(ctx->pool = calloc(ctx->pool_max, sizeof(*ctx->pool)))) goto nomem;
    ctx->have_cert = cfg->cert != NULL;
    ctx->ciphers = cfg->ciphers != NULL;
    ERR_clear_error();

    const char *host = cfg->host ? cfg->host : "";
    size_t hl = strlen(host);
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') host++, hl -= 2;  /* [v6] */
    ctx->host = strndup(host, hl);
    if (!ctx->host) goto nomem;
    unsigned char addr[16];
    ctx->host_is_ip = inet_pton(AF_INET, ctx->host, addr) == 1 || inet_pton(AF_INET6, ctx->host, addr) == 1;
    if (!ctx->insecure && !ctx->host[0]) {
        snprintf(err, errlen, "no host to verify the server's certificate against (or --insecure)");
        goto fail;
    }
    const char *sni = cfg->sni ? cfg->sni : ctx->host_is_ip ? NULL : ctx->host;
    if (sni && sni[0] && !(ctx->sni = strdup(sni))) goto nomem;

    if (!version_ok(cfg->min_version) || !version_ok(cfg->max_version)) {
        snprintf(err, errlen, "TLS version must be 1.2 or 1.3");
        goto fail;
    }
    if (cfg->min_version && cfg->max_version && cfg->min_version > cfg->max_version) {
        snprintf(err, errlen, "the lowest TLS version asked for is above the highest");
        goto fail;
    }

    /* Each worker gets its own library context: with OpenSSL's shared default one, the
     * workers contend on its locks (provider and decoder lookups) in every handshake, which
     * halved full handshakes per second at 8 workers (bench/RESULTS.md, "Scaling").
     * BARRAGE_TLS_LIBCTX=shared goes back to the default context, for bench/scaling.py. */
    const char *lc = getenv("BARRAGE_TLS_LIBCTX");
    if (!(lc && !strcmp(lc, "shared")) && !(ctx->lib_ctx = OSSL_LIB_CTX_new())) goto nomem;
    ctx->ssl_ctx = SSL_CTX_new_ex(ctx->lib_ctx, NULL, TLS_client_method());
    ctx->bio_method = tls_bio_method_create();
    if (!ctx->ssl_ctx || !ctx->bio_method) goto nomem;
    SSL_CTX *sc = ctx->ssl_ctx;
    SSL_CTX_set_app_data(sc, ctx);
    if (!SSL_CTX_set_min_proto_version(sc, cfg->min_version ? cfg->min_version : TLS1_2_VERSION) ||
        !SSL_CTX_set_max_proto_version(sc, cfg->max_version)) {
        fail_openssl(err, errlen, "TLS version");
        goto fail;
    }
    if (cfg->ciphers && set_ciphers(sc, cfg->ciphers, cfg->min_version, cfg->max_version, err, errlen)) goto fail;
    if (load_trust(ctx, cfg, err, errlen)) goto fail;
    if (load_client_cert(sc, cfg, err, errlen)) goto fail;
    if (!ctx->have_cert) SSL_CTX_set_client_cert_cb(sc, tls_on_cert_request);
    if (SSL_CTX_set_alpn_protos(sc, alpn_http11, sizeof(alpn_http11) - 1)) goto nomem;  /* 0 is success */

    /* Idle connections hold no record buffers (unless asked to keep them); a server's
     * renegotiation request is refused. */
    if (!cfg->keep_buffers) SSL_CTX_set_mode(sc, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_options(sc, SSL_OP_NO_RENEGOTIATION);
    if (ctx->resume) {
        /* CLIENT mode makes OpenSSL call on_new_session; the pool is the only store. */
        SSL_CTX_set_session_cache_mode(sc, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
        SSL_CTX_sess_set_new_cb(sc, on_new_session);
    } else {
        SSL_CTX_set_session_cache_mode(sc, SSL_SESS_CACHE_OFF);
        SSL_CTX_set_options(sc, SSL_OP_NO_TICKET);
    }
    ERR_clear_error();
    return ctx;

nomem:
    snprintf(err, errlen, "out of memory for the TLS context");
fail:
    ERR_clear_error();
    tls_ctx_destroy(ctx);
    return NULL;
}

/* The i-th session kept, the oldest first. */
static SSL_SESSION **pool_at(struct tls_ctx *ctx, unsigned i)
{
    return &ctx->pool[(ctx->pool_oldest + i) % ctx->pool_max];
}

void tls_ctx_destroy(struct tls_ctx *ctx)
{
    if (!ctx) return;
    for (unsigned i = 0; i < ctx->npool; i++) SSL_SESSION_free(*pool_at(ctx, i));
    free(ctx->pool);
    for (unsigned i = 0; i < ctx->nspare; i++) tls_conn_free(ctx->spare[i]);
    SSL_CTX_free(ctx->ssl_ctx);
    OSSL_LIB_CTX_free(ctx->lib_ctx);
    BIO_meth_free(ctx->bio_method);
    free(ctx->host);
    free(ctx->sni);
    free(ctx);
}

int tls_config_check(const struct tls_config *cfg, char *err, size_t errlen)
{
    struct tls_ctx *ctx = tls_ctx_create(cfg, err, errlen);
    if (!ctx) return -1;
    tls_ctx_destroy(ctx);
    return 0;
}

unsigned tls_ctx_sessions(const struct tls_ctx *ctx)
{
    return ctx->npool;
}

/* ---- the session pool ---- */


SSL_SESSION *tls_pool_take(struct tls_ctx *ctx)
{
    while (ctx->npool) {
        SSL_SESSION *s = *pool_at(ctx, ctx->npool - 1);  /* the newest */
        if (!SSL_SESSION_is_resumable(s)) {  /* used (TLS 1.3) or dropped after an error */
            SSL_SESSION_free(s);
            ctx->npool--;
            continue;
        }
        if (SSL_SESSION_get_protocol_version(s) == TLS1_3_VERSION) ctx->npool--;  /* ours now */
        else SSL_SESSION_up_ref(s);
        return s;
    }
    return NULL;
}

void tls_pool_put(struct tls_ctx *ctx, SSL_SESSION *sess)
{
    /* A TLS 1.3 ticket is a new session each time; a TLS 1.2 session, reused by every
     * connection, is most likely kept already, as one of the newest (only those are
     * looked at: a server that never resumes makes a new one for every connection). */
    if (SSL_SESSION_get_protocol_version(sess) != TLS1_3_VERSION)
        for (unsigned i = ctx->npool, seen = 0; i-- > 0 && seen++ < 4;)
            if (*pool_at(ctx, i) == sess) return;
    if (ctx->npool == ctx->pool_max) {  /* full: the oldest goes */
        SSL_SESSION_free(*pool_at(ctx, 0));
        ctx->pool_oldest = (ctx->pool_oldest + 1) % ctx->pool_max;
        ctx->npool--;
    }
    SSL_SESSION_up_ref(sess);
    *pool_at(ctx, ctx->npool++) = sess;
}
