//! JWTs (HS256, `jsonwebtoken`): minted for a key, never wider than its scopes, revocable by
//! `jti`. Revocations are appended durably (`revoked.jsonl`) before they are acknowledged and
//! read back at start: a revoked token stays revoked across restarts, expired or not.

use super::AuthError;
use super::scope::Scopes;
use crate::persistence::credentials::JsonLines;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use lru::LruCache;
use parking_lot::{Mutex, RwLock};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Claims {
    /// The key the token was minted for.
    pub sub: String,
    /// Space-separated scopes.
    pub scope: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct Revocation {
    jti: String,
    revoked_ms: i64,
}

pub struct TokenIssuer {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    revoked: RwLock<HashSet<String>>,
    log: Option<JsonLines>,
    /// Tokens whose signature was checked lately: a client sends the same token again and
    /// again, and an HS256 check plus the JSON decode costs more than the rest of a cached
    /// read. Expiry and revocation are still checked on every use.
    verified: Mutex<LruCache<String, Claims>>,
}

/// Tokens remembered as verified.
const VERIFIED: usize = 4096;

impl TokenIssuer {
    pub fn new(secret: &[u8], log: Option<JsonLines>) -> Result<Self, AuthError> {
        let revoked = match &log {
            Some(l) => l.load::<Revocation>()?.into_iter().map(|r| r.jti).collect(),
            None => HashSet::new(),
        };
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub", "jti"]);
        Ok(Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            revoked: RwLock::new(revoked),
            log,
            verified: Mutex::new(LruCache::new(
                std::num::NonZeroUsize::new(VERIFIED).expect("positive"),
            )),
        })
    }

    pub fn mint(
        &self,
        key_id: &str,
        scopes: Scopes,
        now_ms: i64,
        ttl_secs: u64,
    ) -> Result<(String, Claims), AuthError> {
        let iat = now_ms / 1000;
        let claims = Claims {
            sub: key_id.to_string(),
            scope: scopes.claim(),
            iat,
            exp: iat.saturating_add(ttl_secs as i64),
            jti: uuid::Uuid::new_v4().to_string(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| AuthError::Internal(e.to_string()))?;
        Ok((token, claims))
    }

    /// The claims of a valid, unexpired, unrevoked token signed by us.
    pub fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        use jsonwebtoken::errors::ErrorKind;
        let remembered = self.verified.lock().get(token).cloned();
        let claims = match remembered {
            Some(claims) => {
                if claims.exp <= crate::persistence::metadata::now_ms() / 1000 {
                    return Err(AuthError::Expired("token"));
                }
                claims
            }
            None => {
                let claims =
                    jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
                        .map_err(|e| match e.kind() {
                            ErrorKind::ExpiredSignature => AuthError::Expired("token"),
                            ErrorKind::InvalidSignature => AuthError::Unknown,
                            _ => AuthError::Malformed("not a valid token"),
                        })?
                        .claims;
                self.verified.lock().put(token.to_string(), claims.clone());
                claims
            }
        };
        if self.revoked.read().contains(&claims.jti) {
            return Err(AuthError::Revoked("token"));
        }
        Ok(claims)
    }

    /// The claims of a token signed by us, expired or not (for revoking it).
    pub fn decode_any(&self, token: &str) -> Result<Claims, AuthError> {
        let mut lenient = self.validation.clone();
        lenient.validate_exp = false;
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &lenient)
            .map(|d| d.claims)
            .map_err(|_| AuthError::Malformed("not a token signed by this service"))
    }

    /// Revokes `jti`, durably before returning. Revoking twice is not an error.
    pub fn revoke(&self, jti: &str, now_ms: i64) -> Result<(), AuthError> {
        if jti.is_empty() || jti.len() > 128 {
            return Err(AuthError::Invalid("jti must be 1 to 128 characters".into()));
        }
        if self.revoked.read().contains(jti) {
            return Ok(());
        }
        if let Some(log) = &self.log {
            log.append(
                &Revocation {
                    jti: jti.to_string(),
                    revoked_ms: now_ms,
                },
                true,
            )?;
        }
        self.revoked.write().insert(jti.to_string());
        Ok(())
    }
}
