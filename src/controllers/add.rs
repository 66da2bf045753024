//! `POST ipfs/add`, `ipfs/add/json`, `ipfs/add/file`: content in, CID out, streamed.
//!
//! The body (multipart parts, raw `application/octet-stream`, or JSON `{content, filename}`)
//! is pumped through a bounded channel into the backend's importer, so memory use does not
//! grow with the upload. Sizes are enforced as bytes arrive (413), across all parts.
//!
//! Multipart takes Kubo's directory adds: many files, directories and symlinks, nested by
//! their `filename` paths ([`super::multipart::parts`]). The answer has one entry per file
//! and directory, the root last: the envelope's `entries`, or Kubo's NDJSON lines for
//! `Accept: application/x-ndjson`.

use super::error::ApiError;
use super::params::{Args, is_json};
use super::{AppState, Result, envelope};
use crate::backend::{AddOptions, Added, BackendError, ByteStream};
use crate::unixfs::ImportOptions;
use actix_multipart::Multipart;
use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use serde_json::json;
use std::collections::HashMap;

/// How many body chunks may queue ahead of the importer.
const PUMP_DEPTH: usize = 32;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Accept {
    Any,
    JsonOnly,
    MultipartOnly,
}

#[utoipa::path(post, path = "/api/v0/mcp/ipfs/add", tag = "add", params(crate::controllers::openapi::args::AddArgs), request_body(content((crate::controllers::openapi::args::AddForm = "multipart/form-data"), (crate::controllers::openapi::Binary = "application/octet-stream"), (crate::controllers::openapi::args::AddJsonBody = "application/json"))), responses(crate::controllers::openapi::answers::Json))]
pub async fn add(
    req: HttpRequest,
    payload: web::Payload,
    query: web::Query<HashMap<String, String>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    handle(req, payload, query.into_inner(), state, Accept::Any).await
}

#[utoipa::path(post, path = "/api/v0/mcp/ipfs/add/json", tag = "add", params(crate::controllers::openapi::args::AddArgs), request_body(content = crate::controllers::openapi::args::AddJsonBody, content_type = "application/json"), responses(crate::controllers::openapi::answers::Json))]
pub async fn add_json(
    req: HttpRequest,
    payload: web::Payload,
    query: web::Query<HashMap<String, String>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    handle(req, payload, query.into_inner(), state, Accept::JsonOnly).await
}

#[utoipa::path(post, path = "/api/v0/mcp/ipfs/add/file", tag = "add", params(crate::controllers::openapi::args::AddArgs), request_body(content = crate::controllers::openapi::args::AddForm, content_type = "multipart/form-data"), responses(crate::controllers::openapi::answers::Json))]
pub async fn add_file(
    req: HttpRequest,
    payload: web::Payload,
    query: web::Query<HashMap<String, String>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    handle(
        req,
        payload,
        query.into_inner(),
        state,
        Accept::MultipartOnly,
    )
    .await
}

pub(crate) fn options(args: &Args, file_name: Option<String>) -> Result<AddOptions> {
    let raw_leaves = args
        .str(&["raw-leaves", "raw_leaves"])
        .map(|s| super::params::parse_bool("raw-leaves", &s))
        .transpose()?;
    let file_name = file_name.or_else(|| args.str(&["filename", "name"]));
    let import = ImportOptions::from_params(
        args.str(&["cid-version", "cid_version"]).as_deref(),
        raw_leaves,
        args.str(&["chunker"]).as_deref(),
        args.bool(&["wrap-with-directory", "wrap_with_directory"], false)?,
        file_name,
    )
    .map_err(|e| ApiError::bad_request(e.to_string()))?;
    Ok(AddOptions {
        import,
        pin: args.bool(&["pin"], true)?,
        only_hash: args.bool(&["only-hash", "only_hash"], false)?,
    })
}

async fn handle(
    req: HttpRequest,
    payload: web::Payload,
    query: HashMap<String, String>,
    state: web::Data<AppState>,
    accept: Accept,
) -> Result<HttpResponse> {
    let limit = state.settings.limits.max_upload_bytes;
    super::request::reject_declared_over(&req, limit)?;
    let ctype = super::request::content_type(&req);
    let multipart = ctype.starts_with("multipart/form-data");
    let json = !multipart && is_json(&req) && !ctype.is_empty();
    let raw = ctype.starts_with("application/octet-stream");
    let added = match accept {
        Accept::MultipartOnly if !multipart => {
            return Err(ApiError::unsupported_media("expected multipart/form-data"));
        }
        Accept::JsonOnly if !json => {
            return Err(ApiError::unsupported_media("expected application/json"));
        }
        _ if multipart => add_multipart(&req, payload, &query, &state, limit).await?,
        _ if json => add_from_json(&req, payload, query, &state).await?,
        _ if raw => {
            let opts = options(&Args::query_only(query), None)?;
            add_stream(payload, opts, &state, limit).await?
        }
        _ => {
            return Err(ApiError::unsupported_media(
                "expected multipart/form-data, application/json or application/octet-stream",
            ));
        }
    };
    Ok(render(&req, &state, &added))
}

/// The envelope (entries as a JSON array, the root last), or Kubo's NDJSON lines, one per
/// entry, when the client asks for `application/x-ndjson`.
fn render(req: &HttpRequest, state: &AppState, added: &Added) -> HttpResponse {
    let wants_lines = req
        .headers()
        .get(actix_web::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/x-ndjson"));
    if wants_lines {
        let mut body = String::new();
        for entry in &added.entries {
            body.push_str(&serde_json::to_string(entry).unwrap_or_default());
            body.push('\n');
        }
        let mut res = HttpResponse::Ok()
            .content_type("application/x-ndjson")
            .insert_header(("X-Chunked-Output", "1"))
            .body(body);
        super::authn::audit_cid(&mut res, added.root.to_string());
        return res;
    }
    let mut res = envelope::ok(req, state.model.simulated(), fields(added));
    super::authn::audit_cid(&mut res, added.root.to_string());
    res
}

/// What an add answers (besides the envelope).
pub(crate) fn fields(added: &Added) -> serde_json::Value {
    let cid = added.root.to_string();
    let mut fields = json!({
        "cid": cid,
        "Hash": cid,
        "Name": added.name,
        "Size": added.dag_size.to_string(),
        "content_size_bytes": added.content_size,
        "pinned": added.pinned,
    });
    fields["entries"] = serde_json::to_value(&added.entries).unwrap_or_default();
    fields
}

/// Every part of a multipart add (files, directories, symlinks), streamed into the model.
async fn add_multipart(
    req: &HttpRequest,
    payload: web::Payload,
    query: &HashMap<String, String>,
    state: &AppState,
    limit: u64,
) -> Result<Added> {
    let mut multipart = Multipart::new(req.headers(), payload.into_inner());
    let first = super::multipart::first_file(&mut multipart).await?;
    let opts = options(&Args::query_only(query.clone()), None)?;
    let (pump, parts) = super::multipart::parts(multipart, first, limit);
    Ok(drive(pump, state.model.add_parts(parts, opts)).await?)
}

async fn add_from_json(
    req: &HttpRequest,
    payload: web::Payload,
    query: HashMap<String, String>,
    state: &AppState,
) -> Result<Added> {
    let max = state.settings.limits.max_json_bytes;
    let body = read_limited(payload, max).await?;
    let args = Args::from_request(req, &body, query)?;
    add_inline(state, &args, None).await
}

/// Adds `content` (text, or any JSON value as its text), `content_base64`, or the bytes of
/// `source` (`ipfs://<cid>[/path]` or `/ipfs/...`, streamed, to import again with these
/// options) as one file, with the add options in `args`.
pub(crate) async fn add_inline(
    state: &AppState,
    args: &Args,
    progress: Option<super::ops::Progress>,
) -> Result<Added> {
    let opts = options(args, None)?;
    if let Some(source) = args.str(&["source"]) {
        let path = source.trim();
        let path = path.strip_prefix("ipfs://").unwrap_or(path);
        let file = state.model.open_file(path).await?;
        let node = state.model.node();
        let input = node
            .cat(&crate::backend::ContentPath::new(file.cid), 0, None)
            .await?;
        let input = super::ops::counted(input, progress, Some(file.size));
        return Ok(state.model.add(input, opts).await?);
    }
    let content = match (args.value("content"), args.str(&["content_base64"])) {
        (Some(serde_json::Value::String(s)), _) => Bytes::from(s.clone()),
        (Some(other), _) if !other.is_null() => Bytes::from(other.to_string()),
        (_, Some(b64)) => {
            use base64::Engine;
            Bytes::from(
                base64::engine::general_purpose::STANDARD
                    .decode(b64.trim())
                    .map_err(|e| ApiError::bad_request(format!("content_base64: {e}")))?,
            )
        }
        _ => return Err(ApiError::missing_field("content")),
    };
    let total = content.len() as u64;
    // in chunk-sized slices (no copies), so progress moves as the importer takes them
    let step = crate::unixfs::options::DEFAULT_CHUNK_SIZE;
    let slices: Vec<_> = (0..content.len())
        .step_by(step)
        .map(|at| Ok(content.slice(at..(at + step).min(content.len()))))
        .collect();
    let input: ByteStream = futures_util::stream::iter(slices).boxed();
    let input = super::ops::counted(input, progress, Some(total));
    Ok(state.model.add(input, opts).await?)
}

/// Reads a small body (JSON) with a hard limit.
pub async fn read_limited(mut payload: web::Payload, limit: usize) -> Result<Bytes> {
    let mut buf = bytes::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::bad_request(format!("reading body: {e}")))?;
        if buf.len() + chunk.len() > limit {
            return Err(ApiError::too_large(limit as u64));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

/// Pumps a (non-`Send`) actix body stream into the backend's importer through a channel.
async fn add_stream<S, E>(
    source: S,
    opts: AddOptions,
    state: &AppState,
    limit: u64,
) -> Result<Added>
where
    S: Stream<Item = std::result::Result<Bytes, E>> + Unpin,
    E: std::fmt::Display + std::fmt::Debug,
{
    let (pump, input) = pumped(source, limit);
    Ok(drive(pump, state.model.add(input, opts)).await?)
}

/// Runs a [`pumped`] body alongside the work that consumes it. A body that fails (malformed
/// chunked encoding, a client that stops mid-way, over the limit) is answered at once with its
/// error: actix closes a connection whose body it cannot parse right after the poll in which it
/// noticed, so an answer that waited for the consumer to wind down would never be sent.
pub async fn drive<T>(
    pump: impl std::future::Future<Output = std::result::Result<(), BackendError>>,
    work: impl std::future::Future<Output = std::result::Result<T, BackendError>>,
) -> std::result::Result<T, BackendError> {
    use futures_util::future::{Either, select};
    let (pump, work) = (std::pin::pin!(pump), std::pin::pin!(work));
    match select(pump, work).await {
        Either::Left((Err(e), _)) => Err(e),
        Either::Left((Ok(()), work)) => work.await,
        Either::Right((result, _)) => result,
    }
}

/// Turns a (non-`Send`) actix body stream into a [`ByteStream`] the model can hand to the
/// backend, enforcing `limit` (413). The returned future moves the bytes and must run alongside
/// whatever consumes the stream (see [`drive`]; bounded: backpressure is preserved). It ends
/// with the body's first error; the stream then yields an error too, so a consumer can never
/// mistake a body cut short for a whole one, whichever of the two notices first.
pub fn pumped<S, E>(
    source: S,
    limit: u64,
) -> (
    impl std::future::Future<Output = std::result::Result<(), BackendError>>,
    ByteStream,
)
where
    S: Stream<Item = std::result::Result<Bytes, E>> + Unpin,
    E: std::fmt::Display + std::fmt::Debug,
{
    pumped_counted(source, limit, Default::default())
}

/// [`pumped`] for one of several streams sharing one `limit`: `seen` counts across them.
pub fn pumped_counted<S, E>(
    source: S,
    limit: u64,
    seen: std::rc::Rc<std::cell::Cell<u64>>,
) -> (
    impl std::future::Future<Output = std::result::Result<(), BackendError>>,
    ByteStream,
)
where
    S: Stream<Item = std::result::Result<Bytes, E>> + Unpin,
    E: std::fmt::Display + std::fmt::Debug,
{
    let (tx, rx) =
        tokio::sync::mpsc::channel::<std::result::Result<Bytes, BackendError>>(PUMP_DEPTH);
    let whole = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let seen_whole = whole.clone();
    let pump = async move {
        let mut source = source;
        loop {
            let failure = match source.next().await {
                None => {
                    whole.store(true, std::sync::atomic::Ordering::Release);
                    return Ok(());
                }
                Some(Ok(bytes)) => {
                    seen.set(seen.get() + bytes.len() as u64);
                    if seen.get() <= limit {
                        if tx.send(Ok(bytes)).await.is_err() {
                            // the consumer stopped reading: its own result says why
                            return Ok(());
                        }
                        continue;
                    }
                    BackendError::TooLarge { limit }
                }
                Some(Err(e)) => BackendError::Input(format!("{e} ({e:?})")),
            };
            let _ = tx.try_send(Err(failure.clone()));
            return Err(failure);
        }
    };
    (pump, stream_from(rx, seen_whole))
}

/// The channel's items; its end is an end only if the pump saw the body's end.
pub fn stream_from<T: Send + 'static>(
    mut rx: tokio::sync::mpsc::Receiver<std::result::Result<T, BackendError>>,
    whole: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> futures_util::stream::BoxStream<'static, std::result::Result<T, BackendError>> {
    let mut ended = false;
    futures_util::stream::poll_fn(move |cx| {
        if ended {
            return std::task::Poll::Ready(None);
        }
        match rx.poll_recv(cx) {
            std::task::Poll::Ready(None) => {
                ended = true;
                if whole.load(std::sync::atomic::Ordering::Acquire) {
                    std::task::Poll::Ready(None)
                } else {
                    std::task::Poll::Ready(Some(Err(BackendError::Input(
                        "the request body ended before it was complete".into(),
                    ))))
                }
            }
            other => other,
        }
    })
    .boxed()
}

/// `POST stream/to-ipfs`: the raw request body, of any size and any content type, streamed
/// into the node as one file; answers like `ipfs/add` (the add's query parameters apply).
#[utoipa::path(post, path = "/api/v0/mcp/stream/to-ipfs", tag = "add", params(crate::controllers::openapi::args::AddArgs), request_body(content = crate::controllers::openapi::Binary, content_type = "*/*", description = "The file, any type, any size"), responses(crate::controllers::openapi::answers::Json))]
pub async fn to_ipfs(
    req: HttpRequest,
    payload: web::Payload,
    query: web::Query<HashMap<String, String>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let limit = state.settings.limits.max_upload_bytes;
    super::request::reject_declared_over(&req, limit)?;
    let opts = options(&Args::query_only(query.into_inner()), None)?;
    let added = add_stream(payload, opts, &state, limit).await?;
    Ok(render(&req, &state, &added))
}
