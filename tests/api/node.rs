use crate::helpers::*;
use serde_json::json;

#[tokio::test]
async fn id_version_and_dht() {
    let app = spawn_app().await;
    let (status, id) = app.get_json("ipfs/id").await;
    assert_eq!(status, 200);
    let me = id["ID"].as_str().unwrap().to_string();
    assert!(me.starts_with("12D3KooW"), "{me}");
    assert_eq!(id["simulated"], true);
    let (status, v) = app.get_json("ipfs/version").await;
    assert_eq!(status, 200);
    assert_eq!(v["backend"], "simulation");
    assert!(v["Version"].as_str().is_some());

    let cid = app.add(b"provided", "").await["cid"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, provs) = app.get_json(&format!("ipfs/dht/findprovs?cid={cid}")).await;
    assert_eq!(status, 200);
    assert_eq!(provs["providers"][0]["ID"], me);
    let absent = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku";
    let (_, provs) = app
        .get_json(&format!("ipfs/dht/findprovs?arg={absent}"))
        .await;
    assert_eq!(provs["count"], 0);
    let (status, peer) = app
        .get_json(&format!("ipfs/dht/findpeer?peer_id={me}"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(peer["peer"]["ID"], me);
    let other = "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA";
    let (status, body) = app
        .get_json(&format!("ipfs/dht/findpeer?peer_id={other}"))
        .await;
    assert_error(status, &body, 404, "not_found");
}

#[tokio::test]
async fn name_publish_and_resolve() {
    let app = spawn_app().await;
    let cid = app.add(b"named", "").await["cid"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, body) = app
        .post_json("ipfs/name/publish", json!({"path": cid, "lifetime": "1h"}))
        .await;
    assert_eq!(status, 200, "{body}");
    let name = body["Name"].as_str().unwrap().to_string();
    assert!(name.starts_with("k51"), "{name}");
    let (status, body) = app.get_json(&format!("ipfs/name/resolve?arg={name}")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["Path"], format!("/ipfs/{cid}"));
    let (status, body) = app
        .post_json(
            "ipfs/name/publish",
            json!({"path": cid, "lifetime": "forever"}),
        )
        .await;
    assert_error(status, &body, 400, "invalid_argument");
}

#[tokio::test]
async fn stats_count_operations_errors_and_bytes() {
    let app = spawn_app().await;
    app.add(b"counted", "").await;
    app.get_json("ipfs/cat/not-a-cid").await;
    let (status, body) = app.get_json("ipfs/stats").await;
    assert_eq!(status, 200);
    let add = &body["operations"]["ipfs/add"];
    assert_eq!(add["count"], 1);
    assert!(add["bytes_in"].as_u64().unwrap() > 7);
    assert!(add["bytes_out"].as_u64().unwrap() > 0);
    assert!(add["latency_ms"]["p99"].as_f64().unwrap() > 0.0);
    assert_eq!(body["operations"]["ipfs/cat"]["errors"], 1);
}
