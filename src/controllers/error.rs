//! The one place where errors become HTTP: every failure is a status plus one JSON body
//! `{success:false, error, error_type, operation_id}` (and `error_id` for 500s, also logged).

use crate::backend::BackendError;
use crate::models::auth::AuthError;
use crate::models::runtime::ChangeError;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;
use std::fmt;

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub error_type: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, error_type: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            error_type,
            message: message.into(),
        }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_argument", message)
    }
    /// A query string that does not decode (the extractor's and a handler's own parse alike).
    pub fn invalid_query(e: impl std::fmt::Display) -> Self {
        Self::bad_request(format!("invalid query string: {e}"))
    }
    pub fn missing_field(field: &str) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "missing_field",
            format!("missing field {field:?}"),
        )
    }
    pub fn unsupported_media(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            message,
        )
    }
    pub fn too_large(limit: u64) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("request body larger than the limit of {limit} bytes"),
        )
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", message)
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// The one error body; a 500's details are logged under an `error_id` it carries.
    pub fn body(&self, operation_id: &str) -> serde_json::Value {
        let mut body = json!({
            "success": false,
            "error": self.message,
            "error_type": self.error_type,
            "operation_id": operation_id,
            "status": self.status.as_u16(),
        });
        if self.status == StatusCode::INTERNAL_SERVER_ERROR {
            let error_id = uuid::Uuid::new_v4().to_string();
            tracing::error!(error_id, operation_id, error = %self.message, "internal error");
            body["error_id"] = error_id.into();
        }
        body
    }

    /// Renders the body; `operation_id` comes from the request (see the middleware).
    pub fn to_response(&self, operation_id: &str) -> HttpResponse {
        let body = self.body(operation_id);
        let mut res = HttpResponse::build(self.status);
        if self.status == StatusCode::UNAUTHORIZED {
            // RFC 9110 §11.6.1: a 401 names the scheme it wants
            res.insert_header((
                actix_web::http::header::WWW_AUTHENTICATE,
                r#"Bearer realm="ipfs-mcp""#,
            ));
        }
        res.json(body)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }
    fn error_response(&self) -> HttpResponse {
        // The middleware replaces this with a body carrying the operation id.
        self.to_response("")
    }
}

impl From<BackendError> for ApiError {
    fn from(e: BackendError) -> Self {
        let status = match &e {
            BackendError::InvalidInput(_) | BackendError::Input(_) => StatusCode::BAD_REQUEST,
            BackendError::NotFound(_) => StatusCode::NOT_FOUND,
            BackendError::Conflict(_) => StatusCode::CONFLICT,
            BackendError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            BackendError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            BackendError::BadGateway(_) => StatusCode::BAD_GATEWAY,
            BackendError::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
            BackendError::Storage(_) | BackendError::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        Self::new(status, e.kind(), e.to_string())
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        let (status, kind) = match &e {
            AuthError::Missing => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            AuthError::Malformed(_) | AuthError::Unknown => {
                (StatusCode::UNAUTHORIZED, "invalid_credentials")
            }
            AuthError::Expired(_) => (StatusCode::UNAUTHORIZED, "credentials_expired"),
            AuthError::Revoked(_) => (StatusCode::UNAUTHORIZED, "credentials_revoked"),
            AuthError::Forbidden(_) => (StatusCode::FORBIDDEN, "insufficient_scope"),
            AuthError::NoSuchKey => (StatusCode::NOT_FOUND, "not_found"),
            AuthError::Invalid(_) => (StatusCode::BAD_REQUEST, "invalid_argument"),
            AuthError::Storage(_) | AuthError::Internal(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "internal_error")
            }
        };
        Self::new(status, kind, e.to_string())
    }
}

impl From<ChangeError> for ApiError {
    fn from(e: ChangeError) -> Self {
        let (status, kind) = match &e {
            ChangeError::Invalid { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_config"),
            ChangeError::Unsupported { .. } => (StatusCode::CONFLICT, "not_changeable"),
            ChangeError::Cache(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal_error"),
        };
        Self::new(status, kind, e.to_string())
    }
}

/// Status-only errors produced by actix itself (404 for unknown routes, 405, payload errors)
/// get the same body.
pub fn from_status(status: StatusCode, detail: Option<String>) -> ApiError {
    let (kind, default) = match status.as_u16() {
        403 => (
            "forbidden",
            "forbidden (on /mcp: an Origin or Host it does not allow)",
        ),
        404 => ("not_found", "no such route"),
        406 => (
            "not_acceptable",
            "the Accept header allows no answer this route gives",
        ),
        422 => (
            "unprocessable",
            "the request is well-formed but cannot be processed here",
        ),
        405 => ("method_not_allowed", "method not allowed for this route"),
        413 => ("payload_too_large", "request body too large"),
        415 => ("unsupported_media_type", "unsupported content type"),
        400 => ("bad_request", "bad request"),
        s if s >= 500 => ("internal_error", "internal error"),
        _ => ("error", "request failed"),
    };
    ApiError::new(status, kind, detail.unwrap_or_else(|| default.to_string()))
}

/// Maps JSON body errors: syntax -> 400, missing/mistyped fields -> 422, size -> 413,
/// content type -> 415.
pub fn json_error(err: actix_web::error::JsonPayloadError, limit: usize) -> ApiError {
    use actix_web::error::JsonPayloadError as E;
    match &err {
        E::OverflowKnownLength { .. } | E::Overflow { .. } => ApiError::too_large(limit as u64),
        E::ContentType => ApiError::unsupported_media("expected Content-Type: application/json"),
        E::Deserialize(e) if e.is_data() => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
            e.to_string(),
        ),
        _ => ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", err.to_string()),
    }
}
