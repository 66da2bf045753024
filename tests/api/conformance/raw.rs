//! path_gateway_raw and trustless_gateway_raw: blocks by `?format=raw` and `Accept`, ranges,
//! headers, `?filename=`, and `?format=` winning over `Accept`.

use super::*;

const RAW: &str = "gateway-raw-block.car";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_blocks() {
    let fx = Fixture::open(RAW).await;
    let root = fx.root;
    let dir = fx.cid(&["dir"]).await;
    let ascii = fx.cid(&["dir", "ascii.txt"]).await;
    let accept = [("accept", "application/vnd.ipld.raw")];
    for g in gateways(&[RAW]).await {
        let a = g.get(&format!("/ipfs/{root}/dir?format=raw"), &[]).await;
        assert_eq!(a.status, 200, "{:?}", g.kind);
        assert_eq!(a.body, fx.block(&dir));
        let a = g.get(&format!("/ipfs/{root}/dir"), &accept).await;
        assert_eq!(a.body, fx.block(&dir));
        let a = g
            .get(
                &format!("/ipfs/{root}/dir"),
                &[accept[0], ("range", "bytes=6-16")],
            )
            .await;
        assert_eq!(a.status, 206);
        assert_eq!(a.header("content-type"), "application/vnd.ipld.raw");
        assert_eq!(a.header("content-range"), "bytes 6-16/57");
        assert_eq!(a.body, fx.block(&dir).slice(6..17));
        let a = g.get(&format!("/ipfs/{root}/dir/ascii.txt"), &accept).await;
        assert_eq!(a.status, 200);
        assert_eq!(a.header("content-type"), "application/vnd.ipld.raw");
        assert_eq!(
            a.header("content-length"),
            fx.block(&ascii).len().to_string()
        );
        assert!(a.header("content-disposition").contains("attachment;"));
        assert_eq!(a.header("x-content-type-options"), "nosniff");
        assert_eq!(a.body, fx.block(&ascii));
        assert!(!a.header("etag").is_empty());
        assert_eq!(
            a.header("x-ipfs-path"),
            format!("/ipfs/{root}/dir/ascii.txt")
        );
        assert!(a.header("x-ipfs-roots").contains(&root.to_string()));
        assert_eq!(
            a.header("cache-control"),
            "public, max-age=29030400, immutable"
        );
        let a = g
            .get(
                &format!("/ipfs/{root}/dir/ascii.txt?filename=foobar.bin"),
                &accept,
            )
            .await;
        assert!(a.header("content-disposition").contains("attachment;"));
        assert!(
            a.header("content-disposition")
                .contains("filename=\"foobar.bin")
        );
        // ?format= wins over Accept (IPIP-0523)
        let a = g
            .get(
                &format!("/ipfs/{dir}?format=car"),
                &[("accept", "application/vnd.ipld.raw")],
            )
            .await;
        assert!(
            a.header("content-type")
                .contains("application/vnd.ipld.car")
        );
        let a = g
            .get(
                &format!("/ipfs/{dir}?format=raw"),
                &[("accept", "application/vnd.ipld.car")],
            )
            .await;
        assert_eq!(a.header("content-type"), "application/vnd.ipld.raw");
        g.app.stop().await;
    }
}
