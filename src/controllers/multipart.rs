//! Multipart uploads: one file part ([`file_then_end`]: block/put, dag/put, dag/import), or
//! the many parts of a directory add ([`parts`]), and a body that must end as multipart says
//! it ends.
//!
//! A body cut off inside a part, or after it without the closing delimiter, is an error (400),
//! never a shorter file stored as if whole: the stream handed to the importer yields the
//! error before it ends, so nothing is acknowledged. Where one file is expected, a second is
//! a 400 too. Parts that are not files (form fields some clients send) are read and dropped,
//! up to [`MAX_FIELD_BYTES`].
//!
//! A directory add's parts are classified as Kubo's clients send them: `application/
//! x-directory` is a directory, `application/symlink` a symlink (its body, at most
//! [`MAX_FIELD_BYTES`], the target), anything else a file; the path is the part's
//! `filename`, percent-decoded once ([`EntryPath::from_upload`]).

use super::error::ApiError;
use crate::backend::{AddPart, AddParts, BackendError};
use crate::unixfs::tree::EntryPath;
use actix_multipart::{Field, Multipart, MultipartError};
use actix_web::http::StatusCode;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};

/// Why a multipart body was refused after the file part began (Debug shows the same words, so
/// a message that quotes both does not repeat itself in another form).
pub struct BodyError(String);

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::fmt::Debug for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("multipart")
    }
}

/// Largest non-file part read past (they are dropped, so they must be small).
pub const MAX_FIELD_BYTES: usize = 64 * 1024;

/// The words for a body the multipart parser refused.
fn malformed_text(e: impl std::fmt::Display) -> String {
    format!("malformed multipart body: {e}")
}

pub fn malformed(e: impl std::fmt::Display) -> ApiError {
    refused(malformed_text(e))
}

/// A 400 `malformed_multipart` with this message.
fn refused(message: String) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "malformed_multipart", message)
}

/// A part that carries a file: named `file`, or with a file name.
pub fn is_file(field: &Field) -> bool {
    field.name() == Some("file")
        || field
            .content_disposition()
            .and_then(|cd| cd.get_filename())
            .is_some()
}

/// Reads a non-file part to its end (bounded), so the parts after it can be read.
pub async fn skip(field: &mut Field) -> Result<(), String> {
    let mut seen = 0usize;
    while let Some(chunk) = field.next().await {
        seen += chunk.map_err(malformed_text)?.len();
        if seen > MAX_FIELD_BYTES {
            return Err(format!(
                "a form field over {MAX_FIELD_BYTES} bytes beside the file"
            ));
        }
    }
    Ok(())
}

/// The first file part, skipping form fields before it.
pub async fn first_file(parts: &mut Multipart) -> Result<Field, ApiError> {
    first_part(parts, is_file).await
}

/// The first part `wanted` accepts, skipping (bounded) the parts before it.
pub async fn first_part(
    parts: &mut Multipart,
    wanted: impl Fn(&Field) -> bool,
) -> Result<Field, ApiError> {
    loop {
        match parts.next().await {
            None => return Err(ApiError::missing_field("file")),
            Some(Err(e)) => return Err(malformed(e)),
            Some(Ok(mut field)) => {
                if wanted(&field) {
                    return Ok(field);
                }
                skip(&mut field).await.map_err(refused)?;
            }
        }
    }
}

/// Checks that nothing but form fields follows, up to a well-formed end of the body.
pub async fn rest_is_empty(parts: &mut Multipart) -> Result<(), String> {
    while let Some(next) = parts.next().await {
        let mut field = next.map_err(|e: MultipartError| malformed_text(e))?;
        if is_file(&field) {
            return Err(
                "several files in one upload are not supported here; send one file per request"
                    .into(),
            );
        }
        skip(&mut field).await?;
    }
    Ok(())
}

/// The file part's bytes, then (before the stream ends) the check that the body ends well.
pub fn file_then_end(
    parts: Multipart,
    field: Field,
) -> impl Stream<Item = Result<Bytes, BodyError>> + Unpin {
    // the state: the body still being read, or `None` once it has failed
    Box::pin(futures_util::stream::unfold(
        Some((parts, field)),
        |stage| async move {
            let (mut parts, mut field) = stage?;
            match field.next().await {
                Some(Ok(bytes)) => Some((Ok(bytes), Some((parts, field)))),
                Some(Err(e)) => Some((Err(BodyError(malformed_text(e))), None)),
                None => {
                    drop(field);
                    match rest_is_empty(&mut parts).await {
                        Ok(()) => None,
                        Err(e) => Some((Err(BodyError(e)), None)),
                    }
                }
            }
        },
    ))
}

/// What a part of a directory add is.
enum PartKind {
    File,
    Directory,
    Symlink,
}

fn kind_of(field: &Field) -> PartKind {
    match field
        .content_type()
        .map(|m| m.essence_str().to_ascii_lowercase())
    {
        Some(t) if t == "application/x-directory" => PartKind::Directory,
        Some(t) if t == "application/symlink" => PartKind::Symlink,
        _ => PartKind::File,
    }
}

fn path_of(field: &Field) -> Result<Option<EntryPath>, BackendError> {
    let raw = field
        .content_disposition()
        .and_then(|cd| cd.get_filename())
        .unwrap_or_default();
    EntryPath::from_upload(raw).map_err(|e| BackendError::InvalidInput(e.to_string()))
}

/// A non-file part's body, bounded (a symlink's target).
async fn small_body(field: &mut Field) -> Result<Vec<u8>, BackendError> {
    let mut out = Vec::new();
    while let Some(chunk) = field.next().await {
        let chunk = chunk.map_err(|e| BackendError::Input(malformed_text(e)))?;
        if out.len() + chunk.len() > MAX_FIELD_BYTES {
            return Err(BackendError::InvalidInput(format!(
                "a symlink target over {MAX_FIELD_BYTES} bytes"
            )));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// The parts of a directory add, from `first` (the first file part, found by the caller so
/// that a body without one is a 422 before anything starts) to the body's end. The future
/// moves the bytes and must run alongside the consumer ([`super::add::drive`]); all files
/// together are held to `limit`. The stream ends cleanly only if the body did.
pub fn parts(
    mut multipart: Multipart,
    first: Field,
    limit: u64,
) -> (
    impl std::future::Future<Output = Result<(), BackendError>>,
    AddParts,
) {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<AddPart, BackendError>>(1);
    let whole = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stream = super::add::stream_from(rx, whole.clone());
    let pump = async move {
        let seen = std::rc::Rc::new(std::cell::Cell::new(0u64));
        let mut next = Some(first);
        let result: Result<(), BackendError> = async {
            loop {
                let mut field = match next.take() {
                    Some(f) => f,
                    None => match multipart.next().await {
                        None => return Ok(()),
                        Some(Err(e)) => return Err(BackendError::Input(malformed_text(e))),
                        Some(Ok(f)) => f,
                    },
                };
                if !is_file(&field) {
                    skip(&mut field).await.map_err(BackendError::Input)?;
                    continue;
                }
                let path = path_of(&field)?;
                let named = |path: Option<EntryPath>| {
                    path.ok_or_else(|| {
                        BackendError::InvalidInput(
                            "a directory or symlink part needs a file name (its path)".into(),
                        )
                    })
                };
                let part = match kind_of(&field) {
                    PartKind::Directory => {
                        skip(&mut field).await.map_err(BackendError::Input)?;
                        AddPart::Directory { path: named(path)? }
                    }
                    PartKind::Symlink => {
                        let target =
                            String::from_utf8(small_body(&mut field).await?).map_err(|_| {
                                BackendError::InvalidInput("a symlink target is not UTF-8".into())
                            })?;
                        AddPart::Symlink {
                            path: named(path)?,
                            target,
                        }
                    }
                    PartKind::File => {
                        let (pump, data) =
                            super::add::pumped_counted(&mut field, limit, seen.clone());
                        if tx.send(Ok(AddPart::File { path, data })).await.is_err() {
                            return Ok(()); // the consumer stopped: its result says why
                        }
                        pump.await?;
                        continue;
                    }
                };
                if tx.send(Ok(part)).await.is_err() {
                    return Ok(());
                }
            }
        }
        .await;
        match result {
            Ok(()) => {
                whole.store(true, std::sync::atomic::Ordering::Release);
                Ok(())
            }
            Err(e) => {
                let _ = tx.try_send(Err(e.clone()));
                Err(e)
            }
        }
    };
    (pump, stream)
}
