/* Command line, durations, URLs, the quick mode's program and the pre-built request. */
#include <arpa/inet.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "plan.h"
#include "scenario.h"
#include "secrets.h"

static void durations(void)
{
    uint64_t ns;
    CHECK(parse_duration("500ms", &ns) == 0 && ns == 500000000ull);
    CHECK(parse_duration("10s", &ns) == 0 && ns == 10000000000ull);
    CHECK(parse_duration("2m", &ns) == 0 && ns == 120000000000ull);
    CHECK(parse_duration("1h", &ns) == 0 && ns == 3600000000000ull);
    CHECK(parse_duration("1.5s", &ns) == 0 && ns == 1500000000ull);
    CHECK(parse_duration("3", &ns) == 0 && ns == 3000000000ull);
    CHECK(parse_duration("250us", &ns) == 0 && ns == 250000ull);
    /* compound, as the shapes take them */
    CHECK(parse_duration("1m30s", &ns) == 0 && ns == 90000000000ull);
    CHECK(parse_duration("1h30m", &ns) == 0 && ns == 5400000000000ull);
    CHECK(parse_duration("1s500ms", &ns) == 0 && ns == 1500000000ull);
    CHECK(parse_duration("1m30", &ns) == -1);  /* a bare number only alone */
    CHECK(parse_duration("1s 5ms", &ns) == -1);
    CHECK(parse_duration("", &ns) == -1);
    CHECK(parse_duration("s", &ns) == -1);
    CHECK(parse_duration("10x", &ns) == -1);
    CHECK(parse_duration("-1s", &ns) == -1);
    CHECK(parse_duration("1e30h", &ns) == -1);
    CHECK(parse_duration("nan", &ns) == -1);
    /* only decimals: strtod alone reads hex, infinity and leading blanks or signs */
    CHECK(parse_duration("0x10s", &ns) == -1);
    CHECK(parse_duration("inf", &ns) == -1);
    CHECK(parse_duration(" 1s", &ns) == -1);
    CHECK(parse_duration("+1s", &ns) == -1);
    CHECK(parse_duration(".5s", &ns) == 0 && ns == 500000000ull);
    CHECK(parse_duration("1e3ms", &ns) == 0 && ns == 1000000000ull);
    double r;
    CHECK(parse_rate("0x10", &r) == -1);
    CHECK(parse_rate("2.5k", &r) == 0 && r == 2500);
    CHECK(parse_mb_per_min("0x10MB/min", &r) == -1);
    CHECK(parse_mb_per_min("10MB/min", &r) == 0 && r == 10);
    CHECK(parse_mb_per_min("1e308GB/min", &r) == -1);  /* past DBL_MAX once scaled: was infinity */
    CHECK(parse_mb_per_min("1e300GB/h", &r) == 0 && r > 1.6e301 && r < 1.7e301);
}

static void counts(void)
{
    uint64_t v;
    CHECK(parse_count("100000", &v) == 0 && v == 100000);
    CHECK(parse_count("10k", &v) == 0 && v == 10000);
    CHECK(parse_count("2M", &v) == 0 && v == 2000000);
    CHECK(parse_count("", &v) == -1);
    CHECK(parse_count("-5", &v) == -1);
    CHECK(parse_count("12q", &v) == -1);
    CHECK(parse_count("99999999999999999999999", &v) == -1);
}

static void urls(void)
{
    struct url u;
    char err[256];
    CHECK(url_parse("http://127.0.0.1:8080/path?q=1", &u, err, sizeof(err)) == 0);
    CHECK(!strcmp(u.host, "127.0.0.1") && u.port == 8080 && !strcmp(u.path, "/path?q=1"));
    CHECK(url_parse("http://example.com", &u, err, sizeof(err)) == 0);
    CHECK(u.port == 80 && !strcmp(u.path, "/"));
    CHECK(url_parse("http://[::1]:81/x#frag", &u, err, sizeof(err)) == 0);
    CHECK(!strcmp(u.host, "::1") && u.port == 81 && u.ipv6_literal && !strcmp(u.path, "/x") && !u.zone[0]);
    /* a zone (RFC 6874 "%25", or curl's bare '%'): kept apart, so that Host never has it */
    CHECK(url_parse("http://[fe80::1%25eth0]:81/", &u, err, sizeof(err)) == 0);
    CHECK(!strcmp(u.host, "fe80::1") && !strcmp(u.zone, "eth0") && u.port == 81);
    CHECK(url_parse("http://[fe80::1%lo]/", &u, err, sizeof(err)) == 0);
    CHECK(!strcmp(u.host, "fe80::1") && !strcmp(u.zone, "lo") && u.port == 80);
    CHECK(url_parse("http://[fe80::1%25]/", &u, err, sizeof(err)) == -1 && strstr(err, "invalid IPv6 zone"));
    CHECK(url_parse("http://[fe80::1%25a%25b]/", &u, err, sizeof(err)) == -1 && strstr(err, "'%' in the IPv6 zone"));
    CHECK(url_parse("http://h?x=1", &u, err, sizeof(err)) == 0 && !strcmp(u.path, "/?x=1"));
    CHECK(url_parse("https://127.0.0.1/", &u, err, sizeof(err)) == 0);
    CHECK(u.tls && u.port == 443 && !strcmp(u.scheme, "https"));
    CHECK(url_parse("HTTPS://h:8443/x", &u, err, sizeof(err)) == 0 && u.tls && u.port == 8443);
    CHECK(url_parse("http://h/", &u, err, sizeof(err)) == 0 && !u.tls && u.port == 80);
    CHECK(url_parse("ftp://h/", &u, err, sizeof(err)) == -1 && strstr(err, "scheme"));
    CHECK(url_parse("127.0.0.1:80", &u, err, sizeof(err)) == -1);
    CHECK(url_parse("http://:80/", &u, err, sizeof(err)) == -1 && strstr(err, "no host"));
    /* an IPv6 address without its brackets: not "no host" or "invalid port 'db8::1'" */
    CHECK(url_parse("http://::1:8080/", &u, err, sizeof(err)) == -1 && strstr(err, "goes in brackets"));
    CHECK(url_parse("http://2001:db8::1/x", &u, err, sizeof(err)) == -1 && strstr(err, "goes in brackets"));
    CHECK(url_parse("http://h:80:80/", &u, err, sizeof(err)) == -1 && strstr(err, "invalid port '80:80'"));
    CHECK(url_parse("http://1.2.3.4:80:1/", &u, err, sizeof(err)) == -1 && strstr(err, "invalid port '80:1'"));
    CHECK(url_parse("http://h:99999/", &u, err, sizeof(err)) == -1 && strstr(err, "port"));
    CHECK(url_parse("http://h:0/", &u, err, sizeof(err)) == -1);
    CHECK(url_parse("http://h:/", &u, err, sizeof(err)) == -1);
    CHECK(url_parse("http://h/a b", &u, err, sizeof(err)) == -1);
    CHECK(url_parse("http://[::1/", &u, err, sizeof(err)) == -1);
    CHECK(url_parse("http://[127.0.0.1]:80/", &u, err, sizeof(err)) == -1 && strstr(err, "holds no IPv6 address"));
    CHECK(url_parse("http://[]/", &u, err, sizeof(err)) == -1);
    /* one line even when the URL holds a newline (it is quoted in the message) */
    CHECK(url_parse("h\n", &u, err, sizeof(err)) == -1 && !strchr(err, '\n') && strstr(err, "'h?'"));
    CHECK(url_parse("http://h/a\nb", &u, err, sizeof(err)) == -1 && !strchr(err, '\n'));
    CHECK(url_parse("ht\ntp://h/", &u, err, sizeof(err)) == -1 && !strchr(err, '\n'));
    /* an unsupported scheme is not parsed further: everything up to the last '@' is hidden */
    CHECK(url_parse("user:s3cret@host/x", &u, err, sizeof(err)) == -1 && !strstr(err, "s3cret") &&
          strstr(err, "'****@host/x'"));
    CHECK(url_parse("ftp:/u:s3cret@h", &u, err, sizeof(err)) == -1 && !strstr(err, "s3cret"));
    CHECK(url_parse("ftp://u:pa/ss@h/x", &u, err, sizeof(err)) == -1 && !strstr(err, "ss") && strstr(err, "@h/x") &&
          strstr(err, "unsupported scheme 'ftp'"));
    /* a password with an unencoded '@' still parses (up to the last '@'); one with a '/',
     * '?' or '#' cannot, and its error shows none of it */
    CHECK(url_parse("http://admin:p@ss@127.0.0.1:8080/x", &u, err, sizeof(err)) == 0 && u.port == 8080 &&
          !strcmp(u.host, "127.0.0.1") && !strcmp(u.path, "/x"));
    const char *cut[] = {"http://admin:sek/rit@127.0.0.1:1/", "http://admin:sek?rit@127.0.0.1:1/", "http://admin:sek#rit@h/"};
    for (unsigned i = 0; i < 3; i++) {
        CHECK(url_parse(cut[i], &u, err, sizeof(err)) == -1 && strstr(err, "percent-encode"));
        CHECK(!strstr(err, "sek") && !strstr(err, "rit"));
    }
    char shown[128];
    CHECK(!strcmp(secret_mask_url("http://admin:p@ss@h:1/x", shown, sizeof(shown)), "http://****@h:1/x"));
    /* a port that is digits is a port: no password to hide */
    CHECK(url_parse("http://h:99999/users/@me", &u, err, sizeof(err)) == -1 && strstr(err, "'99999'"));
}

static void status_lists(void)
{
    bool ok[600];
    CHECK(parse_status_list("200-299,404", ok) == 0);
    CHECK(ok[200] && ok[250] && ok[299] && ok[404] && !ok[300] && !ok[199] && !ok[403] && !ok[500]);
    CHECK(parse_status_list("503", ok) == 0 && ok[503] && !ok[200]);
    CHECK(parse_status_list("", ok) == -1);
    CHECK(parse_status_list("99", ok) == -1);
    CHECK(parse_status_list("200-", ok) == -1);
    CHECK(parse_status_list("300-200", ok) == -1);
    CHECK(parse_status_list("200,,300", ok) == -1);
    CHECK(parse_status_list("200-600", ok) == -1);
    CHECK(parse_status_list("2xx", ok) == -1);
}

static enum cli_result parse(struct plan *p, char *err, const char *const *args)
{
    int argc = 0;
    char *argv[64];
    argv[argc++] = "barrage";
    for (; *args; args++) argv[argc++] = (char *)*args;
    argv[argc] = NULL;
    return cli_parse(p, argc, argv, err, 512);
}

/* A command line that must be refused, and what the message must say. */
struct bad_case {
    const char *args[8];
    const char *want;
};

/* Each case: CLI_EXIT_USAGE with one line containing `want`. */
static void expect_refused(const struct bad_case *bad, size_t n)
{
    struct plan p;
    char err[512];
    for (size_t i = 0; i < n; i++) {
        err[0] = 0;
        enum cli_result r = parse(&p, err, bad[i].args);
        CHECK(r == CLI_EXIT_USAGE);
        if (!strstr(err, bad[i].want)) printf("  case %zu: message '%s' lacks '%s'\n", i, err, bad[i].want);
        CHECK(strstr(err, bad[i].want) != NULL);
        CHECK(strchr(err, '\n') == NULL);
        plan_free(&p);
    }
}

static void flags(void)
{
    struct plan p;
    char err[512];
    const char *ok[] = {"-c", "100", "-t", "2", "-d", "2s", "--pipeline", "4", "-H", "X-A: 1", "-m", "POST",
                        "-b", "{\"a\":1}", "--timeout", "500ms", "--json", "/tmp/x.json", "-q",
                        "http://127.0.0.1:9/api", NULL};
    CHECK(parse(&p, err, ok) == CLI_RUN);
    CHECK(p.connections == 100 && p.threads == 2 && p.duration_ns == 2000000000ull && p.pipeline == 4);
    CHECK(p.nheaders == 1 && !strcmp(p.method, "POST") && p.body_len == 7 && p.timeout_ns == 500000000ull);
    CHECK(p.quiet && p.json_path && !strcmp(p.json_path, "/tmp/x.json"));
    CHECK(p.status_ok[200] && p.status_ok[399] && !p.status_ok[400] && !p.status_ok[503]);
    plan_free(&p);

    const char *expect[] = {"--expect-status", "200,404", "http://127.0.0.1:9/", NULL};
    CHECK(parse(&p, err, expect) == CLI_RUN);
    CHECK(p.status_ok[404] && p.status_ok[200] && !p.status_ok[301]);
    plan_free(&p);

    const char *secret[] = {"http://admin:hunter2@127.0.0.1:9/x?y=1", NULL};
    CHECK(parse(&p, err, secret) == CLI_RUN);
    CHECK(!strcmp(p.url_text, "http://****@127.0.0.1:9/x?y=1"));
    CHECK(!strcmp(p.url.host, "127.0.0.1") && p.url.port == 9);
    plan_free(&p);

    const char *wrk_latency[] = {"--latency", "-c", "2", "http://127.0.0.1:9/", NULL};  /* wrk's; a no-op */
    CHECK(parse(&p, err, wrk_latency) == CLI_RUN && p.connections == 2);
    plan_free(&p);

    const char *count_only[] = {"-n", "1000", "http://127.0.0.1:9/", NULL};
    CHECK(parse(&p, err, count_only) == CLI_RUN);
    CHECK(p.max_requests == 1000 && p.duration_ns == 0);
    plan_free(&p);

    const char *token_method[] = {"-m", "M-SEARCH2.0", "http://127.0.0.1:9/", NULL};  /* any RFC 9110 token */
    CHECK(parse(&p, err, token_method) == CLI_RUN && !strcmp(p.method, "M-SEARCH2.0"));
    plan_free(&p);
    const char *nokeep[] = {"--no-keepalive", "--pipeline", "8", "http://127.0.0.1:9/", NULL};
    CHECK(parse(&p, err, nokeep) == CLI_RUN);
    CHECK(!p.keepalive && p.requests_per_conn == 1 && p.pipeline == 1);
    plan_free(&p);

    static const struct bad_case bad[] = {
        {{"-c", "0", "http://h/"}, "-c/--connections: invalid value '0'"},
        {{"-c", "abc", "http://h/"}, "'abc'"},
        {{"-d", "10parsecs", "http://h/"}, "-d/--duration"},
        {{"--timeout", "x", "http://h/"}, "--timeout"},
        {{"-H", "NoColon", "http://h/"}, "-H/--header"},
        {{"--bogus", "http://h/"}, "unknown option '--bogus'"},
        {{"-c"}, "needs a value"},
        {{"-c", "1"}, "no URL"},
        {{"http://h/", "extra"}, "unexpected argument 'extra'"},
        {{"--insecure", "http://h/"}, "--insecure applies to https://"},
        {{"--tls-min", "1.1", "https://h/"}, "--tls-min: '1.1' is not 1.2 or 1.3"},
        {{"--tls-min", "1.3", "--tls-max", "1.2", "https://h/"}, "above --tls-max"},
        {{"--cacert", "x.pem", "http://h/"}, "--cacert applies"},
        {{"--body-file", "/nonexistent/file", "http://h/"}, "--body-file"},
        {{"-m", "get me", "http://h/"}, "-m/--method: invalid value 'get me' (has ' ', which a method (an RFC 9110 token) cannot have)"},
        {{"-m", "GET\x01", "http://h/"}, "(has byte 0x01, which"},
        {{"-m", "get", "http://h/"}, "(methods are case-sensitive: did you mean GET?)"},
        {{"-m", "", "http://h/"}, "-m/--method: invalid value '' (empty)"},
        {{"--expect-status", "2xx", "http://h/"}, "--expect-status: invalid value '2xx'"},
    };
    expect_refused(bad, sizeof(bad) / sizeof(bad[0]));
}

/* -R, shapes, --find-limit: how they combine (engine/load_model.c). */
static void load_models(void)
{
    struct plan p;
    char err[512];
    const char *rate[] = {"-R", "0.5", "-d", "4s", "http://127.0.0.1:9/", NULL};
    CHECK(parse(&p, err, rate) == CLI_RUN);
    CHECK(p.open_loop && !p.shaped && p.rate == 0.5 && p.shape.total_s == 4);
    CHECK(shape_area(&p.shape, 4) == 2);  /* the schedule: 2 requests in 4 s */
    plan_free(&p);

    const char *users[] = {"--stages", "10s:100", "--stage", "20s:100", "http://127.0.0.1:9/", NULL};
    CHECK(parse(&p, err, users) == CLI_RUN);
    CHECK(!p.open_loop && p.shaped && p.connections == 100 && p.duration_ns == 30000000000ull);
    CHECK(shape_value(&p.shape, 5) == 50);
    plan_free(&p);

    const char *open[] = {"--open", "--shape", "ramp,to=1000,over=10s", "-d", "20s", "http://127.0.0.1:9/", NULL};
    CHECK(parse(&p, err, open) == CLI_RUN);
    CHECK(p.open_loop && p.shaped && p.connections == 10 && p.duration_ns == 20000000000ull);
    plan_free(&p);

    const char *locust[] = {"--users", "50", "--spawn-rate", "10", "--run-time", "1m", "http://127.0.0.1:9/", NULL};
    CHECK(parse(&p, err, locust) == CLI_RUN);
    CHECK(p.connections == 50 && p.duration_ns == 60000000000ull && fabs(shape_value(&p.shape, 2) - 21) < 1e-9);  /* 1 at once, then 10/s */
    plan_free(&p);

    const char *limit[] = {"--find-limit", "--slo", "p99<100ms", "--step-duration", "2s", "http://127.0.0.1:9/", NULL};
    CHECK(parse(&p, err, limit) == CLI_RUN);
    CHECK(p.find_limit && p.slo.n == 1 && p.step_ns == 2000000000ull);
    plan_free(&p);
    /* --slo again adds its conditions (the last one alone was kept) */
    const char *two[] = {"--find-limit", "--slo", "p99<1ms", "--slo", "errors<1%,rps>10", "http://127.0.0.1:9/", NULL};
    CHECK(parse(&p, err, two) == CLI_RUN);
    CHECK(p.slo.n == 3 && !strcmp(p.slo.cond[0].text, "p99<1ms") && !strcmp(p.slo.cond[2].text, "rps>10"));
    plan_free(&p);

    /* a scenario: each step sets the arrival rate or the users; the pool is sized per step */
    const char *scn[] = {"--find-limit", "-s", "shop.yaml", "--closed", "--share-connections", NULL};
    CHECK(parse(&p, err, scn) == CLI_RUN);
    CHECK(p.find_limit && p.limit_closed && p.scenario_file && p.share_connections && p.pool == 0 && !p.open_loop);
    plan_free(&p);

    static const struct bad_case bad[] = {
        {{"-R", "0", "http://h/"}, "-R/--rate: invalid value '0'"},
        {{"--sni", "a b", "https://h/"}, "--sni: 'a b' is not a host name"},
        {{"-R", "fast", "http://h/"}, "-R/--rate"},
        {{"-R", "100", "--stages", "1s:10", "http://h/"}, "--open"},
        {{"--open", "http://h/"}, "--open needs"},
        {{"--stages", "1s:10", "-c", "5", "http://h/"}, "-c and --stages"},
        {{"--stages", "1s:10", "--shape", "constant,value=3", "http://h/"}, "use one"},
        {{"-R", "10", "--pipeline", "4", "http://h/"}, "--pipeline"},
        {{"--arrival", "bursty", "-R", "1", "http://h/"}, "--arrival"},
        {{"--arrival", "poisson", "http://h/"}, "open loop"},
        {{"--spawn-rate", "5", "http://h/"}, "needs --users"},
        {{"--find-limit", "-d", "5s", "http://h/"}, "--find-limit"},
        {{"--closed", "http://h/"}, "--closed only applies"},
        {{"--find-limit", "--closed", "-c", "5", "http://h/"}, "-c: --closed steps the number of users"},
        {{"--find-limit", "--closed", "--arrival", "poisson", "http://h/"}, "--arrival applies to open loop"},
        {{"--find-limit", "--closed", "--max-queue", "9", "http://h/"}, "--max-queue applies to open loop"},
        {{"--stages", "1s:0", "http://h/"}, "never reaches one user"},
    };
    expect_refused(bad, sizeof(bad) / sizeof(bad[0]));
}

static void tls_flags(void)
{
    struct plan p;
    char err[512];
    const char *ok[] = {"--insecure", "--sni", "api.example", "--tls-min", "1.2", "--tls-max", "1.3", "--no-resume",
                        "--ciphers", "TLS_AES_128_GCM_SHA256", "https://127.0.0.1:8443/", NULL};
    CHECK(parse(&p, err, ok) == CLI_RUN);
    CHECK(p.url.tls && p.tls.insecure && !strcmp(p.tls.sni, "api.example") && !p.tls.resume);
    CHECK(p.tls.min_version == TLS_V1_2 && p.tls.max_version == TLS_V1_3 && p.tls.ciphers);
    plan_free(&p);
    const char *dflt[] = {"https://127.0.0.1/", NULL};
    CHECK(parse(&p, err, dflt) == CLI_RUN);
    CHECK(p.tls.resume && !p.tls.insecure && p.url.port == 443);
    plan_free(&p);
}

static void request_bytes(void)
{
    struct plan p;
    char err[512];
    const char *args[] = {"-m", "POST", "-H", "Content-Type: application/json", "-b", "{\"a\":1}",
                          "--pipeline", "3", "http://127.0.0.1:8080/api?x=1", NULL};
    CHECK(parse(&p, err, args) == CLI_RUN);
    CHECK(plan_prepare(&p, err, sizeof(err)) == 0);
    const char *want = "POST /api?x=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: barrage/" BARRAGE_VERSION
                       "\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"a\":1}";
    CHECK_EQ_U(p.request_len, strlen(want));
    CHECK(memcmp(p.request, want, strlen(want)) == 0);
    /* pipeline copies back to back */
    CHECK(memcmp(p.request + 2 * p.request_len, want, strlen(want)) == 0);
    CHECK(p.spread_sources);
    plan_free(&p);

    const char *close_args[] = {"-H", "Connection: close", "-m", "HEAD", "http://localhost:81/", NULL};
    CHECK(parse(&p, err, close_args) == CLI_RUN);
    CHECK(plan_prepare(&p, err, sizeof(err)) == 0);
    CHECK(!p.keepalive && p.requests_per_conn == 1 && p.no_body_response);
    CHECK(strstr(p.request, "Connection: close\r\n") && !strstr(p.request, "Content-Length"));
    plan_free(&p);
    /* --no-keepalive with another Connection token still tells the server it closes */
    const char *upgrade_args[] = {"--no-keepalive", "-H", "Connection: Upgrade", "http://127.0.0.1:81/", NULL};
    CHECK(parse(&p, err, upgrade_args) == CLI_RUN);
    CHECK(plan_prepare(&p, err, sizeof(err)) == 0);
    CHECK(strstr(p.request, "Connection: Upgrade\r\nConnection: close\r\n") != NULL);
    plan_free(&p);
    /* an IPv6 zone is for connecting only: Host has the address alone (RFC 6874) */
    const char *zone_args[] = {"http://[::1%251]:81/", NULL};
    CHECK(parse(&p, err, zone_args) == CLI_RUN);
    CHECK(plan_prepare(&p, err, sizeof(err)) == 0);
    CHECK(strstr(p.request, "\r\nHost: [::1]:81\r\n") != NULL);
    CHECK(p.addr.ss_family == AF_INET6 && ((struct sockaddr_in6 *)&p.addr)->sin6_scope_id == 1);
    plan_free(&p);
    /* loopback sockets use Reno unless BARRAGE_TCP_CC=default; other values are refused */
    const char *lo_args[] = {"http://127.0.0.1:81/", NULL};
    CHECK(parse(&p, err, lo_args) == CLI_RUN);
    CHECK(plan_prepare(&p, err, sizeof(err)) == 0 && p.loopback_reno);
    plan_free(&p);
    setenv("BARRAGE_TCP_CC", "default", 1);
    CHECK(parse(&p, err, lo_args) == CLI_RUN);
    CHECK(plan_prepare(&p, err, sizeof(err)) == 0 && !p.loopback_reno);
    plan_free(&p);
    setenv("BARRAGE_TCP_CC", "bbr", 1);
    CHECK(parse(&p, err, lo_args) == CLI_RUN);
    CHECK(plan_prepare(&p, err, sizeof(err)) == -1 && strstr(err, "BARRAGE_TCP_CC='bbr'"));
    plan_free(&p);
    unsetenv("BARRAGE_TCP_CC");
    const char *link_local[] = {"http://[fe80::1]:81/", NULL};
    CHECK(parse(&p, err, link_local) == CLI_RUN);
    CHECK(plan_prepare(&p, err, sizeof(err)) == -1 && strstr(err, "link-local: name its interface"));
    plan_free(&p);
    /* as curl: 'Name:' leaves the header out (barrage's own too), 'Name;' sends it empty */
    const char *drop_args[] = {"-H", "User-Agent:", "-H", "Host: \t", "-H", "X-Empty;", "-H", "Accept:",
                               "http://127.0.0.1:81/", NULL};
    CHECK(parse(&p, err, drop_args) == CLI_RUN);
    CHECK(plan_prepare(&p, err, sizeof(err)) == 0);
    const char *dropped = "GET / HTTP/1.1\r\nX-Empty:\r\n\r\n";
    CHECK_EQ_U(p.request_len, strlen(dropped));
    CHECK(memcmp(p.request, dropped, strlen(dropped)) == 0);
    plan_free(&p);
    /* the removal form of the headers barrage frames itself, and of Connection, is taken */
    const char *drop_framing[] = {"-H", "Content-Length:", "-H", "Transfer-Encoding:", "-H", "Connection:",
                                  "--no-keepalive", "http://127.0.0.1:81/", NULL};
    CHECK(parse(&p, err, drop_framing) == CLI_RUN);
    CHECK(plan_prepare(&p, err, sizeof(err)) == 0);
    CHECK(!strstr(p.request, "Connection") && !strstr(p.request, "Transfer-Encoding") && !p.keepalive);
    plan_free(&p);
    const char *cl_both[] = {"-H", "Content-Length:", "-H", "Content-Length: 5", "http://127.0.0.1:81/", NULL};
    CHECK(parse(&p, err, cl_both) == CLI_RUN);
    CHECK(plan_prepare(&p, err, sizeof(err)) == -1 && strstr(err, "barrage sets it from the body"));
    plan_free(&p);
    const char *semi_bad[] = {"-H", ";", "http://127.0.0.1:81/", NULL};
    CHECK(parse(&p, err, semi_bad) == CLI_EXIT_USAGE && strstr(err, "'Name: value'"));
    plan_free(&p);
    const char *semi_bad2[] = {"-H", "X Y;", "http://127.0.0.1:81/", NULL};
    CHECK(parse(&p, err, semi_bad2) == CLI_EXIT_USAGE && strstr(err, "name with a character"));
    plan_free(&p);

    /* a header line of any length, as a scenario's (a large cookie or token): the quick
     * mode's lines were cut at 8 KiB, "request too large to build, or out of memory" */
    size_t big_len = 20000;
    char *big = malloc(big_len + 1);
    CHECK(big != NULL);
    memcpy(big, "Cookie: c=", 10);
    memset(big + 10, 'v', big_len - 10);
    big[big_len] = 0;
    const char *big_args[] = {"-H", big, "http://127.0.0.1:8080/", NULL};
    CHECK(parse(&p, err, big_args) == CLI_RUN);
    CHECK(plan_prepare(&p, err, sizeof(err)) == 0);
    CHECK(p.request && p.request_len > big_len);
    CHECK(p.request && strstr(p.request, big) && strstr(p.request, "\r\n\r\n"));
    plan_free(&p);
    free(big);

    const char *cl[] = {"-H", "Content-Length: 5", "http://127.0.0.1/", NULL};
    CHECK(parse(&p, err, cl) == CLI_RUN);
    CHECK(plan_prepare(&p, err, sizeof(err)) == -1 && strstr(err, "Content-Length"));
    plan_free(&p);

    const char *unresolvable[] = {"http://no-such-host.invalid/", NULL};
    CHECK(parse(&p, err, unresolvable) == CLI_RUN);
    CHECK(plan_prepare(&p, err, sizeof(err)) == -1 && strstr(err, "no-such-host.invalid"));
    plan_free(&p);
}

/* The quick mode is a one-step program (quick_program.c): one class, one task, one
 * static step named "METHOD path" with --expect-status and --timeout, and the bytes the
 * workers send are that step rendered. A scenario file whose one step is static gets the
 * same pre-rendered, pipelined path; any other refuses --pipeline. */
static void quick_mode_is_a_program(void)
{
    struct plan p;
    char err[512];
    const char *args[] = {"-m", "PUT", "--expect-status", "200-299,404", "--timeout", "3s", "-b", "x",
                          "http://127.0.0.1:8080/a", NULL};
    CHECK(parse(&p, err, args) == CLI_RUN);
    CHECK(plan_prepare(&p, err, sizeof(err)) == 0);
    const struct scenario *s = p.scenario;
    CHECK(s && !s->file && s->nclasses == 1 && s->classes[0].ntasks == 1 && s->classes[0].tasks[0].nsteps == 1);
    CHECK(s->static_only && p.static_program && s->nstats == 1 && !strcmp(s->stat_names[0], "PUT /a"));
    const struct scn_step *st = &s->classes[0].tasks[0].steps[0];
    CHECK(!strcmp(st->status_text, "200-299,404") && st->timeout_ns == 3000000000ull && st->idempotent);
    CHECK((st->status_ok[404 / 64] >> (404 % 64) & 1) && !(st->status_ok[300 / 64] >> (300 % 64) & 1));
    CHECK(p.status_ok[204] && p.status_ok[404] && !p.status_ok[302] && !p.status_ok[500]);
    const char *want = "PUT /a HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: barrage/" BARRAGE_VERSION
                       "\r\nContent-Length: 1\r\n\r\nx";
    CHECK(p.request_len == strlen(want) && !memcmp(p.request, want, p.request_len));
    plan_free(&p);

    char dir[] = "/tmp/test_cli.XXXXXX", path[64], dyn[64];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/static.yaml", dir);
    snprintf(dyn, sizeof(dyn), "%s/dynamic.yaml", dir);
    FILE *f = fopen(path, "w");
    fputs("target: http://127.0.0.1:8080\nusers:\n  - name: u\n    tasks:\n      - get: /s\n", f);
    fclose(f);
    f = fopen(dyn, "w");
    fputs("target: http://127.0.0.1:8080\nusers:\n  - name: u\n    tasks:\n      - get: /s?n=${seq}\n", f);
    fclose(f);
    const char *stat_args[] = {"-s", path, "--pipeline", "4", NULL};
    CHECK(parse(&p, err, stat_args) == CLI_RUN);
    CHECK(plan_prepare(&p, err, sizeof(err)) == 0);
    CHECK(p.static_program && p.pipeline == 4 && p.request_len > 0);
    CHECK(!strncmp(p.request, "GET /s HTTP/1.1\r\n", 17) && !memcmp(p.request + 3 * p.request_len, "GET /s ", 7));
    plan_free(&p);
    const char *dyn_args[] = {"-s", dyn, "--pipeline", "4", NULL};
    CHECK(parse(&p, err, dyn_args) == CLI_RUN);
    CHECK(plan_prepare(&p, err, sizeof(err)) == -1 && strstr(err, "--pipeline") && strstr(err, "dynamic.yaml"));
    plan_free(&p);
    const char *dyn1[] = {"-s", dyn, NULL};
    CHECK(parse(&p, err, dyn1) == CLI_RUN);
    CHECK(plan_prepare(&p, err, sizeof(err)) == 0 && !p.static_program && !p.request);
    plan_free(&p);
    unlink(path);
    unlink(dyn);
    rmdir(dir);
}

/* --tags, --exclude-tags, --user: a list's names lose the spaces around them ("read, write"
 * kept only read); an empty name, too many, or the flag given twice is refused (the last one
 * silently won, and ",", "read," were taken as no selection at all). */
static void scenario_selection(void)
{
    char dir[] = "/tmp/test_cli.XXXXXX", path[64], err[512];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/tags.yaml", dir);
    FILE *f = fopen(path, "w");
    fputs("target: http://127.0.0.1:8080\nusers:\n  - name: u\n    tasks:\n"
          "      - { get: /r, tags: read }\n      - { get: /w, tags: write }\n      - { get: /n }\n", f);
    fclose(f);
    struct plan p;
    const char *spaced[] = {"-s", path, "--tags", " read, write ", NULL};
    CHECK(parse(&p, err, spaced) == CLI_RUN);
    CHECK(plan_prepare(&p, err, sizeof(err)) == 0);
    CHECK(p.scenario && p.scenario->nclasses == 1 && p.scenario->classes[0].ntasks == 2);
    plan_free(&p);
    const char *ex[] = {"-s", path, "--exclude-tags", "read ,\twrite", NULL};
    CHECK(parse(&p, err, ex) == CLI_RUN);
    CHECK(plan_prepare(&p, err, sizeof(err)) == 0);
    CHECK(p.scenario && p.scenario->nclasses == 1 && p.scenario->classes[0].ntasks == 1);
    plan_free(&p);
    char many[400];
    int n = 0;
    for (int i = 0; i < 65; i++) n += snprintf(many + n, sizeof(many) - (size_t)n, "%st%d", i ? "," : "", i);
    const struct bad_case bad[] = {
        {{"-s", path, "--tags", ",", NULL}, "--tags: ',' has an empty tag (tags are separated by commas: a,b)"},
        {{"-s", path, "--tags", "read,", NULL}, "--tags: 'read,' has an empty tag"},
        {{"-s", path, "--exclude-tags", "a,,b", NULL}, "--exclude-tags: 'a,,b' has an empty tag"},
        {{"-s", path, "--tags", " ", NULL}, "has an empty tag"},
        {{"-s", path, "--tags", many, NULL}, "has more than 64 tags"},
        {{"-s", path, "--tags", "read", "--tags", "write", NULL}, "--tags: given twice (one list: a,b)"},
        {{"-s", path, "--exclude-tags", "a", "--exclude-tags", "b", NULL}, "--exclude-tags: given twice"},
        {{"-s", path, "--user", "u", "--user", "v", NULL}, "--user: given twice (one user class)"},
    };
    expect_refused(bad, sizeof(bad) / sizeof(bad[0]));
    unlink(path);
    rmdir(dir);
}

/* A name on both families ("localhost" on most systems) loads the address a server listens
 * on: IPv4 first, but a server on ::1 alone is found too, as curl and wrk find it. */
static void address_pick(void)
{
    /* 127.0.0.1:P bound, not listening (refuses); [::1]:Q listening */
    struct sockaddr_in v4 = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct sockaddr_in6 v6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    socklen_t l4 = sizeof(v4), l6 = sizeof(v6);
    int closed = socket(AF_INET, SOCK_STREAM, 0), open6 = socket(AF_INET6, SOCK_STREAM, 0);
    if (closed < 0 || open6 < 0 || bind(closed, (struct sockaddr *)&v4, l4) || bind(open6, (struct sockaddr *)&v6, l6) ||
        listen(open6, 4) || getsockname(closed, (struct sockaddr *)&v4, &l4) ||
        getsockname(open6, (struct sockaddr *)&v6, &l6)) {
        printf("  (no IPv6 loopback here: skipped)\n");
        if (closed >= 0) close(closed);
        if (open6 >= 0) close(open6);
        return;
    }
    struct addrinfo a6 = {.ai_family = AF_INET6, .ai_socktype = SOCK_STREAM, .ai_addr = (struct sockaddr *)&v6,
                          .ai_addrlen = l6};
    struct addrinfo a4 = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM, .ai_addr = (struct sockaddr *)&v4,
                          .ai_addrlen = l4, .ai_next = &a6};
    CHECK(plan_pick_address(&a4, 1000) == &a6);  /* 127.0.0.1 refuses: ::1 */
    a4.ai_next = NULL;
    a6.ai_next = &a4;
    CHECK(plan_pick_address(&a6, 1000) == &a6);  /* the resolver's ::1 first */
    CHECK(plan_pick_address(&a4, 1000) == &a4);  /* one address: that one, even refusing */
    listen(closed, 4);
    CHECK(plan_pick_address(&a6, 1000) == &a4);  /* both listen: IPv4 first */
    close(closed);
    close(open6);
}

int main(void)
{
    RUN(durations);
    RUN(counts);
    RUN(urls);
    RUN(address_pick);
    RUN(status_lists);
    RUN(flags);
    RUN(load_models);
    RUN(tls_flags);
    RUN(request_bytes);
    RUN(quick_mode_is_a_program);
    RUN(scenario_selection);
    CHECK_EXIT();
}
