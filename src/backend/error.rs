//! The backend layer's one error type. Controllers map it to HTTP in exactly one place.

/// Why a backend call failed, in terms a caller can act on.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BackendError {
    /// The caller's input is wrong (bad CID, bad path segment, unsupported option).
    #[error("{0}")]
    InvalidInput(String),
    /// The thing asked for does not exist on this node.
    #[error("{0}")]
    NotFound(String),
    /// The request is valid but the node refuses it in its current state (e.g. unpinning
    /// something not pinned).
    #[error("{0}")]
    Conflict(String),
    /// The node is not reachable or not accepting requests.
    #[error("backend unavailable: {0}")]
    Unavailable(String),
    /// The node answered with something we could not understand.
    #[error("bad answer from backend: {0}")]
    BadGateway(String),
    /// The node did not answer in time.
    #[error("backend timed out: {0}")]
    Timeout(String),
    /// The input stream was over the configured size limit.
    #[error("input larger than the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    /// Reading the caller's input stream failed (client went away, malformed multipart).
    #[error("reading the request body failed: {0}")]
    Input(String),
    /// Local storage failed; a bug or a broken disk.
    #[error("storage error: {0}")]
    Storage(String),
    /// A bug: an invariant that should hold did not.
    #[error("internal error: {0}")]
    Internal(String),
}

impl BackendError {
    /// Stable, machine-readable name of the error kind (`error_type` in responses).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::InvalidInput(_) => "invalid_argument",
            Self::NotFound(_) => "not_found",
            Self::Conflict(_) => "conflict",
            Self::Unavailable(_) => "backend_unavailable",
            Self::BadGateway(_) => "backend_error",
            Self::Timeout(_) => "backend_timeout",
            Self::TooLarge { .. } => "payload_too_large",
            Self::Input(_) => "bad_request_body",
            Self::Storage(_) => "storage_error",
            Self::Internal(_) => "internal_error",
        }
    }
}

impl From<std::io::Error> for BackendError {
    fn from(e: std::io::Error) -> Self {
        Self::Storage(e.to_string())
    }
}

impl From<sled::Error> for BackendError {
    fn from(e: sled::Error) -> Self {
        Self::Storage(e.to_string())
    }
}
