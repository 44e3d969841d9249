/* Command line → struct plan. Every bad input becomes one line naming the flag and the value. */
#include "plan.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void cli_usage(FILE *out)
{
    fputs("usage: barrage [options] URL\n"
          "       barrage serve [options]          (the built-in target server; serve --help)\n"
          "\n"
          "  -c, --connections N     connections to keep open (default 10)\n"
          "  -t, --threads N         worker threads, each pinned to a CPU (default: all online CPUs)\n"
          "  -d, --duration T        run for T: 500ms, 10s, 2m, 1h (default 10s)\n"
          "  -n, --requests N        stop after N requests (with -d: whichever comes first)\n"
          "  -m, --method M          request method (default GET)\n"
          "  -H, --header 'K: V'     add a request header (repeatable)\n"
          "  -b, --body TEXT         request body\n"
          "      --body-file FILE    request body from a file\n"
          "      --timeout T         per-request timeout (default 10s)\n"
          "      --pipeline N        requests in flight per connection (default 1)\n"
          "      --no-keepalive      a new connection for every request\n"
          "      --requests-per-conn N  close and reopen each connection after N requests\n"
          "      --expect-status L   statuses that count as ok, e.g. 200-299,404 (default 100-399)\n"
          "      --interval T        live report interval (default 1s)\n"
          "      --json FILE         write the summary as JSON\n"
          "  -q, --quiet             no live output\n"
          "  -h, --help              this help\n"
          "      --version           print the version\n",
          out);
}

int parse_duration(const char *s, uint64_t *ns)
{
    if (!s || !*s) return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || !isfinite(v) || v < 0 || isspace((unsigned char)*s)) return -1;
    double scale;
    if (!strcmp(end, "") || !strcmp(end, "s")) scale = 1e9;
    else if (!strcmp(end, "ms")) scale = 1e6;
    else if (!strcmp(end, "us")) scale = 1e3;
    else if (!strcmp(end, "m")) scale = 60e9;
    else if (!strcmp(end, "h")) scale = 3600e9;
    else return -1;
    double r = v * scale;
    if (r >= 1.8e19) return -1;
    *ns = (uint64_t)(r + 0.5);
    return 0;
}

int parse_count(const char *s, uint64_t *out)
{
    if (!s || !isdigit((unsigned char)*s)) return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno) return -1;
    uint64_t mul = 1;
    if (*end == 'k' || *end == 'K') mul = 1000, end++;
    else if (*end == 'm' || *end == 'M') mul = 1000000, end++;
    if (*end || v > UINT64_MAX / mul) return -1;
    *out = v * mul;
    return 0;
}

static int read_file(const char *path, char **data, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) return plan_error(err, errlen, "--body-file: cannot open '%s': %s", path, strerror(errno));
    char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 65536;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return plan_error(err, errlen, "--body-file: '%s' is too large", path);
            }
            buf = nb;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return plan_error(err, errlen, "--body-file: cannot read '%s'", path);
    }
    *data = buf;
    *len = n;
    return 0;
}

int parse_status_list(const char *s, bool ok[600])
{
    bool set[600] = {false};
    const char *c = s;
    for (;;) {
        char *end;
        long lo = strtol(c, &end, 10), hi = lo;
        if (end == c || !isdigit((unsigned char)*c)) return -1;
        c = end;
        if (*c == '-') {
            const char *h = c + 1;
            hi = strtol(h, &end, 10);
            if (end == h || !isdigit((unsigned char)*h)) return -1;
            c = end;
        }
        if (lo < 100 || hi > 599 || lo > hi) return -1;
        for (long v = lo; v <= hi; v++) set[v] = true;
        if (!*c) break;
        if (*c++ != ',') return -1;
    }
    memcpy(ok, set, sizeof(set));
    return 0;
}

/* The URL as reports show it: credentials in it ("user:pass@") become "****@". */
static char *url_for_reports(const char *url)
{
    const char *sep = strstr(url, "://");
    const char *auth = sep ? sep + 3 : url;
    const char *auth_end = auth + strcspn(auth, "/?#");
    const char *at = memchr(auth, '@', (size_t)(auth_end - auth));
    if (!at) return strdup(url);
    char *out = malloc(strlen(url) + 5);
    if (out) sprintf(out, "%.*s****%s", (int)(auth - url), url, at);
    return out;
}

static bool valid_header(const char *h)
{
    const char *colon = strchr(h, ':');
    if (!colon || colon == h) return false;
    for (const char *c = h; c < colon; c++)
        if (*c <= ' ' || *c >= 127) return false;
    for (const char *c = h; *c; c++)
        if (*c == '\r' || *c == '\n') return false;
    return true;
}

static bool valid_method(const char *m)
{
    if (!*m || strlen(m) > 32) return false;
    for (; *m; m++)
        if (!isupper((unsigned char)*m) && *m != '-' && *m != '_') return false;
    return true;
}

enum {
    OPT_BODY_FILE = 256, OPT_TIMEOUT, OPT_PIPELINE, OPT_NO_KEEPALIVE, OPT_RPC,
    OPT_INTERVAL, OPT_JSON, OPT_VERSION, OPT_EXPECT_STATUS,
};

static const struct option long_opts[] = {
    {"connections", required_argument, 0, 'c'},
    {"threads", required_argument, 0, 't'},
    {"duration", required_argument, 0, 'd'},
    {"requests", required_argument, 0, 'n'},
    {"method", required_argument, 0, 'm'},
    {"header", required_argument, 0, 'H'},
    {"body", required_argument, 0, 'b'},
    {"body-file", required_argument, 0, OPT_BODY_FILE},
    {"timeout", required_argument, 0, OPT_TIMEOUT},
    {"pipeline", required_argument, 0, OPT_PIPELINE},
    {"no-keepalive", no_argument, 0, OPT_NO_KEEPALIVE},
    {"requests-per-conn", required_argument, 0, OPT_RPC},
    {"interval", required_argument, 0, OPT_INTERVAL},
    {"expect-status", required_argument, 0, OPT_EXPECT_STATUS},
    {"json", required_argument, 0, OPT_JSON},
    {"quiet", no_argument, 0, 'q'},
    {"help", no_argument, 0, 'h'},
    {"version", no_argument, 0, OPT_VERSION},
    {0, 0, 0, 0},
};

/* Name of the option as the user would type it, for messages. */
static const char *opt_name(int c, char *buf, size_t len)
{
    for (const struct option *o = long_opts; o->name; o++)
        if (o->val == c) {
            if (c < 256) snprintf(buf, len, "-%c/--%s", c, o->name);
            else snprintf(buf, len, "--%s", o->name);
            return buf;
        }
    snprintf(buf, len, "-%c", c);
    return buf;
}

static int parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
    uint64_t v;
    if (parse_count(s, &v) || v < min || v > max) return -1;
    *out = (uint32_t)v;
    return 0;
}

enum cli_result cli_parse(struct plan *p, int argc, char **argv, char *err, size_t errlen)
{
    memset(p, 0, sizeof(*p));
    p->connections = 10;
    p->duration_ns = 10ull * 1000000000;
    p->timeout_ns = 10ull * 1000000000;
    p->interval_ns = 1000000000;
    p->pipeline = 1;
    p->keepalive = true;
    p->method = "GET";
    for (int code = 100; code < 400; code++) p->status_ok[code] = true;
    p->threads = 0;  /* plan_prepare(): one per CPU this process may run on */
    bool duration_set = false, count_set = false;
    const char *body_file = NULL;
    char name[64];

    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":c:t:d:n:m:H:b:qh", long_opts, NULL)) != -1) {
        uint32_t u;
        switch (c) {
        case 'c':
            if (parse_u32(optarg, 1, 10000000, &u)) goto bad_value;
            p->connections = u;
            break;
        case 't':
            if (parse_u32(optarg, 1, 1024, &u)) goto bad_value;
            p->threads = u;
            break;
        case 'd':
            if (parse_duration(optarg, &p->duration_ns) || p->duration_ns == 0) goto bad_value;
            duration_set = true;
            break;
        case 'n':
            if (parse_count(optarg, &p->max_requests) || p->max_requests == 0) goto bad_value;
            count_set = true;
            break;
        case 'm':
            if (!valid_method(optarg)) goto bad_value;
            p->method = optarg;
            break;
        case 'H':
            if (!valid_header(optarg)) {
                plan_error(err, errlen, "-H/--header: '%s' is not 'Name: value'", optarg);
                return CLI_EXIT_USAGE;
            }
            if (p->nheaders == PLAN_MAX_HEADERS) {
                plan_error(err, errlen, "-H/--header: at most %d headers", PLAN_MAX_HEADERS);
                return CLI_EXIT_USAGE;
            }
            p->headers[p->nheaders++] = optarg;
            break;
        case 'b':
            free(p->body);
            p->body = strdup(optarg);
            p->body_len = strlen(optarg);
            body_file = NULL;
            break;
        case OPT_BODY_FILE:
            body_file = optarg;
            break;
        case OPT_TIMEOUT:
            if (parse_duration(optarg, &p->timeout_ns) || p->timeout_ns < 1000000) goto bad_value;
            break;
        case OPT_PIPELINE:
            if (parse_u32(optarg, 1, 1024, &u)) goto bad_value;
            p->pipeline = u;
            break;
        case OPT_NO_KEEPALIVE:
            p->keepalive = false;
            break;
        case OPT_RPC:
            if (parse_u32(optarg, 1, UINT32_MAX, &u)) goto bad_value;
            p->requests_per_conn = u;
            break;
        case OPT_INTERVAL:
            if (parse_duration(optarg, &p->interval_ns) || p->interval_ns < 10000000) goto bad_value;
            break;
        case OPT_EXPECT_STATUS:
            if (parse_status_list(optarg, p->status_ok)) goto bad_value;
            break;
        case OPT_JSON:
            free(p->json_path);
            p->json_path = strdup(optarg);
            break;
        case 'q':
            p->quiet = true;
            break;
        case 'h':
            cli_usage(stdout);
            return CLI_EXIT_OK;
        case OPT_VERSION:
            printf("barrage %s\n", BARRAGE_VERSION);
            return CLI_EXIT_OK;
        case ':':
            plan_error(err, errlen, "%s needs a value", optopt ? opt_name(optopt, name, sizeof(name))
                                                           : argv[optind - 1]);
            return CLI_EXIT_USAGE;
        default:
            if (optopt) plan_error(err, errlen, "unknown option '-%c' (see --help)", optopt);
            else plan_error(err, errlen, "unknown option '%s' (see --help)", argv[optind - 1]);
            return CLI_EXIT_USAGE;
        }
        continue;
    bad_value:
        plan_error(err, errlen, "%s: invalid value '%s'", opt_name(c, name, sizeof(name)), optarg);
        return CLI_EXIT_USAGE;
    }

    if (optind >= argc) {
        plan_error(err, errlen, "no URL given (usage: barrage [options] URL; see --help)");
        return CLI_EXIT_USAGE;
    }
    if (optind + 1 < argc) {
        plan_error(err, errlen, "unexpected argument '%s' after the URL", argv[optind + 1]);
        return CLI_EXIT_USAGE;
    }
    p->url_text = url_for_reports(argv[optind]);
    if (url_parse(argv[optind], &p->url, err, errlen)) return CLI_EXIT_USAGE;

    if (body_file) {
        free(p->body);
        p->body = NULL;
        if (read_file(body_file, &p->body, &p->body_len, err, errlen)) return CLI_EXIT_USAGE;
    }
    if (count_set && !duration_set) p->duration_ns = 0;
    if (!p->keepalive) p->requests_per_conn = 1;
    if (p->requests_per_conn && p->pipeline > p->requests_per_conn) p->pipeline = p->requests_per_conn;
    return CLI_RUN;
}
