//! Multipart uploads: the one file part, and a body that must end as multipart says it ends.
//!
//! A body cut off inside the file part, or after it without the closing delimiter, or with a
//! second file, is an error (400), never a shorter file stored as if whole: the stream handed
//! to the importer yields the error before it ends, so nothing is acknowledged. Parts that are
//! not files (form fields some clients send) are read and dropped, up to [`MAX_FIELD_BYTES`].

use super::error::ApiError;
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
