#!/usr/bin/env bash
# make demo: install what is missing, build, start the built-in target, run a short
# real load test against it, print the report, stop the target.
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh
make -j"$(nproc)" build/barrage >/dev/null
dir=$(mktemp -d)
trap 'kill "$srv" 2>/dev/null; wait "$srv" 2>/dev/null; rm -rf "$dir"' EXIT
build/barrage serve --host 127.0.0.1 --port 0 --port-file "$dir/port" --quiet &
srv=$!
for _ in $(seq 100); do [ -s "$dir/port" ] && break; sleep 0.05; done
[ -s "$dir/port" ] || { echo "demo: the built-in target did not start" >&2; exit 1; }
url="http://127.0.0.1:$(cat "$dir/port")/"
echo "demo: built-in target at $url"
mkdir -p build/demo
echo "demo: barrage -c 64 -d 5s --watch-pid $srv --threshold 'p99<250ms' --json build/demo/demo.json --html build/demo/report.html --csv build/demo/demo $url"
build/barrage -c 64 -d 5s --watch-pid "$srv" --threshold 'p99<250ms' --json build/demo/demo.json \
    --html build/demo/report.html --csv build/demo/demo "$url"
echo
echo "demo: the same run as JSON (--json):"
cat build/demo/demo.json
echo
echo "demo: also written: build/demo/report.html (open it in a browser), build/demo/demo_stats.csv,"
echo "      build/demo/demo_stats_history.csv, build/demo/demo_failures.csv (Locust's columns)"
