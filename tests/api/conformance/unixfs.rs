//! path_gateway_unixfs: listings, redirects, 404, the cache headers of files, directories
//! and their index.html, If-None-Match, symlinks, ranges (also with blocks missing outside
//! them), percent-encoded names.

use super::*;

const LISTING: &str = "dir_listing/fixtures.car";
const CACHE: &str = "gateway-cache/fixtures.car";
const SYMLINK: &str = "path_gateway_unixfs/symlink.car";
const FILES: &str = "path_gateway_unixfs/dir-with-files.car";
const PERCENT: &str = "path_gateway_unixfs/dir-with-percent-encoded-filename.car";
const MISSING: &str = "trustless_gateway_car/file-3k-and-3-blocks-missing-block.car";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directory_listing() {
    let fx = Fixture::open(LISTING).await;
    let root = fx.root;
    let file = fx.cid(&["ą", "ę", "file-źł.txt"]).await;
    for g in gateways(&[LISTING]).await {
        let a = g.get(&format!("/ipfs/{root}/"), &[]).await;
        assert!(a.text().contains("Index of"), "{:?}", g.kind);
        assert!(
            !a.text()
                .contains(&format!("<a href=\"/ipfs/{root}/\">..</a>"))
        );
        let a = g.get(&format!("/ipfs/{root}/%C4%85/%C4%99"), &[]).await;
        assert_eq!(a.status, 301);
        assert_eq!(a.header("location"), format!("/ipfs/{root}/%C4%85/%C4%99/"));
        let a = g.get(&format!("/ipfs/{root}/%C4%85/%C4%99/"), &[]).await;
        assert!(a.header("etag").contains("\"DirIndex-"));
        let html = a.text();
        for want in [
            format!(
                "/ipfs/<a href=\"/ipfs/{root}\">{root}</a>/<a href=\"/ipfs/{root}/%C4%85\">ą</a>/<a href=\"/ipfs/{root}/%C4%85/%C4%99\">ę</a>"
            ),
            format!("<a href=\"/ipfs/{root}/%C4%85/%C4%99/..\">..</a>"),
            format!("<a href=\"/ipfs/{root}/%C4%85/%C4%99/file-%C5%BA%C5%82.txt\">file-źł.txt</a>"),
            format!(
                "<a class=\"ipfs-hash\" translate=\"no\" href=\"/ipfs/{file}?filename=file-%25C5%25BA%25C5%2582.txt\">"
            ),
        ] {
            assert!(html.contains(&want), "{:?}: {want} in {html}", g.kind);
        }
        let a = g.get(&format!("/ipfs/{root}/i-do-not-exist"), &[]).await;
        assert_eq!(a.status, 404);
        g.app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_headers_of_listings_index_files_and_raw_blocks() {
    let fx = Fixture::open(CACHE).await;
    let root = fx.root;
    let root3 = fx.cid(&["root2", "root3"]).await;
    let root4 = fx.cid(&["root2", "root3", "root4"]).await;
    let index = fx.cid(&["root2", "root3", "root4", "index.html"]).await;
    for g in gateways(&[CACHE]).await {
        let a = g.get(&format!("/ipfs/{root}/root2/root3/"), &[]).await;
        assert_eq!(a.status, 200);
        assert_eq!(
            a.header("x-ipfs-path"),
            format!("/ipfs/{root}/root2/root3/")
        );
        assert_eq!(
            a.header("x-ipfs-roots"),
            fx.roots(&["root2", "root3"]).await
        );
        let etag = a.header("etag").to_string();
        assert!(
            etag.starts_with("\"DirIndex-") && etag.ends_with(&format!("_CID-{root3}\"")),
            "{etag}"
        );
        assert_eq!(
            a.header("cache-control"),
            "public, max-age=604800, stale-while-revalidate=2678400"
        );
        for inm in [etag.clone(), format!("W/{etag}")] {
            let a = g
                .get(
                    &format!("/ipfs/{root}/root2/root3/"),
                    &[("if-none-match", &inm)],
                )
                .await;
            assert_eq!(a.status, 304, "{inm}");
        }

        let a = g
            .get(&format!("/ipfs/{root}/root2/root3/root4/"), &[])
            .await;
        assert_eq!(a.status, 200);
        assert_eq!(
            a.header("cache-control"),
            "public, max-age=29030400, immutable"
        );
        assert_eq!(
            a.header("x-ipfs-path"),
            format!("/ipfs/{root}/root2/root3/root4/")
        );
        assert_eq!(
            a.header("x-ipfs-roots"),
            fx.roots(&["root2", "root3", "root4"]).await
        );
        assert_eq!(
            a.header("etag"),
            format!("\"{root4}\""),
            "a directory's index keeps its ETag"
        );

        let a = g
            .get(&format!("/ipfs/{root}/root2/root3/root4/index.html"), &[])
            .await;
        assert_eq!(a.status, 200);
        assert_eq!(
            a.header("cache-control"),
            "public, max-age=29030400, immutable"
        );
        assert_eq!(
            a.header("x-ipfs-roots"),
            fx.roots(&["root2", "root3", "root4", "index.html"]).await
        );
        assert_eq!(a.header("etag"), format!("\"{index}\""));

        let raw = g
            .get(&format!("/ipfs/{root}/root2/root3/root4/?format=raw"), &[])
            .await;
        assert_eq!(raw.status, 200);
        assert_eq!(
            raw.header("cache-control"),
            "public, max-age=29030400, immutable"
        );
        assert_eq!(raw.body, fx.block(&root4));
        assert_eq!(&raw.body[..4], &[0x12, 0x34, 0x0a, 0x24]);

        let local = [("cache-control", "only-if-cached")];
        for method in ["HEAD", "GET"] {
            let a = g
                .request(
                    method,
                    &format!("/ipfs/{root}/root2/root3/root4/?format=raw"),
                    &local,
                )
                .await;
            assert_eq!(a.status, 200, "{method} only-if-cached, local");
            let a = g
                .request(
                    method,
                    "/ipfs/QmYzfKSE55XCjD1MW128RfciAf2DViABhEiXfgVFMabSjN",
                    &local,
                )
                .await;
            assert_eq!(a.status, 412, "{method} only-if-cached, absent");
        }

        let file = format!("/ipfs/{root}/root2/root3/root4/index.html");
        for inm in [
            format!("\"{index}\""),
            format!("\"fakeEtag1\", \"fakeEtag2\", \"{index}\""),
            format!("W/\"{index}\""),
            "*".to_string(),
        ] {
            assert_eq!(
                g.get(&file, &[("if-none-match", &inm)]).await.status,
                304,
                "{inm}"
            );
        }
        let dir = format!("/ipfs/{root}/root2/root3/root4/");
        assert_eq!(
            g.get(&dir, &[("if-none-match", &format!("\"{root4}\""))])
                .await
                .status,
            304
        );
        g.app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn symlinks_are_listed_and_served_as_their_target() {
    let fx = Fixture::open(SYMLINK).await;
    let root = fx.root;
    for g in gateways(&[SYMLINK]).await {
        let listing = g.get(&format!("/ipfs/{root}/"), &[]).await.text();
        assert!(
            listing.contains(">foo<") && listing.contains(">bar<"),
            "{:?}: {listing}",
            g.kind
        );
        let raw = g.get(&format!("/ipfs/{root}?format=raw"), &[]).await;
        assert_eq!(raw.status, 200);
        assert_eq!(raw.body, fx.block(&root));
        let link = g.get(&format!("/ipfs/{root}/bar"), &[]).await;
        assert_eq!(link.status, 200, "{:?}", g.kind);
        assert_eq!(link.text(), "foo");
        g.app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_ranges() {
    let fx = Fixture::open(FILES).await;
    let root = fx.root;
    let missing = Fixture::open(MISSING).await;
    let partial = missing.first_with_codec(0x70);
    for g in gateways(&[FILES]).await {
        let path = format!("/ipfs/{root}/ascii.txt");
        let whole = g.get(&path, &[]).await;
        assert_eq!(whole.status, 200);
        assert_eq!(whole.header("accept-ranges"), "bytes");
        assert_eq!(whole.body.len(), 31);
        let a = g.get(&path, &[("range", "bytes=6-16")]).await;
        assert_eq!(a.status, 206);
        assert_eq!(a.header("content-range"), "bytes 6-16/31");
        assert_eq!(a.body, whole.body.slice(6..17));
        let a = g.get(&path, &[("range", "bytes=-3")]).await;
        assert_eq!(a.header("content-range"), "bytes 28-30/31");
        assert_eq!(a.body, whole.body.slice(28..31));
        let a = g.get(&path, &[("range", "bytes=6-16,0-4")]).await;
        assert_eq!(a.status, 206);
        assert!(a.header("content-type").contains("multipart/byteranges"));
        let text = a.text();
        assert!(
            text.contains("Content-Range: bytes 6-16/31")
                && text.contains("Content-Range: bytes 0-4/31")
        );
        assert!(text.contains(std::str::from_utf8(&whole.body[6..17]).unwrap()));
        g.app.stop().await;
    }
    // a file with a block missing: ranges that do not touch it are served
    for g in gateways(&[]).await {
        // imported without verification of completeness: a CAR may lack blocks
        let res = g
            .app
            .client
            .post(g.app.api("ipfs/dag/import?pin-roots=false"))
            .header("content-type", "application/vnd.ipld.car")
            .body(missing.car.clone())
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success());
        for (range, want) in [
            ("bytes=997-1000", "bytes 997-1000/3072"),
            ("bytes=2200-2201", "bytes 2200-2201/3072"),
        ] {
            let a = g
                .get(&format!("/ipfs/{partial}"), &[("range", range)])
                .await;
            assert_eq!(a.status, 206, "{:?} {range}: {}", g.kind, a.text());
            assert_eq!(a.header("content-range"), want);
        }
        g.app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn percent_encoded_names_decode_once() {
    let fx = Fixture::open(PERCENT).await;
    let root = fx.root;
    let file = fx.cid(&["Portugal%2C+España=Peninsula Ibérica.txt"]).await;
    for g in gateways(&[PERCENT]).await {
        let a = g
            .get(
                &format!("/ipfs/{root}/Portugal%252C+España=Peninsula%20Ibérica.txt"),
                &[],
            )
            .await;
        assert_eq!(a.status, 200, "{:?}", g.kind);
        let raw = g.get(&format!("/ipfs/{file}?format=raw"), &[]).await;
        assert!(!a.body.is_empty());
        assert!(raw.body.ends_with(&a.body) || raw.body.windows(a.body.len()).any(|w| w == a.body));
        g.app.stop().await;
    }
}
