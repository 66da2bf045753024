#!/usr/bin/env bash
# Installs and runs a real IPFS node (js-ipfs 0.66.1, which speaks Kubo's RPC API) on loopback.
#
#   scripts/ipfs-node.sh install            # once; into $IPFS_NODE_HOME (default .ipfs-node/)
#   scripts/ipfs-node.sh start  [NAME]      # init + daemon --offline; prints the RPC URL
#   scripts/ipfs-node.sh halt   [NAME]      # stops the daemon, keeps its repo
#   scripts/ipfs-node.sh resume [NAME]      # restarts the daemon on the kept repo
#   scripts/ipfs-node.sh stop   [NAME]      # kills it and removes its repo
#
# Ports are configurable so parallel runs do not collide:
#   IPFS_API_PORT (default 5002), IPFS_GATEWAY_PORT (9090), IPFS_SWARM_PORT (4012),
#   IPFS_RPC_PORT (js-ipfs's gRPC-over-websocket; default API port + 1).
# IPFS_NODE_WATCH_PID=<pid>: stop the node and remove its repo once that process is gone
# (tests pass their own pid, so a killed test run leaves no node behind).
# Kubo itself cannot be downloaded on these machines; js-ipfs computes the same CIDs
# (it prints CIDv1 in base58btc where Kubo prints base32).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
home="${IPFS_NODE_HOME:-$here/.ipfs-node}"
api_port="${IPFS_API_PORT:-5002}"
gw_port="${IPFS_GATEWAY_PORT:-9090}"
swarm_port="${IPFS_SWARM_PORT:-4012}"
rpc_port="${IPFS_RPC_PORT:-$((api_port + 1))}"
name="${2:-node-$api_port}"
repo="$home/repos/$name"
jsipfs="$home/node_modules/.bin/jsipfs"

install() {
  mkdir -p "$home"
  if [ ! -x "$jsipfs" ]; then
    # The lock file (scripts/ipfs-node/, resolved with --before=2024-12-20) pins the whole tree.
    # An optional dependency of an optional dependency is a GitHub tarball these machines cannot
    # reach; without retries npm skips it at once instead of backing off for minutes.
    cp "$here/scripts/ipfs-node/package.json" "$here/scripts/ipfs-node/package-lock.json" "$home/"
    (cd "$home" && npm install --no-audit --no-fund --fetch-retries=0 --loglevel=error)
  fi
  # Node 20 lacks Promise.withResolvers, which a js-ipfs dependency calls.
  cat > "$home/polyfill.cjs" <<'JS'
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function () {
    let resolve, reject;
    const promise = new Promise((res, rej) => { resolve = res; reject = rej; });
    return { promise, resolve, reject };
  };
}
JS
}

start() {
  install
  rm -rf "$repo"; mkdir -p "$repo"
  export IPFS_PATH="$repo" NODE_OPTIONS="--require $home/polyfill.cjs"
  if ! "$jsipfs" init --empty-repo > "$repo/init.log" 2>&1; then
    echo "jsipfs init failed:" >&2; cat "$repo/init.log" >&2; return 1
  fi
  node - "$repo/config" "$api_port" "$gw_port" "$swarm_port" "$rpc_port" <<'JS'
const fs = require('fs');
const [file, api, gw, swarm, rpc] = process.argv.slice(2);
const c = JSON.parse(fs.readFileSync(file));
c.Addresses.Swarm = [`/ip4/127.0.0.1/tcp/${swarm}`];
c.Addresses.API = `/ip4/127.0.0.1/tcp/${api}`;
c.Addresses.Gateway = `/ip4/127.0.0.1/tcp/${gw}`;
// js-ipfs serves gRPC-over-websocket on Addresses.RPC; keep it off the HTTP API port.
c.Addresses.RPC = `/ip4/127.0.0.1/tcp/${rpc}`;
c.Addresses.Delegates = [];
c.Bootstrap = [];
c.Discovery = c.Discovery || {};
c.Discovery.MDNS = { Enabled: false };
c.Discovery.webRTCStar = { Enabled: false };
fs.writeFileSync(file, JSON.stringify(c, null, 2));
JS
  resume
  if [ -n "${IPFS_NODE_WATCH_PID:-}" ]; then
    # a detached watcher: outlives this script, ends with the watched process or the repo
    nohup setsid bash -c '
      while kill -0 "$1" 2>/dev/null && [ -d "$2" ]; do sleep 1; done
      [ -f "$2/pid" ] && kill -9 "$(cat "$2/pid")" 2>/dev/null
      rm -rf "$2"' _ "$IPFS_NODE_WATCH_PID" "$repo" > /dev/null 2>&1 &
  fi
}

resume() {
  export IPFS_PATH="$repo" NODE_OPTIONS="--require $home/polyfill.cjs"
  nohup "$jsipfs" daemon --offline >> "$repo/daemon.log" 2>&1 &
  echo $! > "$repo/pid"
  for _ in $(seq 1 120); do
    if curl -sf -X POST "http://127.0.0.1:$api_port/api/v0/version" > /dev/null 2>&1; then
      echo "http://127.0.0.1:$api_port"
      return 0
    fi
    if ! kill -0 "$(cat "$repo/pid")" 2>/dev/null; then break; fi
    sleep 0.5
  done
  echo "ipfs node failed to start; log:" >&2
  cat "$repo/daemon.log" >&2
  stop
  return 1
}

halt() {
  if [ -f "$repo/pid" ]; then
    local pid; pid="$(cat "$repo/pid")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$repo/pid"
  fi
  # js-ipfs leaves its repo lock behind when killed
  rm -rf "$repo/repo.lock" "$repo/datastore/LOCK" "$repo/blocks/LOCK" 2>/dev/null || true
}

stop() {
  halt
  rm -rf "$repo"
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  halt) halt ;;
  resume) install; resume ;;
  stop) stop ;;
  *) echo "usage: $0 install|start|halt|resume|stop [NAME]" >&2; exit 2 ;;
esac
