//! `add`, `cat`, `get`, `ls`, `refs` and `files/stat` (of `/ipfs/` paths) in Kubo's shapes.

use super::{Call, bytes, content_path, lines};
use crate::backend::{AddPart, AddParts, ContentPath};
use crate::controllers::error::ApiError;
use crate::controllers::{AppState, Result, multipart, request};
use crate::models::dag_walk::{DagWalk, Step, WalkOptions};
use crate::models::listing;
use actix_multipart::Multipart;
use actix_web::body::SizedStream;
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;
use serde_json::{Value, json};

/// How many answer lines (progress, entries) may wait for a slow client.
const LINES_AHEAD: usize = 64;
/// A progress line at most every this many bytes of a file (Kubo reports each chunk).
const PROGRESS_EVERY: u64 = 256 * 1024;

/// Import options Kubo has that this importer does not: refused, never silently ignored
/// (they would change the CIDs or the meaning).
fn refuse_unsupported(call: &Call) -> Result<()> {
    let o = &call.options;
    if let Some(hash) = o.str(&["hash"])
        && hash != "sha2-256"
    {
        return Err(ApiError::bad_request(format!(
            "hash {hash:?} is not supported: only sha2-256"
        )));
    }
    for name in ["trickle", "nocopy", "inline", "fscache"] {
        if call.flag(name, false)? {
            return Err(ApiError::bad_request(format!(
                "{name}=true is not supported by this node's importer"
            )));
        }
    }
    if o.str(&["to-files"]).is_some() {
        return Err(ApiError::bad_request(
            "to-files needs the mutable filesystem, which this node does not have yet",
        ));
    }
    Ok(())
}

/// `add`: the multipart parts (files, directories, symlinks) streamed into the model; one line
/// per entry, the root last (`quieter`: the root only), and with `progress`, `{Name, Bytes}`
/// lines while the bytes arrive.
pub async fn add(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let call = Call::of(&req)?;
    let limit = state.settings.limits.max_upload_bytes;
    request::reject_declared_over(&req, limit)?;
    super::require_multipart(&req, "the files (argument \"path\" is required)")?;
    refuse_unsupported(&call)?;
    let opts = crate::controllers::add::options(&call.options, None)?;
    let progress = call.flag("progress", false)?;
    let root_only = call.flag("quieter", false)? || call.flag("silent", false)?;
    let mut body = Multipart::new(req.headers(), payload.into_inner());
    let first = multipart::first_file(&mut body).await?;
    let (pump, parts) = multipart::parts(body, first, limit);
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Value>>(LINES_AHEAD);
    let parts = if progress {
        with_progress(parts, tx.clone())
    } else {
        parts
    };
    let model = state.model.clone();
    // runs on this worker (the body is not `Send`) while the answer streams
    actix_web::rt::spawn(async move {
        let added = crate::controllers::add::drive(pump, model.add_parts(parts, opts)).await;
        match added {
            Ok(added) => {
                let skip = if root_only {
                    added.entries.len().saturating_sub(1)
                } else {
                    0
                };
                for entry in added.entries.iter().skip(skip) {
                    let line = serde_json::to_value(entry).unwrap_or_default();
                    if tx.send(Ok(line)).await.is_err() {
                        return;
                    }
                }
            }
            Err(e) => {
                let _ = tx.send(Err(e.into())).await;
            }
        }
    });
    lines(tokio_stream(rx)).await
}

fn tokio_stream<T: 'static>(
    mut rx: tokio::sync::mpsc::Receiver<T>,
) -> futures_util::stream::LocalBoxStream<'static, T> {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)).boxed_local()
}

/// The parts with each file's bytes counted into `{Name, Bytes}` lines. A line that does not
/// fit (the client reads slowly) is skipped: the next one carries the new total.
fn with_progress(parts: AddParts, tx: tokio::sync::mpsc::Sender<Result<Value>>) -> AddParts {
    parts
        .map(move |part| match part {
            Ok(AddPart::File { path, data }) => {
                let name = path.as_ref().map(ToString::to_string).unwrap_or_default();
                let tx = tx.clone();
                let (mut seen, mut told) = (0u64, 0u64);
                let data = data
                    .inspect(move |chunk| {
                        if let Ok(chunk) = chunk {
                            seen += chunk.len() as u64;
                            if seen - told >= PROGRESS_EVERY || told == 0 {
                                told = seen;
                                let _ = tx.try_send(Ok(json!({"Name": name, "Bytes": seen})));
                            }
                        }
                    })
                    .boxed();
                Ok(AddPart::File { path, data })
            }
            other => other,
        })
        .boxed()
}

/// `cat <path> [offset] [length]`: the file's bytes, from the cache tiers when they have it.
pub async fn cat(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse> {
    let call = Call::of(&req)?;
    let path = content_path(&state, call.arg("ipfs-path")?).await?;
    let offset = call.options.u64(&["offset"])?.unwrap_or(0);
    let length = call.options.u64(&["length"])?;
    let model = &state.model;
    let (file, cached, tier) = model.open_cached(&path).await?;
    if offset > file.size {
        return Err(ApiError::bad_request(format!(
            "offset {offset} is past the end of the {}-byte file",
            file.size
        )));
    }
    let len = length.map_or(file.size - offset, |l| l.min(file.size - offset));
    let mut res = bytes("text/plain", Some(len));
    res.insert_header(("X-Cache-Tier", tier.as_str()));
    if let Some(data) = cached {
        let content_type = model.content_types.of(&file.cid, file.size, &data);
        model.record_read(&file, tier, Some(content_type));
        return Ok(res.body(data.slice(offset as usize..(offset + len) as usize)));
    }
    let stream = model
        .node()
        .cat(&ContentPath::new(file.cid), offset, Some(len))
        .await?;
    model.record_read(&file, tier, model.content_types.known(&file.cid));
    Ok(res.body(SizedStream::new(len, stream)))
}

/// `get <path> [compress] [compression-level]`: the path as a TAR archive (as Kubo's API
/// always answers `get`), gzipped on request.
pub async fn get(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse> {
    let call = Call::of(&req)?;
    let path: ContentPath = content_path(&state, call.arg("ipfs-path")?)
        .await?
        .parse()?;
    let level = match call.options.u64(&["compression-level"])? {
        None => 6,
        Some(l @ 1..=9) => l as u32,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "compression-level {other}: must be 1 to 9"
            )));
        }
    };
    let model = &state.model;
    let walked = model.resolve(&path).await?;
    let entries = crate::models::tar::plan(model.node(), walked.cid, walked.block).await?;
    let archive = crate::models::tar::stream(model.backend(), entries);
    if call.flag("compress", false)? {
        return Ok(bytes("application/gzip", None).streaming(gzipped(archive, level)));
    }
    Ok(bytes("application/x-tar", None).streaming(archive))
}

/// A byte stream gzipped as it goes (each chunk compressed and passed on, none held back
/// beyond the encoder's window).
fn gzipped(input: crate::backend::ByteStream, level: u32) -> crate::backend::ByteStream {
    use flate2::{Compression, write::GzEncoder};
    use std::io::Write;
    let encoder = GzEncoder::new(Vec::new(), Compression::new(level));
    futures_util::stream::unfold((input, Some(encoder)), |(mut input, encoder)| async move {
        let mut encoder = encoder?;
        let io = |e: std::io::Error| crate::backend::BackendError::Internal(format!("gzip: {e}"));
        match input.next().await {
            Some(Ok(chunk)) => {
                let out = encoder
                    .write_all(&chunk)
                    .map(|()| bytes::Bytes::from(std::mem::take(encoder.get_mut())))
                    .map_err(io);
                Some((out, (input, Some(encoder))))
            }
            Some(Err(e)) => Some((Err(e), (input, None))),
            None => Some((
                encoder.finish().map(bytes::Bytes::from).map_err(io),
                (input, None),
            )),
        }
    })
    .boxed()
}

/// `ls <path>...`: each path's entries with their type and size (read from each child's
/// root block, as Kubo's `resolve-type` does); a file lists as itself with no links.
pub async fn ls(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse> {
    let call = Call::of(&req)?;
    call.arg("ipfs-path")?;
    let mut objects = Vec::new();
    for arg in &call.args {
        let path: ContentPath = content_path(&state, arg).await?.parse()?;
        let links: Vec<Value> = listing::list(&state.model, &path)
            .await?
            .into_iter()
            .map(|e| {
                json!({"Name": e.name, "Hash": e.cid.to_string(), "Size": e.size,
                       "Type": e.kind as u8, "Target": ""})
            })
            .collect();
        objects.push(json!({"Hash": arg, "Links": links}));
    }
    Ok(super::one(json!({ "Objects": objects })))
}

/// `refs <path>... [recursive] [unique] [max-depth] [edges] [format]`: the CIDs each path's
/// DAG links to, streamed as the walk reads blocks.
pub async fn refs(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse> {
    let call = Call::of(&req)?;
    call.arg("ipfs-path")?;
    let recursive = call.flag("recursive", false)?;
    let max_depth = match call.options.str(&["max-depth"]) {
        Some(d) if d.trim() != "-1" => Some(
            d.trim()
                .parse::<usize>()
                .map_err(|_| ApiError::bad_request("max-depth must be an integer"))?,
        ),
        _ if recursive => None,
        _ => Some(1),
    };
    let options = WalkOptions {
        max_depth,
        unique: call.flag("unique", false)?,
    };
    let edges = call.flag("edges", false)?;
    let format = call
        .options
        .str(&["format"])
        .unwrap_or_else(|| if edges { "<src> -> <dst>" } else { "<dst>" }.into());
    let mut roots = Vec::new();
    for arg in &call.args {
        let path: ContentPath = content_path(&state, arg).await?.parse()?;
        roots.push(state.model.resolve(&path).await?.cid);
    }
    let backend = state.model.backend();
    let walks = futures_util::stream::iter(roots).flat_map(move |root| {
        let format = format.clone();
        DagWalk::new(backend.clone(), root, options)
            .into_stream()
            .flat_map(move |step| {
                let lines: Vec<Result<Value>> = match step {
                    Step::Block { cid, links, .. } => links
                        .iter()
                        .map(|dst| {
                            let text = format
                                .replace("<src>", &cid.to_string())
                                .replace("<dst>", &dst.to_string())
                                .replace("<linkname>", "");
                            Ok(json!({"Ref": text, "Err": ""}))
                        })
                        .collect(),
                    Step::Missing { error, .. } => vec![Err(error.into())],
                };
                futures_util::stream::iter(lines)
            })
    });
    lines(walks.boxed_local()).await
}

/// `files/stat /ipfs/<path>`: what it names (the mutable filesystem's own paths are #15's).
pub async fn files_stat(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse> {
    let call = Call::of(&req)?;
    let arg = call.arg("path")?;
    if !arg.starts_with("/ipfs/") && !arg.starts_with("/ipns/") {
        return Err(ApiError::new(
            actix_web::http::StatusCode::NOT_IMPLEMENTED,
            "not_implemented",
            format!("{arg}: this node has no mutable filesystem yet; only /ipfs/ paths"),
        ));
    }
    let path: ContentPath = content_path(&state, arg).await?.parse()?;
    let stat = listing::stat(&state.model, &path).await?;
    Ok(super::one(json!({
        "Hash": stat.cid.to_string(), "Size": stat.size, "CumulativeSize": stat.cumulative_size,
        "Blocks": stat.blocks, "Type": stat.kind.name(),
    })))
}
