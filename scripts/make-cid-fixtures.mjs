// Regenerates fixtures/kubo-cids.json: CIDs a real IPFS node gives for deterministic files.
//
//   scripts/ipfs-node.sh start && node scripts/make-cid-fixtures.mjs http://127.0.0.1:5002
//
// Recipe for the bytes of a case (mirrored in tests/common/fixture_bytes.rs):
//   the file is the concatenation of SHA-256("<seed>:<i>") for i = 0, 1, 2, ... cut to `size`.
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';

const api = process.argv[2] || 'http://127.0.0.1:5002';
const seed = 'ipfs-mcp';
const sizes = [0, 1, 11, 1024, 1025, 178176, 178177, 262143, 262144, 262145, 3000017,
  31002624, 31002625, 45613056, 45613057, 50000000];
const paramSets = ['', 'cid-version=1', 'cid-version=1&raw-leaves=false', 'chunker=size-1024',
  'raw-leaves=true'];

function bytesFor(size) {
  const out = Buffer.alloc(size);
  for (let i = 0, off = 0; off < size; i++, off += 32) {
    createHash('sha256').update(`${seed}:${i}`).digest().copy(out, off, 0, Math.min(32, size - off));
  }
  return out;
}

const cases = [];
for (const size of sizes) {
  const data = bytesFor(size);
  for (const params of paramSets) {
    const form = new FormData();
    form.append('file', new Blob([data]), 'f');
    const res = await fetch(`${api}/api/v0/add?pin=false&${params}`, { method: 'POST', body: form });
    if (!res.ok) throw new Error(`${size} ${params}: ${res.status} ${await res.text()}`);
    const hash = JSON.parse((await res.text()).trim().split('\n').pop()).Hash;
    cases.push({ size, params, cid: hash });
    console.error(size, params || '(defaults)', hash);
  }
}
const version = await (await fetch(`${api}/api/v0/version`, { method: 'POST' })).json();
writeFileSync(new URL('../fixtures/kubo-cids.json', import.meta.url), JSON.stringify({
  recipe: 'bytes = concat(SHA-256(`${seed}:${i}`) for i = 0..) truncated to size; added with ' +
    'POST /api/v0/add?pin=false&<params> as multipart field "file"',
  seed,
  node: `js-ipfs ${version.Version} (ipfs@0.66.1 from npm), via scripts/ipfs-node.sh`,
  cases,
}, null, 1) + '\n');
