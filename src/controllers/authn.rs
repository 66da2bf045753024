//! The authentication middleware: reads the credential (`Authorization: Bearer`, `X-API-Key`,
//! or `Authorization: Basic` as Kubo's `API.Authorizations` takes it), resolves it to a
//! [`Principal`] through the auth model, checks the route's access (`startup::ACCESS`), and
//! applies the caller's rate (`models::ratelimit`), and audits authenticated mutating requests.
//! With `auth.enabled = false` only the cap on requests in flight applies.
//!
//! A credential that is presented is always checked, also on a public route: a client with a
//! wrong or revoked key learns so at once instead of being served anonymously.

use super::AppState;
use super::error::ApiError;
use crate::models::auth::{AuditEntry, Principal};
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::{Method, header};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, HttpRequest, web};
use base64::Engine;

/// The credential in the request's headers, if any (`Err`: a header that cannot hold one).
fn credential(req: &ServiceRequest) -> Result<Option<String>, ApiError> {
    let malformed = |what: &str| {
        ApiError::from(crate::models::auth::AuthError::Malformed(match what {
            "scheme" => "unsupported Authorization scheme (Bearer or Basic)",
            _ => "unreadable credentials",
        }))
    };
    if let Some(v) = req.headers().get("x-api-key") {
        return v
            .to_str()
            .map(|s| Some(s.trim().to_string()))
            .map_err(|_| malformed("value"));
    }
    let Some(v) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let v = v.to_str().map_err(|_| malformed("value"))?.trim();
    let (scheme, rest) = v.split_once(' ').unwrap_or((v, ""));
    if scheme.eq_ignore_ascii_case("bearer") {
        return Ok(Some(rest.trim().to_string()));
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| malformed("value"))?;
        // `user:key` (the key as the password), or `key` / `key:` alone
        let (user, pass) = decoded.split_once(':').unwrap_or((&decoded, ""));
        let key = if pass.is_empty() { user } else { pass };
        return Ok(Some(key.to_string()));
    }
    Err(malformed("scheme"))
}

/// The caller of a request that passed the middleware (`None`: anonymous or auth off).
pub fn principal(req: &HttpRequest) -> Option<Principal> {
    req.extensions().get::<Principal>().cloned()
}

pub async fn guard<B: MessageBody>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, Error> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .expect("AppState is registered");
    // `observe` (outside) has counted this request in already
    let max_in_flight = state.limits.max_in_flight();
    if state.model.stats.in_flight() > max_in_flight as u64 {
        let busy = ApiError::new(
            actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
            "overloaded",
            format!("more than {max_in_flight} requests in flight; retry shortly"),
        );
        state.metrics.overloaded();
        return Ok(refuse(req, busy, &[(header::RETRY_AFTER, "1".into())]));
    }
    if !state.auth.options.enabled {
        return Ok(next.call(req).await?.map_into_left_body());
    }
    let principal = match check(&req, &state) {
        Ok(p) => p,
        Err(e) => {
            state.metrics.auth_failure(e.error_type);
            return Ok(refuse(req, e, &[]));
        }
    };
    let verdict = match &principal {
        Some(p) => Some(state.limits.check_key(&p.key_id, p.rate, p.burst)),
        None => req.peer_addr().map(|a| state.limits.check_address(a.ip())),
    };
    let rate_headers = verdict.map(|v| {
        [
            (
                HeaderName::from_static("ratelimit-limit"),
                v.limit.to_string(),
            ),
            (
                HeaderName::from_static("ratelimit-remaining"),
                v.remaining.to_string(),
            ),
            (
                HeaderName::from_static("ratelimit-reset"),
                v.reset_secs.to_string(),
            ),
        ]
    });
    if let (Some(v), Some(headers)) = (verdict, &rate_headers)
        && let Some(retry) = v.retry_after
    {
        let limited = ApiError::new(
            actix_web::http::StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!(
                "over the rate limit of {} requests; retry in {retry} s",
                v.limit
            ),
        );
        state.metrics.rate_limited(principal.is_some());
        let mut all = headers.to_vec();
        all.push((header::RETRY_AFTER, retry.to_string()));
        return Ok(refuse(req, limited, &all));
    }
    let audit = principal.as_ref().and_then(|p| audit_entry(&req, p));
    if let Some(p) = principal {
        req.extensions_mut().insert(p);
    }
    let res = next.call(req).await;
    if let Some(mut entry) = audit {
        entry.status = match &res {
            Ok(r) => r.status().as_u16(),
            Err(e) => e.as_response_error().status_code().as_u16(),
        };
        state.auth.audit(&entry);
    }
    let mut res = res?;
    for (name, value) in rate_headers.into_iter().flatten() {
        if let Ok(v) = HeaderValue::from_str(&value) {
            res.headers_mut().insert(name, v);
        }
    }
    Ok(res.map_into_left_body())
}

/// Answers here, as a handler's error would be (the operation id is filled in outside).
fn refuse<B>(
    req: ServiceRequest,
    err: ApiError,
    headers: &[(HeaderName, String)],
) -> ServiceResponse<EitherBody<B>> {
    let (http, _) = req.into_parts();
    let mut res = ServiceResponse::from_err(err, http);
    for (name, value) in headers {
        if let Ok(v) = HeaderValue::from_str(value) {
            res.headers_mut().insert(name.clone(), v);
        }
    }
    res.map_into_right_body()
}

/// The audit line of a mutating request (its status is filled in after).
fn audit_entry(req: &ServiceRequest, p: &Principal) -> Option<AuditEntry> {
    let mutating = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    mutating.then(|| AuditEntry {
        time_ms: crate::persistence::metadata::now_ms(),
        key_id: p.key_id.clone(),
        method: req.method().to_string(),
        route: req.path().chars().take(512).collect(),
        cid: cid_argument(req.query_string()),
        status: 0,
        client: req.peer_addr().map(|a| a.ip().to_string()),
    })
}

/// The caller, checked against the route's access.
fn check(req: &ServiceRequest, state: &AppState) -> Result<Option<Principal>, ApiError> {
    let principal = match credential(req)? {
        Some(c) => Some(state.auth.authenticate(&c)?),
        None => None,
    };
    let access = crate::startup::access_of(req.path());
    state.auth.authorize(access, principal.as_ref())?;
    Ok(principal)
}

/// The CID a request names in its query (`arg`, as Kubo's API, or `cid`).
fn cid_argument(query: &str) -> Option<String> {
    let q = web::Query::<std::collections::HashMap<String, String>>::from_query(query).ok()?;
    q.get("arg")
        .or_else(|| q.get("cid"))
        .map(|v| v.chars().take(256).collect())
}
