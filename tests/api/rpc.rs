//! Kubo's RPC API at `/api/v0/*` (issue #14): its wire conventions (POST only, the error
//! object, `arg` repeated, booleans as Python writes them, unknown options ignored, stream
//! headers, an in-band error on a stream that fails late) and the commands the real-client
//! tests (`clients.rs`) do not reach.

use crate::helpers::*;
use serde_json::{Value, json};

/// `POST /api/v0/<command>` with an optional multipart file.
async fn rpc(app: &TestApp, command: &str, file: Option<&[u8]>) -> reqwest::Response {
    let mut req = app.client.post(format!("{}/api/v0/{command}", app.address));
    if let Some(data) = file {
        let (body, ctype) = multipart("file", "f.bin", data);
        req = req.header("content-type", ctype).body(body);
    }
    req.send().await.unwrap()
}

async fn rpc_json(app: &TestApp, command: &str, file: Option<&[u8]>) -> (u16, Value) {
    let res = rpc(app, command, file).await;
    let status = res.status().as_u16();
    (status, res.json().await.unwrap())
}

/// An NDJSON answer's lines.
async fn rpc_lines(app: &TestApp, command: &str, file: Option<&[u8]>) -> (u16, Vec<Value>) {
    let res = rpc(app, command, file).await;
    let status = res.status().as_u16();
    let body = res.text().await.unwrap();
    let lines = body
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
        .collect();
    (status, lines)
}

fn is_kubo_error(body: &Value) -> bool {
    body["Type"] == "error"
        && body["Message"].is_string()
        && body["Code"].is_number()
        && body["success"] == false
        && body["error_type"].is_string()
}

#[tokio::test]
async fn commands_take_post_only_and_answer_options() {
    let app = spawn_app().await;
    let url = format!("{}/api/v0/cat?arg=bafkqaaa", app.address);
    let res = app.client.get(&url).send().await.unwrap();
    assert_eq!(res.status(), 405);
    assert_eq!(res.headers()["allow"], "POST, OPTIONS");
    assert!(is_kubo_error(&res.json().await.unwrap()));
    let res = app
        .client
        .request(reqwest::Method::OPTIONS, &url)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    // an unknown command is Kubo's 404 (the only 404: clients read it as "no such command")
    let (status, body) = rpc_json(&app, "no/such/command", None).await;
    assert_eq!(status, 404);
    assert!(is_kubo_error(&body), "{body}");
    assert_eq!(body["Code"], 3);
    // the MCP routes keep their own answers under /api/v0/mcp
    let (status, body) = app.get_json("health").await;
    assert_eq!((status, body["success"].clone()), (200, json!(true)));
}

#[tokio::test]
async fn errors_are_kubo_error_objects_with_kubo_statuses() {
    let app = spawn_app().await;
    // a client error: 400, Code 1
    let (status, body) = rpc_json(&app, "cat?arg=not-a-cid", None).await;
    assert_eq!(status, 400);
    assert!(is_kubo_error(&body), "{body}");
    assert_eq!(body["Code"], 1);
    // a missing argument
    let (status, body) = rpc_json(&app, "block/stat", None).await;
    assert_eq!((status, body["Code"].clone()), (400, json!(1)));
    // content the node does not have: Kubo's 500 whose message says "not found"
    let absent = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy";
    let (status, body) = rpc_json(&app, &format!("block/get?arg={absent}"), None).await;
    assert_eq!(status, 500);
    assert!(is_kubo_error(&body), "{body}");
    assert!(body["Message"].as_str().unwrap().contains("not found"));
    assert_eq!(body["error_type"], "not_found");
    // a body over the limit keeps its 413
    let mut settings = test_settings();
    settings.limits.max_upload_bytes = 1000;
    let small = spawn_with(settings).await;
    let res = rpc(&small, "add", Some(&[0u8; 5000])).await;
    assert_eq!(res.status(), 413);
    assert!(is_kubo_error(&res.json().await.unwrap()));
}

#[tokio::test]
async fn arguments_follow_kubo_conventions() {
    let app = spawn_app().await;
    let a = app.add(b"first", "pin=false").await["cid"].clone();
    let b = app.add(b"second", "pin=false").await["cid"].clone();
    let (a, b) = (a.as_str().unwrap(), b.as_str().unwrap());
    // `arg` repeated; `True` as Python sends it; an option this service does not know ignored
    let (status, body) = rpc_json(
        &app,
        &format!("pin/add?arg={a}&arg=/ipfs/{b}&recursive=True&made-up-option=1"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"Pins": [a, b]}));
    let (_, body) = rpc_json(&app, "pin/ls?type=recursive", None).await;
    assert_eq!(body["Keys"][a]["Type"], "recursive");
    assert_eq!(body["Keys"][b]["Type"], "recursive");
    // a boolean that is not one is refused, not guessed
    let (status, body) = rpc_json(&app, &format!("pin/rm?arg={a}&recursive=perhaps"), None).await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = rpc_json(&app, &format!("pin/rm?arg={a}&recursive=FALSE"), None).await;
    assert_eq!(
        status, 400,
        "a recursive pin is not removed by a direct unpin: {body}"
    );
    assert_eq!(body["error_type"], "conflict");
    let (status, body) = rpc_json(&app, &format!("pin/rm?arg={a}"), None).await;
    assert_eq!((status, body), (200, json!({"Pins": [a]})));
    // the pin set as NDJSON with stream=true
    let (_, lines) = rpc_lines(&app, "pin/ls?stream=true", None).await;
    assert!(
        lines.contains(&json!({"Cid": b, "Type": "recursive"})),
        "{lines:?}"
    );
}

#[tokio::test]
async fn answers_carry_the_stream_headers() {
    let app = spawn_app().await;
    let data = vec![b'x'; 10_000];
    let res = rpc(&app, "add", Some(&data)).await;
    assert_eq!(res.headers()["x-chunked-output"], "1");
    assert_eq!(res.headers()["trailer"], "X-Stream-Error");
    let line: Value = res.json().await.unwrap();
    let cid = line["Hash"].as_str().unwrap().to_string();
    let res = rpc(&app, &format!("cat?arg={cid}&offset=9990&length=100"), None).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["x-stream-output"], "1");
    assert_eq!(res.headers()["x-content-length"], "10");
    assert_eq!(res.bytes().await.unwrap().as_ref(), &data[9990..]);
    let (status, body) = rpc_json(&app, &format!("cat?arg={cid}&offset=10001"), None).await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn a_stream_that_fails_late_ends_with_an_error_line() {
    let app = spawn_app().await;
    // a dag-cbor node linking to a block nobody has: its refs start, then the walk fails
    let absent = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy";
    let doc = format!(r#"{{"a": {{"/": "{absent}"}}, "b": {{"/": "{absent}"}}}}"#);
    let (status, put) = rpc_json(&app, "dag/put?store-codec=dag-cbor", Some(doc.as_bytes())).await;
    assert_eq!(status, 200, "{put}");
    let root = put["Cid"]["/"].as_str().unwrap();
    let (status, lines) = rpc_lines(&app, &format!("refs?arg={root}&recursive=true"), None).await;
    assert_eq!(status, 200);
    assert_eq!(lines[0], json!({"Ref": absent, "Err": ""}));
    let last = lines.last().unwrap();
    assert!(
        is_kubo_error(last),
        "the stream did not end with the error: {lines:?}"
    );
    assert!(last["Message"].as_str().unwrap().contains("not found"));
    // and a stream that fails before its first line is a plain error answer
    let (status, body) = rpc_json(&app, &format!("refs?arg={absent}"), None).await;
    assert_eq!(status, 500, "{body}");
}

#[tokio::test]
async fn add_takes_kubo_import_options() {
    let app = spawn_app().await;
    let data = vec![7u8; 300_000];
    let expect = app
        .add(&data, "cid-version=1&chunker=size-65536&pin=false")
        .await;
    let (status, lines) = rpc_lines(
        &app,
        "add?cid-version=1&chunker=size-65536&pin=false&wrap-with-directory=true&progress=true",
        Some(&data),
    )
    .await;
    assert_eq!(status, 200);
    let progress: Vec<u64> = lines
        .iter()
        .filter(|l| l.get("Hash").is_none())
        .map(|l| l["Bytes"].as_u64().unwrap())
        .collect();
    assert!(
        !progress.is_empty() && progress.windows(2).all(|w| w[0] < w[1]),
        "{lines:?}"
    );
    let entries: Vec<&Value> = lines.iter().filter(|l| l.get("Hash").is_some()).collect();
    assert_eq!(
        entries.len(),
        2,
        "the file, then the wrapping directory: {lines:?}"
    );
    assert_eq!(entries[0]["Hash"], expect["cid"]);
    assert_eq!(entries[0]["Name"], "f.bin");
    assert_eq!(entries[1]["Name"], "");
    // quieter: the root alone
    let (_, all) = rpc_lines(&app, "add?wrap-with-directory=true", Some(&data)).await;
    let (_, lines) = rpc_lines(
        &app,
        "add?wrap-with-directory=true&quieter=true",
        Some(&data),
    )
    .await;
    assert_eq!(lines, [all.last().unwrap().clone()]);
    // only-hash stores nothing
    let fresh = vec![9u8; 1000];
    let (_, lines) = rpc_lines(&app, "add?only-hash=true", Some(&fresh)).await;
    let cid = lines[0]["Hash"].as_str().unwrap();
    let (status, _) = rpc_json(&app, &format!("block/stat?arg={cid}"), None).await;
    assert_eq!(status, 500, "only-hash stored the block");
    // what this importer cannot do is refused, never ignored
    for bad in [
        "trickle=true",
        "hash=blake2b-256",
        "inline=true",
        "chunker=rabin",
    ] {
        let (status, body) = rpc_json(&app, &format!("add?{bad}"), Some(b"x")).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
    // a body that is not multipart
    let res = app
        .client
        .post(format!("{}/api/v0/add", app.address))
        .body("raw")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}

#[tokio::test]
async fn get_answers_a_tar_and_gzips_it_on_request() {
    let app = spawn_app().await;
    let data = b"inside the archive".to_vec();
    let (_, lines) = rpc_lines(&app, "add?wrap-with-directory=true", Some(&data)).await;
    let root = lines.last().unwrap()["Hash"].as_str().unwrap().to_string();
    let res = rpc(&app, &format!("get?arg={root}"), None).await;
    assert_eq!(res.headers()["content-type"], "application/x-tar");
    let tar = res.bytes().await.unwrap();
    let mut archive = tar::Archive::new(&tar[..]);
    let names: Vec<String> = archive
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect();
    assert_eq!(names, [format!("{root}/"), format!("{root}/f.bin")]);
    let res = rpc(
        &app,
        &format!("get?arg={root}&compress=true&compression-level=9"),
        None,
    )
    .await;
    let gz = res.bytes().await.unwrap();
    let mut unzipped = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut unzipped).unwrap();
    assert_eq!(unzipped, tar.to_vec());
}

#[tokio::test]
async fn refs_dag_stat_and_pin_verify_walk_the_dag() {
    let app = spawn_app().await;
    let data: Vec<u8> = (0..5000u32).flat_map(|i| i.to_le_bytes()).collect();
    let added = app.add(&data, "chunker=size-4096&pin=false").await;
    let root = added["cid"].as_str().unwrap();
    let (_, refs) = rpc_lines(&app, &format!("refs?arg={root}"), None).await;
    assert_eq!(refs.len(), 5, "20000 bytes in 4096-byte chunks: {refs:?}");
    let (_, unique) = rpc_lines(
        &app,
        &format!("refs?arg={root}&recursive=true&unique=true"),
        None,
    )
    .await;
    assert_eq!(
        unique, refs,
        "a two-level DAG: the recursive refs are the leaves"
    );
    let (_, edges) = rpc_lines(&app, &format!("refs?arg={root}&edges=true"), None).await;
    assert!(
        edges[0]["Ref"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{root} -> "))
    );
    let (_, stat) = rpc_json(&app, &format!("dag/stat?arg={root}"), None).await;
    assert_eq!(stat["NumBlocks"], 6);
    assert_eq!(
        stat["Size"],
        added["Size"].as_str().unwrap().parse::<u64>().unwrap()
    );
    // pin/verify: nothing broken, so nothing printed unless verbose
    rpc_json(&app, &format!("pin/add?arg={root}"), None).await;
    let (status, lines) = rpc_lines(&app, "pin/verify", None).await;
    assert_eq!((status, lines.len()), (200, 0), "{lines:?}");
    let (_, lines) = rpc_lines(&app, "pin/verify?verbose=true", None).await;
    assert!(
        lines.contains(&json!({"Cid": root, "Ok": true, "BadNodes": []})),
        "{lines:?}"
    );
}

#[tokio::test]
async fn pin_update_block_rm_and_files_stat() {
    let app = spawn_app().await;
    let old = app.add(b"version one", "").await["cid"]
        .as_str()
        .unwrap()
        .to_string();
    let new = app.add(b"version two", "pin=false").await["cid"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, body) = rpc_json(&app, &format!("pin/update?arg={old}&arg={new}"), None).await;
    assert_eq!((status, body), (200, json!({"Pins": [old, new]})));
    let (_, pins) = rpc_json(&app, "pin/ls", None).await;
    assert!(pins["Keys"].get(&old).is_none() && pins["Keys"].get(&new).is_some());
    // block/rm: a pinned block is refused in its line; an unpinned one goes
    let (_, lines) = rpc_lines(&app, &format!("block/rm?arg={new}"), None).await;
    assert!(
        lines[0]["Error"].as_str().unwrap().contains("pinned"),
        "{lines:?}"
    );
    let (_, lines) = rpc_lines(&app, &format!("block/rm?arg={old}"), None).await;
    assert_eq!(lines, [json!({"Hash": old, "Error": ""})]);
    let (status, _) = rpc_json(&app, &format!("block/stat?arg={old}"), None).await;
    assert_eq!(status, 500);
    let (_, lines) = rpc_lines(&app, &format!("block/rm?arg={old}&force=true"), None).await;
    assert_eq!(lines[0]["Error"], "", "force: a missing block is no error");
    // files/stat of an /ipfs/ path (the Kubo backend's stat)
    let (status, stat) = rpc_json(&app, &format!("files/stat?arg=/ipfs/{new}"), None).await;
    assert_eq!(status, 200, "{stat}");
    assert_eq!(
        (&stat["Hash"], &stat["Size"], &stat["Type"]),
        (&json!(new), &json!(11), &json!("file"))
    );
    let (status, body) = rpc_json(&app, "files/stat?arg=/my/mfs/path", None).await;
    assert_eq!(status, 500, "{body}");
    assert_eq!(body["error_type"], "not_implemented");
}

#[tokio::test]
async fn dag_import_export_and_routing() {
    let app = spawn_app().await;
    let cid = app.add(b"exported", "pin=false").await["cid"]
        .as_str()
        .unwrap()
        .to_string();
    let car = rpc(&app, &format!("dag/export?arg={cid}"), None)
        .await
        .bytes()
        .await
        .unwrap();
    let other = spawn_app().await;
    let (status, lines) = rpc_lines(&other, "dag/import?stats=true", Some(&car)).await;
    assert_eq!(status, 200);
    assert_eq!(lines[0]["Root"]["Cid"]["/"], cid);
    assert_eq!(lines[1]["Stats"]["BlockCount"], 1);
    let res = rpc(&other, &format!("cat?arg={cid}"), None).await;
    assert_eq!(res.bytes().await.unwrap().as_ref(), b"exported");
    // routing, and the old dht names
    for command in ["routing/findprovs", "dht/findprovs"] {
        let (status, lines) = rpc_lines(&app, &format!("{command}?arg={cid}"), None).await;
        assert_eq!(status, 200);
        assert_eq!(lines[0]["Type"], 4, "{lines:?}");
    }
    let (_, id) = rpc_json(&app, "id", None).await;
    let (_, lines) = rpc_lines(
        &app,
        &format!("routing/findpeer?arg={}", id["ID"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(lines[0]["Responses"][0]["ID"], id["ID"]);
    let (_, published) = rpc_json(&app, &format!("name/publish?arg=/ipfs/{cid}"), None).await;
    let name = published["Name"].as_str().unwrap();
    let (_, lines) = rpc_lines(&app, &format!("routing/get?arg=/ipns/{name}"), None).await;
    assert!(
        lines[0]["Extra"].as_str().unwrap().len() > 100,
        "the signed record"
    );
    let (_, repo) = rpc_json(&app, "repo/stat", None).await;
    assert!(repo["NumObjects"].as_u64().unwrap() >= 1);
    let (status, body) = rpc_json(&app, "stats/bw", None).await;
    assert_eq!(status, 500, "the simulation has no network: {body}");
    assert_eq!(body["error_type"], "not_supported");
}

#[tokio::test]
async fn the_seed_request_shapes_are_accepted() {
    let app = spawn_app().await;
    let cid = app.add(b"seed", "").await["cid"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, body) = app
        .post_json(
            "ipfs/dht/findprovs",
            json!({"cid": cid, "num_providers": 1}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["count"], 1);
    let (_, id) = app.get_json("ipfs/id").await;
    let (status, body) = app
        .post_json("ipfs/dht/findpeer", json!({"peer_id": id["ID"]}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["peer"]["ID"], id["ID"]);
    let (status, body) = app
        .post_json("ipfs/dag/put", json!({"obj": {"seed": true}}))
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, got) = app
        .get_json(&format!("ipfs/dag/get/{}", body["cid"].as_str().unwrap()))
        .await;
    assert_eq!(got["data"], json!({"seed": true}));
}

#[tokio::test]
async fn rpc_commands_are_counted_and_need_their_scopes() {
    use ipfs_mcp::models::auth::scope::{Access, Scope};
    use ipfs_mcp::startup::access_of;
    assert_eq!(access_of("/api/v0/cat"), Access::Scoped(Scope::Read));
    assert_eq!(access_of("/api/v0/add"), Access::Scoped(Scope::Write));
    assert_eq!(access_of("/api/v0/pin/add"), Access::Scoped(Scope::Pin));
    assert_eq!(access_of("/api/v0/pin/ls"), Access::Scoped(Scope::Read));
    assert_eq!(access_of("/api/v0/block/rm"), Access::Scoped(Scope::Admin));
    assert_eq!(
        access_of("/api/v0/routing/put"),
        Access::Scoped(Scope::Write)
    );
    assert_eq!(
        access_of("/api/v0/routing/findprovs"),
        Access::Scoped(Scope::Read)
    );
    assert_eq!(access_of("/api/v0/no-such"), Access::Scoped(Scope::Admin));
    let app = spawn_app().await;
    rpc(&app, "version", None).await;
    let metrics = app
        .client
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(r#"route="rpc/version""#),
        "RPC commands have their own operation names"
    );
}
