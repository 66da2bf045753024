//! `GET|HEAD ipfs/cat/{path}`, `GET ipfs/get/{path}` (bytes, streamed, with ranges and
//! caching headers) and `POST ipfs/cat` (small files inline as base64 JSON).

use super::error::ApiError;
use super::params::Args;
use super::{AppState, Result, envelope};
use crate::backend::{BackendError, ContentPath};
use crate::models::ipfs::{IpfsModel, ReadPlan, SNIFF_LEN, sniff_content_type};
use crate::models::range;
use crate::persistence::tiered::Tier;
use actix_web::body::SizedStream;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder, web};
use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use serde_json::json;
use std::collections::HashMap;

/// Content addressed by CID never changes: cache for a year (the gateway spec's value).
pub const IMMUTABLE: &str = "public, max-age=29030400, immutable";
/// Whether `If-None-Match` names this ETag (or `*`).
pub fn not_modified(req: &HttpRequest, etag: &str) -> bool {
    // weak comparison (RFC 9110 §8.8.3.2): `W/` does not matter on either side
    let etag = etag.trim_start_matches("W/");
    req.headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .map(|t| t.trim().trim_start_matches("W/"))
                .any(|t| t == etag || t == "*")
        })
}

/// The headers of every answer made of content addressed by CID (the gateway's too): an
/// ETag, how long it may be cached (`IMMUTABLE` for content), its `X-Ipfs-Path`; marked as
/// stored bytes, so never re-encoded. Names and the cache policy are static: nothing to parse
/// or lower-case per response (measured: 2% of a cached 4 KiB cat).
pub fn immutable_headers(
    res: &mut HttpResponseBuilder,
    etag: &str,
    cache_control: &'static str,
    ipfs_path: &str,
) {
    use header::{HeaderName, HeaderValue};
    super::compress::stored(res)
        .insert_header((header::ETAG, etag.to_owned()))
        .insert_header((
            header::CACHE_CONTROL,
            HeaderValue::from_static(cache_control),
        ))
        .insert_header((HeaderName::from_static("x-ipfs-path"), ipfs_path.to_owned()));
}

/// Headers shared by every content response; `tier` says where the bytes came from.
pub fn content_headers(res: &mut HttpResponseBuilder, etag: &str, ipfs_path: &str, tier: Tier) {
    let hit = if tier == Tier::Backend {
        "false"
    } else {
        "true"
    };
    use header::{HeaderName, HeaderValue};
    immutable_headers(res, etag, IMMUTABLE, ipfs_path);
    res.insert_header((
        HeaderName::from_static("x-cache-hit"),
        HeaderValue::from_static(hit),
    ))
    .insert_header((
        HeaderName::from_static("x-cache-tier"),
        HeaderValue::from_static(tier.as_str()),
    ))
    .insert_header((header::ACCEPT_RANGES, HeaderValue::from_static("bytes")));
}

/// `GET|HEAD ipfs/cat/<cid>[/path]` and `ipfs/get/...`, mounted under a static prefix: the rest
/// of the URL is the content path.
#[utoipa::path(method(get, head), path = "/api/v0/mcp/ipfs/cat/{path}", tag = "content", params(("path" = String, Path, description = "A CID, then a path inside it", example = "bafkqaaa"), crate::controllers::openapi::args::CatArgs), responses(crate::controllers::openapi::answers::Content))]
pub async fn cat_tail(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse> {
    super::request::require_get_or_head(&req)?;
    let path = req
        .match_info()
        .unprocessed()
        .trim_start_matches('/')
        .to_string();
    if path.is_empty() {
        return Err(crate::backend::BackendError::InvalidInput("missing CID".into()).into());
    }
    // parsed only when there is one: the extractor builds its map for every request
    let query = match req.query_string() {
        "" => HashMap::new(),
        q => web::Query::<HashMap<String, String>>::from_query(q)
            .map_err(ApiError::invalid_query)?
            .into_inner(),
    };
    cat(req, path, query, state).await
}

/// `GET|HEAD ipfs/get/<cid>[/path]`: as `ipfs/cat`.
#[utoipa::path(method(get, head), path = "/api/v0/mcp/ipfs/get/{path}", tag = "content", params(("path" = String, Path, description = "A CID, then a path inside it", example = "bafkqaaa"), crate::controllers::openapi::args::CatArgs), responses(crate::controllers::openapi::answers::Content))]
pub async fn get_tail(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse> {
    cat_tail(req, state).await
}

async fn cat(
    req: HttpRequest,
    path: String,
    query: HashMap<String, String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let model = &state.model;
    let (file, cached, tier) = model.open_cached(&path).await?;
    // one base58/base32 encoding of the CID per request, not one per header, and none when
    // the client sent the CID in its canonical form (measured: 2% of a cached 4 KiB cat)
    let cid_text =
        canonical_text(&path, &file.cid).map_or_else(|| file.cid.to_string(), str::to_owned);
    let etag = ["\"", &cid_text, "\""].concat();
    let ipfs_path = if file.path.segments.is_empty() && file.path.root == file.cid {
        ["/ipfs/", &cid_text].concat()
    } else {
        file.path.to_string()
    };
    if not_modified(&req, &etag) {
        model.record_read(&file, tier, None);
        let mut res = HttpResponse::NotModified();
        content_headers(&mut res, &etag, &ipfs_path, tier);
        return Ok(res.finish());
    }
    // Kubo-style ?offset=&length= are a range too; an explicit Range header wins.
    let args = Args::query_only(query);
    let range_header = match req.headers().get(header::RANGE) {
        Some(v) => Some(v.to_str().unwrap_or_default().to_string()),
        None => offset_length_as_range(&args)?,
    };
    let (status, offset, length) = match IpfsModel::plan_read(file.size, range_header.as_deref()) {
        ReadPlan::Full { size } => (StatusCode::OK, 0, size),
        ReadPlan::Partial { range, .. } => (StatusCode::PARTIAL_CONTENT, range.start, range.len()),
        ReadPlan::Unsatisfiable { size } => {
            let err = ApiError::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "range_not_satisfiable",
                format!(
                    "range {:?} is outside the {size}-byte file",
                    range_header.unwrap_or_default()
                ),
            );
            let mut res = err.to_response(&envelope::meta(&req).operation_id);
            res.headers_mut().insert(
                header::CONTENT_RANGE,
                header::HeaderValue::from_str(&format!("bytes */{size}")).expect("ascii"),
            );
            return Ok(res);
        }
    };
    let mut res = HttpResponse::build(status);
    content_headers(&mut res, &etag, &ipfs_path, tier);
    if status == StatusCode::PARTIAL_CONTENT {
        res.insert_header((
            header::CONTENT_RANGE,
            format!("bytes {}-{}/{}", offset, offset + length - 1, file.size),
        ));
    }
    if let Some(data) = cached {
        let content_type = model.content_types.of(&file.cid, file.size, &data);
        model.record_read(&file, tier, Some(content_type));
        res.insert_header((header::CONTENT_TYPE, content_type));
        return Ok(res.body(data.slice(offset as usize..(offset + length) as usize)));
    }
    let node = model.node();
    let resolved = ContentPath::new(file.cid);
    let mut stream = node.cat(&resolved, offset, Some(length)).await?;
    // Sniff from the first chunk when we start at 0; otherwise read the file's head apart
    // (unless its type is known).
    let types = &model.content_types;
    let (content_type, first) = match types.known(&file.cid) {
        Some(known) => (known, None),
        None if offset == 0 => {
            let first = stream.try_next().await?.unwrap_or_default();
            (types.of(&file.cid, file.size, &first), Some(first))
        }
        None => {
            let head: Vec<Bytes> = node
                .cat(&resolved, 0, Some(SNIFF_LEN as u64))
                .await?
                .try_collect()
                .await?;
            (types.of(&file.cid, file.size, &head.concat()), None)
        }
    };
    let body = futures_util::stream::iter(first.map(Ok::<_, BackendError>)).chain(stream);
    model.record_read(&file, tier, Some(content_type));
    res.insert_header((header::CONTENT_TYPE, content_type));
    Ok(res.body(SizedStream::new(length, body)))
}

/// `path` itself when it is exactly `cid` in the form `Cid::to_string` gives (CIDv0 base58btc,
/// CIDv1 base32 lower): every such string that parses is canonical, so none is re-encoded.
fn canonical_text<'p>(path: &'p str, cid: &cid::Cid) -> Option<&'p str> {
    let canonical = match cid.version() {
        cid::Version::V0 => path.len() == 46 && path.starts_with("Qm"),
        cid::Version::V1 => path.starts_with('b') && !path.contains('/'),
    };
    canonical.then_some(path)
}

/// Kubo's `?offset=&length=` as a `Range` header value (saturating: an offset past the end is
/// a 416, never a wrapped range).
fn offset_length_as_range(args: &Args) -> Result<Option<String>> {
    let offset = args.u64(&["offset"])?;
    let length = args.u64(&["length"])?;
    if length == Some(0) {
        return Err(ApiError::bad_request("length must be positive"));
    }
    Ok(range::from_offset_length(offset, length).map(|spec| spec.to_string()))
}

/// `POST ipfs/cat {cid, offset?, length?}`: small files inline.
#[utoipa::path(post, path = "/api/v0/mcp/ipfs/cat", tag = "content", request_body(content = crate::controllers::openapi::args::CatBody, content_type = "application/json"), responses(crate::controllers::openapi::answers::Json))]
pub async fn cat_json(
    req: HttpRequest,
    body: web::Bytes,
    query: web::Query<HashMap<String, String>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let args = Args::from_request(&req, &body, query.into_inner())?;
    let fields = cat_op(&state, &args, None).await?;
    let mut res = envelope::ok(&req, state.model.simulated(), fields);
    res.extensions_mut().insert(super::compress::StoredBytes);
    Ok(res)
}

/// A file's bytes (`offset`, `length`), inline as base64, up to the inline limit.
pub(crate) async fn cat_op(
    state: &AppState,
    args: &Args,
    progress: Option<super::ops::Progress>,
) -> Result<serde_json::Value> {
    use base64::Engine;
    let path = args.required(&["cid", "arg", "path"])?;
    let file = state.model.open_file(&path).await?;
    let offset = args.u64(&["offset"])?.unwrap_or(0).min(file.size);
    let length = args
        .u64(&["length"])?
        .unwrap_or(file.size - offset)
        .min(file.size - offset);
    let limit = state.settings.limits.max_inline_cat_bytes;
    if length > limit {
        return Err(ApiError::bad_request(format!(
            "{length} bytes is over the inline limit of {limit}; use GET ipfs/cat/{{cid}} to stream"
        )));
    }
    let read = state
        .model
        .node()
        .cat(&ContentPath::new(file.cid), offset, Some(length))
        .await?;
    let chunks: Vec<Bytes> = super::ops::counted(read, progress, Some(length))
        .try_collect()
        .await?;
    let data = chunks.concat();
    // the head of the range read, which is the file's head only from offset 0
    let content_type = if offset == 0 {
        state.model.content_types.of(&file.cid, file.size, &data)
    } else {
        sniff_content_type(&data[..data.len().min(SNIFF_LEN)])
    };
    state
        .model
        .record_read(&file, Tier::Backend, Some(content_type));
    // the file's bytes, base64'd: content, so never re-encoded (compress.rs)
    Ok(json!({
        "cid": file.cid.to_string(),
        "path": file.path.to_string(),
        "size": file.size,
        "offset": offset,
        "length": data.len(),
        "content_type": content_type,
        "data": base64::engine::general_purpose::STANDARD.encode(&data),
    }))
}

#[cfg(test)]
mod tests {
    use super::canonical_text;
    use crate::backend::parse_cid;

    #[test]
    fn only_canonical_cid_strings_are_reused_as_text() {
        let v1 = "bafybeihykld7uyxzogax6vgyvag42y7464eywpf55gxi5qpoisibh3c5wa";
        let cid = parse_cid(v1).unwrap();
        assert_eq!(canonical_text(v1, &cid), Some(v1));
        let v0 = "Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD";
        assert_eq!(canonical_text(v0, &parse_cid(v0).unwrap()), Some(v0));
        // another spelling of the same CID is re-encoded, not echoed
        let b36 = cid
            .to_string_of_base(cid::multibase::Base::Base36Lower)
            .unwrap();
        assert_eq!(canonical_text(&b36, &cid), None);
        assert_eq!(canonical_text(&format!("{v1}/a"), &cid), None);
        // the last base32 character carries 2 padding bits: a spelling with them set must not
        // parse, or it would be echoed as if canonical
        let last = v1.chars().last().unwrap();
        let alphabet = "abcdefghijklmnopqrstuvwxyz234567";
        let pos = alphabet.find(last).unwrap();
        for other in 0..32 {
            if other != pos && other >> 2 == pos >> 2 {
                let spelled = format!("{}{}", &v1[..v1.len() - 1], &alphabet[other..other + 1]);
                assert!(parse_cid(&spelled).is_err(), "{spelled} parsed");
            }
        }
    }
}
