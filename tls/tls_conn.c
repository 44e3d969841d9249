/* One TLS connection: an SSL object whose BIO reads ciphertext lent by the engine and
 * writes into a buffer the engine sends from in place. Per request: SSL_read/SSL_write and
 * copies inside this file's buffers, no allocation once a connection has warmed up. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "tls_internal.h"

#define OUT_MIN  1024          /* first output buffer: a ClientHello, a request */
#define OUT_KEEP (64 * 1024)   /* larger buffers are given back once drained */

/* An output buffer. One that held peeked bytes when it had to grow is kept, retired,
 * until the next consume: the engine may still be sending from it. */
struct tls_outbuf {
    struct tls_outbuf *next;   /* retired list */
    size_t cap;
    char data[];
};

struct tls_conn {
    struct tls_ctx *ctx;
    SSL *ssl;
    const unsigned char *in;   /* lent by tls_conn_feed(), not yet taken */
    size_t in_len;
    struct tls_outbuf *out;    /* ciphertext to send: data[head, tail) */
    size_t out_head, out_tail;
    bool out_pinned;           /* out was handed to the engine by a peek */
    struct tls_outbuf *retired;
    bool established;
    bool failed;
    bool cert_requested;       /* the server asked for a client certificate we lack */
    bool out_nomem;            /* the output buffer could not grow */
    unsigned char first[32];   /* the server's first bytes, to tell "not TLS" apart */
    unsigned first_len;
    char err[256];
};

/* ---- the output buffer ---- */

static bool out_append(struct tls_conn *c, const void *p, size_t n)
{
    struct tls_outbuf *b = c->out;
    if (!b || c->out_tail + n > b->cap) {
        size_t live = c->out_tail - c->out_head;
        if (b && !c->out_pinned && live + n <= b->cap) {
            memmove(b->data, b->data + c->out_head, live);
        } else {
            size_t cap = b ? b->cap * 2 : OUT_MIN;
            while (cap < live + n) cap *= 2;
            struct tls_outbuf *nb = malloc(sizeof(*nb) + cap);
            if (!nb) return false;
            nb->next = NULL;
            nb->cap = cap;
            if (live) memcpy(nb->data, b->data + c->out_head, live);
            if (b && c->out_pinned) {  /* the engine may be sending from it */
                b->next = c->retired;
                c->retired = b;
            } else {
                free(b);
            }
            c->out = b = nb;
            c->out_pinned = false;
        }
        c->out_head = 0;
        c->out_tail = live;
    }
    memcpy(b->data + c->out_tail, p, n);
    c->out_tail += n;
    return true;
}

static void free_retired(struct tls_conn *c)
{
    while (c->retired) {
        struct tls_outbuf *next = c->retired->next;
        free(c->retired);
        c->retired = next;
    }
}

size_t tls_conn_out_pending(const struct tls_conn *c)
{
    return c->out_tail - c->out_head;
}

size_t tls_conn_out_peek(struct tls_conn *c, const void **data)
{
    size_t n = c->out_tail - c->out_head;
    *data = n ? c->out->data + c->out_head : NULL;
    if (n) c->out_pinned = true;
    return n;
}

void tls_conn_out_consume(struct tls_conn *c, size_t n)
{
    size_t pending = c->out_tail - c->out_head;
    c->out_head += n < pending ? n : pending;
    c->out_pinned = false;
    free_retired(c);
    if (c->out_head == c->out_tail) {
        c->out_head = c->out_tail = 0;
        if (c->out && c->out->cap > OUT_KEEP) {
            free(c->out);
            c->out = NULL;
        }
    }
}

/* ---- the BIO between SSL and the engine's bytes ---- */

static int bio_write(BIO *bio, const char *data, size_t len, size_t *written)
{
    struct tls_conn *c = BIO_get_data(bio);
    BIO_clear_retry_flags(bio);
    *written = 0;
    if (!out_append(c, data, len)) {
        c->out_nomem = true;
        return 0;
    }
    *written = len;
    return 1;
}

static int bio_read(BIO *bio, char *buf, size_t cap, size_t *got)
{
    struct tls_conn *c = BIO_get_data(bio);
    BIO_clear_retry_flags(bio);
    if (!c->in_len) {  /* not an end of stream: the engine reports that itself */
        BIO_set_retry_read(bio);
        *got = 0;
        return 0;
    }
    size_t n = cap < c->in_len ? cap : c->in_len;
    memcpy(buf, c->in, n);
    if (!c->established && c->first_len < sizeof(c->first)) {
        size_t k = sizeof(c->first) - c->first_len;
        if (k > n) k = n;
        memcpy(c->first + c->first_len, c->in, k);
        c->first_len += (unsigned)k;
    }
    c->in += n;
    c->in_len -= n;
    *got = n;
    return 1;
}

static long bio_ctrl(BIO *bio, int cmd, long num, void *ptr)
{
    (void)num, (void)ptr;
    struct tls_conn *c = BIO_get_data(bio);
    switch (cmd) {
    case BIO_CTRL_FLUSH:
        return 1;
    case BIO_CTRL_PENDING:
        return (long)c->in_len;
    case BIO_CTRL_WPENDING:
        return (long)(c->out_tail - c->out_head);
    default:
        return 0;
    }
}

BIO_METHOD *tls_bio_method_create(void)
{
    BIO_METHOD *m = BIO_meth_new(BIO_TYPE_SOURCE_SINK, "barrage");
    if (!m) return NULL;
    if (!BIO_meth_set_write_ex(m, bio_write) || !BIO_meth_set_read_ex(m, bio_read) ||
        !BIO_meth_set_ctrl(m, bio_ctrl)) {
        BIO_meth_free(m);
        return NULL;
    }
    return m;
}

int tls_on_cert_request(SSL *ssl, X509 **x509, EVP_PKEY **pkey)
{
    (void)x509, (void)pkey;
    struct tls_conn *c = SSL_get_app_data(ssl);
    c->cert_requested = true;
    return 0;  /* no certificate */
}

/* ---- error messages ---- */

/* The name g holds, when it is of the kind asked for: a DNS name or an IP address. */
static bool gen_name(const GENERAL_NAME *g, bool want_ip, char *name, size_t len)
{
    if (!want_ip && g->type == GEN_DNS) {
        const ASN1_STRING *s = g->d.dNSName;
        snprintf(name, len, "%.*s", ASN1_STRING_length(s), (const char *)ASN1_STRING_get0_data(s));
        return true;
    }
    if (!want_ip || g->type != GEN_IPADD) return false;
    int l = ASN1_STRING_length(g->d.iPAddress);
    return (l == 4 || l == 16) &&
           inet_ntop(l == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(g->d.iPAddress), name, (socklen_t)len);
}

/* Up to three of the certificate's DNS names (or IP addresses), quoted, into buf: as many
 * as fit in len with room for " (and N more)" when some are left out; a first name too
 * long for it is cut, "...". */
static void cert_names(X509 *x, bool want_ip, char *buf, size_t len)
{
    static const size_t more_room = sizeof(" (and 999 more)") - 1;
    size_t used = 0;
    unsigned shown = 0, more = 0, total = 0;
    char name[256];  /* a DNS name has at most 253 characters */
    buf[0] = '\0';
    GENERAL_NAMES *gens = x ? X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL) : NULL;
    for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++)
        total += gen_name(sk_GENERAL_NAME_value(gens, i), want_ip, name, sizeof(name));
    for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++) {
        if (!gen_name(sk_GENERAL_NAME_value(gens, i), want_ip, name, sizeof(name))) continue;
        size_t w = strlen(name) + (shown ? 4 : 2);  /* quoted, after ", " */
        size_t reserve = shown + more + 1 < total ? more_room : 0;  /* names after this one */
        if (more || shown == 3 || used + w + reserve >= len) {
            if (shown || len < more_room + 8) {
                more++;
                continue;
            }
            /* the first name alone is too long: as much of it as fits */
            snprintf(buf, len - more_room, "'%.*s...'", (int)(len - more_room - 6), name);
            used = strlen(buf);
            shown++;
            continue;
        }
        snprintf(buf + used, len - used, "%s'%s'", shown ? ", " : "", name);
        used += w;
        shown++;
    }
    GENERAL_NAMES_free(gens);
    if (!shown && !want_ip && x) {  /* no DNS names: the subject's CN, as old certificates have */
        X509_NAME *subj = X509_get_subject_name(x);
        int i = X509_NAME_get_index_by_NID(subj, NID_commonName, -1);
        const ASN1_STRING *cn = i >= 0 ? X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, i)) : NULL;
        if (cn) snprintf(buf, len, "'%.*s'", ASN1_STRING_length(cn), (const char *)ASN1_STRING_get0_data(cn));
    }
    if (more) snprintf(buf + used, len - used, " (and %u more)", more);
}

static void verify_error(struct tls_conn *c, long result)
{
    const char *host = c->ctx->host;
    if (result == X509_V_ERR_HOSTNAME_MISMATCH || result == X509_V_ERR_IP_ADDRESS_MISMATCH) {
        bool ip = result == X509_V_ERR_IP_ADDRESS_MISMATCH;
        const char *what = ip ? "IP address" : "hostname";
        X509 *leaf = SSL_get0_peer_certificate(c->ssl);
        STACK_OF(X509) *chain = SSL_get_peer_cert_chain(c->ssl);
        if (!leaf && chain && sk_X509_num(chain) > 0) leaf = sk_X509_value(chain, 0);
        /* The names get what the line leaves, so that the host it was checked against,
         * last, is not cut off in a table of reasons (TLS_ERROR_FIT). */
        size_t fixed = strlen(what) + strlen(" mismatch: certificate is for , not ''") + strlen(host);
        char names[TLS_ERROR_FIT];
        size_t room = fixed + 40 < sizeof(names) ? sizeof(names) - fixed : 40;
        const char *only = "";
        cert_names(leaf, ip, names, room);
        if (!names[0] && ip) {  /* its host names, then: the URL may want one of them */
            only = "host names only: ";
            cert_names(leaf, false, names, room - strlen(only));
        }
        if (names[0])
            snprintf(c->err, sizeof(c->err), "%s mismatch: certificate is for %s%s, not '%s'", what, only, names,
                     host);
        else
            snprintf(c->err, sizeof(c->err), "%s mismatch: certificate names no %s, not '%s'", what,
                     ip ? "IP address" : "host", host);
        return;
    }
    snprintf(c->err, sizeof(c->err), "certificate verify failed: %s (host %s)",
             X509_verify_cert_error_string(result), host);
}

/* A TLS record starts with a content type 20..23 and major version 3. */
static bool first_bytes_not_tls(const struct tls_conn *c)
{
    if (c->first_len < 1) return false;
    if (c->first[0] < 20 || c->first[0] > 23) return true;
    return c->first_len >= 2 && c->first[1] != 3;
}

static void not_tls_error(struct tls_conn *c, const char *reason)
{
    /* SSL stopped at the record header: show the rest of the line from what is still lent. */
    size_t k = sizeof(c->first) - c->first_len;
    if (k > c->in_len) k = c->in_len;
    memcpy(c->first + c->first_len, c->in, k);
    c->first_len += (unsigned)k;
    char shown[sizeof(c->first) + 1];
    unsigned n = 0;
    while (n < c->first_len && c->first[n] >= 0x20 && c->first[n] < 0x7f) shown[n] = (char)c->first[n], n++;
    shown[n] = '\0';
    if (n >= 4)
        snprintf(c->err, sizeof(c->err), "the server's reply is not TLS: \"%s\" (%s; is it a plain-HTTP port?)",
                 shown, reason);
    else
        snprintf(c->err, sizeof(c->err), "the server's reply is not TLS (first byte 0x%02x; %s)", c->first[0],
                 reason);
}

/* What an alert from the server most likely means for barrage's flags ("" if nothing). */
static const char *alert_hint(const struct tls_conn *c, unsigned long e, char *buf, size_t len)
{
    int r = ERR_GET_LIB(e) == ERR_LIB_SSL ? ERR_GET_REASON(e) : 0;
    if (c->cert_requested) return " (the server asked for a client certificate: give --cert and --key)";
    if (r == SSL_R_TLSV1_ALERT_NO_APPLICATION_PROTOCOL)
        return " (the server offers no HTTP/1.1, all that barrage speaks: HTTP/2 only?)";
    if (r == SSL_R_TLSV1_UNRECOGNIZED_NAME) {
        if (c->ctx->sni)
            snprintf(buf, len, " (the server does not know the name sent as SNI, '%s': see --sni)", c->ctx->sni);
        else
            snprintf(buf, len, " (no SNI is sent for an IP address: give the server's name with --sni)");
        return buf;
    }
    if (r == SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE && c->ctx->ciphers)
        return " (no cipher in common with the server? see --ciphers)";
    return "";
}

/* Records why the connection failed, one line in c->err, and empties OpenSSL's error queue. */
static void conn_fail(struct tls_conn *c, int ssl_error)
{
    char reason[160], hint[100];
    long verify = SSL_get_verify_result(c->ssl);
    unsigned long e = ERR_peek_error();
    c->failed = true;
    tls_openssl_reason(reason, sizeof(reason));
    if (!c->established && !c->ctx->insecure && verify != X509_V_OK) {
        verify_error(c, verify);
    } else if (!c->established && first_bytes_not_tls(c)) {
        not_tls_error(c, reason[0] ? reason : "no TLS record");
    } else if (reason[0]) {
        snprintf(c->err, sizeof(c->err), "%.150s%.100s", reason, alert_hint(c, e, hint, sizeof(hint)));
    } else if (c->out_nomem) {
        snprintf(c->err, sizeof(c->err), "out of memory for TLS output");
    } else {
        snprintf(c->err, sizeof(c->err), "TLS failed (SSL_get_error %d)", ssl_error);
    }
}

/* SSL wants more input yet left some of it untaken. Not seen with OpenSSL 3.0; were it to
 * happen, answering "want more" would let the engine recycle bytes still lent. */
static void stalled(struct tls_conn *c)
{
    ERR_clear_error();
    snprintf(c->err, sizeof(c->err), "TLS stalled with %zu received bytes untaken", c->in_len);
    c->failed = true;
}

/* ---- the connection ---- */

/* A new SSL object with its BIO, bound to c. False when out of memory. */
static bool ssl_setup(struct tls_conn *c)
{
    c->ssl = SSL_new(c->ctx->ssl_ctx);
    BIO *bio = c->ssl ? BIO_new(c->ctx->bio_method) : NULL;
    if (!bio) return false;
    BIO_set_data(bio, c);
    BIO_set_init(bio, 1);
    SSL_set_bio(c->ssl, bio, bio);  /* the SSL owns it now */
    SSL_set_app_data(c->ssl, c);
    return true;
}

/* A spare from a closed connection, its per-connection state as new, or NULL. */
static struct tls_conn *take_spare(struct tls_ctx *ctx)
{
    if (!ctx->nspare) return NULL;
    struct tls_conn *c = ctx->spare[--ctx->nspare];
    c->in = NULL;
    c->in_len = 0;
    c->out_head = c->out_tail = 0;
    c->established = c->failed = c->cert_requested = c->out_nomem = false;
    c->first_len = 0;
    c->err[0] = 0;
    return c;
}

struct tls_conn *tls_conn_create(struct tls_ctx *ctx)
{
    struct tls_conn *c = take_spare(ctx);
    if (!c) {
        c = calloc(1, sizeof(*c));
        if (!c) return NULL;
        c->ctx = ctx;
        if (!ssl_setup(c)) goto fail;
    }
    SSL_set_connect_state(c->ssl);
    if (ctx->sni && !SSL_set_tlsext_host_name(c->ssl, ctx->sni)) goto fail;
    SSL_SESSION *sess = ctx->resume ? tls_pool_take(ctx) : NULL;
    /* NULL too: a spare must not offer its last connection's session again */
    int ok = SSL_set_session(c->ssl, sess);
    SSL_SESSION_free(sess);
    if (!ok) goto fail;
    return c;
fail:
    ERR_clear_error();
    tls_conn_free(c);
    return NULL;
}

void tls_conn_free(struct tls_conn *c)
{
    if (!c) return;
    if (c->ssl) {
        /* Without a shutdown on record, SSL_free marks the session (the newest ticket)
         * not resumable. The engine closes without close_notify; the tickets stay good. */
        SSL_set_shutdown(c->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
        SSL_free(c->ssl);
    }
    free_retired(c);
    free(c->out);
    free(c);
}

void tls_conn_destroy(struct tls_conn *c)
{
    if (!c) return;
    struct tls_ctx *ctx = c->ctx;
    /* Kept as a spare when there is room and the SSL object resets (the shutdown on record
     * keeps the session resumable, as in tls_conn_free). The engine sends nothing more
     * from this connection's output buffer once it is destroyed. */
    if (c->ssl && ctx->nspare < TLS_SPARE_MAX) {
        SSL_set_shutdown(c->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
        if (SSL_clear(c->ssl)) {
            free_retired(c);
            c->out_pinned = false;
            if (c->out && c->out->cap > OUT_KEEP) {
                free(c->out);
                c->out = NULL;
            }
            ctx->spare[ctx->nspare++] = c;
            return;
        }
        ERR_clear_error();
    }
    tls_conn_free(c);
}

int tls_conn_feed(struct tls_conn *c, const void *cipher, size_t len)
{
    if (c->in_len) return -1;
    c->in = cipher;
    c->in_len = len;
    return 0;
}

size_t tls_conn_in_left(const struct tls_conn *c)
{
    return c->in_len;
}

enum tls_status tls_conn_handshake(struct tls_conn *c)
{
    if (c->failed) return TLS_ERROR;
    if (c->established) return TLS_OK;
    ERR_clear_error();
    int r, e = SSL_ERROR_NONE;
    size_t left;
    do {  /* TLS_WANT only once every fed byte is taken */
        left = c->in_len;
        r = SSL_do_handshake(c->ssl);
        if (r == 1) break;
        e = SSL_get_error(c->ssl, r);
    } while (e == SSL_ERROR_WANT_READ && c->in_len && c->in_len < left);
    if (r == 1) {
        c->established = true;
        /* TLS 1.3 tickets come later, through on_new_session (tls_ctx.c). A TLS 1.2
         * session is complete now, renewed ticket included. */
        if (c->ctx->resume && SSL_version(c->ssl) != TLS1_3_VERSION) {
            SSL_SESSION *s = SSL_get_session(c->ssl);
            if (s && SSL_SESSION_is_resumable(s)) tls_pool_put(c->ctx, s);
        }
        return TLS_OK;
    }
    if (e != SSL_ERROR_WANT_READ) conn_fail(c, e);
    else if (c->in_len) stalled(c);
    else return TLS_WANT;
    return TLS_ERROR;
}

long tls_conn_write(struct tls_conn *c, const void *plain, size_t len)
{
    if (c->failed) return TLS_IO_ERROR;
    if (!c->established) {
        snprintf(c->err, sizeof(c->err), "write before the TLS handshake completed");
        return TLS_IO_ERROR;
    }
    if (!len) return 0;
    size_t n;
    if (SSL_write_ex(c->ssl, plain, len, &n) && n == len) return (long)len;
    conn_fail(c, SSL_get_error(c->ssl, 0));
    return TLS_IO_ERROR;
}

long tls_conn_read(struct tls_conn *c, void *plain, size_t cap)
{
    if (c->failed) return TLS_IO_ERROR;
    if (!c->established) {
        snprintf(c->err, sizeof(c->err), "read before the TLS handshake completed");
        return TLS_IO_ERROR;
    }
    /* Every fed byte taken and nothing decrypted or half-read inside OpenSSL: SSL_read
     * would only say WANT_READ, at the cost of a call through the record layer (the
     * caller reads until 0, so this is one call per receive saved). */
    if (!c->in_len && !SSL_has_pending(c->ssl)) return 0;
    size_t n, left;
    int e;
    do {  /* as in the handshake: 0 only once every fed byte is taken */
        left = c->in_len;
        if (SSL_read_ex(c->ssl, plain, cap, &n)) return (long)n;
        e = SSL_get_error(c->ssl, 0);
    } while (e == SSL_ERROR_WANT_READ && c->in_len && c->in_len < left);
    if (e == SSL_ERROR_ZERO_RETURN) return TLS_IO_CLOSED;
    if (e != SSL_ERROR_WANT_READ) conn_fail(c, e);
    else if (c->in_len) stalled(c);
    else return 0;
    return TLS_IO_ERROR;
}

bool tls_conn_resumed(const struct tls_conn *c)
{
    return SSL_session_reused(c->ssl);
}

int tls_conn_version(const struct tls_conn *c)
{
    return SSL_version(c->ssl);
}

const char *tls_conn_cipher(const struct tls_conn *c)
{
    return SSL_get_cipher_name(c->ssl);
}

const char *tls_conn_error(const struct tls_conn *c)
{
    return c->err;
}
