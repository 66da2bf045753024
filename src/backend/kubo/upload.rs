//! The multipart body of a Kubo `add`, written as the parts arrive.
//!
//! Each part becomes one `file` part the way Kubo's own clients send them: the path
//! percent-encoded in `filename`, `application/octet-stream` for files,
//! `application/x-directory` for directories, `application/symlink` (body: the target) for
//! symlinks. Kubo reads a directory's entries after the directory's own part, so a parent not
//! declared by the client is declared here, once, before its first entry.
//!
//! js-ipfs refuses an add whose first part is a directory ("Unexpected input: object") and
//! builds the tree from the files' paths whatever the order, so for it ([`Directories::
//! AfterAFile`]) directory parts are held back until a file has gone, and dropped when a file
//! already implied them; only the empty ones remain.
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

/// How directory parts are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Directories {
    /// Kubo: as they come, and every parent declared before its first entry.
    Declared,
    /// js-ipfs: never first, and only those no file implies.
    AfterAFile,
}

/// The body and its `Content-Type`; `unnamed` is set when a file part has no name.
pub(super) fn multipart(
    parts: AddParts,
    watch: UploadWatch,
    unnamed: Arc<AtomicBool>,
    directories: Directories,
) -> (reqwest::Body, String) {
    let boundary = format!("ipfs-mcp-{}", uuid::Uuid::new_v4().simple());
    let content_type = format!("multipart/form-data; boundary={boundary}");
    let state = State {
        parts,
        watch: watch.clone(),
        unnamed,
        boundary,
        declared: HashSet::new(),
        directories,
        held: Vec::new(),
        sent_file: false,
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
    /// Directories the node has been told of (or, for js-ipfs, that a sent file implies).
    declared: HashSet<String>,
    directories: Directories,
    /// js-ipfs: directory parts waiting for the first file.
    held: Vec<String>,
    sent_file: bool,
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

    fn directory_part(&self, path: &str) -> [Bytes; 2] {
        [
            self.head(path, "application/x-directory"),
            Bytes::from_static(b"\r\n"),
        ]
    }

    /// The parent directories of `path` not declared yet, outermost first (for Kubo; for
    /// js-ipfs they are only noted as implied).
    fn declare_parents(&mut self, path: &str) -> Vec<Bytes> {
        let mut out = Vec::new();
        let mut at = 0;
        while let Some(i) = path[at..].find('/') {
            let parent = &path[..at + i];
            if self.declared.insert(parent.to_string()) && self.directories == Directories::Declared
            {
                out.extend(self.directory_part(parent));
            }
            at += i + 1;
        }
        out
    }

    /// js-ipfs: the held directories no sent file implies, now that one may go.
    fn release_held(&mut self) -> Vec<Bytes> {
        let mut out = Vec::new();
        for d in std::mem::take(&mut self.held) {
            if self.declared.insert(d.clone()) {
                out.extend(self.directory_part(&d));
            }
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
                let mut last = self.release_held();
                last.push(Bytes::from(format!("--{}--\r\n", self.boundary)));
                let done = self.watch.done.clone();
                let end = futures_util::stream::iter(last.into_iter().map(Ok));
                return Some(
                    end.chain(futures_util::stream::once(async move {
                        done.notify_one();
                        Ok(Bytes::new())
                    }))
                    .boxed(),
                );
            }
            Some(Err(e)) => return Some(self.fail(e)),
            Some(Ok(part)) => part,
        };
        let (path, content_type, body): (String, &str, Chunks) = match part {
            AddPart::Directory { path } => {
                let path = path.to_string();
                if self.directories == Directories::AfterAFile {
                    if !self.sent_file {
                        self.held.push(path);
                        return Some(once(Bytes::new()));
                    }
                    if self.declared.contains(&path) {
                        return Some(once(Bytes::new()));
                    }
                }
                self.declared.insert(path.clone());
                (path, "application/x-directory", once(Bytes::new()))
            }
            AddPart::Symlink { path, target } => (
                path.to_string(),
                "application/symlink",
                once(Bytes::from(target)),
            ),
            AddPart::File { path, data } => {
                let path = match path {
                    Some(p) => p.to_string(),
                    None => {
                        self.unnamed.store(true, Ordering::Relaxed);
                        "file".to_string()
                    }
                };
                (path, "application/octet-stream", self.watch.counted(data))
            }
        };
        let mut pieces = self.declare_parents(&path);
        pieces.push(self.head(&path, content_type));
        let head = futures_util::stream::iter(pieces.into_iter().map(Ok)).boxed();
        let mut after = vec![Bytes::from_static(b"\r\n")];
        if content_type != "application/x-directory" {
            self.sent_file = true;
            after.extend(self.release_held());
        }
        let after = futures_util::stream::iter(after.into_iter().map(Ok));
        Some(head.chain(body).chain(after).boxed())
    }

    fn fail(&mut self, e: BackendError) -> Chunks {
        self.finished = true;
        let message = e.to_string();
        *self.watch.input_error.lock() = Some(e);
        futures_util::stream::once(async move { Err(std::io::Error::other(message)) }).boxed()
    }
}
