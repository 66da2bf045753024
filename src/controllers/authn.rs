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
use crate::models::auth::scope::Access;
use crate::models::auth::{AuditEntry, AuthError, AuthModel, Principal};
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use actix_web::http::{Method, header};
use actix_web::middleware::Next;
use actix_web::{Error, HttpRequest, web};
use base64::Engine;
use std::borrow::Cow;

/// Header names built at compile time: a lookup by `&str` parses the name on every request.
const X_API_KEY: HeaderName = HeaderName::from_static("x-api-key");
const RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("ratelimit-limit");
const RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("ratelimit-remaining");
const RATELIMIT_RESET: HeaderName = HeaderName::from_static("ratelimit-reset");

/// The credential in the request's headers, if any (`Err`: a header that cannot hold one).
/// Borrowed where it is sent as is (Bearer, X-API-Key); Basic is decoded.
fn credential(headers: &HeaderMap) -> Result<Option<Cow<'_, str>>, ApiError> {
    let malformed = |what: &'static str| ApiError::from(AuthError::Malformed(what));
    let unreadable = || malformed("unreadable credentials");
    if let Some(v) = headers.get(X_API_KEY) {
        let v = text(v).ok_or_else(unreadable)?;
        return Ok(Some(Cow::Borrowed(v.trim())));
    }
    let Some(v) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let v = text(v).ok_or_else(unreadable)?.trim();
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

/// A header's text. UTF-8 is checked, not `to_str`'s visible-ASCII rule byte by byte (a
/// credential is compared whole anyway; one with other bytes matches nothing).
fn text(v: &HeaderValue) -> Option<&str> {
    std::str::from_utf8(v.as_bytes()).ok()
}

/// The CID a mutating answer produced (an add's root), for its audit line.
#[derive(Debug, Clone)]
struct AuditCid(String);

/// Names the CID `res` produced in the request's audit line (when there is one).
pub fn audit_cid(res: &mut actix_web::HttpResponse, cid: String) {
    res.extensions_mut().insert(AuditCid(cid));
}

/// The caller of a request that passed the middleware (`None`: anonymous). Resolved again
/// from the headers (from the worker's memo, so cheaply) by the few handlers that act for the
/// caller, rather than carried in every request's extensions: inserting it there (a map
/// entry, a box, and its drop) cost every request more than these handlers ever spend.
pub fn principal(req: &HttpRequest, auth: &AuthModel) -> Option<Principal> {
    let credential = credential(req.headers()).ok()??;
    auth.authenticate(&credential).ok()
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
    let (principal, access) = match check(&req, &state) {
        Ok(checked) => checked,
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
    // a shared cache may keep a `public` answer to a request with credentials and serve it to
    // anyone (RFC 9111 3.5): content behind a credential is answered `private`
    let private = principal.is_some() && !state.auth.is_open(access);
    // the principal is dropped here, before the handler runs (see `principal`)
    drop(principal);
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
    if private {
        make_private(res.headers_mut());
    }
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
        (RATELIMIT_LIMIT, recent_number(0, v.limit.into())),
        (RATELIMIT_REMAINING, recent_number(1, v.remaining.into())),
        (RATELIMIT_RESET, recent_number(2, v.reset_secs)),
    ]
}

/// The value of rate header `slot` for `n`. A bucket's limit is the same on every answer, and
/// a key well under its rate sees the same remaining count and reset answer after answer, so
/// each worker keeps the last value built per header (a clone shares its bytes) instead of
/// formatting and allocating one per response (measured: 2% of an authenticated cached cat).
fn recent_number(slot: usize, n: u64) -> HeaderValue {
    thread_local! {
        static LAST: std::cell::RefCell<[Option<(u64, HeaderValue)>; 3]> =
            const { std::cell::RefCell::new([None, None, None]) };
    }
    if n < SMALL.len() as u64 {
        return number(n);
    }
    LAST.with_borrow_mut(|last| match &last[slot] {
        Some((m, value)) if *m == n => value.clone(),
        _ => {
            let value = number(n);
            last[slot] = Some((n, value.clone()));
            value
        }
    })
}

const SMALL: [&str; 16] = [
    "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15",
];

/// A header value for `n`; the small numbers most answers carry (a reset in seconds, what
/// remains of a small bucket) are static, not formatted and allocated per response.
fn number(n: u64) -> HeaderValue {
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

/// The caller, checked against the route's access (also returned).
fn check(req: &ServiceRequest, state: &AppState) -> Result<(Option<Principal>, Access), ApiError> {
    let principal = match credential(req.headers())? {
        Some(c) => Some(state.auth.authenticate(&c)?),
        None => None,
    };
    let access = crate::startup::access_of(req.path());
    state.auth.authorize(access, principal.as_ref())?;
    Ok((principal, access))
}

/// `Cache-Control: public, …` made `private, …` (the rest kept), in place: one lookup, no
/// second entry built and moved into the map.
fn make_private(headers: &mut HeaderMap) {
    const PRIVATE_IMMUTABLE: &str = "private, max-age=29030400, immutable";
    let Some(value) = headers.get_mut(header::CACHE_CONTROL) else {
        return;
    };
    let Some(rest) = value.as_bytes().strip_prefix(b"public") else {
        return;
    };
    if value.as_bytes() == crate::controllers::content::IMMUTABLE.as_bytes() {
        *value = HeaderValue::from_static(PRIVATE_IMMUTABLE);
    } else if let Ok(private) = HeaderValue::from_bytes(&[b"private".as_slice(), rest].concat()) {
        *value = private;
    }
}

/// The CID a request names in its query (`arg`, as Kubo's API, or `cid`).
fn cid_argument(query: &str) -> Option<String> {
    let q = web::Query::<std::collections::HashMap<String, String>>::from_query(query).ok()?;
    q.get("arg")
        .or_else(|| q.get("cid"))
        .map(|v| v.chars().take(256).collect())
}
