/* URL parsing, target resolution, the program (a scenario file, or the quick mode's one
 * request) and, when the program is static, its pre-rendered request. */
#include "plan.h"
#include "base64.h"
#include "outputs.h"
#include "secrets.h"
#include "quick_program.h"
#include "scenario.h"
#include "user.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <unistd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

int plan_error(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* The URL's "user:password" (percent-encoded, RFC 3986) as the Authorization value curl and
 * k6 send for it: "Basic " and the base64 of it decoded ("user" alone is "user:"). -1 when
 * it is over URL_USERINFO_MAX bytes. */
static int set_basic_auth(struct url *u, const char *s, size_t n)
{
    char plain[URL_USERINFO_MAX + 2];  /* one more, to see it is too long; and the ':' */
    size_t o = url_decoded(s, n, plain, URL_USERINFO_MAX + 1, false);
    if (!memchr(s, ':', n)) plain[o++] = ':';
    if (o > URL_USERINFO_MAX) return -1;
    memcpy(u->basic_auth, "Basic ", 6);
    base64_encode(u->basic_auth + 6, (const uint8_t *)plain, o);
    return 0;
}

static int parse_url(const char *url, struct url *u, char *err, size_t errlen)
{
    memset(u, 0, sizeof(*u));
    char text[512];  /* the URL as errors show it: credentials masked, cut so the reason fits */
    secret_mask_url(url, text, sizeof(text));
    if (strlen(text) > 100) memcpy(text + 97, "...", 4);
    const char *s = url;
    const char *sep = strstr(s, "://");
    if (!sep) {
        const char *last_at = strrchr(url, '@');  /* "user:pass@host/x": no scheme to mask after */
        if (last_at) snprintf(text, sizeof(text), SECRET_MASK "%.80s%s", last_at, strlen(last_at) > 80 ? "..." : "");
        return plan_error(err, errlen, "URL '%s': expected http://host[:port]/path", text);
    }
    size_t slen = (size_t)(sep - s);
    if (slen == 5 && !strncasecmp(s, "https", 5)) {
        u->tls = true;
        strcpy(u->scheme, "https");
    } else if (slen == 4 && !strncasecmp(s, "http", 4)) {
        strcpy(u->scheme, "http");
    } else {
        /* Not parsed further, so where a password with a '/' ends is unknown: hide up to the
         * last '@'. */
        const char *last_at = strrchr(sep + 3, '@');
        if (last_at)
            snprintf(text, sizeof(text), "%.*s://" SECRET_MASK "%.80s%s", (int)slen, url, last_at,
                     strlen(last_at) > 80 ? "..." : "");
        return plan_error(err, errlen, "URL '%s': unsupported scheme '%.*s' (http:// or https://)", text, (int)slen, s);
    }
    s = sep + 3;

    const char *auth_end = s + strcspn(s, "/?#");
    /* userinfo up to the last '@', as curl does, so that a password with an unencoded '@'
     * still parses; sent as Basic authorization (set_basic_auth) */
    const char *at = memrchr(s, '@', (size_t)(auth_end - s));
    if (at) {
        if (set_basic_auth(u, s, (size_t)(at - s)))
            return plan_error(err, errlen, "URL '%s': user:password over %d bytes", text, URL_USERINFO_MAX);
        s = at + 1;
    }
    /* A password with an unencoded '/', '?' or '#' ends the authority early (RFC 3986), and
     * what fails to parse below is the password itself: errors then show none of it. */
    bool hide = false;
    const char *colon = memchr(s, ':', (size_t)(auth_end - s));
    bool bad_port = colon && *s != '[' && strspn(colon + 1, "0123456789") != (size_t)(auth_end - colon - 1);
    const char *later = at || !bad_port ? NULL : strchr(auth_end, '@');
    if (later) {
        hide = true;
        snprintf(text, sizeof(text), "%.*s://" SECRET_MASK "%.80s%s", (int)slen, url, later, strlen(later) > 80 ? "..." : "");
    }

    const char *host = s, *host_end, *port = NULL;
    if (*s == '[') {
        host = s + 1;
        const char *bracket = memchr(host, ']', (size_t)(auth_end - host));
        if (!bracket) return plan_error(err, errlen, "URL '%s': unterminated IPv6 address", text);
        host_end = bracket;
        if (!memchr(host, ':', (size_t)(host_end - host)))  /* RFC 3986: brackets hold an IPv6 address */
            return plan_error(err, errlen, "URL '%s': '[...]' holds no IPv6 address (an IPv4 address or a name goes "
                                           "without brackets)", text);
        u->ipv6_literal = true;
        const char *pct = memchr(host, '%', (size_t)(bracket - host));
        if (pct) {  /* RFC 6874: "%25" and the zone; a bare '%' too, as curl takes it */
            const char *zone = pct + (bracket - pct >= 3 && !strncmp(pct, "%25", 3) ? 3 : 1);
            size_t zlen = (size_t)(bracket - zone);
            if (!zlen || zlen >= sizeof(u->zone))
                return plan_error(err, errlen, "URL '%s': invalid IPv6 zone (write it as [fe80::1%%25eth0])", text);
            for (const char *c = zone; c < bracket; c++)
                if (!isalnum((unsigned char)*c) && !strchr("-._~", *c))
                    return plan_error(err, errlen, "URL '%s': invalid character '%c' in the IPv6 zone", text, *c);
            memcpy(u->zone, zone, zlen);
            host_end = pct;
        }
        if (bracket + 1 < auth_end) {
            if (bracket[1] != ':') return plan_error(err, errlen, "URL '%s': junk after IPv6 address", text);
            port = bracket + 2;
        }
    } else {
        host_end = memchr(s, ':', (size_t)(auth_end - s));
        if (host_end && !hide && memchr(host_end + 1, ':', (size_t)(auth_end - host_end - 1)) &&
            strspn(s, "0123456789abcdefABCDEF") == (size_t)(host_end - s) &&
            strspn(host_end, "0123456789abcdefABCDEF:.") >= (size_t)(auth_end - host_end))
            /* "::1:8080", "2001:db8::1": read as host:port */
            return plan_error(err, errlen, "URL '%s': an IPv6 address goes in brackets (http://[::1]:8080/)", text);
        if (host_end) port = host_end + 1;
        else host_end = auth_end;
    }
    size_t hlen = (size_t)(host_end - host);
    if (hlen == 0) return plan_error(err, errlen, "URL '%s': no host", text);
    if (hlen >= sizeof(u->host)) return plan_error(err, errlen, "URL '%s': host name too long", text);
    for (const char *c = host; c < host_end; c++)
        if (!isalnum((unsigned char)*c) && !strchr(".-_:%", *c))
            return hide ? plan_error(err, errlen, "URL '%s': invalid host (percent-encode '/', '?', '#' and '@' in a password)", text)
                        : plan_error(err, errlen, "URL '%s': invalid character '%c' in host", text, *c);
    memcpy(u->host, host, hlen);

    u->port = u->tls ? 443 : 80;
    if (port) {
        if (port == auth_end) return plan_error(err, errlen, "URL '%s': empty port", text);
        unsigned long v = 0;
        for (const char *c = port; c < auth_end; c++) {
            if (!isdigit((unsigned char)*c) || (v = v * 10 + (unsigned long)(*c - '0')) > 65535)
                return hide ? plan_error(err, errlen, "URL '%s': invalid port (percent-encode '/', '?', '#' and '@' in a password)", text)
                            : plan_error(err, errlen, "URL '%s': invalid port '%.*s'", text, (int)(auth_end - port), port);
        }
        if (v == 0) return plan_error(err, errlen, "URL '%s': port 0 is not a valid target", text);
        u->port = (uint16_t)v;
    }

    const char *path = auth_end;
    size_t plen = strcspn(path, "#");
    if (plen == 0 || *path != '/') {
        u->path[0] = '/';
        if (plen + 2 > sizeof(u->path)) return plan_error(err, errlen, "URL '%s': path too long", text);
        memcpy(u->path + 1, path, plen);
    } else {
        if (plen + 1 > sizeof(u->path)) return plan_error(err, errlen, "URL '%s': path too long", text);
        memcpy(u->path, path, plen);
    }
    for (const char *c = u->path; *c; c++)
        if ((unsigned char)*c <= ' ' || *c == 127)
            return plan_error(err, errlen, "URL '%s': the path has a space or control character (percent-encode it)", text);
    return 0;
}

int url_parse(const char *url, struct url *u, char *err, size_t errlen)
{
    if (parse_url(url, u, err, errlen) == 0) return 0;
    /* one line: the URL (or a piece of it) quoted in the message may hold control characters */
    for (char *c = err; errlen && *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f) *c = '?';
    return -1;
}

/* Whether a accepts a TCP connection within wait_ms (a non-blocking connect, closed at once). */
static bool accepts_connections(const struct addrinfo *a, int wait_ms)
{
    int fd = socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
    if (fd < 0) return false;
    bool ok = connect(fd, a->ai_addr, a->ai_addrlen) == 0;
    if (!ok && errno == EINPROGRESS) {
        struct pollfd pfd = {.fd = fd, .events = POLLOUT};
        int e = 0;
        socklen_t elen = sizeof(e);
        ok = poll(&pfd, 1, wait_ms) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) == 0 && e == 0;
    }
    close(fd);
    return ok;
}

const struct addrinfo *plan_pick_address(const struct addrinfo *res, int wait_ms)
{
    /* IPv4 first: "localhost" commonly maps to both and most servers listen on 127.0.0.1 */
    const struct addrinfo *order[16];
    unsigned n = 0;
    for (int v4 = 1; v4 >= 0; v4--)
        for (const struct addrinfo *a = res; a && n < 16; a = a->ai_next)
            if ((a->ai_family == AF_INET) == v4) order[n++] = a;
    /* More than one: the first that accepts a connection, as curl and wrk do (a server on
     * ::1 alone, as Node's and Vite's "localhost" is on many systems); none does: the first,
     * whose errors the run reports. */
    for (unsigned i = 0; n > 1 && i < n; i++)
        if (accepts_connections(order[i], wait_ms)) return order[i];
    return order[0];
}

static int resolve(struct plan *p, char *err, size_t errlen)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    char port[8];
    snprintf(port, sizeof(port), "%u", p->url.port);
    char host[sizeof(p->url.host) + sizeof(p->url.zone) + 1];  /* getaddrinfo takes the zone after a '%' */
    snprintf(host, sizeof(host), "%s%s%s", p->url.host, p->url.zone[0] ? "%" : "", p->url.zone);
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc) return plan_error(err, errlen, "cannot resolve host '%s': %s", host, gai_strerror(rc));
    uint64_t wait_ms = p->timeout_ns / 1000000;
    const struct addrinfo *pick = plan_pick_address(res, wait_ms < 1000 ? (int)wait_ms : 1000);
    memcpy(&p->addr, pick->ai_addr, pick->ai_addrlen);
    p->addrlen = pick->ai_addrlen;
    freeaddrinfo(res);
    const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)&p->addr;
    if (p->addr.ss_family == AF_INET6 && IN6_IS_ADDR_LINKLOCAL(&a6->sin6_addr) && !a6->sin6_scope_id) {
        /* every connect would fail with "Invalid argument"; a zone goes with an address */
        char ip[INET6_ADDRSTRLEN];
        inet_ntop(AF_INET6, &a6->sin6_addr, ip, sizeof(ip));
        return plan_error(err, errlen, "host '%s'%s%s%s is link-local: name its interface, as in http://[%s%%25eth0]:%u/",
                          host, p->url.ipv6_literal ? "" : " (", p->url.ipv6_literal ? "" : ip,
                          p->url.ipv6_literal ? "" : ")", ip, p->url.port);
    }
    if (p->addr.ss_family == AF_INET) {
        uint32_t a = ntohl(((struct sockaddr_in *)&p->addr)->sin_addr.s_addr);
        p->spread_sources = (a >> 24) == 127;
    }
    /* BARRAGE_TCP_CC=default keeps the system's (to compare) */
    const char *cc = getenv("BARRAGE_TCP_CC");
    if (cc && *cc && strcmp(cc, "default") && strcmp(cc, "reno"))
        return plan_error(err, errlen, "BARRAGE_TCP_CC='%.40s': 'reno' (on loopback, the default) or 'default' (the system's)", cc);
    p->loopback_reno = (p->spread_sources || (p->addr.ss_family == AF_INET6 && IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr))) &&
                       !(cc && !strcmp(cc, "default"));
    return 0;
}

/* A static program's request, rendered once: `pipeline` copies back to back, so that
 * sending k requests is one send of k * len bytes. The step's method and statuses become
 * the plan's, which the worker's static path and the reports read. */
static int render_static(struct plan *p, char *err, size_t errlen)
{
    const struct scn_step *st = &p->scenario->classes[0].tasks[0].steps[0];
    size_t cap = step_render_static(st, NULL, 0);  /* at least its length */
    char *d = malloc(cap);
    size_t len = d ? step_render_static(st, d, cap) : 0;
    char *all = d && len <= cap && len < SIZE_MAX / p->pipeline - 1 ? realloc(d, len * p->pipeline + 1) : NULL;
    if (!all) {
        free(d);
        return plan_error(err, errlen, "request too large to build");
    }
    d = all;
    for (uint32_t i = 1; i < p->pipeline; i++) memcpy(d + (size_t)i * len, d, len);
    d[len * p->pipeline] = 0;
    p->request = d;
    p->request_len = len;
    p->no_body_response = st->head_method;
    p->idempotent = st->idempotent;
    for (unsigned code = 0; code < 600; code++) p->status_ok[code] = st->status_ok[code / 64] >> (code % 64) & 1;
    return 0;
}

static void pick_cpus(struct plan *p)
{
    cpu_set_t set;
    p->ncpus = 0;
    if (sched_getaffinity(0, sizeof(set), &set) == 0)
        for (unsigned c = 0; c < CPU_SETSIZE && p->ncpus < 1024; c++)
            if (CPU_ISSET(c, &set)) p->cpus[p->ncpus++] = c;
}

/* Splits "a,b,c" into at most max pointers to NUL-terminated copies in buf. */
static uint32_t split_list(const char *text, char *buf, size_t buflen, const char **out, uint32_t max)
{
    uint32_t n = 0;
    if (!text) return 0;
    snprintf(buf, buflen, "%s", text);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t && n < max; t = strtok_r(NULL, ",", &save)) {
        while (*t == ' ' || *t == '\t') t++;  /* "read, write" */
        size_t len = strlen(t);
        while (len && (t[len - 1] == ' ' || t[len - 1] == '\t')) t[--len] = '\0';
        if (len) out[n++] = t;
    }
    return n;
}

static bool tls_flags_given(const struct plan *p)
{
    const struct tls_config *t = &p->tls;
    return t->insecure || t->cacert || t->cert || t->key || t->sni || t->min_version || t->max_version ||
           t->ciphers || !t->resume;
}

static bool method_idempotent(const char *m, size_t len)
{
    static const char *const idempotent[] = {"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"};
    for (size_t i = 0; i < sizeof(idempotent) / sizeof(idempotent[0]); i++)
        if (strlen(idempotent[i]) == len && !memcmp(m, idempotent[i], len)) return true;
    return false;
}

/* Notes whether a step may be re-sent (its method, the head's first word); returns the
 * larger of `longest` and its timeout. */
static uint64_t step_prepare(struct scn_step *st, uint64_t longest)
{
    const char *sp = st->head.lit ? memchr(st->head.lit, ' ', st->head.lit_len) : NULL;
    st->idempotent = sp && method_idempotent(st->head.lit, (size_t)(sp - st->head.lit));
    return st->timeout_ns > longest ? st->timeout_ns : longest;
}

/* -s FILE: loads the scenario; its target becomes the plan's URL (unless one was given). */
static int load_scenario(struct plan *p, char *err, size_t errlen)
{
    char tagbuf[PLAN_TAGS_BYTES], exbuf[PLAN_TAGS_BYTES];
    const char *tags[PLAN_MAX_TAGS], *ex[PLAN_MAX_TAGS];
    struct scenario_options opt = {
        .tags = tags,
        .ntags = split_list(p->tags, tagbuf, sizeof(tagbuf), tags, PLAN_MAX_TAGS),
        .exclude_tags = ex,
        .nexclude = split_list(p->exclude_tags, exbuf, sizeof(exbuf), ex, PLAN_MAX_TAGS),
        .user = p->user_class,
        .target = p->url_arg,
        .timeout_ns = p->timeout_set ? p->timeout_ns : 0,
    };
    if (!p->tags) opt.tags = NULL;
    if (!p->exclude_tags) opt.exclude_tags = NULL;
    p->scenario = calloc(1, sizeof(*p->scenario));
    if (!p->scenario) return plan_error(err, errlen, "out of memory for the scenario");
    if (scenario_load(p->scenario, p->scenario_file, &opt, err, errlen)) {
        free(p->scenario);
        p->scenario = NULL;
        return -1;
    }
    if (!p->url_text) {
        p->url_text = url_for_reports(p->scenario->target);
        if (url_parse(p->scenario->target, &p->url, err, errlen)) return -1;
    }
    if (tls_flags_given(p) && !p->url.tls)
        return plan_error(err, errlen, "the TLS flags apply to https:// targets; %s is http://", p->url_text);
    return 0;
}

/* Notes which steps may be re-sent; the slowest step's timeout bounds the histograms and
 * the timer scans. */
static void prepare_steps(struct plan *p)
{
    uint64_t longest = 0;
    for (uint32_t c = 0; c < p->scenario->nclasses; c++) {
        struct scn_class *k = &p->scenario->classes[c];
        for (uint32_t i = 0; i < k->non_start; i++) longest = step_prepare(&k->on_start[i], longest);
        for (uint32_t t = 0; t < k->ntasks; t++)
            for (uint32_t i = 0; i < k->tasks[t].nsteps; i++) longest = step_prepare(&k->tasks[t].steps[i], longest);
    }
    if (longest) p->timeout_ns = longest;
}

/* The file a path names, as its directory's real path and its name: "x.json" and
 * "/tmp/x.json" from /tmp alike, whether or not the file exists yet (or a symlink's). */
static void file_id(const char *path, char out[PATH_MAX + 256])
{
    /* a symlink to a file yet to be made (stat fails on it): the file it names is written */
    char hop[2][PATH_MAX], link[PATH_MAX];
    for (int i = 0; i < 40; i++) {
        ssize_t n = readlink(path, link, sizeof(link) - 1);
        if (n < 0) break;
        link[n] = '\0';
        const char *end = strrchr(path, '/');
        int keep = link[0] == '/' || !end ? 0 : (int)(end - path) + 1;  /* relative: from the link's directory */
        if (snprintf(hop[i % 2], PATH_MAX, "%.*s%s", keep, path, link) >= PATH_MAX) break;
        path = hop[i % 2];
    }
    const char *slash = strrchr(path, '/');
    char dir[PATH_MAX], real[PATH_MAX];
    snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) + 1 : 1, slash ? path : ".");
    if (!realpath(dir, real) || strlen(slash ? slash + 1 : path) > 255) {
        snprintf(out, PATH_MAX + 256, "%s", path);  /* no such directory: writing it fails anyway */
        return;
    }
    snprintf(out, PATH_MAX + 256, "%s/%s", real, slash ? slash + 1 : path);
}

static bool same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    if (!stat(a, &sa) && !stat(b, &sb)) return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;  /* links too */
    char ia[PATH_MAX + 256], ib[PATH_MAX + 256];
    file_id(a, ia);
    file_id(b, ib);
    return !strcmp(ia, ib);
}

static bool names_stdout(const char *path)
{
    return path && (!strcmp(path, "-") || same_file(path, "/dev/stdout"));
}

/* A report flag given `-` (or this process's stdout) writes to stdout, where it must be
 * alone: the live rows and the summary move to stderr. */
static int pick_stdout_report(struct plan *p, char *err, size_t errlen)
{
    const struct { const char *flag, *path; int to; } r[] = {
        {"--json", p->json_path, TO_STDOUT_JSON},
        {"--html", p->html_path, TO_STDOUT_HTML},
        {"--hdr-log", p->hdr_log_path, TO_STDOUT_HDR_LOG},
    };
    int first = -1;
    for (int i = 0; i < 3; i++) {
        if (!names_stdout(r[i].path)) continue;
        if (first >= 0)
            return plan_error(err, errlen, "%s %s and %s %s both write to standard output: give one of them a file",
                              r[first].flag, r[first].path, r[i].flag, r[i].path);
        first = i;
    }
    if (first < 0) return 0;
    if (p->find_limit)
        return plan_error(err, errlen, "%s %s: not with --find-limit, whose table goes to standard output; give a file",
                          r[first].flag, r[first].path);
    p->to_stdout = r[first].to;
    return 0;
}

/* Two report flags that name one file would leave only what was written last in it. */
static int check_report_paths(const struct plan *p, char *err, size_t errlen)
{
    static const char *const csv_suffix[] = {"_stats.csv", "_stats_history.csv", "_failures.csv"};
    char csv[3][4096];
    struct { const char *flag, *path; } f[6];
    unsigned n = 0;
    if (p->json_path && p->to_stdout != TO_STDOUT_JSON) f[n++] = (typeof(f[0])){"--json", p->json_path};
    if (p->html_path && p->to_stdout != TO_STDOUT_HTML) f[n++] = (typeof(f[0])){"--html", p->html_path};
    if (p->hdr_log_path && p->to_stdout != TO_STDOUT_HDR_LOG) f[n++] = (typeof(f[0])){"--hdr-log", p->hdr_log_path};
    for (unsigned i = 0; p->csv_prefix && i < 3; i++) {
        snprintf(csv[i], sizeof(csv[i]), "%s%s", p->csv_prefix, csv_suffix[i]);
        f[n++] = (typeof(f[0])){"--csv", csv[i]};
    }
    for (unsigned i = 0; i < n; i++)
        for (unsigned j = i + 1; j < n; j++)
            if (same_file(f[i].path, f[j].path))
                return plan_error(err, errlen, "%s and %s both write '%s': give each its own file", f[i].flag,
                                  f[j].flag, f[j].path);
    for (unsigned i = 0; i < n; i++)
        if (output_path_check(f[i].flag, f[i].path, err, errlen)) return -1;
    return 0;
}

int plan_prepare(struct plan *p, char *err, size_t errlen)
{
    if (p->scenario_file ? load_scenario(p, err, errlen) : quick_program(p, err, errlen)) return -1;
    prepare_steps(p);
    /* One static step, every user alike: pre-rendered and pipelined (worker.c). Users
     * sharing a pool keep their own identity, so they run as users (worker_scenario.c). */
    p->static_program = p->scenario->static_only && !p->share_connections;
    if (p->pipeline > 1 && p->share_connections)
        return plan_error(err, errlen, "--pipeline: not with --share-connections (users take turns on the pool, "
                                       "one request each)");
    if (p->pipeline > 1 && !p->static_program)
        return plan_error(err, errlen, "--pipeline: %s is not one static step (no variables, captures, checks, "
                                       "think time or on_failure: stop), so its users send one request at a time",
                          p->scenario_file);
    if (p->scenario_file) extract_global_init();  /* jansson's allocator, before the workers start */
    char selected_by[64];
    snprintf(selected_by, sizeof(selected_by), "%s%s%s%s%s", p->tags ? "--tags" : "",
             p->tags && (p->exclude_tags || p->user_class) ? ", " : "", p->exclude_tags ? "--exclude-tags" : "",
             p->exclude_tags && p->user_class ? ", " : "", p->user_class ? "--user" : "");
    if (threshold_resolve(&p->thresholds, p->scenario_file ? p->scenario->stat_names : NULL,
                          p->scenario_file ? p->scenario->nstats : 0, selected_by[0] ? selected_by : NULL, err,
                          errlen))
        return -1;
    pick_cpus(p);
    if (!p->threads) p->threads = p->ncpus ? p->ncpus : 1;
    if (p->threads > p->connections) p->threads = p->connections;
    if (p->share_connections && p->pool && p->threads > p->pool) p->threads = p->pool;  /* 0: --find-limit's per step */
    if (p->max_requests && p->threads > p->max_requests) p->threads = (unsigned)p->max_requests;
    if (p->static_program) {
        if (render_static(p, err, errlen)) return -1;
    } else {
        p->class_of = calloc(p->connections, sizeof(*p->class_of));
        if (!p->class_of) return plan_error(err, errlen, "out of memory for %u users", p->connections);
        scenario_assign_classes(p->scenario, p->connections, p->class_of);
    }
    if (p->url.tls) {
        p->tls.host = p->url.host;
        if (tls_config_check(&p->tls, err, errlen)) return -1;
    }
    if (pick_stdout_report(p, err, errlen) || resolve(p, err, errlen) || check_report_paths(p, err, errlen)) return -1;
    /* Bound connects in progress so a burst of them does not overflow the server's
     * listen backlog (somaxconn is commonly 4096, tcp_max_syn_backlog 2048). */
    p->max_connecting = 1024 / p->threads;
    if (p->max_connecting < 16) p->max_connecting = 16;
    if (p->open_loop && !p->max_queue) {
        /* Enough to ride out a stall as long as the timeout at the peak rate: a request
         * that waits longer fails as a timeout anyway. */
        double q = shape_max(&p->shape) * ((double)p->timeout_ns / 1e9);
        p->max_queue = q < 1024 ? 1024 : q > (1 << 20) ? (1 << 20) : (uint64_t)q;
    }
    return 0;
}

void plan_free(struct plan *p)
{
    free(p->body);
    free(p->json_path);
    free(p->url_text);
    free(p->request);
    p->body = p->json_path = p->url_text = p->request = NULL;
    shape_free(&p->shape);
    if (p->scenario) scenario_free(p->scenario);
    free(p->scenario);
    free(p->class_of);
    p->scenario = NULL;
    p->class_of = NULL;
}
