//! The IPFS path gateway (`/ipfs/{cid}[/{path}]`) on the simulation backend: the spec's
//! headers, 304, HEAD, ranges (single, suffix, open, several, unsatisfiable) on files and on
//! raw blocks, `only-if-cached`, and wrapped files reachable by name.

use crate::helpers::*;
use reqwest::header::HeaderMap;

async fn get(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut req = app.client.get(app.url(path));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap()
}

fn h<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .unwrap_or_else(|| panic!("missing {name}"))
        .to_str()
        .unwrap()
}

#[tokio::test]
async fn files_get_the_spec_headers_304_and_head() {
    let app = spawn_app().await;
    let data = b"hello gateway, this is a plain text file";
    let cid = app.add(data, "cid-version=1").await["cid"]
        .as_str()
        .unwrap()
        .to_string();
    let res = get(&app, &format!("/ipfs/{cid}"), &[]).await;
    assert_eq!(res.status(), 200);
    let hs = res.headers().clone();
    assert_eq!(
        h(&hs, "cache-control"),
        "public, max-age=29030400, immutable"
    );
    assert_eq!(h(&hs, "etag"), format!("\"{cid}\""));
    assert_eq!(h(&hs, "x-ipfs-path"), format!("/ipfs/{cid}"));
    assert_eq!(h(&hs, "x-ipfs-roots"), cid);
    assert_eq!(h(&hs, "accept-ranges"), "bytes");
    assert_eq!(h(&hs, "content-type"), "text/plain; charset=utf-8");
    assert_eq!(res.bytes().await.unwrap().as_ref(), data);

    let res = get(
        &app,
        &format!("/ipfs/{cid}"),
        &[("if-none-match", &format!("\"{cid}\""))],
    )
    .await;
    assert_eq!(res.status(), 304);
    assert_eq!(h(res.headers(), "etag"), format!("\"{cid}\""));

    let res = app
        .client
        .head(app.url(&format!("/ipfs/{cid}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(h(res.headers(), "content-length"), data.len().to_string());
    assert!(res.bytes().await.unwrap().is_empty());

    let res = get(&app, "/ipfs/not-a-cid", &[]).await;
    assert_error_response(res, 400, "invalid_argument").await;
    let res = app
        .client
        .post(app.url(&format!("/ipfs/{cid}")))
        .send()
        .await
        .unwrap();
    assert_error_response(res, 405, "method_not_allowed").await;
}

#[tokio::test]
async fn wrapped_files_by_name_with_type_from_the_extension() {
    let app = spawn_app().await;
    let page = b"<p>no doctype, so only the name says html</p>";
    let (body, ctype) = multipart("file", "index.html", page);
    let res = app
        .client
        .post(format!("{}?wrap-with-directory=true", app.api("ipfs/add")))
        .header("content-type", ctype)
        .body(body)
        .send()
        .await
        .unwrap();
    let added: serde_json::Value = res.json().await.unwrap();
    let dir = added["cid"].as_str().unwrap();
    let file = added["entries"][0]["Hash"].as_str().unwrap();
    let res = get(&app, &format!("/ipfs/{dir}/index.html"), &[]).await;
    assert_eq!(res.status(), 200);
    let hs = res.headers().clone();
    assert_eq!(h(&hs, "content-type"), "text/html; charset=utf-8");
    assert_eq!(h(&hs, "etag"), format!("\"{file}\""));
    assert_eq!(h(&hs, "x-ipfs-roots"), format!("{dir},{file}"));
    assert_eq!(h(&hs, "x-ipfs-path"), format!("/ipfs/{dir}/index.html"));
    assert_eq!(res.bytes().await.unwrap().as_ref(), page);
    let res = get(&app, &format!("/ipfs/{dir}/missing.txt"), &[]).await;
    assert_error_response(res, 404, "not_found").await;
    // names are percent-decoded from the URL
    let spaced = wrap(&app, "two words.txt", b"spaced").await;
    let res = get(&app, &format!("/ipfs/{spaced}/two%20words.txt"), &[]).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), "spaced");
}

/// The range cases, on a file (streamed: larger than the cache's object limit) and a block.
#[tokio::test]
async fn ranges_on_files_and_raw_blocks() {
    let mut settings = test_settings();
    settings.cache.max_object_bytes = 1024;
    let app = spawn_with(settings).await;
    let data: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
    let cid = app
        .add(&data, "raw-leaves=true&cid-version=1&chunker=size-1000")
        .await["cid"]
        .as_str()
        .unwrap()
        .to_string();
    let block: Vec<u8> = (0..300u32).map(|i| (i % 7) as u8).collect();
    let leaf = {
        let (body, ctype) = multipart("file", "b", &block);
        let res = app
            .client
            .post(app.api("ipfs/block/put"))
            .header("content-type", ctype)
            .body(body)
            .send()
            .await
            .unwrap();
        let v: serde_json::Value = res.json().await.unwrap();
        v["cid"].as_str().or(v["Key"].as_str()).unwrap().to_string()
    };
    let file_url = format!("/ipfs/{cid}");
    let raw_url = format!("/ipfs/{leaf}?format=raw");
    for (url, content) in [(file_url.as_str(), &data), (raw_url.as_str(), &block)] {
        let size = content.len();
        for (range, start, end) in [
            ("bytes=6-16", 6, 16),
            ("bytes=-3", size - 3, size - 1),
            ("bytes=100-", 100, size - 1),
        ] {
            let res = get(&app, url, &[("range", range)]).await;
            assert_eq!(res.status(), 206, "{url} {range}");
            assert_eq!(
                h(res.headers(), "content-range"),
                format!("bytes {start}-{end}/{size}")
            );
            assert_eq!(res.bytes().await.unwrap().as_ref(), &content[start..=end]);
        }
        // parts further apart than the 80-byte coalescing gap stay separate
        let res = get(&app, url, &[("range", "bytes=0-1,200-202")]).await;
        assert_eq!(res.status(), 206);
        let ctype = h(res.headers(), "content-type").to_string();
        let boundary = ctype
            .strip_prefix("multipart/byteranges; boundary=")
            .unwrap()
            .to_string();
        let body = res.bytes().await.unwrap();
        let text = String::from_utf8_lossy(&body);
        assert_eq!(text.matches(&format!("--{boundary}\r\n")).count(), 2);
        assert!(text.contains(&format!("Content-Range: bytes 0-1/{size}")));
        assert!(text.contains(&format!("Content-Range: bytes 200-202/{size}")));
        assert!(text.ends_with(&format!("--{boundary}--\r\n")));
        let part = body
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map(|p| &body[p + 4..p + 6])
            .unwrap();
        assert_eq!(part, &content[0..2]);

        let res = get(&app, url, &[("range", &format!("bytes={size}-"))]).await;
        assert_eq!(res.status(), 416, "{url}");
        assert_eq!(h(res.headers(), "content-range"), format!("bytes */{size}"));
    }
    let res = get(
        &app,
        &format!("/ipfs/{leaf}"),
        &[("accept", "application/vnd.ipld.raw")],
    )
    .await;
    assert_eq!(res.status(), 200);
    let hs = res.headers().clone();
    assert_eq!(h(&hs, "content-type"), "application/vnd.ipld.raw");
    assert_eq!(h(&hs, "etag"), format!("\"{leaf}.raw\""));
    assert_eq!(res.bytes().await.unwrap().as_ref(), &block[..]);
    let res = get(&app, &format!("/ipfs/{leaf}?format=car"), &[]).await;
    assert_eq!(res.status(), 200);
    assert!(h(res.headers(), "content-type").starts_with("application/vnd.ipld.car"));
}

#[tokio::test]
async fn only_if_cached_is_412_for_content_not_here() {
    let app = spawn_app().await;
    let absent = ipfs_mcp::unixfs::cid_of(cid::Version::V1, 0x55, b"never added here");
    let res = get(
        &app,
        &format!("/ipfs/{absent}"),
        &[("cache-control", "only-if-cached")],
    )
    .await;
    assert_error_response(res, 412, "not_cached").await;
    let cid = app.add(b"here", "").await["cid"]
        .as_str()
        .unwrap()
        .to_string();
    let res = get(
        &app,
        &format!("/ipfs/{cid}"),
        &[("cache-control", "only-if-cached")],
    )
    .await;
    assert_eq!(res.status(), 200);
}

async fn wrap(app: &TestApp, name: &str, data: &[u8]) -> String {
    app.add_named(name, data, "wrap-with-directory=true").await
}

#[tokio::test]
async fn directories_redirect_then_index_or_listing() {
    let app = spawn_app().await;
    let no_redirects = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let site = wrap(&app, "index.html", b"<!doctype html><h1>home</h1>").await;
    let res = no_redirects
        .get(app.url(&format!("/ipfs/{site}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 301);
    assert_eq!(h(res.headers(), "location"), format!("/ipfs/{site}/"));
    let res = get(&app, &format!("/ipfs/{site}/"), &[]).await;
    assert_eq!(res.status(), 200);
    assert_eq!(h(res.headers(), "content-type"), "text/html; charset=utf-8");
    assert_eq!(res.text().await.unwrap(), "<!doctype html><h1>home</h1>");

    let name = "a<b>&'c'.txt";
    let dir = wrap(&app, name, b"listed, not served").await;
    let res = get(&app, &format!("/ipfs/{dir}/"), &[]).await;
    assert_eq!(res.status(), 200);
    let hs = res.headers().clone();
    assert_eq!(h(&hs, "content-type"), "text/html; charset=utf-8");
    assert_eq!(h(&hs, "etag"), format!("\"DirIndex-ipfs-mcp-1_CID-{dir}\""));
    let html = res.text().await.unwrap();
    assert!(html.contains("a&lt;b&gt;&amp;&#39;c&#39;.txt"), "{html}");
    assert!(!html.contains("<b>"), "names are escaped: {html}");
    assert!(html.contains(&format!("Index of /ipfs/<a href=\"/ipfs/{dir}\">{dir}</a>")));
}

/// A small range of a large multi-block file reads only the blocks on the way to it: counted
/// at the simulation's block store, through the HTTP gateway.
#[tokio::test]
async fn a_small_range_reads_only_the_covering_blocks() {
    use ipfs_mcp::backend::simulation::SimulationBackend;
    let sim = std::sync::Arc::new(SimulationBackend::open(None).unwrap());
    let mut settings = test_settings();
    settings.cache.max_object_bytes = 64 * 1024; // not cached whole: read from the node
    let app = spawn_with_settings_and_backend(settings, sim.clone()).await;
    let data = crate::common::fixture_bytes("covering", 3_000_000);
    let (body, ctype) = multipart("file", "data.bin", &data);
    let res = app
        .client
        .post(format!(
            "{}?wrap-with-directory=true&chunker=size-65536&raw-leaves=true",
            app.api("ipfs/add")
        ))
        .header("content-type", ctype)
        .body(body)
        .send()
        .await
        .unwrap();
    let dir = res.json::<serde_json::Value>().await.unwrap()["cid"]
        .as_str()
        .unwrap()
        .to_string();
    let url = format!("/ipfs/{dir}/data.bin");
    for (range, start, end, leaves) in [
        ("bytes=1000000-1000099", 1_000_000, 1_000_099, 1), // inside leaf 15
        ("bytes=65530-65540", 65_530, 65_540, 2),           // across leaves 0 and 1
    ] {
        let before = sim.blocks_read();
        let res = get(&app, &url, &[("range", range)]).await;
        assert_eq!(res.status(), 206);
        assert_eq!(res.bytes().await.unwrap().as_ref(), &data[start..=end]);
        let reads = sim.blocks_read() - before;
        // the stat reads the directory and the file root; the read checks the root's kind and
        // walks from it again (2 more reads of the same root block), then only the covering
        // leaves: of the file's 46 leaves, 1 or 2 are read
        eprintln!("{range}: {reads} block reads");
        assert_eq!(reads, 4 + leaves, "{range}");
    }
}
