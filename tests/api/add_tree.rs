//! Directory adds through `ipfs/add` (issue #12): many parts, nested names, directory parts,
//! percent-encoded file names, wrap-with-directory, HAMT sharding past Kubo's threshold. The
//! expected CIDs are the reference importer's (`fixtures/unixfs-trees.json`).

use crate::helpers::*;
use serde_json::Value;

/// A part: file name as sent (already encoded), content type, body.
type Part<'a> = (&'a str, &'a str, &'a [u8]);

const FILE: &str = "application/octet-stream";
const DIR: &str = "application/x-directory";

fn body(parts: &[Part]) -> (Vec<u8>, String) {
    let boundary = "----ipfs-mcp-tree-boundary";
    let mut out = Vec::new();
    for (i, (name, ctype, data)) in parts.iter().enumerate() {
        out.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file-{i}\"; \
                 filename=\"{name}\"\r\nContent-Type: {ctype}\r\nAbspath: /tmp/{name}\r\n\r\n"
            )
            .as_bytes(),
        );
        out.extend_from_slice(data);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (out, format!("multipart/form-data; boundary={boundary}"))
}

async fn add(app: &TestApp, parts: &[Part<'_>], query: &str) -> reqwest::Response {
    let (body, ctype) = body(parts);
    app.client
        .post(format!("{}?{query}", app.api("ipfs/add")))
        .header("content-type", ctype)
        .body(body)
        .send()
        .await
        .unwrap()
}

fn reference(tree: &str, path: &str) -> String {
    crate::common::tree_reference(tree, path)
}

#[tokio::test]
async fn several_files_wrapped_match_the_reference_and_are_all_listed() {
    let app = spawn_app().await;
    let parts: [Part; 3] = [
        ("x.txt", FILE, b"x"),
        ("y.txt", FILE, b"y"),
        ("z%2Fw.txt", FILE, b"w"),
    ];
    let res = add(&app, &parts, "wrap-with-directory=true").await;
    assert_eq!(res.status(), 200);
    let json: Value = res.json().await.unwrap();
    let root = reference("wrapped-top-level", "");
    assert_eq!(json["cid"], root.as_str());
    let entries = json["entries"].as_array().unwrap();
    let names: Vec<&str> = entries
        .iter()
        .map(|e| e["Name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["x.txt", "y.txt", "z/w.txt", "z", ""],
        "every entry, the root last"
    );
    assert_eq!(
        entries[3]["Hash"],
        reference("wrapped-top-level", "z").as_str()
    );
    // Kubo's NDJSON lines, on request
    let (b, ctype) = body(&parts);
    let lines = app
        .client
        .post(format!("{}?wrap-with-directory=true", app.api("ipfs/add")))
        .header("content-type", ctype)
        .header("accept", "application/x-ndjson")
        .body(b)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let lines: Vec<Value> = lines
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 5);
    assert_eq!(lines[4]["Hash"], root.as_str());
    // every file is there, under the root
    for (path, want) in [("x.txt", "x"), ("y.txt", "y"), ("z/w.txt", "w")] {
        let res = app
            .client
            .get(app.url(&format!("/ipfs/{root}/{path}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{path}");
        assert_eq!(res.text().await.unwrap(), want);
    }
    app.stop().await;
}

#[tokio::test]
async fn directory_parts_and_encoded_names_as_clients_send_them() {
    let app = spawn_app().await;
    // ipfshttpclient / kubo-rpc-client style: directories declared, paths percent-encoded
    let parts: [Part; 5] = [
        ("d", DIR, b""),
        ("d%2Fa.txt", FILE, b"alpha\n"),
        ("d%2Fsub", DIR, b""),
        ("d%2Fsub%2Fb.txt", FILE, b"beta\n"),
        ("d%2Fempty", DIR, b""),
    ];
    let json: Value = add(&app, &parts, "").await.json().await.unwrap();
    assert_eq!(json["cid"], reference("nested", "d").as_str(), "{json}");
    assert_eq!(json["Name"], "d");
    let parts: [Part; 2] = [
        ("%C3%BCn%C3%AF%20c%C3%B6d%C3%A9.txt", FILE, b"u"),
        ("a%20b%2Fc%25d.txt", FILE, b"p"),
    ];
    let json: Value = add(&app, &parts, "wrap-with-directory=true")
        .await
        .json()
        .await
        .unwrap();
    let root = reference("unicode-names", "");
    assert_eq!(json["cid"], root.as_str(), "{json}");
    // %25 decodes once: the entry is named c%d.txt, and its URL encodes the % again
    let res = app
        .client
        .get(app.url(&format!("/ipfs/{root}/a%20b/c%25d.txt")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), "p");
    app.stop().await;
}

#[tokio::test]
async fn parts_that_cannot_be_placed_are_400s_and_pin_nothing() {
    let app = spawn_app().await;
    let cases: [&[Part]; 5] = [
        &[("a.txt", FILE, b"1"), ("a.txt", FILE, b"2")],
        &[("..%2Fescape.txt", FILE, b"1")],
        &[("%2Fetc%2Fpasswd", FILE, b"1")],
        &[("f", FILE, b"1"), ("f%2Fg", FILE, b"2")],
        &[("d", DIR, b""), ("d", DIR, b"")],
    ];
    for parts in cases {
        let res = add(&app, parts, "wrap-with-directory=true").await;
        assert_eq!(res.status(), 400, "{parts:?}");
        let json: Value = res.json().await.unwrap();
        assert_eq!(json["success"], false);
        assert!(json["error"].as_str().unwrap().len() > 5, "{json}");
    }
    let (_, pins) = app.get_json("ipfs/pin/ls").await;
    assert_eq!(pins["pins"].as_array().map_or(0, Vec::len), 0, "{pins}");
    app.stop().await;
}

#[tokio::test]
async fn ten_thousand_files_shard_like_kubo_and_serve_through_the_gateway() {
    let app = spawn_app().await;
    let names: Vec<(String, Vec<u8>)> = (0..10_000)
        .map(|i| {
            (
                format!("big%2Ffile-{i:05}.txt"),
                format!("file {i}\n").into_bytes(),
            )
        })
        .collect();
    let parts: Vec<Part> = names
        .iter()
        .map(|(n, d)| (n.as_str(), FILE, d.as_slice()))
        .collect();
    let res = add(&app, &parts, "").await;
    assert_eq!(res.status(), 200);
    let json: Value = res.json().await.unwrap();
    let root = reference("sharded-10000", "big");
    assert_eq!(json["cid"], root.as_str());
    assert_eq!(json["entries"].as_array().unwrap().len(), 10_001);
    // served through the HAMT: a file, and the listing of every name
    let res = app
        .client
        .get(app.url(&format!("/ipfs/{root}/file-04242.txt")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), "file 4242\n");
    let missing = app
        .client
        .get(app.url(&format!("/ipfs/{root}/no-such-file")))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let listing = app
        .client
        .get(app.url(&format!("/ipfs/{root}/")))
        .send()
        .await
        .unwrap();
    assert_eq!(listing.status(), 200);
    let html = listing.text().await.unwrap();
    assert_eq!(
        html.matches("\">file-").count(),
        10_000,
        "each name listed once"
    );
    assert!(html.contains("file-09999.txt"));
    // a trustless CAR of a file path carries the shards on the way
    let car = app
        .client
        .get(app.url(&format!(
            "/ipfs/{root}/file-04242.txt?format=car&dag-scope=entity"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(car.status(), 200);
    let car = car.bytes().await.unwrap();
    assert!(
        car.len() > 3 * 34,
        "root shard, sub-shard and file: {} bytes",
        car.len()
    );
    app.stop().await;
}
