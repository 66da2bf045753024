//! Traces: one server span per request, child spans for cache lookups and backend calls, the
//! W3C `traceparent` taken from the client and sent on to the Kubo node, exported over
//! OTLP/HTTP (protobuf) when `telemetry.otlp_endpoint` is set.
//!
//! Design: the OpenTelemetry API and SDK are used directly, not through `tracing` spans and
//! `tracing-opentelemetry`. A request span and two children are the whole tree, and going
//! through `tracing` would format every span's fields for the log layer as well (allocations on
//! the hot read path). With tracing off nothing is built: no provider, no context, and the child
//! helpers below return at the first check.
//!
//! A kept request's [`Context`] carries its span *and* the tracer that made it ([`ActiveTracer`]),
//! so code far from the controllers (the cache, the backend wrapper, the Kubo client) starts
//! children of the right request without a global: several applications in one process (the
//! tests) each export to their own endpoint.
//!
//! Invariants:
//! - Sampling is decided before any span is built (`Tracing::start_request`): a caller's
//!   decision is followed, a new trace is kept with `trace_sample_ratio`. An unkept request
//!   builds nothing; an unsampled caller's `traceparent` is still sent on to the node as it
//!   came (flag clear). A child span is started only under a kept request span.
//! - Spans are exported in batches from the SDK's own thread; a slow or absent collector
//!   drops spans (bounded queue), never delays a request.

use crate::config::TelemetrySettings;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{SpanKind, Status, TraceContextExt, Tracer, TracerProvider};
use opentelemetry::{Context, KeyValue};
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, Sampler, SdkTracer, SdkTracerProvider,
};
use std::borrow::Cow;
use std::time::Duration;

/// The W3C trace-context headers.
pub const TRACEPARENT: &str = "traceparent";
pub const TRACESTATE: &str = "tracestate";

#[derive(Debug, thiserror::Error)]
pub enum TraceSetupError {
    #[error("telemetry.otlp_endpoint {0:?}: {1}")]
    Endpoint(String, String),
    #[error("telemetry.trace_sample_ratio must be within 0..=1, not {0}")]
    Ratio(f64),
}

/// The tracer of the request a [`Context`] belongs to.
#[derive(Clone)]
struct ActiveTracer(SdkTracer);

/// The application's tracer provider, if tracing is on.
pub struct Tracing {
    provider: Option<(SdkTracerProvider, SdkTracer)>,
    /// New traces are kept when a random 64-bit draw falls below this (`ratio * 2^64`).
    keep_below: u64,
}

impl Tracing {
    /// No traces: requests are not traced and nothing is exported.
    pub fn off() -> Self {
        Self {
            provider: None,
            keep_below: 0,
        }
    }

    /// On when `otlp_endpoint` is set (a base URL such as `http://collector:4318`, to which
    /// `/v1/traces` is added unless it is already there).
    pub fn from_settings(settings: &TelemetrySettings) -> Result<Self, TraceSetupError> {
        let Some(endpoint) = check(settings)? else {
            return Ok(Self::off());
        };
        let base = settings.otlp_endpoint.as_deref().unwrap_or_default();
        let ratio = settings.trace_sample_ratio;
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_endpoint(endpoint)
            .with_timeout(Duration::from_millis(settings.otlp_timeout_ms.max(1)))
            .build()
            .map_err(|e| TraceSetupError::Endpoint(base.to_string(), e.to_string()))?;
        let batches = BatchConfigBuilder::default()
            .with_scheduled_delay(Duration::from_millis(
                settings.otlp_export_interval_ms.max(1),
            ))
            .with_max_queue_size(settings.otlp_max_queue.max(1))
            // an export is sent at the interval, or early once half the queue waits: the SDK's
            // 512-span batches were 4-6 exports a second at 1% of 100k req/s, and they cost 4%
            // of the server's throughput (`scripts/load-ops.sh`); the other half keeps taking
            // spans while one is sent
            .with_max_export_batch_size((settings.otlp_max_queue / 2).max(1))
            .build();
        let processor = BatchSpanProcessor::builder(exporter)
            .with_batch_config(batches)
            .build();
        let resource = opentelemetry_sdk::Resource::builder()
            .with_service_name(settings.service_name.clone())
            .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
            .build();
        let provider = SdkTracerProvider::builder()
            .with_span_processor(processor)
            // the ratio is applied in `start_request`, before the SDK is asked for anything
            .with_sampler(Sampler::ParentBased(Box::new(Sampler::AlwaysOn)))
            .with_resource(resource)
            .build();
        let tracer = provider.tracer("ipfs-mcp");
        Ok(Self {
            provider: Some((provider, tracer)),
            // 1.0 keeps every draw; the product is exact at both ends
            keep_below: if ratio >= 1.0 {
                u64::MAX
            } else {
                (ratio * u64::MAX as f64) as u64
            },
        })
    }

    pub fn is_on(&self) -> bool {
        self.provider.is_some()
    }

    /// The context of a new request: a server span named `"{method} {route}"`, child of the
    /// client's `traceparent` when it sent a valid one. `None` when tracing is off, or when a
    /// new trace is not kept.
    ///
    /// Sampling is decided here, before the SDK builds anything: a caller's decision is
    /// followed (an unsampled caller's context is passed on as it came, with its flag clear,
    /// and nothing is recorded); a new trace is kept with `trace_sample_ratio`. Only a kept
    /// request starts a span (named and annotated), and carries the tracer that lets
    /// [`child`] start children under it. An unkept request costs one random draw.
    pub fn start_request(
        &self,
        incoming: &TraceHeaders<'_>,
        method: &str,
        route: &str,
        path: &str,
    ) -> Option<Context> {
        let (_, tracer) = self.provider.as_ref()?;
        // most requests carry no trace and are not kept: decided before anything is built
        if incoming.traceparent.is_none() && !self.keeps_new_trace() {
            return None;
        }
        let parent = match incoming.traceparent {
            Some(_) => TraceContextPropagator::new().extract(incoming),
            None => Context::new(),
        };
        let caller = parent.span().span_context().clone();
        if caller.is_valid() {
            if !caller.is_sampled() {
                return Some(parent);
            }
        } else if incoming.traceparent.is_some() && !self.keeps_new_trace() {
            // an unreadable traceparent: a new trace, kept by the ratio like any other
            return None;
        }
        let span = tracer
            .span_builder(format!("{method} {route}"))
            .with_kind(SpanKind::Server)
            .with_attributes([
                KeyValue::new("http.request.method", method.to_owned()),
                KeyValue::new("http.route", route.to_owned()),
                KeyValue::new("url.path", path.to_owned()),
            ])
            .start_with_context(tracer, &parent);
        Some(
            parent
                .with_span(span)
                .with_value(ActiveTracer(tracer.clone())),
        )
    }

    fn keeps_new_trace(&self) -> bool {
        use opentelemetry_sdk::trace::{IdGenerator, RandomIdGenerator};
        if self.keep_below == u64::MAX {
            return true;
        }
        let draw = u128::from_be_bytes(RandomIdGenerator::default().new_trace_id().to_bytes());
        (draw as u64) < self.keep_below
    }

    /// Sends every finished span now (tests; shutdown).
    pub fn flush(&self) {
        if let Some((provider, _)) = &self.provider
            && let Err(e) = provider.force_flush()
        {
            tracing::warn!(error = %e, "flushing traces failed");
        }
    }

    /// Exports what is left and stops the exporter thread.
    pub fn shutdown(&self) {
        if let Some((provider, _)) = &self.provider
            && let Err(e) = provider.shutdown()
        {
            tracing::warn!(error = %e, "stopping the trace exporter failed");
        }
    }
}

/// The traces endpoint the settings name (`None`: tracing is off; an empty string is unset),
/// or what is wrong with them. Config validation asks the same question as start-up.
pub fn check(settings: &TelemetrySettings) -> Result<Option<String>, TraceSetupError> {
    let Some(base) = settings.otlp_endpoint.as_deref().filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let ratio = settings.trace_sample_ratio;
    if !(0.0..=1.0).contains(&ratio) {
        return Err(TraceSetupError::Ratio(ratio));
    }
    traces_endpoint(base)
        .map(Some)
        .map_err(|why| TraceSetupError::Endpoint(base.to_string(), why))
}

impl TraceSetupError {
    /// The setting at fault, as a dotted path.
    pub fn field(&self) -> &'static str {
        match self {
            Self::Endpoint(..) => "telemetry.otlp_endpoint",
            Self::Ratio(_) => "telemetry.trace_sample_ratio",
        }
    }
}

/// `base` + `/v1/traces`, checked to be an http(s) URL.
fn traces_endpoint(base: &str) -> Result<String, String> {
    let url = reqwest::Url::parse(base).map_err(|e| e.to_string())?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("not an http(s) URL".into());
    }
    let trimmed = base.trim_end_matches('/');
    Ok(if trimmed.ends_with("/v1/traces") {
        trimmed.to_string()
    } else {
        format!("{trimmed}/v1/traces")
    })
}

/// The trace-context headers a client sent.
#[derive(Default)]
pub struct TraceHeaders<'a> {
    pub traceparent: Option<&'a str>,
    pub tracestate: Option<&'a str>,
}

impl Extractor for TraceHeaders<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        match key {
            TRACEPARENT => self.traceparent,
            TRACESTATE => self.tracestate,
            _ => None,
        }
    }

    fn keys(&self) -> Vec<&str> {
        vec![TRACEPARENT, TRACESTATE]
    }
}

/// The trace-context headers to send on, for the current context's span.
#[derive(Debug, Default)]
pub struct Outgoing(pub Vec<(&'static str, String)>);

impl Injector for Outgoing {
    fn set(&mut self, key: &str, value: String) {
        // the propagator writes an empty `tracestate` when there is none; send no header then
        if value.is_empty() {
            return;
        }
        let name = match key {
            TRACEPARENT => TRACEPARENT,
            TRACESTATE => TRACESTATE,
            _ => return,
        };
        self.0.push((name, value));
    }
}

/// The headers that carry the current span to the next hop (the Kubo node), if the current
/// context belongs to a traced request.
pub fn outgoing() -> Option<Outgoing> {
    Context::map_current(|cx| {
        // any valid span: a kept request's, or an unsampled one (sent on with the flag clear)
        if !cx.span().span_context().is_valid() {
            return None;
        }
        let mut headers = Outgoing::default();
        TraceContextPropagator::new().inject_context(cx, &mut headers);
        Some(headers)
    })
}

/// A child of the current request's span, as a context to run the child's work in; `None`
/// (and nothing built) when the current request is not traced or not sampled.
pub fn child(
    name: impl FnOnce() -> Cow<'static, str>,
    kind: SpanKind,
    attributes: impl FnOnce() -> Vec<KeyValue>,
) -> Option<Context> {
    Context::map_current(|cx| {
        let ActiveTracer(tracer) = cx.get::<ActiveTracer>()?;
        if !cx.span().is_recording() {
            return None;
        }
        let span = tracer
            .span_builder(name())
            .with_kind(kind)
            .with_attributes(attributes())
            .start_with_context(tracer, cx);
        Some(cx.with_span(span))
    })
}

/// Ends the span of `cx`, marked as failed with `error` if there is one.
pub fn end(cx: &Context, error: Option<&dyn std::fmt::Display>) {
    let span = cx.span();
    if let Some(e) = error {
        span.set_status(Status::error(e.to_string()));
    }
    span.end();
}

/// Whether the span of `cx` was kept by the sampler (and so is worth annotating).
pub fn is_recording(cx: &Context) -> bool {
    cx.span().is_recording()
}

/// Adds attributes to the span of `cx`.
pub fn annotate(cx: &Context, attributes: impl IntoIterator<Item = KeyValue>) {
    let span = cx.span();
    for kv in attributes {
        span.set_attribute(kv);
    }
}

/// Ends a request span with what the answer said.
pub fn end_request(cx: &Context, status: u16, attributes: impl IntoIterator<Item = KeyValue>) {
    let span = cx.span();
    if !span.is_recording() {
        return;
    }
    span.set_attribute(KeyValue::new(
        "http.response.status_code",
        i64::from(status),
    ));
    annotate(cx, attributes);
    if status >= 500 {
        span.set_status(Status::error(format!("HTTP {status}")));
    }
    span.end();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_endpoint_gets_the_traces_path_once() {
        assert_eq!(
            traces_endpoint("http://127.0.0.1:4318").unwrap(),
            "http://127.0.0.1:4318/v1/traces"
        );
        assert_eq!(
            traces_endpoint("http://c:4318/v1/traces/").unwrap(),
            "http://c:4318/v1/traces"
        );
        assert!(traces_endpoint("ftp://c").is_err());
        assert!(traces_endpoint("not a url").is_err());
    }

    #[test]
    fn off_builds_nothing() {
        let t = Tracing::off();
        assert!(!t.is_on());
        assert!(
            t.start_request(&TraceHeaders::default(), "GET", "x", "/x")
                .is_none()
        );
        assert!(outgoing().is_none());
        assert!(child(|| "c".into(), SpanKind::Internal, Vec::new).is_none());
    }

    #[test]
    fn the_ratio_decides_new_traces_and_a_callers_decision_is_followed() {
        let with_ratio = |ratio| {
            Tracing::from_settings(&TelemetrySettings {
                otlp_endpoint: Some("http://127.0.0.1:9".into()),
                trace_sample_ratio: ratio,
                ..TelemetrySettings::default()
            })
            .unwrap()
        };
        let none = TraceHeaders::default();
        let never = with_ratio(0.0);
        assert!((0..100).all(|_| never.start_request(&none, "GET", "x", "/x").is_none()));
        let always = with_ratio(1.0);
        assert!((0..100).all(|_| {
            let cx = always.start_request(&none, "GET", "x", "/x").unwrap();
            is_recording(&cx)
        }));
        let half = with_ratio(0.5);
        let kept = (0..2000)
            .filter(|_| half.start_request(&none, "GET", "x", "/x").is_some())
            .count();
        assert!((800..1200).contains(&kept), "{kept} of 2000 at 0.5");
        // a caller that did not sample: nothing recorded, its context sent on as it came
        let unsampled = TraceHeaders {
            traceparent: Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"),
            tracestate: None,
        };
        let cx = always.start_request(&unsampled, "GET", "x", "/x").unwrap();
        assert!(!is_recording(&cx));
        let _guard = cx.attach();
        assert!(child(|| "c".into(), SpanKind::Internal, Vec::new).is_none());
        assert_eq!(
            outgoing().unwrap().0,
            vec![(
                TRACEPARENT,
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00".to_string()
            )]
        );
    }

    #[test]
    fn a_client_traceparent_is_the_parent_and_goes_on() {
        let settings = TelemetrySettings {
            otlp_endpoint: Some("http://127.0.0.1:9".into()),
            ..TelemetrySettings::default()
        };
        let t = Tracing::from_settings(&settings).unwrap();
        let incoming = TraceHeaders {
            traceparent: Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
            tracestate: None,
        };
        let cx = t.start_request(&incoming, "GET", "ipfs/cat", "/x").unwrap();
        let sc = cx.span().span_context().clone();
        assert_eq!(
            sc.trace_id().to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        let _guard = cx.clone().attach();
        let child = child(|| "backend cat".into(), SpanKind::Client, Vec::new).unwrap();
        let _inner = child.clone().attach();
        let headers = outgoing().unwrap();
        let child_id = child.span().span_context().span_id().to_string();
        assert_eq!(
            headers.0,
            vec![(
                TRACEPARENT,
                format!("00-4bf92f3577b34da6a3ce929d0e0e4736-{child_id}-01")
            )]
        );
    }
}
