//! Issue #13, rates: a key's bucket, 429 with `Retry-After` and the `RateLimit-*` headers,
//! recovery after the wait, a default changed at run time, anonymous callers by address, and
//! the cap on requests in flight.

use crate::helpers::*;
use serde_json::{Value, json};

pub fn make_key(dir: &std::path::Path, body: Value) -> String {
    let auth = ipfs_mcp::models::auth::AuthModel::open(Default::default(), Some(dir)).unwrap();
    auth.create_key(serde_json::from_value(body).unwrap())
        .unwrap()
        .1
}

fn header(res: &reqwest::Response, name: &str) -> Option<u64> {
    res.headers().get(name)?.to_str().ok()?.parse().ok()
}

#[tokio::test]
async fn a_key_over_its_rate_gets_429_then_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let key = make_key(
        dir.path(),
        json!({"name": "slow", "scopes": "read", "rate": "1/s", "burst": 2}),
    );
    let admin = make_key(
        dir.path(),
        json!({"name": "ops", "scopes": "admin", "rate": "1000/s", "burst": 1000}),
    );
    let mut settings = persistent_settings(dir.path());
    settings.auth.enabled = true;
    let app = spawn_with(settings).await;
    let get = || {
        app.client
            .get(app.api("ipfs/pin/ls"))
            .bearer_auth(&key)
            .send()
    };
    let first = get().await.unwrap();
    assert_eq!(first.status(), 200);
    assert_eq!(header(&first, "ratelimit-limit"), Some(2));
    assert_eq!(header(&first, "ratelimit-remaining"), Some(1));
    assert!(header(&first, "ratelimit-reset").is_some_and(|s| s <= 1));
    assert_eq!(get().await.unwrap().status(), 200);
    let limited = get().await.unwrap();
    let retry = header(&limited, "retry-after").expect("Retry-After");
    assert!((1..=2).contains(&retry), "{retry}");
    assert_eq!(header(&limited, "ratelimit-remaining"), Some(0));
    assert_error_response(limited, 429, "rate_limited").await;
    tokio::time::sleep(std::time::Duration::from_secs(retry)).await;
    assert_eq!(
        get().await.unwrap().status(),
        200,
        "recovered after Retry-After"
    );

    // anonymous callers share the default, by address; a new default applies at once
    let anon = || app.client.get(app.url("/api/v0/health")).send();
    assert_eq!(header(&anon().await.unwrap(), "ratelimit-limit"), Some(50));
    let res = app
        .client
        .post(app.api("cli/config/update"))
        .bearer_auth(&admin)
        .json(&json!({"auth": {"default_rate": "1/min", "default_burst": 1}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["auth"]["default_rate"], "1/min");
    assert_eq!(anon().await.unwrap().status(), 200);
    let refused = anon().await.unwrap();
    assert!(header(&refused, "retry-after").is_some_and(|s| s > 30));
    assert_error_response(refused, 429, "rate_limited").await;
    // the key with its own rate keeps it
    assert_eq!(header(&get().await.unwrap(), "ratelimit-limit"), Some(2));
    // a setting that cannot change at run time is named, not ignored
    let res = app
        .client
        .post(app.api("cli/config/update"))
        .bearer_auth(&admin)
        .json(&json!({"server": {"port": 1}}))
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let body: Value = res.json().await.unwrap();
    assert_error(status, &body, 422, "invalid_field");
    assert!(body["error"].as_str().unwrap().contains("server"), "{body}");
    app.stop().await;
}

#[tokio::test]
async fn requests_beyond_the_in_flight_cap_get_503() {
    let mut settings = test_settings();
    settings.limits.max_in_flight = 1;
    let app = spawn_with(settings).await;
    // one slow request (a body that never finishes) holds the only slot
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(1);
    let body = reqwest::Body::wrap_stream(tokio_stream_from(rx));
    let slow = app
        .client
        .post(app.api("ipfs/add"))
        .header("content-type", "application/octet-stream")
        .body(body)
        .send();
    let slow = tokio::spawn(slow);
    tx.send(Ok(b"part".to_vec())).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let res = app
        .client
        .get(app.url("/api/v0/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["retry-after"], "1");
    assert_error_response(res, 503, "overloaded").await;
    drop(tx);
    assert_eq!(slow.await.unwrap().unwrap().status(), 200);
    let res = app
        .client
        .get(app.url("/api/v0/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    app.stop().await;
}

fn tokio_stream_from(
    mut rx: tokio::sync::mpsc::Receiver<Result<Vec<u8>, std::io::Error>>,
) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}
