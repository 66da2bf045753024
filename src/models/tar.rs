//! TAR out of a UnixFS DAG (the gateway's `?format=tar`), streamed.
//!
//! [`plan`] walks the directories first (plain or sharded: names and CIDs only, file roots
//! for their sizes) and refuses a tree whose names would leave the archive's root (`../foo`:
//! names are joined and `..` resolved, and nothing may climb above the root entry), so a bad
//! tree is an error before the first byte. [`stream`] then writes each entry: a header (the
//! `tar` crate's, GNU long names included), the file's bytes as the backend streams them,
//! and the padding to 512 bytes; two zero blocks end the archive. One file is read at a time.
//!
//! The root entry is named by the CID asked for (Kubo's layout): a file is `<cid>`, a
//! directory `<cid>/` with its entries below it. Symlinks are symlink entries (their target
//! is not followed).

use crate::backend::{Backend, BackendError, ByteStream, ContentPath, resolve};
use crate::unixfs::reader::{NodeKind, describe};
use bytes::Bytes;
use cid::Cid;
use futures_util::StreamExt;
use std::sync::Arc;

/// One entry of the archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TarEntry {
    /// Path inside the archive (`/`-separated, starting with the root's CID).
    pub path: String,
    pub kind: TarKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TarKind {
    Directory,
    File { cid: Cid, size: u64 },
    Symlink(String),
}

/// `base` joined with the entry name `name` (which may hold `/`), `..` resolved; `None` if
/// it climbs above `root_len` components.
fn join(base: &[String], name: &str, root_len: usize) -> Option<Vec<String>> {
    let mut out = base.to_vec();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if out.len() <= root_len {
                    return None;
                }
                out.pop();
            }
            p => out.push(p.to_string()),
        }
    }
    Some(out)
}

/// The entries of the archive of `root` (whose block is `block`), in depth-first order.
pub async fn plan(
    backend: &dyn Backend,
    root: Cid,
    block: Bytes,
) -> Result<Vec<TarEntry>, BackendError> {
    let mut out = Vec::new();
    // (cid, its block, its path in the archive)
    let mut stack = vec![(root, block, vec![root.to_string()])];
    while let Some((cid, block, path)) = stack.pop() {
        let kind = match describe(&cid, &block) {
            NodeKind::File { size } => TarKind::File { cid, size },
            NodeKind::Directory => {
                let listed = resolve::list(cid, &block, |c| resolve::load(backend, c))
                    .await?
                    .unwrap_or_default();
                let mut children = Vec::new();
                for entry in listed {
                    let child = join(&path, &entry.name, 1).ok_or_else(|| {
                        BackendError::InvalidInput(format!(
                            "{cid} has an entry named {:?}, which leaves the archive's root",
                            entry.name
                        ))
                    })?;
                    let block = resolve::load(backend, entry.cid).await?;
                    children.push((entry.cid, block, child));
                }
                stack.extend(children.into_iter().rev());
                TarKind::Directory
            }
            NodeKind::Other => match crate::unixfs::unixfs_data(&block) {
                Some((crate::unixfs::SYMLINK, target)) => {
                    TarKind::Symlink(String::from_utf8_lossy(&target).into_owned())
                }
                _ => {
                    return Err(BackendError::InvalidInput(format!(
                        "{cid} is not a UnixFS file, directory or symlink"
                    )));
                }
            },
        };
        out.push(TarEntry {
            path: path.join("/"),
            kind,
        });
    }
    Ok(out)
}

/// The header bytes (GNU long-name records included) of one entry.
fn header(entry: &TarEntry) -> Result<Bytes, BackendError> {
    let bad = |e: std::io::Error| BackendError::Internal(format!("tar header: {e}"));
    let mut h = tar::Header::new_gnu();
    h.set_mtime(0);
    h.set_uid(0);
    h.set_gid(0);
    let mut builder = tar::Builder::new(Vec::new());
    let path = match &entry.kind {
        TarKind::Directory => {
            h.set_entry_type(tar::EntryType::Directory);
            h.set_mode(0o755);
            h.set_size(0);
            format!("{}/", entry.path)
        }
        TarKind::File { size, .. } => {
            h.set_entry_type(tar::EntryType::Regular);
            h.set_mode(0o644);
            h.set_size(*size);
            entry.path.clone()
        }
        TarKind::Symlink(target) => {
            h.set_entry_type(tar::EntryType::Symlink);
            h.set_mode(0o777);
            h.set_size(0);
            builder
                .append_link(&mut h, &entry.path, target)
                .map_err(bad)?;
            return Ok(written(builder));
        }
    };
    // an empty reader: the file's bytes are streamed after the header, not copied here
    builder
        .append_data(&mut h, &path, std::io::empty())
        .map_err(bad)?;
    Ok(written(builder))
}

/// What the builder wrote, without the end-of-archive blocks `into_inner` would add.
fn written(mut builder: tar::Builder<Vec<u8>>) -> Bytes {
    Bytes::from(std::mem::take(builder.get_mut()))
}

/// Zero bytes that pad `size` to a 512-byte block.
fn padding(size: u64) -> Bytes {
    let rem = (size % 512) as usize;
    Bytes::from(vec![0u8; if rem == 0 { 0 } else { 512 - rem }])
}

/// The archive of `entries`, file bytes read from `backend` one file at a time.
pub fn stream(backend: Arc<dyn Backend>, entries: Vec<TarEntry>) -> ByteStream {
    let parts = futures_util::stream::iter(entries).then(move |entry| {
        let backend = backend.clone();
        async move {
            let head = header(&entry)?;
            let head = futures_util::stream::once(async move { Ok(head) }).boxed();
            Ok::<ByteStream, BackendError>(match entry.kind {
                TarKind::File { cid, size } if size > 0 => {
                    let body = backend.cat(&ContentPath::new(cid), 0, None).await?;
                    let pad = futures_util::stream::once(async move { Ok(padding(size)) });
                    head.chain(body).chain(pad).boxed()
                }
                _ => head,
            })
        }
    });
    let end = futures_util::stream::once(async { Ok(Bytes::from(vec![0u8; 1024])) });
    parts
        .map(|part| match part {
            Ok(stream) => stream,
            Err(e) => futures_util::stream::once(async move { Err(e) }).boxed(),
        })
        .flatten()
        .chain(end)
        .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_may_not_climb_above_the_root() {
        let base = vec!["root".to_string(), "a".to_string()];
        assert_eq!(join(&base, "b/../c", 1).unwrap(), ["root", "a", "c"]);
        assert_eq!(join(&base, "../x", 1).unwrap(), ["root", "x"]);
        assert!(join(&base, "../../x", 1).is_none());
        assert!(join(&["root".to_string()], "../foo", 1).is_none());
    }

    #[test]
    fn headers_are_whole_blocks_and_long_names_fit() {
        let file = TarEntry {
            path: format!("root/{}", "n".repeat(300)),
            kind: TarKind::File {
                cid: crate::unixfs::cid_of(cid::Version::V1, crate::unixfs::RAW, b"x"),
                size: 1,
            },
        };
        let h = header(&file).unwrap();
        assert_eq!(h.len() % 512, 0);
        assert!(h.len() > 512, "a GNU long-name record precedes the header");
        assert_eq!(padding(1).len(), 511);
        assert_eq!(padding(512).len(), 0);
    }
}
