//! API keys: created with their scopes, optional rate and expiry; stored hashed
//! (`persistence::credentials`), compared in constant time, listed and revoked.
//!
//! A key reads `imcp_<id>_<secret>`: the id (12 hex digits) finds the record without hashing
//! against every key, the secret (256 random bits, base64url) is what is checked. The id is
//! not secret: it names the key in listings, tokens (`sub`) and the audit log.

use super::AuthError;
use super::scope::{Rate, Scopes};
use crate::models::worker_memo;
use crate::persistence::credentials::{JsonFile, hex, hex_into};
use base64::Engine;
use parking_lot::RwLock;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

pub const KEY_PREFIX: &str = "imcp_";

/// A stored key: everything but its secret.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct KeyRecord {
    pub id: String,
    pub name: String,
    pub scopes: Scopes,
    /// Its own request rate (else the configured default).
    pub rate: Option<Rate>,
    pub burst: Option<u32>,
    pub created_ms: i64,
    pub expires_ms: Option<i64>,
    pub revoked_ms: Option<i64>,
    /// Hex SHA-256 of the whole key string.
    pub secret_sha256: String,
}

impl KeyRecord {
    /// Whether the key may be used at `now_ms`.
    pub fn check_usable(&self, now_ms: i64) -> Result<(), AuthError> {
        if self.revoked_ms.is_some() {
            return Err(AuthError::Revoked("API key"));
        }
        if self.expires_ms.is_some_and(|e| e <= now_ms) {
            return Err(AuthError::Expired("API key"));
        }
        Ok(())
    }

    /// Whether the key may be used now (the clock is read only for a key that expires).
    pub fn check_usable_now(&self) -> Result<(), AuthError> {
        let now = match self.expires_ms {
            Some(_) => crate::persistence::metadata::now_ms(),
            None => 0,
        };
        self.check_usable(now)
    }
}

/// What `create` asks for.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewKey {
    pub name: String,
    /// Any of `read`, `write`, `pin`, `admin`.
    #[schema(value_type = Vec<String>)]
    pub scopes: Scopes,
    /// Its own rate, e.g. `600/min` (default: `auth.default_rate`).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub rate: Option<Rate>,
    #[serde(default)]
    pub burst: Option<u32>,
    /// Lifetime, e.g. `30d` (humantime).
    #[serde(default, with = "humantime_serde_opt")]
    #[schema(value_type = Option<String>)]
    pub expires_in: Option<Duration>,
}

mod humantime_serde_opt {
    use serde::{Deserialize, Deserializer};
    use std::time::Duration;
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|s| humantime::parse_duration(&s).map_err(serde::de::Error::custom))
            .transpose()
    }
}

fn hash_hex(key: &str) -> String {
    hex(&Sha256::digest(key.as_bytes()))
}

/// How often a running server looks at the key file for changes made by the CLI.
const RECHECK: Duration = Duration::from_secs(1);

struct State {
    by_id: BTreeMap<String, Arc<KeyRecord>>,
    modified: Option<SystemTime>,
}

/// A key this worker verified (a [`worker_memo`] entry): the next request with the same key string is compared with it
/// in constant time, without hashing (SHA-256 and its hex were 3% of an authenticated cached
/// cat) and without touching anything the other workers write. The record is this thread's own
/// copy: a shared `Arc` (and the ring's lock) had its count bounced between the two cores on
/// every request. Good while the ring's `generation` is the one it was made at.
struct Verified {
    ring: u64,
    generation: u64,
    presented: Box<str>,
    record: Arc<KeyRecord>,
}

thread_local! {
    static VERIFIED: std::cell::RefCell<Vec<Verified>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The keys, in memory and (with a data dir) in `keys.json`.
pub struct KeyRing {
    id: u64,
    file: Option<JsonFile>,
    state: RwLock<State>,
    /// Bumped after every change to the records (a reload, a create, a revoke).
    generation: AtomicU64,
    /// When the file is next looked at, in ms since `epoch`.
    next_check_ms: AtomicU64,
    epoch: Instant,
}

impl KeyRing {
    pub fn open(file: Option<JsonFile>) -> Result<Self, AuthError> {
        let (by_id, modified) = match &file {
            Some(f) => (Self::read(f)?, f.modified()),
            None => Default::default(),
        };
        Ok(Self {
            id: worker_memo::instance_id(),
            file,
            state: RwLock::new(State { by_id, modified }),
            generation: AtomicU64::new(0),
            next_check_ms: AtomicU64::new(RECHECK.as_millis() as u64),
            epoch: Instant::now(),
        })
    }

    fn read(file: &JsonFile) -> Result<BTreeMap<String, Arc<KeyRecord>>, AuthError> {
        let keys: Vec<KeyRecord> = file.load()?.unwrap_or_default();
        Ok(keys
            .into_iter()
            .map(|k| (k.id.clone(), Arc::new(k)))
            .collect())
    }

    /// Re-reads the file if it changed since we last looked (at most once per `RECHECK`).
    fn refresh(&self) {
        let Some(file) = &self.file else { return };
        // read without the lock: two workers taking it for every request bounce its cache line
        let now = self.epoch.elapsed().as_millis() as u64;
        if now < self.next_check_ms.load(Ordering::Relaxed) {
            return;
        }
        let mut state = self.state.write();
        self.next_check_ms
            .store(now + RECHECK.as_millis() as u64, Ordering::Relaxed);
        let modified = file.modified();
        if modified != state.modified {
            match Self::read(file) {
                Ok(by_id) => {
                    state.by_id = by_id;
                    state.modified = modified;
                    self.generation.fetch_add(1, Ordering::Release);
                }
                // keep the keys we have: a half-edited file must not lock everyone out
                Err(e) => tracing::warn!(error = %e, "cannot reload the API keys"),
            }
        }
    }

    /// The record of a presented key, if the secret matches (constant-time).
    pub fn verify(&self, presented: &str) -> Result<Arc<KeyRecord>, AuthError> {
        let id = presented
            .strip_prefix(KEY_PREFIX)
            .and_then(|rest| rest.split_once('_'))
            .map(|(id, _)| id)
            .ok_or(AuthError::Malformed("not an ipfs-mcp API key"))?;
        self.refresh();
        // read before the records: a change after this makes the memo entry stale, not wrong
        let generation = self.generation.load(Ordering::Acquire);
        let remembered = VERIFIED.with_borrow(|memo| {
            memo.iter()
                .find(|v| v.ring == self.id && v.record.id == id)
                .filter(|v| {
                    v.generation == generation
                        && constant_time_eq::constant_time_eq(
                            v.presented.as_bytes(),
                            presented.as_bytes(),
                        )
                })
                .map(|v| v.record.clone())
        });
        if let Some(record) = remembered {
            return Ok(record);
        }
        let record = self
            .state
            .read()
            .by_id
            .get(id)
            .ok_or(AuthError::Unknown)?
            .clone();
        let mut presented_hex = [0u8; 64];
        hex_into(&Sha256::digest(presented.as_bytes()), &mut presented_hex);
        if !constant_time_eq::constant_time_eq(&presented_hex, record.secret_sha256.as_bytes()) {
            return Err(AuthError::Unknown);
        }
        let own = Arc::new((*record).clone());
        let entry = Verified {
            ring: self.id,
            generation,
            presented: presented.into(),
            record: own.clone(),
        };
        VERIFIED.with_borrow_mut(|memo| {
            worker_memo::remember(memo, entry, |v| v.ring == self.id && v.record.id == id)
        });
        Ok(own)
    }

    /// A key by id (tokens name theirs in `sub`).
    pub fn get(&self, id: &str) -> Option<Arc<KeyRecord>> {
        self.refresh();
        self.state.read().by_id.get(id).cloned()
    }

    /// Applies `change` to the freshest keys (the file re-read first: the CLI may have written
    /// it) and saves them.
    fn update<T>(
        &self,
        change: impl FnOnce(&mut BTreeMap<String, Arc<KeyRecord>>) -> Result<T, AuthError>,
    ) -> Result<T, AuthError> {
        let mut state = self.state.write();
        if let Some(file) = &self.file {
            state.by_id = Self::read(file)?;
        }
        let out = change(&mut state.by_id)?;
        if let Some(file) = &self.file {
            file.save(&state.by_id.values().map(|k| &**k).collect::<Vec<_>>())?;
            state.modified = file.modified();
        }
        self.generation.fetch_add(1, Ordering::Release);
        let next = self.epoch.elapsed() + RECHECK;
        self.next_check_ms
            .store(next.as_millis() as u64, Ordering::Relaxed);
        Ok(out)
    }

    /// A new key: its record and the key itself (shown once, never stored).
    pub fn create(&self, new: NewKey, now_ms: i64) -> Result<(KeyRecord, String), AuthError> {
        if new.name.trim().is_empty() || new.name.len() > 128 {
            return Err(AuthError::Invalid(
                "a key needs a name of 1 to 128 characters".into(),
            ));
        }
        let mut raw = [0u8; 38];
        getrandom::fill(&mut raw).map_err(|e| AuthError::Internal(e.to_string()))?;
        let id = hex(&raw[..6]);
        let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&raw[6..]);
        let key = format!("{KEY_PREFIX}{id}_{secret}");
        let record = KeyRecord {
            id: id.clone(),
            name: new.name.trim().to_string(),
            scopes: new.scopes,
            rate: new.rate,
            burst: new.burst,
            created_ms: now_ms,
            expires_ms: new
                .expires_in
                .map(|d| now_ms.saturating_add(d.as_millis() as i64)),
            revoked_ms: None,
            secret_sha256: hash_hex(&key),
        };
        self.update(|keys| {
            keys.insert(id, Arc::new(record.clone()));
            Ok(())
        })?;
        Ok((record, key))
    }

    /// Marks a key revoked (kept, so listings and the audit log still name it).
    pub fn revoke(&self, id: &str, now_ms: i64) -> Result<KeyRecord, AuthError> {
        self.update(|keys| {
            let record = Arc::make_mut(keys.get_mut(id).ok_or(AuthError::NoSuchKey)?);
            record.revoked_ms.get_or_insert(now_ms);
            Ok(record.clone())
        })
    }

    pub fn list(&self) -> Vec<KeyRecord> {
        self.refresh();
        self.state
            .read()
            .by_id
            .values()
            .map(|k| (**k).clone())
            .collect()
    }
}
