// Drives ipfs-mcp's Kubo RPC API with the real npm `kubo-rpc-client` (tests/api/clients.rs runs
// it and checks what it prints). Usage: node kubo-rpc-client.mjs http://127.0.0.1:PORT
// Prints one JSON object: what each call gave. Any failure exits non-zero with the error.
import { create } from 'kubo-rpc-client'

const url = process.argv[2]
const ipfs = create({ url: `${url}/api/v0` })
const text = (bytes) => new TextDecoder().decode(bytes)
async function collect (it) {
  const out = []
  for await (const x of it) out.push(x)
  return out
}
function concat (chunks) {
  const n = chunks.reduce((a, c) => a + c.length, 0)
  const out = new Uint8Array(n)
  let at = 0
  for (const c of chunks) { out.set(c, at); at += c.length }
  return out
}

const out = {}
const added = await ipfs.add(new TextEncoder().encode('hello from kubo-rpc-client'))
out.add = { cid: added.cid.toString(), size: added.size, path: added.path }
const v1 = await ipfs.add('raw leaves, CIDv1', { cidVersion: 1 })
out.add_v1 = v1.cid.toString()

let progressed = 0
const tree = await collect(ipfs.addAll([
  { path: 'tree/a.txt', content: new TextEncoder().encode('file a') },
  { path: 'tree/sub/b.txt', content: new TextEncoder().encode('file b, deeper') },
  { path: 'tree/sub/empty' }
], { progress: (bytes) => { progressed += bytes } }))
out.tree = tree.map((e) => ({ path: e.path, cid: e.cid.toString(), size: e.size }))
out.progress_seen = progressed > 0

out.cat = text(concat(await collect(ipfs.cat(added.cid))))
out.cat_range = text(concat(await collect(ipfs.cat(added.cid, { offset: 6, length: 4 }))))
const root = tree[tree.length - 1].cid
out.cat_path = text(concat(await collect(ipfs.cat(`/ipfs/${root}/sub/b.txt`))))
out.ls = (await collect(ipfs.ls(root))).map((e) => ({ name: e.name, type: e.type, size: e.size, cid: e.cid.toString() }))

const pinned = await ipfs.pin.add(added.cid)
out.pin_add = pinned.toString()
out.pin_ls = (await collect(ipfs.pin.ls({ paths: [added.cid] }))).map((p) => ({ cid: p.cid.toString(), type: p.type }))
out.pin_ls_all = (await collect(ipfs.pin.ls())).map((p) => p.cid.toString())
out.pin_rm = (await ipfs.pin.rm(added.cid)).toString()
try {
  await collect(ipfs.pin.ls({ paths: [added.cid] }))
  out.pin_ls_after_rm = 'still pinned'
} catch (e) {
  out.pin_ls_after_rm = e.message
}

const block = await ipfs.block.put(new TextEncoder().encode('a raw block'))
out.block_put = block.toString()
out.block_get = text(await ipfs.block.get(block))
out.block_stat = (await ipfs.block.stat(block)).size

const dagCid = await ipfs.dag.put({ hello: 'dag', n: 7, link: added.cid })
out.dag_put = dagCid.toString()
const got = await ipfs.dag.get(dagCid)
out.dag_get = { hello: got.value.hello, n: got.value.n, link: got.value.link.toString() }
const inner = await ipfs.dag.get(dagCid, { path: 'hello' })
out.dag_get_path = inner.value

const published = await ipfs.name.publish(`/ipfs/${added.cid}`)
out.name_publish = { name: published.name, value: published.value }
out.name_resolve = (await collect(ipfs.name.resolve(`/ipns/${published.name}`)))

const id = await ipfs.id()
out.id = { id: id.id.toString(), addresses: id.addresses.map((a) => a.toString()), agent: id.agentVersion }
const version = await ipfs.version()
out.version = version

try {
  await ipfs.block.get('bafkreiaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa')
  out.bad_cid = 'accepted'
} catch (e) {
  out.bad_cid = e.message
}
console.log(JSON.stringify(out))
