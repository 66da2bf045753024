//! Content leaves as stored (issue #12): with a browser's `Accept-Encoding`, no content route
//! encodes its body, and HEAD carries the same `Content-Length` as GET; bodies the service
//! renders (large JSON, listings) are still gzipped when the client accepts it.

use crate::helpers::*;

const BROWSER: &str = "gzip, deflate, br, zstd";

/// Text compresses well: if anything were encoding it, it would show.
fn compressible(len: usize) -> Vec<u8> {
    br#"{"key": "value", "list": [1, 2, 3]}"#.iter().copied().cycle().take(len).collect()
}

#[tokio::test]
async fn content_routes_send_the_stored_bytes_unencoded() {
    let app = spawn_app().await;
    let data = compressible(64 * 1024);
    let dir = app
        .add_named("doc.json", &data, "wrap-with-directory=true&cid-version=1")
        .await;
    let file = app.add(&data, "cid-version=1").await["cid"]
        .as_str()
        .unwrap()
        .to_string();
    let media = app.add(&data, "cid-version=1&raw-leaves=false").await["cid"]
        .as_str()
        .unwrap()
        .to_string();
    let routes = [
        format!("/ipfs/{dir}/doc.json"),
        format!("/ipfs/{file}"),
        format!("/ipfs/{file}?format=raw"),
        format!("/ipfs/{file}?format=car"),
        format!("/api/v0/mcp/ipfs/cat/{file}"),
        format!("/api/v0/mcp/ipfs/get/{file}"),
        format!("/api/v0/mcp/ipfs/block/get/{file}"),
        format!("/api/v0/mcp/ipfs/dag/export/{file}"),
        format!("/api/v0/mcp/stream/media/{media}"),
    ];
    for route in &routes {
        // twice: the second read is a cache hit, a different code path
        for _ in 0..2 {
            let res = app
                .client
                .get(app.url(route))
                .header("accept-encoding", BROWSER)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200, "{route}");
            assert!(
                res.headers().get("content-encoding").is_none(),
                "{route} was encoded: {:?}",
                res.headers()
            );
            let length = res.headers().get("content-length").cloned();
            let body = res.bytes().await.unwrap();
            if !route.contains("car") && !route.contains("export") {
                assert!(
                    body == data[..],
                    "{route}: bytes differ from what was stored"
                );
            }
            if let Some(length) = length {
                assert_eq!(length.to_str().unwrap(), body.len().to_string(), "{route}");
            }
            if route.contains("export") || route.contains("format=car") {
                continue; // a CAR's length is not known before it is written
            }
            let head = app
                .client
                .head(app.url(route))
                .header("accept-encoding", BROWSER)
                .send()
                .await
                .unwrap();
            if route.contains("block/get") {
                // GET-only route: HEAD is a 405 there
                continue;
            }
            assert_eq!(head.status(), 200, "HEAD {route}");
            assert!(
                head.headers().get("content-encoding").is_none(),
                "HEAD {route}"
            );
            assert_eq!(
                head.headers()
                    .get("content-length")
                    .unwrap_or_else(|| panic!("HEAD {route} has no Content-Length"))
                    .to_str()
                    .unwrap(),
                body.len().to_string(),
                "HEAD {route}"
            );
        }
    }
    // a range of content is not encoded either
    let res = app
        .client
        .get(app.url(&format!("/ipfs/{file}")))
        .header("accept-encoding", BROWSER)
        .header("range", "bytes=10-4009")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 206);
    assert!(res.headers().get("content-encoding").is_none());
    assert_eq!(res.bytes().await.unwrap(), data[10..4010]);
    app.stop().await;
}

#[tokio::test]
async fn rendered_bodies_are_gzipped_when_large_and_accepted() {
    let app = spawn_app().await;
    for i in 0..40u32 {
        app.add(&i.to_be_bytes(), "").await;
    }
    let url = app.api("ipfs/pin/ls");
    let plain = app.client.get(&url).send().await.unwrap();
    assert!(plain.headers().get("content-encoding").is_none());
    let plain_len = plain.bytes().await.unwrap().len();
    assert!(
        plain_len > 1024,
        "the listing is big enough to pay: {plain_len}"
    );
    let gz = app
        .client
        .get(&url)
        .header("accept-encoding", BROWSER)
        .send()
        .await
        .unwrap();
    assert_eq!(gz.status(), 200);
    assert_eq!(gz.headers()["content-encoding"], "gzip");
    assert!(gz.bytes().await.unwrap().len() < plain_len);
    // small JSON is not worth it
    let small = app
        .client
        .get(app.api("ipfs/version"))
        .header("accept-encoding", BROWSER)
        .send()
        .await
        .unwrap();
    assert!(small.headers().get("content-encoding").is_none());
    // an unsatisfiable Accept-Encoding is identity, not actix's 406
    let res = app
        .client
        .get(&url)
        .header("accept-encoding", "br;q=1, gzip;q=0, deflate;q=0")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers().get("content-encoding").is_none());
    app.stop().await;
}
