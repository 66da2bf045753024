//! The gateway in front of a real node: the node stops in the middle (circuit breaker, cached
//! content still served, fast 503s, recovery without a restart); and, against a scripted
//! node, a failure reported in the `X-Stream-Error` trailer never reaches a client as success.

use crate::common::ipfs_node::IpfsNode;
use crate::helpers::*;
use ipfs_mcp::backend::BackendKind;
use ipfs_mcp::config::Settings;
use serde_json::Value;
use std::time::{Duration, Instant};

const RECOVERY_MS: u64 = 2_000;

fn kubo_settings(api: &str) -> Settings {
    let mut s = test_settings();
    s.backend.kind = BackendKind::Kubo;
    s.backend.kubo.url = api.to_string();
    s.backend.kubo.first_byte_timeout_ms = 5_000;
    s.backend.kubo.retries = 1;
    s.backend.kubo.retry_backoff_ms = 50;
    s.backend.breaker.failure_threshold = 2;
    s.backend.breaker.recovery_ms = RECOVERY_MS;
    s
}

async fn cat(app: &TestApp, cid: &str) -> reqwest::Response {
    app.client
        .get(app.api(&format!("ipfs/cat/{cid}")))
        .send()
        .await
        .unwrap()
}

async fn health(app: &TestApp) -> Value {
    let (status, body) = app.get_json("health").await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_node_stops_and_comes_back() {
    let Some(node) = tokio::task::spawn_blocking(|| IpfsNode::start("resilience"))
        .await
        .unwrap()
    else {
        return;
    };
    let app = spawn_with(kubo_settings(&node.api)).await;
    let h = health(&app).await;
    assert_eq!(h["status"], "ok", "{h}");
    assert_eq!(h["simulated"], false);
    assert_eq!(h["backend"]["breaker"]["state"], "closed", "{h}");

    // read once through the gateway: now cached
    let seen = crate::common::fixture_bytes("resilience-seen", 4096);
    let added = app.add(&seen, "").await;
    assert_eq!(added["simulated"], false);
    let seen_cid = added["cid"].as_str().unwrap().to_string();
    // added through the gateway, readable from the node's own API
    let direct = node.rpc(&format!("cat?arg={seen_cid}")).await;
    assert_eq!(direct.bytes().await.unwrap().as_ref(), &seen[..]);
    let res = cat(&app, &seen_cid).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.bytes().await.unwrap().as_ref(), &seen[..]);
    // on the node only: never read through the gateway
    let unseen = crate::common::fixture_bytes("resilience-unseen", 5000);
    let unseen_cid = node.add(&unseen, "cid-version=1").await;

    let node = std::sync::Arc::new(node);
    let halted = node.clone();
    tokio::task::spawn_blocking(move || halted.halt())
        .await
        .unwrap();

    // cached content is still served, byte for byte
    for _ in 0..3 {
        let res = cat(&app, &seen_cid).await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["x-cache-tier"], "memory");
        assert_eq!(res.bytes().await.unwrap().as_ref(), &seen[..]);
    }
    // a miss fails fast with a 5xx and the one error body
    for _ in 0..3 {
        let started = Instant::now();
        let res = cat(&app, &unseen_cid).await;
        let status = res.status().as_u16();
        assert!(matches!(status, 502..=504), "{status}");
        assert!(started.elapsed() < Duration::from_secs(15));
        eprintln!(
            "miss with the node down: {status} in {:?}",
            started.elapsed()
        );
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["success"], false, "{body}");
    }
    let res = cat(&app, &unseen_cid).await;
    let body: Value = res.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("circuit open"),
        "the breaker answers now: {body}"
    );
    let h = health(&app).await;
    assert_ne!(h["status"], "ok", "{h}");
    assert_eq!(h["backend"]["breaker"]["state"], "open", "{h}");
    assert!(h["backend"]["breaker"]["rejected"].as_u64().unwrap() >= 1);
    let (_, stats) = app.get_json("ipfs/stats").await;
    assert!(stats["node_error"].is_string(), "{stats}");
    assert_eq!(stats["breaker"]["state"], "open", "{stats}");

    // the node returns: served again within the recovery time, without a restart
    let resumed = node.clone();
    tokio::task::spawn_blocking(move || resumed.resume())
        .await
        .unwrap();
    let back = Instant::now();
    let bytes = loop {
        let res = cat(&app, &unseen_cid).await;
        if res.status() == 200 {
            break res.bytes().await.unwrap();
        }
        assert!(
            back.elapsed() < Duration::from_millis(RECOVERY_MS + 1_500),
            "not served {:?} after the node came back",
            back.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(bytes.as_ref(), &unseen[..]);
    eprintln!("served again {:?} after the node came back", back.elapsed());
    let h = health(&app).await;
    assert_eq!(h["status"], "ok", "{h}");
    assert_eq!(h["backend"]["breaker"]["state"], "closed", "{h}");
    assert!(h["backend"]["breaker"]["times_opened"].as_u64().unwrap() >= 1);
    app.stop().await;
}

#[tokio::test]
async fn an_unreachable_node_is_reported_never_replaced() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let app = spawn_with(kubo_settings(&format!("http://{closed}"))).await;
    let h = health(&app).await;
    assert_eq!(h["status"], "degraded", "{h}");
    assert_eq!(h["simulated"], false);
    assert!(
        h["backend"]["detail"]
            .as_str()
            .unwrap()
            .contains("unreachable"),
        "{h}"
    );
    let res = app.add_raw(b"no node, no add", "").await;
    assert_error_response(res, 503, "backend_unavailable").await;
    app.stop().await;
}

/// A scripted node: `files/stat` says a file of `size` bytes; `cat` sends `sent` bytes, then
/// ends the stream with an `X-Stream-Error` trailer.
async fn failing_mid_stream_node(cid: String, size: usize, sent: usize) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let (mut sock, _) = listener.accept().await.unwrap();
            let cid = cid.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let n = sock.read(&mut buf).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]).to_string();
                let json = |body: String| {
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                         Connection: close\r\n\r\n{body}",
                        body.len()
                    )
                    .into_bytes()
                };
                let reply = if head.starts_with("POST /api/v0/files/stat") {
                    json(format!(
                        r#"{{"Hash":"{cid}","Size":{size},"CumulativeSize":{size},"Type":"file"}}"#
                    ))
                } else if head.starts_with("POST /api/v0/cat") {
                    let mut r = format!(
                        "HTTP/1.1 200 OK\r\nTrailer: X-Stream-Error\r\nTransfer-Encoding: chunked\r\n\
                         Connection: close\r\n\r\n{sent:x}\r\n"
                    )
                    .into_bytes();
                    r.extend(std::iter::repeat_n(b'a', sent));
                    r.extend_from_slice(
                        b"\r\n0\r\nX-Stream-Error: failed to fetch block: context canceled\r\n\r\n",
                    );
                    r
                } else {
                    json(r#"{"Version":"0.30.0","ID":"x","AgentVersion":"kubo/0.30.0"}"#.into())
                };
                let _ = sock.write_all(&reply).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    url
}

#[tokio::test]
async fn a_stream_error_trailer_never_becomes_a_success() {
    let cid = ipfs_mcp::unixfs::cid_of(cid::Version::V1, 0x55, b"the real content").to_string();
    // small enough to be cached whole: fetched in full before answering, so a clean 502
    let node = failing_mid_stream_node(cid.clone(), 1000, 400).await;
    let app = spawn_with(kubo_settings(&node)).await;
    for _ in 0..2 {
        let res = cat(&app, &cid).await;
        assert_error_response(res, 502, "backend_error").await;
    }
    app.stop().await;

    // larger than the cache's object limit: streamed, so the response is cut off, not ended
    let node = failing_mid_stream_node(cid.clone(), 100_000, 40_000).await;
    let mut settings = kubo_settings(&node);
    settings.cache.max_object_bytes = 1024;
    let app = spawn_with(settings).await;
    let res = cat(&app, &cid).await;
    assert_eq!(res.status(), 200, "headers went out before the failure");
    assert_eq!(res.headers()["content-length"], "100000");
    assert!(
        res.bytes().await.is_err(),
        "the client must see a broken response, not a short success"
    );
    app.stop().await;
}

/// The path gateway, raw blocks, CAR and directories on the Kubo backend (a real node).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_path_gateway_on_a_real_node() {
    let Some(node) = tokio::task::spawn_blocking(IpfsNode::shared).await.unwrap() else {
        return;
    };
    let mut settings = kubo_settings(&node.api);
    settings.cache.max_object_bytes = 16 * 1024; // stream from the node
    // nothing absent is read here; a busy machine may need more than the 5 s used elsewhere
    settings.backend.kubo.first_byte_timeout_ms = 30_000;
    let app = spawn_with(settings).await;
    let data = crate::common::fixture_bytes("gateway-on-kubo", 100_000);
    let (body, ctype) = multipart("file", "notes.txt", &data);
    let res = app
        .client
        .post(format!(
            "{}?wrap-with-directory=true&cid-version=1&chunker=size-8192",
            app.api("ipfs/add")
        ))
        .header("content-type", ctype)
        .body(body)
        .send()
        .await
        .unwrap();
    let dir = res.json::<Value>().await.unwrap()["cid"]
        .as_str()
        .unwrap()
        .to_string();
    let get = |path: String, range: Option<&'static str>| {
        let mut req = app.client.get(app.url(&path));
        if let Some(r) = range {
            req = req.header("range", r);
        }
        req.send()
    };
    let res = get(format!("/ipfs/{dir}/notes.txt"), Some("bytes=50000-50009"))
        .await
        .unwrap();
    assert_eq!(res.status(), 206);
    assert_eq!(res.headers()["content-type"], "text/plain; charset=utf-8");
    assert_eq!(res.bytes().await.unwrap().as_ref(), &data[50_000..50_010]);
    let res = get(format!("/ipfs/{dir}/"), None).await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("notes.txt"));
    let res = get(format!("/ipfs/{dir}?format=raw"), None).await.unwrap();
    assert_eq!(res.headers()["content-type"], "application/vnd.ipld.raw");
    let raw = res.bytes().await.unwrap();
    let dir_cid: cid::Cid = dir.parse().unwrap();
    assert_eq!(
        ipfs_mcp::unixfs::cid_of(dir_cid.version(), dir_cid.codec(), &raw),
        dir_cid
    );
    let res = get(format!("/ipfs/{dir}/notes.txt?format=car"), None)
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let car = res.bytes().await.unwrap();
    let mut reader = iroh_car::CarReader::new(&car[..]).await.unwrap();
    let mut n = 0;
    while reader.next_block().await.unwrap().is_some() {
        n += 1;
    }
    assert_eq!(n, 1 + 1 + 13, "the directory, the file root, 13 leaves");

    // a CAR made elsewhere goes into the node through its own dag/import, verified first
    let other = spawn_app().await;
    let theirs = crate::common::fixture_bytes("car-into-kubo", 50_000);
    let cid = other.add(&theirs, "cid-version=1&chunker=size-4096").await["cid"]
        .as_str()
        .unwrap()
        .to_string();
    let car = other
        .client
        .get(other.api(&format!("ipfs/dag/export/{cid}")))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .to_vec();
    let import = |car: Vec<u8>| {
        app.client
            .post(app.api("ipfs/dag/import"))
            .header("content-type", "application/vnd.ipld.car")
            .body(car)
            .send()
    };
    let mut corrupt = car.clone();
    let at = corrupt.len() - 7;
    corrupt[at] ^= 1;
    assert_error_response(import(corrupt).await.unwrap(), 400, "invalid_argument").await;
    let res = import(car).await.unwrap();
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["roots"][0], cid);
    let res = node.rpc(&format!("cat?arg={cid}")).await;
    assert_eq!(res.bytes().await.unwrap().as_ref(), &theirs[..]);
    let pins = node
        .rpc(&format!("pin/ls?arg={cid}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(pins.contains("recursive"), "{pins}");
    app.stop().await;
}
