//! `POST batch` (issue #14): results in the order given whatever order the calls finish in,
//! `max_concurrent` respected (counted in the backend), fail-fast cancelling what still runs,
//! every call checked first, and the same operations as the MCP routes.

use crate::helpers::*;
use async_trait::async_trait;
use bytes::Bytes;
use cid::Cid;
use ipfs_mcp::backend::simulation::SimulationBackend;
use ipfs_mcp::backend::*;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// The simulation, with `block_stat` slowed by a delay the CID's bytes choose (so calls finish
/// in another order than they start), counting how many run at once and how many finished.
struct Slow {
    inner: SimulationBackend,
    now: AtomicUsize,
    peak: AtomicUsize,
    finished: AtomicUsize,
}

impl Slow {
    async fn slowly<T>(&self, cid: &Cid, work: impl std::future::Future<Output = T>) -> T {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        let digest = cid.hash().digest();
        tokio::time::sleep(Duration::from_millis(20 + u64::from(digest[0] % 8) * 15)).await;
        let out = work.await;
        self.now.fetch_sub(1, Ordering::SeqCst);
        self.finished.fetch_add(1, Ordering::SeqCst);
        out
    }
}

#[async_trait]
impl Backend for Slow {
    fn kind(&self) -> BackendKind {
        self.inner.kind()
    }
    async fn health(&self) -> BackendHealth {
        self.inner.health().await
    }
    async fn add_parts(&self, p: AddParts, o: AddOptions) -> Result<Added, BackendError> {
        self.inner.add_parts(p, o).await
    }
    async fn stat(&self, p: &ContentPath) -> Result<NodeStat, BackendError> {
        self.inner.stat(p).await
    }
    async fn cat(
        &self,
        p: &ContentPath,
        o: u64,
        l: Option<u64>,
    ) -> Result<ByteStream, BackendError> {
        self.inner.cat(p, o, l).await
    }
    async fn pin_add(&self, c: &Cid, r: bool) -> Result<Vec<Cid>, BackendError> {
        self.inner.pin_add(c, r).await
    }
    async fn pin_rm(&self, c: &Cid, r: bool) -> Result<Vec<Cid>, BackendError> {
        self.inner.pin_rm(c, r).await
    }
    async fn pin_ls(&self, c: Option<&Cid>, k: PinFilter) -> Result<Vec<Pin>, BackendError> {
        self.inner.pin_ls(c, k).await
    }
    async fn block_put(&self, d: Bytes, o: BlockPutOptions) -> Result<BlockStat, BackendError> {
        self.inner.block_put(d, o).await
    }
    async fn block_get(&self, c: &Cid) -> Result<Bytes, BackendError> {
        self.inner.block_get(c).await
    }
    async fn block_stat(&self, c: &Cid) -> Result<BlockStat, BackendError> {
        self.slowly(c, self.inner.block_stat(c)).await
    }
    async fn block_rm(&self, c: &Cid) -> Result<(), BackendError> {
        self.inner.block_rm(c).await
    }
    async fn dag_put(&self, d: Bytes, o: DagPutOptions) -> Result<Cid, BackendError> {
        self.inner.dag_put(d, o).await
    }
    async fn name_publish(
        &self,
        v: &str,
        o: NamePublishOptions,
    ) -> Result<NamePublished, BackendError> {
        self.inner.name_publish(v, o).await
    }
    async fn name_resolve(&self, n: &str) -> Result<String, BackendError> {
        self.inner.name_resolve(n).await
    }
    async fn name_record(&self, n: &str) -> Result<Bytes, BackendError> {
        self.inner.name_record(n).await
    }
    async fn name_put(&self, n: &str, r: Bytes) -> Result<(), BackendError> {
        self.inner.name_put(n, r).await
    }
    async fn find_providers(&self, c: &Cid, l: usize) -> Result<Vec<PeerInfo>, BackendError> {
        self.inner.find_providers(c, l).await
    }
    async fn find_peer(&self, p: &str) -> Result<PeerInfo, BackendError> {
        self.inner.find_peer(p).await
    }
    async fn id(&self) -> Result<NodeIdentity, BackendError> {
        self.inner.id().await
    }
    async fn stats(&self) -> Result<NodeStats, BackendError> {
        self.inner.stats().await
    }
    async fn version(&self) -> Result<NodeVersion, BackendError> {
        self.inner.version().await
    }
}

async fn slow_app() -> (TestApp, Arc<Slow>) {
    let slow = Arc::new(Slow {
        inner: SimulationBackend::open(None).unwrap(),
        now: AtomicUsize::new(0),
        peak: AtomicUsize::new(0),
        finished: AtomicUsize::new(0),
    });
    let app = spawn_with_backend(slow.clone()).await;
    (app, slow)
}

/// `n` blocks put through the MCP API.
async fn blocks(app: &TestApp, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    for i in 0..n {
        let (status, body) = app
            .post_json(
                "ipfs/block/put",
                json!({"data": base64_of(format!("block {i}").as_bytes())}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        out.push(body["cid"].as_str().unwrap().to_string());
    }
    out
}

fn base64_of(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(data)
}

fn stat_calls(cids: &[String]) -> Vec<Value> {
    cids.iter()
        .map(|c| json!({"op": "ipfs/block/stat", "params": {"cid": c}}))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_keep_the_input_order_and_concurrency_is_capped() {
    let (app, slow) = slow_app().await;
    let cids = blocks(&app, 24).await;
    for cap in [1usize, 3, 8] {
        slow.peak.store(0, Ordering::SeqCst);
        let started = std::time::Instant::now();
        let (status, body) = app
            .post_json(
                "batch",
                json!({"calls": stat_calls(&cids), "max_concurrent": cap}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let results = body["results"].as_array().unwrap();
        let got: Vec<&str> = results.iter().map(|r| r["cid"].as_str().unwrap()).collect();
        assert_eq!(got, cids, "results out of order with max_concurrent {cap}");
        assert!(
            results
                .iter()
                .all(|r| r["success"] == true && r["op"] == "ipfs/block/stat")
        );
        let peak = slow.peak.load(Ordering::SeqCst);
        assert!(
            peak <= cap,
            "{peak} calls ran at once with max_concurrent {cap}"
        );
        assert!(peak == cap, "never reached {cap} at once (peak {peak})");
        eprintln!(
            "max_concurrent {cap}: peak {peak} in flight, {:?}",
            started.elapsed()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_results_or_with_fail_fast_the_answer() {
    let (app, slow) = slow_app().await;
    let cids = blocks(&app, 12).await;
    let absent = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy";
    let mut calls = stat_calls(&cids);
    calls.insert(
        1,
        json!({"op": "ipfs/block/stat", "params": {"cid": absent}}),
    );
    calls.insert(2, json!({"op": "pin/add", "params": {"cid": "not-a-cid"}}));
    let (status, body) = app
        .post_json("batch", json!({"calls": calls, "max_concurrent": 4}))
        .await;
    assert_eq!(status, 200);
    let results = body["results"].as_array().unwrap();
    assert_eq!(results.len(), 14);
    assert_eq!(body["failed"], 2);
    assert_eq!(results[1]["success"], false);
    assert_eq!(results[1]["error_type"], "not_found");
    assert_eq!(
        results[2]["error_type"], "invalid_argument",
        "{}",
        results[2]
    );
    assert_eq!(results[3]["cid"], cids[1]);

    // fail fast: the failure is the answer and the calls not yet started never run
    slow.finished.store(0, Ordering::SeqCst);
    let mut calls = vec![json!({"op": "ipfs/pin/add", "params": {"cid": "not-a-cid"}})];
    calls.extend(stat_calls(&cids));
    let (status, body) = app
        .post_json(
            "batch",
            json!({"calls": calls, "max_concurrent": 2, "return_exceptions": false}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["success"], false);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .starts_with("call 0 (ipfs/pin/add)"),
        "{body}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let ran = slow.finished.load(Ordering::SeqCst);
    assert!(
        ran < 2,
        "{ran} calls ran to their end after the failure cancelled the batch"
    );
}

#[tokio::test]
async fn every_call_is_checked_before_any_runs() {
    let app = spawn_app().await;
    let (status, body) = app
        .post_json(
            "batch",
            json!({"calls": [
                {"op": "ipfs/add", "params": {"content": "would be added"}},
                {"op": "ipfs/no-such-op"}
            ]}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error_type"], "unknown_operation");
    let (_, pins) = app.get_json("ipfs/pin/ls").await;
    assert_eq!(
        pins["count"], 0,
        "the first call ran although the batch was refused"
    );
    let (status, _) = app.post_json("batch", json!({"calls": []})).await;
    assert_eq!(status, 400);
    let (status, _) = app.post_json("batch", json!({"calls": "nope"})).await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn batch_runs_what_the_mcp_routes_run() {
    let app = spawn_app().await;
    let (status, body) = app
        .post_json(
            "batch",
            json!({"calls": [
                {"op": "ipfs/add", "params": {"content": "batched", "pin": false}},
                {"op": "ipfs/version"},
                {"op": "cache/stats"},
                {"op": "ipfs/dag/put", "params": {"obj": {"a": 1}}},
            ]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let results = body["results"].as_array().unwrap();
    let (_, direct) = app
        .post_json("ipfs/add/json", json!({"content": "batched", "pin": false}))
        .await;
    assert_eq!(results[0]["cid"], direct["cid"]);
    assert_eq!(results[1]["gateway_version"], env!("CARGO_PKG_VERSION"));
    assert!(results[2]["tiers"].is_array() || results[2]["tiers"].is_object());
    assert!(results[3]["cid"].as_str().unwrap().starts_with("bafyrei"));
    let (_, stats) = app.get_json("ipfs/stats").await;
    assert!(
        stats["operations"].to_string().contains("batch:ipfs/add"),
        "batch calls are counted under their operation"
    );
}
