#!/usr/bin/env bash
# Records fixtures/unixfs-trees.json: directory adds (nested, wrapped, CIDv1, sharded at
# Kubo's 256 KiB threshold) as the reference importer (npm ipfs-unixfs-importer, Kubo's
# unixfs-v0-2015 profile) builds them. tests/tree_fixtures.rs checks our importer against it.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here/unixfs-reference"
npm install --no-audit --no-fund --silent
node trees.mjs > "$here/../fixtures/unixfs-trees.json"
echo "wrote fixtures/unixfs-trees.json"
