//! Kubo's RPC API at `/api/v0/*`: the controllers that let clients written for Kubo
//! (`kubo-rpc-client`, `ipfshttpclient`, the `ipfs` CLI's `--api`, another ipfs-mcp's Kubo
//! backend) use this service unchanged.
//!
//! Every command here is a thin controller over the same models as the `/api/v0/mcp/*` routes
//! (and shares their option parsing: `add::options`, `block::put_options`, ...); only the
//! wire conventions differ, and they live in this module:
//!
//! * **POST only.** Other methods get 405 with `Allow: POST, OPTIONS`; `OPTIONS` gets 204
//!   ([`command`]).
//! * **Arguments in the query string**: `arg` is positional and may repeat; options are
//!   `name=value`; booleans are case-insensitive (`True` from Python's `ipfshttpclient`); an
//!   option this service does not know is ignored, as Kubo ignores it ([`Call`]).
//! * **Errors** are `{Message, Code, Type:"error"}` ([`kubo_errors`], on the whole scope):
//!   `Code` 1 and status 400 for a client's mistake, 0 and 500 for a failure (content not
//!   found included, as Kubo answers it), 404 only for a command that does not exist, and the
//!   statuses Kubo's command library keeps (401, 403, 413, 416, 429, 503) as they are.
//!   The body also carries our `success:false`, `error`, `error_type`, so one body serves both
//!   kinds of client.
//! * **Answers**: one JSON object ([`one`]); or newline-delimited JSON with `X-Chunked-Output`
//!   ([`lines`]); or bytes with `X-Stream-Output` ([`bytes`]). Streams declare
//!   `Trailer: X-Stream-Error`, but clients cannot read trailers, so a stream that fails after
//!   it started ends with one more line, the error object.

pub mod blocks;
pub mod content;
pub mod dag;
pub mod names;
pub mod node;
pub mod pins;

use super::error::ApiError;
use super::params::Args;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode, header};
use actix_web::middleware::Next;
use actix_web::{Error, HttpRequest, HttpResponse, Resource, web};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use serde_json::{Value, json};
use std::collections::HashMap;

/// The Kubo command mounted at `path` (under `/api/v0`): `handler` for POST, 204 for OPTIONS,
/// 405 with `Allow` for anything else.
pub fn command<F, Args>(path: &str, handler: F) -> Resource
where
    F: actix_web::Handler<Args>,
    Args: actix_web::FromRequest + 'static,
    F::Output: actix_web::Responder + 'static,
{
    web::resource(path)
        .route(web::post().to(handler))
        .route(web::method(Method::OPTIONS).to(preflight))
        .default_service(web::to(wrong_method))
}

async fn preflight() -> HttpResponse {
    HttpResponse::NoContent()
        .insert_header((header::ALLOW, "POST, OPTIONS"))
        .finish()
}

async fn wrong_method(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let mut err = ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!(
            "{} {}: Kubo's RPC API takes POST only",
            req.method(),
            req.path()
        ),
    );
    err.message.push_str(" (405 - Method Not Allowed)");
    Err(err)
}

/// An unknown `/api/v0/...` command: Kubo's 404, as an error object.
pub async fn unknown_command(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::new(
        StatusCode::NOT_FOUND,
        UNKNOWN_COMMAND,
        format!(
            "unknown command {:?}",
            req.path().trim_start_matches("/api/v0/")
        ),
    ))
}

/// The `error_type` of a command this API does not have: the one 404 (clients take a 404 to
/// mean exactly that).
const UNKNOWN_COMMAND: &str = "unknown_command";

/// The statuses Kubo's command library answers with besides 400 and 500; ours that have no
/// Kubo counterpart become 400 (a client error) or 500. Content that is not there is a 500
/// whose message says "not found", as Kubo answers it: a 404 would tell a client that the
/// command does not exist.
fn kubo_status(err: &ApiError) -> (StatusCode, u8) {
    let status = err.status;
    match status.as_u16() {
        401 | 403 => (status, 5),
        404 if err.error_type == UNKNOWN_COMMAND => (status, 3),
        404 => (StatusCode::INTERNAL_SERVER_ERROR, 0),
        429 => (status, 6),
        405 | 413 | 416 => (status, 1),
        s if (400..500).contains(&s) => (StatusCode::BAD_REQUEST, 1),
        503 | 504 => (status, 0),
        _ => (StatusCode::INTERNAL_SERVER_ERROR, 0),
    }
}

/// The error object of Kubo's RPC API for `err` (and our fields beside Kubo's).
pub fn error_object(err: &ApiError) -> Value {
    let (_, code) = kubo_status(err);
    json!({
        "Message": err.message,
        "Code": code,
        "Type": "error",
        "success": false,
        "error": err.message,
        "error_type": err.error_type,
    })
}

/// The middleware on the RPC scope: every error answer (ours, actix's 404/405/413, a JSON
/// body that did not parse) leaves in Kubo's shape, keeping headers such as `Allow`.
pub async fn kubo_errors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let res = next.call(req).await?;
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return Ok(res.map_into_boxed_body());
    }
    let err = match res.response().error() {
        Some(e) => match e.as_error::<ApiError>() {
            Some(api) => api.clone(),
            None => super::error::from_status(status, Some(e.to_string())),
        },
        None => super::error::from_status(status, None),
    };
    let (kubo, _) = kubo_status(&err);
    let mut fresh = HttpResponse::build(kubo).json(error_object(&err));
    if status == StatusCode::METHOD_NOT_ALLOWED {
        fresh.headers_mut().insert(
            header::ALLOW,
            header::HeaderValue::from_static("POST, OPTIONS"),
        );
    }
    for (name, value) in res.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            fresh.headers_mut().insert(name.clone(), value.clone());
        }
    }
    if err.status == StatusCode::INTERNAL_SERVER_ERROR {
        tracing::error!(path = res.request().path(), error = %err.message, "RPC command failed");
    }
    Ok(res.into_response(fresh))
}

/// One command's arguments: the positional `arg`s in order, and the options (first value of
/// each name wins, as in Kubo).
pub struct Call {
    pub args: Vec<String>,
    pub options: Args,
}

impl Call {
    pub fn of(req: &HttpRequest) -> Result<Self, ApiError> {
        let pairs = match req.query_string() {
            "" => Vec::new(),
            q => web::Query::<Vec<(String, String)>>::from_query(q)
                .map_err(ApiError::invalid_query)?
                .into_inner(),
        };
        let mut args = Vec::new();
        let mut options = HashMap::new();
        for (name, value) in pairs {
            if name == "arg" {
                args.push(value.clone());
            }
            options.entry(name).or_insert(value);
        }
        Ok(Self {
            args,
            options: Args::query_only(options),
        })
    }

    /// The first positional argument, required (Kubo's "argument ... is required").
    pub fn arg(&self, what: &str) -> Result<&str, ApiError> {
        self.args
            .first()
            .map(String::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ApiError::bad_request(format!("argument {what:?} is required")))
    }

    pub fn flag(&self, name: &str, default: bool) -> Result<bool, ApiError> {
        self.options.bool(&[name], default)
    }
}

/// Commands whose input is a multipart file part (`add`, `block/put`, `dag/put`,
/// `routing/put`): any other body is a 400 naming what the command takes.
pub fn require_multipart(req: &HttpRequest, what: &str) -> Result<(), ApiError> {
    if super::request::content_type(req).starts_with("multipart/form-data") {
        return Ok(());
    }
    Err(ApiError::bad_request(format!(
        "{} takes {what} as a multipart/form-data file part",
        req.path().trim_start_matches("/api/v0/")
    )))
}

/// An IPFS path argument (`/ipfs/<cid>/a`, `<cid>/a`, `ipfs://...` not accepted) as the
/// models take it: without `/ipfs/`. `/ipns/` paths are resolved first.
pub async fn content_path(state: &super::AppState, arg: &str) -> Result<String, ApiError> {
    let arg = arg.trim();
    if let Some(rest) = arg.strip_prefix("/ipns/") {
        let (name, tail) = rest.split_once('/').unwrap_or((rest, ""));
        let target = state.model.node().name_resolve(name).await?;
        let target = target.trim_start_matches("/ipfs/").trim_end_matches('/');
        return Ok(if tail.is_empty() {
            target.to_string()
        } else {
            format!("{target}/{tail}")
        });
    }
    Ok(arg.trim_start_matches("/ipfs/").to_string())
}

/// One JSON object.
pub fn one(value: impl serde::Serialize) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::TRAILER, "X-Stream-Error"))
        .json(value)
}

/// The line ending a stream that failed after it started (see the module's notes).
fn error_line(err: &ApiError) -> Bytes {
    let mut line = serde_json::to_vec(&error_object(err)).unwrap_or_default();
    line.push(b'\n');
    Bytes::from(line)
}

fn line_of(value: &Value) -> Bytes {
    let mut line = serde_json::to_vec(value).unwrap_or_default();
    line.push(b'\n');
    Bytes::from(line)
}

/// Newline-delimited JSON, all known now.
pub fn all_lines(values: impl IntoIterator<Item = Value>) -> HttpResponse {
    let body: Vec<u8> = values.into_iter().flat_map(|v| line_of(&v)).collect();
    ndjson_head().body(body)
}

fn ndjson_head() -> actix_web::HttpResponseBuilder {
    let mut res = HttpResponse::Ok();
    res.content_type("application/json")
        .insert_header(("X-Chunked-Output", "1"))
        .insert_header((header::TRAILER, "X-Stream-Error"));
    super::compress::stored(&mut res);
    res
}

/// Newline-delimited JSON from a stream. The head waits for the first item, so a command that
/// fails before it produced anything answers with a real error status; a later failure is
/// the stream's last line.
pub async fn lines<S>(mut items: S) -> Result<HttpResponse, ApiError>
where
    S: Stream<Item = Result<Value, ApiError>> + Unpin + 'static,
{
    let first = match items.next().await {
        None => return Ok(all_lines([])),
        Some(Err(e)) => return Err(e),
        Some(Ok(v)) => v,
    };
    // after an error line, nothing more
    let rest = items.scan(false, |failed, item| {
        let line = match item {
            _ if *failed => None,
            Ok(v) => Some(Ok::<_, Error>(line_of(&v))),
            Err(e) => {
                *failed = true;
                Some(Ok(error_line(&e)))
            }
        };
        futures_util::future::ready(line)
    });
    let body = futures_util::stream::once(async move { Ok(line_of(&first)) }).chain(rest);
    Ok(ndjson_head().streaming(body))
}

/// Bytes (`cat`, `block/get`, `get`, `dag/export`): `X-Stream-Output`, and when the length is
/// known, `X-Content-Length` as Kubo sends it. A read that fails part-way cuts the stream
/// (a byte answer has no room for an error line); the client sees a short body.
pub fn bytes(content_type: &'static str, length: Option<u64>) -> actix_web::HttpResponseBuilder {
    let mut res = HttpResponse::Ok();
    super::compress::stored(&mut res)
        .content_type(content_type)
        .insert_header(("X-Stream-Output", "1"))
        .insert_header((header::TRAILER, "X-Stream-Error"));
    if let Some(n) = length {
        res.insert_header(("X-Content-Length", n.to_string()));
    }
    res
}
