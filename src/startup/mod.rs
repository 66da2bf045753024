//! Builds the application: backend, model, HTTP server. The only route table, and the access
//! policy beside it, are [`routes`].

mod routes;

pub use routes::{ACCESS, access_of, routes};

use crate::backend::breaker::GuardedBackend;
use crate::backend::kubo::KuboBackend;
use crate::backend::{Backend, BackendError, BackendKind, simulation::SimulationBackend};
use crate::config::Settings;
use crate::controllers::{self as c, AppState, error::json_error};
use crate::metrics::{Metrics, state::StateCollector};
use crate::models::IpfsModel;
use crate::models::auth::{AuthError, AuthModel};
use crate::models::ratelimit::RateLimits;
use crate::models::runtime::{Change, Tunables};
use crate::persistence::metadata::{FlusherHandle, MetadataStore};
use crate::persistence::migrations::{self, MigrationError};
use crate::persistence::{
    CacheTier, Ranker, disk::DiskTier, memory::MemoryTier, tiered::TieredStore,
};
use crate::telemetry::traces::{TraceSetupError, Tracing};
use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot bind {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("cannot prepare data dir {dir}: {source}")]
    DataDir {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot open the {kind} backend: {source}")]
    Backend {
        kind: &'static str,
        source: BackendError,
    },
    #[error("cannot open the cache: {0}")]
    Cache(String),
    #[error(transparent)]
    Layout(#[from] MigrationError),
    #[error("TLS: {0}")]
    Tls(String),
    #[error(transparent)]
    Tracing(#[from] TraceSetupError),
    #[error("cannot open the credentials: {0}")]
    Auth(#[from] AuthError),
    #[error(
        "refusing to serve {0} without authentication: set auth.enabled = true, or pass \
         --allow-unauthenticated to accept requests from anyone who can reach it"
    )]
    Unauthenticated(String),
}

pub struct Application {
    port: u16,
    server: Server,
    /// What the handlers share (the MCP server over stdio uses it too).
    state: web::Data<AppState>,
    model: Arc<IpfsModel>,
    metrics: Arc<Metrics>,
    tunables: Arc<Tunables>,
    traces: Arc<Tracing>,
    /// Flushes the metadata every interval; stopped (with a last flush) at shutdown.
    flusher: Option<FlusherHandle>,
    /// Kept alive for the server's lifetime; removed on drop (`--isolation`).
    _isolation: Option<tempfile::TempDir>,
}

impl Application {
    /// Opens the backend and binds the listener (port 0 picks a free port).
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        let (data_dir, isolation) = if settings.server.isolation {
            let tmp = tempfile::Builder::new()
                .prefix("ipfs-mcp-isolated-")
                .tempdir()
                .map_err(|source| StartupError::DataDir {
                    dir: std::env::temp_dir(),
                    source,
                })?;
            (None, Some(tmp))
        } else {
            let dir = settings.data_dir();
            std::fs::create_dir_all(&dir).map_err(|source| StartupError::DataDir {
                dir: dir.clone(),
                source,
            })?;
            // before anything opens the stores: they must already be in this build's layout
            let migrated = migrations::open(&dir, settings.backend.kind.as_str())?;
            if migrated.from.is_some_and(|v| v < migrated.to) {
                tracing::info!(dir = %dir.display(), from = ?migrated.from, to = migrated.to,
                    "data dir layout upgraded");
            }
            (Some(dir), None)
        };
        let backend: Arc<dyn Backend> = match settings.backend.kind {
            BackendKind::Simulation => Arc::new(
                SimulationBackend::open_with(data_dir.as_deref(), settings.storage).map_err(
                    |source| StartupError::Backend {
                        kind: "simulation",
                        source,
                    },
                )?,
            ),
            BackendKind::Kubo => open_kubo(&settings).await?,
        };
        let mut app = Self::with_backend(settings, backend, data_dir)?;
        app._isolation = isolation;
        Ok(app)
    }

    /// Serves `backend` (any implementation, e.g. a failing one in tests).
    pub fn with_backend(
        settings: Settings,
        backend: Arc<dyn Backend>,
        data_dir: Option<PathBuf>,
    ) -> Result<Self, StartupError> {
        let metrics = Arc::new(Metrics::new());
        // the breaker guards the backend that can fail: a node reached over the network
        let breaker =
            (backend.kind() == BackendKind::Kubo).then(|| settings.backend.breaker.clone());
        let backend: Arc<dyn Backend> = Arc::new(GuardedBackend::new(
            backend,
            breaker,
            metrics.backend.clone(),
        ));
        let metadata = Arc::new(
            MetadataStore::open(
                data_dir.as_ref().map(|d| d.join("metadata")).as_deref(),
                settings.metadata.clone(),
                backend.kind().as_str(),
            )
            .map_err(|e| StartupError::Cache(e.to_string()))?,
        );
        refuse_open_unauthenticated(&settings)?;
        let traces = Arc::new(Tracing::from_settings(&settings.telemetry)?);
        let auth = Arc::new(AuthModel::open(settings.auth.clone(), data_dir.as_deref())?);
        let flusher = data_dir.is_some().then(|| metadata.start_flusher());
        let cache = build_cache(&settings, data_dir.as_deref(), &metadata)?;
        let model = Arc::new(IpfsModel::new(
            backend,
            cache,
            metadata,
            settings.server.operations_capacity,
            data_dir.clone(),
        ));
        if settings.metadata.prewarm {
            let (m, limit) = (model.clone(), settings.cache.memory_limit);
            tokio::spawn(async move { m.prewarm(limit).await });
        }
        let addr = format!("{}:{}", settings.server.host, settings.server.port);
        let listener = TcpListener::bind(&addr).map_err(|source| StartupError::Bind {
            addr: addr.clone(),
            source,
        })?;
        let port = listener
            .local_addr()
            .expect("bound socket has an address")
            .port();
        tracing::info!(
            %addr, port, backend = settings.backend.kind.as_str(),
            data_dir = ?data_dir, isolation = settings.server.isolation, "ipfs-mcp listening"
        );
        metrics
            .registry
            .register(Box::new(StateCollector::new(model.clone())));
        let limits = Arc::new(RateLimits::new(
            settings.auth.default_rate,
            settings.auth.default_burst,
            settings.limits.max_in_flight,
        ));
        let tunables = Arc::new(Tunables::new(limits.clone(), model.clone()));
        let (server, state) = run(
            listener,
            Shared {
                model: model.clone(),
                auth,
                metrics: metrics.clone(),
                limits,
                traces: traces.clone(),
                tunables: tunables.clone(),
            },
            settings,
        )?;
        Ok(Self {
            port,
            server,
            state,
            model,
            metrics,
            tunables,
            traces,
            flusher,
            _isolation: None,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// On SIGHUP, re-reads `config` (with the same flags over it) and applies the settings that
    /// can change while serving (`models::runtime`). A file that no longer loads, or a change
    /// that is rejected, is logged and changes nothing.
    pub fn reload_on_sighup(&self, config: PathBuf, overrides: crate::config::CliOverrides) {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut hangups) = signal(SignalKind::hangup()) else {
            tracing::warn!("cannot listen for SIGHUP: the config file is read at start only");
            return;
        };
        let tunables = self.tunables.clone();
        tokio::spawn(async move {
            while hangups.recv().await.is_some() {
                let applied = Settings::load(Some(&config), &overrides)
                    .map_err(|e| e.to_string())
                    .and_then(|s| {
                        let change = Change::from_settings(&s, tunables.has_disk());
                        tunables.apply(&change).map_err(|e| e.to_string())
                    });
                match applied {
                    Ok(()) => {
                        tracing::info!(config = %config.display(), "run-time settings reloaded")
                    }
                    Err(e) => tracing::error!(error = %e, "SIGHUP: config not reloaded"),
                }
            }
        });
    }

    /// The metrics `/metrics` serves (tests compare names against what is declared).
    pub fn metrics(&self) -> Arc<Metrics> {
        self.metrics.clone()
    }

    /// Serves the Model Context Protocol over stdin/stdout (`ipfs-mcp mcp`) until the client
    /// closes it, then stops the HTTP server and shuts down as [`Self::run_until_stopped`].
    pub async fn serve_mcp_stdio(self) -> Result<(), String> {
        let served = c::mcp_tools::serve_stdio(self.state.clone()).await;
        self.server.handle().stop(true).await;
        self.run_until_stopped()
            .await
            .map_err(|e| format!("server error: {e}"))?;
        served
    }

    /// Stops the server from elsewhere (tests); [`Self::run_until_stopped`] then returns.
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves until SIGINT/SIGTERM; then flushes the metadata, the disk tier and the spans not
    /// yet exported, and removes the isolation dir (if any).
    pub async fn run_until_stopped(mut self) -> std::io::Result<()> {
        let result = self.server.await;
        if let Some(flusher) = self.flusher.take() {
            tokio::task::spawn_blocking(move || flusher.stop())
                .await
                .ok();
        }
        if let Err(e) = self.model.cache.flush() {
            tracing::error!(error = %e, "flushing the disk tier at shutdown failed");
        }
        let traces = self.traces.clone();
        tokio::task::spawn_blocking(move || traces.shutdown())
            .await
            .ok();
        tracing::info!(metadata = ?self.model.metadata.status().last_flush, "stopped");
        drop(self._isolation);
        result
    }
}

/// The Kubo node (put behind its circuit breaker by [`Application::with_backend`]). An unreachable node is logged and shown in
/// `/health`, and the service starts anyway (serving what it has cached, answering misses
/// with 503 until the node is back); it never falls back to the simulation.
async fn open_kubo(settings: &Settings) -> Result<Arc<dyn Backend>, StartupError> {
    let kubo = KuboBackend::new(settings.backend.kubo.clone()).map_err(|source| {
        StartupError::Backend {
            kind: "kubo",
            source,
        }
    })?;
    let url = kubo.url().to_string();
    match kubo.version().await {
        Ok(v) => tracing::info!(%url, version = %v.version, "connected to the IPFS node"),
        Err(e) => tracing::error!(
            %url, error = %e,
            "the IPFS node is unreachable; serving cached content only until it answers \
             (no fallback to the simulation backend)"
        ),
    }
    Ok(Arc::new(kubo))
}

/// Memory tier always; disk tier under `<data dir>/cache` unless isolated or disabled.
/// Both tiers evict by the metadata's heat, and report moves back to it.
fn build_cache(
    settings: &Settings,
    data_dir: Option<&std::path::Path>,
    metadata: &Arc<MetadataStore>,
) -> Result<TieredStore<BackendError>, StartupError> {
    let c = &settings.cache;
    let heat = metadata.clone();
    let ranker: Ranker = Arc::new(move |cids: &[cid::Cid]| heat.ranks(cids));
    let memory: Arc<dyn CacheTier> =
        Arc::new(MemoryTier::new(c.memory_limit).with_ranker(ranker.clone()));
    let disk: Option<Arc<dyn CacheTier>> = match data_dir {
        Some(dir) if c.disk_limit > 0 => Some(Arc::new(
            DiskTier::open(&dir.join("cache"), c.disk_limit)
                .map_err(|e| StartupError::Cache(e.to_string()))?
                .with_ranker(ranker),
        )),
        _ => None,
    };
    Ok(TieredStore::new(memory, disk, c.max_object_bytes).with_observer(metadata.clone()))
}

/// The rustls configuration from `server.tls_cert` / `server.tls_key` (PEM), if both are set.
fn tls_config(settings: &Settings) -> Result<Option<rustls::ServerConfig>, StartupError> {
    let (cert, key) = match (&settings.server.tls_cert, &settings.server.tls_key) {
        (None, None) => return Ok(None),
        (Some(c), Some(k)) => (c, k),
        _ => {
            return Err(StartupError::Tls(
                "server.tls_cert and server.tls_key go together".into(),
            ));
        }
    };
    let open = |p: &std::path::Path| {
        std::fs::File::open(p)
            .map(std::io::BufReader::new)
            .map_err(|e| StartupError::Tls(format!("{}: {e}", p.display())))
    };
    let certs = rustls_pemfile::certs(&mut open(cert)?)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| StartupError::Tls(format!("{}: {e}", cert.display())))?;
    if certs.is_empty() {
        return Err(StartupError::Tls(format!(
            "no certificate in {}",
            cert.display()
        )));
    }
    let key_der = rustls_pemfile::private_key(&mut open(key)?)
        .map_err(|e| StartupError::Tls(format!("{}: {e}", key.display())))?
        .ok_or_else(|| StartupError::Tls(format!("no private key in {}", key.display())))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| StartupError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key_der)
        .map_err(|e| StartupError::Tls(e.to_string()))?;
    Ok(Some(config))
}

/// Auth off is for loopback: anyone who can reach any other address could add, pin and clear.
fn refuse_open_unauthenticated(settings: &Settings) -> Result<(), StartupError> {
    let host = settings.server.host.trim_matches(['[', ']']);
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if loopback || settings.auth.enabled || settings.server.allow_unauthenticated {
        return Ok(());
    }
    Err(StartupError::Unauthenticated(host.to_string()))
}

/// What every worker's handlers share.
struct Shared {
    model: Arc<IpfsModel>,
    auth: Arc<AuthModel>,
    metrics: Arc<Metrics>,
    limits: Arc<RateLimits>,
    traces: Arc<Tracing>,
    tunables: Arc<Tunables>,
}

fn run(
    listener: TcpListener,
    shared: Shared,
    settings: Settings,
) -> Result<(Server, web::Data<AppState>), StartupError> {
    let workers = settings.server.workers;
    let json_limit = settings.limits.max_json_bytes;
    let tls = tls_config(&settings)?;
    let Shared {
        model,
        auth,
        metrics,
        limits,
        traces,
        tunables,
    } = shared;
    let state = web::Data::new(AppState {
        model,
        auth,
        limits,
        metrics,
        traces,
        tunables,
        settings,
    });
    // one for all workers: they share its sessions
    let mcp = state
        .settings
        .mcp
        .enabled
        .then(|| c::mcp_tools::http_service(state.clone()));
    let shared_state = state.clone();
    let mut server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(web::PayloadConfig::new(json_limit))
            .app_data(
                web::JsonConfig::default()
                    .limit(json_limit)
                    .error_handler(move |e, _| json_error(e, json_limit).into()),
            )
            .app_data(
                web::QueryConfig::default()
                    .error_handler(|e, _| c::error::ApiError::invalid_query(e).into()),
            )
            .wrap(from_fn(c::authn::guard))
            .wrap(from_fn(c::middleware::observe))
            .wrap(from_fn(c::compress::generated_only))
            .configure(|cfg| routes(cfg, mcp.clone()))
            .default_service(web::to(c::system::not_found))
    });
    if let Some(n) = workers {
        server = server.workers(n);
    }
    // No Nagle: an answer written in pieces (an SSE stream's events on `/mcp`, NDJSON lines)
    // would otherwise wait for the client's delayed ACK between pieces, 40 ms a request on
    // a reused connection.
    server = server.on_connect(|conn, _| {
        use actix_web::rt::net::TcpStream;
        let tcp = conn.downcast_ref::<TcpStream>().or_else(|| {
            conn.downcast_ref::<actix_tls::accept::rustls_0_23::TlsStream<TcpStream>>()
                .map(|tls| tls.get_ref().0)
        });
        if let Some(tcp) = tcp {
            let _ = tcp.set_nodelay(true);
        }
    });
    let bind = |source| StartupError::Bind {
        addr: "listener".into(),
        source,
    };
    let server = match tls {
        Some(config) => server.listen_rustls_0_23(listener, config).map_err(bind)?,
        None => server.listen(listener).map_err(bind)?,
    };
    Ok((server.run(), shared_state))
}
