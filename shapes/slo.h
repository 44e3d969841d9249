/* SLO / threshold expressions (k6 style): "p99<100ms, errors<1%, rps>=5000".
 *
 * A list of comma-separated conditions METRIC OP VALUE, spaces allowed around each token:
 *   METRIC  pNN or pNN.N… with 0 < NN <= 100 (also k6's p(99.9)), min, max, mean (or avg):
 *           latency, VALUE is a duration: 250us, 100ms, 1.5s; a bare number is ms.
 *           errors: failed / issued, VALUE a percentage (1%) or a fraction (0.01).
 *           rps: achieved requests per second, VALUE a number (5000 or 5k).
 *           server_cpu: the watched process's mean CPU over the run (--watch-pid), VALUE a
 *           percentage where 100% is one core (80%, 250%).
 *           server_rss_growth: its resident memory at the end minus at the start, VALUE a
 *           size: 500KB, 100MB, 1.5GB (10^3 steps; KiB, MiB, GiB too).
 *   OP      <  <=  >  >=
 * Numbers are plain decimals (no sign, exponent, inf or nan).
 *
 * Pure logic: no I/O, no allocation. The caller owns every struct. */
#ifndef BARRAGE_SLO_H
#define BARRAGE_SLO_H

#include <stdbool.h>
#include <stddef.h>

#define SLO_MAX_CONDS 16
#define SLO_TEXT_LEN 64 /* a condition as written, NUL included */

enum slo_metric { SLO_QUANTILE, SLO_MIN, SLO_MAX, SLO_MEAN, SLO_ERRORS, SLO_RPS, SLO_SERVER_CPU, SLO_SERVER_RSS_GROWTH };
#define SLO_METRIC_LAST SLO_SERVER_RSS_GROWTH

/* server_cpu and server_rss_growth: measured on the --watch-pid processes, not on requests. */
static inline bool slo_metric_is_server(enum slo_metric m) { return m == SLO_SERVER_CPU || m == SLO_SERVER_RSS_GROWTH; }
enum slo_op { SLO_LT, SLO_LE, SLO_GT, SLO_GE };

struct slo_cond {
    enum slo_metric metric;
    enum slo_op op;
    double quantile;          /* in (0, 1] for SLO_QUANTILE, else 0 */
    double value;             /* µs for latency, a fraction for errors, req/s for rps, a
                                 percentage for server_cpu (100 = one core), MB (10^6 bytes)
                                 for server_rss_growth */
    char text[SLO_TEXT_LEN];  /* the condition as written, trimmed, for reports */
};

struct slo {
    struct slo_cond cond[SLO_MAX_CONDS];
    unsigned n;
};

/* Parses text into s. Returns 0, or -1 with s->n == 0 and one line in err such as
 * "--slo: 'p99<abc': expected a duration such as 100ms" (flag names the option). */
int slo_parse(struct slo *s, const char *text, const char *flag, char *err, size_t errlen);

/* What one run measured. quantile_us(ctx, q) gives the latency at quantile q in µs. A value
 * that is not available (no responses, quantile_us NULL) should be NaN: it fails every
 * condition on it. */
struct slo_measure {
    double (*quantile_us)(const void *ctx, double q);
    const void *ctx;
    double min_us, max_us, mean_us;
    double error_rate; /* failed / issued, 0..1 */
    double rps;        /* achieved requests per second */
    double server_cpu_pct;       /* --watch-pid: mean CPU, 100 = one core (NaN without) */
    double server_rss_growth_mb; /* --watch-pid: RSS end - start, MB (NaN without) */
};

/* Evaluates every condition. measured[i] (if measured is not NULL) gets the value in the
 * condition's unit, passed[i] (if not NULL) whether it held. Returns true when all held. */
bool slo_eval(const struct slo *s, const struct slo_measure *m, double measured[], bool passed[]);

/* v in c's unit as text: "850us", "123.4ms", "2.5s", "0.52%", "5012 req/s", "45.2%" (CPU),
 * "12.3MB", "1.25GB"; "n/a" for NaN. */
void slo_format_value(const struct slo_cond *c, double v, char *buf, size_t len);

/* "<", "<=", ">", ">=". */
const char *slo_op_str(enum slo_op op);

#endif
