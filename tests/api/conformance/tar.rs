//! path_gateway_tar: files and directories as TAR, `?filename=` with non-ASCII names, and
//! trees whose names would leave the root.

use super::*;

const OUTSIDE: &str = "path_gateway_tar/outside-root.car";
const INSIDE: &str = "path_gateway_tar/inside-root.car";
const TREE: &str = "path_gateway_tar/fixtures.car";

/// (path, contents) of each regular file in a tar, and every entry's path.
fn entries(body: &[u8]) -> (Vec<(String, Vec<u8>)>, Vec<String>) {
    let mut archive = ::tar::Archive::new(body);
    let (mut files, mut all) = (Vec::new(), Vec::new());
    for e in archive.entries().unwrap() {
        let mut e = e.unwrap();
        let path = e.path().unwrap().to_string_lossy().into_owned();
        all.push(path.clone());
        if e.header().entry_type().is_file() {
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut e, &mut data).unwrap();
            files.push((path, data));
        }
    }
    (files, all)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tar_archives() {
    let fx = Fixture::open(TREE).await;
    let dir = fx.root;
    let file = fx.cid(&["ą", "ę", "file-źł.txt"]).await;
    let inside = Fixture::open(INSIDE).await.root;
    let outside = Fixture::open(OUTSIDE).await.root;
    let text = b"I am a txt file on path with utf8\n".to_vec();
    for g in gateways(&[TREE, INSIDE, OUTSIDE]).await {
        for a in [
            g.get(&format!("/ipfs/{file}?format=tar"), &[]).await,
            g.get(&format!("/ipfs/{file}"), &[("accept", "application/x-tar")])
                .await,
        ] {
            assert_eq!(a.status, 200, "{:?}", g.kind);
            assert!(a.header("content-disposition").contains("attachment;"));
            assert!(a.header("etag").contains(&format!("W/\"{file}.x-tar")));
            assert!(a.header("content-type").contains("application/x-tar"));
            let (files, _) = entries(&a.body);
            assert_eq!(files, vec![(file.to_string(), text.clone())]);
        }
        let a = g.get(&format!("/ipfs/{dir}?format=tar"), &[]).await;
        let (files, _) = entries(&a.body);
        assert!(
            files.contains(&(format!("{dir}/ą/ę/file-źł.txt"), text.clone())),
            "{files:?}"
        );
        let a = g
            .get(
                &format!("/ipfs/{dir}?format=tar&filename=testтест.tar"),
                &[],
            )
            .await;
        assert!(a.header("content-disposition").contains(
            "attachment; filename=\"test____.tar\"; filename*=UTF-8''test%D1%82%D0%B5%D1%81%D1%82.tar"
        ));
        let a = g.get(&format!("/ipfs/{outside}?format=tar"), &[]).await;
        assert!(
            (400..600).contains(&a.status),
            "outside the root: {}",
            a.status
        );
        let a = g.get(&format!("/ipfs/{inside}?format=tar"), &[]).await;
        assert_eq!(a.status, 200);
        let (_, all) = entries(&a.body);
        assert!(all.contains(&format!("{inside}/foobar/file")), "{all:?}");
        g.app.stop().await;
    }
}
