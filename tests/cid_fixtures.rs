//! The importer against CIDs computed by a real IPFS node (fixtures/kubo-cids.json): files from
//! 0 B to 50 MB crossing the one-chunk, 174-link and two-level boundaries, five parameter sets.

mod common;

use ipfs_mcp::unixfs::ImportOptions;
use ipfs_mcp::unixfs::importer::import_bytes;

#[test]
fn importer_matches_real_node_for_every_fixture() {
    let fixtures = common::kubo_cids();
    assert!(fixtures.cases.len() >= 80, "fixture set is complete");
    let mut data = Vec::new();
    let mut failures = Vec::new();
    for case in &fixtures.cases {
        if data.len() != case.size {
            data = common::fixture_bytes(&fixtures.seed, case.size);
        }
        let p = common::params(case);
        let get = |k: &str| p.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let opts = ImportOptions::from_params(
            get("cid-version"),
            get("raw-leaves").map(|v| v == "true"),
            get("chunker"),
            false,
            None,
        )
        .unwrap();
        let got = import_bytes(&data, opts, |_, _| {}).root.to_string();
        if got != common::normalize(&case.cid) {
            failures.push(format!(
                "{} [{}]: got {got}, node says {}",
                case.size, case.params, case.cid
            ));
        }
    }
    assert!(failures.is_empty(), "mismatches:\n{}", failures.join("\n"));
}

#[test]
fn fixture_recipe_is_stable() {
    // Guards the generator itself: the first bytes are SHA-256("ipfs-mcp:0").
    let b = common::fixture_bytes("ipfs-mcp", 40);
    assert_eq!(b.len(), 40);
    assert_eq!(&b[..32], &common::fixture_bytes("ipfs-mcp", 32)[..]);
    assert_ne!(&b[..8], &[0u8; 8]);
}
