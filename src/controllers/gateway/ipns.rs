//! `/ipns/{name}[/{path}]`: resolved with `name resolve`, then served like the `/ipfs/` path
//! it points to, cacheable for the record's TTL only (60 s when the backend cannot say).
//!
//! A name given as a base58 peer id (`12D3Koo…`, or the CIDv0-like `Qm…` of an RSA key) is
//! redirected (302) to its canonical form, the base36 CIDv1 with the libp2p-key codec
//! (`k51…`, `k2k4…`), path and query kept: one name, one URL, one cache entry.

use super::negotiate::{self, Format};
use super::{Ctx, Result, serve as serve_format};
use crate::backend::{ContentPath, ipns_record};
use crate::controllers::AppState;
use crate::controllers::error::ApiError;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use std::collections::HashMap;

/// How long an IPNS answer may be cached when the record's TTL is unknown (Kubo's RPC API
/// does not report it).
const DEFAULT_IPNS_TTL_SECS: u64 = 60;

/// The canonical form of a peer-id name, if `name` is a base58 peer id (not already one).
pub fn canonical(name: &str) -> Option<String> {
    let peer: libp2p_identity::PeerId = name.parse().ok()?;
    Some(ipns_record::ipns_name(&peer))
}

pub async fn serve(
    req: &HttpRequest,
    query: &HashMap<String, String>,
    state: &AppState,
) -> Result<HttpResponse> {
    let tail = req.match_info().unprocessed().trim_start_matches('/');
    let (name, rest) = tail.split_once('/').unwrap_or((tail, ""));
    if name.is_empty() {
        return Err(ApiError::bad_request("missing IPNS name"));
    }
    if let Some(canonical) = canonical(name) {
        let mut location = format!("/ipns/{canonical}");
        if tail.contains('/') {
            location.push('/');
            location.push_str(rest);
        }
        if !req.query_string().is_empty() {
            location.push('?');
            location.push_str(req.query_string());
        }
        return Ok(HttpResponse::Found()
            .insert_header((header::LOCATION, location))
            .finish());
    }
    let format = negotiate::requested(req, query)?;
    if format == Format::IpnsRecord {
        return record(req, query, state, name).await;
    }
    let (target, ttl) = state.model.node().name_resolve_ttl(name).await?;
    let mut path: ContentPath = target.parse()?;
    let rest = ContentPath::from_url(&format!("{}/{rest}", path.root))?;
    path.segments.extend(rest.segments);
    let ctx = Ctx {
        req,
        state,
        query,
        path,
        x_ipfs_path: req.path().to_string(),
    };
    let mut res = serve_format(&ctx, format).await?;
    let max_age = ttl.map_or(DEFAULT_IPNS_TTL_SECS, |t| t.as_secs());
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_str(&format!("public, max-age={max_age}")).expect("ascii"),
    );
    Ok(res)
}

/// `?format=ipns-record` / `Accept: application/vnd.ipfs.ipns-record`: the signed record
/// itself, for clients that verify it themselves (cacheable for the record's TTL).
async fn record(
    req: &HttpRequest,
    query: &HashMap<String, String>,
    state: &AppState,
    name: &str,
) -> Result<HttpResponse> {
    let bytes = state.model.node().name_record(name).await?;
    let peer = ipns_record::parse_name(name)?;
    let ttl = ipns_record::verify(&peer, &bytes, false)?
        .ttl
        .map_or(DEFAULT_IPNS_TTL_SECS, |t| t.as_secs());
    let canonical = ipns_record::ipns_name(&peer);
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, negotiate::IPNS_RECORD))
        .insert_header((header::CACHE_CONTROL, format!("public, max-age={ttl}")))
        .insert_header(("X-Ipfs-Path", req.path().to_string()))
        .insert_header((header::VARY, "Accept"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            negotiate::disposition_for(query, "attachment", &format!("{canonical}.ipns-record")),
        ))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(bytes))
}
