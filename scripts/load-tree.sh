#!/usr/bin/env bash
# Load check for issue #12: a directory of N small files added in one multipart request
# (sharded past Kubo's 256 KiB threshold), then listed and read through /ipfs/. Reports the
# server's peak RSS (VmHWM), the time taken, and checks the root against the reference
# importer's CID recorded in fixtures/unixfs-trees.json (tree "sharded-10000" for N=10000).
#
#   scripts/load-tree.sh [FILES=10000] [PORT=8766]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
files="${1:-10000}"
port="${2:-8766}"
work="$(mktemp -d)"
trap 'kill "${pid:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT

cargo build --release --quiet --manifest-path "$here/Cargo.toml"
python3 - "$files" "$work/body" <<'PY'
import sys
n, out = int(sys.argv[1]), sys.argv[2]
b = b"----ipfs-mcp-load-tree"
with open(out, "wb") as f:
    for i in range(n):
        f.write(b"--" + b + b"\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big%2Ffile-"
                + b"%05d" % i + b".txt\"\r\nContent-Type: application/octet-stream\r\n\r\n")
        f.write(b"file %d\n\r\n" % i)
    f.write(b"--" + b + b"--\r\n")
PY
"$here/target/release/ipfs-mcp" serve --port "$port" --data-dir "$work/data" > "$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$port/api/v0/health" > /dev/null && break; sleep 0.2; done
rss_before=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
start=$(date +%s.%N)
curl -sf -H 'content-type: multipart/form-data; boundary=----ipfs-mcp-load-tree' \
  --data-binary "@$work/body" "http://127.0.0.1:$port/api/v0/mcp/ipfs/add" > "$work/add.json"
end=$(date +%s.%N)
root=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["cid"]); assert len(d["entries"]) == int(sys.argv[2]) + 1' "$work/add.json" "$files")
listed=$(curl -sf "http://127.0.0.1:$port/ipfs/$root/" | grep -o '">file-' | wc -l)
one=$(curl -sf "http://127.0.0.1:$port/ipfs/$root/file-00042.txt")
peak_kb=$(awk '/VmHWM/ {print $2}' /proc/$pid/status)
echo "files:            $files in one request, $(awk -v a="$start" -v b="$end" 'BEGIN {printf "%.2f", b-a}') s"
echo "root:             $root"
if [ "$files" = 10000 ]; then
  want=$(python3 -c 'import json; t=[t for t in json.load(open("'"$here"'/fixtures/unixfs-trees.json")) if t["name"]=="sharded-10000"][0]; print([e for e in t["entries"] if e["path"]=="big"][0]["cid"])')
  echo "reference root:   $want ($([ "$root" = "$want" ] && echo equal || echo DIFFERENT))"
fi
echo "listed entries:   $listed; file-00042.txt reads \"$(printf %s "$one" | tr -d '\n')\""
echo "server RSS:       $((rss_before / 1024)) MiB before, peak $((peak_kb / 1024)) MiB"
