"""Drives ipfs-mcp's Model Context Protocol server with the official Python SDK (PyPI `mcp`,
the 2.x line and the 1.x line), over streamable HTTP or stdio (run by tests/api/mcp.rs, which
checks what it prints).

Usage: python mcp_check.py http URL         (URL: http://127.0.0.1:PORT/mcp)
       python mcp_check.py stdio BINARY      (runs `BINARY mcp --isolation`)
Prints one JSON object: what each step gave.
"""
import asyncio
import base64
import contextlib
import hashlib
import importlib.metadata
import json
import os
import sys

from mcp import ClientSession
from mcp.client import streamable_http
from mcp.client.stdio import StdioServerParameters, stdio_client

BIG = 20 * 1024 * 1024


def http_transport(url):
    # 1.x names it streamablehttp_client (and yields a third item, the session id getter);
    # 2.x renamed it streamable_http_client
    if hasattr(streamable_http, "streamablehttp_client"):
        return streamable_http.streamablehttp_client(url)
    return streamable_http.streamable_http_client(url)


def field(obj, camel, snake):
    """1.x spells the SDK's attributes in camelCase, 2.x in snake_case."""
    return getattr(obj, camel, None) if hasattr(obj, camel) else getattr(obj, snake, None)


def structured(result):
    return field(result, "structuredContent", "structured_content")


async def check(session):
    out = {"sdk": importlib.metadata.version("mcp")}
    await session.initialize()
    tools = (await session.list_tools()).tools
    out["tools"] = sorted(t.name for t in tools)
    out["schemas"] = all(
        field(t, "inputSchema", "input_schema").get("type") == "object"
        and (field(t, "outputSchema", "output_schema") or {}).get("type") == "object"
        for t in tools
    )
    added = await session.call_tool("ipfs_add", {"content": "hello over MCP", "pin": False})
    out["add"] = structured(added)
    cid = out["add"]["cid"]
    cat = await session.call_tool("ipfs_cat", {"cid": cid})
    out["cat_text"] = cat.content[0].text
    out["cat_range"] = (await session.call_tool("ipfs_cat", {"cid": cid, "offset": 6, "length": 4})).content[0].text
    binary = await session.call_tool(
        "ipfs_add", {"content_base64": base64.b64encode(bytes(range(256))).decode(), "pin": False}
    )
    blob = await session.call_tool("ipfs_cat", {"cid": structured(binary)["cid"]})
    out["cat_blob"] = {
        "type": blob.content[0].type,
        "bytes_ok": base64.b64decode(blob.content[0].resource.blob) == bytes(range(256)),
    }
    resource = await session.read_resource(f"ipfs://{cid}")
    out["resource_text"] = resource.contents[0].text
    templates = await session.list_resource_templates()
    out["templates"] = [
        field(t, "uriTemplate", "uri_template")
        for t in field(templates, "resourceTemplates", "resource_templates")
    ]
    pins = await session.read_resource("ipfs://pins")
    out["pins_resource"] = json.loads(pins.contents[0].text)

    failed = await session.call_tool("ipfs_cat", {"cid": "not-a-cid"})
    out["error"] = {"isError": field(failed, "isError", "is_error"), "structured": structured(failed)}

    big = hashlib.sha256(b"seed").digest() * (BIG // 32)
    seen = []

    async def on_progress(progress, total, message):
        seen.append((progress, total))

    big_add = await session.call_tool(
        "ipfs_add",
        {"content_base64": base64.b64encode(big).decode(), "pin": False},
        progress_callback=on_progress,
    )
    out["big_add"] = structured(big_add)
    out["progress"] = seen
    again = []

    async def on_progress_again(progress, total, message):
        again.append((progress, total))

    rewrap = await session.call_tool(
        "ipfs_add",
        {"source": f"ipfs://{structured(big_add)['cid']}", "cid_version": 1, "pin": False},
        progress_callback=on_progress_again,
    )
    out["source_add"] = structured(rewrap)
    out["source_progress"] = again
    link = await session.call_tool("ipfs_cat", {"cid": structured(big_add)["cid"]})
    out["big_cat"] = {"type": link.content[0].type, "uri": str(link.content[0].uri)}
    batch = await session.call_tool(
        "batch", {"calls": [{"op": "ipfs/id"}, {"op": "ipfs/pin/ls"}], "max_concurrent": 2}
    )
    out["batch"] = structured(batch)["count"]
    return out


async def main():
    mode, target = sys.argv[1], sys.argv[2]
    async with contextlib.AsyncExitStack() as stack:
        if mode == "http":
            streams = await stack.enter_async_context(http_transport(target))
        else:
            env = dict(os.environ)
            env["IPFS_MCP__LIMITS__MAX_JSON_BYTES"] = str(64 * 1024 * 1024)
            params = StdioServerParameters(command=target, args=["mcp", "--isolation"], env=env)
            streams = await stack.enter_async_context(stdio_client(params))
        read, write = streams[0], streams[1]
        session = await stack.enter_async_context(ClientSession(read, write))
        print(json.dumps(await check(session)))


asyncio.run(main())
