//! Logs and traces. Logs go through `tracing` to stderr; the level comes from `RUST_LOG`, else
//! [`default_level`], unless `telemetry.log_level` says otherwise, and can be replaced while
//! serving ([`set_log_level`], through `models::runtime`: `cli/config/update` and SIGHUP).
//! Traces are OpenTelemetry's ([`traces`]).

pub mod traces;

use std::sync::OnceLock;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Registry, reload};

type FilterHandle = reload::Handle<EnvFilter, Registry>;

/// The installed filter, to change at run time (unset when this process did not install the
/// subscriber, e.g. in tests).
static FILTER: OnceLock<FilterHandle> = OnceLock::new();

#[derive(Debug, thiserror::Error)]
pub enum LogLevelError {
    #[error("log level {0:?}: {1}")]
    Invalid(String, String),
    #[error("this process's logging was not set up by ipfs-mcp; the level cannot change")]
    NotInstalled,
}

/// The level used when `RUST_LOG` does not say otherwise.
pub fn default_level(debug: bool) -> &'static str {
    if debug { "debug,sled=info" } else { "info" }
}

/// Checks a filter directive (`info`, `warn,ipfs_mcp=debug`, ...).
pub fn parse_level(level: &str) -> Result<EnvFilter, LogLevelError> {
    EnvFilter::try_new(level).map_err(|e| LogLevelError::Invalid(level.to_string(), e.to_string()))
}

/// Installs the log subscriber: the filter is `level` (`telemetry.log_level`) when set, else
/// `RUST_LOG`, else [`default_level`].
pub fn init(debug: bool, level: Option<&str>) -> Result<(), LogLevelError> {
    let filter = match level {
        Some(level) => parse_level(level)?,
        None => EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| EnvFilter::new(default_level(debug))),
    };
    let (filter, handle) = reload::Layer::new(filter);
    let installed = tracing_subscriber::registry()
        .with(filter)
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
        .try_init();
    if installed.is_ok() {
        let _ = FILTER.set(handle);
    }
    Ok(())
}

/// Replaces the log filter of the running process.
pub fn set_log_level(level: &str) -> Result<(), LogLevelError> {
    let filter = parse_level(level)?;
    let handle = FILTER.get().ok_or(LogLevelError::NotInstalled)?;
    // reloading fails only when the subscriber is gone
    handle
        .reload(filter)
        .map_err(|_| LogLevelError::NotInstalled)
}
