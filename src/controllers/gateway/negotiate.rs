//! What representation a gateway request asks for: `?format=` first (IPIP-0523: it wins over
//! `Accept`), else the first media type of `Accept` we can produce, else the content itself.
//!
//! `?format=` is strict (an unknown value is a 400, a codec the data does not have a 406, see
//! `dag.rs`); `Accept` is a preference, so `application/json` on a UnixFS file still gets the
//! file. CAR parameters (`order`, `dups`, `version`) come from `Accept`'s media type
//! parameters, overridden by `car-order`, `car-dups`, `car-version` in the query.

use super::super::Result;
use super::super::error::ApiError;
use actix_web::HttpRequest;
use actix_web::http::header;
use std::collections::HashMap;

pub const RAW: &str = "application/vnd.ipld.raw";
pub const CAR: &str = "application/vnd.ipld.car";
pub const TAR: &str = "application/x-tar";
pub const DAG_JSON: &str = "application/vnd.ipld.dag-json";
pub const DAG_CBOR: &str = "application/vnd.ipld.dag-cbor";
pub const JSON: &str = "application/json";
pub const CBOR: &str = "application/cbor";
pub const IPNS_RECORD: &str = "application/vnd.ipfs.ipns-record";

/// A codec representation of a block (the block's bytes, as-is).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    DagJson,
    DagCbor,
    Json,
    Cbor,
}

impl Codec {
    /// The name in `?format=`, ETags and file names (`dag-json`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Codec::DagJson => "dag-json",
            Codec::DagCbor => "dag-cbor",
            Codec::Json => "json",
            Codec::Cbor => "cbor",
        }
    }

    pub fn media_type(self) -> &'static str {
        match self {
            Codec::DagJson => DAG_JSON,
            Codec::DagCbor => DAG_CBOR,
            Codec::Json => JSON,
            Codec::Cbor => CBOR,
        }
    }

    /// JSON is shown inline; CBOR is binary, so it is downloaded.
    pub fn is_json(self) -> bool {
        matches!(self, Codec::DagJson | Codec::Json)
    }
}

/// CAR response parameters (IPIP-412).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CarParams {
    pub dups: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The content: a file, a directory (listing or index.html), a codec block as-is.
    Content,
    /// The content for a browser (`Accept: text/html`): DAG blocks get an HTML view.
    Html,
    Raw,
    Car(CarParams),
    Tar,
    Codec {
        codec: Codec,
        /// From `?format=` (strict) rather than `Accept` (a preference).
        explicit: bool,
    },
    IpnsRecord,
}

/// The media types of `Accept`, in the order given (parameters kept, q-values ignored but
/// `q=0` meaning "not this").
fn accepted(req: &HttpRequest) -> Vec<(String, HashMap<String, String>)> {
    let Some(accept) = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
    else {
        return Vec::new();
    };
    accept
        .split(',')
        .filter_map(|item| {
            let mut parts = item.split(';');
            let essence = parts.next()?.trim().to_ascii_lowercase();
            let params: HashMap<String, String> = parts
                .filter_map(|p| {
                    let (k, v) = p.split_once('=')?;
                    Some((
                        k.trim().to_ascii_lowercase(),
                        v.trim().trim_matches('"').to_string(),
                    ))
                })
                .collect();
            (params.get("q").map(String::as_str) != Some("0")).then_some((essence, params))
        })
        .collect()
}

fn car_params(
    query: &HashMap<String, String>,
    accept: Option<&HashMap<String, String>>,
) -> Result<CarParams> {
    let pick = |q: &str, a: &str| {
        query
            .get(q)
            .cloned()
            .or_else(|| accept.and_then(|p| p.get(a).cloned()))
    };
    let dups = match pick("car-dups", "dups").as_deref() {
        None | Some("n") => false,
        Some("y") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "invalid CAR dups {other:?}: expected y or n"
            )));
        }
    };
    match pick("car-version", "version").as_deref() {
        None | Some("1") => {}
        Some(other) => {
            return Err(ApiError::new(
                actix_web::http::StatusCode::NOT_ACCEPTABLE,
                "not_acceptable",
                format!("CAR version {other} is not offered: only version 1"),
            ));
        }
    }
    // `order`: dfs is what we write; `unk` lets us choose, and we choose dfs
    if let Some(order) = pick("car-order", "order")
        && order != "dfs"
        && order != "unk"
    {
        return Err(ApiError::bad_request(format!(
            "invalid CAR order {order:?}: expected dfs or unk"
        )));
    }
    Ok(CarParams { dups })
}

/// The representation `req` asks for.
pub fn requested(req: &HttpRequest, query: &HashMap<String, String>) -> Result<Format> {
    let accept = accepted(req);
    let car_accept = accept.iter().find(|(t, _)| t == CAR).map(|(_, p)| p);
    if let Some(format) = query.get("format") {
        let codec = |codec| Format::Codec {
            codec,
            explicit: true,
        };
        return Ok(match format.as_str() {
            "raw" => Format::Raw,
            "car" => Format::Car(car_params(query, car_accept)?),
            "tar" => Format::Tar,
            "dag-json" => codec(Codec::DagJson),
            "dag-cbor" => codec(Codec::DagCbor),
            "json" => codec(Codec::Json),
            "cbor" => codec(Codec::Cbor),
            "ipns-record" => Format::IpnsRecord,
            other => {
                return Err(ApiError::bad_request(format!(
                    "unsupported format {other:?}: expected raw, car, tar, dag-json, dag-cbor, \
                     json, cbor or ipns-record"
                )));
            }
        });
    }
    let codec = |codec| Format::Codec {
        codec,
        explicit: false,
    };
    for (essence, params) in &accept {
        let format = match essence.as_str() {
            RAW => Format::Raw,
            CAR => Format::Car(car_params(query, Some(params))?),
            TAR => Format::Tar,
            DAG_JSON => codec(Codec::DagJson),
            DAG_CBOR => codec(Codec::DagCbor),
            JSON => codec(Codec::Json),
            CBOR => codec(Codec::Cbor),
            IPNS_RECORD => Format::IpnsRecord,
            "text/html" => Format::Html,
            _ => continue,
        };
        return Ok(format);
    }
    Ok(Format::Content)
}

/// `Content-Disposition` for `filename` (RFC 6266: an ASCII fallback with `_` for anything
/// else, plus `filename*` when the name is not plain ASCII).
pub fn disposition(kind: &str, filename: &str) -> String {
    let ascii: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() && c != '"' && c != '\\' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if ascii == filename {
        format!("{kind}; filename=\"{ascii}\"")
    } else {
        let encoded = percent_encoding::utf8_percent_encode(filename, ATTR_CHAR);
        format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
    }
}

/// RFC 5987 `attr-char` is alphanumerics and `!#$&+-.^_`|~`; everything else is encoded.
const ATTR_CHAR: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// `?filename=` and `?download=true` applied to a default disposition.
pub fn disposition_for(
    query: &HashMap<String, String>,
    default_kind: &str,
    default_name: &str,
) -> String {
    let kind = if query.get("download").map(String::as_str) == Some("true") {
        "attachment"
    } else {
        default_kind
    };
    let name = query.get("filename").map_or(default_name, String::as_str);
    disposition(kind, name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispositions_fall_back_to_ascii_and_encode_the_rest() {
        assert_eq!(
            disposition("attachment", "testтест.tar"),
            "attachment; filename=\"test____.tar\"; filename*=UTF-8''test%D1%82%D0%B5%D1%81%D1%82.tar"
        );
        assert_eq!(
            disposition("inline", "a.json"),
            "inline; filename=\"a.json\""
        );
    }
}
