//! Malformed input (issue #11): a walk over every route with bad CIDs, bad and truncated
//! multipart, bad JSON, malformed chunked bodies, absurd headers and ranges, garbage CARs and
//! bad filters. Every answer is below 500; every error is the one JSON error body; nothing is
//! stored; the server is alive afterwards. Then one test for each input that once got through.
//!
//! Requests go over a raw TCP socket: an HTTP client library would refuse to send most of them.

use crate::helpers::*;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// An answer read off the wire.
#[derive(Debug)]
struct Raw {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Raw {
    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    }
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// Sends `request` as is and reads the answer (the server closes after it: every request here
/// says `Connection: close`, or has a body the server gives up on).
async fn send_raw(app: &TestApp, request: &[u8]) -> Option<Raw> {
    let addr = app.address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    // the server may answer and close before it has read everything: a failed write is fine
    let _ = stream.write_all(request).await;
    let mut out = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        let mut buf = [0u8; 65536];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    out.extend_from_slice(&buf[..n]);
                    if complete(&out) {
                        break;
                    }
                }
            }
        }
    })
    .await;
    if read.is_err() && out.is_empty() {
        return None;
    }
    let out = skip_interim(&out);
    let split = out.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&out[..split]).to_string();
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some(Raw {
        status,
        head,
        body: out[split + 4..].to_vec(),
    })
}

/// `out` without leading `1xx` answers (`100 Continue`).
fn skip_interim(mut out: &[u8]) -> &[u8] {
    while out.starts_with(b"HTTP/1.1 1") {
        match out.windows(4).position(|w| w == b"\r\n\r\n") {
            Some(end) => out = &out[end + 4..],
            None => break,
        }
    }
    out
}

/// Whether `out` holds a whole answer with a `Content-Length`.
fn complete(out: &[u8]) -> bool {
    let out = skip_interim(out);
    let Some(split) = out.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&out[..split]).to_ascii_lowercase();
    head.lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .is_some_and(|n| out.len() >= split + 4 + n)
}

/// A request with `Connection: close` and a body of its own length.
fn request(method: &str, target: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    let mut has_length = false;
    for (k, v) in headers {
        has_length |=
            k.eq_ignore_ascii_case("content-length") || k.eq_ignore_ascii_case("transfer-encoding");
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    if !has_length && !body.is_empty() {
        out.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    out.push_str("\r\n");
    let mut out = out.into_bytes();
    out.extend_from_slice(body);
    out
}

/// What the service has stored: blocks, pins, metadata rows (not the cache: reads fill it and
/// `cache/clear` empties it, legitimately).
async fn stored(app: &TestApp) -> Value {
    let (_, stats) = app.get_json("ipfs/stats").await;
    let (_, pins) = app.get_json("ipfs/pin/ls").await;
    let (_, rows) = app.get_json("cache/metadata?limit=1").await;
    json!({
        "blocks": stats["node"]["repo"]["num_objects"],
        "repo_size": stats["node"]["repo"]["repo_size"],
        "pins": pins["count"],
        "rows": rows["matched"],
    })
}

fn check(case: &str, raw: Option<Raw>) -> Option<Raw> {
    let raw = raw.unwrap_or_else(|| panic!("{case}: no answer at all"));
    assert!(
        raw.status < 500,
        "{case}: {} {}",
        raw.status,
        String::from_utf8_lossy(&raw.body)
    );
    if raw.status >= 400 {
        let body = raw.json();
        assert_eq!(body["success"], false, "{case}: {}", raw.head);
        assert!(
            body["error"].as_str().is_some_and(|e| !e.is_empty())
                && body["error_type"].as_str().is_some_and(|e| !e.is_empty()),
            "{case}: not the JSON error body: {} {:?}",
            raw.status,
            String::from_utf8_lossy(&raw.body)
        );
    }
    Some(raw)
}

/// Every route the table in `src/startup/routes.rs` declares, with the method it takes.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/api/v0/health"),
    ("POST", "/api/v0/mcp/cli/config/update"),
    ("GET", "/api/v0/mcp/cli/config"),
    ("POST", "/api/v0/mcp/cli/config/save"),
    ("POST", "/api/v0/mcp/cli/config/validate"),
    ("POST", "/api/v0/mcp/cli/config/convert"),
    ("GET", "/metrics"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("POST", "/api/v0/mcp/auth/token"),
    ("POST", "/api/v0/mcp/auth/revoke"),
    ("GET", "/api/v0/mcp/auth/keys"),
    ("POST", "/api/v0/mcp/auth/keys"),
    ("DELETE", "/api/v0/mcp/auth/keys/{id}"),
    ("POST", "/api/v0/mcp/auth/keys/{id}/revoke"),
    ("GET", "/ipfs/{cid}"),
    ("GET", "/ipns/{name}"),
    ("GET", "/api/v0/mcp/health"),
    ("POST", "/api/v0/mcp/batch"),
    ("GET", "/api/v0/mcp/debug"),
    ("GET", "/api/v0/mcp/operations"),
    ("GET", "/api/v0/mcp/cache/stats"),
    ("POST", "/api/v0/mcp/stream/to-ipfs"),
    ("GET", "/api/v0/mcp/stream/media/{cid}"),
    ("POST", "/api/v0/mcp/cache/clear"),
    ("GET", "/api/v0/mcp/cache/metadata"),
    ("GET", "/api/v0/mcp/cache/metadata/{cid}"),
    ("POST", "/api/v0/mcp/ipfs/add"),
    ("POST", "/api/v0/mcp/ipfs/add/json"),
    ("POST", "/api/v0/mcp/ipfs/add/file"),
    ("POST", "/api/v0/mcp/ipfs/cat"),
    ("GET", "/api/v0/mcp/ipfs/cat/{cid}"),
    ("GET", "/api/v0/mcp/ipfs/get/{cid}"),
    ("POST", "/api/v0/mcp/ipfs/pin/add"),
    ("POST", "/api/v0/mcp/ipfs/pin"),
    ("POST", "/api/v0/mcp/ipfs/pin/rm"),
    ("POST", "/api/v0/mcp/ipfs/unpin"),
    ("GET", "/api/v0/mcp/ipfs/pin/ls"),
    ("GET", "/api/v0/mcp/ipfs/pins"),
    ("POST", "/api/v0/mcp/ipfs/block/put"),
    ("POST", "/api/v0/mcp/ipfs/dag/put"),
    ("POST", "/api/v0/mcp/ipfs/dag/import"),
    ("POST", "/api/v0/mcp/ipfs/name/publish"),
    ("GET", "/api/v0/mcp/ipfs/name/resolve"),
    ("POST", "/api/v0/mcp/ipfs/routing/put"),
    ("GET", "/api/v0/mcp/ipfs/routing/get"),
    ("GET", "/api/v0/mcp/ipfs/dht/findprovs"),
    ("GET", "/api/v0/mcp/ipfs/dht/findpeer"),
    ("GET", "/api/v0/mcp/ipfs/id"),
    ("GET", "/api/v0/mcp/ipfs/version"),
    ("GET", "/api/v0/mcp/ipfs/stats"),
    ("GET", "/api/v0/mcp/ipfs/block/get/{cid}"),
    ("GET", "/api/v0/mcp/ipfs/block/stat/{cid}"),
    ("GET", "/api/v0/mcp/ipfs/dag/get/{cid}"),
    ("GET", "/api/v0/mcp/ipfs/dag/resolve/{cid}"),
    ("GET", "/api/v0/mcp/ipfs/dag/export/{cid}"),
];

#[test]
fn the_walk_covers_every_route_in_the_table() {
    let table = include_str!("../../src/startup/routes.rs");
    let declared: Vec<String> = {
        let mut prefix_stack: Vec<String> = Vec::new();
        let mut out = Vec::new();
        for line in table.lines() {
            let line = line.trim();
            // the mcp scope and its ipfs sub-scope, as the table nests them
            if line.contains("web::scope(\"/api/v0/mcp\")") {
                prefix_stack = vec!["/api/v0/mcp".into()];
            } else if line.contains("web::scope(\"/ipfs\")") && !prefix_stack.is_empty() {
                prefix_stack.push("/ipfs".into());
            }
            for (marker, quote_at) in [(".route(\"", 8), ("cfg.route(\"", 11)] {
                if let Some(rest) = line
                    .strip_prefix(marker)
                    .or_else(|| line.find(marker).map(|i| &line[i + quote_at..]))
                {
                    let path = rest.split('"').next().unwrap_or_default();
                    let full = if line.starts_with("cfg.") {
                        path.to_string()
                    } else {
                        format!("{}{path}", prefix_stack.concat())
                    };
                    out.push(full);
                }
            }
            if let Some(i) = line.find("web::scope(\"") {
                let scope = line[i + 12..].split('"').next().unwrap_or_default();
                if line.contains("default_service") {
                    let base = if line.starts_with("cfg.") {
                        String::new()
                    } else {
                        prefix_stack.concat()
                    };
                    out.push(format!("{base}{scope}/{{cid}}"));
                }
            }
        }
        out
    };
    assert!(declared.len() > 30, "parsed the table: {declared:?}");
    for path in &declared {
        let normal = path
            .replace("{path:.+}", "{cid}")
            .replace("/ipns/{cid}", "/ipns/{name}");
        assert!(
            ROUTES.iter().any(|(_, r)| *r == normal),
            "route {path} is not walked by the malformed-input test"
        );
    }
}

/// Bad CIDs in every position a CID is taken.
const BAD_CIDS: &[&str] = &[
    "not-a-cid",
    "Qm1111111111111111111111111111111111111111111",
    "bafyzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
    "%00",
    "%FF%FE",
    "..%2F..%2Fetc%2Fpasswd",
    "b",
    "z",
    "f0155",
];

fn long_cid() -> String {
    "Qm".to_string() + &"a".repeat(4000)
}

fn with_cid(route: &str, cid: &str) -> String {
    route.replace("{cid}", cid).replace("{name}", cid)
}

#[tokio::test]
async fn malformed_input_on_every_route_is_a_4xx_and_stores_nothing() {
    let app = spawn_app().await;
    // something real to aim ranges and filters at
    let data = vec![7u8; 4096];
    let added = app.add(&data, "pin=false").await;
    let cid = added["cid"].as_str().unwrap().to_string();
    let before = stored(&app).await;

    let mut cases: Vec<(String, Vec<u8>)> = Vec::new();
    let mut add = |name: String, req: Vec<u8>| cases.push((name, req));
    let long = long_cid();
    let boundary = "XbadX";
    let mp = format!("multipart/form-data; boundary={boundary}");
    for (method, route) in ROUTES {
        let takes_cid = route.contains('{');
        if takes_cid {
            for bad in BAD_CIDS.iter().copied().chain([long.as_str()]) {
                let target = with_cid(route, bad);
                add(
                    format!("{method} {target}"),
                    request(method, &target, &[], b""),
                );
            }
        }
        let target = with_cid(route, &cid);
        for q in [
            "arg=not-a-cid",
            "cid=%ZZ",
            "offset=18446744073709551615&length=18446744073709551615",
            "offset=-1&length=abc",
            "cid-version=9&chunker=size-0&raw-leaves=perhaps&pin=maybe",
            "wrap-with-directory=true&filename=..",
            "filter=heat_score%20%3E&sort=nope&limit=99999999999999999999999",
            "filter=nope%20==%201",
            "format=tar&dag-scope=nope&entity-bytes=9:1",
            "type=sideways&recursive=sometimes",
            "arg=&key=&ttl=forever&lifetime=-5s",
        ] {
            let t = format!("{target}?{q}");
            add(format!("{method} {t}"), request(method, &t, &[], b""));
        }
        // absurd headers on every route
        let many_ranges = format!("bytes={}", vec!["0-4095"; 500].join(","));
        for (k, v) in [
            ("Range", "bytes=99999999999999999999999-"),
            ("Range", "bytes=18446744073709551615-18446744073709551615"),
            ("Range", "bytes=-0"),
            ("Range", "bytes=5-1"),
            ("Range", "furlongs=0-1"),
            ("Range", many_ranges.as_str()),
            ("If-None-Match", "W/garbage, , \"unterminated"),
            ("Accept", "application/vnd.ipld.car; version=99, */*;q=nope"),
            ("Content-Type", "application/json; charset=ebcdic"),
            ("Cache-Control", "only-if-cached, max-age=-1"),
        ] {
            add(
                format!("{method} {target} with {k}: {}", &v[..v.len().min(40)]),
                request(method, &target, &[(k, v)], b""),
            );
        }
        if *method != "POST" {
            continue;
        }
        // bad JSON
        for body in [
            &b"{"[..],
            b"[1,2",
            b"{\"cid\": 5, \"arg\": [], \"data\": {}}",
            b"null",
            b"\"just a string\"",
            b"{\"content\": \"x\", \"filename\": \"..\", \"wrap_with_directory\": true}",
            b"{\"object\": {\"/\": \"not-a-cid\"}}",
            b"{\"data\": \"%%% not base64 %%%\"}",
            b"{\"path\": \"/ipfs/not-a-cid\", \"cid\": \"bafy-nope\"}",
            b"\xff\xfe\x00\x01",
        ] {
            add(
                format!(
                    "{method} {target} JSON {:?}",
                    String::from_utf8_lossy(&body[..body.len().min(30)])
                ),
                request(
                    method,
                    &target,
                    &[("Content-Type", "application/json")],
                    body,
                ),
            );
        }
        // bad and truncated multipart
        let part = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.bin\"\r\n\r\nhello"
        );
        for (ctype, body) in [
            (mp.clone(), part.clone().into_bytes()),
            (mp.clone(), format!("{part}\r\n--{boundary}").into_bytes()),
            (mp.clone(), b"garbage without any boundary".to_vec()),
            ("multipart/form-data".to_string(), part.clone().into_bytes()),
            (
                mp.clone(),
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"..\"\r\n\r\nx\r\n--{boundary}--\r\n")
                    .into_bytes(),
            ),
        ] {
            let named_dots = String::from_utf8_lossy(&body).contains("filename=\"..\"");
            add(
                format!(
                    "{method} {target} multipart{} {:?}",
                    if named_dots { " [well-formed, named ..]" } else { "" },
                    String::from_utf8_lossy(&body[..body.len().min(40)])
                ),
                request(method, &target, &[("Content-Type", &ctype)], &body),
            );
        }
        // malformed chunked bodies, declared lengths far over every limit, garbage CARs
        for ctype in [
            "application/octet-stream",
            "application/json",
            mp.as_str(),
            "application/vnd.ipld.car",
        ] {
            add(
                format!("{method} {target} bad chunk ({ctype})"),
                request(
                    method,
                    &target,
                    &[("Content-Type", ctype), ("Transfer-Encoding", "chunked")],
                    b"5\r\nhello\r\nZZ\r\ngarbage\r\n",
                ),
            );
            add(
                format!("{method} {target} 1 TB declared ({ctype})"),
                request(
                    method,
                    &target,
                    &[
                        ("Content-Type", ctype),
                        ("Content-Length", "1000000000000"),
                        ("Expect", "100-continue"),
                    ],
                    b"",
                ),
            );
        }
        for car in [
            &b"\x0a\xa1\x67version\x01"[..],
            b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01",
            b"\x00",
            b"\x3a\xa2\x65roots\x81\xd8\x2a\x58\x23\x00\x12\x20",
        ] {
            add(
                format!(
                    "{method} {target} garbage CAR {:02x?}",
                    &car[..car.len().min(8)]
                ),
                request(
                    method,
                    &target,
                    &[("Content-Type", "application/vnd.ipld.car")],
                    car,
                ),
            );
        }
    }

    // `stream/to-ipfs` takes any body as a file (that is its job), and a well-formed multipart
    // block is a block whatever its part is called: those run after the nothing-stored check
    let (may_store, must_not): (Vec<_>, Vec<_>) = cases.into_iter().partition(|(name, _)| {
        name.contains("/stream/to-ipfs")
            || (name.contains("/ipfs/block/put") && name.contains("[well-formed, named ..]"))
    });
    let started = Instant::now();
    let total = may_store.len() + must_not.len();
    for (name, req) in must_not {
        check(&name, send_raw(&app, &req).await);
    }
    assert!(total > 1000, "the walk sent {total} requests");
    eprintln!(
        "malformed-input walk: {total} requests in {:?}",
        started.elapsed()
    );

    // a request head that is not HTTP never reaches the service: actix's parser answers a
    // bodiless 400 and closes; the server carries on
    for head in [
        &b"GET /api/v0/mcp/health HTTP/1.1\r\nHost: x\r\nIf-None-Match: \x7f\r\n\r\n"[..],
        b"GARBAGE\r\n\r\n",
        b"POST /api/v0/mcp/ipfs/add HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
    ] {
        let raw = send_raw(&app, head).await.expect("an answer");
        assert_eq!(raw.status, 400, "{}", raw.head);
    }
    let (status, health) = app.get_json("health").await;
    assert_eq!(status, 200, "alive after the walk: {health}");
    assert_eq!(
        stored(&app).await,
        before,
        "nothing stored by malformed input"
    );
    for (name, req) in may_store {
        check(&name, send_raw(&app, &req).await);
    }
    let (status, _) = app.get_json("health").await;
    assert_eq!(status, 200);
    app.stop().await;
}

#[tokio::test]
async fn an_offset_past_the_end_is_a_416_not_the_whole_file() {
    let app = spawn_app().await;
    let cid = app.add(b"0123456789", "").await["cid"]
        .as_str()
        .unwrap()
        .to_string();
    for route in ["ipfs/cat", "ipfs/get"] {
        for q in [
            "offset=18446744073709551615&length=2",
            "offset=18446744073709551615",
            "offset=10&length=1",
        ] {
            let res = app
                .client
                .get(app.api(&format!("{route}/{cid}?{q}")))
                .send()
                .await
                .unwrap();
            assert_eq!(res.headers()["content-range"], "bytes */10", "{route}?{q}");
            assert_error_response(res, 416, "range_not_satisfiable").await;
        }
        // a length running past the end is cut at the end
        let res = app
            .client
            .get(app.api(&format!(
                "{route}/{cid}?offset=8&length=18446744073709551615"
            )))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 206);
        assert_eq!(res.bytes().await.unwrap(), &b"89"[..]);
    }
}

#[tokio::test]
async fn names_that_leave_the_directory_are_refused() {
    let app = spawn_app().await;
    let before = stored(&app).await;
    for name in ["..", ".", "a/..", "/", "a/."] {
        let (body, ctype) = multipart("file", name, b"x");
        let res = app
            .client
            .post(app.api("ipfs/add?wrap-with-directory=true"))
            .header("content-type", ctype)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_error_response(res, 400, "invalid_argument").await;
    }
    for name in ["..", ".", "", "a/..", "/"] {
        for route in ["ipfs/add", "ipfs/add/json"] {
            let (status, body) = app
                .post_json(
                    &format!("{route}?wrap-with-directory=true"),
                    json!({"content": "x", "filename": name}),
                )
                .await;
            assert_error(status, &body, 400, "invalid_argument");
        }
        // add/file: a part without a file name of its own takes the `filename` parameter
        let body = "--B\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nx\r\n--B--\r\n";
        let res = app
            .client
            .post(app.api(&format!(
                "ipfs/add/file?wrap-with-directory=true&filename={}",
                name.replace('/', "%2F")
            )))
            .header("content-type", "multipart/form-data; boundary=B")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_error_response(res, 400, "invalid_argument").await;
    }
    assert_eq!(stored(&app).await, before, "nothing stored");
}

#[tokio::test]
async fn block_put_refuses_a_declared_length_over_the_limit_before_reading() {
    let app = spawn_app().await;
    for ctype in [
        "application/octet-stream",
        "multipart/form-data; boundary=x",
        "application/json",
    ] {
        for expect in [None, Some("100-continue")] {
            let mut headers = vec![("Content-Type", ctype), ("Content-Length", "1000000000000")];
            if let Some(e) = expect {
                headers.push(("Expect", e));
            }
            let started = Instant::now();
            let raw = send_raw(
                &app,
                &request("POST", "/api/v0/mcp/ipfs/block/put", &headers, b""),
            )
            .await
            .expect("an answer");
            assert!(
                started.elapsed() < Duration::from_secs(2),
                "answered at once"
            );
            assert_eq!(raw.status, 413, "{ctype} {expect:?}: {}", raw.head);
            assert_eq!(raw.json()["error_type"], "payload_too_large");
            assert_eq!(
                raw.header("content-type").as_deref(),
                Some("application/json")
            );
        }
    }
}

#[tokio::test]
async fn a_malformed_chunked_body_is_a_400_on_every_upload_route() {
    let app = spawn_app().await;
    let before = stored(&app).await;
    let mp = "multipart/form-data; boundary=B";
    for (route, ctype) in [
        ("ipfs/add", "application/octet-stream"),
        ("ipfs/add", mp),
        ("ipfs/add/file", mp),
        ("ipfs/add/json", "application/json"),
        ("stream/to-ipfs", "application/octet-stream"),
        ("ipfs/dag/import", "application/vnd.ipld.car"),
        ("ipfs/dag/import", mp),
        ("ipfs/block/put", "application/octet-stream"),
        ("ipfs/dag/put", "application/json"),
        ("ipfs/pin/add", "application/json"),
    ] {
        let body: &[u8] = if ctype == mp {
            b"20\r\n--B\r\nContent-Disposition: form-\r\nZZ\r\n"
        } else {
            b"5\r\nhello\r\nZZ\r\ngarbage\r\n"
        };
        let req = request(
            "POST",
            &format!("/api/v0/mcp/{route}"),
            &[("Content-Type", ctype), ("Transfer-Encoding", "chunked")],
            body,
        );
        let raw = send_raw(&app, &req)
            .await
            .unwrap_or_else(|| panic!("{route}: no answer"));
        assert_eq!(
            raw.status,
            400,
            "{route} {ctype}: {}",
            String::from_utf8_lossy(&raw.body)
        );
        assert_eq!(raw.json()["success"], false, "{route}");
    }
    assert_eq!(stored(&app).await, before, "nothing stored");
}

async fn ranged(app: &TestApp, url: &str, range: &str) -> reqwest::Response {
    app.client
        .get(url)
        .header("range", range)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn many_or_overlapping_ranges_are_never_amplified() {
    let app = spawn_app().await;
    let data: Vec<u8> = (0..4096u32).map(|i| (i % 251) as u8).collect();
    let cid = app.add(&data, "").await["cid"]
        .as_str()
        .unwrap()
        .to_string();
    let overlapping = format!("bytes={}", vec!["0-4095"; 500].join(","));
    let sparse: Vec<String> = (0..500).map(|i| format!("{0}-{0}", i * 8)).collect();
    let sparse = format!("bytes={}", sparse.join(","));
    for url in [
        app.url(&format!("/ipfs/{cid}")),
        app.api(&format!("ipfs/cat/{cid}")),
    ] {
        let res = ranged(&app, &url, &overlapping).await;
        let status = res.status().as_u16();
        let body = res.bytes().await.unwrap();
        assert!(status == 206 || status == 200, "{url}: {status}");
        assert_eq!(
            body.len(),
            4096,
            "{url}: 500 copies of the file coalesce into one"
        );
        assert_eq!(&body[..], &data[..]);
        // 500 one-byte ranges 8 bytes apart: more than 16 parts, so the whole file at most
        let res = ranged(&app, &url, &sparse).await;
        let body = res.bytes().await.unwrap();
        assert!(
            body.len() <= 4096,
            "{url}: {} bytes for a 4096-byte file",
            body.len()
        );
    }
    // far-apart ranges: at most 16 parts, else the whole file
    let one_byte_every = |n: usize, step: usize| {
        let parts: Vec<String> = (0..n).map(|i| format!("{0}-{0}", i * step)).collect();
        format!("bytes={}", parts.join(","))
    };
    let gateway = app.url(&format!("/ipfs/{cid}"));
    let res = ranged(&app, &gateway, &one_byte_every(20, 200)).await;
    assert_eq!(
        res.status(),
        200,
        "20 parts is more than 16: the whole file instead"
    );
    assert_eq!(res.bytes().await.unwrap().len(), 4096);
    let res = ranged(&app, &gateway, &one_byte_every(3, 1000)).await;
    assert_eq!(res.status(), 206);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("multipart/byteranges")
    );
    let body = res.bytes().await.unwrap();
    assert!(
        body.len() < 1000,
        "three one-byte parts: {} bytes",
        body.len()
    );
}
