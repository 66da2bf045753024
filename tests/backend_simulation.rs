//! The shared backend suite against the simulation backend, in memory and on disk, plus the
//! simulation's own promises (persistence, offline DHT answers).

mod backend_suite;
mod common;

use ipfs_mcp::backend::simulation::SimulationBackend;
use ipfs_mcp::backend::*;
use std::sync::Arc;

async fn in_memory() -> backend_suite::B {
    Arc::new(SimulationBackend::open(None).unwrap())
}

mod memory {
    use super::*;
    backend_suite!(in_memory());
}

mod on_disk {
    use super::*;
    async fn on_disk() -> backend_suite::B {
        // leaked on purpose: the dir must outlive the backend inside the test
        let dir = Box::leak(Box::new(tempfile::tempdir().unwrap()));
        Arc::new(SimulationBackend::open(Some(dir.path())).unwrap())
    }
    backend_suite!(on_disk());
}

#[tokio::test]
async fn content_pins_and_names_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let data = backend_suite::unique_bytes(700_000);
    let (root, name) = {
        let b: backend_suite::B = Arc::new(SimulationBackend::open(Some(dir.path())).unwrap());
        let added = backend_suite::add(&b, &data, Default::default(), true).await;
        let p = b
            .name_publish(&added.root.to_string(), NamePublishOptions::default())
            .await
            .unwrap();
        (added.root, p.name)
    };
    let b: backend_suite::B = Arc::new(SimulationBackend::open(Some(dir.path())).unwrap());
    let pins = b.pin_ls(Some(&root), PinFilter::All).await.unwrap();
    assert_eq!(pins[0].kind, PinKind::Recursive);
    use futures_util::TryStreamExt;
    let parts: Vec<bytes::Bytes> = b
        .cat(&ContentPath::new(root), 0, None)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(parts.concat(), data);
    assert_eq!(
        b.name_resolve(&name).await.unwrap(),
        format!("/ipfs/{root}")
    );
}

#[tokio::test]
async fn offline_dht_answers_only_about_itself() {
    let b = in_memory().await;
    let added = backend_suite::add(&b, b"provided", Default::default(), false).await;
    let me = b.id().await.unwrap().id;
    let provs = b.find_providers(&added.root, 20).await.unwrap();
    assert_eq!(
        provs.iter().map(|p| p.id.clone()).collect::<Vec<_>>(),
        vec![me]
    );
    let absent = ipfs_mcp::unixfs::cid_of(cid::Version::V1, 0x55, b"never added");
    assert!(b.find_providers(&absent, 20).await.unwrap().is_empty());
    let stranger = libp2p_identity::Keypair::generate_ed25519()
        .public()
        .to_peer_id()
        .to_string();
    assert!(matches!(
        b.find_peer(&stranger).await,
        Err(BackendError::NotFound(_))
    ));
}

#[tokio::test]
async fn pinning_absent_content_is_not_found() {
    let b = in_memory().await;
    let absent = ipfs_mcp::unixfs::cid_of(cid::Version::V0, 0x70, b"absent");
    assert!(matches!(
        b.pin_add(&absent, true).await,
        Err(BackendError::NotFound(_))
    ));
    assert!(matches!(
        b.pin_add(&absent, false).await,
        Err(BackendError::NotFound(_))
    ));
}
