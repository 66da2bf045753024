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
use crate::models::auth::{AuditEntry, AuthError, Principal};
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::{Method, header};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, HttpRequest, web};
use base64::Engine;
use std::borrow::Cow;

/// Header names built at compile time: a lookup by `&str` parses the name on every request.
const X_API_KEY: HeaderName = HeaderName::from_static("x-api-key");
const RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("ratelimit-limit");
const RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("ratelimit-remaining");
const RATELIMIT_RESET: HeaderName = HeaderName::from_static("ratelimit-reset");

/// The credential in the request's headers, if any (`Err`: a header that cannot hold one).
/// Borrowed where it is sent as is (Bearer, X-API-Key); Basic is decoded.
fn credential(req: &ServiceRequest) -> Result<Option<Cow<'_, str>>, ApiError> {
    let malformed = |what: &'static str| ApiError::from(AuthError::Malformed(what));
    let unreadable = || malformed("unreadable credentials");
    if let Some(v) = req.headers().get(X_API_KEY) {
        let v = v.to_str().map_err(|_| unreadable())?;
        return Ok(Some(Cow::Borrowed(v.trim())));
    }
    let Some(v) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let v = v.to_str().map_err(|_| unreadable())?.trim();
    let (scheme, rest) = v.split_once(' ').unwrap_or((v, ""));
    if scheme.eq_ignore_ascii_case("bearer") {
        return Ok(Some(Cow::Borrowed(rest.trim())));
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(unreadable)?;
        // `user:key` (the key as the password), or `key` / `key:` alone
        let (user, pass) = decoded.split_once(':').unwrap_or((&decoded, ""));
        let key = if pass.is_empty() { user } else { pass };
        return Ok(Some(Cow::Owned(key.to_string())));
    }
    Err(malformed(
        "unsupported Authorization scheme (Bearer or Basic)",
    ))
}

/// The CID a mutating answer produced (an add's root), for its audit line.
#[derive(Debug, Clone)]
struct AuditCid(String);

/// Names the CID `res` produced in the request's audit line (when there is one).
pub fn audit_cid(res: &mut actix_web::HttpResponse, cid: String) {
    res.extensions_mut().insert(AuditCid(cid));
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
        let retry = HeaderValue::from_static("1");
        return Ok(refuse(req, busy, &[(header::RETRY_AFTER, retry)]));
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
        Some(p) => Some(state.limits.check_key(p.key_id(), p.key.rate, p.key.burst)),
        None => req.peer_addr().map(|a| state.limits.check_address(a.ip())),
    };
    if let Some(v) = verdict
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
        let mut all = rate_headers(&v).to_vec();
        all.push((header::RETRY_AFTER, number(retry)));
        return Ok(refuse(req, limited, &all));
    }
    // boxed: this future is moved whole at every layer; keep what it holds across the call small
    let audit = principal
        .as_ref()
        .and_then(|p| audit_entry(&req, p))
        .map(Box::new);
    if let Some(p) = principal {
        req.extensions_mut().insert(p);
    }
    let res = next.call(req).await;
    if let Some(mut entry) = audit {
        entry.status = match &res {
            Ok(r) => r.status().as_u16(),
            Err(e) => e.as_response_error().status_code().as_u16(),
        };
        if let Ok(r) = &res
            && let Some(AuditCid(cid)) = r.response().extensions().get::<AuditCid>()
        {
            entry.cid.get_or_insert_with(|| cid.clone());
        }
        state.auth.audit(&entry);
    }
    let mut res = res?;
    if let Some(v) = &verdict {
        for (name, value) in rate_headers(v) {
            res.headers_mut().insert(name, value);
        }
    }
    Ok(res.map_into_left_body())
}

/// `RateLimit-Limit`, `-Remaining`, `-Reset` for a verdict.
fn rate_headers(v: &crate::models::ratelimit::Verdict) -> [(HeaderName, HeaderValue); 3] {
    [
        (RATELIMIT_LIMIT, limit_header(v.limit.into())),
        (RATELIMIT_REMAINING, number(v.remaining.into())),
        (RATELIMIT_RESET, number(v.reset_secs)),
    ]
}

/// The `RateLimit-Limit` value: a bucket's limit is the same on every answer, so each worker
/// keeps the last one built (a clone shares its bytes) instead of formatting it each time.
fn limit_header(limit: u64) -> HeaderValue {
    thread_local! {
        static LAST: std::cell::RefCell<Option<(u64, HeaderValue)>> =
            const { std::cell::RefCell::new(None) };
    }
    LAST.with_borrow_mut(|last| match last {
        Some((n, value)) if *n == limit => value.clone(),
        _ => {
            let value = number(limit);
            *last = Some((limit, value.clone()));
            value
        }
    })
}

/// A header value for `n`; the small numbers most answers carry (a reset in seconds, what
/// remains of a small bucket) are static, not formatted and allocated per response.
fn number(n: u64) -> HeaderValue {
    const SMALL: [&str; 16] = [
        "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15",
    ];
    match SMALL.get(n as usize) {
        Some(s) => HeaderValue::from_static(s),
        None => HeaderValue::from(n),
    }
}

/// Answers here, as a handler's error would be (the operation id is filled in outside).
fn refuse<B>(
    req: ServiceRequest,
    err: ApiError,
    headers: &[(HeaderName, HeaderValue)],
) -> ServiceResponse<EitherBody<B>> {
    let (http, _) = req.into_parts();
    let mut res = ServiceResponse::from_err(err, http);
    for (name, value) in headers {
        res.headers_mut().insert(name.clone(), value.clone());
    }
    res.map_into_right_body()
}

/// The audit line of a mutating request (its status is filled in after).
fn audit_entry(req: &ServiceRequest, p: &Principal) -> Option<AuditEntry> {
    let mutating = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    mutating.then(|| AuditEntry {
        time_ms: crate::persistence::metadata::now_ms(),
        key_id: p.key_id().to_string(),
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
