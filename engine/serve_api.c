/* The stateful JSON API of `barrage serve --api`. See serve_api.h. */
#include "serve_api.h"

#include <jansson.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* Large enough for any body we write: an item is at most ~200 bytes of ID and 6 bytes per
 * title byte escaped, a page 5 short items. */
#define BODY_CAP 2048
#define ID_MAX_BYTES (16 + SERVE_API_MAX_NAME)   /* mac, seq, title */

static uint64_t key[2];   /* SipHash key: written once by serve_api_init(), then read-only */

/* --- keyed hash ------------------------------------------------------------------------ */

static uint64_t rotl(uint64_t x, int b)
{
    return (x << b) | (x >> (64 - b));
}

static void sip_rounds(uint64_t v[4], int n)
{
    while (n--) {
        v[0] += v[1]; v[1] = rotl(v[1], 13); v[1] ^= v[0]; v[0] = rotl(v[0], 32);
        v[2] += v[3]; v[3] = rotl(v[3], 16); v[3] ^= v[2];
        v[0] += v[3]; v[3] = rotl(v[3], 21); v[3] ^= v[0];
        v[2] += v[1]; v[1] = rotl(v[1], 17); v[1] ^= v[2]; v[2] = rotl(v[2], 32);
    }
}

static uint64_t load_le64(const unsigned char *p, size_t n)
{
    uint64_t m = 0;
    for (size_t i = 0; i < n; i++) m |= (uint64_t)p[i] << (8 * i);
    return m;
}

static void store_le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

/* SipHash-2-4 of data[0, n) under key. */
static uint64_t siphash(const void *data, size_t n)
{
    const unsigned char *p = data;
    uint64_t v[4] = {
        0x736f6d6570736575ull ^ key[0], 0x646f72616e646f6dull ^ key[1],
        0x6c7967656e657261ull ^ key[0], 0x7465646279746573ull ^ key[1],
    };
    uint64_t last = (uint64_t)n << 56;
    for (; n >= 8; n -= 8, p += 8) {
        uint64_t m = load_le64(p, 8);
        v[3] ^= m;
        sip_rounds(v, 2);
        v[0] ^= m;
    }
    last |= load_le64(p, n);
    v[3] ^= last;
    sip_rounds(v, 2);
    v[0] ^= last;
    v[2] ^= 0xff;
    sip_rounds(v, 4);
    return v[0] ^ v[1] ^ v[2] ^ v[3];
}

/* H(tag, a[0, an), b[0, bn)): the tag keeps the three uses of the key apart. */
static uint64_t hash_tagged(char tag, const void *a, size_t an, const void *b, size_t bn)
{
    unsigned char buf[1 + 8 + ID_MAX_BYTES];
    if (1 + an + bn > sizeof(buf)) return 0;   /* callers stay within it */
    buf[0] = (unsigned char)tag;
    memcpy(buf + 1, a, an);
    if (bn) memcpy(buf + 1 + an, b, bn);
    return siphash(buf, 1 + an + bn);
}

void serve_api_init(void)
{
    if (getrandom(key, sizeof(key), 0) == (ssize_t)sizeof(key)) return;
    struct timespec t;   /* no getrandom: unpredictable enough for a test server */
    clock_gettime(CLOCK_REALTIME, &t);
    key[0] = (uint64_t)t.tv_nsec * 0x9e3779b97f4a7c15ull ^ (uint64_t)t.tv_sec;
    key[1] = (uint64_t)getpid() * 0xbf58476d1ce4e5b9ull ^ (uint64_t)(uintptr_t)&t;
}

void serve_api_state_init(struct serve_api *api)
{
    uint64_t seq;
    if (getrandom(&seq, sizeof(seq), 0) != (ssize_t)sizeof(seq)) seq = (uint64_t)(uintptr_t)api;
    api->seq = seq & ~(1ull << 63);   /* the top bit marks listed items (item_listed) */
}

/* --- tokens and item IDs --------------------------------------------------------------- */

static const char hex[] = "0123456789abcdef";

static void put_hex64(char *out, uint64_t v)
{
    for (int i = 15; i >= 0; i--, v >>= 4) out[i] = hex[v & 15];
}

static bool get_hex64(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    for (int i = 0; i < 16; i++) {
        char c = s[i];
        unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0')
                   : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10) : 16;
        if (d == 16) return false;
        v = v << 4 | d;
    }
    *out = v;
    return true;
}

static uint64_t user_hash(const char *user, size_t n)
{
    return hash_tagged('U', user, n, NULL, 0);
}

static uint64_t token_mac(uint64_t u)
{
    return hash_tagged('T', &u, sizeof(u), NULL, 0);
}

void serve_api_token(const char *user, size_t n, char *out)
{
    uint64_t u = user_hash(user, n);
    memcpy(out, "tok-", 4);
    put_hex64(out + 4, u);
    put_hex64(out + 20, token_mac(u));
}

bool serve_api_token_check(const char *token, size_t n, uint64_t *user_hash_out)
{
    uint64_t u, mac;
    if (n != SERVE_API_TOKEN_LEN || memcmp(token, "tok-", 4) != 0 ||
        !get_hex64(token + 4, &u) || !get_hex64(token + 20, &mac) || mac != token_mac(u))
        return false;
    *user_hash_out = u;
    return true;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* base64url without padding. Returns the characters written. */
static size_t b64_encode(const unsigned char *p, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n) v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n) v |= p[i + 2];
        size_t chars = n - i >= 3 ? 4 : n - i + 1;
        for (size_t k = 0; k < chars; k++) out[o++] = b64[(v >> (18 - 6 * k)) & 63];
    }
    return o;
}

/* Decodes s[0, n) into out (room for cap bytes). Returns the bytes, or -1 when it is not
 * canonical base64url without padding or does not fit. */
static ssize_t b64_decode(const char *s, size_t n, unsigned char *out, size_t cap)
{
    if (n % 4 == 1 || n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0) > cap) return -1;
    size_t o = 0;
    uint32_t v = 0;
    for (size_t i = 0; i < n; i++) {
        const char *c = s[i] ? memchr(b64, s[i], 64) : NULL;
        if (!c) return -1;
        v = v << 6 | (uint32_t)(c - b64);
        if (i % 4 == 3) {
            out[o++] = (unsigned char)(v >> 16);
            out[o++] = (unsigned char)(v >> 8);
            out[o++] = (unsigned char)v;
            v = 0;
        }
    }
    size_t tail = n % 4;   /* 2 or 3 characters: 1 or 2 bytes, the spare bits zero */
    if (tail == 2) {
        if (v & 15) return -1;
        out[o++] = (unsigned char)(v >> 4);
    } else if (tail == 3) {
        if (v & 3) return -1;
        out[o++] = (unsigned char)(v >> 10);
        out[o++] = (unsigned char)(v >> 2);
    }
    return (ssize_t)o;
}

/* An item: its ID (base64url of mac, seq, title) and ETag come from its owner and content. */
struct item {
    uint64_t mac, seq;
    const char *title;
    size_t title_len;
};

static uint64_t item_mac(uint64_t u, uint64_t seq, const char *title, size_t n)
{
    unsigned char rest[ID_MAX_BYTES];
    store_le64(rest, seq);
    memcpy(rest + 8, title, n);
    return hash_tagged('I', &u, sizeof(u), rest, 8 + n);
}

static size_t item_id(const struct item *it, char *out)
{
    unsigned char raw[ID_MAX_BYTES];
    store_le64(raw, it->mac);
    store_le64(raw + 8, it->seq);
    memcpy(raw + 16, it->title, it->title_len);
    return b64_encode(raw, 16 + it->title_len, out);
}

/* The item the ID names, when user u owns it; its title points into raw. */
static bool item_parse(const char *id, size_t n, uint64_t u, unsigned char raw[ID_MAX_BYTES],
                       struct item *it)
{
    ssize_t len = b64_decode(id, n, raw, ID_MAX_BYTES);
    if (len < 16) return false;
    it->mac = load_le64(raw, 8);
    it->seq = load_le64(raw + 8, 8);
    it->title = (const char *)raw + 16;
    it->title_len = (size_t)len - 16;
    return it->mac == item_mac(u, it->seq, it->title, it->title_len);
}

/* --- the response body ------------------------------------------------------------------ */

struct jbuf {
    char buf[BODY_CAP];
    size_t len;
    bool overflow;
};

static void jb_put(struct jbuf *b, const char *s, size_t n)
{
    if (n > sizeof(b->buf) - b->len) {
        b->overflow = true;
        return;
    }
    memcpy(b->buf + b->len, s, n);
    b->len += n;
}

static void jb_puts(struct jbuf *b, const char *s)
{
    jb_put(b, s, strlen(s));
}

static void jb_u64(struct jbuf *b, uint64_t v)
{
    char digits[24];
    size_t i = sizeof(digits);
    do {
        digits[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    jb_put(b, digits + i, sizeof(digits) - i);
}

/* A JSON string: quotes, backslashes and control characters escaped; other bytes as they
 * are (what we echo came from jansson, so it is valid UTF-8). */
static void jb_str(struct jbuf *b, const char *s, size_t n)
{
    jb_put(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            char esc[2] = { '\\', (char)c };
            jb_put(b, esc, 2);
        } else if (c < 0x20) {
            char esc[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
            jb_put(b, esc, 6);
        } else {
            jb_put(b, s + i, 1);
        }
    }
    jb_put(b, "\"", 1);
}

/* {"id":ID,"title":T} */
static void jb_item(struct jbuf *b, const struct item *it)
{
    char id[(ID_MAX_BYTES + 2) / 3 * 4];
    jb_puts(b, "{\"id\":");
    jb_str(b, id, item_id(it, id));
    jb_puts(b, ",\"title\":");
    jb_str(b, it->title, it->title_len);
    jb_puts(b, "}");
}

/* --- routes ------------------------------------------------------------------------------ */

/* A response under construction: status, extra header lines, body. */
struct answer {
    unsigned status;
    char headers[512];   /* whole lines, each ending in CRLF */
    struct jbuf body;
};

static void error_body(struct answer *a, unsigned status, const char *message)
{
    a->status = status;
    a->body.len = 0;
    jb_puts(&a->body, "{\"error\":");
    jb_str(&a->body, message, strlen(message));
    jb_puts(&a->body, "}");
}

static void method_not_allowed(struct answer *a, const char *allow)
{
    error_body(a, 405, "method not allowed");
    snprintf(a->headers, sizeof(a->headers), "Allow: %s\r\n", allow);
}

static void unauthorized(struct answer *a)
{
    error_body(a, 401, "unauthorized");
    snprintf(a->headers, sizeof(a->headers), "WWW-Authenticate: Bearer\r\n");
}

static bool is_get(const struct serve_request *req)
{
    return req->method == SERVE_METHOD_GET || req->method == SERVE_METHOD_HEAD;
}

/* A JSON object's string member: false when the body is no object or the member is not a
 * string of 1..SERVE_API_MAX_NAME bytes. */
static bool member(json_t *root, const char *name, const char **s, size_t *n)
{
    json_t *v = json_object_get(root, name);
    if (!json_is_string(v)) return false;
    *s = json_string_value(v);
    *n = json_string_length(v);
    return *n > 0 && *n <= SERVE_API_MAX_NAME;
}

static json_t *parse_body(const struct serve_request *req, const char *body)
{
    if (!req->content_length) return NULL;
    json_t *root = json_loadb(body, (size_t)req->content_length, 0, NULL);
    if (root && !json_is_object(root)) {
        json_decref(root);
        root = NULL;
    }
    return root;
}

static void login(struct answer *a, const struct serve_request *req, const char *body)
{
    if (req->method != SERVE_METHOD_POST) {
        method_not_allowed(a, "POST");
        return;
    }
    json_t *root = parse_body(req, body);
    const char *user, *password;
    size_t ulen, plen;
    if (!root || !member(root, "user", &user, &ulen) ||
        !json_is_string(json_object_get(root, "password"))) {
        error_body(a, 400, "bad request");
    } else {
        password = json_string_value(json_object_get(root, "password"));
        plen = json_string_length(json_object_get(root, "password"));
        if (plen != 3 + ulen || memcmp(password, "pw-", 3) != 0 ||
            memcmp(password + 3, user, ulen) != 0) {
            error_body(a, 401, "bad credentials");
        } else {
            char token[SERVE_API_TOKEN_LEN];
            serve_api_token(user, ulen, token);
            a->status = 200;
            jb_puts(&a->body, "{\"access_token\":");
            jb_str(&a->body, token, sizeof(token));
            jb_puts(&a->body, ",\"user\":");
            jb_str(&a->body, user, ulen);
            jb_puts(&a->body, "}");
        }
    }
    json_decref(root);
}

/* Items of a listed page: seq with the top bit set, so they are never created ones. */
static void list_items(struct answer *a, const struct serve_request *req, uint64_t u)
{
    uint64_t page = req->route_arg;
    if (page == 0) {
        error_body(a, 400, "bad page");
        return;
    }
    a->status = 200;
    jb_puts(&a->body, "{\"page\":");
    jb_u64(&a->body, page);
    jb_puts(&a->body, ",\"items\":[");
    for (unsigned k = 1; k <= SERVE_API_PAGE_ITEMS; k++) {
        char title[48];
        int n = snprintf(title, sizeof(title), "item %llu.%u", (unsigned long long)page, k);
        struct item it = { .seq = 1ull << 63 | page << 8 | k, .title = title,
                           .title_len = (size_t)n };
        it.mac = item_mac(u, it.seq, it.title, it.title_len);
        if (k > 1) jb_puts(&a->body, ",");
        jb_item(&a->body, &it);
    }
    jb_puts(&a->body, "]}");
}

/* ETag: "HEX(mac)" (and Location, for a new item). */
static void item_headers(struct answer *a, const struct item *it, bool location)
{
    char etag[16], id[(ID_MAX_BYTES + 2) / 3 * 4];
    put_hex64(etag, it->mac);
    int n = snprintf(a->headers, sizeof(a->headers), "ETag: \"%.16s\"\r\n", etag);
    if (location && n > 0) {
        size_t idn = item_id(it, id);
        snprintf(a->headers + n, sizeof(a->headers) - (size_t)n, "Location: /api/items/%.*s\r\n",
                 (int)idn, id);
    }
}

static void create_item(struct answer *a, struct serve_api *api,
                        const struct serve_request *req, const char *body, uint64_t u)
{
    json_t *root = parse_body(req, body);
    struct item it = { .seq = api->seq };
    if (!root || !member(root, "title", &it.title, &it.title_len)) {
        error_body(a, 400, "bad request");
    } else {
        api->seq = (api->seq + 1) & ~(1ull << 63);
        it.mac = item_mac(u, it.seq, it.title, it.title_len);
        a->status = 201;
        jb_item(&a->body, &it);
        item_headers(a, &it, true);
    }
    json_decref(root);
}

static void get_item(struct answer *a, const struct serve_request *req, const char *start,
                     uint64_t u)
{
    unsigned char raw[ID_MAX_BYTES];
    struct item it;
    if (!item_parse(start + req->id_off, req->id_len, u, raw, &it)) {
        error_body(a, 404, "not found");
        return;
    }
    a->status = 200;
    jb_item(&a->body, &it);
    item_headers(a, &it, false);
}

static void route(struct answer *a, struct serve_api *api, const struct serve_request *req,
                  const char *start, const char *body)
{
    uint64_t u = 0;
    bool authorized = req->auth_len &&
                      serve_api_token_check(start + req->auth_off, req->auth_len, &u);
    bool post = req->method == SERVE_METHOD_POST;
    switch (req->route) {
    case SERVE_ROUTE_HEALTH:
        if (!is_get(req)) {
            method_not_allowed(a, "GET, HEAD");
        } else {
            a->status = 200;
            jb_puts(&a->body, "{\"status\":\"ok\"}");
        }
        break;
    case SERVE_ROUTE_API_LOGIN:
        login(a, req, body);
        break;
    case SERVE_ROUTE_API_ITEMS:
        if (!is_get(req) && !post) method_not_allowed(a, "GET, HEAD, POST");
        else if (!authorized) unauthorized(a);
        else if (post) create_item(a, api, req, body, u);
        else list_items(a, req, u);
        break;
    case SERVE_ROUTE_API_ITEM:
        if (!is_get(req)) method_not_allowed(a, "GET, HEAD");
        else if (!authorized) unauthorized(a);
        else get_item(a, req, start, u);
        break;
    default:
        error_body(a, 404, "not found");
        break;
    }
}

enum serve_after serve_api_queue(struct serve_outq *q, struct serve_api *api,
                                 const struct serve_request *req, const char *start,
                                 const char *body, bool close, uint64_t now,
                                 uint64_t not_before)
{
    struct answer a;
    a.headers[0] = 0;
    a.body.len = 0;
    a.body.overflow = false;
    if (req->content_length && !body) error_body(&a, 413, "body too large");
    else route(&a, api, req, start, body);
    if (a.body.overflow) {   /* BODY_CAP is sized to make this unreachable */
        a.headers[0] = 0;
        error_body(&a, 500, "response too large");
    }

    serve_reply_gate(q, now, not_before);
    serve_reply_status_line(q, a.status);
    char length[64];
    snprintf(length, sizeof(length), "Content-Length: %zu\r\n", a.body.len);
    serve_outq_puts(q, "Content-Type: application/json\r\n");
    serve_outq_puts(q, length);
    serve_outq_puts(q, a.headers);
    serve_outq_puts(q, serve_reply_conn_header(req, close));
    serve_outq_puts(q, "\r\n");
    if (!req->head) serve_outq_put(q, a.body.buf, a.body.len);
    return serve_reply_finish(q, close);
}
