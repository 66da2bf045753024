//! The IPFS gateway conformance suite (ipfs/gateway-conformance at 22c7644), ported: our own
//! tests of what its path-gateway (unixfs, raw, dag, tar, cors, cache, ipns redirects) and
//! trustless-gateway (raw, car) tests check, over its fixtures (`fixtures/gateway-conformance/`,
//! with the suite's licenses).
//!
//! Every case runs against the simulation backend, and against the Kubo backend in front of
//! a real node (js-ipfs, `scripts/ipfs-node.sh`) when one can run here. Fixtures are loaded
//! through our own `dag/import`. Expected CIDs along a path come from the fixture's blocks,
//! read apart from the server ([`Fixture::cid`]).

mod car;
mod dag;
mod ipns;
mod raw;
mod tar;
mod unixfs;

use crate::common::ipfs_node::IpfsNode;
use crate::helpers::*;
use bytes::Bytes;
use cid::Cid;
use ipfs_mcp::backend::{BackendError, BackendKind, ContentPath, resolve};
use reqwest::header::HeaderMap;
use std::collections::HashMap;
use std::sync::Arc;

/// A fixture CAR, parsed.
pub struct Fixture {
    pub root: Cid,
    pub car: Vec<u8>,
    pub blocks: Arc<HashMap<Cid, Bytes>>,
    /// Blocks in file order.
    pub order: Vec<Cid>,
}

impl Fixture {
    pub async fn open(rel: &str) -> Self {
        let path = format!(
            "{}/fixtures/gateway-conformance/{rel}",
            env!("CARGO_MANIFEST_DIR")
        );
        let car = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let mut r = iroh_car::CarReader::new(&car[..])
            .await
            .expect("a valid CAR");
        let root = r.header().roots()[0];
        let (mut blocks, mut order) = (HashMap::new(), Vec::new());
        while let Some((cid, data)) = r.next_block().await.unwrap() {
            order.push(cid);
            blocks.insert(cid, Bytes::from(data));
        }
        Self {
            root,
            car,
            blocks: Arc::new(blocks),
            order,
        }
    }

    /// The CID at `path` under the root, walked over the fixture's own blocks.
    pub async fn cid(&self, path: &[&str]) -> Cid {
        self.walk(path).await.cid
    }

    /// The CIDs along `path` (root first), as `X-Ipfs-Roots` lists them.
    pub async fn roots(&self, path: &[&str]) -> String {
        let nodes = self.walk(path).await.nodes;
        nodes
            .iter()
            .map(Cid::to_string)
            .collect::<Vec<_>>()
            .join(",")
    }

    async fn walk(&self, path: &[&str]) -> resolve::Walked {
        let p = ContentPath {
            root: self.root,
            segments: path.iter().map(|s| s.to_string()).collect(),
        };
        let blocks = self.blocks.clone();
        resolve::walk(&p, |c| {
            let blocks = blocks.clone();
            async move {
                blocks
                    .get(&c)
                    .cloned()
                    .ok_or_else(|| BackendError::NotFound(c.to_string()))
            }
        })
        .await
        .unwrap()
    }

    pub fn block(&self, cid: &Cid) -> Bytes {
        self.blocks[cid].clone()
    }

    /// A fixture's first block with this codec (the suite's `MustGetCidWithCodec`).
    pub fn first_with_codec(&self, codec: u64) -> Cid {
        *self.order.iter().find(|c| c.codec() == codec).unwrap()
    }
}

/// A server with fixtures loaded: the simulation, or the Kubo backend before a real node.
pub struct Gateway {
    pub app: TestApp,
    pub kind: BackendKind,
}

/// The gateways the cases run against (the Kubo one only where a node can run).
pub async fn gateways(fixtures: &[&str]) -> Vec<Gateway> {
    let mut out = vec![Gateway {
        app: spawn_app().await,
        kind: BackendKind::Simulation,
    }];
    if let Some(node) = tokio::task::spawn_blocking(IpfsNode::shared).await.unwrap() {
        let mut s = test_settings();
        s.backend.kind = BackendKind::Kubo;
        s.backend.kubo.url = node.api.clone();
        s.backend.kubo.first_byte_timeout_ms = 5_000;
        out.push(Gateway {
            app: spawn_with(s).await,
            kind: BackendKind::Kubo,
        });
    }
    if crate::common::ipfs_node::required() {
        assert_eq!(
            out.len(),
            2,
            "IPFS_MCP_REQUIRE_NODE is set: the Kubo gateway must run too"
        );
    }
    for g in &out {
        for rel in fixtures {
            let car = Fixture::open(rel).await.car;
            let res = g
                .app
                .client
                .post(g.app.api("ipfs/dag/import?pin-roots=false"))
                .header("content-type", "application/vnd.ipld.car")
                .body(car)
                .send()
                .await
                .unwrap();
            let status = res.status();
            assert!(
                status.is_success(),
                "{:?}: importing {rel}: {}",
                g.kind,
                res.text().await.unwrap()
            );
        }
    }
    out
}

/// One answer, read whole.
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Answer {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap())
            .unwrap_or_default()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl Gateway {
    pub async fn request(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> Answer {
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let mut req = client.request(method.parse().unwrap(), self.app.url(path));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let res = req.send().await.unwrap();
        Answer {
            status: res.status().as_u16(),
            headers: res.headers().clone(),
            body: res.bytes().await.unwrap(),
        }
    }

    pub async fn get(&self, path: &str, headers: &[(&str, &str)]) -> Answer {
        self.request("GET", path, headers).await
    }
}

/// The blocks of a CAR answer, in order.
pub async fn car_blocks(body: &[u8]) -> Vec<Cid> {
    let mut r = iroh_car::CarReader::new(body).await.expect("a valid CAR");
    let mut out = Vec::new();
    while let Some((cid, _)) = r.next_block().await.unwrap() {
        out.push(cid);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_on_every_answer_and_preflight() {
    for g in gateways(&[]).await {
        let hello = "/ipfs/bafkqabtimvwgy3yk/"; // an identity CID: "hello\n"
        for method in ["GET", "OPTIONS"] {
            let a = g.request(method, hello, &[]).await;
            assert_eq!(a.header("access-control-allow-origin"), "*", "{method}");
            for m in ["GET", "HEAD", "OPTIONS"] {
                assert!(
                    a.header("access-control-allow-methods").contains(m),
                    "{method}"
                );
            }
            for h in ["Content-Type", "Range", "User-Agent", "X-Requested-With"] {
                assert!(
                    a.header("access-control-allow-headers").contains(h),
                    "{method} {h}"
                );
            }
            for h in [
                "Content-Range",
                "Content-Length",
                "X-Ipfs-Path",
                "X-Ipfs-Roots",
                "X-Chunked-Output",
                "X-Stream-Output",
            ] {
                assert!(
                    a.header("access-control-expose-headers").contains(h),
                    "{method} {h}"
                );
            }
        }
        let a = g.get(hello, &[]).await;
        assert_eq!(a.status, 200);
        assert_eq!(a.text(), "hello\n");
        // errors carry them too
        let a = g.get("/ipfs/not-a-cid", &[]).await;
        assert_eq!(a.status, 400);
        assert_eq!(a.header("access-control-allow-origin"), "*");
        g.app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipns_peer_id_names_redirect_to_their_canonical_form() {
    for g in gateways(&[]).await {
        let a = g
            .get(
                "/ipns/12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK/root2/",
                &[],
            )
            .await;
        assert_eq!(a.status, 302);
        assert_eq!(
            a.header("location"),
            "/ipns/k51qzi5uqu5dlvj2baxnqndepeb86cbk3ng7n3i46uzyxzyqj2xjonzllnv0v8/root2/"
        );
        let a = g
            .get(
                "/ipns/QmcJM7PRfkSbcM5cf1QugM5R37TLRKyJGgBEhXjLTB8uA2/root2/",
                &[],
            )
            .await;
        assert_eq!(a.status, 302);
        assert_eq!(
            a.header("location"),
            "/ipns/k2k4r8ol4m8kkcqz509c1rcjwunebj02gcnm5excpx842u736nja8ger/root2/"
        );
        g.app.stop().await;
    }
}
