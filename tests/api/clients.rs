//! The clients people already have (issue #14), run for real against the Kubo RPC API: npm
//! `kubo-rpc-client` (`tests/clients/kubo-rpc-client.mjs`) and PyPI `ipfshttpclient` 0.8.0a2
//! (`tests/clients/ipfshttpclient_check.py`). Each script makes the calls and prints what it
//! got; the checks are here, and the CIDs are compared with what the MCP API gives for the
//! same bytes.
//!
//! Without the clients installed these are skipped with the install step named;
//! `IPFS_MCP_REQUIRE_CLIENTS=1` (CI) makes them fail instead.

use crate::helpers::*;
use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

fn clients_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clients")
}

fn missing(what: &str, install: &str) -> bool {
    assert!(
        std::env::var_os("IPFS_MCP_REQUIRE_CLIENTS").is_none(),
        "{what} is required: {install}"
    );
    eprintln!("skipped: {what} not installed ({install})");
    true
}

/// The CID the MCP API gives for `data` added with `query`.
async fn mcp_cid(app: &TestApp, data: &[u8], query: &str) -> String {
    app.add(data, query).await["cid"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubo_rpc_client_works_unchanged() {
    let dir = clients_dir();
    if !dir.join("node_modules/kubo-rpc-client").exists()
        && missing("kubo-rpc-client", "npm ci --prefix tests/clients")
    {
        return;
    }
    let app = spawn_app().await;
    let mut node = Command::new("node");
    node.arg(dir.join("kubo-rpc-client.mjs")).arg(&app.address);
    let got = run_client(node).await;

    let hello = b"hello from kubo-rpc-client";
    assert_eq!(got["add"]["cid"], mcp_cid(&app, hello, "").await);
    assert_eq!(got["add"]["size"], 34, "{got}");
    assert_eq!(
        got["add_v1"],
        mcp_cid(&app, b"raw leaves, CIDv1", "cid-version=1").await
    );
    // the tree: every entry, the root last, and the same root as the MCP API's directory add
    let tree = got["tree"].as_array().unwrap();
    let paths: Vec<&str> = tree.iter().map(|e| e["path"].as_str().unwrap()).collect();
    assert_eq!(
        paths,
        [
            "tree/a.txt",
            "tree/sub/b.txt",
            "tree/sub/empty",
            "tree/sub",
            "tree"
        ]
    );
    let root = tree.last().unwrap()["cid"].as_str().unwrap();
    let mcp_root = app_tree_root(&app).await;
    assert_eq!(root, mcp_root);
    assert_eq!(
        got["progress_seen"], true,
        "no progress lines reached the client"
    );

    assert_eq!(got["cat"], "hello from kubo-rpc-client");
    assert_eq!(got["cat_range"], "from");
    assert_eq!(got["cat_path"], "file b, deeper");
    let ls = got["ls"].as_array().unwrap();
    assert_eq!(ls.len(), 2);
    assert_eq!(
        (&ls[0]["name"], &ls[0]["type"], &ls[0]["size"]),
        (&"a.txt".into(), &"file".into(), &6.into())
    );
    assert_eq!(
        (&ls[1]["name"], &ls[1]["type"]),
        (&"sub".into(), &"dir".into())
    );

    let cid = got["add"]["cid"].as_str().unwrap();
    assert_eq!(got["pin_add"], cid);
    assert_eq!(got["pin_ls"][0]["cid"], cid);
    assert_eq!(got["pin_ls"][0]["type"], "recursive");
    assert!(
        got["pin_ls_all"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == cid)
    );
    assert_eq!(got["pin_rm"], cid);
    assert!(
        got["pin_ls_after_rm"]
            .as_str()
            .unwrap()
            .contains("not pinned"),
        "{}",
        got["pin_ls_after_rm"]
    );

    assert_eq!(got["block_get"], "a raw block");
    assert_eq!(got["block_stat"], 11);
    let (_, stat) = app
        .get_json(&format!(
            "ipfs/block/stat/{}",
            got["block_put"].as_str().unwrap()
        ))
        .await;
    assert_eq!(
        stat["Size"], 11,
        "the MCP API sees the block the client put"
    );

    assert_eq!(got["dag_get"]["hello"], "dag");
    assert_eq!(got["dag_get"]["n"], 7);
    assert_eq!(got["dag_get"]["link"], cid);
    assert_eq!(got["dag_get_path"], "dag");
    let (_, dag) = app
        .get_json(&format!(
            "ipfs/dag/get/{}",
            got["dag_put"].as_str().unwrap()
        ))
        .await;
    assert_eq!(dag["data"]["hello"], "dag");

    assert_eq!(got["name_publish"]["value"], format!("/ipfs/{cid}"));
    assert_eq!(got["name_resolve"][0], format!("/ipfs/{cid}"));

    let (_, id) = app.get_json("ipfs/id").await;
    assert_eq!(got["id"]["id"], id["ID"], "a real peer id, the node's");
    assert!(
        got["id"]["addresses"][0]
            .as_str()
            .unwrap()
            .starts_with("/ip4/127.0.0.1/tcp/")
    );
    assert!(
        got["id"]["agent"]
            .as_str()
            .unwrap()
            .starts_with("ipfs-mcp/")
    );
    assert_eq!(got["version"]["implementation"], "ipfs-mcp");
    assert_eq!(got["version"]["version"], env!("CARGO_PKG_VERSION"));
    assert!(
        got["bad_cid"].as_str().unwrap().contains("not found"),
        "{}",
        got["bad_cid"]
    );
    app.stop().await;
}

/// The tree kubo-rpc-client adds, through the MCP API's multipart directory add.
async fn app_tree_root(app: &TestApp) -> String {
    let boundary = "tree-boundary-14";
    let mut body = Vec::new();
    for (path, ctype, data) in [
        ("tree/a.txt", "application/octet-stream", &b"file a"[..]),
        (
            "tree/sub/b.txt",
            "application/octet-stream",
            b"file b, deeper",
        ),
        ("tree/sub/empty", "application/x-directory", b""),
    ] {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; \
                 filename=\"{}\"\r\nContent-Type: {ctype}\r\n\r\n",
                path.replace('/', "%2F")
            )
            .as_bytes(),
        );
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let res = app
        .client
        .post(app.api("ipfs/add?pin=false"))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    let added: Value = res.json().await.unwrap();
    added["cid"].as_str().unwrap().to_string()
}

fn python_has_ipfshttpclient() -> bool {
    Command::new("python3")
        .args(["-c", "import ipfshttpclient"])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipfshttpclient_works_unchanged() {
    if !python_has_ipfshttpclient()
        && missing(
            "ipfshttpclient",
            "python3 -m pip install ipfshttpclient==0.8.0a2",
        )
    {
        return;
    }
    let app = spawn_app().await;
    let tree = tempfile::tempdir().unwrap();
    let top = tree.path().join("tree");
    std::fs::create_dir_all(top.join("sub")).unwrap();
    std::fs::write(top.join("a.txt"), "file a\n").unwrap();
    std::fs::write(top.join("sub/b.txt"), "deeper\n").unwrap();
    let mut python = Command::new("python3");
    python
        .args(["-W", "ignore"])
        .arg(clients_dir().join("ipfshttpclient_check.py"))
        .arg(&app.address)
        .arg(&top);
    let got = run_client(python).await;

    let hello = got["add_bytes"].as_str().unwrap();
    assert_eq!(hello, mcp_cid(&app, b"hello from ipfshttpclient", "").await);
    let entries = got["add_tree"].as_array().unwrap();
    let names: Vec<&str> = entries
        .iter()
        .map(|e| e["Name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["tree/a.txt", "tree/sub/b.txt", "tree/sub", "tree"]);
    assert_eq!(
        entries[0]["Hash"],
        mcp_cid(&app, b"file a\n", "").await,
        "a file of the tree has the CID of the same bytes added alone"
    );
    assert_eq!(got["cat"], "hello from ipfshttpclient");
    assert_eq!(got["cat_range"], "from");
    let ls = got["ls"].as_array().unwrap();
    assert_eq!(
        (&ls[0]["Name"], &ls[0]["Type"], &ls[0]["Size"]),
        (&"a.txt".into(), &2.into(), &7.into())
    );
    assert_eq!((&ls[1]["Name"], &ls[1]["Type"]), (&"sub".into(), &1.into()));
    // pins: exactly one object per call, with the CID
    assert_eq!(got["pin_add"][0], hello);
    assert_eq!(got["pin_ls"][hello], "recursive");
    assert_eq!(got["pin_rm"][0], hello);
    assert!(
        got["pin_ls_after_rm"]
            .as_str()
            .unwrap()
            .contains("not pinned")
    );
    assert_eq!(got["block_get"], "a block from python");
    assert_eq!(got["block_stat"]["Size"], 19);
    assert_eq!(got["block_stat"]["Key"], got["block_put"]["Key"]);
    // `format=cbor` (the client's default) is dag-cbor, as on Kubo
    let dag = got["dag_put"].as_str().unwrap();
    assert!(dag.starts_with("bafyrei"), "{dag} is not a dag-cbor CIDv1");
    assert_eq!(
        got["dag_get"],
        serde_json::json!({"from": "python", "n": 3})
    );
    assert_eq!(got["name_publish"]["Value"], format!("/ipfs/{hello}"));
    assert_eq!(got["name_resolve"]["Path"], format!("/ipfs/{hello}"));
    assert!(got["id"]["ID"].as_str().unwrap().starts_with("12D3Koo"));
    assert_eq!(got["version"]["Implementation"], "ipfs-mcp");
    assert!(got["bad_cid"].as_str().unwrap().contains("invalid CID"));
    app.stop().await;
}
