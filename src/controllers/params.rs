//! Request arguments that may come from a JSON body or the query string (Kubo's `?arg=`).

use super::error::ApiError;
use crate::backend::{ContentPath, parse_cid};
use actix_web::HttpRequest;
use actix_web::http::header;
use cid::Cid;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// Merged arguments: JSON body fields win over query parameters.
#[derive(Debug, Default)]
pub struct Args {
    body: Map<String, Value>,
    query: HashMap<String, String>,
}

/// Whether the request declares a JSON body (or declares nothing).
pub fn is_json(req: &HttpRequest) -> bool {
    match req.headers().get(header::CONTENT_TYPE) {
        None => true,
        Some(v) => v.to_str().is_ok_and(|v| {
            let v = v.to_ascii_lowercase();
            v.starts_with("application/json") || v.contains("+json")
        }),
    }
}

impl Args {
    /// Parses an optional JSON object body plus the query string.
    pub fn from_request(
        req: &HttpRequest,
        body: &[u8],
        query: HashMap<String, String>,
    ) -> Result<Self, ApiError> {
        let body = if body.iter().all(u8::is_ascii_whitespace) {
            Map::new()
        } else {
            if !is_json(req) {
                return Err(ApiError::unsupported_media(
                    "expected Content-Type: application/json",
                ));
            }
            match serde_json::from_slice::<Value>(body) {
                Ok(Value::Object(map)) => map,
                Ok(_) => return Err(ApiError::bad_request("JSON body must be an object")),
                Err(e) => {
                    return Err(ApiError::new(
                        actix_web::http::StatusCode::BAD_REQUEST,
                        "malformed_json",
                        format!("malformed JSON: {e}"),
                    ));
                }
            }
        };
        Ok(Self { body, query })
    }

    /// The fields of a JSON object (a batch call's or an MCP tool call's arguments).
    pub fn from_object(body: Map<String, Value>) -> Self {
        Self {
            body,
            query: HashMap::new(),
        }
    }

    pub fn query_only(query: HashMap<String, String>) -> Self {
        Self {
            body: Map::new(),
            query,
        }
    }

    /// First present of `names`, as a string.
    pub fn str(&self, names: &[&str]) -> Option<String> {
        for n in names {
            match self.body.get(*n) {
                Some(Value::String(s)) => return Some(s.clone()),
                Some(Value::Null) | None => {}
                Some(other) => return Some(other.to_string()),
            }
            if let Some(v) = self.query.get(*n) {
                return Some(v.clone());
            }
        }
        None
    }

    pub fn required(&self, names: &[&str]) -> Result<String, ApiError> {
        self.str(names)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ApiError::missing_field(names[0]))
    }

    pub fn value(&self, name: &str) -> Option<&Value> {
        self.body.get(name)
    }

    pub fn bool(&self, names: &[&str], default: bool) -> Result<bool, ApiError> {
        match self.str(names) {
            None => Ok(default),
            Some(s) => parse_bool(names[0], &s),
        }
    }

    pub fn u64(&self, names: &[&str]) -> Result<Option<u64>, ApiError> {
        self.str(names)
            .map(|s| {
                s.parse().map_err(|_| {
                    ApiError::bad_request(format!("{} must be a non-negative integer", names[0]))
                })
            })
            .transpose()
    }

    pub fn cid(&self, names: &[&str]) -> Result<Cid, ApiError> {
        let s = self.required(names)?;
        let s = s.trim().trim_start_matches("/ipfs/");
        Ok(parse_cid(s)?)
    }

    pub fn path(&self, names: &[&str]) -> Result<ContentPath, ApiError> {
        Ok(self.required(names)?.parse()?)
    }
}

pub fn parse_bool(name: &str, s: &str) -> Result<bool, ApiError> {
    match s.to_ascii_lowercase().as_str() {
        "" | "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(ApiError::bad_request(format!(
            "{name} must be true or false, got {s:?}"
        ))),
    }
}
