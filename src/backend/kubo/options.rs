//! Settings of the Kubo backend (`[backend.kubo]`, `IPFS_MCP__BACKEND__KUBO__*`, `--kubo-url`).

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// How to reach the node and how patient to be with it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct KuboOptions {
    /// Base URL of the node's RPC API (without `/api/v0`).
    pub url: String,
    /// Value of the `Authorization` header for nodes that set `API.Authorizations`
    /// (e.g. `Basic dXNlcjpwYXNz` or `Bearer <token>`). Never printed.
    pub authorization: Option<Secret>,
    /// Limit for opening a TCP connection to the node.
    pub connect_timeout_ms: u64,
    /// Limit for the node's first byte after a request without a body was sent, and between two
    /// chunks of a streamed answer.
    pub first_byte_timeout_ms: u64,
    /// Limit for a whole call whose answer is read in full (not for streamed content), and for
    /// the node's answer after an upload (`add`, `block/put`, `dag/put`, `dag/import`) ended.
    pub total_timeout_ms: u64,
    /// Retries of idempotent reads after a connection failure or a 502/503/504.
    pub retries: u32,
    /// Wait before the first retry; doubled for each further one.
    pub retry_backoff_ms: u64,
    /// Requests in flight to the node at most; further ones wait up to the first-byte timeout,
    /// then get a 503.
    pub max_concurrent_requests: usize,
}

impl Default for KuboOptions {
    fn default() -> Self {
        Self {
            url: "http://127.0.0.1:5001".into(),
            authorization: None,
            connect_timeout_ms: 2_000,
            first_byte_timeout_ms: 30_000,
            total_timeout_ms: 120_000,
            retries: 2,
            retry_backoff_ms: 100,
            max_concurrent_requests: 64,
        }
    }
}

impl KuboOptions {
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms)
    }
    pub fn first_byte_timeout(&self) -> Duration {
        Duration::from_millis(self.first_byte_timeout_ms)
    }
    pub fn total_timeout(&self) -> Duration {
        Duration::from_millis(self.total_timeout_ms)
    }
}

pub use crate::secret::Secret;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_authorization_is_never_printed() {
        let o = KuboOptions {
            authorization: Some(Secret::new("Bearer hunter2")),
            ..Default::default()
        };
        assert!(!format!("{o:?}").contains("hunter2"));
        assert!(!serde_json::to_string(&o).unwrap().contains("hunter2"));
        let back: KuboOptions =
            serde_json::from_str(r#"{"authorization":"Bearer hunter2"}"#).unwrap();
        assert_eq!(back.authorization.unwrap().expose(), "Bearer hunter2");
    }
}
