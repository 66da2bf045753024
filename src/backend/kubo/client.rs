//! The HTTP side of the Kubo backend: one pooled client, every call a `POST /api/v0/<command>`.
//!
//! What it adds over a bare HTTP client, and why:
//! * **Time limits**: connect, first byte (counted from the end of an upload), idle gaps in a
//!   stream, and a total for answers read whole; a slow node becomes a 504, not a hung request.
//! * **Retries** with doubling backoff, only for idempotent reads and only when the request
//!   cannot have reached the node's logic (connection failures, 502/503/504).
//! * **A concurrency limit** (a semaphore): a burst of clients cannot overload the node;
//!   waiting longer than the first-byte timeout for a slot is a 503.
//! * **Honest streams**: Kubo reports a failure after the headers in the `X-Stream-Error`
//!   trailer; a stream that ends with one, or ends early, yields an error, so truncated content
//!   is never taken for a whole file.
//! * The optional `Authorization` header, on every call.

use super::options::KuboOptions;
use super::wire;
use crate::backend::{BackendError, ByteStream};
use bytes::{Bytes, BytesMut};
use futures_util::{StreamExt, TryStreamExt};
use http_body_util::BodyExt;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Answers read whole (JSON, blocks) are refused beyond this; content is streamed instead.
const MAX_WHOLE_ANSWER: usize = 64 * 1024 * 1024;

/// Query parameters of a call.
pub type Query<'a> = &'a [(&'a str, String)];

/// Whether a call may be repeated after a connection failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Reads: repeating them changes nothing on the node.
    Idempotent,
    /// Writes, and calls with a streamed body that cannot be replayed.
    Never,
}

/// Why a call failed, before it becomes a [`BackendError`].
#[derive(Debug)]
pub enum CallError {
    /// The node does not know the command (a 404): older or different node.
    NoSuchCommand(String),
    Backend(BackendError),
}

impl From<BackendError> for CallError {
    fn from(e: BackendError) -> Self {
        Self::Backend(e)
    }
}

impl From<CallError> for BackendError {
    fn from(e: CallError) -> Self {
        match e {
            CallError::NoSuchCommand(c) => BackendError::BadGateway(format!(
                "the node does not know the command {c}; is it an IPFS node with Kubo's RPC API?"
            )),
            CallError::Backend(e) => e,
        }
    }
}

pub struct RpcClient {
    http: reqwest::Client,
    /// `<url>/api/v0/`
    base: String,
    authorization: Option<reqwest::header::HeaderValue>,
    options: KuboOptions,
    slots: Arc<Semaphore>,
}

/// A response whose status was 200, holding its concurrency slot until its body is consumed.
pub struct Answer {
    response: reqwest::Response,
    slot: OwnedSemaphorePermit,
    command: String,
    idle: Duration,
}

impl RpcClient {
    pub fn new(options: KuboOptions) -> Result<Self, BackendError> {
        let url = options.url.trim_end_matches('/');
        if !url.starts_with("http://") && !url.starts_with("https://") {
            return Err(BackendError::InvalidInput(format!(
                "backend.kubo.url must be an http:// URL, got {url:?}"
            )));
        }
        if url.starts_with("https://") {
            return Err(BackendError::InvalidInput(
                "this build talks plain HTTP to the node (keep the RPC API on loopback or a \
                 private network, or put a TLS-terminating proxy next to it)"
                    .into(),
            ));
        }
        let authorization = options
            .authorization
            .as_ref()
            .map(|a| {
                let mut v = reqwest::header::HeaderValue::from_str(a.expose()).map_err(|_| {
                    BackendError::InvalidInput(
                        "backend.kubo.authorization is not a valid header value".into(),
                    )
                })?;
                v.set_sensitive(true);
                Ok::<_, BackendError>(v)
            })
            .transpose()?;
        let http = reqwest::Client::builder()
            .connect_timeout(options.connect_timeout())
            .pool_idle_timeout(Duration::from_secs(30))
            .tcp_nodelay(true)
            .no_proxy()
            .build()
            .map_err(|e| BackendError::Internal(format!("building the HTTP client: {e}")))?;
        Ok(Self {
            http,
            base: format!("{url}/api/v0/"),
            authorization,
            slots: Arc::new(Semaphore::new(options.max_concurrent_requests.max(1))),
            options,
        })
    }

    pub fn url(&self) -> &str {
        self.base.trim_end_matches("/api/v0/")
    }

    pub fn options(&self) -> &KuboOptions {
        &self.options
    }

    /// Requests in flight right now.
    pub fn in_flight(&self) -> usize {
        self.options.max_concurrent_requests.max(1) - self.slots.available_permits()
    }

    async fn slot(&self, command: &str) -> Result<OwnedSemaphorePermit, BackendError> {
        let wait = self.options.first_byte_timeout();
        match tokio::time::timeout(wait, self.slots.clone().acquire_owned()).await {
            Ok(Ok(slot)) => Ok(slot),
            _ => Err(BackendError::Unavailable(format!(
                "{command}: all {} request slots to the node stayed busy for {:.1}s",
                self.options.max_concurrent_requests,
                wait.as_secs_f64()
            ))),
        }
    }

    fn request(&self, command: &str, query: Query<'_>) -> reqwest::RequestBuilder {
        let mut req = self
            .http
            .post(format!("{}{command}", self.base))
            .query(query);
        if let Some(auth) = &self.authorization {
            req = req.header(reqwest::header::AUTHORIZATION, auth.clone());
        }
        // the calling backend span goes on to the node as its parent
        if let Some(trace) = crate::telemetry::traces::outgoing() {
            for (name, value) in trace.0 {
                req = req.header(name, value);
            }
        }
        req
    }

    /// A call without a body; retried when idempotent.
    pub async fn call(
        &self,
        command: &str,
        query: Query<'_>,
        retry: Retry,
    ) -> Result<Answer, CallError> {
        let attempts = match retry {
            Retry::Idempotent => self.options.retries + 1,
            Retry::Never => 1,
        };
        let mut backoff = Duration::from_millis(self.options.retry_backoff_ms);
        let mut attempt = 1;
        loop {
            let slot = self.slot(command).await?;
            let sent = tokio::time::timeout(
                self.options.first_byte_timeout(),
                self.request(command, query).send(),
            )
            .await;
            let result = self.judge(command, sent, slot).await;
            match result {
                Err(CallError::Backend(BackendError::Unavailable(why))) if attempt < attempts => {
                    tracing::debug!(command, attempt, %why, "retrying a read");
                    tokio::time::sleep(backoff).await;
                    backoff *= 2;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// A call with a multipart body (`add`, `block/put`, `dag/put`, `dag/import`); never
    /// retried. The node answers only once it has processed the whole upload (building the
    /// DAG, writing blocks), so after the upload ends it gets the total timeout, not the
    /// first-byte one.
    pub async fn upload(
        &self,
        command: &str,
        query: Query<'_>,
        (body, content_type): (reqwest::Body, String),
        upload_done: Arc<tokio::sync::Notify>,
    ) -> Result<Answer, CallError> {
        let slot = self.slot(command).await?;
        let send = self
            .request(command, query)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body)
            .send();
        let patience = self.options.total_timeout();
        let sent = tokio::select! {
            r = send => Ok(r),
            _ = async { upload_done.notified().await; tokio::time::sleep(patience).await } => {
                Err(())
            }
        };
        match self.judge(command, sent, slot).await {
            Err(CallError::Backend(BackendError::Timeout(_))) => {
                Err(BackendError::Timeout(format!(
                    "{command}: no answer from the node within {:.1}s of the upload's end",
                    patience.as_secs_f64()
                ))
                .into())
            }
            other => other,
        }
    }

    /// Turns the outcome of `send` into an [`Answer`] or an error.
    async fn judge<E>(
        &self,
        command: &str,
        sent: Result<reqwest::Result<reqwest::Response>, E>,
        slot: OwnedSemaphorePermit,
    ) -> Result<Answer, CallError> {
        let response = match sent {
            Err(_) => {
                return Err(BackendError::Timeout(format!(
                    "{command}: no answer from the node within {:.1}s",
                    self.options.first_byte_timeout().as_secs_f64()
                ))
                .into());
            }
            Ok(Err(e)) => return Err(transport_error(command, &e, self.url()).into()),
            Ok(Ok(r)) => r,
        };
        let status = response.status().as_u16();
        if status == 200 {
            return Ok(Answer {
                response,
                slot,
                command: command.to_string(),
                idle: self.options.first_byte_timeout(),
            });
        }
        let body = tokio::time::timeout(self.options.first_byte_timeout(), response.bytes())
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        if status == 404 && looks_like_unknown_command(&body) {
            return Err(CallError::NoSuchCommand(command.to_string()));
        }
        Err(wire::map_error(command, status, &body).into())
    }

    /// A call whose answer is read whole, within the total timeout.
    pub async fn call_whole(
        &self,
        command: &str,
        query: Query<'_>,
        retry: Retry,
    ) -> Result<Bytes, CallError> {
        let total = self.options.total_timeout();
        match tokio::time::timeout(total, async {
            self.call(command, query, retry).await?.whole().await
        })
        .await
        {
            Ok(r) => r,
            Err(_) => Err(BackendError::Timeout(format!(
                "{command}: not finished within {:.1}s",
                total.as_secs_f64()
            ))
            .into()),
        }
    }

    /// `call_whole` + JSON parsing.
    pub async fn json<T: for<'de> serde::Deserialize<'de>>(
        &self,
        command: &str,
        query: Query<'_>,
        retry: Retry,
    ) -> Result<T, CallError> {
        let body = self.call_whole(command, query, retry).await?;
        Ok(wire::parse(command, &body)?)
    }
}

/// js-ipfs answers an unknown command with `{"Message":"Not Found","Code":3}`, Kubo with
/// `404 page not found`; a missing object is never a 404.
fn looks_like_unknown_command(body: &[u8]) -> bool {
    let text = String::from_utf8_lossy(body).to_ascii_lowercase();
    text.contains("not found")
}

fn transport_error(command: &str, e: &reqwest::Error, url: &str) -> BackendError {
    let mut detail = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        detail = format!("{detail}: {s}");
        source = s.source();
    }
    if e.is_timeout() {
        BackendError::Timeout(format!(
            "{command}: connecting to the node at {url}: {detail}"
        ))
    } else {
        BackendError::Unavailable(format!(
            "{command}: the node at {url} is unreachable: {detail}"
        ))
    }
}

impl Answer {
    /// The body as a stream that fails on an `X-Stream-Error` trailer, an early end, or an
    /// idle gap longer than the first-byte timeout. Holds the concurrency slot until done.
    pub fn stream(self) -> ByteStream {
        let Answer {
            response,
            slot,
            command,
            idle,
        } = self;
        let body = http::Response::from(response).into_body();
        futures_util::stream::try_unfold(
            (body, slot, command),
            move |(mut body, slot, command)| async move {
                loop {
                    let frame = match tokio::time::timeout(idle, body.frame()).await {
                        Err(_) => {
                            return Err(BackendError::Timeout(format!(
                                "{command}: the node stopped sending for {:.1}s",
                                idle.as_secs_f64()
                            )));
                        }
                        Ok(None) => return Ok(None),
                        Ok(Some(Err(e))) => {
                            return Err(BackendError::Unavailable(format!(
                                "{command}: the node's answer broke off: {e}"
                            )));
                        }
                        Ok(Some(Ok(frame))) => frame,
                    };
                    match frame.into_data() {
                        Ok(data) if data.is_empty() => continue,
                        Ok(data) => return Ok(Some((data, (body, slot, command)))),
                        Err(frame) => {
                            if let Some(message) = frame
                                .trailers_ref()
                                .and_then(|t| t.get("x-stream-error"))
                                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                                .filter(|m| !m.trim().is_empty())
                            {
                                return Err(BackendError::BadGateway(format!(
                                    "{command}: the node failed in the middle of its answer: \
                                     {message}"
                                )));
                            }
                        }
                    }
                }
            },
        )
        .boxed()
    }

    /// The whole body (for answers known to be small), checked like [`Self::stream`].
    pub async fn whole(self) -> Result<Bytes, CallError> {
        let command = self.command.clone();
        let mut stream = self.stream();
        let mut out = BytesMut::new();
        while let Some(chunk) = stream.try_next().await? {
            if out.len() + chunk.len() > MAX_WHOLE_ANSWER {
                return Err(BackendError::BadGateway(format!(
                    "{command}: answer larger than {MAX_WHOLE_ANSWER} bytes"
                ))
                .into());
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out.freeze())
    }
}

#[cfg(test)]
mod tests {
    //! The transport against a scripted HTTP/1.1 server on loopback: trailers, early ends,
    //! retries, time limits, the concurrency limit and the Authorization header.
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// Serves `reply(n)` (raw bytes) to the n-th connection; records each request's head.
    async fn scripted(
        reply: impl Fn(usize) -> Option<Vec<u8>> + Send + Sync + 'static,
    ) -> (String, Arc<parking_lot::Mutex<Vec<String>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let heads = Arc::new(parking_lot::Mutex::new(Vec::new()));
        let seen = heads.clone();
        let count = Arc::new(AtomicUsize::new(0));
        let reply = Arc::new(reply);
        tokio::spawn(async move {
            loop {
                let (mut sock, _) = listener.accept().await.unwrap();
                let (seen, count, reply) = (seen.clone(), count.clone(), reply.clone());
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 16384];
                    let n = sock.read(&mut buf).await.unwrap_or(0);
                    seen.lock()
                        .push(String::from_utf8_lossy(&buf[..n]).into_owned());
                    let i = count.fetch_add(1, Ordering::SeqCst);
                    match reply(i) {
                        Some(bytes) => {
                            let _ = sock.write_all(&bytes).await;
                            let _ = sock.shutdown().await;
                        }
                        None => tokio::time::sleep(Duration::from_secs(30)).await,
                    }
                });
            }
        });
        (url, heads)
    }

    fn chunked(body: &str, trailer: Option<&str>, finish: bool) -> Vec<u8> {
        let mut out = String::from(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTrailer: X-Stream-Error\r\n\
             Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        );
        out += &format!("{:x}\r\n{body}\r\n", body.len());
        if finish {
            out += "0\r\n";
            if let Some(t) = trailer {
                out += &format!("X-Stream-Error: {t}\r\n");
            }
            out += "\r\n";
        }
        out.into_bytes()
    }

    fn client(url: &str, tweak: impl FnOnce(&mut KuboOptions)) -> RpcClient {
        let mut o = KuboOptions {
            url: url.into(),
            first_byte_timeout_ms: 500,
            retry_backoff_ms: 10,
            ..Default::default()
        };
        tweak(&mut o);
        RpcClient::new(o).unwrap()
    }

    async fn read_all(c: &RpcClient) -> Result<Bytes, BackendError> {
        Ok(c.call("cat", &[], Retry::Never).await?.whole().await?)
    }

    #[tokio::test]
    async fn a_clean_stream_is_whole() {
        let (url, _) = scripted(|_| Some(chunked("hello", None, true))).await;
        assert_eq!(read_all(&client(&url, |_| {})).await.unwrap(), "hello");
    }

    #[tokio::test]
    async fn a_stream_error_trailer_fails_the_stream() {
        let (url, _) = scripted(|_| Some(chunked("partial", Some("disk on fire"), true))).await;
        let err = read_all(&client(&url, |_| {})).await.unwrap_err();
        assert!(
            matches!(&err, BackendError::BadGateway(m) if m.contains("disk on fire")),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn an_early_end_fails_the_stream() {
        let (url, _) = scripted(|_| Some(chunked("partial", None, false))).await;
        let err = read_all(&client(&url, |_| {})).await.unwrap_err();
        assert!(matches!(err, BackendError::Unavailable(_)), "{err:?}");
    }

    #[tokio::test]
    async fn reads_are_retried_and_writes_are_not() {
        let fail = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbusy".to_vec();
        let (url, heads) = scripted(move |i| {
            Some(if i < 2 {
                fail.clone()
            } else {
                chunked("ok", None, true)
            })
        })
        .await;
        let c = client(&url, |o| o.retries = 2);
        let body = c
            .call("version", &[], Retry::Idempotent)
            .await
            .ok()
            .unwrap()
            .whole()
            .await
            .ok()
            .unwrap();
        assert_eq!((body.as_ref(), heads.lock().len()), (&b"ok"[..], 3));
        let (url, heads) = scripted(|_| {
            Some(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec())
        })
        .await;
        let c = client(&url, |o| o.retries = 2);
        let err = c.call("pin/add", &[], Retry::Never).await.err().unwrap();
        assert!(matches!(
            BackendError::from(err),
            BackendError::Unavailable(_)
        ));
        assert_eq!(heads.lock().len(), 1);
    }

    #[tokio::test]
    async fn a_silent_node_times_out_and_an_absent_one_is_unavailable() {
        let (url, _) = scripted(|_| None).await;
        let c = client(&url, |o| o.retries = 0);
        let started = std::time::Instant::now();
        let err = BackendError::from(c.call("cat", &[], Retry::Idempotent).await.err().unwrap());
        assert!(matches!(err, BackendError::Timeout(_)), "{err:?}");
        assert!(started.elapsed() < Duration::from_secs(5));
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        let c = client(&format!("http://{closed}"), |o| o.retries = 1);
        let err = BackendError::from(c.call("id", &[], Retry::Idempotent).await.err().unwrap());
        assert!(
            matches!(&err, BackendError::Unavailable(m) if m.contains("unreachable")),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn the_concurrency_limit_holds_while_streams_are_open() {
        let (url, _) = scripted(|_| Some(chunked("first chunk", None, true))).await;
        let c = client(&url, |o| {
            o.max_concurrent_requests = 1;
            o.first_byte_timeout_ms = 300;
        });
        let open = c.call("cat", &[], Retry::Never).await.ok().unwrap();
        assert_eq!(c.in_flight(), 1);
        let err = BackendError::from(c.call("cat", &[], Retry::Never).await.err().unwrap());
        assert!(
            matches!(&err, BackendError::Unavailable(m) if m.contains("slots")),
            "{err:?}"
        );
        assert_eq!(open.whole().await.ok().unwrap(), "first chunk");
        assert_eq!(c.in_flight(), 0, "a finished stream frees its slot");
        assert!(c.call("cat", &[], Retry::Never).await.is_ok());
    }

    #[tokio::test]
    async fn the_authorization_header_is_sent_and_unknown_commands_are_told_apart() {
        let (url, heads) = scripted(|_| {
            Some(b"HTTP/1.1 404 Not Found\r\nContent-Length: 47\r\nConnection: close\r\n\r\n{\"Message\":\"Not Found\",\"Code\":3,\"Type\":\"error\"}".to_vec())
        })
        .await;
        let c = client(&url, |o| {
            o.authorization = Some(super::super::options::Secret::new("Bearer s3cret"))
        });
        let err = c
            .call("routing/findprovs", &[("arg", "x".into())], Retry::Never)
            .await
            .err()
            .unwrap();
        assert!(matches!(err, CallError::NoSuchCommand(_)));
        let head = heads.lock()[0].to_ascii_lowercase();
        assert!(
            head.starts_with("post /api/v0/routing/findprovs?arg=x "),
            "{head}"
        );
        assert!(head.contains("authorization: bearer s3cret"), "{head}");
    }
}
