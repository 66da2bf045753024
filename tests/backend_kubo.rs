//! The shared backend suite, unchanged, against a real IPFS node (js-ipfs via
//! `scripts/ipfs-node.sh`, one node for this test binary), plus what only a real node shows:
//! the same CIDs as the simulation for the same bytes and parameters, and content moving
//! between the gateway's backend and the node's own API in both directions. The same suite also
//! runs with the node replaced by another ipfs-mcp's Kubo RPC API (`ipfs_mcp_rpc`).

mod backend_suite;
mod common;

use common::ipfs_node::IpfsNode;
use futures_util::TryStreamExt;
use ipfs_mcp::backend::kubo::KuboBackend;
use ipfs_mcp::backend::kubo::options::KuboOptions;
use ipfs_mcp::backend::simulation::SimulationBackend;
use ipfs_mcp::backend::*;
use ipfs_mcp::unixfs::ImportOptions;
use std::sync::Arc;

/// The node's backend, or `None` when no node can run here (see `common::ipfs_node`).
async fn kubo() -> Option<backend_suite::B> {
    let node = tokio::task::spawn_blocking(IpfsNode::shared)
        .await
        .unwrap()?;
    Some(Arc::new(
        KuboBackend::new(KuboOptions {
            url: node.api.clone(),
            // js-ipfs waits for absent blocks even offline; don't wait the default 30 s (5 s: CI machines are busy)
            first_byte_timeout_ms: 5_000,
            ..Default::default()
        })
        .unwrap(),
    ))
}

mod node {
    use super::*;
    backend_suite!(optional: kubo());
}

/// The Kubo backend pointed at another ipfs-mcp's Kubo RPC API (`/api/v0`, the simulation
/// behind it): the same suite passes, so an ipfs-mcp can stand in for the node it fronts.
async fn through_ipfs_mcp() -> backend_suite::B {
    let mut settings = ipfs_mcp::config::Settings::default();
    settings.server.port = 0;
    settings.server.isolation = true;
    settings.server.workers = Some(1);
    let app = ipfs_mcp::startup::Application::build(settings)
        .await
        .expect("the ipfs-mcp in front builds");
    let url = format!("http://127.0.0.1:{}", app.port());
    // served until this test's runtime ends
    tokio::spawn(app.run_until_stopped());
    Arc::new(
        KuboBackend::new(KuboOptions {
            url,
            ..Default::default()
        })
        .unwrap(),
    )
}

mod ipfs_mcp_rpc {
    use super::*;
    backend_suite!(through_ipfs_mcp());
}

/// For the same bytes and parameters, the node and the simulation give the same CIDs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_cids_as_the_simulation() {
    let Some(node) = kubo().await else { return };
    let sim: backend_suite::B = Arc::new(SimulationBackend::open(None).unwrap());
    let data = backend_suite::unique_bytes(600_000); // 3 chunks at the default size
    let cases = [
        (None, None, None, false),
        (Some("1"), None, None, false),
        (Some("0"), Some(true), None, false),
        (Some("1"), Some(false), Some("size-1024"), false),
        (None, None, Some("size-2048"), true),
    ];
    for (version, raw, chunker, wrap) in cases {
        let opts = || {
            ImportOptions::from_params(version, raw, chunker, wrap, Some("f.bin".into())).unwrap()
        };
        let a = backend_suite::add(&node, &data, opts(), false).await;
        let b = backend_suite::add(&sim, &data, opts(), false).await;
        assert_eq!(
            (a.root, a.dag_size),
            (b.root, b.dag_size),
            "{version:?} {raw:?} {chunker:?} wrap={wrap}"
        );
    }
    let block = bytes::Bytes::from(backend_suite::unique_bytes(100));
    for opts in [
        BlockPutOptions::default(),
        BlockPutOptions {
            codec: 0x70,
            cid_v0: true,
            pin: false,
        },
    ] {
        let a = node.block_put(block.clone(), opts.clone()).await;
        let b = sim.block_put(block.clone(), opts).await;
        // arbitrary bytes are not valid dag-pb: both refuse, or both store the same CID
        match (a, b) {
            (Ok(a), Ok(b)) => assert_eq!(a, b),
            (Err(_), Err(_)) => {}
            (a, b) => panic!("backends disagree: {a:?} vs {b:?}"),
        }
    }
}

/// Content added through the backend is readable from the node's own API, and content added
/// on the node is readable through the backend.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_moves_both_ways() {
    let Some(backend) = kubo().await else { return };
    let node = IpfsNode::shared().unwrap();
    let ours = backend_suite::unique_bytes(300_000);
    let added = backend_suite::add(&backend, &ours, ImportOptions::default(), true).await;
    let res = node.rpc(&format!("cat?arg={}", added.root)).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.bytes().await.unwrap().as_ref(), &ours[..]);

    let theirs = backend_suite::unique_bytes(70_000);
    let cid = node.add(&theirs, "cid-version=1").await;
    let path: ContentPath = cid.parse().unwrap();
    let read: Vec<bytes::Bytes> = backend
        .cat(&path, 0, None)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(read.concat(), theirs);
    let stats = backend.stats().await.unwrap();
    assert!(stats.repo.num_objects > 0 && stats.bandwidth.is_some());
    let provs = backend.find_providers(&path.root, 5).await.unwrap();
    assert_eq!(provs[0].id, backend.id().await.unwrap().id);
}
