#!/usr/bin/env bash
# Load check for issue #14: a cached 4 KiB cat through each surface of one release server, in
# the same run, measured alternately with wrk:
#   route: GET  /api/v0/mcp/ipfs/cat/<cid>      (the MCP route, the reference)
#   rpc:   POST /api/v0/cat?arg=<cid>            (Kubo's RPC API, as kubo-rpc-client sends it)
#   tool:  POST /mcp  tools/call ipfs_cat         (a Model Context Protocol tool call, in a session)
#
#   [ROUNDS=3] [PIN=1] scripts/load-rpc.sh [SECONDS=8] [CONNECTIONS=32]
#
# PIN=1 (the default on 2 or more cores): the server runs one worker on core 0 and wrk one
# thread on core 1, so the server's cost per request is what is measured (see load-ops.sh).
# Needs wrk (Debian: apt-get install -y wrk), curl and python3.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
secs="${1:-8}"
conns="${2:-32}"
port=8094
command -v wrk >/dev/null || { echo "needs wrk: apt-get install -y wrk" >&2; exit 2; }
work="$(mktemp -d)"
trap 'kill "${pid:-0}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
cargo build --release --quiet --manifest-path "$here/Cargo.toml"
pin="${PIN:-1}"
[ "$(nproc)" -ge 2 ] || pin=0
if [ "$pin" = 1 ]; then
  command -v taskset >/dev/null || { echo "PIN=1 needs taskset (util-linux)" >&2; exit 2; }
  export IPFS_MCP__SERVER__WORKERS=1
  server_on=(taskset -c 0)
  wrk_on=(taskset -c 1 wrk -t1)
else
  server_on=()
  wrk_on=(wrk -t2)
fi
bin="$here/target/release/ipfs-mcp"
head -c 4096 /dev/urandom > "$work/obj.bin"
"${server_on[@]}" "$bin" serve --port "$port" --data-dir "$work/data" > "$work/server.log" 2>&1 &
pid=$!
base="http://127.0.0.1:$port"
for _ in $(seq 1 50); do curl -sf "$base/api/v0/health" > /dev/null && break; sleep 0.2; done
cid=$(curl -sf -F "file=@$work/obj.bin" "$base/api/v0/mcp/ipfs/add" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["cid"])')
curl -sf -o /dev/null "$base/api/v0/mcp/ipfs/cat/$cid"
# an MCP session: initialize, then the initialized notification
accept='Accept: application/json, text/event-stream'
session=$(curl -sf -D - -o /dev/null -H 'Content-Type: application/json' -H "$accept" "$base/mcp" \
  -d '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-03-26","capabilities":{},"clientInfo":{"name":"load","version":"1"}}}' |
  awk -F': ' 'tolower($1)=="mcp-session-id" {print $2}' | tr -d '\r')
curl -sf -o /dev/null -H 'Content-Type: application/json' -H "$accept" -H "Mcp-Session-Id: $session" \
  "$base/mcp" -d '{"jsonrpc":"2.0","method":"notifications/initialized"}'
call='{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"ipfs_cat","arguments":{"cid":"'"$cid"'"}}}'
curl -sf -H 'Content-Type: application/json' -H "$accept" -H "Mcp-Session-Id: $session" "$base/mcp" -d "$call" |
  grep -q '"isError":false' || { echo "the tool call failed" >&2; exit 1; }
cat > "$work/rpc.lua" <<LUA
wrk.method = "POST"
LUA
cat > "$work/tool.lua" <<LUA
wrk.method = "POST"
wrk.body = '$call'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["Mcp-Session-Id"] = "$session"
LUA
measure() { # url [lua]
  local script=()
  [ -n "${2:-}" ] && script=(-s "$2")
  "${wrk_on[@]}" -c"$conns" -d"${secs}s" "${script[@]}" "$1" | awk -v url="$1" '
    /Non-2xx/ {print "non-2xx answers from " url ": " $0 > "/dev/stderr"; bad=1}
    /Requests\/sec/ {r=$2} END {if (bad) exit 1; print r}'
}
median() { sort -n | awk '{v[NR]=$1} END {m = NR % 2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2; printf "%.2f", m}'; }
rpc_ratios=(); tool_ratios=()
for round in $(seq 1 "${ROUNDS:-3}"); do
  route=$(measure "$base/api/v0/mcp/ipfs/cat/$cid")
  rpc=$(measure "$base/api/v0/cat?arg=$cid" "$work/rpc.lua")
  tool=$(measure "$base/mcp" "$work/tool.lua")
  r=$(awk -v a="$rpc" -v b="$route" 'BEGIN {printf "%.2f", a/b}')
  t=$(awk -v a="$tool" -v b="$route" 'BEGIN {printf "%.2f", a/b}')
  rpc_ratios+=("$r"); tool_ratios+=("$t")
  echo "round $round: route $route req/s, rpc $rpc req/s (${r}x), tool $tool req/s (${t}x)"
done
echo "median of ${#rpc_ratios[@]} rounds: rpc $(printf '%s\n' "${rpc_ratios[@]}" | median)x, tool $(printf '%s\n' "${tool_ratios[@]}" | median)x of the route"
