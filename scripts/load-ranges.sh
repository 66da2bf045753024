#!/usr/bin/env bash
# Memory check for issue #5: reads a large file through the path gateway with range jumps (and
# once whole), then prints the server's peak RSS (VmHWM).
#
#   scripts/load-ranges.sh [MiB=1024] [JUMPS=300]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mib="${1:-1024}"
jumps="${2:-300}"
port=8093
work="$(mktemp -d)"
trap 'kill "${pid:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT

cargo build --release --quiet --manifest-path "$here/Cargo.toml"
"$here/target/release/ipfs-mcp" serve --port "$port" --data-dir "$work/data" > "$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$port/api/v0/health" > /dev/null && break; sleep 0.2; done
head -c "$((mib * 1024 * 1024))" /dev/urandom > "$work/big.bin"
size=$(stat -c %s "$work/big.bin")
# -T streams the file from disk (curl's --data-binary would load it into memory)
cid=$(curl -sf -X POST -H 'content-type: application/octet-stream' -T "$work/big.bin" \
  "http://127.0.0.1:$port/api/v0/mcp/stream/to-ipfs" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["cid"])')
echo "added $mib MiB as $cid; peak RSS after add: $(awk '/VmHWM/ {print $2/1024 " MiB"}' /proc/$pid/status)"
url="http://127.0.0.1:$port/ipfs/$cid"
start=$(date +%s.%N)
bad=0
for i in $(seq 1 "$jumps"); do
  off=$(( (RANDOM * 32768 + RANDOM) % (size - 1048576) ))
  end=$(( off + 1048575 ))
  got=$(curl -sf -H "Range: bytes=$off-$end" "$url" | sha256sum | cut -d' ' -f1)
  want=$(dd if="$work/big.bin" iflag=skip_bytes,count_bytes skip="$off" count=1048576 status=none | sha256sum | cut -d' ' -f1)
  [ "$got" = "$want" ] || bad=$((bad + 1))
done
secs=$(echo "$(date +%s.%N) - $start" | bc)
echo "$jumps range jumps of 1 MiB in ${secs}s, $bad mismatches"
whole=$(curl -sf "$url" | sha256sum | cut -d' ' -f1)
[ "$whole" = "$(sha256sum < "$work/big.bin" | cut -d' ' -f1)" ] && echo "whole read: identical" || echo "whole read: MISMATCH"
echo "server peak RSS (VmHWM): $(awk '/VmHWM/ {print $2/1024 " MiB"}' /proc/$pid/status)"
