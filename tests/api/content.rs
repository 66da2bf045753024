use crate::helpers::*;
use serde_json::json;

async fn setup(data: &[u8]) -> (TestApp, String) {
    let app = spawn_app().await;
    let body = app.add(data, "chunker=size-1024").await;
    let cid = body["cid"].as_str().unwrap().to_string();
    (app, cid)
}

fn sample() -> Vec<u8> {
    (0..5000u32).map(|i| b'a' + (i % 26) as u8).collect()
}

#[tokio::test]
async fn cat_streams_bytes_with_caching_headers() {
    let data = sample();
    let (app, cid) = setup(&data).await;
    for route in ["ipfs/cat", "ipfs/get"] {
        let res = app
            .client
            .get(app.api(&format!("{route}/{cid}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let h = res.headers().clone();
        assert_eq!(h["etag"], format!("\"{cid}\"").as_str());
        assert_eq!(h["cache-control"], "public, max-age=29030400, immutable");
        assert_eq!(h["x-ipfs-path"], format!("/ipfs/{cid}").as_str());
        assert_eq!(h["x-cache-hit"], "false");
        assert_eq!(h["accept-ranges"], "bytes");
        assert_eq!(h["content-type"], "text/plain; charset=utf-8");
        assert_eq!(h["content-length"], "5000");
        assert_eq!(res.bytes().await.unwrap(), data);
    }
}

#[tokio::test]
async fn content_type_is_sniffed_from_bytes() {
    let png = [&b"\x89PNG\r\n\x1a\n"[..], &[0u8; 64]].concat();
    let (app, cid) = setup(&png).await;
    let res = app
        .client
        .get(app.api(&format!("ipfs/cat/{cid}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["content-type"], "image/png");
}

#[tokio::test]
async fn ranges_single_suffix_and_open() {
    let data = sample();
    let (app, cid) = setup(&data).await;
    let url = app.api(&format!("ipfs/cat/{cid}"));
    for (range, start, end) in [
        ("bytes=6-16", 6, 16),
        ("bytes=-3", 4997, 4999),
        ("bytes=4000-", 4000, 4999),
        ("bytes=1020-1030", 1020, 1030),
        ("bytes=4990-9999", 4990, 4999),
    ] {
        let res = app
            .client
            .get(&url)
            .header("range", range)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 206, "{range}");
        assert_eq!(
            res.headers()["content-range"],
            format!("bytes {start}-{end}/5000").as_str(),
            "{range}"
        );
        assert_eq!(res.headers()["content-type"], "text/plain; charset=utf-8");
        assert_eq!(res.bytes().await.unwrap(), &data[start..=end], "{range}");
    }
}

#[tokio::test]
async fn unsatisfiable_range_is_416_with_content_range() {
    let (app, cid) = setup(&sample()).await;
    let res = app
        .client
        .get(app.api(&format!("ipfs/cat/{cid}")))
        .header("range", "bytes=5000-")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["content-range"], "bytes */5000");
    assert_error_response(res, 416, "range_not_satisfiable").await;
}

#[tokio::test]
async fn if_none_match_gives_304() {
    let (app, cid) = setup(b"etag me").await;
    let res = app
        .client
        .get(app.api(&format!("ipfs/cat/{cid}")))
        .header("if-none-match", format!("\"{cid}\""))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 304);
    assert_eq!(res.headers()["etag"], format!("\"{cid}\"").as_str());
    let other = app
        .client
        .get(app.api(&format!("ipfs/cat/{cid}")))
        .header("if-none-match", "\"something-else\"")
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 200);
}

#[tokio::test]
async fn head_gives_headers_only() {
    let (app, cid) = setup(b"head").await;
    let res = app
        .client
        .head(app.api(&format!("ipfs/cat/{cid}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-length"], "4");
    assert!(res.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn post_cat_returns_base64_json() {
    let (app, cid) = setup(b"inline bytes").await;
    let (status, body) = app.post_json("ipfs/cat", json!({"cid": cid})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"], "aW5saW5lIGJ5dGVz");
    assert_eq!(body["size"], 12);
    let (status, body) = app
        .post_json("ipfs/cat", json!({"cid": cid, "offset": 7, "length": 3}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["data"], "Ynl0"); // "byt"
}

#[tokio::test]
async fn kubo_offset_and_length_query() {
    let data = sample();
    let (app, cid) = setup(&data).await;
    let res = app
        .client
        .get(app.api(&format!("ipfs/cat/{cid}?offset=10&length=5")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 206);
    assert_eq!(res.bytes().await.unwrap(), &data[10..15]);
}

#[tokio::test]
async fn empty_file_cat() {
    let app = spawn_app().await;
    let body = app.add(b"", "").await;
    let res = app
        .client
        .get(app.api(&format!("ipfs/cat/{}", body["cid"].as_str().unwrap())))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-length"], "0");
}
