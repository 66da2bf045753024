//! `/ipns/` paths, media streaming with ranges and a type from the bytes, and raw uploads of
//! any size through `stream/to-ipfs`.

use crate::helpers::*;
use serde_json::json;

/// A minimal MP4 head (`ftyp` box, brand isom) followed by filler: typed by its bytes alone.
fn mp4(len: usize) -> Vec<u8> {
    let mut v = vec![0, 0, 0, 0x18];
    v.extend_from_slice(b"ftypisom\x00\x00\x02\x00isomiso2");
    v.extend((0..len - v.len()).map(|i| (i % 253) as u8));
    v
}

#[tokio::test]
async fn media_streams_with_ranges_and_a_sniffed_type() {
    let mut settings = test_settings();
    settings.cache.max_object_bytes = 64 * 1024; // the video streams from the node
    let app = spawn_with(settings).await;
    let video = mp4(300_000);
    let cid = app.add(&video, "").await["cid"]
        .as_str()
        .unwrap()
        .to_string();
    let url = app.api(&format!("stream/media/{cid}"));
    let res = app.client.get(&url).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "video/mp4");
    assert_eq!(res.headers()["accept-ranges"], "bytes");
    assert_eq!(res.bytes().await.unwrap().len(), video.len());
    // a player seeking: an open range from the middle
    let res = app
        .client
        .get(&url)
        .header("range", "bytes=200000-")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 206);
    assert_eq!(res.headers()["content-range"], "bytes 200000-299999/300000");
    assert_eq!(res.headers()["content-type"], "video/mp4");
    assert_eq!(res.bytes().await.unwrap().as_ref(), &video[200_000..]);
    let res = app
        .client
        .get(&url)
        .header("range", "bytes=300000-")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 416);
}

#[tokio::test]
async fn raw_bodies_go_to_ipfs_and_match_add() {
    let app = spawn_app().await;
    let data = crate::common::fixture_bytes("to-ipfs", 1_000_000);
    let res = app
        .client
        .post(app.api("stream/to-ipfs"))
        .header("content-type", "video/webm")
        .body(data.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    let via_add = app.add(&data, "").await;
    assert_eq!(body["cid"], via_add["cid"]);
    assert_eq!(body["content_size_bytes"], 1_000_000);

    let mut small = test_settings();
    small.limits.max_upload_bytes = 1000;
    let app = spawn_with(small).await;
    let res = app
        .client
        .post(app.api("stream/to-ipfs"))
        .body(vec![0u8; 5000])
        .send()
        .await
        .unwrap();
    assert_error_response(res, 413, "payload_too_large").await;
}

#[tokio::test]
async fn ipns_paths_resolve_and_cache_for_the_ttl() {
    let app = spawn_app().await;
    let data = b"published content";
    let cid = app.add(data, "").await["cid"].as_str().unwrap().to_string();
    let (status, published) = app
        .post_json("ipfs/name/publish", json!({"path": cid, "ttl": "5m"}))
        .await;
    assert_eq!(status, 200, "{published}");
    let name = published["name"]
        .as_str()
        .or(published["Name"].as_str())
        .unwrap()
        .to_string();
    let res = app
        .client
        .get(app.url(&format!("/ipns/{name}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "public, max-age=300");
    assert_eq!(res.headers()["x-ipfs-path"], format!("/ipns/{name}"));
    assert_eq!(res.bytes().await.unwrap().as_ref(), data);
    let res = app
        .client
        .get(app.url("/ipns/k51qzi5uqu5dlfgtrl7ywjq5ya5ts1xhrq7zq37gcac7chvwbjexkbuxt3o5e4"))
        .send()
        .await
        .unwrap();
    assert_error_response(res, 404, "not_found").await;
}
