//! CAR out and in: the trustless gateway's `?format=car` (scopes, entity-bytes, headers),
//! `dag/export` and `dag/import` (verified, roots pinned, a corrupt block stores nothing), and
//! both directions against a real node.

use crate::common::ipfs_node::IpfsNode;
use crate::helpers::*;
use bytes::Bytes;
use cid::Cid;

async fn blocks(car: &[u8]) -> (Vec<Cid>, Vec<(Cid, Vec<u8>)>) {
    let mut r = iroh_car::CarReader::new(car).await.expect("a valid CAR");
    let roots = r.header().roots().to_vec();
    let mut out = Vec::new();
    while let Some(b) = r.next_block().await.unwrap() {
        out.push(b);
    }
    (roots, out)
}

async fn add_file(app: &TestApp, len: usize) -> (String, Vec<u8>) {
    let data = crate::common::fixture_bytes("car", len);
    let cid = app.add(&data, "cid-version=1&chunker=size-1000").await["cid"]
        .as_str()
        .unwrap()
        .to_string();
    (cid, data)
}

async fn import(app: &TestApp, car: Vec<u8>) -> reqwest::Response {
    app.client
        .post(app.api("ipfs/dag/import"))
        .header("content-type", "application/vnd.ipld.car")
        .body(car)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_trustless_gateway_serves_car_by_scope() {
    let app = spawn_app().await;
    let (cid, _) = add_file(&app, 5500).await; // a root and 6 leaves
    let res = app
        .client
        .get(app.url(&format!("/ipfs/{cid}?format=car")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let hs = res.headers().clone();
    assert_eq!(
        hs["content-type"],
        "application/vnd.ipld.car; version=1; order=dfs; dups=n"
    );
    assert_eq!(hs["etag"], format!("\"{cid}.car.all\""));
    assert_eq!(
        hs["content-disposition"],
        format!("attachment; filename=\"{cid}.car\"")
    );
    assert_eq!(hs["cache-control"], "public, max-age=29030400, immutable");
    let (roots, all) = blocks(&res.bytes().await.unwrap()).await;
    assert_eq!(roots[0].to_string(), cid);
    assert_eq!(all.len(), 7);
    assert_eq!(all[0].0.to_string(), cid, "depth-first: the root first");
    let distinct: std::collections::HashSet<_> = all.iter().map(|b| b.0).collect();
    assert_eq!(distinct.len(), 7, "no duplicates");

    let res = app
        .client
        .get(app.url(&format!("/ipfs/{cid}?dag-scope=block")))
        .header("accept", "application/vnd.ipld.car")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["etag"], format!("\"{cid}.car.block\""));
    assert_eq!(blocks(&res.bytes().await.unwrap()).await.1.len(), 1);

    let res = app
        .client
        .get(app.url(&format!(
            "/ipfs/{cid}?format=car&dag-scope=entity&entity-bytes=1500:2500"
        )))
        .send()
        .await
        .unwrap();
    let got: Vec<Cid> = blocks(&res.bytes().await.unwrap())
        .await
        .1
        .into_iter()
        .map(|b| b.0)
        .collect();
    assert_eq!(
        got,
        vec![all[0].0, all[2].0, all[3].0],
        "only the covering leaves"
    );

    let res = app
        .client
        .get(app.url(&format!("/ipfs/{cid}?format=car&dag-scope=sideways")))
        .send()
        .await
        .unwrap();
    assert_error_response(res, 400, "invalid_argument").await;
}

#[tokio::test]
async fn export_then_import_elsewhere_and_corrupt_cars_are_refused() {
    let source = spawn_app().await;
    let (cid, data) = add_file(&source, 4000).await;
    let res = source
        .client
        .get(source.api(&format!("ipfs/dag/export/{cid}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let car = res.bytes().await.unwrap().to_vec();

    let target = spawn_app().await;
    let mut corrupt = car.clone();
    let at = corrupt.len() - 3;
    corrupt[at] ^= 0x55;
    assert_error_response(import(&target, corrupt).await, 400, "invalid_argument").await;
    let res = target
        .client
        .get(target.api(&format!("ipfs/block/stat/{cid}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404, "nothing of a rejected CAR is stored");
    assert_error_response(
        import(&target, b"garbage".to_vec()).await,
        400,
        "invalid_argument",
    )
    .await;

    let res = import(&target, car).await;
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["roots"][0], cid);
    assert_eq!(body["blocks"], 5);
    let res = target
        .client
        .get(target.api(&format!("ipfs/cat/{cid}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.bytes().await.unwrap().as_ref(), &data[..]);
    let (_, pins) = target.get_json(&format!("ipfs/pin/ls?arg={cid}")).await;
    assert!(pins.to_string().contains("recursive"), "{pins}");
}

/// The gateway's CAR imports into a real node, and the node's CAR into the gateway.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cars_move_between_the_gateway_and_a_real_node() {
    let Some(node) = tokio::task::spawn_blocking(IpfsNode::shared).await.unwrap() else {
        return;
    };
    let app = spawn_app().await;
    let (cid, data) = add_file(&app, 300_000).await;
    let car = app
        .client
        .get(app.url(&format!("/ipfs/{cid}?format=car")))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let (body, ctype) = multipart("file", "x.car", &car);
    let res = app
        .client
        .post(format!("{}/api/v0/dag/import", node.api))
        .header("content-type", ctype)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    let root: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    let node_root: Cid = root["Root"]["Cid"]["/"].as_str().unwrap().parse().unwrap();
    assert_eq!(node_root.to_string(), cid, "the same root");
    let res = node.rpc(&format!("cat?arg={cid}")).await;
    assert_eq!(res.bytes().await.unwrap().as_ref(), &data[..]);

    let theirs = crate::common::fixture_bytes("from-the-node", 70_000);
    let their_cid = node.add(&theirs, "cid-version=1&chunker=size-4096").await;
    let res = node.rpc(&format!("dag/export?arg={their_cid}")).await;
    assert_eq!(res.status(), 200);
    let car: Bytes = res.bytes().await.unwrap();
    let res = import(&app, car.to_vec()).await;
    assert_eq!(res.status(), 200);
    let their_cid: Cid = their_cid.parse().unwrap();
    let res = app
        .client
        .get(app.url(&format!("/ipfs/{their_cid}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.bytes().await.unwrap().as_ref(), &theirs[..]);
}
