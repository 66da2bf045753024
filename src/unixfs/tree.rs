//! Directory adds: many files, directories and symlinks in one import, rendered as Kubo does.
//!
//! [`TreeImport`] is fed the parts of an upload in order (a file's bytes stream through the
//! file [`Importer`] as they arrive; only names and CIDs are kept per entry) and, at the end,
//! renders every directory bottom-up. What it reports follows Kubo's `add` output: each file
//! as it completes, then the directories, children before parents, the root last.
//!
//! A directory is a plain dag-pb node (links sorted by name, `Data` = UnixFS directory) unless
//! its estimated size passes Kubo's `HAMTShardingSize` (256 KiB), in which case it becomes a
//! HAMT ([`super::hamt`]). The estimate is the JS importer's default (`links-bytes`, what
//! Kubo's `unixfs-v0-2015` profile uses): the sum over entries of name bytes plus CID bytes,
//! where a sub-directory that has entries of its own counts nothing (the importer has no CID
//! for it yet when it decides), and the split happens when the sum is strictly greater.
//!
//! Paths are checked before anything is placed: every component must be a valid entry name
//! ([`super::options::check_entry_name`]), and a path may be placed once (a second file at
//! the same path, a file where a directory is, or a file under a file is an error, never a
//! silent overwrite).

use super::hamt::{self, HamtError, Link, Rendered};
use super::importer::Importer;
use super::options::{ImportOptions, check_entry_name};
use super::{Block, DAG_PB, cid_of, varint};
use bytes::Bytes;
use cid::{Cid, Version};
use ipld_dagpb::{PbLink, PbNode};
use std::collections::HashMap;

/// Kubo's `HAMTShardingSize`: a directory whose estimate passes this is sharded.
pub const SHARD_THRESHOLD: u64 = 256 * 1024;

/// UnixFS data of a plain directory (Type = Directory).
const DIRECTORY_DATA: [u8; 2] = [0x08, 0x01];

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TreeError {
    #[error("invalid path {0:?}: each component must be a name (not empty, '.' or '..')")]
    InvalidPath(String),
    #[error("{0:?} appears twice in the upload")]
    Duplicate(String),
    #[error("{0:?} is placed under {1:?}, which is a file")]
    UnderAFile(String, String),
    #[error("an unnamed file cannot be added beside other entries; give every part a file name")]
    Unnamed,
    #[error(transparent)]
    Hamt(#[from] HamtError),
}

/// A checked relative path: one or more entry names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryPath(Vec<String>);

impl EntryPath {
    /// Parses `a/b/c` (already percent-decoded). Leading `/`, `.`/`..` components, empty
    /// components and NUL are refused: nothing may land outside the upload's root.
    pub fn parse(raw: &str) -> Result<Self, TreeError> {
        let parts: Vec<String> = raw.split('/').map(str::to_owned).collect();
        if parts.iter().any(|p| check_entry_name(p).is_err()) {
            return Err(TreeError::InvalidPath(raw.to_string()));
        }
        Ok(Self(parts))
    }

    /// The path an uploaded part's `filename` gives, as Kubo reads it: percent-decoded once
    /// (clients encode it; a name that does not decode is taken as sent), `/`-separated. A
    /// browser's `C:\\dir\\a.txt` (backslashes, no `/`) keeps its last component. `Ok(None)`
    /// for no name at all.
    pub fn from_upload(raw: &str) -> Result<Option<Self>, TreeError> {
        if raw.is_empty() {
            return Ok(None);
        }
        let decoded = percent_encoding::percent_decode_str(raw)
            .decode_utf8()
            .map_or_else(|_| raw.to_string(), |d| d.into_owned());
        let path = if decoded.contains('\\') && !decoded.contains('/') {
            decoded.rsplit('\\').next().unwrap_or_default().to_string()
        } else {
            decoded
        };
        Self::parse(&path).map(Some)
    }

    pub fn components(&self) -> &[String] {
        &self.0
    }
}

impl std::fmt::Display for EntryPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.join("/"))
    }
}

/// One line of the add's output (Kubo's `Name`, `Hash`, `Size`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeEntry {
    pub path: String,
    pub cid: Cid,
    /// Cumulative DAG size.
    pub tsize: u64,
    pub kind: EntryKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File { content_size: u64 },
    Directory,
    Symlink,
}

enum Node {
    Leaf { cid: Cid, tsize: u64 },
    Dir(Dir),
}

#[derive(Default)]
struct Dir {
    /// Names in the order they were first placed (the output order).
    order: Vec<String>,
    children: HashMap<String, Node>,
    /// Declared by a directory part (a second declaration is a duplicate).
    declared: bool,
}

impl Dir {
    /// The directory at `path` (created as needed); `full` is for messages.
    fn dir_at(&mut self, path: &[String], full: &str) -> Result<&mut Dir, TreeError> {
        let mut dir = self;
        let mut walked = Vec::new();
        for name in path {
            walked.push(name.as_str());
            if !dir.children.contains_key(name) {
                dir.order.push(name.clone());
                dir.children.insert(name.clone(), Node::Dir(Dir::default()));
            }
            dir = match dir.children.get_mut(name) {
                Some(Node::Dir(d)) => d,
                _ => return Err(TreeError::UnderAFile(full.into(), walked.join("/"))),
            };
        }
        Ok(dir)
    }
}

/// Builds a directory tree from the parts of one upload.
pub struct TreeImport {
    options: ImportOptions,
    root: Dir,
    /// The file being imported: its path (`None`: unnamed) and importer.
    current: Option<(Option<EntryPath>, Importer)>,
    files: usize,
    unnamed: bool,
    entries: Vec<TreeEntry>,
    content_size: u64,
}

/// What a [`TreeImport`] produced.
#[derive(Debug, Clone)]
pub struct TreeSummary {
    /// Every entry in Kubo's output order; the last is the root.
    pub entries: Vec<TreeEntry>,
    /// The top-level entries (what a recursive pin must hold): the root when wrapped.
    pub roots: Vec<Cid>,
    pub content_size: u64,
}

impl TreeImport {
    pub fn new(options: ImportOptions) -> Self {
        Self {
            options,
            root: Dir::default(),
            current: None,
            files: 0,
            unnamed: false,
            entries: Vec::new(),
            content_size: 0,
        }
    }

    fn version(&self) -> Version {
        self.options.cid_version
    }

    /// Starts a file at `path` (`None`: an unnamed upload, named by its CID like Kubo's CLI).
    pub fn begin_file(&mut self, path: Option<EntryPath>) -> Result<(), TreeError> {
        if path.is_none() {
            self.unnamed = true;
        }
        if self.unnamed && self.files + usize::from(!self.root.order.is_empty()) > 0 {
            return Err(TreeError::Unnamed);
        }
        if let Some(p) = &path {
            self.check_free(p)?;
        }
        self.files += 1;
        let file = ImportOptions {
            wrap_with_directory: false,
            file_name: None,
            ..self.options.clone()
        };
        self.current = Some((path, Importer::new(file)));
        Ok(())
    }

    /// Fails if something is already placed at `path`, or a parent is a file.
    fn check_free(&mut self, path: &EntryPath) -> Result<(), TreeError> {
        let full = path.to_string();
        let (name, parents) = path.0.split_last().expect("paths are non-empty");
        let dir = self.root.dir_at(parents, &full)?;
        if dir.children.contains_key(name) {
            return Err(TreeError::Duplicate(full));
        }
        Ok(())
    }

    /// Content of the current file.
    pub fn push<E>(
        &mut self,
        data: &[u8],
        sink: &mut impl FnMut(Cid, Block) -> Result<(), E>,
    ) -> Result<(), E> {
        let (_, importer) = self.current.as_mut().expect("push after begin_file");
        importer.push(data, sink)
    }

    /// Content of the current file, as received (kept, not copied: [`Importer::push_bytes`]).
    pub fn push_bytes<E>(
        &mut self,
        data: Bytes,
        sink: &mut impl FnMut(Cid, Block) -> Result<(), E>,
    ) -> Result<(), E> {
        let (_, importer) = self.current.as_mut().expect("push after begin_file");
        importer.push_bytes(data, sink)
    }

    /// Completes the current file and places it.
    pub fn end_file<E>(
        &mut self,
        sink: &mut impl FnMut(Cid, Block) -> Result<(), E>,
    ) -> Result<Result<(), TreeError>, E> {
        let (path, importer) = self.current.take().expect("end_file after begin_file");
        let summary = importer.finish(sink)?;
        self.content_size += summary.content_size;
        let kind = EntryKind::File {
            content_size: summary.content_size,
        };
        Ok(self.place(path, summary.root, summary.dag_size, kind))
    }

    fn place(
        &mut self,
        path: Option<EntryPath>,
        cid: Cid,
        tsize: u64,
        kind: EntryKind,
    ) -> Result<(), TreeError> {
        let path = path.unwrap_or_else(|| EntryPath(vec![cid.to_string()]));
        let full = path.to_string();
        let (name, parents) = path.0.split_last().expect("paths are non-empty");
        let dir = self.root.dir_at(parents, &full)?;
        if dir.children.contains_key(name) {
            return Err(TreeError::Duplicate(full));
        }
        dir.order.push(name.clone());
        dir.children.insert(name.clone(), Node::Leaf { cid, tsize });
        self.entries.push(TreeEntry {
            path: full,
            cid,
            tsize,
            kind,
        });
        Ok(())
    }

    /// A directory part (possibly empty; its entries may follow in later parts).
    pub fn directory(&mut self, path: EntryPath) -> Result<(), TreeError> {
        if self.unnamed {
            return Err(TreeError::Unnamed);
        }
        let full = path.to_string();
        let dir = self.root.dir_at(&path.0, &full)?;
        if dir.declared {
            return Err(TreeError::Duplicate(full));
        }
        dir.declared = true;
        Ok(())
    }

    /// A symlink part: a UnixFS symlink node pointing at `target` (not followed).
    pub fn symlink<E>(
        &mut self,
        path: EntryPath,
        target: &str,
        sink: &mut impl FnMut(Cid, Block) -> Result<(), E>,
    ) -> Result<Result<(), TreeError>, E> {
        if self.unnamed {
            return Ok(Err(TreeError::Unnamed));
        }
        if let Err(e) = self.check_free(&path) {
            return Ok(Err(e));
        }
        let mut data = vec![0x08, 0x04, 0x12];
        varint(&mut data, target.len() as u64);
        data.extend_from_slice(target.as_bytes());
        let block = PbNode {
            links: Vec::new(),
            data: Some(Bytes::from(data)),
        }
        .into_bytes();
        let cid = cid_of(self.version(), DAG_PB, &block);
        let tsize = block.len() as u64;
        sink(cid, Block::from(block))?;
        Ok(self.place(Some(path), cid, tsize, EntryKind::Symlink))
    }

    /// Renders the directories (blocks to `sink`) and returns the whole output.
    pub fn finish<E>(
        mut self,
        sink: &mut impl FnMut(Cid, Block) -> Result<(), E>,
    ) -> Result<Result<TreeSummary, TreeError>, E> {
        let version = self.version();
        let root = std::mem::take(&mut self.root);
        let mut entries = std::mem::take(&mut self.entries);
        let roots = if self.options.wrap_with_directory {
            match render(root, String::new(), version, &mut entries, sink)? {
                Ok(r) => vec![r.cid],
                Err(e) => return Ok(Err(e)),
            }
        } else {
            let mut roots = Vec::new();
            let Dir {
                order,
                mut children,
                ..
            } = root;
            for name in order {
                match children.remove(&name).expect("ordered names exist") {
                    Node::Leaf { cid, .. } => roots.push(cid),
                    Node::Dir(d) => match render(d, name, version, &mut entries, sink)? {
                        Ok(r) => roots.push(r.cid),
                        Err(e) => return Ok(Err(e)),
                    },
                }
            }
            // the root is printed last: a top-level file added before a directory goes last
            if let Some(last) = roots.last()
                && entries.last().map(|e| e.cid) != Some(*last)
                && let Some(at) = entries
                    .iter()
                    .rposition(|e| e.cid == *last && !e.path.contains('/'))
            {
                let entry = entries.remove(at);
                entries.push(entry);
            }
            roots
        };
        Ok(Ok(TreeSummary {
            entries,
            roots,
            content_size: self.content_size,
        }))
    }
}

/// Renders `dir` at `path` (its sub-directories first), appending each directory's entry.
fn render<E>(
    dir: Dir,
    path: String,
    version: Version,
    entries: &mut Vec<TreeEntry>,
    sink: &mut impl FnMut(Cid, Block) -> Result<(), E>,
) -> Result<Result<Rendered, TreeError>, E> {
    let Dir {
        order,
        mut children,
        ..
    } = dir;
    let mut links = Vec::with_capacity(order.len());
    let mut estimate = 0u64;
    for name in order {
        let (cid, tsize, counts) = match children.remove(&name).expect("ordered names exist") {
            Node::Leaf { cid, tsize } => (cid, tsize, true),
            Node::Dir(sub) => {
                let empty = sub.order.is_empty();
                let sub_path = if path.is_empty() {
                    name.clone()
                } else {
                    format!("{path}/{name}")
                };
                match render(sub, sub_path, version, entries, sink)? {
                    Ok(r) => (r.cid, r.tsize, empty),
                    Err(e) => return Ok(Err(e)),
                }
            }
        };
        if counts {
            estimate += (name.len() + cid.encoded_len()) as u64;
        }
        links.push(Link { name, cid, tsize });
    }
    let rendered = if estimate > SHARD_THRESHOLD {
        match hamt::write(links, version, sink)? {
            Ok(r) => r,
            Err(e) => return Ok(Err(e.into())),
        }
    } else {
        flat(links, version, sink)?
    };
    entries.push(TreeEntry {
        path,
        cid: rendered.cid,
        tsize: rendered.tsize,
        kind: EntryKind::Directory,
    });
    Ok(Ok(rendered))
}

/// A plain directory node: links sorted by name (bytes), as dag-pb requires.
fn flat<E>(
    mut links: Vec<Link>,
    version: Version,
    sink: &mut impl FnMut(Cid, Block) -> Result<(), E>,
) -> Result<Rendered, E> {
    links.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
    let children: u64 = links.iter().map(|l| l.tsize).sum();
    let block = PbNode {
        links: links
            .into_iter()
            .map(|l| PbLink {
                cid: l.cid,
                name: Some(l.name),
                size: Some(l.tsize),
            })
            .collect(),
        data: Some(Bytes::from_static(&DIRECTORY_DATA)),
    }
    .into_bytes();
    let cid = cid_of(version, DAG_PB, &block);
    let tsize = block.len() as u64 + children;
    sink(cid, Block::from(block))?;
    Ok(Rendered { cid, tsize })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn import(parts: &[(&str, Option<&[u8]>)], wrap: bool) -> Result<TreeSummary, TreeError> {
        let options = ImportOptions {
            wrap_with_directory: wrap,
            ..Default::default()
        };
        let mut t = TreeImport::new(options);
        let mut sink = |_: Cid, _: Block| Ok::<(), ()>(());
        for (path, data) in parts {
            let p = EntryPath::parse(path)?;
            match data {
                Some(d) => {
                    t.begin_file(Some(p))?;
                    t.push(d, &mut sink).unwrap();
                    t.end_file(&mut sink).unwrap()?;
                }
                None => t.directory(p)?,
            }
        }
        t.finish(&mut sink).unwrap()
    }

    #[test]
    fn paths_that_leave_the_root_are_refused() {
        for bad in [
            "../x",
            "/etc/passwd",
            "a/../b",
            "a//b",
            "a/",
            ".",
            "",
            "a/./b",
        ] {
            assert!(EntryPath::parse(bad).is_err(), "{bad:?}");
        }
        assert!(EntryPath::parse("a/b c/ü.txt").is_ok());
    }

    #[test]
    fn upload_names_decode_once_and_keep_their_directories() {
        let of = |s: &str| EntryPath::from_upload(s).map(|p| p.map(|p| p.to_string()));
        assert_eq!(of(""), Ok(None));
        assert_eq!(of("dir/a.txt"), Ok(Some("dir/a.txt".into())));
        assert_eq!(of("dir%2Fa%20b.txt"), Ok(Some("dir/a b.txt".into())));
        assert_eq!(of("100%25.txt"), Ok(Some("100%.txt".into())));
        assert_eq!(of("100%.txt"), Ok(Some("100%.txt".into())));
        assert_eq!(of("C:\\dir\\a.txt"), Ok(Some("a.txt".into())));
        for bad in [
            "..",
            ".",
            "a/..",
            "/",
            "a/",
            "x\\..",
            "%2E%2E",
            "..%2Fetc",
            "/etc/passwd",
        ] {
            assert!(of(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn duplicates_and_files_as_parents_are_errors() {
        let dup = import(&[("a.txt", Some(b"1")), ("a.txt", Some(b"2"))], true);
        assert_eq!(dup.unwrap_err(), TreeError::Duplicate("a.txt".into()));
        let under = import(&[("a", Some(b"1")), ("a/b", Some(b"2"))], true);
        assert!(matches!(under, Err(TreeError::UnderAFile(..))));
        let dir_twice = import(&[("d", None), ("d", None)], false);
        assert_eq!(dir_twice.unwrap_err(), TreeError::Duplicate("d".into()));
        let file_on_dir = import(&[("d/x", Some(b"1")), ("d", Some(b"2"))], false);
        assert_eq!(file_on_dir.unwrap_err(), TreeError::Duplicate("d".into()));
    }

    #[test]
    fn output_lists_files_then_directories_with_the_root_last() {
        let s = import(
            &[
                ("d/a.txt", Some(b"a")),
                ("d/sub/b.txt", Some(b"b")),
                ("d/empty", None),
            ],
            false,
        )
        .unwrap();
        let paths: Vec<&str> = s.entries.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["d/a.txt", "d/sub/b.txt", "d/sub", "d/empty", "d"]);
        assert_eq!(s.roots, vec![s.entries.last().unwrap().cid]);
        let wrapped = import(&[("x", Some(b"x")), ("y", Some(b"y"))], true).unwrap();
        assert_eq!(wrapped.entries.last().unwrap().path, "");
        assert_eq!(wrapped.roots.len(), 1);
    }

    #[test]
    fn the_empty_directory_has_kubos_cid() {
        let s = import(&[("e", None)], false).unwrap();
        assert_eq!(
            s.entries[0].cid.to_string(),
            "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn"
        );
    }
}
