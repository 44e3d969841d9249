/* Private to tls/: the ctx and conn structs and what tls_ctx.c and tls_conn.c share. */
#ifndef BARRAGE_TLS_INTERNAL_H
#define BARRAGE_TLS_INTERNAL_H

#include <openssl/ssl.h>

#include "tls.h"

/* Closed connections kept, SSL object and all, for the next ones: SSL_new + SSL_free cost
 * about 2.8 µs a connection with OpenSSL 3.0 (the ctx's settings copied, the certificate
 * store referenced), SSL_clear 0.4 µs. Bounded: only a run that opens connections as fast
 * as it closes them needs more than a few. */
#define TLS_SPARE_MAX 64

struct tls_conn;

/* tls_alloc.c: blocks up to this size are kept per thread for reuse. The functions are
 * OpenSSL's CRYPTO_set_mem_functions() trio; the unit tests call them directly. */
#define TLS_ALLOC_MAX_BYTES (32 * 1024)
int tls_alloc_prepare(void);   /* once per process; without it every call goes to glibc */
void *tls_alloc_malloc(size_t n, const char *file, int line);
void *tls_alloc_realloc(void *p, size_t n, const char *file, int line);
void tls_alloc_free(void *p, const char *file, int line);
size_t tls_alloc_kept(void);   /* blocks the calling thread keeps, */
size_t tls_alloc_kept_for(size_t n);   /* ... of them for n-byte requests */

struct tls_ctx {
    OSSL_LIB_CTX *lib_ctx;     /* own library context, or NULL: OpenSSL's default one */
    SSL_CTX *ssl_ctx;
    BIO_METHOD *bio_method;    /* the conns' BIO: lent input, peekable output (tls_conn.c) */
    char *host;                /* verified against, for messages; brackets stripped */
    char *sni;                 /* sent as SNI; NULL: none */
    bool host_is_ip;
    bool insecure;
    bool resume;
    bool have_cert;            /* a client certificate is configured */
    bool ciphers;              /* --ciphers was given */
    /* Resumable sessions, newest last. A TLS 1.3 ticket is used once, so connections opened
     * together need one each: nginx sends 2 tickets after a full handshake and 1 after a
     * resumed one, which keeps a pool as deep as the connections filled once they have read
     * a response. A shallower one loses the tickets of a wave of connections that read
     * their responses together, and the next wave finds too few (tls_config.sessions). */
    SSL_SESSION **pool;        /* a ring of pool_max: npool sessions from pool_oldest on */
    unsigned npool, pool_max, pool_oldest;
    unsigned nspare;
    struct tls_conn *spare[TLS_SPARE_MAX];  /* cleared connections for tls_conn_create() */
};

/* Takes the newest resumable session (a reference the caller frees), or NULL. A TLS 1.3
 * session leaves the pool (one use each); a TLS 1.2 one stays (reusable). */
SSL_SESSION *tls_pool_take(struct tls_ctx *ctx);
/* Keeps a reference to sess, dropping the oldest when full; ignores one already kept. */
void tls_pool_put(struct tls_ctx *ctx, SSL_SESSION *sess);

/* Frees a connection for good, spare or not (tls_conn_destroy() may keep it as a spare). */
void tls_conn_free(struct tls_conn *c);

/* For tls_ctx.c, from tls_conn.c: the BIO method the conns use (NULL when out of memory),
 * and the callback that notes a server's request for a client certificate when none is
 * configured, so that a refusal can say why. */
BIO_METHOD *tls_bio_method_create(void);
int tls_on_cert_request(SSL *ssl, X509 **x509, EVP_PKEY **pkey);

/* The first queued OpenSSL error's reason into buf ("" if none), then clears the queue. */
void tls_openssl_reason(char *buf, size_t len);

#endif
