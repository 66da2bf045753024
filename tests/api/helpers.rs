//! `spawn_app()`: the real server on 127.0.0.1:0 with an isolated data dir.
#![allow(dead_code)]

use ipfs_mcp::backend::Backend;
use ipfs_mcp::config::Settings;
use ipfs_mcp::startup::Application;
use serde_json::Value;
use std::sync::Arc;

pub struct TestApp {
    pub address: String,
    pub metrics: std::sync::Arc<ipfs_mcp::metrics::Metrics>,
    pub client: reqwest::Client,
    handle: actix_web::dev::ServerHandle,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl TestApp {
    /// Graceful stop, as on SIGTERM: waits for the shutdown flushes.
    pub async fn stop(self) {
        self.handle.stop(true).await;
        self.task.await.unwrap().unwrap();
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub fn api(&self, path: &str) -> String {
        format!(
            "{}/api/v0/mcp/{}",
            self.address,
            path.trim_start_matches('/')
        )
    }

    /// Adds raw bytes through the multipart route; returns the JSON body.
    pub async fn add(&self, data: &[u8], query: &str) -> Value {
        let res = self.add_raw(data, query).await;
        assert_eq!(res.status(), 200, "add failed");
        res.json().await.unwrap()
    }

    pub async fn add_raw(&self, data: &[u8], query: &str) -> reqwest::Response {
        let (body, ctype) = multipart("file", "data.bin", data);
        self.client
            .post(format!("{}?{query}", self.api("ipfs/add")))
            .header("content-type", ctype)
            .body(body)
            .send()
            .await
            .unwrap()
    }

    /// Adds one file named `name` (multipart) with `query`; returns the root CID.
    pub async fn add_named(&self, name: &str, data: &[u8], query: &str) -> String {
        let (body, ctype) = multipart("file", name, data);
        let res = self
            .client
            .post(format!("{}?{query}", self.api("ipfs/add")))
            .header("content-type", ctype)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "add of {name} failed");
        let added: Value = res.json().await.unwrap();
        added["cid"].as_str().unwrap().to_string()
    }

    pub async fn get_json(&self, path: &str) -> (u16, Value) {
        let res = self.client.get(self.api(path)).send().await.unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap())
    }

    pub async fn post_json(&self, path: &str, body: Value) -> (u16, Value) {
        let res = self
            .client
            .post(self.api(path))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap())
    }
}

/// A hand-built multipart body (reqwest's multipart feature is not needed for this).
pub fn multipart(field: &str, filename: &str, data: &[u8]) -> (Vec<u8>, String) {
    let boundary = "----ipfs-mcp-test-boundary-7d93";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(data);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (body, format!("multipart/form-data; boundary={boundary}"))
}

pub fn test_settings() -> Settings {
    let mut s = Settings::default();
    s.server.port = 0;
    s.server.isolation = true;
    s.server.workers = Some(2);
    s
}

/// [`persistent_settings`] with authentication on.
pub fn auth_settings(dir: &std::path::Path) -> Settings {
    let mut s = persistent_settings(dir);
    s.auth.enabled = true;
    s
}

/// Creates a key through the CLI's path (the model on the data dir), as an operator would.
pub fn make_key(dir: &std::path::Path, scopes: &str) -> String {
    let auth = ipfs_mcp::models::auth::AuthModel::open(Default::default(), Some(dir)).unwrap();
    let new = serde_json::from_value(
        serde_json::json!({"name": format!("test-{scopes}"), "scopes": scopes}),
    )
    .unwrap();
    auth.create_key(new).unwrap().1
}

/// Settings for a server keeping its data in `dir` (not isolated), flushing metadata often.
pub fn persistent_settings(dir: &std::path::Path) -> Settings {
    let mut s = test_settings();
    s.server.isolation = false;
    s.server.data_dir = Some(dir.to_path_buf());
    s.metadata.flush_interval_ms = 50;
    s
}

pub async fn spawn_app() -> TestApp {
    spawn_with(test_settings()).await
}

pub async fn spawn_with(settings: Settings) -> TestApp {
    let app = Application::build(settings).await.expect("app builds");
    start(app)
}

/// Serves a given backend (e.g. one that fails on purpose).
pub async fn spawn_with_backend(backend: Arc<dyn Backend>) -> TestApp {
    spawn_with_settings_and_backend(test_settings(), backend).await
}

pub async fn spawn_with_settings_and_backend(
    settings: Settings,
    backend: Arc<dyn Backend>,
) -> TestApp {
    let app = Application::with_backend(settings, backend, None).expect("app builds");
    start(app)
}

fn start(app: Application) -> TestApp {
    let address = format!("http://127.0.0.1:{}", app.port());
    let handle = app.handle();
    let metrics = app.metrics();
    let task = tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        metrics,
        // Idle connections are dropped before the server's 5 s keep-alive does it: otherwise a
        // request started on a connection the server is closing fails with a broken pipe
        // (seen when building a large test input took longer than 5 s on a busy machine).
        client: reqwest::Client::builder()
            .no_proxy()
            .pool_idle_timeout(std::time::Duration::from_secs(2))
            .build()
            .unwrap(),
        handle,
        task,
    }
}

/// Checks the one error body shape.
pub fn assert_error(status: u16, body: &Value, expected: u16, error_type: &str) {
    assert_eq!(status, expected, "{body}");
    assert_eq!(body["success"], false, "{body}");
    assert_eq!(body["error_type"], error_type, "{body}");
    assert!(
        body["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{body}"
    );
    assert!(
        body["operation_id"].as_str().is_some_and(|e| !e.is_empty()),
        "{body}"
    );
}

/// Checks a raw response is the one error body with this status and type.
pub async fn assert_error_response(res: reqwest::Response, expected: u16, error_type: &str) {
    let status = res.status().as_u16();
    let body: Value = res.json().await.expect("error bodies are JSON");
    assert_error(status, &body, expected, error_type);
}

/// A loopback port free now (for a server process, which cannot be given port 0 and report it).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The real binary serving `config`, its stderr (the log, with `RUST_LOG` unset so the config's
/// level applies) written to `log`.
pub fn serve_process(config: &std::path::Path, log: &std::path::Path) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_ipfs-mcp"))
        .args(["serve", "--config"])
        .arg(config)
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap()
}

/// Runs a client script (a real IPFS or MCP client library, `tests/clients/`) to its end and
/// parses the one JSON object it prints of what it got.
pub async fn run_client(mut command: std::process::Command) -> Value {
    let out = tokio::task::spawn_blocking(move || command.output().expect("the client runs"))
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "the client failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "the client printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}
