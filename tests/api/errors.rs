//! Every error status the API promises, each with the one JSON error body.

use crate::helpers::*;
use async_trait::async_trait;
use bytes::Bytes;
use cid::Cid;
use ipfs_mcp::backend::*;
use serde_json::json;
use std::sync::Arc;

#[tokio::test]
async fn invalid_cid_is_400() {
    let app = spawn_app().await;
    for route in [
        "ipfs/cat/not-a-cid",
        "ipfs/block/get/xyz",
        "ipfs/block/stat/Qm123",
        "ipfs/dag/get/zzz",
        "ipfs/pin/ls?arg=bad",
    ] {
        let (status, body) = app.get_json(route).await;
        assert_error(status, &body, 400, "invalid_argument");
    }
    let (status, body) = app
        .post_json("ipfs/pin/add", json!({"cid": "bafy-nope"}))
        .await;
    assert_error(status, &body, 400, "invalid_argument");
}

#[tokio::test]
async fn bad_add_parameters_are_400() {
    let app = spawn_app().await;
    for q in [
        "cid-version=2",
        "chunker=rabin",
        "chunker=size-0",
        "pin=maybe",
        "raw-leaves=x",
    ] {
        let res = app.add_raw(b"x", q).await;
        assert_error_response(res, 400, "invalid_argument").await;
    }
}

#[tokio::test]
async fn unknown_content_and_routes_are_404() {
    let app = spawn_app().await;
    let (status, body) = app
        .get_json("ipfs/cat/QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH")
        .await;
    assert_error(status, &body, 404, "not_found");
    let (status, body) = app.get_json("no/such/route").await;
    assert_error(status, &body, 404, "not_found");
    let res = app.client.get(app.url("/elsewhere")).send().await.unwrap();
    assert_error_response(res, 404, "not_found").await;
}

#[tokio::test]
async fn wrong_method_is_a_json_error() {
    let app = spawn_app().await;
    let res = app.client.delete(app.api("ipfs/add")).send().await.unwrap();
    assert_error_response(res, 405, "method_not_allowed").await;
    let res = app
        .client
        .post(app.api("ipfs/cat/QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH"))
        .send()
        .await
        .unwrap();
    assert_error_response(res, 405, "method_not_allowed").await;
}

#[tokio::test]
async fn bodies_over_the_limit_are_413() {
    let mut settings = test_settings();
    settings.limits.max_upload_bytes = 1000;
    settings.limits.max_json_bytes = 100;
    let app = spawn_with(settings).await;
    let res = app.add_raw(&vec![1u8; 5000], "").await;
    assert_error_response(res, 413, "payload_too_large").await;
    // streamed without a Content-Length: caught as the bytes arrive
    let chunks: Vec<Result<Bytes, std::io::Error>> =
        (0..20).map(|_| Ok(Bytes::from(vec![0u8; 100]))).collect();
    let res = app
        .client
        .post(app.api("ipfs/add"))
        .header("content-type", "application/octet-stream")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .unwrap();
    assert_error_response(res, 413, "payload_too_large").await;
    let (status, body) = app
        .post_json("ipfs/add/json", json!({"content": "x".repeat(500)}))
        .await;
    assert_error(status, &body, 413, "payload_too_large");
    let (status, body) = app
        .post_json("ipfs/pin/add", json!({"cid": "x".repeat(500)}))
        .await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["success"], false);
}

#[tokio::test]
async fn wrong_content_type_is_415() {
    let app = spawn_app().await;
    for (route, ctype) in [
        ("ipfs/add", "text/csv"),
        ("ipfs/add/json", "text/plain"),
        ("ipfs/add/file", "application/json"),
        ("ipfs/pin/add", "text/plain"),
        ("ipfs/block/put", "image/png"),
    ] {
        let res = app
            .client
            .post(app.api(route))
            .header("content-type", ctype)
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_error_response(res, 415, "unsupported_media_type").await;
    }
}

#[tokio::test]
async fn malformed_json_and_multipart_are_400() {
    let app = spawn_app().await;
    let res = app
        .client
        .post(app.api("ipfs/pin/add"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_error_response(res, 400, "malformed_json").await;
    let res = app
        .client
        .post(app.api("ipfs/add"))
        .header("content-type", "multipart/form-data; boundary=xyz")
        .body("garbage without any boundary")
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let body: serde_json::Value = res.json().await.unwrap();
    assert!(status == 400 || status == 422, "{status} {body}");
    assert_eq!(body["success"], false);
}

#[tokio::test]
async fn missing_fields_are_422() {
    let app = spawn_app().await;
    let (status, body) = app.post_json("ipfs/pin/add", json!({})).await;
    assert_error(status, &body, 422, "missing_field");
    let (status, body) = app
        .post_json("ipfs/add/json", json!({"filename": "x"}))
        .await;
    assert_error(status, &body, 422, "missing_field");
    let (status, body) = app
        .post_json("ipfs/dag/put", json!({"format": "dag-cbor"}))
        .await;
    assert_error(status, &body, 422, "missing_field");
    let (mp, ctype) = multipart("other", "", b"");
    let mp = String::from_utf8(mp)
        .unwrap()
        .replace("; filename=\"\"", "");
    let res = app
        .client
        .post(app.api("ipfs/add"))
        .header("content-type", ctype)
        .body(mp)
        .send()
        .await
        .unwrap();
    assert_error_response(res, 422, "missing_field").await;
}

/// Makes the error a failing backend returns.
type MakeError = fn() -> BackendError;

/// A backend that fails every call with one error, for the 5xx mappings.
struct Failing(MakeError);

#[async_trait]
impl Backend for Failing {
    fn kind(&self) -> BackendKind {
        BackendKind::Kubo
    }
    async fn health(&self) -> BackendHealth {
        BackendHealth {
            state: BackendState::Down,
            detail: "down on purpose".into(),
            breaker: None,
        }
    }
    async fn add_parts(&self, _: AddParts, _: AddOptions) -> Result<Added, BackendError> {
        Err((self.0)())
    }
    async fn stat(&self, _: &ContentPath) -> Result<NodeStat, BackendError> {
        Err((self.0)())
    }
    async fn cat(
        &self,
        _: &ContentPath,
        _: u64,
        _: Option<u64>,
    ) -> Result<ByteStream, BackendError> {
        Err((self.0)())
    }
    async fn pin_add(&self, _: &Cid, _: bool) -> Result<Vec<Cid>, BackendError> {
        Err((self.0)())
    }
    async fn pin_rm(&self, _: &Cid, _: bool) -> Result<Vec<Cid>, BackendError> {
        Err((self.0)())
    }
    async fn pin_ls(&self, _: Option<&Cid>, _: PinFilter) -> Result<Vec<Pin>, BackendError> {
        Err((self.0)())
    }
    async fn block_put(&self, _: Bytes, _: BlockPutOptions) -> Result<BlockStat, BackendError> {
        Err((self.0)())
    }
    async fn block_get(&self, _: &Cid) -> Result<Bytes, BackendError> {
        Err((self.0)())
    }
    async fn block_stat(&self, _: &Cid) -> Result<BlockStat, BackendError> {
        Err((self.0)())
    }
    async fn block_rm(&self, _: &Cid) -> Result<(), BackendError> {
        Err((self.0)())
    }
    async fn dag_put(&self, _: Bytes, _: DagPutOptions) -> Result<Cid, BackendError> {
        Err((self.0)())
    }
    async fn dag_get(&self, _: &ContentPath) -> Result<serde_json::Value, BackendError> {
        Err((self.0)())
    }
    async fn dag_resolve(&self, _: &ContentPath) -> Result<DagResolved, BackendError> {
        Err((self.0)())
    }
    async fn name_publish(
        &self,
        _: &str,
        _: NamePublishOptions,
    ) -> Result<NamePublished, BackendError> {
        Err((self.0)())
    }
    async fn name_resolve(&self, _: &str) -> Result<String, BackendError> {
        Err((self.0)())
    }
    async fn name_record(&self, _: &str) -> Result<Bytes, BackendError> {
        Err((self.0)())
    }
    async fn name_put(&self, _: &str, _: Bytes) -> Result<(), BackendError> {
        Err((self.0)())
    }
    async fn find_providers(&self, _: &Cid, _: usize) -> Result<Vec<PeerInfo>, BackendError> {
        Err((self.0)())
    }
    async fn find_peer(&self, _: &str) -> Result<PeerInfo, BackendError> {
        Err((self.0)())
    }
    async fn id(&self) -> Result<NodeIdentity, BackendError> {
        Err((self.0)())
    }
    async fn version(&self) -> Result<NodeVersion, BackendError> {
        Err((self.0)())
    }
    async fn stats(&self) -> Result<NodeStats, BackendError> {
        Err((self.0)())
    }
}

#[tokio::test]
async fn backend_trouble_maps_to_5xx_and_never_200() {
    let cases: [(MakeError, u16, &str); 4] = [
        (
            || BackendError::Unavailable("node down".into()),
            503,
            "backend_unavailable",
        ),
        (
            || BackendError::BadGateway("garbage".into()),
            502,
            "backend_error",
        ),
        (
            || BackendError::Timeout("slow".into()),
            504,
            "backend_timeout",
        ),
        (
            || BackendError::Internal("bug".into()),
            500,
            "internal_error",
        ),
    ];
    for (make, status, kind) in cases {
        let app = spawn_with_backend(Arc::new(Failing(make))).await;
        for route in [
            "ipfs/id",
            "ipfs/version",
            "ipfs/cat/QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH",
            "ipfs/pin/ls",
        ] {
            let (got, body) = app.get_json(route).await;
            assert_error(got, &body, status, kind);
            assert_eq!(body["error_id"].is_string(), status == 500, "{body}");
        }
        let res = app.add_raw(b"x", "").await;
        let got = res.status().as_u16();
        assert_error(got, &res.json().await.unwrap(), status, kind);
        let (_, health) = app.get_json("health").await;
        assert_eq!(health["status"], "critical");
        assert_eq!(health["simulated"], false);
    }
}
