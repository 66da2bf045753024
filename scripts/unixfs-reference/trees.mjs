// The directory trees of fixtures/unixfs-trees.json, imported by the reference importer
// (ipfs-unixfs-importer with Kubo's default profile). tests/tree_fixtures.rs builds the same
// trees (same names, same bytes) and compares every entry.
import { importer } from 'ipfs-unixfs-importer'
import { MemoryBlockstore } from 'blockstore-core/memory'

const enc = new TextEncoder()
const file = (path, text) => ({ path, content: enc.encode(text) })
const many = (dir, n) => Array.from({ length: n }, (_, i) => {
  const name = `file-${String(i).padStart(5, '0')}.txt`
  return file(`${dir}/${name}`, `file ${i}\n`)
})

export const trees = [
  { name: 'nested', wrap: false, entries: [file('d/a.txt', 'alpha\n'), file('d/sub/b.txt', 'beta\n'), { path: 'd/empty' }] },
  { name: 'wrapped-top-level', wrap: true, entries: [file('x.txt', 'x'), file('y.txt', 'y'), file('z/w.txt', 'w')] },
  { name: 'wrapped-v1', wrap: true, cidVersion: 1, rawLeaves: true, entries: [file('x.txt', 'x'), file('z/w.txt', 'w')] },
  { name: 'unicode-names', wrap: true, entries: [file('ünï cödé.txt', 'u'), file('a b/c%d.txt', 'p')] },
  { name: 'flat-5461', wrap: false, entries: many('edge', 5461) },
  { name: 'sharded-5462', wrap: false, entries: many('edge', 5462) },
  { name: 'sharded-10000', wrap: false, entries: many('big', 10000) },
  { name: 'sharded-10000-wrapped-v1', wrap: true, cidVersion: 1, rawLeaves: true, entries: many('big', 10000) },
]

const out = []
for (const t of trees) {
  const got = []
  for await (const e of importer(t.entries, new MemoryBlockstore(), {
    profile: 'unixfs-v0-2015',
    wrapWithDirectory: t.wrap,
    cidVersion: t.cidVersion ?? 0,
    rawLeaves: t.rawLeaves ?? false,
  })) {
    got.push({ path: e.path, cid: e.cid.toString(), size: Number(e.size) })
  }
  // the big trees: only the directories and a sample of files are kept
  const keep = got.filter((e, i) => got.length < 50 || !e.path.includes('/') || i % 997 === 0)
  out.push({ name: t.name, wrap: t.wrap, cidVersion: t.cidVersion ?? 0, rawLeaves: t.rawLeaves ?? false, count: got.length, entries: keep })
}
console.log(JSON.stringify(out, null, 1))
