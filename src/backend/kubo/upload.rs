//! The multipart body of a Kubo `add`, written as the parts arrive.
//!
//! Each part becomes one `file` part the way Kubo's own clients send them: the path
//! percent-encoded in `filename`, `application/octet-stream` for files,
//! `application/x-directory` for directories, `application/symlink` (body: the target) for
//! symlinks. Kubo reads a directory's entries after the directory's own part, so a parent not
//! declared by the client is declared here, once, before its first entry.
//!
//! The body counts content bytes and keeps the caller's first error in the [`UploadWatch`]
//! (the node then sees a broken upload; the caller sees its own error), and tells the watch
//! when the last byte has gone.

use super::UploadWatch;
use crate::backend::{AddPart, AddParts, BackendError};
use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// What may stand raw in a `filename` (as `encodeURIComponent` leaves it, plus `/`).
const PATH: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'/');

type Chunks = BoxStream<'static, Result<Bytes, std::io::Error>>;

/// The body and its `Content-Type`; `unnamed` is set when a file part has no name.
pub(super) fn multipart(
    parts: AddParts,
    watch: UploadWatch,
    unnamed: Arc<AtomicBool>,
) -> (reqwest::Body, String) {
    let boundary = format!("ipfs-mcp-{}", uuid::Uuid::new_v4().simple());
    let content_type = format!("multipart/form-data; boundary={boundary}");
    let state = State {
        parts,
        watch: watch.clone(),
        unnamed,
        boundary,
        declared: HashSet::new(),
        finished: false,
    };
    let body = futures_util::stream::unfold(state, |mut s| async move {
        let next = s.next_part().await?;
        Some((next, s))
    })
    .flatten();
    (reqwest::Body::wrap_stream(body), content_type)
}

struct State {
    parts: AddParts,
    watch: UploadWatch,
    unnamed: Arc<AtomicBool>,
    boundary: String,
    /// Directories the node has been told of.
    declared: HashSet<String>,
    finished: bool,
}

fn once(bytes: Bytes) -> Chunks {
    futures_util::stream::once(async move { Ok(bytes) }).boxed()
}

impl State {
    fn head(&self, path: &str, content_type: &str) -> Bytes {
        let name = percent_encoding::utf8_percent_encode(path, PATH);
        Bytes::from(format!(
            "--{}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
             Content-Type: {content_type}\r\n\r\n",
            self.boundary
        ))
    }

    /// The parent directories of `path` not declared yet, outermost first.
    fn declare_parents(&mut self, path: &str) -> Vec<Bytes> {
        let mut out = Vec::new();
        let mut at = 0;
        while let Some(i) = path[at..].find('/') {
            let parent = &path[..at + i];
            if self.declared.insert(parent.to_string()) {
                out.push(self.head(parent, "application/x-directory"));
                out.push(Bytes::from_static(b"\r\n"));
            }
            at += i + 1;
        }
        out
    }

    /// The bytes of the next part (or the closing delimiter), `None` once all is sent.
    async fn next_part(&mut self) -> Option<Chunks> {
        if self.finished {
            return None;
        }
        let part = match self.parts.next().await {
            None => {
                self.finished = true;
                let end = Bytes::from(format!("--{}--\r\n", self.boundary));
                let done = self.watch.done.clone();
                return Some(
                    futures_util::stream::once(async move {
                        done.notify_one();
                        Ok(end)
                    })
                    .boxed(),
                );
            }
            Some(Err(e)) => return Some(self.fail(e)),
            Some(Ok(part)) => part,
        };
        let (path, content_type, body): (String, &str, Chunks) = match part {
            AddPart::Directory { path } => {
                let path = path.to_string();
                self.declared.insert(path.clone());
                (path, "application/x-directory", once(Bytes::new()))
            }
            AddPart::Symlink { path, target } => {
                (path.to_string(), "application/symlink", once(Bytes::from(target)))
            }
            AddPart::File { path, data } => {
                let path = match path {
                    Some(p) => p.to_string(),
                    None => {
                        self.unnamed.store(true, Ordering::Relaxed);
                        "file".to_string()
                    }
                };
                (path, "application/octet-stream", self.counted(data))
            }
        };
        let mut pieces = self.declare_parents(&path);
        pieces.push(self.head(&path, content_type));
        let head = futures_util::stream::iter(pieces.into_iter().map(Ok)).boxed();
        Some(head.chain(body).chain(once(Bytes::from_static(b"\r\n"))).boxed())
    }

    /// A file's bytes, counted; the caller's error is kept for the caller.
    fn counted(&self, data: crate::backend::ByteStream) -> Chunks {
        let (counted, failure) = (self.watch.bytes.clone(), self.watch.input_error.clone());
        data.map(move |item| match item {
            Ok(bytes) => {
                counted.fetch_add(bytes.len() as u64, Ordering::Relaxed);
                Ok(bytes)
            }
            Err(e) => {
                let message = e.to_string();
                *failure.lock() = Some(e);
                Err(std::io::Error::other(message))
            }
        })
        .boxed()
    }

    fn fail(&mut self, e: BackendError) -> Chunks {
        self.finished = true;
        let message = e.to_string();
        *self.watch.input_error.lock() = Some(e);
        futures_util::stream::once(async move { Err(std::io::Error::other(message)) }).boxed()
    }
}
