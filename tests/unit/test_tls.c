/* tls/: handshakes, verification, resumption, client certificates and data, against an
 * OpenSSL server in the same thread. Certificates are made at start into a temp dir; the
 * bytes between client and server move through in-memory "wires", no sockets. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "check.h"
#include "tls.h"
#include "tls_internal.h"  /* white box: the library context of a ctx */

#define CONTAINS(s, sub) (strstr((s), (sub)) != NULL)
#define CHECK_HAS(s, sub)                                                                  \
    do {                                                                                   \
        if (!CONTAINS(s, sub) && !check_case_failed) printf("  message: %s\n", (s));       \
        CHECK(CONTAINS(s, sub));                                                           \
    } while (0)

/* ---- certificates ---- */

static char dir[64];
static char ca_pem[128], srv_pem[128], srv_key[128], cli_pem[128], cli_key[128], other_key[128], junk_pem[128];
static X509 *ca_x, *srv_x, *cli_x;
static EVP_PKEY *ca_k, *srv_k, *cli_k;

static void add_ext(X509 *x, X509V3_CTX *v3, int nid, const char *value)
{
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, v3, nid, value);
    if (!e || !X509_add_ext(x, e, -1)) abort();
    X509_EXTENSION_free(e);
}

static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key, const char *san)
{
    static long serial = 1;
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, key);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, issuer ? issuer : x, x, NULL, NULL, 0);
    if (!issuer) {
        add_ext(x, &v3, NID_basic_constraints, "critical,CA:TRUE");
        add_ext(x, &v3, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        add_ext(x, &v3, NID_basic_constraints, "CA:FALSE");
        add_ext(x, &v3, NID_key_usage, "critical,digitalSignature");
        add_ext(x, &v3, NID_ext_key_usage, "serverAuth,clientAuth");
    }
    if (san) add_ext(x, &v3, NID_subject_alt_name, san);
    if (!X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256())) abort();
    return x;
}

static void write_pem(const char *path, X509 *x, EVP_PKEY *k)
{
    FILE *f = fopen(path, "w");
    if (!f) abort();
    if (x) PEM_write_X509(f, x);
    if (k) PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
    fclose(f);
}

static void make_certs(void)
{
    strcpy(dir, "/tmp/barrage-tls-XXXXXX");
    if (!mkdtemp(dir)) abort();
    snprintf(ca_pem, sizeof(ca_pem), "%s/ca.pem", dir);
    snprintf(srv_pem, sizeof(srv_pem), "%s/server.pem", dir);
    snprintf(srv_key, sizeof(srv_key), "%s/server.key", dir);
    snprintf(cli_pem, sizeof(cli_pem), "%s/client.pem", dir);
    snprintf(cli_key, sizeof(cli_key), "%s/client.key", dir);
    snprintf(other_key, sizeof(other_key), "%s/other.key", dir);
    snprintf(junk_pem, sizeof(junk_pem), "%s/junk.pem", dir);
    ca_k = EVP_EC_gen("P-256");
    srv_k = EVP_EC_gen("P-256");
    cli_k = EVP_EC_gen("P-256");
    EVP_PKEY *other = EVP_EC_gen("P-256");
    if (!ca_k || !srv_k || !cli_k || !other) abort();
    ca_x = make_cert(ca_k, "barrage test CA", NULL, NULL, NULL);
    srv_x = make_cert(srv_k, "localhost", ca_x, ca_k, "DNS:localhost,IP:127.0.0.1");
    cli_x = make_cert(cli_k, "barrage client", ca_x, ca_k, NULL);
    write_pem(ca_pem, ca_x, NULL);
    write_pem(srv_pem, srv_x, NULL);
    write_pem(srv_key, NULL, srv_k);
    write_pem(cli_pem, cli_x, NULL);
    write_pem(cli_key, NULL, cli_k);
    write_pem(other_key, NULL, other);
    EVP_PKEY_free(other);
    FILE *f = fopen(junk_pem, "w");
    fputs("this is not a certificate\n", f);
    fclose(f);
}

static void remove_certs(void)
{
    const char *files[] = {ca_pem, srv_pem, srv_key, cli_pem, cli_key, other_key, junk_pem};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) unlink(files[i]);
    rmdir(dir);
    X509_free(ca_x), X509_free(srv_x), X509_free(cli_x);
    EVP_PKEY_free(ca_k), EVP_PKEY_free(srv_k), EVP_PKEY_free(cli_k);
}

/* ---- the server ---- */

static char alpn_offered[64];

static int select_alpn(SSL *s, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
                       unsigned inlen, void *arg)
{
    (void)s, (void)arg;
    snprintf(alpn_offered, sizeof(alpn_offered), "%.*s", in[0] < inlen ? in[0] : 0, (const char *)in + 1);
    static const unsigned char want[] = "\x08http/1.1";
    return SSL_select_next_proto((unsigned char **)out, outlen, want, sizeof(want) - 1, in, inlen) ==
                   OPENSSL_NPN_NEGOTIATED
               ? SSL_TLSEXT_ERR_OK
               : SSL_TLSEXT_ERR_NOACK;
}

enum { SRV_REQUIRE_CERT = 1, SRV_NO_TICKET = 2 };

static SSL_CTX *server_ctx(int minv, int maxv, int flags)
{
    SSL_CTX *s = SSL_CTX_new(TLS_server_method());
    SSL_CTX_use_certificate(s, srv_x);
    SSL_CTX_use_PrivateKey(s, srv_k);
    SSL_CTX_set_min_proto_version(s, minv);
    SSL_CTX_set_max_proto_version(s, maxv);
    SSL_CTX_set_session_id_context(s, (const unsigned char *)"test", 4);
    SSL_CTX_set_alpn_select_cb(s, select_alpn, NULL);
    if (flags & SRV_NO_TICKET) SSL_CTX_set_options(s, SSL_OP_NO_TICKET);
    if (flags & SRV_REQUIRE_CERT) {
        X509_STORE_add_cert(SSL_CTX_get_cert_store(s), ca_x);
        SSL_CTX_add_client_CA(s, ca_x);
        SSL_CTX_set_verify(s, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    }
    return s;
}

/* ---- a client and a server joined by two wires ---- */

#define WIRE (1 << 20)

struct pair {
    struct tls_conn *c;
    SSL *s;
    BIO *s_in, *s_out;
    unsigned char *s2c;        /* server to client; [pos, len) not fed yet */
    size_t s2c_len, s2c_pos;
    size_t chunk;              /* ciphertext bytes fed to the client at a time */
    bool server_done;
};

static void pair_open(struct pair *p, struct tls_ctx *ctx, SSL_CTX *sctx, size_t chunk)
{
    memset(p, 0, sizeof(*p));
    p->c = tls_conn_create(ctx);
    p->s = SSL_new(sctx);
    p->s_in = BIO_new(BIO_s_mem());
    p->s_out = BIO_new(BIO_s_mem());
    SSL_set_bio(p->s, p->s_in, p->s_out);
    SSL_set_accept_state(p->s);
    p->s2c = malloc(WIRE);
    p->chunk = chunk ? chunk : WIRE;
    if (!p->c || !p->s2c) abort();
}

static void pair_close(struct pair *p)
{
    tls_conn_destroy(p->c);
    SSL_set_shutdown(p->s, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);  /* keep its session cached */
    SSL_free(p->s);
    free(p->s2c);
}

/* Client output to the server, server handshake step, server output onto the wire.
 * Returns the bytes moved either way. */
static size_t server_step(struct pair *p)
{
    size_t moved = 0;
    const void *d;
    size_t n;
    while ((n = tls_conn_out_peek(p->c, &d))) {
        BIO_write(p->s_in, d, (int)n);
        tls_conn_out_consume(p->c, n);
        moved += n;
    }
    if (!p->server_done) {
        int r = SSL_do_handshake(p->s);
        if (r == 1) p->server_done = true;
        ERR_clear_error();
    }
    if (p->s2c_pos == p->s2c_len && !tls_conn_in_left(p->c)) p->s2c_pos = p->s2c_len = 0;
    int got;
    while (p->s2c_len < WIRE && (got = BIO_read(p->s_out, p->s2c + p->s2c_len, (int)(WIRE - p->s2c_len))) > 0) {
        p->s2c_len += (size_t)got;
        moved += (size_t)got;
    }
    return moved;
}

/* Lends the client the next piece of the wire, unless it still holds some. */
static size_t client_feed(struct pair *p)
{
    size_t left = tls_conn_in_left(p->c);
    if (left) return left;
    size_t k = p->s2c_len - p->s2c_pos;
    if (k > p->chunk) k = p->chunk;
    if (!k) return 0;
    CHECK(tls_conn_feed(p->c, p->s2c + p->s2c_pos, k) == 0);
    p->s2c_pos += k;
    return k;
}

static enum tls_status handshake(struct pair *p)
{
    enum tls_status st = tls_conn_handshake(p->c);
    for (int i = 0; i < 200000 && st == TLS_WANT; i++) {
        if (!client_feed(p) && !server_step(p)) break;
        st = tls_conn_handshake(p->c);
        if (st == TLS_WANT) CHECK(tls_conn_in_left(p->c) == 0);  /* TLS_WANT: all fed bytes taken */
    }
    server_step(p);  /* the client's last flight; a TLS 1.3 server sends its tickets */
    return st;
}

/* Reads want plaintext bytes (fewer if the stream fails) in reads of at most cap. Returns
 * the count, or the failing tls_conn_read() result. */
static long client_read(struct pair *p, unsigned char *dst, size_t want, size_t cap)
{
    size_t got = 0;
    for (int idle = 0; got < want && idle < 3;) {
        size_t ask = want - got < cap ? want - got : cap;
        long n = tls_conn_read(p->c, dst + got, ask);
        if (n > 0) {
            got += (size_t)n;
            idle = 0;
        } else if (n < 0) {
            return n;
        } else {
            CHECK(tls_conn_in_left(p->c) == 0);  /* 0: all fed bytes taken */
            if (!client_feed(p) && !server_step(p)) idle++;
        }
    }
    return (long)got;
}

/* Drains what the client can read now: tickets, alerts. */
static long client_drain(struct pair *p)
{
    unsigned char buf[256];
    for (int i = 0; i < 100000; i++) {
        long n = tls_conn_read(p->c, buf, sizeof(buf));
        if (n < 0) return n;
        if (n == 0 && !client_feed(p) && !server_step(p)) return 0;
    }
    return 0;
}

static bool server_read(struct pair *p, unsigned char *dst, size_t want)
{
    server_step(p);
    size_t got = 0, n;
    while (got < want && SSL_read_ex(p->s, dst + got, want - got, &n)) got += n;
    ERR_clear_error();
    return got == want;
}

static void server_write(struct pair *p, const void *data, size_t len)
{
    size_t n;
    if (!SSL_write_ex(p->s, data, len, &n) || n != len) abort();
    server_step(p);
}

/* One request and a small response: the client reads the server's tickets with it. */
static bool exchange(struct pair *p)
{
    static const char req[] = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
    static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    unsigned char buf[sizeof(resp)];
    if (tls_conn_write(p->c, req, sizeof(req) - 1) != (long)sizeof(req) - 1) return false;
    if (!server_read(p, buf, sizeof(req) - 1) || memcmp(buf, req, sizeof(req) - 1)) return false;
    server_write(p, resp, sizeof(resp) - 1);
    return client_read(p, buf, sizeof(resp) - 1, sizeof(buf)) == (long)sizeof(resp) - 1 &&
           memcmp(buf, resp, sizeof(resp) - 1) == 0;
}

static struct tls_config base_config(void)
{
    return (struct tls_config){.cacert = ca_pem, .host = "localhost", .resume = true};
}

static struct tls_ctx *ctx_or_die(const struct tls_config *cfg)
{
    char err[256];
    struct tls_ctx *ctx = tls_ctx_create(cfg, err, sizeof(err));
    if (!ctx) printf("  tls_ctx_create: %s\n", err);
    return ctx;
}

/* A full connection: handshake, one exchange, then the client's view of it. */
struct outcome {
    enum tls_status st;
    bool exchanged, resumed;
    int version;
    char err[256], sni[64], cipher[64];
};

static struct outcome connect_once(struct tls_ctx *ctx, SSL_CTX *sctx, size_t chunk)
{
    struct outcome o = {0};
    struct pair p;
    pair_open(&p, ctx, sctx, chunk);
    o.st = handshake(&p);
    const char *sni = SSL_get_servername(p.s, TLSEXT_NAMETYPE_host_name);
    snprintf(o.sni, sizeof(o.sni), "%s", sni ? sni : "");
    if (o.st == TLS_OK) {
        o.resumed = tls_conn_resumed(p.c);
        o.version = tls_conn_version(p.c);
        snprintf(o.cipher, sizeof(o.cipher), "%s", tls_conn_cipher(p.c));
        o.exchanged = exchange(&p);
        if (!o.exchanged) client_drain(&p);  /* the server's alert, if it sent one */
    }
    snprintf(o.err, sizeof(o.err), "%s", tls_conn_error(p.c));
    pair_close(&p);
    return o;
}

/* ---- tests ---- */

static void verifies_name_with_cacert(void)
{
    struct tls_config cfg = base_config();
    struct tls_ctx *ctx = ctx_or_die(&cfg);
    SSL_CTX *s = server_ctx(0, 0, 0);
    alpn_offered[0] = '\0';
    struct outcome o = connect_once(ctx, s, 0);
    CHECK(o.st == TLS_OK);
    CHECK(o.exchanged);
    CHECK(!o.resumed);
    CHECK_EQ_U(o.version, TLS1_3_VERSION);
    CHECK(strcmp(o.sni, "localhost") == 0);
    CHECK(strcmp(alpn_offered, "http/1.1") == 0);
    CHECK(strcmp(o.err, "") == 0);
    SSL_CTX_free(s);
    tls_ctx_destroy(ctx);
}

/* --cacert DIR: OpenSSL finds certificates there by subject hash only; a directory without
 * hashed names is refused at plan time with the fix, a hashed one verifies. */
static void cacert_directory_needs_hashed_names(void)
{
    char cadir[160], plain[200], hashed[200], err[512];
    snprintf(cadir, sizeof(cadir), "%s/cadir", dir);
    CHECK(mkdir(cadir, 0700) == 0);
    snprintf(plain, sizeof(plain), "%s/ca.pem", cadir);
    write_pem(plain, ca_x, NULL);
    struct tls_config cfg = base_config();
    cfg.cacert = cadir;
    CHECK(tls_config_check(&cfg, err, sizeof(err)) == -1);
    CHECK_HAS(err, "a directory needs its certificates under hashed names");
    CHECK_HAS(err, "run `openssl rehash ");

    snprintf(hashed, sizeof(hashed), "%s/%08lx.0", cadir, X509_subject_name_hash(ca_x));
    write_pem(hashed, ca_x, NULL);
    CHECK(tls_config_check(&cfg, err, sizeof(err)) == 0);
    struct tls_ctx *ctx = ctx_or_die(&cfg);
    SSL_CTX *s = server_ctx(0, 0, 0);
    struct outcome o = connect_once(ctx, s, 0);
    CHECK(o.st == TLS_OK && o.exchanged);
    SSL_CTX_free(s);
    tls_ctx_destroy(ctx);
    unlink(hashed);
    unlink(plain);
    rmdir(cadir);
}

static void verifies_ip_with_cacert(void)
{
    struct tls_config cfg = base_config();
    cfg.host = "127.0.0.1";
    struct tls_ctx *ctx = ctx_or_die(&cfg);
    SSL_CTX *s = server_ctx(0, 0, 0);
    struct outcome o = connect_once(ctx, s, 0);
    CHECK(o.st == TLS_OK);
    CHECK(o.exchanged);
    CHECK(strcmp(o.sni, "") == 0);  /* no SNI for an IP literal */
    SSL_CTX_free(s);
    tls_ctx_destroy(ctx);
}

static void sni_flag_is_sent_and_host_still_verified(void)
{
    struct tls_config cfg = base_config();
    cfg.sni = "foo.test";
    struct tls_ctx *ctx = ctx_or_die(&cfg);
    SSL_CTX *s = server_ctx(0, 0, 0);
    struct outcome o = connect_once(ctx, s, 0);
    CHECK(o.st == TLS_OK);
    CHECK(strcmp(o.sni, "foo.test") == 0);
    tls_ctx_destroy(ctx);

    cfg.host = "example.com";  /* the SNI does not change what is verified */
    ctx = ctx_or_die(&cfg);
    o = connect_once(ctx, s, 0);
    CHECK(o.st == TLS_ERROR);
    CHECK_HAS(o.err, "hostname mismatch");
    SSL_CTX_free(s);
    tls_ctx_destroy(ctx);
}

static void cacert_may_be_the_server_certificate(void)
{
    struct tls_config cfg = base_config();
    cfg.cacert = srv_pem;  /* a leaf as trust anchor (partial chain) */
    struct tls_ctx *ctx = ctx_or_die(&cfg);
    SSL_CTX *s = server_ctx(0, 0, 0);
    struct outcome o = connect_once(ctx, s, 0);
    CHECK(o.st == TLS_OK);
    SSL_CTX_free(s);
    tls_ctx_destroy(ctx);
}

static void wrong_host_fails_with_names(void)
{
    struct tls_config cfg = base_config();
    cfg.host = "example.com";
    struct tls_ctx *ctx = ctx_or_die(&cfg);
    SSL_CTX *s = server_ctx(0, 0, 0);
    struct outcome o = connect_once(ctx, s, 0);
    CHECK(o.st == TLS_ERROR);
    CHECK_HAS(o.err, "hostname mismatch: certificate is for 'localhost', not 'example.com'");
    tls_ctx_destroy(ctx);

    cfg.host = "127.0.0.2";
    ctx = ctx_or_die(&cfg);
    o = connect_once(ctx, s, 0);
    CHECK(o.st == TLS_ERROR);
    CHECK_HAS(o.err, "IP address mismatch: certificate is for '127.0.0.1', not '127.0.0.2'");
    SSL_CTX_free(s);
    tls_ctx_destroy(ctx);

    /* an IP address against a certificate with host names only: they are named (the line
     * said only "certificate names no IP address") */
    X509 *names_only = make_cert(srv_k, "api", ca_x, ca_k, "DNS:api.example.com,DNS:www.example.com");
    s = server_ctx(0, 0, 0);
    SSL_CTX_use_certificate(s, names_only);
    SSL_CTX_use_PrivateKey(s, srv_k);
    cfg.host = "127.0.0.1";
    ctx = ctx_or_die(&cfg);
    o = connect_once(ctx, s, 0);
    CHECK(o.st == TLS_ERROR);
    CHECK_HAS(o.err, "IP address mismatch: certificate is for host names only: 'api.example.com', "
                     "'www.example.com', not '127.0.0.1'");
    SSL_CTX_free(s);
    tls_ctx_destroy(ctx);
    X509_free(names_only);
}

/* A certificate with many long names: the host checked, at the end of the line, is kept
 * within TLS_ERROR_FIT (the engine's reason tables cut a line there: it lost the host). */
static void wrong_host_message_keeps_the_host(void)
{
    X509 *many = make_cert(srv_k, "many", ca_x, ca_k,
                           "DNS:a-rather-long-name-for-a-service-0123456789.internal.example.net,"
                           "DNS:second-long-name.example.com,DNS:third-long-name.example.com,"
                           "DNS:d.example.com,DNS:e.example.com");
    X509 *short_names = make_cert(srv_k, "short", ca_x, ca_k,
                                  "DNS:a.example.com,DNS:b.example.com,DNS:c.example.com,DNS:d.example.com");
    X509 *longest = make_cert(srv_k, "longest", ca_x, ca_k,
                              "DNS:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                              "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example.com,DNS:b.example.com");
    X509 *certs[] = {many, longest, short_names};
    const char *want[] = {"hostname mismatch: certificate is for 'a-rather-long-name-for-a-service-01",
                          "hostname mismatch: certificate is for 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                          ("hostname mismatch: certificate is for 'a.example.com', 'b.example.com' (and 2 more), "
                           "not 'www.example.org'")};
    const char *end[] = {"...' (and 4 more), not 'www.example.org'", "aaa...' (and 1 more), not 'www.example.org'", ""};
    struct tls_config cfg = base_config();
    cfg.host = "www.example.org";
    for (int k = 0; k < 3; k++) {
        struct tls_ctx *ctx = ctx_or_die(&cfg);
        SSL_CTX *s = server_ctx(0, 0, 0);
        SSL_CTX_use_certificate(s, certs[k]);
        SSL_CTX_use_PrivateKey(s, srv_k);
        struct outcome o = connect_once(ctx, s, 0);
        CHECK(o.st == TLS_ERROR);
        CHECK_HAS(o.err, want[k]);
        CHECK_HAS(o.err, end[k]);
        CHECK(strlen(o.err) < TLS_ERROR_FIT);
        SSL_CTX_free(s);
        tls_ctx_destroy(ctx);
    }
    X509_free(many);
    X509_free(longest);
    X509_free(short_names);
}

static void unknown_ca_fails_and_insecure_passes(void)
{
    struct tls_config cfg = base_config();
    cfg.cacert = NULL;  /* the system store, which does not hold the test CA */
    struct tls_ctx *ctx = ctx_or_die(&cfg);
    SSL_CTX *s = server_ctx(0, 0, 0);
    struct outcome o = connect_once(ctx, s, 0);
    CHECK(o.st == TLS_ERROR);
    CHECK_HAS(o.err, "certificate verify failed: unable to get local issuer certificate (host localhost)");
    tls_ctx_destroy(ctx);

    cfg.insecure = true;
    ctx = ctx_or_die(&cfg);
    o = connect_once(ctx, s, 0);
    CHECK(o.st == TLS_OK);
    CHECK(o.exchanged);
    tls_ctx_destroy(ctx);

    cfg.host = "example.com";  /* --insecure skips the name too */
    ctx = ctx_or_die(&cfg);
    o = connect_once(ctx, s, 0);
    CHECK(o.st == TLS_OK);
    SSL_CTX_free(s);
    tls_ctx_destroy(ctx);
}

static void versions_12_and_13(void)
{
    SSL_CTX *any = server_ctx(0, 0, 0), *only12 = server_ctx(TLS1_2_VERSION, TLS1_2_VERSION, 0);
    struct tls_config cfg = base_config();
    cfg.max_version = TLS1_2_VERSION;
    struct tls_ctx *ctx = ctx_or_die(&cfg);
    struct outcome o = connect_once(ctx, any, 0);
    CHECK(o.st == TLS_OK && o.exchanged);
    CHECK_EQ_U(o.version, TLS1_2_VERSION);
    tls_ctx_destroy(ctx);

    cfg = base_config();
    cfg.min_version = TLS1_3_VERSION;
    ctx = ctx_or_die(&cfg);
    o = connect_once(ctx, any, 0);
    CHECK(o.st == TLS_OK && o.exchanged);
    CHECK_EQ_U(o.version, TLS1_3_VERSION);
    o = connect_once(ctx, only12, 0);  /* no common version */
    CHECK(o.st == TLS_ERROR);
    CHECK_HAS(o.err, "protocol version");
    tls_ctx_destroy(ctx);

    cfg = base_config();  /* no limits: whatever the server speaks */
    ctx = ctx_or_die(&cfg);
    o = connect_once(ctx, only12, 0);
    CHECK(o.st == TLS_OK && o.exchanged);
    CHECK_EQ_U(o.version, TLS1_2_VERSION);
    tls_ctx_destroy(ctx);
    SSL_CTX_free(any);
    SSL_CTX_free(only12);
}

static void ciphers_are_applied(void)
{
    SSL_CTX *s = server_ctx(0, 0, 0);
    struct tls_config cfg = base_config();
    cfg.ciphers = "TLS_CHACHA20_POLY1305_SHA256";
    struct tls_ctx *ctx = ctx_or_die(&cfg);
    struct outcome o = connect_once(ctx, s, 0);
    CHECK(o.st == TLS_OK);
    CHECK(strcmp(o.cipher, "TLS_CHACHA20_POLY1305_SHA256") == 0);
    tls_ctx_destroy(ctx);

    cfg.ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256";
    cfg.max_version = TLS1_2_VERSION;
    ctx = ctx_or_die(&cfg);
    o = connect_once(ctx, s, 0);
    CHECK(o.st == TLS_OK);
    CHECK(strcmp(o.cipher, "ECDHE-ECDSA-AES128-GCM-SHA256") == 0);
    SSL_CTX_free(s);
    tls_ctx_destroy(ctx);
}

/* conns opened one after another on one ctx: the first is full, the rest resume. */
static void check_resumption(int maxv, int srv_flags, bool resume)
{
    SSL_CTX *s = server_ctx(0, maxv, srv_flags);
    struct tls_config cfg = base_config();
    cfg.max_version = maxv;
    cfg.resume = resume;
    struct tls_ctx *ctx = ctx_or_die(&cfg);
    for (int i = 0; i < 6; i++) {
        struct outcome o = connect_once(ctx, s, 0);
        CHECK(o.st == TLS_OK && o.exchanged);
        CHECK_EQ_U(o.version, maxv);
        if (!resume || i == 0) CHECK(!o.resumed);
        else CHECK(o.resumed);
    }
    if (resume) CHECK(tls_ctx_sessions(ctx) > 0);
    else CHECK_EQ_U(tls_ctx_sessions(ctx), 0);
    SSL_CTX_free(s);
    tls_ctx_destroy(ctx);
}

static void resumes_tls13(void)
{
    check_resumption(TLS1_3_VERSION, 0, true);
}

static void resumes_tls12_ticket(void)
{
    check_resumption(TLS1_2_VERSION, 0, true);
}

static void resumes_tls12_session_id(void)
{
    check_resumption(TLS1_2_VERSION, SRV_NO_TICKET, true);
}

static void no_resume_is_always_full(void)
{
    check_resumption(TLS1_3_VERSION, 0, false);
    check_resumption(TLS1_2_VERSION, 0, false);
}

/* A TLS 1.3 ticket resumes once: connections opened side by side each need their own.
 * After one full handshake (2 tickets), two connections at once both resume; a third,
 * opened before either has read its new ticket, has none left and is full. */
static void tls13_tickets_serve_concurrent_connects(void)
{
    SSL_CTX *s = server_ctx(0, 0, 0);
    struct tls_config cfg = base_config();
    struct tls_ctx *ctx = ctx_or_die(&cfg);
    struct outcome o = connect_once(ctx, s, 0);
    CHECK(o.st == TLS_OK && o.exchanged && !o.resumed);
    CHECK_EQ_U(tls_ctx_sessions(ctx), 2);
    struct pair a, b, c;
    pair_open(&a, ctx, s, 0);
    pair_open(&b, ctx, s, 0);
    pair_open(&c, ctx, s, 0);
    CHECK(handshake(&a) == TLS_OK && tls_conn_resumed(a.c));
    CHECK(handshake(&b) == TLS_OK && tls_conn_resumed(b.c));
    CHECK(handshake(&c) == TLS_OK && !tls_conn_resumed(c.c));
    CHECK(exchange(&a) && exchange(&b) && exchange(&c));
    CHECK_EQ_U(tls_ctx_sessions(ctx), 4);  /* 1 + 1 after resumed handshakes, 2 after the full one */
    pair_close(&a);
    pair_close(&b);
    pair_close(&c);
    for (int i = 0; i < 3; i++) {
        o = connect_once(ctx, s, 0);
        CHECK(o.st == TLS_OK && o.resumed);
    }
    SSL_CTX_free(s);
    tls_ctx_destroy(ctx);
}

/* Connections that read their responses together and reconnect together (started at once,
 * as many requests each): the first wave of 24 full handshakes brings 48 tickets, and the
 * next wave of 24 each finds one when the ctx keeps a session per connection. With the 16
 * of the default, 8 of them were full. */
static int wave_resumed(struct tls_ctx *ctx, SSL_CTX *s, int n)
{
    struct pair p[24];
    int resumed = 0;
    for (int i = 0; i < n; i++) pair_open(&p[i], ctx, s, 0);
    for (int i = 0; i < n; i++) {
        CHECK(handshake(&p[i]) == TLS_OK);
        resumed += tls_conn_resumed(p[i].c);
    }
    for (int i = 0; i < n; i++) CHECK(exchange(&p[i]));
    for (int i = 0; i < n; i++) pair_close(&p[i]);
    return resumed;
}

static void tls13_tickets_kept_for_every_connection(void)
{
    SSL_CTX *s = server_ctx(0, 0, 0);
    struct tls_config cfg = base_config();
    cfg.sessions = 24;
    struct tls_ctx *ctx = ctx_or_die(&cfg);
    CHECK_EQ_U(wave_resumed(ctx, s, 24), 0);
    CHECK_EQ_U(tls_ctx_sessions(ctx), 24);  /* 48 tickets came */
    CHECK_EQ_U(wave_resumed(ctx, s, 24), 24);
    CHECK_EQ_U(wave_resumed(ctx, s, 24), 24);
    tls_ctx_destroy(ctx);

    cfg.sessions = 0;  /* the default: 16 */
    ctx = ctx_or_die(&cfg);
    CHECK_EQ_U(wave_resumed(ctx, s, 24), 0);
    CHECK_EQ_U(tls_ctx_sessions(ctx), TLS_POOL_MIN);
    CHECK_EQ_U(wave_resumed(ctx, s, 24), TLS_POOL_MIN);
    tls_ctx_destroy(ctx);
    SSL_CTX_free(s);
}

static int refuse_name(SSL *s, int *alert, void *arg)
{
    (void)s, (void)arg;
    *alert = SSL_AD_UNRECOGNIZED_NAME;
    return SSL_TLSEXT_ERR_ALERT_FATAL;
}

static int refuse_alpn(SSL *s, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
                       unsigned inlen, void *arg)
{
    (void)s, (void)out, (void)outlen, (void)in, (void)inlen, (void)arg;
    return SSL_TLSEXT_ERR_ALERT_FATAL;
}

/* A server's alert says which flag to look at (OpenSSL's reason alone did not). */
static void server_alerts_name_the_flag(void)
{
    SSL_CTX *s = server_ctx(0, 0, 0);
    SSL_CTX_set_tlsext_servername_callback(s, refuse_name);
    struct tls_config cfg = base_config();
    struct tls_ctx *ctx = ctx_or_die(&cfg);
    struct outcome o = connect_once(ctx, s, 0);
    CHECK(o.st == TLS_ERROR);
    CHECK_HAS(o.err, "unrecognized name (the server does not know the name sent as SNI, 'localhost': see --sni)");
    tls_ctx_destroy(ctx);
    cfg.host = "127.0.0.1";
    ctx = ctx_or_die(&cfg);
    o = connect_once(ctx, s, 0);
    CHECK(o.st == TLS_ERROR);
    CHECK_HAS(o.err, "unrecognized name (no SNI is sent for an IP address: give the server's name with --sni)");
    tls_ctx_destroy(ctx);
    SSL_CTX_free(s);

    s = server_ctx(0, 0, 0);
    SSL_CTX_set_alpn_select_cb(s, refuse_alpn, NULL);
    cfg = base_config();
    ctx = ctx_or_die(&cfg);
    o = connect_once(ctx, s, 0);
    CHECK(o.st == TLS_ERROR);
    CHECK_HAS(o.err, "no application protocol (the server offers no HTTP/1.1, all that barrage speaks");
    tls_ctx_destroy(ctx);
    SSL_CTX_free(s);

    s = server_ctx(0, TLS1_2_VERSION, 0);
    SSL_CTX_set_cipher_list(s, "ECDHE-ECDSA-CHACHA20-POLY1305");
    cfg.ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256";
    cfg.max_version = TLS1_2_VERSION;
    ctx = ctx_or_die(&cfg);
    o = connect_once(ctx, s, 0);
    CHECK(o.st == TLS_ERROR);
    CHECK_HAS(o.err, "handshake failure (no cipher in common with the server? see --ciphers)");
    tls_ctx_destroy(ctx);
    SSL_CTX_free(s);
}

static void client_certificate(void)
{
    for (int v = TLS1_2_VERSION; v <= TLS1_3_VERSION; v++) {
        SSL_CTX *s = server_ctx(v, v, SRV_REQUIRE_CERT);
        struct tls_config cfg = base_config();
        struct tls_ctx *ctx = ctx_or_die(&cfg);
        /* Without one: TLS 1.2 fails in the handshake; in TLS 1.3 the client's part of it
         * ends first and the server's alert arrives with the first read. */
        struct outcome o = connect_once(ctx, s, 0);
        CHECK(o.st == TLS_ERROR || !o.exchanged);
        CHECK_HAS(o.err, "--cert");
        if (v == TLS1_3_VERSION) CHECK_HAS(o.err, "certificate required");
        tls_ctx_destroy(ctx);

        cfg.cert = cli_pem;
        cfg.key = cli_key;
        ctx = ctx_or_die(&cfg);
        struct pair p;
        pair_open(&p, ctx, s, 0);
        CHECK(handshake(&p) == TLS_OK);
        CHECK(exchange(&p));
        X509 *peer = SSL_get0_peer_certificate(p.s);
        CHECK(peer && X509_cmp(peer, cli_x) == 0);
        pair_close(&p);
        SSL_CTX_free(s);
        tls_ctx_destroy(ctx);
    }
}

/* The client writes a request, the server reads it, writes 100 KB, and the client reads
 * it all with its ciphertext fed in odd pieces and small plaintext reads. */
static void data_round_trips_in_pieces(void)
{
    enum { BIG = 100 * 1000 };
    unsigned char *big = malloc(BIG), *got = malloc(BIG);
    for (size_t i = 0; i < BIG; i++) big[i] = (unsigned char)(i * 131 + (i >> 9));
    const size_t chunks[] = {1, 7, 1000, 4097, 65536};
    for (int maxv = TLS1_2_VERSION; maxv <= TLS1_3_VERSION; maxv++) {
        SSL_CTX *s = server_ctx(0, maxv, 0);
        struct tls_config cfg = base_config();
        struct tls_ctx *ctx = ctx_or_die(&cfg);
        struct tls_config keep = base_config();
        keep.keep_buffers = true;
        struct tls_ctx *keep_ctx = ctx_or_die(&keep);
        for (size_t k = 0; k < sizeof(chunks) / sizeof(chunks[0]); k++) {
            struct pair p;
            pair_open(&p, k % 2 ? keep_ctx : ctx, s, chunks[k]);  /* both buffer modes */
            CHECK(handshake(&p) == TLS_OK);
            static const char req[] = "POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nhello";
            unsigned char rbuf[sizeof(req)];
            CHECK(tls_conn_write(p.c, req, sizeof(req) - 1) == (long)sizeof(req) - 1);
            CHECK(server_read(&p, rbuf, sizeof(req) - 1) && memcmp(rbuf, req, sizeof(req) - 1) == 0);
            server_write(&p, big, BIG);
            memset(got, 0, BIG);
            CHECK(client_read(&p, got, BIG, 1000) == BIG);
            CHECK(memcmp(got, big, BIG) == 0);
            CHECK(exchange(&p));  /* and the connection goes on */
            pair_close(&p);
        }
        SSL_CTX_free(s);
        tls_ctx_destroy(ctx);
        tls_ctx_destroy(keep_ctx);
    }
    free(big);
    free(got);
}

/* Peeked ciphertext stays put while more is written behind it, even when the buffer has
 * to grow: the engine may still be sending it. */
static void peeked_bytes_survive_growth(void)
{
    SSL_CTX *s = server_ctx(0, 0, 0);
    struct tls_config cfg = base_config();
    struct tls_ctx *ctx = ctx_or_die(&cfg);
    struct pair p;
    pair_open(&p, ctx, s, 0);
    CHECK(handshake(&p) == TLS_OK);
    enum { SMALL = 300, LARGE = 200000 };
    unsigned char *plain = malloc(SMALL + LARGE), *seen = malloc(SMALL + LARGE);
    for (size_t i = 0; i < SMALL + LARGE; i++) plain[i] = (unsigned char)(i * 7);
    CHECK(tls_conn_write(p.c, plain, SMALL) == SMALL);
    const void *d1;
    size_t n1 = tls_conn_out_peek(p.c, &d1);
    CHECK(n1 > SMALL);
    unsigned char snapshot[1024];
    memcpy(snapshot, d1, n1 < sizeof(snapshot) ? n1 : sizeof(snapshot));
    CHECK(tls_conn_write(p.c, plain + SMALL, LARGE) == LARGE);  /* grows the buffer */
    CHECK(memcmp(d1, snapshot, n1 < sizeof(snapshot) ? n1 : sizeof(snapshot)) == 0);
    CHECK(tls_conn_out_pending(p.c) > n1 + LARGE);
    BIO_write(p.s_in, d1, (int)n1);  /* "the send completed" */
    tls_conn_out_consume(p.c, n1);
    CHECK(server_read(&p, seen, SMALL + LARGE) && memcmp(seen, plain, SMALL + LARGE) == 0);
    CHECK_EQ_U(tls_conn_out_pending(p.c), 0);
    CHECK(exchange(&p));
    free(plain);
    free(seen);
    pair_close(&p);
    SSL_CTX_free(s);
    tls_ctx_destroy(ctx);
}

static void feed_lends_until_taken(void)
{
    SSL_CTX *s = server_ctx(0, 0, 0);
    struct tls_config cfg = base_config();
    struct tls_ctx *ctx = ctx_or_die(&cfg);
    struct pair p;
    pair_open(&p, ctx, s, 0);
    CHECK(handshake(&p) == TLS_OK);
    server_write(&p, "abcdef", 6);
    size_t k = p.s2c_len - p.s2c_pos;
    CHECK(tls_conn_feed(p.c, p.s2c + p.s2c_pos, k) == 0);
    p.s2c_pos += k;
    CHECK_EQ_U(tls_conn_in_left(p.c), k);
    CHECK(tls_conn_feed(p.c, "x", 1) == -1);  /* the first piece is still lent */
    unsigned char buf[4];
    CHECK(tls_conn_read(p.c, buf, 4) == 4);
    CHECK(tls_conn_read(p.c, buf, 4) == 2);
    CHECK(tls_conn_read(p.c, buf, 4) == 0);
    CHECK_EQ_U(tls_conn_in_left(p.c), 0);
    CHECK(tls_conn_feed(p.c, "", 0) == 0);
    pair_close(&p);
    SSL_CTX_free(s);
    tls_ctx_destroy(ctx);
}

static void close_notify_is_its_own_code(void)
{
    SSL_CTX *s = server_ctx(0, 0, 0);
    struct tls_config cfg = base_config();
    struct tls_ctx *ctx = ctx_or_die(&cfg);
    struct pair p;
    pair_open(&p, ctx, s, 0);
    CHECK(handshake(&p) == TLS_OK);
    CHECK(exchange(&p));
    SSL_shutdown(p.s);
    server_step(&p);
    CHECK(client_drain(&p) == TLS_IO_CLOSED);
    CHECK(strcmp(tls_conn_error(p.c), "") == 0);
    pair_close(&p);
    SSL_CTX_free(s);
    tls_ctx_destroy(ctx);
}

static void plain_http_server_is_not_tls(void)
{
    struct tls_config cfg = base_config();
    struct tls_ctx *ctx = ctx_or_die(&cfg);
    struct tls_conn *c = tls_conn_create(ctx);
    CHECK(tls_conn_handshake(c) == TLS_WANT);
    const void *hello;
    size_t n = tls_conn_out_peek(c, &hello);
    CHECK(n > 0 && ((const unsigned char *)hello)[0] == 22);  /* a handshake record */
    tls_conn_out_consume(c, n);
    static const char reply[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    CHECK(tls_conn_feed(c, reply, sizeof(reply) - 1) == 0);
    CHECK(tls_conn_handshake(c) == TLS_ERROR);
    CHECK_HAS(tls_conn_error(c), "not TLS");
    CHECK_HAS(tls_conn_error(c), "\"HTTP/1.1 400 Bad Request\"");
    CHECK(tls_conn_handshake(c) == TLS_ERROR);  /* stays failed */
    tls_conn_destroy(c);

    c = tls_conn_create(ctx);  /* binary garbage */
    CHECK(tls_conn_handshake(c) == TLS_WANT);
    tls_conn_out_consume(c, tls_conn_out_pending(c));
    static const unsigned char junk[] = {0x00, 0x00, 0x12, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00};
    CHECK(tls_conn_feed(c, junk, sizeof(junk)) == 0);
    CHECK(tls_conn_handshake(c) == TLS_ERROR);
    CHECK_HAS(tls_conn_error(c), "not TLS");
    tls_conn_destroy(c);
    tls_ctx_destroy(ctx);
}

static void config_check_names_the_flag(void)
{
    char err[256];
    struct tls_config cfg = base_config();
    CHECK(tls_config_check(&cfg, err, sizeof(err)) == 0);

    cfg.cacert = "/nonexistent/ca.pem";
    CHECK(tls_config_check(&cfg, err, sizeof(err)) == -1);
    CHECK_HAS(err, "--cacert /nonexistent/ca.pem: No such file or directory");
    cfg.cacert = junk_pem;
    CHECK(tls_config_check(&cfg, err, sizeof(err)) == -1);
    CHECK_HAS(err, "--cacert");

    cfg = base_config();
    cfg.cert = cli_pem;
    cfg.key = other_key;
    CHECK(tls_config_check(&cfg, err, sizeof(err)) == -1);
    CHECK_HAS(err, "does not match --cert");
    CHECK_HAS(err, "--key");
    /* said in full, no OpenSSL reason after it ("no certificate assigned", "unsupported") */
    char want[600];
    snprintf(want, sizeof(want), "--key %s does not match --cert %s", other_key, cli_pem);
    CHECK(!strcmp(err, want));
    cfg.key = NULL;
    CHECK(tls_config_check(&cfg, err, sizeof(err)) == -1);
    snprintf(want, sizeof(want), "--cert %s has no private key; give --key", cli_pem);
    CHECK(!strcmp(err, want));
    cfg.key = cli_key;
    CHECK(tls_config_check(&cfg, err, sizeof(err)) == 0);
    cfg.cert = junk_pem;
    CHECK(tls_config_check(&cfg, err, sizeof(err)) == -1);
    CHECK_HAS(err, "--cert");
    cfg.cert = NULL;
    CHECK(tls_config_check(&cfg, err, sizeof(err)) == -1);
    CHECK_HAS(err, "needs --cert");
    cfg.cert = "/nonexistent/client.pem";
    CHECK(tls_config_check(&cfg, err, sizeof(err)) == -1);
    CHECK_HAS(err, "--cert /nonexistent/client.pem: No such file");
    /* a file with no key in it, an encrypted key, a directory: each said so (they were
     * "unsupported", "interrupted or cancelled" and "not PEM (no start line)") */
    cfg.cert = cli_pem;
    cfg.key = junk_pem;
    CHECK(tls_config_check(&cfg, err, sizeof(err)) == -1);
    snprintf(want, sizeof(want), "--key %s: no private key in it (PEM expected)", junk_pem);
    CHECK(!strcmp(err, want));
    char enc_key[160];
    snprintf(enc_key, sizeof(enc_key), "%s/encrypted.key", dir);
    FILE *f = fopen(enc_key, "w");
    if (!f || !PEM_write_PrivateKey(f, cli_k, EVP_aes_256_cbc(), (unsigned char *)"secret", 6, NULL, NULL)) abort();
    fclose(f);
    cfg.key = enc_key;
    CHECK(tls_config_check(&cfg, err, sizeof(err)) == -1);
    snprintf(want, sizeof(want), "--key %s is encrypted, and barrage asks for no passphrase", enc_key);
    CHECK_HAS(err, want);
    unlink(enc_key);
    cfg.key = dir;
    CHECK(tls_config_check(&cfg, err, sizeof(err)) == -1);
    snprintf(want, sizeof(want), "--key %s: Is a directory", dir);
    CHECK(!strcmp(err, want));
    cfg.cert = dir;
    CHECK(tls_config_check(&cfg, err, sizeof(err)) == -1);
    snprintf(want, sizeof(want), "--cert %s: Is a directory", dir);
    CHECK(!strcmp(err, want));

    cfg = base_config();
    cfg.ciphers = "NOPE-CIPHER";
    CHECK(tls_config_check(&cfg, err, sizeof(err)) == -1);
    CHECK_HAS(err, "--ciphers");
    CHECK_HAS(err, "NOPE-CIPHER");
    cfg.ciphers = "TLS_AES_128_GCM_SHA256:TLS_NOPE";
    CHECK(tls_config_check(&cfg, err, sizeof(err)) == -1);
    CHECK_HAS(err, "TLS_NOPE");
    cfg.ciphers = "TLS_AES_128_GCM_SHA256:ECDHE-ECDSA-AES128-GCM-SHA256:!aNULL";
    CHECK(tls_config_check(&cfg, err, sizeof(err)) == 0);
    /* a list no allowed version would use (it went unused, the other version's defaults on) */
    cfg.ciphers = "TLS_AES_128_GCM_SHA256";
    cfg.max_version = TLS1_2_VERSION;
    CHECK(tls_config_check(&cfg, err, sizeof(err)) == -1);
    CHECK_HAS(err, "which --tls-max 1.2 rules out");
    cfg.max_version = 0;
    cfg.ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256";
    cfg.min_version = TLS1_3_VERSION;
    CHECK(tls_config_check(&cfg, err, sizeof(err)) == -1);
    CHECK_HAS(err, "which --tls-min 1.3 rules out");
    cfg.min_version = 0;

    cfg = base_config();
    cfg.min_version = TLS1_3_VERSION;
    cfg.max_version = TLS1_2_VERSION;
    CHECK(tls_config_check(&cfg, err, sizeof(err)) == -1);
    cfg = base_config();
    cfg.host = NULL;
    CHECK(tls_config_check(&cfg, err, sizeof(err)) == -1);
    CHECK_HAS(err, "host");
    cfg.insecure = true;
    CHECK(tls_config_check(&cfg, err, sizeof(err)) == 0);
}

static void handshake_fed_one_byte_at_a_time(void)
{
    for (int maxv = TLS1_2_VERSION; maxv <= TLS1_3_VERSION; maxv++) {
        SSL_CTX *s = server_ctx(0, maxv, 0);
        struct tls_config cfg = base_config();
        struct tls_ctx *ctx = ctx_or_die(&cfg);
        for (int i = 0; i < 2; i++) {  /* full, then resumed */
            struct outcome o = connect_once(ctx, s, 1);
            CHECK(o.st == TLS_OK && o.exchanged);
            CHECK(o.resumed == (i == 1));
        }
        SSL_CTX_free(s);
        tls_ctx_destroy(ctx);
    }
}

/* Workers must not share OpenSSL's default library context (its locks halve handshakes per
 * second at 8 workers): each ctx has its own, unless BARRAGE_TLS_LIBCTX=shared. */
static void each_ctx_has_its_own_library_context(void)
{
    struct tls_config cfg = base_config();
    struct tls_ctx *a = ctx_or_die(&cfg), *b = ctx_or_die(&cfg);
    CHECK(a->lib_ctx && b->lib_ctx && a->lib_ctx != b->lib_ctx);
    SSL_CTX *s = server_ctx(0, TLS1_3_VERSION, 0);
    CHECK(connect_once(a, s, 0).exchanged && connect_once(b, s, 0).exchanged);
    tls_ctx_destroy(a);
    tls_ctx_destroy(b);
    setenv("BARRAGE_TLS_LIBCTX", "shared", 1);
    a = ctx_or_die(&cfg);
    CHECK(a->lib_ctx == NULL);
    CHECK(connect_once(a, s, 0).exchanged);
    unsetenv("BARRAGE_TLS_LIBCTX");
    tls_ctx_destroy(a);
    SSL_CTX_free(s);
}

int main(void)
{
    tls_alloc_install();    /* as barrage runs: OpenSSL on tls_alloc.c's lists (not under ASan) */
    make_certs();
    RUN(verifies_name_with_cacert);
    RUN(verifies_ip_with_cacert);
    RUN(cacert_directory_needs_hashed_names);
    RUN(sni_flag_is_sent_and_host_still_verified);
    RUN(cacert_may_be_the_server_certificate);
    RUN(wrong_host_fails_with_names);
    RUN(wrong_host_message_keeps_the_host);
    RUN(unknown_ca_fails_and_insecure_passes);
    RUN(versions_12_and_13);
    RUN(ciphers_are_applied);
    RUN(resumes_tls13);
    RUN(resumes_tls12_ticket);
    RUN(resumes_tls12_session_id);
    RUN(no_resume_is_always_full);
    RUN(tls13_tickets_serve_concurrent_connects);
    RUN(tls13_tickets_kept_for_every_connection);
    RUN(server_alerts_name_the_flag);
    RUN(client_certificate);
    RUN(data_round_trips_in_pieces);
    RUN(peeked_bytes_survive_growth);
    RUN(feed_lends_until_taken);
    RUN(close_notify_is_its_own_code);
    RUN(plain_http_server_is_not_tls);
    RUN(config_check_names_the_flag);
    RUN(handshake_fed_one_byte_at_a_time);
    RUN(each_ctx_has_its_own_library_context);
    remove_certs();
    CHECK_EXIT();
}
