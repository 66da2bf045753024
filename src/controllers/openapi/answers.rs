//! The answers each kind of route gives, for `responses(...)`: every status a route can answer
//! with is documented, with the body it carries.

use super::{Binary, Envelope, ErrorBody};
use utoipa::IntoResponses;

/// A JSON route: the envelope, or the error body.
#[derive(IntoResponses)]
pub enum Json {
    /// The envelope with the operation's fields.
    #[response(status = 200)]
    Ok(#[to_schema] Envelope),
    /// Bad input (400, 413, 415, 422), credentials (401, 403), absent (404), conflict (409),
    /// over a rate (429, with `Retry-After`).
    #[response(status = "4XX")]
    Rejected(#[to_schema] ErrorBody),
    /// The node is unreachable or failing (502, 503, 504), or an internal error (500).
    #[response(status = "5XX")]
    Failed(#[to_schema] ErrorBody),
}

/// Bytes of content (a file, a block, a CAR, a TAR): any media type, ranges honoured.
#[derive(IntoResponses)]
pub enum Content {
    /// The bytes; `ETag`, `X-Ipfs-Path`, `X-Cache-Tier` say what they are and where from.
    #[response(status = 200, content_type = "*/*")]
    Ok(#[to_schema] Binary),
    /// A `Range` request's part (`Content-Range`).
    #[response(status = 206, content_type = "*/*")]
    Partial(#[to_schema] Binary),
    /// Redirects (a directory without its trailing slash) and `304 Not Modified`.
    #[response(status = "3XX")]
    Elsewhere,
    /// Bad input, no such content, an unsatisfiable range (416).
    #[response(status = "4XX")]
    Rejected(#[to_schema] ErrorBody),
    #[response(status = "5XX")]
    Failed(#[to_schema] ErrorBody),
}

/// Prometheus' text exposition format.
#[derive(IntoResponses)]
pub enum Metrics {
    #[response(status = 200, content_type = "text/plain")]
    Ok(String),
    /// Metrics are off (`telemetry.metrics = false`), or credentials are missing.
    #[response(status = "4XX")]
    Rejected(#[to_schema] ErrorBody),
}
