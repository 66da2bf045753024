use crate::helpers::*;
use serde_json::json;

#[tokio::test]
async fn pin_add_ls_rm_with_every_argument_style_and_alias() {
    let app = spawn_app().await;
    let cid = app.add(b"pin me", "pin=false").await["cid"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, body) = app.post_json("ipfs/pin/add", json!({"cid": cid})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["Pins"], json!([cid]));
    let (status, body) = app.get_json(&format!("ipfs/pin/ls?arg={cid}")).await;
    assert_eq!(status, 200);
    assert_eq!(body["Keys"][&cid]["Type"], "recursive");
    let (_, body) = app.get_json("ipfs/pins?type=recursive").await;
    assert!(
        body["pins"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["cid"] == cid)
    );
    let res = app
        .client
        .post(app.api(&format!("ipfs/unpin?cid={cid}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let (status, body) = app.get_json(&format!("ipfs/pin/ls?cid={cid}")).await;
    assert_error(status, &body, 404, "not_found");
    let res = app
        .client
        .post(app.api(&format!("ipfs/pin?arg={cid}&recursive=false")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let (_, body) = app.get_json(&format!("ipfs/pin/ls?arg={cid}")).await;
    assert_eq!(body["Keys"][&cid]["Type"], "direct");
    let (status, body) = app.post_json("ipfs/pin/rm", json!({"cid": cid})).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn unpin_recursive_pin_non_recursively_is_409() {
    let app = spawn_app().await;
    let cid = app.add(b"recursive", "").await["cid"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, body) = app
        .post_json("ipfs/pin/rm", json!({"cid": cid, "recursive": false}))
        .await;
    assert_error(status, &body, 409, "conflict");
}

#[tokio::test]
async fn pinning_unknown_cid_is_404() {
    let app = spawn_app().await;
    let (status, body) = app
        .post_json(
            "ipfs/pin/add",
            json!({"cid": "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH"}),
        )
        .await;
    assert_error(status, &body, 404, "not_found");
}

#[tokio::test]
async fn block_put_get_stat() {
    let app = spawn_app().await;
    let (status, body) = app
        .post_json("ipfs/block/put", json!({"data": "aGVsbG8gd29ybGQ="}))
        .await;
    assert_eq!(status, 200, "{body}");
    let cid = body["Key"].as_str().unwrap().to_string();
    assert_eq!(
        cid,
        "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"
    );
    assert_eq!(body["Size"], 11);
    let res = app
        .client
        .get(app.api(&format!("ipfs/block/get/{cid}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/vnd.ipld.raw");
    assert_eq!(res.bytes().await.unwrap(), "hello world");
    let (status, body) = app.get_json(&format!("ipfs/block/stat/{cid}")).await;
    assert_eq!((status, body["Size"].as_u64()), (200, Some(11)));
    // multipart, dag-cbor codec
    let (mp, ctype) = multipart("file", "b", &[0xa1, 0x61, 0x61, 0x01]); // {"a": 1}
    let res = app
        .client
        .post(app.api("ipfs/block/put?cid-codec=dag-cbor"))
        .header("content-type", ctype)
        .body(mp)
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = res.json().await.unwrap();
    assert!(
        body["Key"].as_str().unwrap().starts_with("bafyrei"),
        "{body}"
    );
}

#[tokio::test]
async fn block_put_of_undecodable_cbor_is_400() {
    let app = spawn_app().await;
    let (status, body) = app
        .post_json(
            "ipfs/block/put",
            json!({"data": "/w==", "format": "dag-cbor"}),
        )
        .await;
    assert_error(status, &body, 400, "invalid_argument");
}

#[tokio::test]
async fn dag_put_get_resolve() {
    let app = spawn_app().await;
    let (status, body) = app
        .post_json(
            "ipfs/dag/put",
            json!({"object": {"hello": "world", "list": [1, {"x": true}]}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let cid = body["cid"].as_str().unwrap().to_string();
    assert!(cid.starts_with("bafyrei"));
    assert_eq!(body["Cid"]["/"], cid);
    let (status, body) = app.get_json(&format!("ipfs/dag/get/{cid}")).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["hello"], "world");
    let (_, body) = app
        .get_json(&format!("ipfs/dag/get/{cid}?path=list/1/x"))
        .await;
    assert_eq!(body["data"], true);
    let (_, body) = app
        .get_json(&format!("ipfs/dag/resolve/{cid}/list/1"))
        .await;
    assert_eq!(body["Cid"]["/"], cid);
    assert_eq!(body["RemPath"], "list/1");
    let (status, body) = app.get_json(&format!("ipfs/dag/get/{cid}?path=nope")).await;
    assert_error(status, &body, 404, "not_found");
    let (status, body) = app
        .post_json(
            "ipfs/dag/put",
            json!({"object": {"a": 1}, "format": "dag-json"}),
        )
        .await;
    assert_eq!(status, 200);
    assert!(
        body["cid"].as_str().unwrap().starts_with("baguqee"),
        "{body}"
    );
}
