//! Data dirs of other layout versions: a store written by version 1 (`fixtures/stores/v1`, made
//! by the previous build) opens, is migrated, and serves everything it held; a newer one is
//! refused untouched.

use crate::helpers::*;
use ipfs_mcp::startup::Application;
use std::path::Path;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn fixture_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/stores/v1");
    copy_dir(&src, dir.path());
    dir
}

const F1: &str = "QmZNz7YR9ZnZZJgWKQ1MdmJ9VwkUHNZTsRWfyVSfmaC59M";
const F2: &str = "bafybeigkglpnrepsm2zszwxfk5sl7juqsn3zvliivelbuifpqa35qirtae";
const F3: &str = "QmU1qipi4iaE6FJ98nNvDu86RNng7T5vqTpcpJgjpnviRs";

#[tokio::test]
async fn a_version_1_store_is_migrated_and_serves_what_it_held() {
    let dir = fixture_copy();
    assert!(!dir.path().join("layout-version").exists());
    let app = spawn_with(persistent_settings(dir.path())).await;
    assert_eq!(
        std::fs::read_to_string(dir.path().join("layout-version")).unwrap(),
        "3\n"
    );

    let f2: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 256) as u8).collect();
    for (cid, expected) in [
        (F1, b"hello from layout version 1\n".to_vec()),
        (F2, f2),
        (F3, b"added without a pin\n".to_vec()),
    ] {
        let res = app
            .client
            .get(app.api(&format!("ipfs/cat/{cid}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{cid}");
        if cid == F1 {
            assert_eq!(
                res.headers()["x-cache-tier"],
                "disk",
                "v1's disk cache is kept"
            );
        }
        assert_eq!(res.bytes().await.unwrap(), expected, "{cid}");
    }
    let (_, pins) = app.get_json("ipfs/pin/ls?type=recursive").await;
    let pins = pins.to_string();
    assert!(
        pins.contains(F1) && pins.contains(F2) && !pins.contains(F3),
        "{pins}"
    );

    // the migration seeded metadata from the old pins and disk cache
    let (_, body) = app.get_json("cache/metadata?filter=pinned+==+true").await;
    assert_eq!(body["matched"], 2, "{body}");
    let (_, body) = app.get_json(&format!("cache/metadata/{F1}")).await;
    assert_eq!(body["row"]["size_bytes"], 28, "{body}");
    app.stop().await;

    // the disk cache moved to one file per object (layout 3), the old sled db is gone
    assert!(dir.path().join("cache/objects").is_dir());
    assert!(!dir.path().join("cache/conf").exists() && !dir.path().join("cache.v3").exists());

    // opening again is a no-op: already version 3
    let app = spawn_with(persistent_settings(dir.path())).await;
    let (_, body) = app.get_json(&format!("cache/metadata/{F1}")).await;
    assert_eq!(body["row"]["access_count"], 1, "{body}");
    app.stop().await;
}

#[tokio::test]
async fn a_newer_store_is_refused_and_left_untouched() {
    let dir = fixture_copy();
    std::fs::write(dir.path().join("layout-version"), "4\n").unwrap();
    let err = match Application::build(persistent_settings(dir.path())).await {
        Ok(_) => panic!("a layout-4 data dir must be refused"),
        Err(e) => e.to_string(),
    };
    assert!(
        err.contains("layout version 4") && err.contains("newer"),
        "{err}"
    );
    assert!(!dir.path().join("metadata").exists(), "nothing was changed");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("layout-version")).unwrap(),
        "4\n"
    );

    std::fs::write(dir.path().join("layout-version"), "two\n").unwrap();
    let err = Application::build(persistent_settings(dir.path()))
        .await
        .err()
        .expect("garbage version refused")
        .to_string();
    assert!(err.contains("layout-version"), "{err}");
}
