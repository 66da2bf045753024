#!/usr/bin/env bash
# Load check for issue #3: a cached 4 KiB object served by ipfs-mcp next to nginx serving the same
# bytes as a static file, both measured with wrk in the same run, on loopback.
#
#   scripts/load-cached.sh [SECONDS=8] [CONNECTIONS=32]
#
# Needs nginx and wrk (Debian: apt-get install -y nginx-light wrk).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
secs="${1:-8}"
conns="${2:-32}"
ngx_port=8088
mcp_port=8089
command -v nginx >/dev/null && command -v wrk >/dev/null || {
  echo "needs nginx and wrk: apt-get install -y nginx-light wrk" >&2; exit 2; }
work="$(mktemp -d)"
trap 'nginx -c "$work/nginx.conf" -s stop 2>/dev/null || true; kill "${pid:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT

cargo build --release --quiet --manifest-path "$here/Cargo.toml"
mkdir -p "$work/www" "$work/logs"
head -c 4096 /dev/urandom > "$work/www/obj.bin"
cat > "$work/nginx.conf" <<CONF
worker_processes 2;
pid $work/nginx.pid;
error_log $work/logs/error.log;
events { worker_connections 1024; }
http { access_log off; server { listen 127.0.0.1:$ngx_port; root $work/www; } }
CONF
nginx -c "$work/nginx.conf"
"$here/target/release/ipfs-mcp" serve --port "$mcp_port" --data-dir "$work/data" > "$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$mcp_port/api/v0/health" > /dev/null && break; sleep 0.2; done
cid=$(curl -sf -F "file=@$work/www/obj.bin" "http://127.0.0.1:$mcp_port/api/v0/mcp/ipfs/add" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["cid"])')
url="http://127.0.0.1:$mcp_port/api/v0/mcp/ipfs/cat/$cid"
curl -sf -o /dev/null "$url"   # first read fetches and caches
tier=$(curl -sf -o /dev/null -D - "$url" | awk -F': ' 'tolower($1)=="x-cache-tier" {print $2}' | tr -d '\r')
echo "X-Cache-Tier after warm-up: $tier"
rps() { wrk -t2 -c"$conns" -d"${secs}s" "$1" | awk '/Requests\/sec/ {print $2}'; }
ngx=$(rps "http://127.0.0.1:$ngx_port/obj.bin")
mcp=$(rps "$url")
echo "nginx static 4 KiB:     $ngx req/s"
echo "ipfs-mcp cached 4 KiB:  $mcp req/s  ($(awk -v a="$mcp" -v b="$ngx" 'BEGIN {printf "%.2f", a/b}')x of nginx)"
