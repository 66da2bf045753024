//! Traces end to end: the service exports OTLP/HTTP to a receiver in this process, which
//! decodes what arrives as the collector would. Checked: the span tree of an uncached and of a
//! cached cat (request span, cache lookups, backend calls, their attributes), the client's
//! `traceparent` as the root's parent, and, through a recording proxy in front of a real node,
//! the `traceparent` the node receives (the request's trace, the backend span as parent).

use crate::common::ipfs_node::IpfsNode;
use crate::helpers::*;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use ipfs_mcp::backend::BackendKind;
use ipfs_mcp::config::Settings;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use parking_lot::Mutex;
use prost::Message;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// An OTLP/HTTP trace receiver on a free loopback port.
struct Collector {
    endpoint: String,
    spans: Arc<Mutex<Vec<Span>>>,
    handle: actix_web::dev::ServerHandle,
}

impl Collector {
    fn start() -> Self {
        let spans = Arc::new(Mutex::new(Vec::new()));
        let kept = spans.clone();
        let server = HttpServer::new(move || {
            let kept = kept.clone();
            App::new().route(
                "/v1/traces",
                web::post().to(move |body: web::Bytes| {
                    let kept = kept.clone();
                    async move {
                        let Ok(export) = ExportTraceServiceRequest::decode(body) else {
                            return HttpResponse::BadRequest().finish();
                        };
                        let mut kept = kept.lock();
                        for resource in export.resource_spans {
                            for scope in resource.scope_spans {
                                kept.extend(scope.spans);
                            }
                        }
                        HttpResponse::Ok()
                            .content_type("application/x-protobuf")
                            .body(ExportTraceServiceResponse::default().encode_to_vec())
                    }
                }),
            )
        })
        .workers(1)
        .bind("127.0.0.1:0")
        .unwrap();
        let port = server.addrs()[0].port();
        let server = server.run();
        let handle = server.handle();
        tokio::spawn(server);
        Self {
            endpoint: format!("http://127.0.0.1:{port}"),
            spans,
            handle,
        }
    }

    /// The spans of trace `trace_id` (hex), once its root (the span whose parent is `parent`)
    /// has arrived: a request span ends after its children, so they are exported with it or
    /// before it.
    async fn trace(&self, trace_id: &str, parent: &str) -> Vec<Span> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let spans: Vec<Span> = self
                .spans
                .lock()
                .iter()
                .filter(|s| hex(&s.trace_id) == trace_id)
                .cloned()
                .collect();
            if spans.iter().any(|s| hex(&s.parent_span_id) == parent) {
                return spans;
            }
            assert!(
                Instant::now() < deadline,
                "no root span of trace {trace_id} exported; got {spans:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn attr(span: &Span, key: &str) -> Option<String> {
    let value = span.attributes.iter().find(|kv| kv.key == key)?;
    match value.value.as_ref()?.value.as_ref()? {
        AnyValue::StringValue(s) => Some(s.clone()),
        AnyValue::IntValue(i) => Some(i.to_string()),
        other => Some(format!("{other:?}")),
    }
}

fn traced(settings: &mut Settings, collector: &Collector) {
    settings.telemetry.otlp_endpoint = Some(collector.endpoint.clone());
    settings.telemetry.otlp_export_interval_ms = 50;
}

/// The root span (parent `parent`) and its direct children.
fn tree<'a>(spans: &'a [Span], parent: &str) -> (&'a Span, Vec<&'a Span>) {
    let root = spans
        .iter()
        .find(|s| hex(&s.parent_span_id) == parent)
        .expect("a root span");
    let children = spans
        .iter()
        .filter(|s| s.parent_span_id == root.span_id)
        .collect();
    (root, children)
}

const CLIENT_SPAN: &str = "00f067aa0ba902b7";

fn traceparent(trace_id: &str) -> String {
    format!("00-{trace_id}-{CLIENT_SPAN}-01")
}

/// A cat sent as part of trace `trace_id`: its `X-Cache-Tier` and its bytes.
async fn traced_cat(app: &TestApp, cid: &str, trace_id: &str) -> (String, bytes::Bytes) {
    let res = app
        .client
        .get(app.api(&format!("ipfs/cat/{cid}")))
        .header("traceparent", traceparent(trace_id))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let tier = res.headers()["x-cache-tier"].to_str().unwrap().to_string();
    (tier, res.bytes().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_and_uncached_cats_export_their_span_trees() {
    let collector = Collector::start();
    let mut settings = test_settings();
    traced(&mut settings, &collector);
    let app = spawn_with(settings).await;
    let added = app.add(b"traced content", "").await;
    let cid = added["cid"].as_str().unwrap().to_string();
    let (status, body) = app.post_json("cache/clear", serde_json::json!({})).await;
    assert_eq!(status, 200, "{body}");

    let uncached = "4bf92f3577b34da6a3ce929d0e0e4736";
    let (tier, content) = traced_cat(&app, &cid, uncached).await;
    assert_eq!(
        (tier.as_str(), &content[..]),
        ("backend", &b"traced content"[..])
    );
    let cached = "5ce929d0e0e47364bf92f3577b34da6a";
    let (tier, _) = traced_cat(&app, &cid, cached).await;
    assert_eq!(tier, "memory");

    let spans = collector.trace(uncached, CLIENT_SPAN).await;
    let (root, children) = tree(&spans, CLIENT_SPAN);
    assert_eq!(root.name, "GET ipfs/cat");
    assert_eq!(root.kind, SpanKind::Server as i32);
    assert_eq!(attr(root, "http.route").as_deref(), Some("ipfs/cat"));
    assert_eq!(
        attr(root, "http.response.status_code").as_deref(),
        Some("200")
    );
    assert_eq!(attr(root, "ipfs.cid").as_deref(), Some(cid.as_str()));
    assert_eq!(attr(root, "cache.tier").as_deref(), Some("backend"));
    let lookups: Vec<_> = children.iter().filter(|s| s.name == "cache.get").collect();
    assert!(!lookups.is_empty(), "{children:?}");
    assert!(
        lookups
            .iter()
            .all(|s| attr(s, "cache.tier").as_deref() == Some("miss")),
        "{lookups:?}"
    );
    let cat = children
        .iter()
        .find(|s| s.name == "backend cat")
        .unwrap_or_else(|| panic!("no backend cat span in {children:?}"));
    assert_eq!(cat.kind, SpanKind::Client as i32);
    assert_eq!(attr(cat, "backend.operation").as_deref(), Some("cat"));
    for child in &children {
        assert!(
            child.start_time_unix_nano >= root.start_time_unix_nano
                && child.end_time_unix_nano <= root.end_time_unix_nano,
            "{} lies within its request",
            child.name
        );
    }

    let spans = collector.trace(cached, CLIENT_SPAN).await;
    let (root, children) = tree(&spans, CLIENT_SPAN);
    assert_eq!(attr(root, "cache.tier").as_deref(), Some("memory"));
    let names: Vec<_> = children.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["cache.get"], "a cached cat never calls the backend");
    assert_eq!(attr(children[0], "cache.tier").as_deref(), Some("memory"));
    assert_eq!(spans.len(), 2, "{spans:?}");

    app.stop().await;
    collector.handle.stop(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsampled_request_is_not_exported() {
    let collector = Collector::start();
    let mut settings = test_settings();
    traced(&mut settings, &collector);
    let app = spawn_with(settings).await;
    let health = |traceparent: String| {
        app.client
            .get(app.api("health"))
            .header("traceparent", traceparent)
            .send()
    };
    // the client said "not sampled" (flags 00): the parent-based sampler follows it
    let unsampled = "7ce929d0e0e47364bf92f3577b34da6a";
    let res = health(format!("00-{unsampled}-{CLIENT_SPAN}-00"))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // a sampled request after it, to know the exporter has run past the unsampled one
    let sampled = "8ce929d0e0e47364bf92f3577b34da6a";
    let res = health(traceparent(sampled)).await.unwrap();
    assert_eq!(res.status(), 200);
    let spans = collector.trace(sampled, CLIENT_SPAN).await;
    assert_eq!(tree(&spans, CLIENT_SPAN).0.name, "GET health");
    let seen: Vec<String> = collector
        .spans
        .lock()
        .iter()
        .map(|s| hex(&s.trace_id))
        .collect();
    assert!(
        seen.iter().all(|t| t == sampled),
        "only the sampled request is exported: {seen:?}"
    );
    app.stop().await;
    collector.handle.stop(true).await;
}

/// What the node was sent: each request's path and its `traceparent`, if any.
type Seen = Arc<Mutex<Vec<(String, Option<String>)>>>;

/// A proxy in front of the node that records the trace headers of every call.
fn recording_proxy(node_api: String, seen: Seen) -> (String, actix_web::dev::ServerHandle) {
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let server = HttpServer::new(move || {
        let (client, seen, node_api) = (client.clone(), seen.clone(), node_api.clone());
        App::new().default_service(web::to(move |req: HttpRequest, body: web::Bytes| {
            let (client, seen, node_api) = (client.clone(), seen.clone(), node_api.clone());
            async move {
                let parent = req
                    .headers()
                    .get("traceparent")
                    .map(|v| v.to_str().unwrap().to_string());
                seen.lock().push((req.path().to_string(), parent));
                let mut forward = client.post(format!("{node_api}{}", req.uri()));
                if let Some(ct) = req.headers().get("content-type") {
                    forward = forward.header("content-type", ct.to_str().unwrap());
                }
                let answer = forward.body(body).send().await.unwrap();
                let mut res = HttpResponse::build(
                    actix_web::http::StatusCode::from_u16(answer.status().as_u16()).unwrap(),
                );
                if let Some(ct) = answer.headers().get("content-type") {
                    res.content_type(ct.to_str().unwrap());
                }
                res.body(answer.bytes().await.unwrap())
            }
        }))
    })
    .workers(2)
    .bind("127.0.0.1:0")
    .unwrap();
    let port = server.addrs()[0].port();
    let server = server.run();
    let handle = server.handle();
    tokio::spawn(server);
    (format!("http://127.0.0.1:{port}"), handle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_node_receives_the_backend_span_as_its_parent() {
    let Some(node) = tokio::task::spawn_blocking(|| IpfsNode::start("tracing"))
        .await
        .unwrap()
    else {
        return;
    };
    let collector = Collector::start();
    let seen: Seen = Arc::default();
    let (proxy, proxy_handle) = recording_proxy(node.api.clone(), seen.clone());
    let mut settings = test_settings();
    settings.backend.kind = BackendKind::Kubo;
    settings.backend.kubo.url = proxy;
    settings.backend.kubo.first_byte_timeout_ms = 10_000;
    traced(&mut settings, &collector);
    let app = spawn_with(settings).await;

    // on the node only: the gateway has not seen it, so the cat goes to the node
    let content = crate::common::fixture_bytes("traced-node", 4096);
    let cid = node.add(&content, "").await;
    let trace_id = "9ce929d0e0e47364bf92f3577b34da6a";
    let (_, body) = traced_cat(&app, &cid, trace_id).await;
    assert_eq!(body, content);

    let spans = collector.trace(trace_id, CLIENT_SPAN).await;
    let (root, children) = tree(&spans, CLIENT_SPAN);
    assert_eq!(attr(root, "cache.tier").as_deref(), Some("backend"));
    let backend_spans: Vec<String> = children
        .iter()
        .filter(|s| s.kind == SpanKind::Client as i32)
        .map(|s| hex(&s.span_id))
        .collect();
    assert!(!backend_spans.is_empty(), "{children:?}");

    let sent: Vec<_> = seen
        .lock()
        .iter()
        .filter_map(|(path, parent)| Some((path.clone(), parent.clone()?)))
        .collect();
    assert!(
        sent.iter().any(|(path, _)| path == "/api/v0/cat"),
        "the cat reached the node with a traceparent: {sent:?}"
    );
    for (path, parent) in &sent {
        let parts: Vec<&str> = parent.split('-').collect();
        assert_eq!(parts.len(), 4, "{path}: {parent}");
        assert_eq!(
            (parts[0], parts[1], parts[3]),
            ("00", trace_id, "01"),
            "{path}: the request's trace, sampled"
        );
        assert!(
            backend_spans.iter().any(|id| id == parts[2]),
            "{path}: parent {} is one of the backend spans {backend_spans:?}",
            parts[2]
        );
    }
    app.stop().await;
    proxy_handle.stop(true).await;
    collector.handle.stop(true).await;
}
