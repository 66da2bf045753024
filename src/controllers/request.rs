//! Small checks on the incoming request shared by several controllers: its content type, a
//! declared body length over the limit, and read-only methods on content routes.

use super::Result;
use super::error::ApiError;
use actix_web::HttpRequest;
use actix_web::http::{Method, StatusCode, header};

/// The request's `Content-Type`, lowercased (`""` when absent).
pub fn content_type(req: &HttpRequest) -> String {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// A 413 before reading anything when `Content-Length` already says the body is over `limit`
/// (a streamed body is still counted as it arrives).
pub fn reject_declared_over(req: &HttpRequest, limit: u64) -> Result<()> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(ApiError::too_large(limit));
    }
    Ok(())
}

/// Content routes mounted under a static prefix answer GET and HEAD only (405 otherwise).
pub fn require_get_or_head(req: &HttpRequest) -> Result<()> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return Err(ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("{} is not allowed on {}", req.method(), req.path()),
        ));
    }
    Ok(())
}
