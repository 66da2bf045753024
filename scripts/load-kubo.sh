#!/usr/bin/env bash
# Load check for issue #4: a cached cat through ipfs-mcp (--backend kubo) next to the same cat
# from the node's own HTTP gateway, both measured with wrk in the same run, on loopback.
#
#   scripts/load-kubo.sh [SECONDS=8] [CONNECTIONS=32] [SIZE=4096]
#
# Needs wrk (Debian: apt-get install -y wrk) and the node from scripts/ipfs-node.sh (npm).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
secs="${1:-8}"
conns="${2:-32}"
size="${3:-4096}"
mcp_port=8091
export IPFS_API_PORT=5302 IPFS_GATEWAY_PORT=9390 IPFS_SWARM_PORT=4312 IPFS_RPC_PORT=5303
command -v wrk >/dev/null || { echo "needs wrk: apt-get install -y wrk" >&2; exit 2; }
work="$(mktemp -d)"
trap 'kill "${pid:-0}" 2>/dev/null || true; bash "$here/scripts/ipfs-node.sh" stop load >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

cargo build --release --quiet --manifest-path "$here/Cargo.toml"
api=$(bash "$here/scripts/ipfs-node.sh" start load | tail -1)
"$here/target/release/ipfs-mcp" serve --port "$mcp_port" --data-dir "$work/data" \
  --backend kubo --kubo-url "$api" > "$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$mcp_port/api/v0/health" > /dev/null && break; sleep 0.2; done
head -c "$size" /dev/urandom > "$work/obj.bin"
cid=$(curl -sf -F "file=@$work/obj.bin" "http://127.0.0.1:$mcp_port/api/v0/mcp/ipfs/add" |
  python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["simulated"] is False; print(d["cid"])')
url="http://127.0.0.1:$mcp_port/api/v0/mcp/ipfs/cat/$cid"
node_url="http://127.0.0.1:$IPFS_GATEWAY_PORT/ipfs/$cid"
curl -sf -o /dev/null "$url"   # first read fetches from the node and caches
tier=$(curl -sf -o /dev/null -D - "$url" | awk -F': ' 'tolower($1)=="x-cache-tier" {print $2}' | tr -d '\r')
cmp <(curl -sf "$node_url") "$work/obj.bin" && cmp <(curl -sf "$url") "$work/obj.bin"
echo "same $size bytes from both; X-Cache-Tier after warm-up: $tier"
rps() { wrk -t2 -c"$conns" -d"${secs}s" "$1" | awk '/Requests\/sec/ {print $2}'; }
node=$(rps "$node_url")
mcp=$(rps "$url")
echo "node's own gateway:     $node req/s"
echo "ipfs-mcp cached cat:    $mcp req/s  ($(awk -v a="$mcp" -v b="$node" 'BEGIN {printf "%.1f", a/b}')x the node)"
