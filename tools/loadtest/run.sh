#!/usr/bin/env bash
# Load test on loopback: a bare fasthttp forwarder (baseline), sdproxy
# pass-through (auth + rate limit + forward, no fields) and sdproxy's full
# path (auth + limit + 2 fields of a 300-byte body encrypted + forward),
# each driven by wrk against the same upstream. Needs wrk (apt-get install wrk).
# Usage: tools/loadtest/run.sh [seconds] [connections]
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-10}; conns=${2:-64}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install -y wrk)"; exit 1; }
tmp=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$tmp"' EXIT
go build -o "$tmp/sdproxy" ./cmd/sdproxy
go build -o "$tmp/bareproxy" ./tools/loadtest/bareproxy
go build -o "$tmp/upstream" ./tools/loadtest/upstream
"$tmp/upstream" -listen 127.0.0.1:9190 & "$tmp/bareproxy" -listen 127.0.0.1:9180 -upstream 127.0.0.1:9190 &
export SDPROXY_DATA_DIR="$tmp/data" SDPROXY_LISTEN=127.0.0.1:9181 SDPROXY_ADMIN_LISTEN=127.0.0.1:9182 \
  SDPROXY_ADMIN_ADDR=http://127.0.0.1:9182 SDPROXY_MASTER_KEY=$(head -c32 /dev/urandom | base64) SDPROXY_LOG_LEVEL=warn
"$tmp/sdproxy" serve & sleep 1
project=$("$tmp/sdproxy" project create --name load --upstream http://127.0.0.1:9190 --rps 1000000 --burst 1000000 -o json | sed -n 's/.*"id": "\(prj_[a-z0-9]*\)".*/\1/p')
export KEY=$("$tmp/sdproxy" key create --project "$project" -q)
run() { echo "== $1"; FIELDS=$3 wrk -t2 -c"$conns" -d"${secs}s" -s tools/loadtest/post.lua "$2" | grep -E "Requests/sec|Latency|Non-2xx"; }
run "bare fasthttp forwarder" http://127.0.0.1:9180/posts ""
run "sdproxy pass-through (no fields)" "http://127.0.0.1:9181/proxy/$project/posts" ""
run "sdproxy full path (2 fields encrypted)" "http://127.0.0.1:9181/proxy/$project/posts" "title,body"
