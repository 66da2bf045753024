//! The files behind authentication, in `<data dir>/auth/` (mode 0700, every file 0600):
//!
//! * `keys.json`: the API keys, each with the SHA-256 of its secret, never the secret itself
//!   (a key is 256 random bits, so a plain hash is enough: there is nothing to brute-force).
//!   Rewritten whole (temporary file, fsync, rename), so a reader never sees half a file; the
//!   CLI (`ipfs-mcp keys ...`) and a running server share it (the server re-reads it when its
//!   modification time changes).
//! * `revoked.jsonl`: revoked token ids, one JSON line each, appended and fsynced before a
//!   revocation is acknowledged: revocation survives a restart.
//! * `jwt_secret`: the token signing secret, generated on first use when the configuration and
//!   environment give none.
//! * `audit.jsonl`: one line per authenticated mutating request (no secrets).
//!
//! Without a data dir (`--isolation`) everything is kept in memory only.

use super::PersistenceError;
use serde::{Serialize, de::DeserializeOwned};
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

fn storage(what: &str, path: &Path, e: impl std::fmt::Display) -> PersistenceError {
    PersistenceError::Storage(format!("{what} {}: {e}", path.display()))
}

/// `<data dir>/auth`, created with mode 0700.
pub fn auth_dir(data_dir: &Path) -> Result<PathBuf, PersistenceError> {
    let dir = data_dir.join("auth");
    fs::create_dir_all(&dir).map_err(|e| storage("cannot create", &dir, e))?;
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))
        .map_err(|e| storage("cannot restrict", &dir, e))?;
    Ok(dir)
}

fn private_options() -> OpenOptions {
    let mut o = OpenOptions::new();
    o.mode(0o600);
    o
}

/// A JSON document rewritten whole, atomically.
pub struct JsonFile {
    path: PathBuf,
}

impl JsonFile {
    pub fn new(path: PathBuf) -> Self {
        Self { path }
    }

    /// The document, or `None` when the file does not exist yet.
    pub fn load<T: DeserializeOwned>(&self) -> Result<Option<T>, PersistenceError> {
        match fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| storage("cannot parse", &self.path, e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(storage("cannot read", &self.path, e)),
        }
    }

    pub fn save<T: Serialize>(&self, doc: &T) -> Result<(), PersistenceError> {
        let bytes =
            serde_json::to_vec_pretty(doc).map_err(|e| storage("cannot encode", &self.path, e))?;
        write_private(&self.path, &bytes)
    }

    /// When the file last changed (`None`: it does not exist).
    pub fn modified(&self) -> Option<SystemTime> {
        fs::metadata(&self.path).and_then(|m| m.modified()).ok()
    }
}

/// Writes `bytes` to `path` whole or not at all (a temporary file beside it, mode 0600,
/// fsynced, renamed over it, the directory synced): a reader never sees half a file, and a file
/// that may hold secrets is never readable by others.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), PersistenceError> {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    let tmp = path.with_file_name(name);
    let mut f = private_options()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)
        .map_err(|e| storage("cannot create", &tmp, e))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(|e| storage("cannot write", &tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| storage("cannot replace", path, e))?;
    sync_parent(path);
    Ok(())
}

fn sync_parent(path: &Path) {
    if let Some(parent) = path.parent()
        && let Ok(dir) = File::open(parent)
    {
        let _ = dir.sync_all();
    }
}

/// An append-only file of JSON lines; each append is durable when it returns.
pub struct JsonLines {
    path: PathBuf,
    file: parking_lot::Mutex<Option<File>>,
}

impl JsonLines {
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            file: parking_lot::Mutex::new(None),
        }
    }

    /// Every line so far; a torn last line (a crash mid-append) is skipped.
    pub fn load<T: DeserializeOwned>(&self) -> Result<Vec<T>, PersistenceError> {
        let f = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(storage("cannot read", &self.path, e)),
        };
        let mut out = Vec::new();
        for line in BufReader::new(f).lines() {
            let line = line.map_err(|e| storage("cannot read", &self.path, e))?;
            if let Ok(v) = serde_json::from_str(&line) {
                out.push(v);
            }
        }
        Ok(out)
    }

    /// Appends one line; `durable`: fsync before returning.
    pub fn append<T: Serialize>(&self, record: &T, durable: bool) -> Result<(), PersistenceError> {
        let mut line =
            serde_json::to_vec(record).map_err(|e| storage("cannot encode", &self.path, e))?;
        line.push(b'\n');
        let mut guard = self.file.lock();
        if guard.is_none() {
            let f = private_options()
                .append(true)
                .create(true)
                .open(&self.path)
                .map_err(|e| storage("cannot open", &self.path, e))?;
            *guard = Some(f);
        }
        let f = guard.as_mut().expect("opened above");
        f.write_all(&line)
            .map_err(|e| storage("cannot append to", &self.path, e))?;
        if durable {
            f.sync_data()
                .map_err(|e| storage("cannot sync", &self.path, e))?;
        }
        Ok(())
    }
}

/// Lower-case hex of `bytes` into `out` (twice as long), by table: `format!` per byte was 7%
/// of an authenticated cached cat (key ids and secrets, `auth::keys`).
pub fn hex_into(bytes: &[u8], out: &mut [u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (b, pair) in bytes.iter().zip(out.chunks_exact_mut(2)) {
        pair[0] = DIGITS[usize::from(b >> 4)];
        pair[1] = DIGITS[usize::from(b & 15)];
    }
}

pub fn hex(bytes: &[u8]) -> String {
    let mut out = vec![0u8; bytes.len() * 2];
    hex_into(bytes, &mut out);
    String::from_utf8(out).expect("hex digits are ASCII")
}

/// The signing secret in `path`, created (32 random bytes, hex, mode 0600) when missing.
pub fn load_or_create_secret(path: &Path) -> Result<Vec<u8>, PersistenceError> {
    match fs::read_to_string(path) {
        Ok(text) if !text.trim().is_empty() => return Ok(text.trim().as_bytes().to_vec()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(storage("cannot read", path, e)),
    }
    let mut raw = [0u8; 32];
    getrandom::fill(&mut raw).map_err(|e| storage("no randomness for", path, e))?;
    let text = hex(&raw);
    let mut f = private_options()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| storage("cannot create", path, e))?;
    f.write_all(text.as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(|e| storage("cannot write", path, e))?;
    Ok(text.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_private_and_lines_survive_a_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        let auth = auth_dir(dir.path()).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&auth), 0o700);

        let doc = JsonFile::new(auth.join("keys.json"));
        assert!(doc.load::<Vec<u32>>().unwrap().is_none());
        doc.save(&vec![1u32, 2]).unwrap();
        assert_eq!(doc.load::<Vec<u32>>().unwrap(), Some(vec![1, 2]));
        assert_eq!(mode(&auth.join("keys.json")), 0o600);

        let lines = JsonLines::new(auth.join("revoked.jsonl"));
        lines.append(&"a", true).unwrap();
        lines.append(&"b", false).unwrap();
        let mut f = OpenOptions::new()
            .append(true)
            .open(auth.join("revoked.jsonl"))
            .unwrap();
        f.write_all(b"\"tor").unwrap();
        assert_eq!(lines.load::<String>().unwrap(), ["a", "b"]);
        assert_eq!(mode(&auth.join("revoked.jsonl")), 0o600);

        let secret = load_or_create_secret(&auth.join("jwt_secret")).unwrap();
        assert_eq!(secret.len(), 64);
        assert_eq!(
            load_or_create_secret(&auth.join("jwt_secret")).unwrap(),
            secret
        );
        assert_eq!(mode(&auth.join("jwt_secret")), 0o600);
    }
}
