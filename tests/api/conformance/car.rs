//! trustless_gateway_car: CARs of paths (through directories, a HAMT, a DAG-CBOR root),
//! 404 for a path that does not exist, `dag-scope` block/entity/all, `entity-bytes` with
//! blocks missing outside the range, `dups=y|n` and `order` negotiation, identity CIDs.

use super::*;

const SUBDIR: &str = "trustless_gateway_car/subdir-with-two-single-block-files.car";
const HAMT: &str = "trustless_gateway_car/single-layer-hamt-with-multi-block-files.car";
const CBOR_LINKS: &str = "trustless_gateway_car/dir-with-dag-cbor-with-links.car";
const MIXED: &str = "trustless_gateway_car/subdir-with-mixed-block-files.car";
const DUPS: &str = "trustless_gateway_car/dir-with-duplicate-files.car";
const MISSING: &str = "trustless_gateway_car/file-3k-and-3-blocks-missing-block.car";

impl Fixture {
    /// Depth-first pre-order from `cid` over the fixture's blocks, repeats kept or not.
    fn dfs(&self, cid: Cid, dups: bool) -> Vec<Cid> {
        let (mut out, mut seen, mut stack) =
            (Vec::new(), std::collections::HashSet::new(), vec![cid]);
        while let Some(c) = stack.pop() {
            if !seen.insert(c) && !dups {
                continue;
            }
            out.push(c);
            let links = ipfs_mcp::backend::ipld::links(&c, &self.blocks[&c]).unwrap();
            stack.extend(links.into_iter().rev());
        }
        out
    }
}

async fn car(g: &Gateway, path: &str, headers: &[(&str, &str)]) -> (Answer, Vec<Cid>) {
    let a = g.get(path, headers).await;
    assert_eq!(a.status, 200, "{:?} {path}: {}", g.kind, a.text());
    let blocks = car_blocks(&a.body).await;
    (a, blocks)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cars_of_paths() {
    let sub = Fixture::open(SUBDIR).await;
    let hamt = Fixture::open(HAMT).await;
    let cbor = Fixture::open(CBOR_LINKS).await;
    let root = sub.first_with_codec(0x70);
    let hamt_root = hamt.first_with_codec(0x70);
    let document = cbor.cid(&["document"]).await;
    let single = cbor.cid(&["document", "files", "single"]).await;
    for g in gateways(&[SUBDIR, HAMT, CBOR_LINKS]).await {
        let (_, got) = car(
            &g,
            &format!("/ipfs/{root}/subdir/ascii.txt?format=car"),
            &[],
        )
        .await;
        let want = vec![
            sub.root,
            sub.cid(&["subdir"]).await,
            sub.cid(&["subdir", "ascii.txt"]).await,
        ];
        assert_eq!(got, want, "{:?}", g.kind);

        let file = hamt.cid(&["685.txt"]).await;
        let (_, got) = car(&g, &format!("/ipfs/{hamt_root}/685.txt?format=car"), &[]).await;
        assert_eq!(got[0], hamt_root);
        assert_eq!(
            got[got.len() - hamt.dfs(file, false).len()..],
            hamt.dfs(file, false)[..]
        );

        let (_, got) = car(
            &g,
            &format!("/ipfs/{hamt_root}/1.txt?format=car&dag-scope=block"),
            &[],
        )
        .await;
        assert_eq!(got.first(), Some(&hamt_root));
        assert_eq!(got.last(), Some(&hamt.cid(&["1.txt"]).await));

        let (_, got) = car(
            &g,
            &format!("/ipfs/{document}/files/single?format=car"),
            &[],
        )
        .await;
        assert_eq!(got, vec![document, single]);

        let a = g
            .get(
                &format!("/ipfs/{root}/subdir/i-do-not-exist?format=car"),
                &[],
            )
            .await;
        assert_eq!(a.status, 404, "a missing path is a 404, not a CAR");
        g.app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dag_scopes_and_entity_bytes() {
    let sub = Fixture::open(SUBDIR).await;
    let hamt = Fixture::open(HAMT).await;
    let mixed = Fixture::open(MIXED).await;
    let missing = Fixture::open(MISSING).await;
    let root = sub.first_with_codec(0x70);
    let hamt_root = hamt.first_with_codec(0x70);
    let mixed_root = mixed.first_with_codec(0x70);
    for g in gateways(&[SUBDIR, HAMT, MIXED, MISSING]).await {
        let (_, got) = car(
            &g,
            &format!("/ipfs/{root}?format=car&dag-scope=entity"),
            &[],
        )
        .await;
        assert_eq!(got, vec![sub.root], "{:?}", g.kind);
        let (_, got) = car(
            &g,
            &format!("/ipfs/{root}/subdir?format=car&dag-scope=block"),
            &[],
        )
        .await;
        assert_eq!(got, vec![sub.root, sub.cid(&["subdir"]).await]);
        let (_, got) = car(
            &g,
            &format!("/ipfs/{hamt_root}?format=car&dag-scope=entity"),
            &[],
        )
        .await;
        assert_eq!(got[0], hamt_root);
        assert!(
            got.iter().all(|c| c.codec() == 0x70),
            "only the HAMT's own shards"
        );
        let ascii = mixed.cid(&["subdir", "ascii.txt"]).await;
        let (_, got) = car(
            &g,
            &format!("/ipfs/{mixed_root}/subdir/ascii.txt?format=car&dag-scope=entity"),
            &[],
        )
        .await;
        let mut want = vec![mixed.root, mixed.cid(&["subdir"]).await];
        want.extend(mixed.dfs(ascii, false));
        assert_eq!(got, want);
        let (_, got) = car(
            &g,
            &format!("/ipfs/{mixed_root}?format=car&dag-scope=all"),
            &[],
        )
        .await;
        assert_eq!(got, mixed.dfs(mixed.root, false));

        let partial = missing.first_with_codec(0x70);
        for eb in ["0:1000", "2200:*"] {
            let (_, got) = car(
                &g,
                &format!("/ipfs/{partial}?format=car&dag-scope=entity&entity-bytes={eb}"),
                &[],
            )
            .await;
            assert_eq!(got[0], partial, "{eb}");
            assert!(got.len() >= 2, "{eb}: the root and the leaves of the range");
        }
        g.app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dups_order_and_identity() {
    let fx = Fixture::open(DUPS).await;
    let root = fx.root;
    for g in gateways(&[DUPS]).await {
        let (a, got) = car(
            &g,
            &format!("/ipfs/{root}"),
            &[(
                "accept",
                "application/vnd.ipld.car; version=1; order=dfs; dups=y",
            )],
        )
        .await;
        let ct = a.header("content-type");
        assert!(
            ct.contains("application/vnd.ipld.car")
                && ct.contains("order=dfs")
                && ct.contains("dups=y"),
            "{ct}"
        );
        assert_eq!(
            got,
            fx.dfs(root, true),
            "{:?}: every block as met, repeats included",
            g.kind
        );
        assert!(got.len() > fx.dfs(root, false).len());
        let (a, got) = car(
            &g,
            &format!("/ipfs/{root}"),
            &[(
                "accept",
                "application/vnd.ipld.car; version=1; order=dfs; dups=n",
            )],
        )
        .await;
        assert!(a.header("content-type").contains("dups=n"));
        assert_eq!(got, fx.dfs(root, false));
        let (a, _) = car(
            &g,
            &format!("/ipfs/{root}"),
            &[("accept", "application/vnd.ipld.car; version=1; order=unk")],
        )
        .await;
        assert!(a.header("content-type").contains("order="));
        let (a, got) = car(
            &g,
            "/ipfs/bafkqaf3imvwgy3zaneqgc3janfxgy2lomvscay3jmqfa",
            &[("accept", "application/vnd.ipld.car; dups=y")],
        )
        .await;
        assert!(a.header("content-type").contains("dups=y"));
        assert!(got.is_empty(), "identity blocks are never sent");
        let (a, _) = car(
            &g,
            &format!("/ipfs/{root}?format=car"),
            &[(
                "accept",
                "application/vnd.ipld.car; version=1; order=dfs; dups=y",
            )],
        )
        .await;
        assert!(a.header("content-type").contains("dups=y"));
        let (a, _) = car(
            &g,
            &format!("/ipfs/{root}?format=car&car-order=dfs"),
            &[("accept", "application/vnd.ipld.car; order=unk")],
        )
        .await;
        assert!(a.header("content-type").contains("order=dfs"));
        let (a, _) = car(
            &g,
            &format!("/ipfs/{root}?format=car&car-dups=y"),
            &[("accept", "application/vnd.ipld.car; dups=n")],
        )
        .await;
        assert!(a.header("content-type").contains("dups=y"));
        g.app.stop().await;
    }
}
