//! `/api/v0/mcp/auth/*`: minting and revoking tokens, and (admin) managing API keys.

use super::authn::principal;
use super::error::ApiError;
use super::{AppState, Result, envelope};
use crate::models::auth::keys::{KeyRecord, NewKey};
use crate::models::auth::scope::Scopes;
use crate::models::auth::{AuthError, Principal};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

fn caller(req: &HttpRequest, state: &AppState) -> Result<Principal> {
    if !state.auth.options.enabled {
        return Err(ApiError::new(
            actix_web::http::StatusCode::CONFLICT,
            "auth_disabled",
            "authentication is off (auth.enabled = false): there is no caller to act for",
        ));
    }
    principal(req, &state.auth).ok_or_else(|| AuthError::Missing.into())
}

/// A key as listings show it: no hash, no secret.
fn key_view(k: &KeyRecord) -> Value {
    json!({
        "id": k.id, "name": k.name, "scopes": k.scopes,
        "rate": k.rate, "burst": k.burst,
        "created_ms": k.created_ms, "expires_ms": k.expires_ms, "revoked_ms": k.revoked_ms,
        "active": k.check_usable(crate::persistence::metadata::now_ms()).is_ok(),
    })
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// Narrower scopes than the key's (default: all of them).
    #[schema(value_type = Option<Vec<String>>)]
    pub scopes: Option<Scopes>,
    /// Seconds; at most `auth.token_ttl_secs`.
    pub ttl_secs: Option<u64>,
}

/// `POST auth/token`: an HS256 token for the key that authenticated this request.
#[utoipa::path(post, path = "/api/v0/mcp/auth/token", tag = "auth", request_body(content = Option<TokenRequest>, content_type = "application/json"), responses(crate::controllers::openapi::answers::Json))]
pub async fn token(
    req: HttpRequest,
    body: Option<web::Json<TokenRequest>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let p = caller(&req, &state)?;
    let body = body.map(web::Json::into_inner);
    let (scopes, ttl) = body.map_or((None, None), |b| (b.scopes, b.ttl_secs));
    let (token, claims) = state.auth.mint(&p, scopes, ttl)?;
    Ok(envelope::ok(
        &req,
        state.model.simulated(),
        json!({
            "token": token, "token_type": "Bearer", "jti": claims.jti, "sub": claims.sub,
            "scope": claims.scope, "expires_at": claims.exp, "expires_in": claims.exp - claims.iat,
        }),
    ))
}

/// One of the two: the token itself, or its `jti`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeRequest {
    pub token: Option<String>,
    pub jti: Option<String>,
}

/// `POST auth/revoke {token | jti}`: durable before it answers.
#[utoipa::path(post, path = "/api/v0/mcp/auth/revoke", tag = "auth", request_body = RevokeRequest, responses(crate::controllers::openapi::answers::Json))]
pub async fn revoke(
    req: HttpRequest,
    body: web::Json<RevokeRequest>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let p = caller(&req, &state)?;
    let jti = state
        .auth
        .revoke_token(&p, body.token.as_deref(), body.jti.as_deref())?;
    Ok(envelope::ok(
        &req,
        state.model.simulated(),
        json!({"revoked": true, "jti": jti}),
    ))
}

/// `GET auth/keys`.
#[utoipa::path(
    get,
    path = "/api/v0/mcp/auth/keys",
    tag = "auth",
    responses(crate::controllers::openapi::answers::Json)
)]
pub async fn list_keys(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse> {
    caller(&req, &state)?;
    let keys: Vec<Value> = state.auth.keys.list().iter().map(key_view).collect();
    Ok(envelope::ok(
        &req,
        state.model.simulated(),
        json!({"count": keys.len(), "keys": keys}),
    ))
}

/// `POST auth/keys {name, scopes, rate?, burst?, expires_in?}`: the key is in this answer only.
#[utoipa::path(post, path = "/api/v0/mcp/auth/keys", tag = "auth", request_body = crate::models::auth::keys::NewKey, responses(crate::controllers::openapi::answers::Json))]
pub async fn create_key(
    req: HttpRequest,
    body: web::Json<NewKey>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    caller(&req, &state)?;
    let (record, key) = state.auth.create_key(body.into_inner())?;
    let mut fields = key_view(&record);
    fields["key"] = key.into();
    Ok(envelope::ok(&req, state.model.simulated(), fields))
}

/// `DELETE auth/keys/{id}` (or `POST auth/keys/{id}/revoke`): the key and its tokens stop working.
#[utoipa::path(delete, path = "/api/v0/mcp/auth/keys/{id}", tag = "auth", params(("id" = String, Path, description = "The key id")), responses(crate::controllers::openapi::answers::Json))]
pub async fn revoke_key(
    req: HttpRequest,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    caller(&req, &state)?;
    let record = state.auth.revoke_key(&id)?;
    Ok(envelope::ok(
        &req,
        state.model.simulated(),
        key_view(&record),
    ))
}

/// `POST auth/keys/{id}/revoke`: as `DELETE auth/keys/{id}`.
#[utoipa::path(post, path = "/api/v0/mcp/auth/keys/{id}/revoke", tag = "auth", params(("id" = String, Path, description = "The key id")), responses(crate::controllers::openapi::answers::Json))]
pub async fn revoke_key_post(
    req: HttpRequest,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    revoke_key(req, id, state).await
}
