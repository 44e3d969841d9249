#!/usr/bin/env bash
# Installs what barrage needs on Debian/Ubuntu, or says exactly what to install.
#   scripts/deps.sh          build: compiler, make, pkg-config, liburing, OpenSSL, libfyaml, jansson, zlib,
#                            dygraphs (embedded into --html reports)
#   scripts/deps.sh test     + what `make test` uses: clang + libFuzzer runtime, nginx, python3, curl, ss, openssl,
#                            chromium (the HTML report's screenshot test), a JRE and HdrHistogram's Java
#                            library (an independent reader of --hdr-log files)
#   scripts/deps.sh bench    + wrk, h2load, nginx, python3, openssl, perf
set -eu
want=(gcc make pkg-config liburing-dev libssl-dev libfyaml-dev libjansson-dev zlib1g-dev libjs-dygraphs)
case "${1:-build}" in
    test) want+=(clang libclang-rt-14-dev nginx-light python3 curl procps iproute2 openssl
                chromium default-jre-headless libhdrhistogram-java) ;;
    bench) want+=(wrk nghttp2-client nginx-light python3 procps openssl linux-perf) ;;
esac
missing=()
for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# A differently named clang (a newer one) also does for the fuzzer, when it links it.
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "barrage needs these packages: ${missing[*]}" >&2
    echo "install them with: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
fi
if ! command -v apt-get >/dev/null; then
    echo "barrage needs: ${missing[*]} (no apt-get here: install them with your package manager)" >&2
    exit 1
fi
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
