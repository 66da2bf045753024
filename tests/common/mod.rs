//! Helpers shared by the test crates.
#![allow(dead_code)]

pub mod ipfs_node;

use serde::Deserialize;

/// The fixture recipe (see scripts/make-cid-fixtures.mjs): the concatenation of
/// SHA-256("<seed>:<i>") for i = 0, 1, ... cut to `size`.
pub fn fixture_bytes(seed: &str, size: usize) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let mut out = Vec::with_capacity(size + 32);
    let mut i = 0u64;
    while out.len() < size {
        out.extend_from_slice(&Sha256::digest(format!("{seed}:{i}").as_bytes()));
        i += 1;
    }
    out.truncate(size);
    out
}

#[derive(Debug, Deserialize)]
pub struct Fixtures {
    pub seed: String,
    pub cases: Vec<Case>,
}

#[derive(Debug, Deserialize, Clone)]
pub struct Case {
    pub size: usize,
    pub params: String,
    pub cid: String,
}

pub fn kubo_cids() -> Fixtures {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/kubo-cids.json"
    ))
    .expect("fixtures/kubo-cids.json");
    serde_json::from_str(&text).expect("valid fixtures")
}

/// The node prints CIDv1 in base58btc; compare as CIDs, print as Kubo does.
pub fn normalize(cid: &str) -> String {
    cid::Cid::try_from(cid)
        .expect("fixture CID parses")
        .to_string()
}

/// Query parameters of a case as pairs.
pub fn params(case: &Case) -> Vec<(String, String)> {
    case.params
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap();
            (k.to_string(), v.to_string())
        })
        .collect()
}

/// The CID the reference importer gives `path` in tree `tree` of `fixtures/unixfs-trees.json`.
pub fn tree_reference(tree: &str, path: &str) -> String {
    let fixtures: Vec<serde_json::Value> =
        serde_json::from_str(include_str!("../../fixtures/unixfs-trees.json")).unwrap();
    let t = fixtures.iter().find(|t| t["name"] == tree).unwrap();
    let e = t["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["path"] == path)
        .unwrap_or_else(|| panic!("no {path:?} in {tree}"));
    e["cid"].as_str().unwrap().to_string()
}
