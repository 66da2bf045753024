use crate::helpers::*;
use serde_json::json;

#[tokio::test]
async fn add_multipart_returns_kubo_cid_and_envelope() {
    let app = spawn_app().await;
    let body = app.add(b"hello world", "").await;
    assert_eq!(body["success"], true);
    assert_eq!(body["simulated"], true);
    assert_eq!(
        body["cid"],
        "Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD"
    );
    assert_eq!(body["Hash"], body["cid"]);
    assert_eq!(body["Name"], "data.bin");
    assert_eq!(body["Size"], "19");
    assert_eq!(body["content_size_bytes"], 11);
    assert_eq!(body["pinned"], true);
    assert!(body["operation_id"].as_str().unwrap().len() >= 32);
    assert!(body["duration_ms"].as_f64().is_some());
    assert!(body["timestamp"].as_str().is_some());
}

#[tokio::test]
async fn add_honours_kubo_parameters() {
    let app = spawn_app().await;
    let v1 = app.add(b"hello world", "cid-version=1").await;
    assert_eq!(
        v1["cid"],
        "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"
    );
    let v1pb = app
        .add(b"hello world", "cid-version=1&raw-leaves=false")
        .await;
    assert_eq!(
        v1pb["cid"],
        "bafybeihykld7uyxzogax6vgyvag42y7464eywpf55gxi5qpoisibh3c5wa"
    );
    let unpinned = app.add(b"no pin", "pin=false").await;
    assert_eq!(unpinned["pinned"], false);
}

#[tokio::test]
async fn add_json_and_add_file_routes() {
    let app = spawn_app().await;
    let (status, body) = app
        .post_json(
            "ipfs/add/json",
            json!({"content": "Hello Worlds!\n", "filename": "w.txt"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["cid"],
        "QmVr26fY1tKyspEJBniVhqxQeEjhF78XerGiqWAwraVLQH"
    );
    assert_eq!(body["Name"], "w.txt");
    let (status, body) = app.post_json("ipfs/add", json!({"content": ""})).await;
    assert_eq!(status, 200);
    assert_eq!(
        body["cid"],
        "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH"
    );
    let (mp, ctype) = multipart("file", "a.txt", b"hello world");
    let res = app
        .client
        .post(app.api("ipfs/add/file"))
        .header("content-type", ctype)
        .body(mp)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn add_raw_octet_stream_body() {
    let app = spawn_app().await;
    let res = app
        .client
        .post(app.api("ipfs/add?cid-version=1"))
        .header("content-type", "application/octet-stream")
        .body("hello world")
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(
        body["cid"],
        "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"
    );
}

#[tokio::test]
async fn wrap_with_directory_lists_both_entries_and_serves_by_name() {
    let app = spawn_app().await;
    let body = app.add(b"wrapped", "wrap-with-directory=true").await;
    let dir = body["cid"].as_str().unwrap();
    assert_eq!(body["Name"], "");
    assert_eq!(body["entries"][0]["Name"], "data.bin");
    assert_eq!(body["entries"][1]["Hash"], dir);
    let res = app
        .client
        .get(app.api(&format!("ipfs/cat/{dir}/data.bin")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.bytes().await.unwrap(), "wrapped");
}

#[tokio::test]
async fn only_hash_stores_nothing() {
    let app = spawn_app().await;
    let body = app
        .add(b"only hashed, never stored", "only-hash=true")
        .await;
    assert_eq!(body["pinned"], false);
    let cid = body["cid"].as_str().unwrap();
    let (status, err) = app.get_json(&format!("ipfs/block/stat/{cid}")).await;
    assert_error(status, &err, 404, "not_found");
}

#[tokio::test]
async fn http_add_matches_real_node_cids() {
    // Every fixture (0 B to 50 MB, five parameter sets) through HTTP, then cat back.
    use crate::common;
    let app = spawn_app().await;
    let fixtures = common::kubo_cids();
    let mut data = Vec::new();
    for case in fixtures
        .cases
        .iter()
        .filter(|c| c.size <= 3_000_017 || c.size == 31_002_625)
    {
        if data.len() != case.size {
            data = common::fixture_bytes(&fixtures.seed, case.size);
        }
        let body = app.add(&data, &format!("pin=false&{}", case.params)).await;
        assert_eq!(
            body["cid"],
            common::normalize(&case.cid),
            "{} [{}]",
            case.size,
            case.params
        );
        let res = app
            .client
            .get(app.api(&format!("ipfs/cat/{}", body["cid"].as_str().unwrap())));
        let bytes = res.send().await.unwrap().bytes().await.unwrap();
        assert!(
            bytes == data,
            "cat returns the same bytes for {} [{}]",
            case.size,
            case.params
        );
    }
}
