//! Response compression, for bodies the service generates and nothing else.
//!
//! Content leaves exactly as stored: a gateway, `cat`, `block/get`, CAR or media answer is
//! never content-encoded (Kubo and Rainbow do not compress content either). Encoding it would
//! change the bytes a client verifies against the CID, hide `Content-Length` (HEAD included),
//! contradict `Accept-Ranges: bytes`, and cost a browser-sent `Accept-Encoding` 30x the CPU of
//! the copy itself (issue #12: 2.4k vs 66.7k req/s for a cached 4 KiB cat).
//!
//! So a response is compressed only when all of these hold:
//! * its handler did not mark it [`StoredBytes`] (every content answer is marked where it is
//!   built: the gateway's `respond`, `cat`);
//! * its type is one we render: JSON (the envelope, listings of pins or metadata) or HTML
//!   (directory listings);
//! * its length is known and at least [`MIN_BYTES`]: below that gzip's framing eats the gain,
//!   and streamed answers (NDJSON progress) must reach the client line by line.
//!
//! Unlike actix's `Compress`, an `Accept-Encoding` we cannot satisfy is not a 406: identity is
//! always acceptable for these bodies.

use actix_http::encoding::Encoder;
use actix_web::body::{BodySize, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, ContentEncoding, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpResponseBuilder};

/// Marks a response whose body is content (stored bytes): never encoded.
#[derive(Debug, Clone, Copy)]
pub struct StoredBytes;

/// Marks `res` as carrying stored content.
pub fn stored(res: &mut HttpResponseBuilder) -> &mut HttpResponseBuilder {
    res.extensions_mut().insert(StoredBytes);
    res
}

/// Smallest generated body worth compressing.
pub const MIN_BYTES: u64 = 1024;

/// The middleware (`startup::run` wraps the app in it). The request's `Accept-Encoding` is
/// only parsed when the answer qualifies: content (the hot path) pays for one header clone.
pub async fn generated_only(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let accept = req.headers().get(header::ACCEPT_ENCODING).cloned();
    let res = next.call(req).await?;
    let encoding = match accept {
        Some(accept) if worth_compressing(&res) => offered(&accept),
        _ => ContentEncoding::Identity,
    };
    // Identity keeps the handler's body as it is: wrapped in an `Encoder` even a full buffer
    // is written through the encoder's body (measured: 12% of a cached 4 KiB cat's req/s).
    Ok(match encoding {
        ContentEncoding::Identity => res.map_into_left_body(),
        encoding => res
            .map_body(move |head, body| Encoder::response(encoding, head, body))
            .map_into_right_body(),
    })
}

/// What we offer out of what the client accepts: gzip (the one coding every client decodes),
/// else deflate, else identity (never a 406 for a body that can always go out unencoded).
fn offered(accept: &HeaderValue) -> ContentEncoding {
    let Ok(accept) = accept.to_str() else {
        return ContentEncoding::Identity;
    };
    let acceptable = |coding: &str| {
        accept.split(',').any(|item| {
            let mut params = item.split(';');
            let name = params.next().unwrap_or("").trim();
            let q = params
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(1.0, |q| q.trim().parse::<f32>().unwrap_or(0.0));
            (name.eq_ignore_ascii_case(coding) || name == "*") && q > 0.0
        })
    };
    if acceptable("gzip") {
        ContentEncoding::Gzip
    } else if acceptable("deflate") {
        ContentEncoding::Deflate
    } else {
        ContentEncoding::Identity
    }
}

fn worth_compressing<B: MessageBody>(res: &ServiceResponse<B>) -> bool {
    if res.response().extensions().contains::<StoredBytes>() {
        return false;
    }
    let big_enough = matches!(res.response().body().size(), BodySize::Sized(n) if n >= MIN_BYTES);
    big_enough
        && res
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(generated_type)
}

/// Types this service renders itself.
fn generated_type(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    matches!(essence, "application/json" | "text/html")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_rendered_types_qualify() {
        assert!(generated_type("application/json"));
        assert!(generated_type("text/html; charset=utf-8"));
        assert!(!generated_type("application/octet-stream"));
        assert!(!generated_type("application/vnd.ipld.car; version=1"));
        assert!(!generated_type("application/x-ndjson"));
        assert!(!generated_type(""));
    }

    #[test]
    fn negotiation_honours_q_values() {
        let of = |s: &str| offered(&HeaderValue::from_str(s).unwrap());
        assert_eq!(of("gzip, deflate, br, zstd"), ContentEncoding::Gzip);
        assert_eq!(
            of("br;q=1, gzip;q=0, deflate;q=0.5"),
            ContentEncoding::Deflate
        );
        assert_eq!(of("br, zstd"), ContentEncoding::Identity);
        assert_eq!(of("*"), ContentEncoding::Gzip);
        assert_eq!(of("GZIP;q=0.1"), ContentEncoding::Gzip);
        assert_eq!(of("gzip;q=0"), ContentEncoding::Identity);
    }
}
