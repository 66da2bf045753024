//! The backend test suite: written against the `Backend` trait only, so it runs unchanged
//! against every backend. `backend_suite!(make)` expands to one `#[tokio::test]` per check,
//! where `make` is an async expression yielding `Arc<dyn Backend>`.

use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use ipfs_mcp::backend::*;
use ipfs_mcp::unixfs::ImportOptions;
use std::sync::Arc;

pub type B = Arc<dyn Backend>;

pub fn unique_bytes(len: usize) -> Vec<u8> {
    // unique per call so pins and only-hash checks never see another test's blocks
    let salt = uuid::Uuid::new_v4();
    let mut out = Vec::with_capacity(len);
    let mut i = 0u64;
    while out.len() < len {
        use sha2::Digest;
        out.extend_from_slice(&sha2::Sha256::digest(format!("{salt}:{i}")));
        i += 1;
    }
    out.truncate(len);
    out
}

fn stream_of(data: Vec<u8>, piece: usize) -> ByteStream {
    let pieces: Vec<Result<Bytes, BackendError>> = data
        .chunks(piece.max(1))
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    futures_util::stream::iter(pieces).boxed()
}

pub async fn add(b: &B, data: &[u8], import: ImportOptions, pin: bool) -> Added {
    b.add(
        stream_of(data.to_vec(), 7919),
        AddOptions {
            import,
            pin,
            only_hash: false,
        },
    )
    .await
    .expect("add succeeds")
}

async fn cat_all(b: &B, path: &ContentPath, offset: u64, length: Option<u64>) -> Vec<u8> {
    let parts: Vec<Bytes> = b
        .cat(path, offset, length)
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    parts.concat()
}

fn small_chunks() -> ImportOptions {
    ImportOptions::from_params(None, None, Some("size-1024"), false, None).unwrap()
}

pub async fn add_then_cat_roundtrips(b: B) {
    let data = unique_bytes(200_000); // 196 chunks: two tree levels
    let added = add(&b, &data, small_chunks(), false).await;
    assert_eq!(added.content_size, data.len() as u64);
    let path = ContentPath::new(added.root);
    assert_eq!(cat_all(&b, &path, 0, None).await, data);
    let stat = b.stat(&path).await.unwrap();
    assert_eq!(
        stat.kind,
        NodeKind::File {
            size: data.len() as u64
        }
    );
}

pub async fn cat_reads_ranges(b: B) {
    let data = unique_bytes(10_000);
    let added = add(&b, &data, small_chunks(), false).await;
    let path = ContentPath::new(added.root);
    assert_eq!(
        cat_all(&b, &path, 1000, Some(2500)).await,
        &data[1000..3500]
    );
    assert_eq!(cat_all(&b, &path, 9_990, None).await, &data[9_990..]);
    assert_eq!(cat_all(&b, &path, 0, Some(1)).await, &data[..1]);
}

pub async fn only_hash_stores_nothing(b: B) {
    let data = unique_bytes(5000);
    let added = b
        .add(
            stream_of(data.clone(), 1000),
            AddOptions {
                import: ImportOptions::default(),
                pin: true,
                only_hash: true,
            },
        )
        .await
        .unwrap();
    assert!(!added.pinned);
    let err = b.block_stat(&added.root).await.unwrap_err();
    assert!(
        matches!(err, BackendError::NotFound(_) | BackendError::Timeout(_)),
        "{err:?}"
    );
}

pub async fn same_cids_as_published_vectors(b: B) {
    let added = add(&b, b"hello world", ImportOptions::default(), false).await;
    assert_eq!(
        added.root.to_string(),
        "Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD"
    );
    let v1 = ImportOptions::from_params(Some("1"), None, None, false, None).unwrap();
    let added = add(&b, b"hello world", v1, false).await;
    assert_eq!(
        added.root.to_string(),
        "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"
    );
}

pub async fn wrap_with_directory_is_reachable_by_name(b: B) {
    let data = unique_bytes(3000);
    let opts = ImportOptions::from_params(None, None, None, true, Some("data.bin".into())).unwrap();
    let added = add(&b, &data, opts, false).await;
    assert_eq!(added.entries.len(), 2);
    let dir = ContentPath::new(added.root);
    assert_eq!(b.stat(&dir).await.unwrap().kind, NodeKind::Directory);
    let file: ContentPath = format!("{}/data.bin", added.root).parse().unwrap();
    assert_eq!(cat_all(&b, &file, 0, None).await, data);
    let missing: ContentPath = format!("{}/nope", added.root).parse().unwrap();
    assert!(matches!(
        b.stat(&missing).await,
        Err(BackendError::NotFound(_))
    ));
    assert!(matches!(
        b.cat(&dir, 0, None).await,
        Err(BackendError::InvalidInput(_))
    ));
}

fn reference(tree: &str, path: &str) -> String {
    crate::common::tree_reference(tree, path)
}

fn file_part(path: &str, data: &[u8]) -> Result<AddPart, BackendError> {
    Ok(AddPart::File {
        path: Some(ipfs_mcp::unixfs::tree::EntryPath::parse(path).unwrap()),
        data: stream_of(data.to_vec(), 3),
    })
}

fn dir_part(path: &str) -> Result<AddPart, BackendError> {
    Ok(AddPart::Directory {
        path: ipfs_mcp::unixfs::tree::EntryPath::parse(path).unwrap(),
    })
}

/// Unsharded directory adds give the reference importer's CIDs (= js-ipfs's and Kubo's),
/// with every entry reported and the root last; a duplicate path is refused.
pub async fn directory_adds_match_the_reference(b: B) {
    let options = |wrap| AddOptions {
        import: ImportOptions::from_params(None, None, None, wrap, None).unwrap(),
        pin: false,
        only_hash: false,
    };
    let parts = vec![
        dir_part("d"),
        file_part("d/a.txt", b"alpha\n"),
        file_part("d/sub/b.txt", b"beta\n"),
        dir_part("d/empty"),
    ];
    let added = b
        .add_parts(futures_util::stream::iter(parts).boxed(), options(false))
        .await
        .unwrap();
    assert_eq!(added.root.to_string(), reference("nested", "d"));
    let names: Vec<&str> = added.entries.iter().map(|e| e.name.as_str()).collect();
    for want in ["d/a.txt", "d/sub/b.txt", "d/sub", "d"] {
        assert!(names.contains(&want), "{want} in {names:?}");
    }
    assert_eq!(added.entries.last().unwrap().name, "d");
    let nested: ContentPath = format!("{}/sub/b.txt", added.root).parse().unwrap();
    assert_eq!(cat_all(&b, &nested, 0, None).await, b"beta\n");

    let parts = vec![
        file_part("x.txt", b"x"),
        file_part("y.txt", b"y"),
        file_part("z/w.txt", b"w"),
    ];
    let added = b
        .add_parts(futures_util::stream::iter(parts).boxed(), options(true))
        .await
        .unwrap();
    assert_eq!(added.root.to_string(), reference("wrapped-top-level", ""));
    assert_eq!(added.entries.len(), 5, "{:?}", added.entries);
}

/// A HAMT-sharded directory (built here, imported as a CAR) is traversed by name and read.
pub async fn sharded_directories_are_traversed(b: B) {
    use ipfs_mcp::unixfs::tree::{EntryPath, TreeImport};
    let salt = uuid::Uuid::new_v4().simple().to_string();
    let mut import = TreeImport::new(ImportOptions::default());
    let mut blocks = Vec::new();
    let mut sink = |cid, block: ipfs_mcp::unixfs::Block| {
        blocks.push((cid, block.to_bytes()));
        Ok::<(), ()>(())
    };
    for i in 0..6000 {
        import
            .begin_file(Some(EntryPath::parse(&format!("s/{salt}-{i:05}")).unwrap()))
            .unwrap();
        import
            .push(format!("entry {i}").as_bytes(), &mut sink)
            .unwrap();
        import.end_file(&mut sink).unwrap().unwrap();
    }
    let root = import
        .finish(&mut sink)
        .unwrap()
        .unwrap()
        .entries
        .last()
        .unwrap()
        .cid;
    let mut car = ipfs_mcp::unixfs::car::header(vec![root]).unwrap().to_vec();
    for (cid, block) in &blocks {
        car.extend_from_slice(&ipfs_mcp::unixfs::car::frame(cid, block));
    }
    let mut file = tempfile::tempfile().unwrap();
    std::io::Write::write_all(&mut file, &car).unwrap();
    std::io::Seek::rewind(&mut file).unwrap();
    b.import_car(file, &[root], false).await.unwrap();
    assert_eq!(
        b.stat(&ContentPath::new(root)).await.unwrap().kind,
        NodeKind::Directory
    );
    for i in [0, 2999, 5999] {
        let path: ContentPath = format!("{root}/{salt}-{i:05}").parse().unwrap();
        assert_eq!(
            cat_all(&b, &path, 0, None).await,
            format!("entry {i}").as_bytes()
        );
    }
    let missing: ContentPath = format!("{root}/{salt}-absent").parse().unwrap();
    assert!(matches!(
        b.stat(&missing).await,
        Err(BackendError::NotFound(_))
    ));
}

pub async fn pins_add_list_remove(b: B) {
    let data = unique_bytes(4000);
    let added = add(&b, &data, small_chunks(), false).await;
    let root = added.root;
    assert!(matches!(
        b.pin_ls(Some(&root), PinFilter::All).await,
        Err(BackendError::NotFound(_))
    ));
    assert_eq!(b.pin_add(&root, true).await.unwrap(), vec![root]);
    let pins = b.pin_ls(Some(&root), PinFilter::All).await.unwrap();
    assert_eq!(
        pins,
        vec![Pin {
            cid: root,
            kind: PinKind::Recursive
        }]
    );
    let all = b
        .pin_ls(None, PinFilter::Only(PinKind::Recursive))
        .await
        .unwrap();
    assert!(all.iter().any(|p| p.cid == root));
    // a leaf under a recursive pin is pinned indirectly
    let leaf = b
        .dag_resolve(&format!("{root}/Links/0/Hash").parse().unwrap())
        .await
        .unwrap()
        .cid;
    let ind = b.pin_ls(Some(&leaf), PinFilter::All).await.unwrap();
    assert_eq!(ind[0].kind, PinKind::Indirect);
    b.pin_rm(&root, true).await.unwrap();
    assert!(matches!(
        b.pin_ls(Some(&root), PinFilter::All).await,
        Err(BackendError::NotFound(_))
    ));
    assert!(b.pin_rm(&root, true).await.is_err());
}

pub async fn add_with_pin_pins_recursively(b: B) {
    let added = add(&b, &unique_bytes(100), ImportOptions::default(), true).await;
    assert!(added.pinned);
    let pins = b.pin_ls(Some(&added.root), PinFilter::All).await.unwrap();
    assert_eq!(pins[0].kind, PinKind::Recursive);
}

pub async fn blocks_put_get_stat(b: B) {
    let data = Bytes::from(unique_bytes(300));
    let stat = b
        .block_put(data.clone(), BlockPutOptions::default())
        .await
        .unwrap();
    assert_eq!(stat.size, 300);
    assert_eq!(stat.cid.codec(), 0x55);
    assert_eq!(
        stat.cid,
        ipfs_mcp::unixfs::cid_of(cid::Version::V1, 0x55, &data)
    );
    assert_eq!(b.block_get(&stat.cid).await.unwrap(), data);
    assert_eq!(b.block_stat(&stat.cid).await.unwrap(), stat);
    let absent = ipfs_mcp::unixfs::cid_of(cid::Version::V1, 0x55, &unique_bytes(10));
    assert!(matches!(
        b.block_stat(&absent).await,
        Err(BackendError::NotFound(_) | BackendError::Timeout(_))
    ));
}

/// A removed block is gone; a pinned one (directly, or inside a pinned DAG) is refused.
pub async fn blocks_rm_refuses_pinned(b: B) {
    let data = Bytes::from(unique_bytes(200));
    let stat = b.block_put(data, BlockPutOptions::default()).await.unwrap();
    b.block_rm(&stat.cid).await.unwrap();
    assert!(matches!(
        b.block_stat(&stat.cid).await,
        Err(BackendError::NotFound(_) | BackendError::Timeout(_))
    ));
    assert!(matches!(
        b.block_rm(&stat.cid).await,
        Err(BackendError::NotFound(_))
    ));
    let added = add(&b, &unique_bytes(4000), small_chunks(), true).await;
    let root_block = b.block_get(&added.root).await.unwrap();
    let leaf = ipfs_mcp::backend::ipld::links(&added.root, &root_block).unwrap()[0];
    for pinned in [added.root, leaf] {
        assert!(
            matches!(b.block_rm(&pinned).await, Err(BackendError::Conflict(_))),
            "{pinned} removed while pinned"
        );
        assert!(b.block_stat(&pinned).await.is_ok());
    }
}

pub async fn dag_put_get_resolve(b: B) {
    let leaf = b
        .block_put(Bytes::from(unique_bytes(50)), BlockPutOptions::default())
        .await
        .unwrap();
    let doc = format!(
        r#"{{"name":"x","nested":{{"link":{{"/":"{}"}},"list":[1,2,3]}}}}"#,
        leaf.cid
    );
    let cid = b
        .dag_put(Bytes::from(doc), DagPutOptions::default())
        .await
        .unwrap();
    assert_eq!(cid.codec(), 0x71);
    let root = b.dag_get(&ContentPath::new(cid)).await.unwrap();
    assert_eq!(root["name"], "x");
    assert_eq!(root["nested"]["link"]["/"], leaf.cid.to_string());
    let two = b
        .dag_get(&format!("{cid}/nested/list/1").parse().unwrap())
        .await
        .unwrap();
    assert_eq!(two, serde_json::json!(2));
    let r = b
        .dag_resolve(&format!("{cid}/nested/list").parse().unwrap())
        .await
        .unwrap();
    assert_eq!((r.cid, r.rem_path.as_str()), (cid, "nested/list"));
    let r = b
        .dag_resolve(&format!("{cid}/nested/link").parse().unwrap())
        .await
        .unwrap();
    assert_eq!((r.cid, r.rem_path.as_str()), (leaf.cid, ""));
    assert!(
        b.dag_get(&format!("{cid}/absent").parse().unwrap())
            .await
            .is_err()
    );
}

pub async fn names_publish_and_resolve(b: B) {
    let added = add(&b, &unique_bytes(64), ImportOptions::default(), true).await;
    let value = format!("/ipfs/{}", added.root);
    let published = b
        .name_publish(&value, NamePublishOptions::default())
        .await
        .unwrap();
    assert_eq!(published.value, value);
    let id = b.id().await.unwrap();
    assert!(!id.id.is_empty());
    let resolved = b.name_resolve(&published.name).await.unwrap();
    assert_eq!(resolved, value);
}

pub async fn identity_and_version(b: B) {
    let id = b.id().await.unwrap();
    let peer = b.find_peer(&id.id).await.unwrap();
    assert_eq!(peer.id, id.id);
    assert!(!b.version().await.unwrap().version.is_empty());
    assert!(matches!(
        b.find_peer("not-a-peer").await,
        Err(BackendError::InvalidInput(_))
    ));
}

pub async fn invalid_paths_are_rejected(b: B) {
    assert!(matches!(
        "not-a-cid".parse::<ContentPath>(),
        Err(BackendError::InvalidInput(_))
    ));
    let absent = ipfs_mcp::unixfs::cid_of(cid::Version::V0, 0x70, &unique_bytes(10));
    assert!(b.cat(&ContentPath::new(absent), 0, None).await.is_err());
}

/// `backend_suite!(make)`: `make` yields the backend. `backend_suite!(optional: make)`:
/// `make` yields an `Option`, and `None` (no node on this machine) skips the test.
#[macro_export]
macro_rules! backend_suite {
    (optional: $make:expr) => {
        $crate::backend_suite!(@list optional $make);
    };
    ($make:expr) => {
        $crate::backend_suite!(@list required $make);
    };
    (@list $mode:ident $make:expr) => {
        $crate::backend_suite!(@tests $mode $make;
            add_then_cat_roundtrips, cat_reads_ranges, only_hash_stores_nothing,
            same_cids_as_published_vectors, wrap_with_directory_is_reachable_by_name,
            pins_add_list_remove, add_with_pin_pins_recursively, blocks_put_get_stat,
            blocks_rm_refuses_pinned,
            dag_put_get_resolve, names_publish_and_resolve, identity_and_version,
            invalid_paths_are_rejected, directory_adds_match_the_reference,
            sharded_directories_are_traversed);
    };
    (@tests $mode:ident $make:expr; $($name:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let backend = $crate::backend_suite!(@make $mode $make);
                backend_suite::$name(backend).await;
            }
        )*
    };
    (@make required $make:expr) => {
        $make.await
    };
    (@make optional $make:expr) => {
        match $make.await {
            Some(backend) => backend,
            None => return,
        }
    };
}
