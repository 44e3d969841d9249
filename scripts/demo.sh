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
echo "demo: barrage -c 64 -d 5s --json $dir/demo.json $url"
build/barrage -c 64 -d 5s --json "$dir/demo.json" "$url"
echo
echo "demo: the same run as JSON (--json):"
cat "$dir/demo.json"
