/* HTTP/1.1 response parser; the contract is in http_parse.h.
 *
 * One state machine, advanced by http_resp_feed() over whatever bytes arrive. Each
 * header line has two paths that must agree (the fuzzer checks that they do):
 *   - fast: the line is whole in the buffer. Find its ':' and '\n' with 16-byte
 *     compares, tell the three names we care about by their length and two or three
 *     8-byte compares, and skip every other value without looking at it;
 *   - slow: the line is cut by the end of the buffer. The name is matched a byte at a
 *     time (NAME state) and values of interest are parsed a byte at a time (VALUE).
 * Bodies and chunk data are skipped by arithmetic.
 *
 * Header effects apply when a line's '\n' is consumed, and the head is parsed only up
 * to HTTP_MAX_HEADER_BYTES, so the outcome (errors included) is the same for every way
 * of splitting the input.
 *
 * Fields by state (struct http_resp):
 *   HTTP_STATUS_LINE  match: bytes of "HTTP/1.x NNN" seen; minor, status accumulate
 *   HTTP_NAME         match: name bytes seen; candidates: NAME_* bits
 *   HTTP_VALUE        header: which header; Content-Length: remaining accumulates the
 *                     value, match = 1 after whitespace that follows digits;
 *                     token lists: match = TOK_* of the current element, candidates V_*
 *   chunk states      remaining: bytes of chunk data still to come
 *   HTTP_TRAILER_LINE match: 1 once the ':' was seen
 */
#include "http_parse.h"

#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* NAME: names still matching (bit i = names[i]), and "the last byte was SP/HTAB". */
#define NAME_ALL 0x0f
#define NAME_WS  0x80

/* VALUE, Connection and Transfer-Encoding: what this line said so far (candidates)... */
#define V_CLOSE     0x01  /* an element "close" */
#define V_KEEPALIVE 0x02  /* an element "keep-alive" */
#define V_CHUNKED   0x04  /* the last element was "chunked" */
#define V_CODING    0x08  /* the line had an element */
#define V_KA_TARGET 0x10  /* the current element is compared with "keep-alive", not "close" */
/* ...and the current element (match): characters matched, then whitespace, or a mismatch. */
#define TOK_COUNT   0x0f
#define TOK_TRAIL   0x40
#define TOK_BAD     0x80

static const struct {
    const char *lower;
    uint8_t len;
    uint8_t kind;
} names[4] = {
    {"content-length", 14, HDR_CONTENT_LENGTH},
    {"transfer-encoding", 17, HDR_TRANSFER_ENCODING},
    {"connection", 10, HDR_CONNECTION},
    {"set-cookie", 10, HDR_OTHER},  /* only noted (http_resp.set_cookie) */
};
#define NAME_SET_COOKIE 3

/* Byte classes as bitmasks over the bytes below 64: one compare and one bit test. */
#define BIT(c) (1ull << (c))
#define SET_WS    (BIT(' ') | BIT('\t'))
#define SET_OWS   (SET_WS | BIT('\r'))  /* OWS, and the CR before a LF */
#define SET_START (SET_WS | BIT(':') | BIT('\r') | BIT('\n'))  /* line starts to look at */

static inline bool in_set(char c, uint64_t set)
{
    return (unsigned char)c < 64 && (set >> (unsigned char)c & 1);
}
static inline bool is_ws(char c) { return in_set(c, SET_WS); }
static inline bool is_ows(char c) { return in_set(c, SET_OWS); }
static inline bool is_digit(char c) { return (unsigned char)(c - '0') < 10; }

static inline int hex_value(char c)
{
    if (is_digit(c)) return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* c equals the lowercase pattern byte t, ignoring case. t is a letter or '-'. */
static inline bool ci_char(char c, char t)
{
    return (t >= 'a' ? (c | 0x20) : c) == t;
}

static inline uint64_t load64(const char *s)
{
    uint64_t v;
    memcpy(&v, s, 8);
    return v;
}

static inline uint32_t load32(const char *s)
{
    uint32_t v;
    memcpy(&v, s, 4);
    return v;
}

/* Case-insensitive compares with a lowercase pattern of letters and '-'. Bit 0x20 folds
 * A-Z onto a-z; it is set only where the pattern has a letter (those have bit 0x40), so
 * '-' must match exactly and no byte other than the two cases of a letter can match it. */
static inline bool ci_eq8(const char *s, const char *pat)
{
    uint64_t t = load64(pat);
    return (load64(s) | (t & 0x4040404040404040ull) >> 1) == t;
}

static inline bool ci_eq4(const char *s, const char *pat)
{
    uint32_t t = load32(pat);
    return (load32(s) | (t & 0x40404040u) >> 1) == t;
}

/* n >= 4; the last load overlaps the one before it. Unrolls for a constant n. */
static inline bool ci_eq(const char *s, const char *pat, size_t n)
{
    if (n < 8) return ci_eq4(s, pat) && ci_eq4(s + n - 4, pat + n - 4);
    for (size_t i = 0; i + 8 < n; i += 8)
        if (!ci_eq8(s + i, pat + i)) return false;
    return ci_eq8(s + n - 8, pat + n - 8);
}

/* First '\n' in [s, end), or end. */
static inline const char *find_lf(const char *s, const char *end)
{
#ifdef __SSE2__
    const __m128i lf = _mm_set1_epi8('\n');
    for (; end - s >= 16; s += 16) {
        unsigned m = (unsigned)_mm_movemask_epi8(
            _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(const void *)s), lf));
        if (m) return s + __builtin_ctz(m);
    }
    while (s < end && *s != '\n') s++;
    return s;
#else
    const char *lf = memchr(s, '\n', (size_t)(end - s));
    return lf ? lf : end;
#endif
}

/* First ':' or '\n' in [s, end), or end. */
static inline const char *find_colon_lf(const char *s, const char *end)
{
    while (s < end && *s != ':' && *s != '\n') s++;
    return s;
}

/* Finds the ':' and the '\n' of the header line at s. Returns its '\n', or lim when the
 * line goes on past lim; *colon = its first ':', or NULL if there is none before the
 * '\n' (or before lim). Names are short: the first 16 bytes usually hold the ':'. */
static inline const char *scan_line(const char *s, const char *lim, const char **colon)
{
#ifdef __SSE2__
    if (lim - s >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)s);
        unsigned lf = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('\n')));
        unsigned cm = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(':')));
        cm &= (lf & -lf) - 1;  /* only those before the first '\n' */
        if (cm) {
            *colon = s + __builtin_ctz(cm);
            return lf ? s + __builtin_ctz(lf) : find_lf(s + 16, lim);
        }
        if (lf) {
            *colon = NULL;
            return s + __builtin_ctz(lf);
        }
    }
#endif
    const char *c = find_colon_lf(s, lim);
    *colon = c < lim && *c == ':' ? c : NULL;
    return *colon ? find_lf(c + 1, lim) : c;
}

static const char *fail(struct http_resp *p, enum http_error e)
{
    p->state = HTTP_ERROR;
    p->error = (uint8_t)e;
    return NULL;
}

static bool in_head(uint8_t state)
{
    return state <= HTTP_VALUE || (state >= HTTP_TRAILER_START && state <= HTTP_TRAILER_CR);
}

void http_resp_start(struct http_resp *p, bool no_body)
{
    memset(p, 0, sizeof *p);
    p->state = HTTP_STATUS_LINE;
    p->no_body = no_body;
}

/* ---- status line ---- */

static const char *status_line(struct http_resp *p, const char *s, const char *lim)
{
    if (p->match == 0 && lim - s > 12 && s[12] != '\n') {  /* "HTTP/1.x NNN " in one piece */
        if (memcmp(s, "HTTP/1.", 7) != 0 || !is_digit(s[7]) || s[8] != ' ' || s[9] < '1' ||
            s[9] > '9' || !is_digit(s[10]) || !is_digit(s[11]) || (s[12] != ' ' && s[12] != '\r'))
            return fail(p, HTTP_E_STATUS);
        p->minor = (uint8_t)(s[7] - '0');
        p->status = (uint16_t)((s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0'));
        p->match = 13;
        p->state = HTTP_STATUS_REST;
        return s + 13;
    }
    for (; s < lim; s++, p->match++) {
        char c = *s;
        unsigned m = p->match;
        bool ok;
        if (m < 7) {
            ok = c == "HTTP/1."[m];
        } else if (m == 7) {
            ok = is_digit(c);
            p->minor = (uint8_t)(c - '0');
        } else if (m == 8) {
            ok = c == ' ';
        } else if (m < 12) {
            ok = is_digit(c) && (m > 9 || c != '0');
            p->status = (uint16_t)(p->status * 10 + (c - '0'));
        } else {  /* after the code: SP reason-phrase, or the line ends at once */
            if (c == '\n') {
                p->state = HTTP_LINE_START;
                return s + 1;
            }
            ok = c == ' ' || c == '\r';
            if (ok) {
                p->state = HTTP_STATUS_REST;
                return s + 1;
            }
        }
        if (!ok) {
            p->status = 0;
            return fail(p, HTTP_E_STATUS);
        }
    }
    return s;
}

/* ---- header values ---- */

static void value_init(struct http_resp *p, enum http_header_kind kind)
{
    p->header = (uint8_t)kind;
    p->match = 0;
    p->candidates = 0;
    p->remaining = 0;
    p->flags &= (uint8_t)~HTTP_F_DIGITS;
}

/* *v = *v * 10 + d, or false if that overflows. */
static inline bool add_digit(uint64_t *v, unsigned d)
{
    if (*v >= UINT64_MAX / 10 && (*v > UINT64_MAX / 10 || d > UINT64_MAX % 10)) return false;
    *v = *v * 10 + d;
    return true;
}

/* One byte of a Content-Length value: OWS 1*DIGIT OWS. */
static bool length_byte(struct http_resp *p, char c)
{
    if (is_digit(c)) {
        if (p->match || !add_digit(&p->remaining, (unsigned)(c - '0'))) return false;
        p->flags |= HTTP_F_DIGITS;
    } else if (is_ows(c)) {
        if (p->flags & HTTP_F_DIGITS) p->match = 1;
    } else {
        return false;
    }
    return true;
}

/* The token the current list element is compared with. */
static const char *token_target(const struct http_resp *p, unsigned *len)
{
    if (p->header == HDR_TRANSFER_ENCODING) {
        *len = 7;
        return "chunked";
    }
    if (p->candidates & V_KA_TARGET) {
        *len = 10;
        return "keep-alive";
    }
    *len = 5;
    return "close";
}

/* A ',' or the end of the line closes a list element. */
static void token_end(struct http_resp *p)
{
    unsigned len;
    token_target(p, &len);
    bool whole = !(p->match & TOK_BAD) && (p->match & TOK_COUNT) == len;
    if (p->header == HDR_TRANSFER_ENCODING) {
        if (p->match) {  /* empty elements do not count */
            p->candidates |= V_CODING;
            p->candidates = whole ? p->candidates | V_CHUNKED : p->candidates & ~V_CHUNKED;
        }
    } else if (whole) {
        p->candidates |= p->candidates & V_KA_TARGET ? V_KEEPALIVE : V_CLOSE;
    }
    p->match = 0;
    p->candidates &= (uint8_t)~V_KA_TARGET;
}

/* One byte of a comma-separated token list (Connection, Transfer-Encoding). */
static void token_byte(struct http_resp *p, char c)
{
    if (c == ',') {
        token_end(p);
    } else if (is_ows(c)) {
        if (p->match) p->match |= TOK_TRAIL;
    } else if (p->match & (TOK_TRAIL | TOK_BAD)) {
        p->match |= TOK_BAD;
    } else {
        if (p->match == 0 && p->header == HDR_CONNECTION && (c | 0x20) == 'k')
            p->candidates |= V_KA_TARGET;
        unsigned len, n = p->match & TOK_COUNT;
        const char *t = token_target(p, &len);
        p->match = n < len && ci_char(c, t[n]) ? (uint8_t)(n + 1) : TOK_BAD;
    }
}

/* Bytes [s, e) of the value of a header of interest, with no '\n' among them. */
static bool value_bytes(struct http_resp *p, const char *s, const char *e)
{
    if (p->header == HDR_CONTENT_LENGTH) {
        for (; s < e; s++)
            if (!length_byte(p, *s)) {
                fail(p, HTTP_E_LENGTH);
                return false;
            }
    } else {
        for (; s < e; s++) token_byte(p, *s);
    }
    return true;
}

/* A whole Content-Length value: it must agree with any earlier one. */
static bool set_length(struct http_resp *p, uint64_t v)
{
    if ((p->flags & HTTP_F_LENGTH) && p->content_length != v) {
        fail(p, HTTP_E_LENGTH);
        return false;
    }
    p->content_length = v;
    p->flags |= HTTP_F_LENGTH;
    return true;
}

/* The value's line ended: apply it. */
static bool value_end(struct http_resp *p)
{
    switch (p->header) {
    case HDR_CONTENT_LENGTH:
        if (!(p->flags & HTTP_F_DIGITS)) {
            fail(p, HTTP_E_LENGTH);  /* empty */
            return false;
        }
        p->flags &= (uint8_t)~HTTP_F_DIGITS;
        if (!set_length(p, p->remaining)) return false;
        p->remaining = 0;
        break;
    case HDR_TRANSFER_ENCODING:
        token_end(p);
        if (!(p->candidates & V_CODING)) {  /* no coding named at all */
            fail(p, HTTP_E_HEADER);
            return false;
        }
        p->flags |= HTTP_F_TE;
        if (p->candidates & V_CHUNKED)
            p->flags |= HTTP_F_CHUNKED;
        else
            p->flags &= (uint8_t)~HTTP_F_CHUNKED;
        break;
    case HDR_CONNECTION:
        token_end(p);
        if (p->candidates & V_CLOSE) p->flags |= HTTP_F_CLOSE;
        if (p->candidates & V_KEEPALIVE) p->flags |= HTTP_F_KEEPALIVE;
        break;
    }
    return true;
}

/* The whole value [s, e) of a header of interest (e is its '\n'). Same result as
 * value_init() + value_bytes() + value_end(), with shortcuts for the usual values. */
static bool value_line(struct http_resp *p, enum http_header_kind kind, const char *s, const char *e)
{
    while (s < e && is_ows(*s)) s++;
    while (e > s && is_ows(e[-1])) e--;
    size_t n = (size_t)(e - s);
    if (kind == HDR_CONTENT_LENGTH && n) {
        uint64_t v = 0;
        for (; s < e; s++) {
            if (!is_digit(*s) || !add_digit(&v, (unsigned)(*s - '0'))) {
                fail(p, HTTP_E_LENGTH);
                return false;
            }
        }
        return set_length(p, v);
    }
    if (kind == HDR_CONNECTION && n == 10 && ci_eq(s, "keep-alive", 10)) {
        p->flags |= HTTP_F_KEEPALIVE;
        return true;
    }
    if (kind == HDR_CONNECTION && n == 5 && ci_eq(s, "close", 5)) {
        p->flags |= HTTP_F_CLOSE;
        return true;
    }
    if (kind == HDR_TRANSFER_ENCODING && n == 7 && ci_eq(s, "chunked", 7)) {
        p->flags |= HTTP_F_TE | HTTP_F_CHUNKED;
        return true;
    }
    value_init(p, kind);  /* lists, and anything odd */
    return value_bytes(p, s, e) && value_end(p);
}

/* ---- header lines ---- */

/* Length and two or three word compares tell the names of interest apart. */
static enum http_header_kind classify(const char *s, size_t n)
{
    switch (n) {
    case 10: return ci_eq(s, "connection", 10) ? HDR_CONNECTION : HDR_OTHER;
    case 14: return ci_eq(s, "content-length", 14) ? HDR_CONTENT_LENGTH : HDR_OTHER;
    case 17: return ci_eq(s, "transfer-encoding", 17) ? HDR_TRANSFER_ENCODING : HDR_OTHER;
    default: return HDR_OTHER;
    }
}

/* A name cut by the end of the buffer, a byte at a time. */
static const char *name_bytes(struct http_resp *p, const char *s, const char *lim)
{
    for (; s < lim; s++) {
        char c = *s;
        if (c == ':') {
            if (p->candidates & NAME_WS) return fail(p, HTTP_E_HEADER);
            enum http_header_kind kind = HDR_OTHER;
            for (int i = 0; i < 4; i++)
                if ((p->candidates >> i & 1) && p->match == names[i].len)
                    kind = (enum http_header_kind)names[i].kind;
            if ((p->candidates >> NAME_SET_COOKIE & 1) && p->match == names[NAME_SET_COOKIE].len) p->set_cookie = 1;
            value_init(p, kind);
            p->state = HTTP_VALUE;
            return s + 1;
        }
        if (c == '\n') return fail(p, HTTP_E_HEADER);
        unsigned cand = p->candidates & NAME_ALL;
        for (int i = 0; i < 4; i++)
            if (p->match >= names[i].len || !ci_char(c, names[i].lower[p->match]))
                cand &= ~(1u << i);
        p->candidates = (uint8_t)(cand | (is_ws(c) ? NAME_WS : 0));
        if (p->match < 255) p->match++;
    }
    return s;
}

/* The empty line ended the head: decide how the body is delimited. */
static const char *headers_done(struct http_resp *p, const char *s)
{
    unsigned st = p->status;
    if (st == 101) return fail(p, HTTP_E_UPGRADE);
    if (p->minor == 0 && !(p->flags & HTTP_F_KEEPALIVE)) p->flags |= HTTP_F_CLOSE;
    if (st < 200 || st == 204 || st == 304 || p->no_body) {
        p->state = HTTP_DONE;
    } else if (p->flags & HTTP_F_TE) {  /* overrides Content-Length (RFC 9112 6.3) */
        if (p->minor == 0) p->flags |= HTTP_F_CLOSE;  /* RFC 9112 6.1 */
        if (p->flags & HTTP_F_CHUNKED) {
            p->remaining = 0;
            p->state = HTTP_CHUNK_SIZE;
        } else {
            p->flags |= HTTP_F_CLOSE;
            p->state = HTTP_BODY_EOF;
        }
    } else if (p->flags & HTTP_F_LENGTH) {
        p->remaining = p->content_length;
        p->state = p->remaining ? HTTP_BODY_LENGTH : HTTP_DONE;
    } else {
        p->flags |= HTTP_F_CLOSE;
        p->state = HTTP_BODY_EOF;
    }
    return s;
}

/* Header lines from s, as many as are whole before lim. Returns where they stopped: at
 * the empty line (state unchanged), at lim, or inside a line cut by lim (state HTTP_NAME
 * or HTTP_VALUE); NULL on an error. */
static const char *header_lines(struct http_resp *p, const char *s, const char *lim)
{
    /* Name lengths of Connection, Content-Length and Transfer-Encoding. */
    const uint32_t lengths = 1u << 10 | 1u << 14 | 1u << 17;
    unsigned nheaders = p->nheaders;
    for (const char *lf; s < lim; s = lf + 1) {
        if (in_set(*s, SET_START)) {
            if (*s == '\r' || *s == '\n') break;       /* the empty line */
            return fail(p, HTTP_E_HEADER);              /* obs-fold, or an empty name */
        }
        if (++nheaders > HTTP_MAX_HEADERS) return fail(p, HTTP_E_TOO_MANY);
        const char *colon;
        lf = scan_line(s, lim, &colon);
        if (!colon) {
            if (lf < lim) return fail(p, HTTP_E_HEADER);  /* no ':' */
            p->state = HTTP_NAME;  /* the name goes on past lim: match it bytewise */
            p->match = 0;
            p->candidates = NAME_ALL;
            break;
        }
        if (is_ws(colon[-1])) return fail(p, HTTP_E_HEADER);  /* "Name :" */
        size_t n = (size_t)(colon - s);
        if (lf < lim && !(n < 32 && (lengths >> n & 1))) continue;  /* the usual case */
        enum http_header_kind kind = classify(s, n);
        if (kind == HDR_OTHER && n == 10 && ci_eq(s, "set-cookie", 10)) p->set_cookie = 1;
        if (lf == lim) {  /* the value goes on past lim */
            value_init(p, kind);
            p->state = HTTP_VALUE;
            s = colon + 1;
            break;
        }
        if (kind != HDR_OTHER && !value_line(p, kind, colon + 1, lf)) return NULL;
    }
    p->nheaders = (uint16_t)nheaders;
    if (p->state == HTTP_LINE_START && s < lim) {  /* the empty line, if it is whole */
        if (*s == '\n') return headers_done(p, s + 1);
        if (lim - s >= 2 && s[0] == '\r' && s[1] == '\n') return headers_done(p, s + 2);
    }
    return s;
}

/* Status line, headers or trailers, within [s, lim). Returns where they ended, lim if
 * they go on, or NULL on an error. */
static const char *head_lines(struct http_resp *p, const char *s, const char *lim)
{
    const char *lf;
    while (s < lim) {
        switch (p->state) {
        case HTTP_STATUS_LINE:
            s = status_line(p, s, lim);
            break;
        case HTTP_STATUS_REST:
            lf = find_lf(s, lim);
            if (lf == lim) return lim;
            p->state = HTTP_LINE_START;
            s = header_lines(p, lf + 1, lim);
            break;
        case HTTP_LINE_START:
            if (*s == '\n') return headers_done(p, s + 1);
            if (*s == '\r') {
                p->state = HTTP_HEADER_CR;
                s++;
            } else {
                s = header_lines(p, s, lim);
            }
            break;
        case HTTP_HEADER_CR:
            if (*s != '\n') return fail(p, HTTP_E_HEADER);
            return headers_done(p, s + 1);
        case HTTP_NAME:
            s = name_bytes(p, s, lim);
            break;
        case HTTP_VALUE:
            lf = find_lf(s, lim);
            if (p->header != HDR_OTHER && !value_bytes(p, s, lf)) return NULL;
            if (lf == lim) return lim;
            if (p->header != HDR_OTHER && !value_end(p)) return NULL;
            p->state = HTTP_LINE_START;
            s = lf + 1;
            break;
        case HTTP_TRAILER_START:
            if (*s == '\n') {
                p->state = HTTP_DONE;
                return s + 1;
            }
            if (*s == '\r') {
                p->state = HTTP_TRAILER_CR;
                s++;
                break;
            }
            if (is_ws(*s) || *s == ':') return fail(p, HTTP_E_HEADER);
            if (++p->nheaders > HTTP_MAX_HEADERS) return fail(p, HTTP_E_TOO_MANY);
            p->state = HTTP_TRAILER_LINE;
            p->match = 0;
            break;
        case HTTP_TRAILER_LINE:  /* trailers are not interpreted, only delimited */
            if (!p->match) {
                s = find_colon_lf(s, lim);
                if (s == lim) return lim;
                if (*s++ == '\n') return fail(p, HTTP_E_HEADER);
                p->match = 1;
            }
            lf = find_lf(s, lim);
            if (lf == lim) return lim;
            p->state = HTTP_TRAILER_START;
            s = lf + 1;
            break;
        case HTTP_TRAILER_CR:
            if (*s != '\n') return fail(p, HTTP_E_HEADER);
            p->state = HTTP_DONE;
            return s + 1;
        default:
            return s;
        }
        if (!s) return NULL;
    }
    return s;
}

/* head_lines() over at most the bytes the header limit leaves. */
static const char *parse_head(struct http_resp *p, const char *s, const char *end)
{
    size_t room = HTTP_MAX_HEADER_BYTES - p->header_bytes;
    const char *lim = (size_t)(end - s) > room ? s + room : end;
    const char *start = s;
    s = head_lines(p, s, lim);
    if (s && in_head(p->state)) {  /* then s == lim */
        p->header_bytes += (uint32_t)(s - start);
        if (lim < end) return fail(p, HTTP_E_TOO_LARGE);
    }
    return s;
}

/* ---- chunked body ---- */

static void chunk_size_done(struct http_resp *p)
{
    p->flags &= (uint8_t)~HTTP_F_CHUNK_DIG;
    if (p->remaining) {
        p->state = HTTP_CHUNK_DATA;
    } else {  /* last-chunk: the trailer section follows, with its own byte limit */
        p->state = HTTP_TRAILER_START;
        p->header_bytes = 0;
    }
}

static const char *parse_chunks(struct http_resp *p, const char *s, const char *end)
{
    const char *lf;
    uint64_t n;
    char c;
    while (s < end) {
        switch (p->state) {
        case HTTP_CHUNK_SIZE:
            for (int v; (v = hex_value(*s)) >= 0;) {
                if (p->remaining >> 60) return fail(p, HTTP_E_CHUNK);
                p->remaining = p->remaining << 4 | (unsigned)v;
                p->flags |= HTTP_F_CHUNK_DIG;
                if (++s == end) return s;
            }
            if (!(p->flags & HTTP_F_CHUNK_DIG)) return fail(p, HTTP_E_CHUNK);
            c = *s++;
            if (c == '\r' && s < end && *s == '\n') c = *s++;  /* the usual CRLF */
            if (c == '\n') {
                chunk_size_done(p);
            } else if (c == ';' || is_ows(c)) {
                p->state = HTTP_CHUNK_EXT;
            } else {
                return fail(p, HTTP_E_CHUNK);
            }
            break;
        case HTTP_CHUNK_EXT:  /* extensions are skipped, not interpreted */
            lf = find_lf(s, end);
            if (lf == end) return end;
            s = lf + 1;
            chunk_size_done(p);
            break;
        case HTTP_CHUNK_DATA:
            n = (uint64_t)(end - s) < p->remaining ? (uint64_t)(end - s) : p->remaining;
            s += n;
            p->remaining -= n;
            p->body_bytes += n;
            if (!p->remaining) p->state = HTTP_CHUNK_DATA_CR;
            break;
        case HTTP_CHUNK_DATA_CR:
            c = *s++;
            if (c == '\r')
                p->state = HTTP_CHUNK_DATA_LF;
            else if (c == '\n')
                p->state = HTTP_CHUNK_SIZE;
            else
                return fail(p, HTTP_E_CHUNK);
            break;
        case HTTP_CHUNK_DATA_LF:
            if (*s++ != '\n') return fail(p, HTTP_E_CHUNK);
            p->state = HTTP_CHUNK_SIZE;
            break;
        default:  /* into the trailers */
            return s;
        }
    }
    return s;
}

/* ---- entry points ---- */

ssize_t http_resp_feed(struct http_resp *p, const char *buf, size_t len)
{
    const char *s = buf, *end = buf + len;
    uint64_t n;
    if (p->state == HTTP_ERROR) return -1;
    while (s < end) {
        switch (p->state) {
        case HTTP_BODY_LENGTH:
            n = (uint64_t)(end - s) < p->remaining ? (uint64_t)(end - s) : p->remaining;
            s += n;
            p->remaining -= n;
            p->body_bytes += n;
            if (!p->remaining) p->state = HTTP_DONE;
            break;
        case HTTP_BODY_EOF:
            p->body_bytes += (uint64_t)(end - s);
            s = end;
            break;
        case HTTP_CHUNK_SIZE:
        case HTTP_CHUNK_EXT:
        case HTTP_CHUNK_DATA:
        case HTTP_CHUNK_DATA_CR:
        case HTTP_CHUNK_DATA_LF:
            s = parse_chunks(p, s, end);
            break;
        case HTTP_DONE:
            return s - buf;
        default:
            s = parse_head(p, s, end);
            if (s && p->state == HTTP_DONE && p->status < 200) {  /* skip an interim 1xx */
                http_resp_start(p, p->no_body);
                p->flags = HTTP_F_INTERIM;
            }
            break;
        }
        if (!s) return -1;
    }
    return s - buf;
}

int http_resp_eof(struct http_resp *p)
{
    switch (p->state) {
    case HTTP_BODY_EOF:
        p->state = HTTP_DONE;
        return 1;
    case HTTP_DONE:
        return 0;
    case HTTP_ERROR:
        return -1;
    default:
        if (!http_resp_started(p)) return 0;
        fail(p, HTTP_E_TRUNCATED);
        return -1;
    }
}

/* The limits are in the words: a reader can then tell a server's big head (a Set-Cookie
 * per product, a long CSP) from a broken one, which "too large" alone did not say. */
_Static_assert(HTTP_MAX_HEADER_BYTES == 64 * 1024 && HTTP_MAX_HEADERS == 100, "http_error_str() names the limits");

const char *http_error_str(enum http_error e)
{
    switch (e) {
    case HTTP_OK: return "ok";
    case HTTP_E_STATUS: return "malformed status line";
    case HTTP_E_HEADER: return "malformed header";
    case HTTP_E_TOO_LARGE: return "header or trailer section over 64 KiB";
    case HTTP_E_TOO_MANY: return "over 100 header fields (trailers included)";
    case HTTP_E_LENGTH: return "bad or conflicting Content-Length";
    case HTTP_E_CHUNK: return "malformed chunked encoding";
    case HTTP_E_TRUNCATED: return "connection closed mid-response";
    case HTTP_E_UPGRADE: return "101 Switching Protocols";
    }
    return "unknown parse error";
}
