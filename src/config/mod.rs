//! Settings, layered: built-in defaults, then a config file (`--config`, TOML or YAML), then
//! environment variables (`IPFS_MCP__SECTION__KEY`), then CLI flags. Layering is `figment`'s.

pub mod document;

use crate::backend::BackendKind;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml, Yaml};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Settings {
    pub server: ServerSettings,
    pub backend: BackendSettings,
    pub limits: LimitSettings,
    /// How the embedded node stores blocks (see `backend::simulation::StorageOptions`).
    pub storage: crate::backend::simulation::StorageOptions,
    pub cache: CacheSettings,
    /// The Parquet CID metadata cache and its heat scores.
    pub metadata: crate::persistence::metadata::MetadataOptions,
    /// API keys, tokens, scopes, default rates.
    pub auth: crate::models::auth::AuthOptions,
    /// Metrics and traces.
    pub telemetry: TelemetrySettings,
    /// The Model Context Protocol server (`/mcp`, and `ipfs-mcp mcp` over stdio).
    pub mcp: McpSettings,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct McpSettings {
    /// Serve the Model Context Protocol at `/mcp` (streamable HTTP).
    pub enabled: bool,
    /// `Origin`s a browser may call `/mcp` from; any other `Origin` is refused with 403 (a
    /// request without one, from a program, is not a browser's and passes). `*` for a port
    /// means any port.
    pub allowed_origins: Vec<String>,
    /// `Host` names (or `host:port`) `/mcp` answers to, against DNS rebinding; the loopback
    /// names always, and `server.host` when it is a name or address of its own.
    pub allowed_hosts: Vec<String>,
}

impl Default for McpSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            allowed_origins: ["http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*"]
                .map(String::from)
                .to_vec(),
            allowed_hosts: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct TelemetrySettings {
    /// Count requests for `GET /metrics` (off: nothing is counted, `/metrics` is a 404).
    pub metrics: bool,
    /// Where traces go, over OTLP/HTTP with protobuf: a collector's base URL such as
    /// `http://127.0.0.1:4318` (`/v1/traces` is added). Unset: nothing is traced or sent.
    pub otlp_endpoint: Option<String>,
    /// The share of new traces kept (0..=1); a request that arrives with a `traceparent`
    /// follows its caller's sampling decision instead.
    pub trace_sample_ratio: f64,
    /// How often finished spans are sent (sooner once half of `otlp_max_queue` waits).
    pub otlp_export_interval_ms: u64,
    /// How long one export may take.
    pub otlp_timeout_ms: u64,
    /// Spans waiting to be sent beyond this are dropped (a slow collector never slows requests).
    pub otlp_max_queue: usize,
    /// `service.name` of the exported spans.
    pub service_name: String,
    /// The log filter (`info`, `warn,ipfs_mcp=debug`); unset: `RUST_LOG`, else `info`
    /// (`debug` with `server.debug`). Changes at run time (`cli/config/update`, SIGHUP).
    pub log_level: Option<String>,
}

impl Default for TelemetrySettings {
    fn default() -> Self {
        Self {
            metrics: true,
            otlp_endpoint: None,
            trace_sample_ratio: 1.0,
            otlp_export_interval_ms: 5_000,
            otlp_timeout_ms: 10_000,
            otlp_max_queue: 8_192,
            service_name: "ipfs-mcp".into(),
            log_level: None,
        }
    }
}

/// The cache tiers in front of the backend.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct CacheSettings {
    /// Bytes the memory tier may hold.
    pub memory_limit: u64,
    /// Bytes the disk tier may hold (0 disables it).
    pub disk_limit: u64,
    /// Files larger than this are streamed through, not cached whole.
    pub max_object_bytes: u64,
}

impl Default for CacheSettings {
    fn default() -> Self {
        Self {
            memory_limit: 256 * 1024 * 1024,
            disk_limit: 4 * 1024 * 1024 * 1024,
            max_object_bytes: 4 * 1024 * 1024,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerSettings {
    pub host: String,
    pub port: u16,
    /// Enables `/debug`, `/operations` and the session/timing headers.
    pub debug: bool,
    /// Private temporary data dir (memory block store), removed on exit.
    pub isolation: bool,
    /// Where the node keeps its data; defaults to the user's data directory.
    pub data_dir: Option<PathBuf>,
    /// HTTP worker threads; defaults to the number of cores.
    pub workers: Option<usize>,
    /// How many recent requests `/operations` keeps.
    pub operations_capacity: usize,
    /// Serve a non-loopback address with `auth.enabled = false` (refused otherwise).
    pub allow_unauthenticated: bool,
    /// PEM certificate chain and private key: with both, the service speaks HTTPS (rustls).
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 8000,
            debug: false,
            isolation: false,
            data_dir: None,
            workers: None,
            operations_capacity: 1000,
            allow_unauthenticated: false,
            tls_cert: None,
            tls_key: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct BackendSettings {
    pub kind: BackendKind,
    /// The node behind `kind = "kubo"`: URL, authorization, timeouts, retries, concurrency.
    pub kubo: crate::backend::kubo::options::KuboOptions,
    /// The circuit breaker in front of the Kubo node.
    pub breaker: crate::backend::breaker::BreakerOptions,
}

impl Default for BackendSettings {
    fn default() -> Self {
        Self {
            kind: BackendKind::Simulation,
            kubo: Default::default(),
            breaker: Default::default(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct LimitSettings {
    /// Largest streamed upload (add, block put via multipart) in bytes.
    pub max_upload_bytes: u64,
    /// Largest JSON request body in bytes.
    pub max_json_bytes: usize,
    /// Largest file `POST ipfs/cat` returns inline as base64.
    pub max_inline_cat_bytes: u64,
    /// Requests handled at once; beyond it, 503 with `Retry-After`.
    pub max_in_flight: usize,
}

impl Default for LimitSettings {
    fn default() -> Self {
        Self {
            max_upload_bytes: 64 * 1024 * 1024 * 1024,
            max_json_bytes: 16 * 1024 * 1024,
            max_inline_cat_bytes: 8 * 1024 * 1024,
            max_in_flight: 4096,
        }
    }
}

/// Overrides given on the command line; only what the user typed.
#[derive(Debug, Default, Clone)]
pub struct CliOverrides {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub debug: bool,
    pub isolation: bool,
    pub data_dir: Option<PathBuf>,
    pub backend: Option<BackendKind>,
    pub kubo_url: Option<String>,
    pub allow_unauthenticated: bool,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(String);

impl Settings {
    /// Builds the layered settings.
    pub fn load(config_file: Option<&Path>, cli: &CliOverrides) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(path) = config_file {
            if !path.exists() {
                return Err(ConfigError(format!(
                    "config file {} not found",
                    path.display()
                )));
            }
            figment = match path.extension().and_then(|e| e.to_str()) {
                Some("yaml" | "yml") => figment.merge(Yaml::file(path)),
                _ => figment.merge(Toml::file(path)),
            };
        }
        figment = figment.merge(Env::prefixed("IPFS_MCP__").split("__"));
        if let Some(host) = &cli.host {
            figment = figment.merge(("server.host", host));
        }
        if let Some(port) = cli.port {
            figment = figment.merge(("server.port", port));
        }
        if cli.debug {
            figment = figment.merge(("server.debug", true));
        }
        if cli.isolation {
            figment = figment.merge(("server.isolation", true));
        }
        if let Some(dir) = &cli.data_dir {
            figment = figment.merge(("server.data_dir", dir));
        }
        if let Some(kind) = cli.backend {
            figment = figment.merge(("backend.kind", kind));
        }
        if let Some(url) = &cli.kubo_url {
            figment = figment.merge(("backend.kubo.url", url));
        }
        if cli.allow_unauthenticated {
            figment = figment.merge(("server.allow_unauthenticated", true));
        }
        figment.extract().map_err(|e| ConfigError(e.to_string()))
    }

    /// The data dir to use when not isolated.
    pub fn data_dir(&self) -> PathBuf {
        self.server
            .data_dir
            .clone()
            .unwrap_or_else(default_data_dir)
    }
}

/// `~/.local/share/ipfs-mcp` on Linux (the platform's user data dir), else `./.ipfs-mcp`.
pub fn default_data_dir() -> PathBuf {
    directories::ProjectDirs::from("", "", "ipfs-mcp")
        .map(|d| d.data_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from(".ipfs-mcp"))
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail's closure signature
mod tests {
    use super::*;

    #[test]
    fn layers_apply_in_order() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("c.toml", "[server]\nport = 9001\nhost = \"0.0.0.0\"\n")?;
            jail.set_env("IPFS_MCP__SERVER__PORT", "9002");
            let s = Settings::load(Some(Path::new("c.toml")), &CliOverrides::default()).unwrap();
            assert_eq!((s.server.host.as_str(), s.server.port), ("0.0.0.0", 9002));
            let cli = CliOverrides {
                port: Some(9003),
                ..Default::default()
            };
            let s = Settings::load(Some(Path::new("c.toml")), &cli).unwrap();
            assert_eq!(s.server.port, 9003);
            Ok(())
        });
    }

    #[test]
    fn kubo_settings_from_file_env_and_flags() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "c.toml",
                "[backend]\nkind = \"kubo\"\n[backend.kubo]\nurl = \"http://10.0.0.2:5001\"\n\
                 retries = 4\nauthorization = \"Bearer t0ken\"\n[backend.breaker]\n\
                 failure_threshold = 3\n",
            )?;
            jail.set_env("IPFS_MCP__BACKEND__KUBO__FIRST_BYTE_TIMEOUT_MS", "1500");
            let s = Settings::load(Some(Path::new("c.toml")), &CliOverrides::default()).unwrap();
            assert_eq!(s.backend.kind, BackendKind::Kubo);
            assert_eq!(s.backend.kubo.url, "http://10.0.0.2:5001");
            assert_eq!(
                (s.backend.kubo.retries, s.backend.kubo.first_byte_timeout_ms),
                (4, 1500)
            );
            assert_eq!(
                s.backend.kubo.authorization.as_ref().unwrap().expose(),
                "Bearer t0ken"
            );
            assert_eq!(s.backend.breaker.failure_threshold, 3);
            let cli = CliOverrides {
                kubo_url: Some("http://127.0.0.1:5002".into()),
                ..Default::default()
            };
            let s = Settings::load(Some(Path::new("c.toml")), &cli).unwrap();
            assert_eq!(s.backend.kubo.url, "http://127.0.0.1:5002");
            Ok(())
        });
    }

    #[test]
    fn yaml_and_missing_files() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "c.yaml",
                "backend:\n  kind: simulation\nserver:\n  debug: true\n",
            )?;
            let s = Settings::load(Some(Path::new("c.yaml")), &CliOverrides::default()).unwrap();
            assert!(s.server.debug);
            assert!(
                Settings::load(Some(Path::new("nope.toml")), &CliOverrides::default()).is_err()
            );
            Ok(())
        });
    }
}
