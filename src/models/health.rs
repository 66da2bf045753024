//! Service health, derived from the backend's state.

use crate::backend::{BackendHealth, BackendState};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    Ok,
    Degraded,
    Critical,
}

/// `ok` when the backend is up, `degraded` when it limps, `critical` when it is down.
pub fn status_of(backend: &BackendHealth) -> HealthStatus {
    match backend.state {
        BackendState::Up => HealthStatus::Ok,
        BackendState::Degraded => HealthStatus::Degraded,
        BackendState::Down => HealthStatus::Critical,
    }
}
