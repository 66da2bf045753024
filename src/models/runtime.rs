//! The settings that change while serving: the default rate and burst, the cap on requests in
//! flight, the cache tiers' limits and the largest object cached whole, and the log level. One
//! place applies them, for `cli/config/update` and for SIGHUP (which re-reads the config file),
//! and one place says what is in effect: the loaded settings with these applied.
//!
//! Invariants:
//! - A change is checked whole before any of it is applied: a rejected change changes nothing.
//! - Nothing here drops a connection or a cached object that still fits: a smaller tier evicts
//!   down to its new limit (memory demoting into disk), a larger one only makes room.

use crate::config::Settings;
use crate::models::IpfsModel;
use crate::models::auth::scope::Rate;
use crate::models::ratelimit::RateLimits;
use crate::persistence::memory::ENTRY_OVERHEAD;
use parking_lot::Mutex;
use serde::Deserialize;
use std::sync::Arc;

/// Run-time settings to change; what is left out stays as it is.
#[derive(Debug, Default, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Change {
    pub auth: Option<AuthChange>,
    pub limits: Option<LimitsChange>,
    pub cache: Option<CacheChange>,
    pub telemetry: Option<TelemetryChange>,
}

#[derive(Debug, Default, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthChange {
    /// e.g. `600/min`.
    #[schema(value_type = Option<String>)]
    pub default_rate: Option<Rate>,
    pub default_burst: Option<u32>,
}

#[derive(Debug, Default, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LimitsChange {
    pub max_in_flight: Option<usize>,
}

#[derive(Debug, Default, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CacheChange {
    pub memory_limit: Option<u64>,
    pub disk_limit: Option<u64>,
    pub max_object_bytes: Option<u64>,
}

#[derive(Debug, Default, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TelemetryChange {
    /// A `tracing` filter directive (`info`, `warn,ipfs_mcp=debug`).
    pub log_level: Option<String>,
}

impl Change {
    /// Every run-time setting as `settings` give it (a config file re-read on SIGHUP). A
    /// disk limit is included only where a disk tier exists: a file cannot add one.
    pub fn from_settings(settings: &Settings, has_disk: bool) -> Self {
        Self {
            auth: Some(AuthChange {
                default_rate: Some(settings.auth.default_rate),
                default_burst: Some(settings.auth.default_burst),
            }),
            limits: Some(LimitsChange {
                max_in_flight: Some(settings.limits.max_in_flight),
            }),
            cache: Some(CacheChange {
                memory_limit: Some(settings.cache.memory_limit),
                disk_limit: has_disk.then_some(settings.cache.disk_limit),
                max_object_bytes: Some(settings.cache.max_object_bytes),
            }),
            telemetry: settings
                .telemetry
                .log_level
                .clone()
                .map(|level| TelemetryChange {
                    log_level: Some(level),
                }),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    /// The change is wrong; `field` is its dotted path.
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    /// Right, but this process cannot apply it.
    #[error("{field}: {message}")]
    Unsupported {
        field: &'static str,
        message: String,
    },
    #[error("applying the cache limits failed: {0}")]
    Cache(String),
}

fn invalid(field: &'static str, message: impl Into<String>) -> ChangeError {
    ChangeError::Invalid {
        field,
        message: message.into(),
    }
}

/// What can change while serving, and what has.
pub struct Tunables {
    limits: Arc<RateLimits>,
    model: Arc<IpfsModel>,
    /// The log filter set at run time, if any.
    log_level: Mutex<Option<String>>,
}

impl Tunables {
    pub fn new(limits: Arc<RateLimits>, model: Arc<IpfsModel>) -> Self {
        Self {
            limits,
            model,
            log_level: Mutex::new(None),
        }
    }

    pub fn has_disk(&self) -> bool {
        self.model.cache.has_disk()
    }

    /// Checks `change` whole, then applies it.
    pub fn apply(&self, change: &Change) -> Result<(), ChangeError> {
        let level = self.check(change)?;
        if let Some(level) = level {
            crate::telemetry::set_log_level(level).map_err(|e| ChangeError::Unsupported {
                field: "telemetry.log_level",
                message: e.to_string(),
            })?;
            *self.log_level.lock() = Some(level.to_string());
        }
        if let Some(auth) = &change.auth
            && (auth.default_rate.is_some() || auth.default_burst.is_some())
        {
            let (rate, burst) = self.limits.default_rate();
            self.limits.set_default(
                auth.default_rate.unwrap_or(rate),
                auth.default_burst.unwrap_or(burst),
            );
        }
        if let Some(n) = change.limits.as_ref().and_then(|l| l.max_in_flight) {
            self.limits.set_max_in_flight(n);
        }
        if let Some(cache) = &change.cache {
            let now = self.cache_limits();
            let store = &self.model.cache;
            store
                .set_limits(
                    cache.memory_limit.unwrap_or(now.memory_limit),
                    cache.disk_limit,
                    cache.max_object_bytes.unwrap_or(now.max_object_bytes),
                )
                .map_err(|e| ChangeError::Cache(e.to_string()))?;
        }
        Ok(())
    }

    /// Everything `apply` could reject, before anything is applied; the log level to set.
    fn check<'c>(&self, change: &'c Change) -> Result<Option<&'c str>, ChangeError> {
        if change.limits.as_ref().and_then(|l| l.max_in_flight) == Some(0) {
            return Err(invalid("limits.max_in_flight", "must be at least 1"));
        }
        if let Some(cache) = &change.cache {
            if cache.disk_limit.is_some() && !self.has_disk() {
                return Err(ChangeError::Unsupported {
                    field: "cache.disk_limit",
                    message: "this server runs without a disk tier (isolated, or disabled at \
                              start); adding one needs a restart"
                        .into(),
                });
            }
            if cache.memory_limit.is_some_and(|m| m <= ENTRY_OVERHEAD) {
                return Err(invalid(
                    "cache.memory_limit",
                    format!("must be more than {ENTRY_OVERHEAD} bytes (one entry's overhead)"),
                ));
            }
        }
        let level = change
            .telemetry
            .as_ref()
            .and_then(|t| t.log_level.as_deref());
        if let Some(level) = level {
            crate::telemetry::parse_level(level)
                .map_err(|e| invalid("telemetry.log_level", e.to_string()))?;
        }
        Ok(level)
    }

    /// `loaded` with the run-time changes applied: the settings in effect now.
    pub fn effective(&self, loaded: &Settings) -> Settings {
        let mut s = loaded.clone();
        let (rate, burst) = self.limits.default_rate();
        s.auth.default_rate = rate;
        s.auth.default_burst = burst;
        s.limits.max_in_flight = self.limits.max_in_flight();
        let cache = self.cache_limits();
        s.cache.memory_limit = cache.memory_limit;
        if self.has_disk() {
            s.cache.disk_limit = cache.disk_limit;
        }
        s.cache.max_object_bytes = cache.max_object_bytes;
        if let Some(level) = self.log_level.lock().clone() {
            s.telemetry.log_level = Some(level);
        }
        s
    }

    fn cache_limits(&self) -> crate::config::CacheSettings {
        let store = &self.model.cache;
        // one snapshot of the tiers (each `stats` call locks and reads every tier)
        let tiers = store.stats();
        let limit_of = |name: &str| {
            tiers
                .iter()
                .find(|t| t.tier == name)
                .map_or(0, |t| t.usage.limit_bytes)
        };
        crate::config::CacheSettings {
            memory_limit: limit_of("memory"),
            disk_limit: limit_of("disk"),
            max_object_bytes: store.max_object_bytes(),
        }
    }
}
