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
    for (route, tier) in [("ipfs/cat", "backend"), ("ipfs/get", "memory")] {
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
        assert_eq!(
            h["x-cache-tier"], tier,
            "first read fetches, the second is cached"
        );
        assert_eq!(
            h["x-cache-hit"],
            if tier == "backend" { "false" } else { "true" }
        );
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

#[tokio::test]
async fn cache_stats_clear_and_large_files_streamed_through() {
    let mut settings = test_settings();
    settings.cache.max_object_bytes = 3000;
    let app = spawn_with(settings).await;
    let small = app.add(&sample()[..2000], "").await["cid"]
        .as_str()
        .unwrap()
        .to_string();
    let large = app.add(&sample(), "").await["cid"]
        .as_str()
        .unwrap()
        .to_string();
    let tier =
        |res: &reqwest::Response| res.headers()["x-cache-tier"].to_str().unwrap().to_string();
    let get = |cid: &str| app.client.get(app.api(&format!("ipfs/cat/{cid}"))).send();
    assert_eq!(tier(&get(&small).await.unwrap()), "backend");
    let res = get(&small).await.unwrap();
    assert_eq!(tier(&res), "memory");
    assert_eq!(res.bytes().await.unwrap(), &sample()[..2000]);
    for _ in 0..2 {
        let res = get(&large).await.unwrap();
        assert_eq!(
            tier(&res),
            "backend",
            "over max_object_bytes: streamed, never cached"
        );
        assert_eq!(res.bytes().await.unwrap(), sample());
    }
    // a range of a cached object is served from the cache too
    let res = app
        .client
        .get(app.api(&format!("ipfs/cat/{small}")))
        .header("range", "bytes=10-19")
        .send()
        .await
        .unwrap();
    assert_eq!(
        (res.status().as_u16(), tier(&res)),
        (206, "memory".to_string())
    );
    assert_eq!(res.bytes().await.unwrap(), &sample()[10..20]);
    let (status, stats) = app.get_json("cache/stats").await;
    assert_eq!(status, 200);
    let memory = &stats["tiers"][0];
    assert_eq!(memory["tier"], "memory");
    assert_eq!(memory["items"], 1);
    assert_eq!(memory["bytes"], 2000);
    assert_eq!(memory["hits"], 2);
    assert_eq!(stats["backend_fetches"], 1);
    let (status, body) = app
        .post_json("cache/clear", json!({"tier": "memory"}))
        .await;
    assert_eq!((status, body["cleared"].as_str()), (200, Some("memory")));
    assert_eq!(tier(&get(&small).await.unwrap()), "backend");
    let (status, body) = app.post_json("cache/clear", json!({"tier": "nope"})).await;
    assert_error(status, &body, 400, "invalid_argument");
}
