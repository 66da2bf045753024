#!/usr/bin/env bash
# Load check for issues #3 and #12: cached objects served by ipfs-mcp next to nginx serving the
# same bytes as static files, all measured with wrk in the same run, on loopback: a 4 KiB cat
# (req/s) and a 1 MiB file through /ipfs/ (bytes/s), each bare and with a browser's
# Accept-Encoding (content must go out as stored, so the header must cost nothing).
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
chmod 755 "$work" "$work/www"   # nginx's workers run as www-data: mktemp's 0700 would be a 403
head -c 4096 /dev/urandom > "$work/www/obj.bin"
head -c 1048576 /dev/urandom > "$work/www/big.bin"
chmod 644 "$work/www/"*.bin
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
add() { curl -sf -F "file=@$1" "http://127.0.0.1:$mcp_port/api/v0/mcp/ipfs/add" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["cid"])'; }
cid=$(add "$work/www/obj.bin")
big=$(add "$work/www/big.bin")
url="http://127.0.0.1:$mcp_port/api/v0/mcp/ipfs/cat/$cid"
big_url="http://127.0.0.1:$mcp_port/ipfs/$big"
curl -sf -o /dev/null "$url"; curl -sf -o /dev/null "$big_url"   # first reads fetch and cache
tier=$(curl -sf -o /dev/null -D - "$url" | awk -F': ' 'tolower($1)=="x-cache-tier" {print $2}' | tr -d '\r')
echo "X-Cache-Tier after warm-up: $tier"
browser="Accept-Encoding: gzip, deflate, br, zstd"
# wrk's summary: requests/s, and transfer/s normalised to MB/s
measure() { wrk -t2 -c"$conns" -d"${secs}s" "$@" | awk '
  /Non-2xx/ {print "non-2xx answers: " $0 > "/dev/stderr"; bad=1}
  /Requests\/sec/ {r=$2}
  /Transfer\/sec/ {v=$2; u=substr(v, length(v)-1); n=v+0;
    if (u=="GB") n*=1024; else if (u=="KB") n/=1024; else if (u!="MB") n/=1048576; t=n}
  END {if (bad) exit 1; printf "%s %.1f\n", r, t}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a/b}'; }
for hdr in "" "$browser"; do
  label=${hdr:+"with a browser's Accept-Encoding"}; label=${label:-bare}
  args=(); [ -n "$hdr" ] && args=(-H "$hdr")
  read -r ngx_r _ < <(measure "${args[@]}" "http://127.0.0.1:$ngx_port/obj.bin")
  read -r mcp_r _ < <(measure "${args[@]}" "$url")
  read -r _ ngx_b < <(measure "${args[@]}" "http://127.0.0.1:$ngx_port/big.bin")
  read -r _ mcp_b < <(measure "${args[@]}" "$big_url")
  echo "== $label"
  echo "nginx static 4 KiB:          $ngx_r req/s"
  echo "ipfs-mcp cached 4 KiB cat:   $mcp_r req/s  ($(ratio "$mcp_r" "$ngx_r")x of nginx)"
  echo "nginx static 1 MiB:          $ngx_b MB/s"
  echo "ipfs-mcp cached 1 MiB /ipfs: $mcp_b MB/s  ($(ratio "$mcp_b" "$ngx_b")x of nginx)"
done
