#!/usr/bin/env bash
# Soak test (issue #11): runs the release server on the simulation backend under mixed load for a
# while and prints errors, mismatches, RSS and open fds over time (driver: scripts/soak.py).
#
#   scripts/soak.sh [MINUTES=10] [MODE=mixed|add-read] [EXTRA soak.py flags...]
#
# mixed:    wrk on a cached 4 KiB cat and on /ipfs/ of a 1 MiB file, while 4 workers add new
#           64 KiB-4 MiB files and read them back through /ipfs/, re-read earlier ones (whole or a
#           range, /ipfs/ or ipfs/cat), pin add/rm and query the metadata.
# add-read: first fills the memory tier, then only adds new files and reads each back through
#           /ipfs/ (every read evicts from a full memory tier and demotes to disk).
# Every read is compared with what was sent. Exit status 1 on any error or mismatch.
# Environment: SOAK_MEMORY_LIMIT (bytes, default the service's 256 MiB), SOAK_INTERVAL (s, 30),
# SOAK_JSON (file for the samples).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
minutes="${1:-10}"
mode="${2:-mixed}"
shift $(( $# > 2 ? 2 : $# ))
work="$(mktemp -d)"
trap 'kill "${pid:-0}" 2>/dev/null || true; wait "${pid:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT

cargo build --release --quiet --manifest-path "$here/Cargo.toml"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
env ${SOAK_MEMORY_LIMIT:+IPFS_MCP__CACHE__MEMORY_LIMIT=$SOAK_MEMORY_LIMIT} \
  "$here/target/release/ipfs-mcp" serve --port "$port" --data-dir "$work/data" > "$work/server.log" 2>&1 &
pid=$!
api="http://127.0.0.1:$port/api/v0/mcp"
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/api/v0/health" > /dev/null && break; sleep 0.1; done

wrk_args=()
if [ "$mode" = mixed ]; then
  if command -v wrk > /dev/null; then
    head -c 4096 /dev/urandom > "$work/small.bin"
    head -c 1048576 /dev/urandom > "$work/mib.bin"
    add() { curl -sf -F "file=@$1" "$api/ipfs/add" | python3 -c 'import json,sys; print(json.load(sys.stdin)["cid"])'; }
    small=$(add "$work/small.bin"); mib=$(add "$work/mib.bin")
    curl -sf -o /dev/null "$api/ipfs/cat/$small"; curl -sf -o /dev/null "http://127.0.0.1:$port/ipfs/$mib"
    wrk_args=(--wrk-url "$api/ipfs/cat/$small" --wrk-url "http://127.0.0.1:$port/ipfs/$mib" --wrk-connections 4)
  else
    echo "warning: wrk is not installed (apt-get install wrk); running without the cached-read load" >&2
  fi
else
  wrk_args=(--fill)
fi

echo "soak: $minutes min, mode $mode, server pid $pid on port $port"
status=0
python3 "$here/scripts/soak.py" --port "$port" --pid "$pid" --seconds "$((minutes * 60))" \
  --interval "${SOAK_INTERVAL:-30}" --mode "$mode" ${SOAK_JSON:+--json "$SOAK_JSON"} "${wrk_args[@]}" "$@" || status=$?
if ! kill -0 "$pid" 2>/dev/null; then echo "server died:"; tail -20 "$work/server.log"; status=1; fi
exit "$status"
