//! Kubo's `add` parameters, parsed and validated once, before any byte is read.

use cid::Version;

/// Kubo refuses chunks larger than this (`ChunkSizeLimit` in boxo); so do we.
pub const MAX_CHUNK_SIZE: usize = 1024 * 1024;
/// Kubo's default chunk size (`size-262144`).
pub const DEFAULT_CHUNK_SIZE: usize = 256 * 1024;
/// Kubo's balanced layout puts at most this many links in one node.
pub const MAX_LINKS: usize = 174;

/// How a byte stream becomes a DAG. Mirrors `ipfs add` flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportOptions {
    /// Fixed chunk size in bytes (`chunker=size-N`).
    pub chunk_size: usize,
    /// CID version of dag-pb nodes (`cid-version`).
    pub cid_version: Version,
    /// Leaves as raw blocks (codec 0x55, always CIDv1) instead of dag-pb UnixFS nodes.
    pub raw_leaves: bool,
    /// Wrap the file in a directory holding one entry named after the file.
    pub wrap_with_directory: bool,
    /// Name of the file (the multipart file name or `filename`); used as the entry name when
    /// wrapping and echoed as `Name`.
    pub file_name: Option<String>,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            chunk_size: DEFAULT_CHUNK_SIZE,
            cid_version: Version::V0,
            raw_leaves: false,
            wrap_with_directory: false,
            file_name: None,
        }
    }
}

/// A parameter that Kubo would also refuse.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OptionsError {
    #[error("unsupported cid-version {0}: must be 0 or 1")]
    CidVersion(String),
    #[error("invalid chunker {0:?}: expected size-N with 1 <= N <= {MAX_CHUNK_SIZE}")]
    Chunker(String),
    #[error("invalid file name {0:?}: must be non-empty, not '.' or '..', with no '/' or NUL")]
    FileName(String),
}

impl ImportOptions {
    /// Builds options from Kubo's query parameters, applying Kubo's rule that CIDv1 implies raw
    /// leaves unless `raw-leaves` is given explicitly.
    pub fn from_params(
        cid_version: Option<&str>,
        raw_leaves: Option<bool>,
        chunker: Option<&str>,
        wrap_with_directory: bool,
        file_name: Option<String>,
    ) -> Result<Self, OptionsError> {
        let cid_version = match cid_version.map(str::trim) {
            None | Some("") | Some("0") => Version::V0,
            Some("1") => Version::V1,
            Some(other) => return Err(OptionsError::CidVersion(other.to_string())),
        };
        let raw_leaves = raw_leaves.unwrap_or(cid_version == Version::V1);
        let chunk_size = match chunker {
            None | Some("") => DEFAULT_CHUNK_SIZE,
            Some(spec) => parse_chunker(spec)?,
        };
        if let Some(name) = &file_name {
            check_entry_name(name)?;
        }
        Ok(Self {
            chunk_size,
            cid_version,
            raw_leaves,
            wrap_with_directory,
            file_name,
        })
    }
}

/// A name that may stand as one entry of a UnixFS directory. `.` and `..` would make a listing
/// (and any path walk) point outside the directory; `/` would make it two names; NUL ends C
/// strings in other tools. Kubo refuses the same names.
pub fn check_entry_name(name: &str) -> Result<(), OptionsError> {
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\0']) {
        return Err(OptionsError::FileName(name.to_string()));
    }
    Ok(())
}

/// Parses `size-N`. Kubo also knows `rabin` and `buzhash`; we say so instead of silently
/// producing different CIDs.
fn parse_chunker(spec: &str) -> Result<usize, OptionsError> {
    let bad = || OptionsError::Chunker(spec.to_string());
    let size = spec.strip_prefix("size-").ok_or_else(bad)?;
    let size: usize = size.parse().map_err(|_| bad())?;
    if size == 0 || size > MAX_CHUNK_SIZE {
        return Err(bad());
    }
    Ok(size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cid_v1_implies_raw_leaves_unless_explicit() {
        let o = ImportOptions::from_params(Some("1"), None, None, false, None).unwrap();
        assert!(o.raw_leaves);
        let o = ImportOptions::from_params(Some("1"), Some(false), None, false, None).unwrap();
        assert!(!o.raw_leaves);
        let o = ImportOptions::from_params(None, Some(true), None, false, None).unwrap();
        assert_eq!(o.cid_version, Version::V0);
        assert!(o.raw_leaves);
    }

    #[test]
    fn chunker_is_validated() {
        let ok = |s| ImportOptions::from_params(None, None, Some(s), false, None);
        assert_eq!(ok("size-1024").unwrap().chunk_size, 1024);
        assert!(ok("size-0").is_err());
        assert!(ok("size-1048577").is_err());
        assert!(ok("rabin").is_err());
        assert!(ok("size-abc").is_err());
        assert!(ImportOptions::from_params(Some("2"), None, None, false, None).is_err());
    }

    #[test]
    fn entry_names_that_leave_the_directory_are_refused() {
        for bad in ["", ".", "..", "a/b", "/", "a\0b"] {
            let named = ImportOptions::from_params(None, None, None, true, Some(bad.into()));
            assert_eq!(named, Err(OptionsError::FileName(bad.into())), "{bad:?}");
        }
        for good in ["a", "...", ".hidden", "a..b", "name with spaces", "ünï"] {
            assert!(check_entry_name(good).is_ok(), "{good:?}");
        }
    }
}
