//! A real IPFS node (js-ipfs, Kubo's RPC API) for tests, through `scripts/ipfs-node.sh`.
//!
//! Each node gets free loopback ports and its own repo; it is stopped and removed on drop, and
//! a watcher started by the script removes it too if the test process dies first (a shared
//! node lives in a static and is never dropped).
//!
//! When the node cannot be installed or started, tests that need it are skipped with a loud
//! message, unless `IPFS_MCP_REQUIRE_NODE=1` (set by `.ci/run`), which makes that a failure.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

pub struct IpfsNode {
    /// RPC API base URL, e.g. `http://127.0.0.1:41234`.
    pub api: String,
    /// The node's own HTTP gateway base URL.
    pub gateway: String,
    name: String,
    env: Vec<(&'static str, String)>,
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/ipfs-node.sh")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn required() -> bool {
    std::env::var("IPFS_MCP_REQUIRE_NODE").is_ok_and(|v| v == "1")
}

impl IpfsNode {
    /// Starts a fresh node; `None` (after saying why) when none can run here and none is
    /// required.
    pub fn start(name: &str) -> Option<IpfsNode> {
        let ports = [free_port(), free_port(), free_port(), free_port()];
        let env = vec![
            ("IPFS_API_PORT", ports[0].to_string()),
            ("IPFS_GATEWAY_PORT", ports[1].to_string()),
            ("IPFS_SWARM_PORT", ports[2].to_string()),
            ("IPFS_RPC_PORT", ports[3].to_string()),
            ("IPFS_NODE_WATCH_PID", std::process::id().to_string()),
        ];
        let name = format!("{name}-{}", std::process::id());
        let node = IpfsNode {
            api: format!("http://127.0.0.1:{}", ports[0]),
            gateway: format!("http://127.0.0.1:{}", ports[1]),
            name,
            env,
        };
        match node.run("start") {
            Ok(()) => Some(node),
            Err(why) if required() => panic!("IPFS_MCP_REQUIRE_NODE=1 but {why}"),
            Err(why) => {
                eprintln!(
                    "SKIPPED: no real IPFS node ({why}); set IPFS_MCP_REQUIRE_NODE=1 to fail instead"
                );
                None
            }
        }
    }

    /// One node shared by every test of this test binary.
    pub fn shared() -> Option<&'static IpfsNode> {
        static NODE: OnceLock<Option<IpfsNode>> = OnceLock::new();
        NODE.get_or_init(|| IpfsNode::start("shared")).as_ref()
    }

    fn run(&self, action: &str) -> Result<(), String> {
        let out = Command::new("bash")
            .arg(script())
            .arg(action)
            .arg(&self.name)
            .envs(self.env.iter().map(|(k, v)| (*k, v.as_str())))
            .output()
            .map_err(|e| format!("cannot run {}: {e}", script().display()))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "`ipfs-node.sh {action}` failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    /// Stops the daemon, keeping its repo (content survives).
    pub fn halt(&self) {
        self.run("halt").unwrap();
    }

    /// Restarts the daemon on the kept repo and waits for its API.
    pub fn resume(&self) {
        self.run("resume").unwrap();
    }

    /// A raw RPC call to the node itself (POST), for checks behind the gateway's back.
    pub async fn rpc(&self, command: &str) -> reqwest::Response {
        reqwest::Client::builder()
            .no_proxy()
            .build()
            .unwrap()
            .post(format!("{}/api/v0/{command}", self.api))
            .send()
            .await
            .unwrap()
    }

    /// Adds bytes directly on the node; returns the root CID as the node prints it.
    pub async fn add(&self, data: &[u8], query: &str) -> String {
        let boundary = "ipfs-mcp-node-test";
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(data);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let res = reqwest::Client::builder()
            .no_proxy()
            .build()
            .unwrap()
            .post(format!("{}/api/v0/add?{query}", self.api))
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let text = res.text().await.unwrap();
        let last = text.lines().last().unwrap();
        let v: serde_json::Value = serde_json::from_str(last).unwrap();
        v["Hash"].as_str().unwrap().to_string()
    }
}

impl Drop for IpfsNode {
    fn drop(&mut self) {
        let _ = self.run("stop");
    }
}
