//! Authentication and authorization (issue #13): API keys and JWTs carrying scopes.
//!
//! * [`keys::KeyRing`]: keys stored hashed, compared in constant time, shared with the CLI.
//! * [`tokens::TokenIssuer`]: HS256 tokens minted for a key, durable revocation by `jti`.
//! * [`scope`]: scopes, the access a route needs (the table sits next to the route table,
//!   `startup::ACCESS`), rates.
//!
//! A credential is resolved to a [`Principal`] on every request: a token is only as good as
//! the key it was minted for, so revoking or expiring a key also ends its tokens, and a
//! token's scopes are cut to the key's current ones. Audit lines (`audit.jsonl`) record
//! authenticated mutating requests by key id, never by secret.

pub mod keys;
pub mod scope;
pub mod tokens;

use crate::persistence::PersistenceError;
use crate::persistence::credentials::{self, JsonFile, JsonLines};
use crate::persistence::metadata::now_ms;
use keys::{KeyRecord, KeyRing, NewKey};
use scope::{Access, Rate, Scope, Scopes};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::Arc;
use tokens::{Claims, TokenIssuer};

/// The `[auth]` settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthOptions {
    /// Require credentials (off by default; refused off on a non-loopback address unless
    /// `--allow-unauthenticated`).
    pub enabled: bool,
    /// The token signing secret; else `IPFS_MCP_JWT_SECRET`, else one kept in the data dir.
    pub jwt_secret: Option<crate::secret::Secret>,
    /// Whether `/ipfs/` and `/ipns/` stay open to anyone with auth on.
    pub public_gateway: bool,
    /// Rate for keys without their own (and for anonymous clients, per address).
    pub default_rate: Rate,
    pub default_burst: u32,
    /// Lifetime of a minted token, in seconds, unless the request asks for less.
    pub token_ttl_secs: u64,
}

impl Default for AuthOptions {
    fn default() -> Self {
        Self {
            enabled: false,
            jwt_secret: None,
            public_gateway: true,
            default_rate: Rate {
                count: 600,
                per: std::time::Duration::from_secs(60),
            },
            default_burst: 50,
            token_ttl_secs: 3600,
        }
    }
}

/// The layer's one error type.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("credentials required")]
    Missing,
    #[error("malformed credentials: {0}")]
    Malformed(&'static str),
    #[error("unknown credentials")]
    Unknown,
    #[error("{0} expired")]
    Expired(&'static str),
    #[error("{0} revoked")]
    Revoked(&'static str),
    #[error("this credential lacks the {0:?} scope")]
    Forbidden(&'static str),
    #[error("no such key")]
    NoSuchKey,
    #[error("{0}")]
    Invalid(String),
    #[error("credential storage failed: {0}")]
    Storage(#[from] PersistenceError),
    #[error("internal error: {0}")]
    Internal(String),
}

/// How the caller proved who it is.
#[derive(Debug, Clone, PartialEq)]
pub enum Via {
    Key,
    Token { jti: String, exp: i64 },
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The key presented, or the one the token was minted for.
    pub key: Arc<KeyRecord>,
    /// What this request may do (a token's may be narrower than its key's).
    pub scopes: Scopes,
    pub via: Via,
}

impl Principal {
    fn of_key(key: Arc<KeyRecord>, scopes: Scopes, via: Via) -> Self {
        Self { key, scopes, via }
    }

    pub fn key_id(&self) -> &str {
        &self.key.id
    }
}

/// One audit line.
#[derive(Debug, Serialize, Deserialize)]
pub struct AuditEntry {
    pub time_ms: i64,
    pub key_id: String,
    pub method: String,
    pub route: String,
    pub cid: Option<String>,
    pub status: u16,
    pub client: Option<String>,
}

pub struct AuthModel {
    pub options: AuthOptions,
    pub keys: KeyRing,
    tokens: TokenIssuer,
    audit: Option<JsonLines>,
}

impl AuthModel {
    /// Opens the credentials in `data_dir/auth` (memory only without a data dir).
    pub fn open(options: AuthOptions, data_dir: Option<&Path>) -> Result<Self, AuthError> {
        let dir = data_dir.map(credentials::auth_dir).transpose()?;
        let configured = options
            .jwt_secret
            .as_ref()
            .map(|s| s.expose().to_string())
            .or_else(|| std::env::var("IPFS_MCP_JWT_SECRET").ok())
            .filter(|s| !s.is_empty());
        let secret = match (configured, &dir) {
            (Some(s), _) => s.into_bytes(),
            (None, Some(dir)) => credentials::load_or_create_secret(&dir.join("jwt_secret"))?,
            (None, None) => {
                let mut raw = [0u8; 32];
                getrandom::fill(&mut raw).map_err(|e| AuthError::Internal(e.to_string()))?;
                raw.to_vec()
            }
        };
        Ok(Self {
            keys: KeyRing::open(dir.as_ref().map(|d| JsonFile::new(d.join("keys.json"))))?,
            tokens: TokenIssuer::new(
                &secret,
                dir.as_ref()
                    .map(|d| JsonLines::new(d.join("revoked.jsonl"))),
            )?,
            audit: dir.as_ref().map(|d| JsonLines::new(d.join("audit.jsonl"))),
            options,
        })
    }

    /// Who presented `credential` (an API key or a token).
    pub fn authenticate(&self, credential: &str) -> Result<Principal, AuthError> {
        if credential.starts_with(keys::KEY_PREFIX) {
            let key = self.keys.verify(credential)?;
            key.check_usable_now()?;
            let scopes = key.scopes;
            return Ok(Principal::of_key(key, scopes, Via::Key));
        }
        if credential.matches('.').count() != 2 {
            return Err(AuthError::Malformed("neither an API key nor a token"));
        }
        let claims = self.tokens.verify(credential)?;
        // a token is only as good as its key, and never wider than the key is now
        let key = self.keys.get(&claims.sub).ok_or(AuthError::Unknown)?;
        key.check_usable_now()?;
        let claimed = Scopes::parse(&claims.scope).map_err(|_| AuthError::Malformed("scope"))?;
        let scopes = Scopes::of(
            &claimed
                .iter()
                .filter(|s| key.scopes.allows(*s))
                .collect::<Vec<_>>(),
        );
        let via = Via::Token {
            jti: claims.jti,
            exp: claims.exp,
        };
        Ok(Principal::of_key(key, scopes, via))
    }

    /// Whether a route needing `access` is open to anyone (its answers are public).
    pub fn is_open(&self, access: Access) -> bool {
        match access {
            Access::Public => true,
            Access::Gateway => self.options.public_gateway,
            Access::Authenticated | Access::Scoped(_) => false,
        }
    }

    /// Whether `principal` (None: anonymous) may use a route needing `access`.
    pub fn authorize(
        &self,
        access: Access,
        principal: Option<&Principal>,
    ) -> Result<(), AuthError> {
        if self.is_open(access) {
            return Ok(());
        }
        // open routes answered above: what is left needs a caller, and perhaps a scope
        let needed = match access {
            Access::Gateway => Some(Scope::Read),
            Access::Scoped(s) => Some(s),
            Access::Public | Access::Authenticated => None,
        };
        let principal = principal.ok_or(AuthError::Missing)?;
        match needed {
            Some(s) if !principal.scopes.allows(s) => Err(AuthError::Forbidden(s.as_str())),
            _ => Ok(()),
        }
    }

    /// A token for a key-authenticated caller, with `scopes` (default: all of the key's) and
    /// at most the configured lifetime.
    pub fn mint(
        &self,
        principal: &Principal,
        scopes: Option<Scopes>,
        ttl_secs: Option<u64>,
    ) -> Result<(String, Claims), AuthError> {
        if principal.via != Via::Key {
            return Err(AuthError::Invalid(
                "tokens are minted with an API key, not with another token".into(),
            ));
        }
        let scopes = scopes.unwrap_or(principal.scopes);
        if !principal.scopes.covers(scopes) {
            return Err(AuthError::Forbidden("requested"));
        }
        let ttl = ttl_secs
            .unwrap_or(self.options.token_ttl_secs)
            .clamp(1, self.options.token_ttl_secs.max(1));
        self.tokens.mint(principal.key_id(), scopes, now_ms(), ttl)
    }

    /// Revokes a token given whole (its own key's or, for `admin`, anyone's) or by `jti`
    /// (`admin` only: a bare id does not say whose it is).
    pub fn revoke_token(
        &self,
        principal: &Principal,
        token: Option<&str>,
        jti: Option<&str>,
    ) -> Result<String, AuthError> {
        let admin = principal.scopes.allows(Scope::Admin);
        let jti = match (token, jti) {
            (Some(token), _) => {
                let claims = self.tokens.decode_any(token)?;
                if claims.sub != principal.key_id() && !admin {
                    return Err(AuthError::Forbidden("admin"));
                }
                claims.jti
            }
            (None, Some(jti)) if admin => jti.to_string(),
            (None, Some(_)) => return Err(AuthError::Forbidden("admin")),
            (None, None) => return Err(AuthError::Invalid("give `token` or `jti`".into())),
        };
        self.tokens.revoke(&jti, now_ms())?;
        Ok(jti)
    }

    pub fn create_key(&self, new: NewKey) -> Result<(KeyRecord, String), AuthError> {
        self.keys.create(new, now_ms())
    }

    pub fn revoke_key(&self, id: &str) -> Result<KeyRecord, AuthError> {
        self.keys.revoke(id, now_ms())
    }

    /// Appends an audit line (best effort: a full disk must not fail the request it records).
    pub fn audit(&self, entry: &AuditEntry) {
        if let Some(log) = &self.audit
            && let Err(e) = log.append(entry, false)
        {
            tracing::warn!(error = %e, "cannot append to the audit log");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_key(scopes: &str) -> NewKey {
        NewKey {
            name: "t".into(),
            scopes: Scopes::parse(scopes).unwrap(),
            rate: None,
            burst: None,
            expires_in: None,
        }
    }

    #[test]
    fn keys_tokens_scopes_and_revocation_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let auth = AuthModel::open(AuthOptions::default(), Some(dir.path())).unwrap();
        let (record, key) = auth.create_key(new_key("read,pin")).unwrap();
        assert!(key.starts_with("imcp_") && !record.secret_sha256.contains(&key));
        let p = auth.authenticate(&key).unwrap();
        assert_eq!((p.key_id(), p.via.clone()), (record.id.as_str(), Via::Key));
        assert!(auth.authorize(Access::Scoped(Scope::Pin), Some(&p)).is_ok());
        assert!(matches!(
            auth.authorize(Access::Scoped(Scope::Write), Some(&p)),
            Err(AuthError::Forbidden("write"))
        ));
        assert!(matches!(
            auth.authorize(Access::Scoped(Scope::Read), None),
            Err(AuthError::Missing)
        ));
        // a wrong secret with a right id, and a wrong id
        let mut wrong = key.clone();
        wrong.pop();
        wrong.push(if key.ends_with('A') { 'B' } else { 'A' });
        assert!(matches!(auth.authenticate(&wrong), Err(AuthError::Unknown)));
        assert!(matches!(
            auth.mint(&p, Some(Scopes::parse("write").unwrap()), None),
            Err(AuthError::Forbidden(_))
        ));
        let (token, claims) = auth
            .mint(&p, Some(Scopes::parse("read").unwrap()), None)
            .unwrap();
        let tp = auth.authenticate(&token).unwrap();
        assert!(tp.scopes.allows(Scope::Read) && !tp.scopes.allows(Scope::Pin));
        assert!(auth.mint(&tp, None, None).is_err(), "no token from a token");
        auth.revoke_token(&p, Some(&token), None).unwrap();
        assert!(matches!(
            auth.authenticate(&token),
            Err(AuthError::Revoked(_))
        ));
        drop(auth);

        let auth = AuthModel::open(AuthOptions::default(), Some(dir.path())).unwrap();
        assert!(matches!(
            auth.authenticate(&token),
            Err(AuthError::Revoked(_))
        ));
        let p = auth.authenticate(&key).unwrap();
        let (token2, _) = auth.mint(&p, None, None).unwrap();
        auth.revoke_key(&record.id).unwrap();
        assert!(matches!(
            auth.authenticate(&key),
            Err(AuthError::Revoked(_))
        ));
        assert!(matches!(
            auth.authenticate(&token2),
            Err(AuthError::Revoked(_))
        ));
        assert_ne!(claims.jti, "");
        // nothing secret on disk
        for f in std::fs::read_dir(dir.path().join("auth")).unwrap() {
            let text = std::fs::read_to_string(f.unwrap().path()).unwrap();
            assert!(!text.contains(&key) && !text.contains(&token));
        }
    }

    #[test]
    fn expired_keys_and_tokens_are_refused() {
        let auth = AuthModel::open(AuthOptions::default(), None).unwrap();
        let mut k = new_key("read");
        k.expires_in = Some(std::time::Duration::from_millis(1));
        let (_, key) = auth.create_key(k).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert!(matches!(
            auth.authenticate(&key),
            Err(AuthError::Expired(_))
        ));
        let (_, key) = auth.create_key(new_key("read")).unwrap();
        let p = auth.authenticate(&key).unwrap();
        let (token, _) = auth
            .tokens
            .mint(p.key_id(), p.scopes, now_ms() - 10_000, 1)
            .unwrap();
        assert!(matches!(
            auth.authenticate(&token),
            Err(AuthError::Expired(_))
        ));
        // an expired token can still be revoked
        auth.revoke_token(&p, Some(&token), None).unwrap();
    }
}
