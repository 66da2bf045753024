//! Directory adds against the reference importer: the trees of `scripts/unixfs-reference/
//! trees.mjs` (recorded in `fixtures/unixfs-trees.json` by `scripts/record-tree-fixtures.sh`
//! with npm `ipfs-unixfs-importer`, Kubo's default profile) rebuilt by our [`TreeImport`]:
//! every recorded entry must have the same CID and size, sharded directories included.

use cid::Cid;
use ipfs_mcp::unixfs::ImportOptions;
use ipfs_mcp::unixfs::tree::{EntryPath, TreeImport};
use serde_json::Value;

/// The same trees as `trees.mjs` (names and bytes must match it exactly).
fn tree(name: &str) -> Vec<(String, Option<Vec<u8>>)> {
    let file = |p: &str, t: &str| (p.to_string(), Some(t.as_bytes().to_vec()));
    let many = |dir: &str, n: usize| {
        (0..n)
            .map(|i| {
                (
                    format!("{dir}/file-{i:05}.txt"),
                    Some(format!("file {i}\n").into_bytes()),
                )
            })
            .collect::<Vec<_>>()
    };
    match name {
        "nested" => vec![
            file("d/a.txt", "alpha\n"),
            file("d/sub/b.txt", "beta\n"),
            ("d/empty".into(), None),
        ],
        "wrapped-top-level" => vec![file("x.txt", "x"), file("y.txt", "y"), file("z/w.txt", "w")],
        "wrapped-v1" => vec![file("x.txt", "x"), file("z/w.txt", "w")],
        "unicode-names" => vec![file("ünï cödé.txt", "u"), file("a b/c%d.txt", "p")],
        "flat-5461" | "sharded-5462" => many("edge", name[name.len() - 4..].parse().unwrap()),
        "sharded-10000" | "sharded-10000-wrapped-v1" => many("big", 10_000),
        other => panic!("unknown tree {other}"),
    }
}

#[test]
fn directory_adds_match_the_reference_importer() {
    let fixtures: Vec<Value> =
        serde_json::from_str(include_str!("../fixtures/unixfs-trees.json")).unwrap();
    assert!(fixtures.len() >= 8);
    for fx in &fixtures {
        let name = fx["name"].as_str().unwrap();
        let options = ImportOptions::from_params(
            Some(&fx["cidVersion"].to_string()),
            Some(fx["rawLeaves"].as_bool().unwrap()),
            None,
            fx["wrap"].as_bool().unwrap(),
            None,
        )
        .unwrap();
        let mut import = TreeImport::new(options);
        let mut blocks = 0usize;
        let mut sink = |_: Cid, _: ipfs_mcp::unixfs::Block| {
            blocks += 1;
            Ok::<(), ()>(())
        };
        for (path, data) in tree(name) {
            let path = EntryPath::parse(&path).unwrap();
            match data {
                Some(d) => {
                    import.begin_file(Some(path)).unwrap();
                    import.push(&d, &mut sink).unwrap();
                    import.end_file(&mut sink).unwrap().unwrap();
                }
                None => import.directory(path).unwrap(),
            }
        }
        let summary = import.finish(&mut sink).unwrap().unwrap();
        for want in fx["entries"].as_array().unwrap() {
            let path = want["path"].as_str().unwrap();
            let got = summary
                .entries
                .iter()
                .find(|e| e.path == path)
                .unwrap_or_else(|| panic!("{name}: no entry {path:?}"));
            assert_eq!(
                got.cid.to_string(),
                want["cid"].as_str().unwrap(),
                "{name}: {path:?}"
            );
            assert_eq!(
                got.tsize,
                want["size"].as_u64().unwrap(),
                "{name}: size of {path:?}"
            );
        }
        let root = fx["entries"].as_array().unwrap().last().unwrap();
        assert_eq!(
            summary.entries.last().unwrap().cid.to_string(),
            root["cid"].as_str().unwrap(),
            "{name}: the root is last"
        );
    }
}
