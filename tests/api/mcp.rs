//! The Model Context Protocol server (issue #14), driven by the official Python SDK (PyPI
//! `mcp`, the 2.x line and the 1.x line, `tests/clients/mcp_check.py`) over streamable HTTP
//! and over stdio, and by `@modelcontextprotocol/inspector --cli`; plus what the transport
//! must refuse: a foreign `Origin` (403) and, with auth on, a caller without a key (401) or
//! without the scope a tool's operation needs.
//!
//! The SDKs live in virtual environments `.ci/run` makes: `tests/clients/.venv-mcp2` and
//! `tests/clients/.venv-mcp1`. Without them these are skipped with the install step named;
//! `IPFS_MCP_REQUIRE_CLIENTS=1` (CI) makes them fail instead.

use crate::helpers::*;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::Command;

fn clients() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clients")
}

/// The Python of the venv holding SDK line `major`, if it is there.
fn sdk_python(major: u32) -> Option<PathBuf> {
    let python = clients().join(format!(".venv-mcp{major}/bin/python"));
    if python.exists() {
        return Some(python);
    }
    let install = format!(
        "python3 -m venv tests/clients/.venv-mcp{major} && \
         tests/clients/.venv-mcp{major}/bin/pip install 'mcp{}'",
        if major == 1 { "<2" } else { ">=2,<3" }
    );
    assert!(
        std::env::var_os("IPFS_MCP_REQUIRE_CLIENTS").is_none(),
        "the Python MCP SDK {major}.x is required: {install}"
    );
    eprintln!("skipped: the Python MCP SDK {major}.x is not installed ({install})");
    None
}

/// What `mcp_check.py` saw, checked; `mcp_cid`: the MCP API's CID for the same bytes.
fn check_session(got: &Value, major: u32, mcp_cid: Option<&str>) {
    assert!(
        got["sdk"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{major}.")),
        "{}",
        got["sdk"]
    );
    let tools: Vec<&str> = got["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    for wanted in [
        "ipfs_add",
        "ipfs_cat",
        "ipfs_ls",
        "ipfs_stat",
        "ipfs_pin_add",
        "ipfs_pin_rm",
        "ipfs_pin_ls",
        "ipfs_block_stat",
        "ipfs_dag_get",
        "ipfs_dag_put",
        "ipfs_name_publish",
        "ipfs_name_resolve",
        "ipfs_find_providers",
        "cache_stats",
        "cache_metadata",
        "batch",
    ] {
        assert!(tools.contains(&wanted), "{wanted} missing from {tools:?}");
    }
    assert_eq!(
        got["schemas"], true,
        "every tool has an object input and output schema"
    );
    if let Some(cid) = mcp_cid {
        assert_eq!(
            got["add"]["cid"], cid,
            "the same CID as the MCP API's for the same bytes"
        );
    }
    assert_eq!(got["cat_text"], "hello over MCP");
    assert_eq!(got["cat_range"], "over");
    assert_eq!(
        got["cat_blob"],
        json!({"type": "resource", "bytes_ok": true})
    );
    assert_eq!(got["resource_text"], "hello over MCP");
    assert_eq!(got["templates"], json!(["ipfs://{cid}"]));
    assert!(got["pins_resource"].is_array());
    assert_eq!(got["error"]["isError"], true);
    assert_eq!(got["error"]["structured"]["error_type"], "invalid_argument");
    assert_eq!(got["error"]["structured"]["success"], false);
    let total = 20 * 1024 * 1024;
    for key in ["progress", "source_progress"] {
        let seen = got[key].as_array().unwrap();
        assert!(
            seen.len() >= 10,
            "{key}: {} notifications for 20 MB",
            seen.len()
        );
        let done: Vec<f64> = seen.iter().map(|p| p[0].as_f64().unwrap()).collect();
        assert!(
            done.windows(2).all(|w| w[0] < w[1]),
            "{key} goes backwards: {done:?}"
        );
        assert_eq!(
            seen.last().unwrap(),
            &json!([total as f64, total as f64]),
            "{key}"
        );
    }
    assert_eq!(got["big_add"]["content_size_bytes"], total);
    assert!(
        got["source_add"]["cid"]
            .as_str()
            .unwrap()
            .starts_with("bafy"),
        "CIDv1 re-import"
    );
    assert_eq!(
        got["big_cat"]["type"], "resource_link",
        "20 MB is over the inline limit"
    );
    assert_eq!(got["batch"], 2);
}

async fn over_http(major: u32) {
    let Some(python) = sdk_python(major) else {
        return;
    };
    let mut settings = test_settings();
    settings.limits.max_json_bytes = 64 * 1024 * 1024;
    let app = spawn_with(settings).await;
    let cid = app.add(b"hello over MCP", "pin=false").await["cid"]
        .as_str()
        .unwrap()
        .to_string();
    let mut check = Command::new(python);
    check
        .arg(clients().join("mcp_check.py"))
        .arg("http")
        .arg(format!("{}/mcp", app.address));
    check_session(&run_client(check).await, major, Some(&cid));
    app.stop().await;
}

async fn over_stdio(major: u32) {
    let Some(python) = sdk_python(major) else {
        return;
    };
    let mut check = Command::new(python);
    check
        .arg(clients().join("mcp_check.py"))
        .arg("stdio")
        .arg(env!("CARGO_BIN_EXE_ipfs-mcp"));
    let app = spawn_app().await;
    let cid = app.add(b"hello over MCP", "pin=false").await["cid"]
        .as_str()
        .unwrap()
        .to_string();
    check_session(&run_client(check).await, major, Some(&cid));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_2_over_streamable_http() {
    over_http(2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_1_over_streamable_http() {
    over_http(1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_2_over_stdio() {
    over_stdio(2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_sdk_1_over_stdio() {
    over_stdio(1).await;
}

/// `@modelcontextprotocol/inspector --cli` (npm): list the tools, call one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_inspector_cli_lists_and_calls_tools() {
    let cli = clients().join("node_modules/@modelcontextprotocol/inspector/cli/build/cli.js");
    if !cli.exists() {
        let install = "npm ci --prefix tests/clients";
        assert!(
            std::env::var_os("IPFS_MCP_REQUIRE_CLIENTS").is_none(),
            "@modelcontextprotocol/inspector is required: {install}"
        );
        eprintln!("skipped: @modelcontextprotocol/inspector not installed ({install})");
        return;
    }
    let app = spawn_app().await;
    let url = format!("{}/mcp", app.address);
    let inspector = |args: &[&str]| {
        let mut c = Command::new("node");
        c.arg(&cli)
            .arg("--cli")
            .arg(&url)
            .args(["--transport", "http"])
            .args(args);
        c
    };
    let listed = run_client(inspector(&["--method", "tools/list"])).await;
    let names: Vec<&str> = listed["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"ipfs_add") && names.contains(&"ipfs_cat"),
        "{names:?}"
    );
    let added = run_client(inspector(&[
        "--method",
        "tools/call",
        "--tool-name",
        "ipfs_add",
        "--tool-arg",
        "content=from the inspector",
    ]))
    .await;
    let cid = added["structuredContent"]["cid"]
        .as_str()
        .unwrap()
        .to_string();
    let cat = run_client(inspector(&[
        "--method",
        "tools/call",
        "--tool-name",
        "ipfs_cat",
        "--tool-arg",
        &format!("cid={cid}"),
    ]))
    .await;
    assert_eq!(cat["content"][0]["text"], "from the inspector");
    app.stop().await;
}

/// A JSON-RPC `initialize` as a client posts it to `/mcp`.
fn initialize() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-03-26", "capabilities": {},
        "clientInfo": {"name": "test", "version": "1"}}})
}

async fn post_mcp(app: &TestApp, headers: &[(&str, &str)], body: &Value) -> reqwest::Response {
    let mut req = app
        .client
        .post(format!("{}/mcp", app.address))
        .header("accept", "application/json, text/event-stream")
        .json(body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn a_foreign_origin_is_refused_and_a_local_one_served() {
    let app = spawn_app().await;
    let res = post_mcp(&app, &[("origin", "http://evil.example")], &initialize()).await;
    assert_eq!(res.status(), 403);
    let res = post_mcp(&app, &[("origin", "http://localhost:6274")], &initialize()).await;
    assert_eq!(res.status(), 200);
    assert!(res.headers().contains_key("mcp-session-id"));
    // without an Origin (a program, not a browser page)
    let res = post_mcp(&app, &[], &initialize()).await;
    assert_eq!(res.status(), 200);
    // a Host it does not answer to (DNS rebinding)
    let res = post_mcp(&app, &[("host", "attacker.example")], &initialize()).await;
    assert_eq!(res.status(), 403);
}

/// The SSE `data:` line of a JSON-RPC answer.
async fn rpc_answer(res: reqwest::Response) -> Value {
    let text = res.text().await.unwrap();
    text.lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .find(|v| v.get("id").is_some())
        .unwrap_or_else(|| panic!("no answer in {text:?}"))
}

#[tokio::test]
async fn with_auth_on_mcp_needs_a_key_and_tools_need_their_scopes() {
    let dir = tempfile::tempdir().unwrap();
    let reader = make_key(dir.path(), "read");
    let app = spawn_with(auth_settings(dir.path())).await;
    let res = post_mcp(&app, &[], &initialize()).await;
    assert_eq!(res.status(), 401, "no key");
    let bearer = format!("Bearer {reader}");
    let auth = [("authorization", bearer.as_str())];
    let res = post_mcp(&app, &auth, &initialize()).await;
    assert_eq!(res.status(), 200);
    let session = res.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_string();
    let mut with_session = auth.to_vec();
    with_session.push(("mcp-session-id", &session));
    with_session.push(("mcp-protocol-version", "2025-03-26"));
    let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    post_mcp(&app, &with_session, &note).await;
    let call = |id: u64, name: &str, args: Value| {
        json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
               "params": {"name": name, "arguments": args}})
    };
    // a read-only key reads, and may not add
    let answer =
        rpc_answer(post_mcp(&app, &with_session, &call(2, "cache_stats", json!({}))).await).await;
    assert_eq!(answer["result"]["isError"], false, "{answer}");
    let answer = rpc_answer(
        post_mcp(
            &app,
            &with_session,
            &call(3, "ipfs_add", json!({"content": "x"})),
        )
        .await,
    )
    .await;
    assert_eq!(answer["result"]["isError"], true, "{answer}");
    assert_eq!(
        answer["result"]["structuredContent"]["error_type"],
        "insufficient_scope"
    );
    let pins: Value = app
        .client
        .get(app.api("ipfs/pin/ls"))
        .bearer_auth(&reader)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(pins["count"], 0, "nothing was added");
}
