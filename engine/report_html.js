/* The --html report's charts (embedded by scripts/embed.sh, after dygraphs). The data is the
 * JSON block #barrage-data that report_html.c writes: per interval t (s), rps, errors, p50..max
 * (us), target, users, the watched servers' cpu/rss; dist: [1/(1-q), latency us] pairs. When
 * every chart has drawn, body[data-rendered] is "ok" (the tests look for it). */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("barrage-data").textContent);
  var charts = [];

  function ms(v) { return v > 0 ? v / 1000 : null; }  /* log axes: no zeros */
  function fmtMs(v) {
    if (v === null || v === undefined || isNaN(v)) return "";
    if (v === 0) return "0";
    // switch units where 3 digits would round up to the next one: never "1000ms"
    if (v < 0.9995) return Number((v * 1000).toPrecision(3)) + "\u00b5s";
    if (v < 999.5) return Number(v.toPrecision(3)) + "ms";
    return Number((v / 1000).toPrecision(3)) + "s";
  }
  function fmtNum(v) {
    if (v === null || v === undefined || isNaN(v)) return "";
    var a = Math.abs(v);
    if (a >= 1e6) return Number((v / 1e6).toPrecision(3)) + "M";
    if (a >= 1e4) return Number((v / 1e3).toPrecision(3)) + "k";
    return Number(v.toPrecision(4)).toString();
  }
  function fmtSec(v) { return Number(v.toFixed(2)) + "s"; }
  /* percentile of x = 1/(1-q): 1 -> 0%, 10 -> 90%, 1000 -> 99.9% */
  function fmtPct(x) {
    var d = Math.max(0, Math.min(6, Math.ceil(Math.log10(x) - 1e-9) - 2));
    return (100 - 100 / x).toFixed(d) + "%";
  }
  /* rows over the intervals: f(i) gives the values of interval i, after the time */
  function column(f) { return idx.map(function (i, k) { return [t[k]].concat(f(i)); }); }

  function empty(id, text) {
    var el = document.getElementById(id);
    el.className = "empty";
    el.style.height = "auto";
    el.textContent = text;
  }

  /* One chart: rows [[x, y1, y2..]], labels, options merged over the common ones. */
  function draw(id, rows, labels, opts) {
    var el = document.getElementById(id);
    if (!rows.length) { empty(id, "No intervals were recorded (the run was shorter than one interval)."); return; }
    var base = {
      labels: labels,
      labelsDiv: document.getElementById(id + "-legend"),
      legend: "always",
      labelsSeparateLines: false,
      xlabel: "seconds",
      strokeWidth: 2,
      gridLineColor: "#e6eaf0",
      axisLineColor: "#c9d2de",
      axisLabelFontSize: 12,
      highlightCircleSize: 3,
      stepPlot: true,
      connectSeparatedPoints: false,
      includeZero: true,
      axes: {
        x: { valueFormatter: fmtSec, axisLabelFormatter: function (v) { return fmtNum(v); }, pixelsPerLabel: 60 },
        y: { valueFormatter: fmtNum, axisLabelFormatter: fmtNum, axisLabelWidth: 56 }
      }
    };
    for (var k in opts) {
      if (k === "axes") {
        for (var a in opts.axes) {
          base.axes[a] = base.axes[a] || {};
          for (var o in opts.axes[a]) base.axes[a][o] = opts.axes[a][o];
        }
      } else base[k] = opts[k];
    }
    charts.push(new Dygraph(el, rows, base));
  }

  /* Each interval's value holds from its start to its end: a step plot from t0, and the
   * last value once more at the last end. */
  var n = data.t.length, t = data.t0.concat(n ? [data.t[n - 1]] : []);
  var idx = [];
  for (var i = 0; i < n; i++) idx.push(i);
  if (n) idx.push(n - 1);

  /* throughput and errors */
  var anyErr = data.errors.some(function (e) { return e > 0; });
  var thr = column(function (i) { return anyErr ? [data.rps[i], data.errors[i]] : [data.rps[i]]; });
  draw("c-throughput", thr, anyErr ? ["t", "responses/s", "errors"] : ["t", "responses/s"], {
    colors: ["#2563eb", "#dc2626"],
    fillGraph: true, fillAlpha: 0.08,
    ylabel: "responses/s",
    y2label: anyErr ? "errors per interval" : undefined,
    series: anyErr ? { "errors": { axis: "y2", fillGraph: false } } : {},
    axes: anyErr ? { y2: { valueFormatter: fmtNum, axisLabelFormatter: fmtNum, independentTicks: true, includeZero: true } } : {}
  });

  /* latency percentiles per interval */
  var lat = column(function (i) { return [ms(data.p50[i]), ms(data.p90[i]), ms(data.p99[i]), ms(data.max[i])]; });
  draw("c-latency", lat, ["t", "p50", "p90", "p99", "max"], {
    colors: ["#16a34a", "#ca8a04", "#ea580c", "#7c3aed"],
    logscale: true, includeZero: false, yRangePad: 8, ylabel: "latency",
    series: { "max": { strokeWidth: 1.2, strokePattern: [4, 3] } },
    axes: { y: { valueFormatter: fmtMs, axisLabelFormatter: fmtMs } }
  });

  /* target vs achieved */
  var tv = column(function (i) { return [data.target[i], data.open_loop ? data.rps[i] : data.users[i]]; });
  draw("c-target", tv, data.open_loop ? ["t", "target req/s", "achieved req/s"] : ["t", "users wanted", "open connections"], {
    colors: ["#c3ccd8", "#0891b2"],
    ylabel: data.open_loop ? "req/s" : "users",
    /* the target wide and pale under the achieved line: both show where they agree */
    series: data.open_loop ? { "target req/s": { strokeWidth: 6 } } : { "users wanted": { strokeWidth: 6 } }
  });

  /* the latency distribution, as HdrHistogram plots it */
  var dist = data.dist.map(function (p) { return [p[0], p[1] / 1000]; });
  if (dist.length < 2) empty("c-dist", "No responses: no latency distribution.");
  else {
    var xmax = dist[dist.length - 1][0];
    draw("c-dist", dist, ["percentile", "latency"], {
      colors: ["#2563eb"],
      xlabel: "percentile", ylabel: "latency",
      stepPlot: false, fillGraph: true, fillAlpha: 0.08,
      axes: {
        x: {
          logscale: true,
          valueFormatter: fmtPct,
          ticker: function (min, max) {
            var ticks = [];
            for (var k = 0; Math.pow(10, k) <= Math.max(max, 10) * 1.0001 && k < 9; k++)
              ticks.push({ v: Math.pow(10, k), label: fmtPct(Math.pow(10, k)) });
            return ticks;
          }
        },
        y: { valueFormatter: fmtMs, axisLabelFormatter: fmtMs }
      },
      dateWindow: [1, Math.max(xmax, 10)]
    });
  }

  /* the watched servers */
  if (data.watch.length) {
    var names = data.watch.map(function (w) { return w.comm + " (" + w.pid + ")"; });
    var cpu = column(function (i) { return data.watch.map(function (w) { return w.cpu[i]; }); });
    var rss = column(function (i) { return data.watch.map(function (w) { return w.rss[i]; }); });
    var pal = ["#9333ea", "#0d9488", "#db2777", "#65a30d"];
    draw("c-cpu", cpu, ["t"].concat(names), {
      colors: pal, ylabel: "CPU %",
      axes: { y: { valueFormatter: function (v) { return fmtNum(v) + "%"; } } }
    });
    draw("c-rss", rss, ["t"].concat(names), {
      colors: pal, ylabel: "RSS MB",
      axes: { y: { valueFormatter: function (v) { return fmtNum(v) + " MB"; } } }
    });
  }

  window.addEventListener("resize", function () { charts.forEach(function (g) { g.resize(); }); });
  document.body.dataset.rendered = "ok";
})();
