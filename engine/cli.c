/* Command line → struct plan. Every bad input becomes one line naming the flag and the value. */
#include "plan.h"
#include "secrets.h"
#include "load_model.h"
#include "shape.h"

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
          "       barrage -s SCENARIO.yaml [options] [URL]   (user scenarios; URL overrides target:)\n"
          "       barrage serve [options]          (the built-in target server; serve --help)\n"
          "       barrage hdrlog-read FILE         (count, p50, p99, max of each line of an --hdr-log)\n"
          "\n"
          "  -c, --connections N     connections to keep open (default 10)\n"
          "  -t, --threads N         worker threads, each pinned to a CPU (default: each CPU it may run on)\n"
          "  -d, --duration T        run for T: 500ms, 10s, 2m, 1h, 1m30s (default 10s)\n"
          "  -n, --requests N        stop after N requests (with -d: whichever comes first)\n"
          "  -m, --method M          request method (default GET)\n"
          "  -H, --header 'K: V'     add a request header (repeatable; 'K:' drops K, 'K;' sends it empty)\n"
          "  -b, --body TEXT         request body\n"
          "      --body-file FILE    request body from a file\n"
          "      --timeout T         per-request timeout (default 10s)\n"
          "      --pipeline N        requests in flight per connection (default 1; with -s, for a\n"
          "                          scenario of one static step)\n"
          "      --no-keepalive      a new connection for every request\n"
          "      --requests-per-conn N  close and reopen each connection after N requests\n"
          "      --expect-status L   statuses that count as ok, e.g. 200-299,404 (default 100-399)\n"
          "\n"
          "load model (default: closed loop, -c users each sending as soon as answered):\n"
          "  -R, --rate R            open loop: R requests/s in total, latency measured from the\n"
          "                          scheduled start (no coordinated omission); -c is the pool size\n"
          "      --arrival A         uniform (default) or poisson gaps between arrivals\n"
          "      --max-queue N       requests waiting for a free connection before more are dropped\n"
          "                          (default: rate x timeout, 1k..1M)\n"
          "      --stages LIST       targets over time, k6 style: '30s:100,1m:100,30s:0' (ramp\n"
          "                          linearly to each target); also --stage, repeatable\n"
          "      --shape PRESET      constant,value=N | ramp,to=N,over=T | step,by=N,every=T,to=M |\n"
          "                          spike,base=B,peak=P,at=T,for=T | soak,to=N,ramp=T\n"
          "      --shape-file FILE   one stage a line: '30s 100'\n"
          "      --open              shape targets are requests/s (open loop), not users\n"
          "      --users N --spawn-rate R --run-time T   Locust style: R users/s up to N, until T\n"
          "      --find-limit        search the highest rate that meets --slo (see README); with -s\n"
          "                          the rate of arriving users, each running one task (users/s)\n"
          "      --slo LIST          e.g. 'p99<100ms,errors<1%' (default errors<1%)\n"
          "      --closed            --find-limit steps users instead of the rate (not with -c)\n"
          "      --step-duration T   length of each --find-limit step (default 5s)\n"
          "      --start-rate R      first --find-limit step (default: from a closed-loop probe)\n"
          "      --max-rate R        highest --find-limit step\n"
          "\n"
          "scenarios (docs/SCENARIOS.md):\n"
          "  -s, --scenario FILE     users, tasks and steps from a YAML file; -c is the number of users\n"
          "      --tags LIST         run only tasks with one of these tags (a,b)\n"
          "      --exclude-tags LIST leave out tasks with one of these tags\n"
          "      --user NAME         run only this class of users\n"
          "      --share-connections the users of a worker share its connections (default: one each)\n"
          "      --pool N            with --share-connections: connections in all (default: users/10)\n"
          "\n"
          "https:// (TLS; sessions are resumed unless --no-resume):\n"
          "      --insecure          do not verify the server's certificate\n"
          "      --cacert FILE       trust this CA file (default: the system store)\n"
          "      --cert FILE --key FILE   client certificate and key\n"
          "      --sni NAME          server name to send (default: the URL's host)\n"
          "      --tls-min V, --tls-max V   1.2 or 1.3\n"
          "      --ciphers LIST      OpenSSL cipher list; TLS_* names are TLS 1.3 suites\n"
          "      --no-resume         a full handshake for every connection\n"
          "\n"
          "      --interval T        live report interval (default 1s)\n"
          "      --json FILE         write the summary as JSON\n"
          "      --csv PREFIX        write PREFIX_stats.csv, PREFIX_stats_history.csv, PREFIX_failures.csv\n"
          "                          (Locust's columns)\n"
          "      --hdr-log FILE      write an HdrHistogram interval log of the latencies\n"
          "      --html FILE         write a self-contained HTML report with charts\n"
          "      --watch-pid PID     sample the server's CPU and memory every interval (repeatable)\n"
          "      --leak-threshold R  warn of a leak when the watched RSS grows faster (default 10MB/min)\n"
          "      --threshold EXPR    pass/fail for CI, repeatable: 'p99<250ms', 'errors<1%', 'rps>5000',\n"
          "                          'max<2s', per step name 'list items:p95<100ms'; any failure: exit 99\n"
          "      --abort-on-fail     check thresholds every interval and stop early when one fails\n"
          "  -q, --quiet             no live output\n"
          "      --latency           accepted as wrk takes it: the distribution is always printed\n"
          "  -h, --help              this help\n"
          "  -v, --version           print the version\n",
          out);
}

/* strtod() limited to what people write as a decimal number: digits, '.', an exponent.
 * strtod alone also takes "0x10" (hex: 16), "inf", "nan" and leading blanks or signs.
 * Returns 0 with *end after the number, or -1. */
static int parse_decimal(const char *s, double *v, char **end)
{
    if (!s || !(isdigit((unsigned char)*s) || *s == '.')) return -1;
    errno = 0;
    *v = strtod(s, end);
    if (errno || *end == s || !isfinite(*v)) return -1;
    for (const char *c = s; c < *end; c++)
        if (!isdigit((unsigned char)*c) && !strchr(".eE+-", *c)) return -1;
    return 0;
}

int parse_duration(const char *s, uint64_t *ns)
{
    double sec;
    if (!s || shape_parse_duration(s, s + strlen(s), &sec) || !(sec * 1e9 < 1.8e19)) return -1;
    *ns = (uint64_t)(sec * 1e9 + 0.5);
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
        errno = 0;
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0) break;
    }
    int bad = ferror(f) ? (errno ? errno : EIO) : 0;  /* EISDIR: a directory opens, and fails only when read */
    fclose(f);
    if (bad) {
        free(buf);
        return plan_error(err, errlen, "--body-file: cannot read '%s': %s", path, strerror(bad));
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

/* The URL as reports show it: credentials in it ("user:pass@") become "****@", secret-named
 * query parameters "api_key=****" (secrets.h). */
char *url_for_reports(const char *url)
{
    size_t cap = 2 * strlen(url) + 16;  /* each masked value grows by at most 3 */
    char *out = malloc(cap);
    return out ? secret_mask_url(url, out, cap) : NULL;
}

/* RFC 9110: a name is a token; a value holds no control character but a tab. NULL when
 * h is a header line ('Name: value', 'Name:' to leave a header out, 'Name;' to send it
 * empty, as curl takes them), else what is wrong with it. */
static const char *header_problem(const char *h)
{
    const char *colon = strchr(h, ':');
    size_t len = strlen(h);
    if (!colon && len > 1 && h[len - 1] == ';') colon = h + len - 1;  /* 'Name;' */
    if (!colon) return "is not 'Name: value'";
    if (colon == h) return "has no name before its ':'";
    for (const char *c = h; c < colon; c++)
        if (!isalnum((unsigned char)*c) && !strchr("!#$%&'*+-.^_`|~", *c))
            return "has a name with a character other than letters, digits and !#$%&'*+-.^_`|~";
    for (const char *c = colon + 1; *c; c++)
        if (((unsigned char)*c < 0x20 && *c != '\t') || *c == 0x7f) return "has a control character in its value";
    return NULL;
}

/* -m: NULL when m is a method barrage sends, else why not, for "-m/--method 'm': WHY". */
static const char *method_problem(const char *m, char *why, size_t len)
{
    size_t n = strlen(m);
    bool lower = false;
    if (!n) return "empty";
    if (n > 32) return "longer than 32 characters";
    for (const char *c = m; *c; c++) {
        if (islower((unsigned char)*c)) lower = true;
        else if (!isupper((unsigned char)*c) && !isdigit((unsigned char)*c) && !(*c && strchr("!#$%&'*+-.^_`|~", *c))) {
            if (isprint((unsigned char)*c)) snprintf(why, len, "has '%c', which a method (an RFC 9110 token) cannot have", *c);
            else snprintf(why, len, "has byte 0x%02x, which a method (an RFC 9110 token) cannot have", (unsigned char)*c);
            return why;
        }
    }
    if (!lower) return NULL;
    /* Methods are case-sensitive (RFC 9110): "get" is not GET, and servers answer 405/501. */
    char upper[33];
    for (size_t i = 0; i <= n; i++) upper[i] = (char)toupper((unsigned char)m[i]);
    snprintf(why, len, "methods are case-sensitive: did you mean %s?", upper);
    return why;
}

/* --tags / --exclude-tags: names split at commas, the spaces around each dropped (plan.c's
 * split_list). NULL when s is such a list, else what is wrong with it: an empty name
 * ("read,,write", "read,") would select nothing, and one past the limits would be dropped. */
static const char *tag_list_problem(const char *s)
{
    if (strlen(s) >= PLAN_TAGS_BYTES) return "longer than 1023 bytes";
    unsigned n = 0;
    for (const char *p = s;;) {
        const char *e = strchr(p, ',');
        if (!e) e = p + strlen(p);
        const char *b = p, *t = e;
        while (b < t && (*b == ' ' || *b == '\t')) b++;
        while (t > b && (t[-1] == ' ' || t[-1] == '\t')) t--;
        if (b == t) return "has an empty tag (tags are separated by commas: a,b)";
        for (const char *c = b; c < t; c++)
            if ((unsigned char)*c < 0x20 || *c == 0x7f) return "has a control character";
        if (++n > PLAN_MAX_TAGS) return "has more than 64 tags";
        if (!*e) return NULL;
        p = e + 1;
    }
}

/* A server name as TLS carries it (RFC 6066: a DNS host name, at most 255 bytes; OpenSSL
 * refuses a longer one only when each connection starts). Underscores are let through, as
 * some internal names have them. */
static bool valid_sni(const char *s)
{
    size_t n = strlen(s);
    if (!n || n > 255) return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("-._", *s)) return false;
    return true;
}

/* A positive finite rate, with optional k (1000) or M suffix: "20000", "0.5", "20k". */
int parse_rate(const char *s, double *out)
{
    char *end;
    double v;
    if (parse_decimal(s, &v, &end)) return -1;
    if (*end == 'k' || *end == 'K') v *= 1e3, end++;
    else if (*end == 'M') v *= 1e6, end++;
    if (*end || !isfinite(v) || v <= 0 || v > 1e9) return -1;
    *out = v;
    return 0;
}

enum {
    OPT_BODY_FILE = 256, OPT_TIMEOUT, OPT_PIPELINE, OPT_NO_KEEPALIVE, OPT_RPC,
    OPT_INTERVAL, OPT_JSON, OPT_EXPECT_STATUS,
    OPT_ARRIVAL, OPT_MAX_QUEUE, OPT_STAGES, OPT_SHAPE, OPT_SHAPE_FILE, OPT_OPEN,
    OPT_USERS, OPT_SPAWN_RATE, OPT_RUN_TIME, OPT_FIND_LIMIT, OPT_SLO, OPT_CLOSED,
    OPT_STEP_DURATION, OPT_START_RATE, OPT_MAX_RATE,
    OPT_INSECURE, OPT_CACERT, OPT_CERT, OPT_KEY, OPT_SNI, OPT_TLS_MIN, OPT_TLS_MAX, OPT_CIPHERS, OPT_NO_RESUME,
    OPT_TAGS, OPT_EXCLUDE_TAGS, OPT_USER, OPT_SHARE, OPT_POOL, OPT_THRESHOLD, OPT_ABORT_ON_FAIL,
    OPT_CSV, OPT_HDR_LOG, OPT_HTML, OPT_WATCH_PID, OPT_LEAK_THRESHOLD, OPT_LATENCY,
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
    {"rate", required_argument, 0, 'R'},
    {"arrival", required_argument, 0, OPT_ARRIVAL},
    {"max-queue", required_argument, 0, OPT_MAX_QUEUE},
    {"stages", required_argument, 0, OPT_STAGES},
    {"stage", required_argument, 0, OPT_STAGES},
    {"shape", required_argument, 0, OPT_SHAPE},
    {"shape-file", required_argument, 0, OPT_SHAPE_FILE},
    {"open", no_argument, 0, OPT_OPEN},
    {"users", required_argument, 0, OPT_USERS},
    {"spawn-rate", required_argument, 0, OPT_SPAWN_RATE},
    {"run-time", required_argument, 0, OPT_RUN_TIME},
    {"find-limit", no_argument, 0, OPT_FIND_LIMIT},
    {"slo", required_argument, 0, OPT_SLO},
    {"closed", no_argument, 0, OPT_CLOSED},
    {"step-duration", required_argument, 0, OPT_STEP_DURATION},
    {"start-rate", required_argument, 0, OPT_START_RATE},
    {"max-rate", required_argument, 0, OPT_MAX_RATE},
    {"insecure", no_argument, 0, OPT_INSECURE},
    {"cacert", required_argument, 0, OPT_CACERT},
    {"cert", required_argument, 0, OPT_CERT},
    {"key", required_argument, 0, OPT_KEY},
    {"sni", required_argument, 0, OPT_SNI},
    {"tls-min", required_argument, 0, OPT_TLS_MIN},
    {"tls-max", required_argument, 0, OPT_TLS_MAX},
    {"ciphers", required_argument, 0, OPT_CIPHERS},
    {"no-resume", no_argument, 0, OPT_NO_RESUME},
    {"scenario", required_argument, 0, 's'},
    {"tags", required_argument, 0, OPT_TAGS},
    {"exclude-tags", required_argument, 0, OPT_EXCLUDE_TAGS},
    {"user", required_argument, 0, OPT_USER},
    {"share-connections", no_argument, 0, OPT_SHARE},
    {"pool", required_argument, 0, OPT_POOL},
    {"json", required_argument, 0, OPT_JSON},
    {"threshold", required_argument, 0, OPT_THRESHOLD},
    {"abort-on-fail", no_argument, 0, OPT_ABORT_ON_FAIL},
    {"csv", required_argument, 0, OPT_CSV},
    {"hdr-log", required_argument, 0, OPT_HDR_LOG},
    {"html", required_argument, 0, OPT_HTML},
    {"watch-pid", required_argument, 0, OPT_WATCH_PID},
    {"leak-threshold", required_argument, 0, OPT_LEAK_THRESHOLD},
    {"quiet", no_argument, 0, 'q'},
    {"help", no_argument, 0, 'h'},
    {"version", no_argument, 0, 'v'},
    {"latency", no_argument, 0, OPT_LATENCY},
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

/* A memory growth rate: "10", "10MB/min", "500KB/min", "1GB/h" (MB = 10^6 bytes). */
int parse_mb_per_min(const char *s, double *out)
{
    char *end;
    double v;
    if (parse_decimal(s, &v, &end) || v <= 0) return -1;
    double scale = 1;
    if (!strncmp(end, "KB", 2)) scale = 1e-3, end += 2;
    else if (!strncmp(end, "MB", 2)) end += 2;
    else if (!strncmp(end, "GB", 2)) scale = 1e3, end += 2;
    if (!strcmp(end, "/h")) scale /= 60;
    else if (*end && strcmp(end, "/min")) return -1;
    if (!isfinite(v * scale)) return -1;  /* "1e308GB/min" */
    *out = v * scale;
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
    bool duration_set = false, count_set = false, connections_set = false;
    const char *body_file = NULL;
    struct load_args la = {0};
    const char *tls_flag = NULL;   /* the last TLS flag given, for "only with https://" */
    uint32_t range_lo = 0, range_hi = 0;  /* a count out of its range: said in the error */
#define BAD_U32(lo, hi) do { range_lo = (lo), range_hi = (hi); goto bad_value; } while (0)
    const char *quick_flag = NULL; /* the last flag that shapes the one request of the quick mode */
    p->tls.resume = true;
    p->leak_mb_per_min = 10;
    bool leak_set = false;
    char name[64];

    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":c:t:d:n:m:H:b:R:s:qhv", long_opts, NULL)) != -1) {
        uint32_t u;
        switch (c) {
        case 'c':
            if (parse_u32(optarg, 1, 10000000, &u)) BAD_U32(1, 10000000);
            p->connections = u;
            connections_set = true;
            break;
        case 't':
            if (parse_u32(optarg, 1, 1024, &u)) BAD_U32(1, 1024);
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
        case 'm': {
            quick_flag = "-m";
            char why[96];
            const char *problem = method_problem(optarg, why, sizeof(why));
            if (problem) {
                plan_error(err, errlen, "-m/--method: invalid value '%s' (%s)", optarg, problem);
                return CLI_EXIT_USAGE;
            }
            p->method = optarg;
            break;
        }
        case 'H':
            quick_flag = "-H";
            const char *problem = header_problem(optarg);
            if (problem) {
                char shown[96];  /* a secret-named header shows its name only: the rest is a credential */
                size_t name_len = strcspn(optarg, " :=\t\r\n");  /* 'Key=secret' too */
                bool secret = secret_name(optarg, name_len);
                snprintf(shown, sizeof(shown), "%.*s%s", secret ? (int)name_len : 60, optarg, secret ? " ..." : "");
                if (strpbrk(optarg, "\r\n"))  /* what follows a line break could be another header's secret */
                    plan_error(err, errlen, "-H/--header '%.*s': a line break (CR or LF) in a header", (int)(name_len < 60 ? name_len : 60), optarg);
                else
                    plan_error(err, errlen, "-H/--header: '%s' %s", shown, problem);
                return CLI_EXIT_USAGE;
            }
            if (p->nheaders == PLAN_MAX_HEADERS) {
                plan_error(err, errlen, "-H/--header: at most %d headers", PLAN_MAX_HEADERS);
                return CLI_EXIT_USAGE;
            }
            p->headers[p->nheaders++] = optarg;
            break;
        case 'b':
        case OPT_BODY_FILE:
            if (p->body || body_file) {  /* the last one silently won */
                plan_error(err, errlen, "%s: a body was given already (-b or --body-file: one body)",
                           c == 'b' ? "-b/--body" : "--body-file");
                return CLI_EXIT_USAGE;
            }
            quick_flag = c == 'b' ? "-b" : "--body-file";
            if (c == OPT_BODY_FILE) body_file = optarg;
            else if (!(p->body = strdup(optarg))) return plan_error(err, errlen, "out of memory"), CLI_EXIT_USAGE;
            else p->body_len = strlen(optarg);
            break;
        case OPT_TIMEOUT:
            if (parse_duration(optarg, &p->timeout_ns) || p->timeout_ns < 1000000) goto bad_value;
            p->timeout_set = true;
            break;
        case 's': {
            if (!*optarg) goto bad_value;
            size_t n = strlen(optarg);
            if (n > 4 && !strcasecmp(optarg + n - 4, ".lua")) {  /* wrk's -s takes a Lua script */
                plan_error(err, errlen, "-s/--scenario '%s': barrage reads YAML scenario files, not wrk's Lua scripts "
                                        "(-m, -H and -b set what wrk.method, wrk.headers and wrk.body did; README: "
                                        "Scenarios)", optarg);
                return CLI_EXIT_USAGE;
            }
            p->scenario_file = optarg;
            break;
        }
        case OPT_TAGS:
        case OPT_EXCLUDE_TAGS:
        case OPT_USER: {
            if (!*optarg) goto bad_value;
            const char **list = c == OPT_TAGS ? &p->tags : c == OPT_EXCLUDE_TAGS ? &p->exclude_tags : &p->user_class;
            if (*list) {  /* the last one silently won */
                plan_error(err, errlen, "%s: given twice%s", opt_name(c, name, sizeof(name)),
                           c == OPT_USER ? " (one user class)" : " (one list: a,b)");
                return CLI_EXIT_USAGE;
            }
            const char *bad_list = c == OPT_USER ? NULL : tag_list_problem(optarg);
            if (bad_list) {
                plan_error(err, errlen, "%s: '%.60s' %s", opt_name(c, name, sizeof(name)), optarg, bad_list);
                return CLI_EXIT_USAGE;
            }
            *list = optarg;
            break;
        }
        case OPT_SHARE:
            p->share_connections = true;
            break;
        case OPT_POOL:
            if (parse_u32(optarg, 1, 10000000, &u)) BAD_U32(1, 10000000);
            p->pool = u;
            break;
        case OPT_PIPELINE:  /* with -s too: plan_prepare() takes it for a static scenario only */
            if (parse_u32(optarg, 1, 1024, &u)) BAD_U32(1, 1024);
            p->pipeline = u;
            break;
        case OPT_NO_KEEPALIVE:
            p->keepalive = false;
            break;
        case OPT_RPC:
            if (parse_u32(optarg, 1, UINT32_MAX, &u)) BAD_U32(1, UINT32_MAX);
            p->requests_per_conn = u;
            break;
        case OPT_INTERVAL:
            if (parse_duration(optarg, &p->interval_ns)) goto bad_value;
            if (p->interval_ns < 10000000) {
                plan_error(err, errlen, "--interval: '%s' is under the shortest interval, 10ms", optarg);
                return CLI_EXIT_USAGE;
            }
            break;
        case OPT_EXPECT_STATUS:
            quick_flag = "--expect-status";
            if (parse_status_list(optarg, p->status_ok)) {
                plan_error(err, errlen, "--expect-status: invalid value '%s' (codes from 100 to 599, each CODE or "
                                        "LOW-HIGH, joined by commas: 200-299,404)", optarg);
                return CLI_EXIT_USAGE;
            }
            break;
        case OPT_JSON:
        case OPT_CSV:
        case OPT_HDR_LOG:
        case OPT_HTML: {
            if (!*optarg) goto bad_value;
            if (c == OPT_CSV && !strcmp(optarg, "-")) {
                plan_error(err, errlen, "--csv -: --csv takes a prefix for three files (PREFIX_stats.csv, ...), "
                                        "not standard output");
                return CLI_EXIT_USAGE;
            }
            const char **path = c == OPT_CSV ? &p->csv_prefix : c == OPT_HDR_LOG ? &p->hdr_log_path
                                : c == OPT_HTML ? &p->html_path : NULL;
            if (path ? *path != NULL : p->json_path != NULL) {  /* one report per flag: the last one silently won */
                plan_error(err, errlen, "%s: given twice (one file each)", opt_name(c, name, sizeof(name)));
                return CLI_EXIT_USAGE;
            }
            if (path) *path = optarg;
            else if (!(p->json_path = strdup(optarg))) return plan_error(err, errlen, "out of memory"), CLI_EXIT_USAGE;
            break;
        }
        case OPT_WATCH_PID:
            if (parse_u32(optarg, 1, INT32_MAX, &u)) BAD_U32(1, INT32_MAX);
            if (p->nwatch == PLAN_MAX_WATCH) {
                plan_error(err, errlen, "--watch-pid: at most %d processes", PLAN_MAX_WATCH);
                return CLI_EXIT_USAGE;
            }
            for (unsigned i = 0; i < p->nwatch; i++)
                if (p->watch_pids[i] == (int)u) {
                    plan_error(err, errlen, "--watch-pid %u: given twice", u);
                    return CLI_EXIT_USAGE;
                }
            p->watch_pids[p->nwatch++] = (int)u;
            break;
        case OPT_LEAK_THRESHOLD:
            if (parse_mb_per_min(optarg, &p->leak_mb_per_min)) {
                plan_error(err, errlen, "--leak-threshold: invalid value '%s' (a growth above 0 such as 10MB/min, "
                           "500KB/min or 1GB/h)", optarg);
                return CLI_EXIT_USAGE;
            }
            leak_set = true;
            break;
        case 'R':
            if (parse_rate(optarg, &p->rate)) goto bad_value;
            break;
        case OPT_ARRIVAL:
            if (!strcmp(optarg, "poisson")) p->poisson = true;
            else if (!strcmp(optarg, "uniform")) p->poisson = false;
            else {
                plan_error(err, errlen, "--arrival: '%s' is not uniform or poisson", optarg);
                return CLI_EXIT_USAGE;
            }
            break;
        case OPT_MAX_QUEUE:
            if (parse_count(optarg, &p->max_queue) || !p->max_queue || p->max_queue > (1ull << 30)) goto bad_value;
            break;
        case OPT_STAGES:
            if (load_args_add_stages(&la, optarg)) {
                plan_error(err, errlen, "--stages: out of memory");
                return CLI_EXIT_USAGE;
            }
            break;
        case OPT_SHAPE:
            la.preset = optarg;
            break;
        case OPT_SHAPE_FILE:
            la.shape_file = optarg;
            break;
        case OPT_OPEN:
            la.open = true;
            break;
        case OPT_USERS:
            if (parse_rate(optarg, &la.users)) goto bad_value;
            break;
        case OPT_SPAWN_RATE:
            if (parse_rate(optarg, &la.spawn_rate)) goto bad_value;
            break;
        case OPT_RUN_TIME:
            if (parse_duration(optarg, &la.run_time_ns) || !la.run_time_ns) goto bad_value;
            break;
        case OPT_FIND_LIMIT:
            p->find_limit = true;
            break;
        case OPT_SLO: {  /* repeated: the conditions add up, as --threshold's do */
            struct slo more;
            if (slo_parse(&more, optarg, "--slo", err, errlen)) return CLI_EXIT_USAGE;
            for (unsigned i = 0; i < more.n; i++) {
                if (slo_metric_is_server(more.cond[i].metric)) {
                    plan_error(err, errlen, "--slo: '%s': a server metric goes in a --threshold", more.cond[i].text);
                    return CLI_EXIT_USAGE;
                }
                if (p->slo.n == SLO_MAX_CONDS) {
                    plan_error(err, errlen, "--slo: at most %d conditions in all", SLO_MAX_CONDS);
                    return CLI_EXIT_USAGE;
                }
                p->slo.cond[p->slo.n++] = more.cond[i];
            }
            p->slo_set = true;
            break;
        }
        case OPT_THRESHOLD:
            if (threshold_add(&p->thresholds, optarg, err, errlen)) return CLI_EXIT_USAGE;
            break;
        case OPT_ABORT_ON_FAIL:
            p->abort_on_fail = true;
            break;
        case OPT_CLOSED:
            p->limit_closed = true;
            break;
        case OPT_STEP_DURATION:
            if (parse_duration(optarg, &p->step_ns) || p->step_ns < 100000000) goto bad_value;
            break;
        case OPT_START_RATE:
            if (parse_rate(optarg, &p->start_load)) goto bad_value;
            break;
        case OPT_MAX_RATE:
            if (parse_rate(optarg, &p->max_load)) goto bad_value;
            break;
        case OPT_INSECURE:
            p->tls.insecure = true;
            tls_flag = "--insecure";
            break;
        case OPT_CACERT:
            p->tls.cacert = optarg;
            tls_flag = "--cacert";
            break;
        case OPT_CERT:
            p->tls.cert = optarg;
            tls_flag = "--cert";
            break;
        case OPT_KEY:
            p->tls.key = optarg;
            tls_flag = "--key";
            break;
        case OPT_SNI:
            if (!valid_sni(optarg)) {
                plan_error(err, errlen, "--sni: '%.80s%s' is not a host name (letters, digits, '-', '_' and '.', "
                           "at most 255 characters)", optarg, strlen(optarg) > 80 ? "..." : "");
                return CLI_EXIT_USAGE;
            }
            p->tls.sni = optarg;
            tls_flag = "--sni";
            break;
        case OPT_TLS_MIN:
        case OPT_TLS_MAX: {
            int v = !strcmp(optarg, "1.2") ? TLS_V1_2 : !strcmp(optarg, "1.3") ? TLS_V1_3 : 0;
            if (!v) {
                plan_error(err, errlen, "%s: '%s' is not 1.2 or 1.3", opt_name(c, name, sizeof(name)), optarg);
                return CLI_EXIT_USAGE;
            }
            if (c == OPT_TLS_MIN) p->tls.min_version = v;
            else p->tls.max_version = v;
            tls_flag = c == OPT_TLS_MIN ? "--tls-min" : "--tls-max";
            break;
        }
        case OPT_CIPHERS:
            p->tls.ciphers = optarg;
            tls_flag = "--ciphers";
            break;
        case OPT_NO_RESUME:
            p->tls.resume = false;
            tls_flag = "--no-resume";
            break;
        case 'q':
            p->quiet = true;
            break;
        case 'h':
            cli_usage(stdout);
            return CLI_EXIT_OK;
        case 'v':
            printf("barrage %s\n", BARRAGE_VERSION);
            return CLI_EXIT_OK;
        case OPT_LATENCY:  /* wrk's: prints the distribution, which barrage always does */
            break;
        case ':':
            plan_error(err, errlen, "%s needs a value", optopt ? opt_name(optopt, name, sizeof(name))
                                                           : argv[optind - 1]);
            return CLI_EXIT_USAGE;
        default: {
            const char *arg = argv[optind - 1];
            if (!strncmp(arg, "--", 2) && strchr(arg, '=') && optopt) {  /* --quiet=1: a flag given a value */
                plan_error(err, errlen, "%.*s takes no value", (int)(strchr(arg, '=') - arg), arg);
            } else if (optopt > 0 && optopt < 256) {
                plan_error(err, errlen, "unknown option '-%c' (see --help)", optopt);
            } else {
                plan_error(err, errlen, "unknown option '%s' (see --help)", arg);
            }
            return CLI_EXIT_USAGE;
        }
        }
        continue;
    bad_value:
        if (range_hi)
            plan_error(err, errlen, "%s: invalid value '%s' (a whole number from %u to %u)",
                       opt_name(c, name, sizeof(name)), optarg, range_lo, range_hi);
        else plan_error(err, errlen, "%s: invalid value '%s'", opt_name(c, name, sizeof(name)), optarg);
        return CLI_EXIT_USAGE;
    }
#undef BAD_U32

    if (p->scenario_file && quick_flag) {
        plan_error(err, errlen, "%s: not with --scenario (each step of the file says its method, headers and body)",
                   quick_flag);
        return CLI_EXIT_USAGE;
    }
    const char *scenario_only = p->tags ? "--tags" : p->exclude_tags ? "--exclude-tags" : p->user_class ? "--user"
                              : p->share_connections ? "--share-connections" : NULL;
    if (p->pool && !p->share_connections) {
        plan_error(err, errlen, "--pool applies with --share-connections");
        return CLI_EXIT_USAGE;
    }
    if (scenario_only && !p->scenario_file) {
        plan_error(err, errlen, "%s applies to a scenario (-s FILE)", scenario_only);
        return CLI_EXIT_USAGE;
    }
    if (optind >= argc && !p->scenario_file) {
        plan_error(err, errlen, "no URL given (usage: barrage [options] URL; see --help)");
        return CLI_EXIT_USAGE;
    }
    if (optind + 1 < argc) {
        plan_error(err, errlen, "unexpected argument '%s' after the URL", argv[optind + 1]);
        return CLI_EXIT_USAGE;
    }
    if (optind < argc) {
        p->url_arg = argv[optind];
        p->url_text = url_for_reports(argv[optind]);
        if (url_parse(argv[optind], &p->url, err, errlen)) return CLI_EXIT_USAGE;
    }
    if (tls_flag && !p->url.tls && !p->scenario_file) {  /* a scenario's target is checked when loaded */
        plan_error(err, errlen, "%s applies to https:// URLs; this one is http://", tls_flag);
        return CLI_EXIT_USAGE;
    }
    if (p->tls.insecure && p->tls.cacert) {  /* one of them is a mistake: say which cannot apply */
        plan_error(err, errlen, "--cacert has no effect with --insecure (nothing is verified); give one of them");
        return CLI_EXIT_USAGE;
    }
    if (p->tls.min_version && p->tls.max_version && p->tls.min_version > p->tls.max_version) {
        plan_error(err, errlen, "--tls-min 1.3 is above --tls-max 1.2");
        return CLI_EXIT_USAGE;
    }

    if (body_file) {
        free(p->body);
        p->body = NULL;
        if (read_file(body_file, &p->body, &p->body_len, err, errlen)) return CLI_EXIT_USAGE;
    }
    if (count_set && !duration_set) p->duration_ns = 0;
    if (!p->keepalive) p->requests_per_conn = 1;
    if (p->requests_per_conn && p->pipeline > p->requests_per_conn) p->pipeline = p->requests_per_conn;
    la.duration_set = duration_set;
    la.count_set = count_set;
    la.connections_set = connections_set;
    int rc = load_model_resolve(p, &la, err, errlen);
    load_args_free(&la);
    if (rc) return CLI_EXIT_USAGE;
    if (p->share_connections && !p->find_limit) {  /* --find-limit sizes the pool per step */
        if (!p->pool) {
            uint32_t per = p->connections / 10;
            p->pool = per < 1 ? 1 : per;
        }
        if (p->pool > p->connections) p->pool = p->connections;
    }
    if (p->abort_on_fail && !p->thresholds.n) {
        plan_error(err, errlen, "--abort-on-fail needs a --threshold");
        return CLI_EXIT_USAGE;
    }
    if (p->thresholds.n && p->find_limit) {
        plan_error(err, errlen, "--threshold: not with --find-limit (it searches against --slo)");
        return CLI_EXIT_USAGE;
    }
    for (unsigned i = 0; i < p->thresholds.n && !p->nwatch; i++)
        if (slo_metric_is_server(p->thresholds.t[i].cond.metric)) {
            plan_error(err, errlen, "--threshold: '%s' needs --watch-pid PID (the server process to measure)",
                       p->thresholds.t[i].expr);
            return CLI_EXIT_USAGE;
        }
    if (leak_set && !p->nwatch) {
        plan_error(err, errlen, "--leak-threshold applies with --watch-pid");
        return CLI_EXIT_USAGE;
    }
    const char *run_file = p->csv_prefix ? "--csv" : p->hdr_log_path ? "--hdr-log" : p->html_path ? "--html"
                         : p->nwatch ? "--watch-pid" : NULL;
    if (run_file && p->find_limit) {
        plan_error(err, errlen, "%s: not with --find-limit (it reports each step; use --json)", run_file);
        return CLI_EXIT_USAGE;
    }
    if (p->scenario_file && p->open_loop) {
        /* each arrival is a user running one task; -c is the pool they share */
        if (p->share_connections && p->pool) p->connections = p->pool;
        p->share_connections = true;
        p->pool = p->connections;
    }
    return CLI_RUN;
}
