#!/usr/bin/env bash
# Records real answers of an IPFS node's RPC API into fixtures/kubo-rpc/<agent>/ for the
# response-parsing unit tests in src/backend/kubo/wire.rs.
#
#   scripts/record-rpc-fixtures.sh http://127.0.0.1:5002 js-ipfs-0.66.1
#
# Each fixture is `<name>.http`: the status line, then the body exactly as the node sent it.
set -euo pipefail
api="${1:?usage: $0 API_URL AGENT_DIR}"/api/v0
out="$(cd "$(dirname "$0")/.." && pwd)/fixtures/kubo-rpc/${2:?usage: $0 API_URL AGENT_DIR}"
mkdir -p "$out"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
printf 'hello world' > "$tmp/hw.txt"
printf 'rawblockdata' > "$tmp/blk"
printf '{"a":1,"l":[1,2]}' > "$tmp/doc.json"

record() { # name path [curl args...]
  local name="$1" path="$2"; shift 2
  local status
  status=$(curl -s -m 10 -o "$tmp/body" -w '%{http_code}' -X POST "$api/$path" "$@" || true)
  { echo "HTTP $status"; cat "$tmp/body"; } > "$out/$name.http"
  echo "$name: $status"
}

file="file=@$tmp/hw.txt;filename=hw.txt;type=application/octet-stream"
record add-wrapped "add?wrap-with-directory=true&cid-version=0&pin=true" -F "$file"
record add-v1-raw "add?cid-version=1&raw-leaves=true&pin=false" -F "$file"
dir=$(sed -n 's/.*"Name":"","Hash":"\([^"]*\)".*/\1/p' "$out/add-wrapped.http")
leaf=Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD
record version version
record id id
record stats-bw stats/bw
record repo-stat repo/stat
record files-stat-dir "files/stat?arg=/ipfs/$dir"
record files-stat-file "files/stat?arg=/ipfs/$dir/hw.txt"
record files-stat-missing "files/stat?arg=/ipfs/$dir/nope"
record cat-range "cat?arg=$leaf&offset=2&length=4"
record cat-directory "cat?arg=$dir"
record cat-invalid "cat?arg=not-a-cid"
record block-stat "block/stat?arg=$leaf"
record block-put-raw "block/put?format=raw&version=1&mhtype=sha2-256" -F "file=@$tmp/blk;type=application/octet-stream"
record dag-put "dag/put?store-codec=dag-cbor&input-codec=dag-json" -F "file=@$tmp/doc.json;type=application/octet-stream"
record pin-ls-one "pin/ls?arg=$dir"
# an indirect pin: a file under a directory pinned afterwards (js-ipfs's add pins every entry
# it prints, so the file above is pinned recursively there)
printf 'indirectly pinned' > "$tmp/ind.txt"
record add-unpinned "add?wrap-with-directory=true&pin=false" -F "file=@$tmp/ind.txt;filename=ind.txt;type=application/octet-stream"
dir2=$(sed -n 's/.*"Name":"","Hash":"\([^"]*\)".*/\1/p' "$out/add-unpinned.http")
leaf2=$(sed -n 's/.*"Name":"ind.txt","Hash":"\([^"]*\)".*/\1/p' "$out/add-unpinned.http")
record pin-add "pin/add?arg=$dir2&recursive=true"
record pin-ls-indirect "pin/ls?arg=$leaf2"
record pin-rm "pin/rm?arg=$dir&recursive=true"
record pin-ls-not-pinned "pin/ls?arg=$dir"
record pin-rm-not-pinned "pin/rm?arg=$dir&recursive=true"
record routing-findprovs "routing/findprovs?arg=$leaf&num-providers=5"
record dht-findprovs "dht/findprovs?arg=$leaf&num-providers=5"
peer=$(sed -n 's/.*"ID":"\([^"]*\)".*/\1/p' "$out/id.http" | head -1)
record dht-findpeer "dht/findpeer?arg=$peer"
record name-publish "name/publish?arg=/ipfs/$leaf&lifetime=48h&ttl=1h"
record name-resolve "name/resolve?arg=$peer&recursive=true"
record unknown-command "no/such/command"
