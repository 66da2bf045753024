//! Controllers: HTTP in, models out. The only layer that knows actix types.
//!
//! Invariants:
//! * Handlers parse and validate the request, call a model, and render the envelope or an
//!   [`error::ApiError`]; no IPFS logic lives here.
//! * Every error leaves through [`error`]; every success through [`envelope`].
//! * Content is streamed in both directions; nothing here holds a whole upload or file.

pub mod add;
pub mod auth;
pub mod authn;
pub mod batch;
pub mod block;
pub mod cache;
pub mod compress;
pub mod config;
pub mod content;
pub mod dag;
pub mod envelope;
pub mod error;
pub mod gateway;
pub mod mcp_tools;
pub mod middleware;
pub mod multipart;
pub mod name;
pub mod node;
pub mod openapi;
pub mod ops;
pub mod params;
pub mod pin;
pub mod request;
pub mod rpc;
pub mod system;

use crate::config::Settings;
use crate::models::IpfsModel;
use std::sync::Arc;

/// Shared by every handler.
pub struct AppState {
    pub model: Arc<IpfsModel>,
    pub auth: Arc<crate::models::auth::AuthModel>,
    pub limits: Arc<crate::models::ratelimit::RateLimits>,
    pub metrics: Arc<crate::metrics::Metrics>,
    pub traces: Arc<crate::telemetry::traces::Tracing>,
    pub tunables: Arc<crate::models::runtime::Tunables>,
    pub settings: Settings,
}

pub type Result<T> = std::result::Result<T, error::ApiError>;
