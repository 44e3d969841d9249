/* TLS for the engine: OpenSSL 3 over caller-driven byte buffers, no sockets.
 *
 * The engine owns sockets and the ring; this layer only turns plaintext into ciphertext
 * and back. Received ciphertext is lent to a connection with tls_conn_feed(); ciphertext
 * to send is read in place with tls_conn_out_peek() and released with
 * tls_conn_out_consume() once the send has completed.
 *
 * Threads: one struct tls_ctx per worker thread, and every tls_conn of that ctx used on
 * that thread only. Nothing here is shared between ctxs, so nothing locks.
 *
 * Ownership and lifetimes (see tls/README.md for the engine's call sequence):
 *   - tls_ctx_create() copies what it needs from the config; the config may go after.
 *   - A tls_conn belongs to its ctx: destroy every conn before the ctx.
 *   - tls_conn_feed(c, p, n) lends p, it does not copy it: keep those bytes valid and
 *     unchanged until tls_conn_handshake() returns TLS_WANT, tls_conn_read() returns 0,
 *     or the conn is destroyed. Either answer means every fed byte has been taken.
 *   - tls_conn_out_peek() returns the ciphertext waiting to be sent. Those bytes stay at
 *     that address, unchanged, until the next tls_conn_out_consume() or the conn's
 *     destroy, whatever other calls append meanwhile. So: peek, send, and consume what
 *     the send took when it completes; consume only when no send of peeked bytes is in
 *     flight any more.
 *   - Any call may produce ciphertext (handshake, write, and read too: key updates,
 *     alerts): after each, send what tls_conn_out_pending() says is waiting.
 *
 * Errors: calls that fail leave a one-line reason in tls_conn_error(); config and ctx
 * errors are written into the caller's err buffer, naming the command-line flag.
 */
#ifndef BARRAGE_TLS_H
#define BARRAGE_TLS_H

#include <stdbool.h>
#include <stddef.h>

/* Protocol versions, as OpenSSL numbers them (TLS1_2_VERSION, TLS1_3_VERSION), so that
 * callers need no OpenSSL header. */
#define TLS_V1_2 0x0303
#define TLS_V1_3 0x0304

struct tls_config {
    bool insecure;             /* --insecure: no certificate or name verification */
    const char *cacert;        /* --cacert FILE or DIR; NULL: the system store */
    const char *cert, *key;    /* --cert/--key client certificate; key NULL: in the cert file */
    const char *sni;           /* --sni NAME; NULL: the URL host, not sent when an IP literal */
    const char *host;          /* the URL host, verified against (name or IP, [v6] allowed) */
    int min_version, max_version;  /* TLS_V1_2 / TLS_V1_3, or 0 for no limit */
    const char *ciphers;       /* --ciphers, ':'-separated: TLS_* names are TLS 1.3 suites,
                                  the rest an OpenSSL TLS 1.2 cipher string; NULL: defaults */
    bool resume;               /* true: resume sessions; false (--no-resume): every handshake full */
    unsigned sessions;         /* sessions kept for resumption, at least TLS_POOL_MIN: one per
                                  connection the ctx's thread may open side by side (a TLS 1.3
                                  ticket resumes once); 0: TLS_POOL_MIN */
    bool keep_buffers;         /* false: a connection gives back its record buffers whenever it
                                  is idle (SSL_MODE_RELEASE_BUFFERS). true: it keeps them, about
                                  34 KiB a connection, and saves 4 allocations and ~0.25 us of
                                  CPU a request: for runs with few connections */
};

/* The fewest sessions a ctx keeps (struct tls_config.sessions). */
#define TLS_POOL_MIN 16

struct tls_ctx;
struct tls_conn;

/* Process start, before any other OpenSSL call: OpenSSL's allocations go to per-thread
 * free lists (tls_alloc.c), which saves 3-7% of a new TLS connection's instructions.
 * Returns 0 when installed; -1 when not, and OpenSSL keeps glibc's malloc (harmless): with
 * BARRAGE_TLS_ALLOC=glibc in the environment, or when OpenSSL has already allocated or
 * the thread key cannot be made. Under ASan it installs nothing and returns 0. */
int tls_alloc_install(void);

/* Plan time: loads and checks everything once (files readable, key matches cert, ciphers
 * and versions valid) so that bad input stops the run before it starts. Returns 0, or -1
 * with one line in err naming the flag and the OpenSSL reason. */
int tls_config_check(const struct tls_config *cfg, char *err, size_t errlen);

/* One per worker thread: the SSL_CTX, its trust store and its session pool. Returns NULL
 * with err set (as tls_config_check). tls_ctx_destroy() accepts NULL. */
struct tls_ctx *tls_ctx_create(const struct tls_config *cfg, char *err, size_t errlen);
void tls_ctx_destroy(struct tls_ctx *ctx);

/* Sessions the ctx holds for resumption now (for tests and reports). */
unsigned tls_ctx_sessions(const struct tls_ctx *ctx);

/* Per connection, once the socket is connected: offers the ctx's newest resumable session
 * when resumption is on, sends SNI and ALPN "http/1.1". NULL when out of memory.
 * tls_conn_destroy() keeps the session's tickets resumable (it never sends close_notify:
 * the engine just closes the socket) and accepts NULL. */
struct tls_conn *tls_conn_create(struct tls_ctx *ctx);
void tls_conn_destroy(struct tls_conn *c);

/* Lends received ciphertext (see the lifetime rule above). Returns 0, or -1 if the bytes of
 * the previous feed have not all been taken yet (a caller bug; nothing is lent then). */
int tls_conn_feed(struct tls_conn *c, const void *cipher, size_t len);
/* Fed bytes not taken yet. */
size_t tls_conn_in_left(const struct tls_conn *c);

/* Ciphertext waiting to be sent. */
size_t tls_conn_out_pending(const struct tls_conn *c);
/* Sets *data to the ciphertext waiting to be sent and returns its length (0: none). */
size_t tls_conn_out_peek(struct tls_conn *c, const void **data);
/* Releases the first n bytes (n <= pending) once their send has completed. */
void tls_conn_out_consume(struct tls_conn *c, size_t n);

enum tls_status {
    TLS_OK = 0,       /* handshake complete */
    TLS_WANT = 1,     /* send what is pending, feed the server's reply, call again */
    TLS_ERROR = -1,   /* failed: tls_conn_error() says why; destroy the conn */
};

/* The first call writes the ClientHello; call again after each feed until TLS_OK. On
 * TLS_OK, ciphertext may still be pending (the client Finished) and fed bytes may be
 * left (call tls_conn_read() before releasing them). */
enum tls_status tls_conn_handshake(struct tls_conn *c);

#define TLS_IO_ERROR  (-1)   /* tls_conn_write/read failed: tls_conn_error() says why */
#define TLS_IO_CLOSED (-2)   /* tls_conn_read: the server sent close_notify */

/* After TLS_OK. Encrypts all of plain into the pending ciphertext; returns len or
 * TLS_IO_ERROR. */
long tls_conn_write(struct tls_conn *c, const void *plain, size_t len);
/* Decrypts up to cap (> 0) bytes of what was fed. Returns the count (> 0), 0 when every
 * fed byte has been taken and more is needed, TLS_IO_CLOSED or TLS_IO_ERROR. Session
 * tickets that arrive with a response are taken here and go to the ctx's session pool.
 * Call it until it returns <= 0 before releasing the fed bytes. */
long tls_conn_read(struct tls_conn *c, void *plain, size_t cap);

/* After TLS_OK: whether the handshake resumed a session, the protocol (TLS_V1_2,
 * TLS_V1_3) and the cipher suite's name. */
bool tls_conn_resumed(const struct tls_conn *c);
int tls_conn_version(const struct tls_conn *c);
const char *tls_conn_cipher(const struct tls_conn *c);

/* The reason of the last TLS_ERROR / TLS_IO_ERROR, one line ("" if none), e.g.
 * "certificate verify failed: unable to get local issuer certificate (host 127.0.0.1)".
 * A host name mismatch lists as many of the certificate's names as keep the line, with the
 * host checked at its end, shorter than TLS_ERROR_FIT (the engine's tables of reasons keep
 * that much). */
#define TLS_ERROR_FIT 120
const char *tls_conn_error(const struct tls_conn *c);

#endif
