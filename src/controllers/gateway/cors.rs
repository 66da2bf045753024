//! CORS for the gateway: any origin may read content (it is public and addressed by hash),
//! so every `/ipfs/` and `/ipns/` answer, errors included, says so, and `OPTIONS` is a
//! preflight answered without touching content.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpResponse};

const ALLOW_METHODS: &str = "GET, HEAD, OPTIONS";
const ALLOW_HEADERS: &str = "Content-Type, Range, User-Agent, X-Requested-With";
const EXPOSE_HEADERS: &str = "Content-Range, Content-Length, X-Ipfs-Path, X-Ipfs-Roots, \
     X-Chunked-Output, X-Stream-Output, X-Stream-Error";

fn add(headers: &mut header::HeaderMap) {
    for (name, value) in [
        (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        (header::ACCESS_CONTROL_ALLOW_METHODS, ALLOW_METHODS),
        (header::ACCESS_CONTROL_ALLOW_HEADERS, ALLOW_HEADERS),
        (header::ACCESS_CONTROL_EXPOSE_HEADERS, EXPOSE_HEADERS),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
}

/// The middleware on the gateway's scopes (`startup::routes`): answers `OPTIONS` itself
/// (no handler sees a preflight) and adds the headers to every other answer.
pub async fn headers(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    if req.method() == Method::OPTIONS {
        let mut res = HttpResponse::Ok()
            .insert_header((header::ACCESS_CONTROL_MAX_AGE, "86400"))
            .finish();
        add(res.headers_mut());
        return Ok(req.into_response(res));
    }
    let mut res = next.call(req).await?.map_into_boxed_body();
    add(res.headers_mut());
    Ok(res)
}
