#!/usr/bin/env bash
# Load check for issue #13: the cost of the operations layer on a cached 4 KiB cat. Two
# release servers in the same run, sent the same request (with an Authorization header):
#   off: auth.enabled = false, telemetry.metrics = false
#   on:  auth.enabled = true (an API key, its rate high enough never to refuse), metrics on,
#        traces exported over OTLP/HTTP to a sink in this script (it counts what arrives),
#        keeping SAMPLE_RATIO of the traces
# measured alternately with wrk, twice each.
#
#   [ROUNDS=2] [PIN=1] scripts/load-ops.sh [SECONDS=8] [CONNECTIONS=32] [SAMPLE_RATIO=1.0]
#
# PIN=1 (the default on 2 or more cores): each server runs one worker on core 0 and wrk one
# thread on core 1, so the servers' cost per request is what is measured. PIN=0: two workers
# and two wrk threads share every core; there the scheduler's placement of four busy threads
# moves a round by 10-20% either way, and an extra microsecond per request costs twice that
# in wakeups (the figure is lower and noisier, not more true).
#
# Needs wrk (Debian: apt-get install -y wrk) and python3.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
secs="${1:-8}"
conns="${2:-32}"
ratio="${3:-1.0}"
off_port=8091
on_port=8092
sink_port=8093
command -v wrk >/dev/null || { echo "needs wrk: apt-get install -y wrk" >&2; exit 2; }
work="$(mktemp -d)"
trap 'kill "${off_pid:-0}" "${on_pid:-0}" "${sink_pid:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT

cargo build --release --quiet --manifest-path "$here/Cargo.toml"
pin="${PIN:-1}"
[ "$(nproc)" -ge 2 ] || pin=0
if [ "$pin" = 1 ]; then
  command -v taskset >/dev/null || { echo "PIN=1 needs taskset (util-linux)" >&2; exit 2; }
  export IPFS_MCP__SERVER__WORKERS=1
  server_on=(taskset -c 0) # taskset execs the server: $! stays its pid
  wrk_on=(taskset -c 1 wrk -t1)
  sink_on=(taskset -c 1) # the collector is not the server's cost: it shares wrk's core
else
  server_on=()
  wrk_on=(wrk -t2)
  sink_on=()
fi
bin="$here/target/release/ipfs-mcp"
head -c 4096 /dev/urandom > "$work/obj.bin"
key=$("$bin" keys create --name load --scopes read,write --rate 1000000000/s --burst 1000000 \
  --data-dir "$work/on" 2>/dev/null)
IPFS_MCP__TELEMETRY__METRICS=false "${server_on[@]}" "$bin" serve --port "$off_port" --data-dir "$work/off" \
  > "$work/off.log" 2>&1 &
off_pid=$!
# The OTLP sink: answers every export 200 and counts exports and bytes (the collector's part
# of the cost is not ours to measure; the exporter's, on the server's own thread, is).
"${sink_on[@]}" python3 - "$sink_port" "$work/sink.count" <<'PY' &
import http.server, sys, threading
port, out = int(sys.argv[1]), sys.argv[2]
seen = {"exports": 0, "bytes": 0}
lock = threading.Lock()
class Sink(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("content-length", 0))
        self.rfile.read(n)
        with lock:
            seen["exports"] += 1
            seen["bytes"] += n
            open(out, "w").write(f"{seen['exports']} exports, {seen['bytes']} bytes\n")
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", port), Sink).serve_forever()
PY
sink_pid=$!
IPFS_MCP__AUTH__ENABLED=true IPFS_MCP__TELEMETRY__OTLP_ENDPOINT="http://127.0.0.1:$sink_port" \
  IPFS_MCP__TELEMETRY__TRACE_SAMPLE_RATIO="$ratio" IPFS_MCP__TELEMETRY__OTLP_EXPORT_INTERVAL_MS=1000 \
  "${server_on[@]}" "$bin" serve --port "$on_port" --data-dir "$work/on" > "$work/on.log" 2>&1 &
on_pid=$!
auth="Authorization: Bearer $key"
for port in "$off_port" "$on_port"; do
  for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$port/api/v0/health" > /dev/null && break; sleep 0.2; done
  cid=$(curl -sf -H "$auth" -F "file=@$work/obj.bin" "http://127.0.0.1:$port/api/v0/mcp/ipfs/add" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["cid"])')
  curl -sf -H "$auth" -o /dev/null "http://127.0.0.1:$port/api/v0/mcp/ipfs/cat/$cid"
done
curl -s -o /dev/null -w "on without a key: %{http_code} (expect 401)\n" "http://127.0.0.1:$on_port/api/v0/mcp/ipfs/cat/$cid"
measure() { "${wrk_on[@]}" -c"$conns" -d"${secs}s" -H "$auth" "$1" | awk -v url="$1" '
  /Non-2xx/ {print "non-2xx answers from " url ": " $0 > "/dev/stderr"; bad=1}
  /Requests\/sec/ {r=$2} END {if (bad) exit 1; print r}'; }
# ROUNDS (default 2) alternating pairs; with several, the median ratio is the figure to quote:
# on 2 shared cores one round can be off by 10% either way.
ratios=()
for round in $(seq 1 "${ROUNDS:-2}"); do
  off=$(measure "http://127.0.0.1:$off_port/api/v0/mcp/ipfs/cat/$cid")
  on=$(measure "http://127.0.0.1:$on_port/api/v0/mcp/ipfs/cat/$cid")
  r=$(awk -v a="$on" -v b="$off" 'BEGIN {printf "%.2f", a/b}')
  ratios+=("$r")
  echo "round $round: off $off req/s, on $on req/s (${r}x)"
done
printf '%s\n' "${ratios[@]}" | sort -n | awk '{v[NR]=$1} END {m = NR % 2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2; printf "median of %d rounds: %.2fx\n", NR, m}'
grep -c "^ipfs_mcp_" <(curl -sf -H "$auth" "http://127.0.0.1:$on_port/metrics") | sed 's/^/metric samples served: /'
sleep 2
echo "traces (sample ratio $ratio) received by the sink: $(cat "$work/sink.count" 2>/dev/null || echo none)"
