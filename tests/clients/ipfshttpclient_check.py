"""Drives ipfs-mcp's Kubo RPC API with the real PyPI `ipfshttpclient` 0.8.0a2 (run by
tests/api/clients.rs, which checks what it prints).

Usage: python3 ipfshttpclient_check.py http://127.0.0.1:PORT DIR
DIR is a directory tree to add. Prints one JSON object: what each call gave.

The client refuses daemons whose version it does not know when it connects (`connect()`);
constructing `Client` directly skips that check without faking a version.
"""
import io
import json
import sys
from urllib.parse import urlparse

import ipfshttpclient

url = urlparse(sys.argv[1])
tree = sys.argv[2]
client = ipfshttpclient.Client(addr=f"/ip4/{url.hostname}/tcp/{url.port}/http")
out = {}

out["add_bytes"] = client.add_bytes(b"hello from ipfshttpclient")
added = client.add(tree, recursive=True)
out["add_tree"] = [{"Name": e["Name"], "Hash": e["Hash"], "Size": e["Size"]} for e in added]
root = added[-1]["Hash"]
out["cat"] = client.cat(out["add_bytes"]).decode()
out["cat_range"] = client.cat(out["add_bytes"], offset=6, length=4).decode()
listed = client.ls(root)
out["ls"] = [
    {"Name": link["Name"], "Hash": link["Hash"], "Type": link["Type"], "Size": link["Size"]}
    for link in listed["Objects"][0]["Links"]
]
out["pin_add"] = client.pin.add(out["add_bytes"])["Pins"]
out["pin_ls"] = {k: v["Type"] for k, v in client.pin.ls(type="recursive")["Keys"].items()}
out["pin_rm"] = client.pin.rm(out["add_bytes"])["Pins"]
try:
    client.pin.ls(out["add_bytes"])
    out["pin_ls_after_rm"] = "still pinned"
except ipfshttpclient.exceptions.ErrorResponse as e:
    out["pin_ls_after_rm"] = str(e)

block = client.block.put(io.BytesIO(b"a block from python"))
out["block_put"] = block
out["block_get"] = client.block.get(block["Key"]).decode()
out["block_stat"] = client.block.stat(block["Key"])
dag = client.dag.put(io.BytesIO(json.dumps({"from": "python", "n": 3}).encode()))
out["dag_put"] = dag["Cid"]["/"]
out["dag_get"] = client.dag.get(dag["Cid"]["/"])
published = client.name.publish(f"/ipfs/{out['add_bytes']}")
out["name_publish"] = published
out["name_resolve"] = client.name.resolve(published["Name"])
out["id"] = client.id()
out["version"] = client.version()
try:
    client.cat("not-a-cid")
    out["bad_cid"] = "accepted"
except ipfshttpclient.exceptions.ErrorResponse as e:
    out["bad_cid"] = str(e)


def plain(value):
    """The client's answer objects (dict-like `ResponseBase`) as plain JSON."""
    if hasattr(value, "as_json"):
        return plain(value.as_json())
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


print(json.dumps(plain(out)))
