//! The success envelope: `success`, `operation_id`, `duration_ms`, `timestamp`, `simulated`,
//! plus the operation's own fields (and Kubo-style mirrors such as `Hash`, `Size`).

use actix_web::{HttpMessage, HttpRequest, HttpResponse};
use serde_json::{Map, Value};
use std::time::Instant;

/// Per-request facts set by the middleware before the handler runs.
#[derive(Debug, Clone)]
pub struct RequestMeta {
    pub operation_id: String,
    pub started: Instant,
}

pub fn meta(req: &HttpRequest) -> RequestMeta {
    req.extensions()
        .get::<RequestMeta>()
        .cloned()
        .unwrap_or_else(|| RequestMeta {
            operation_id: uuid::Uuid::new_v4().to_string(),
            started: Instant::now(),
        })
}

/// `200 OK` with the envelope around `fields` (a JSON object).
pub fn ok(req: &HttpRequest, simulated: bool, fields: Value) -> HttpResponse {
    HttpResponse::Ok().json(wrap(req, simulated, fields))
}

pub fn wrap(req: &HttpRequest, simulated: bool, fields: Value) -> Value {
    let m = meta(req);
    let mut body = Map::new();
    body.insert("success".into(), true.into());
    body.insert("operation_id".into(), m.operation_id.into());
    body.insert(
        "duration_ms".into(),
        (m.started.elapsed().as_secs_f64() * 1000.0).into(),
    );
    body.insert("timestamp".into(), chrono::Utc::now().to_rfc3339().into());
    body.insert("simulated".into(), simulated.into());
    if let Value::Object(fields) = fields {
        body.extend(fields);
    }
    Value::Object(body)
}
