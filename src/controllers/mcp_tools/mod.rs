//! The Model Context Protocol server (rmcp): streamable HTTP at `/mcp` on the same actix server
//! (rmcp-actix-web), and stdio for desktop agents (`ipfs-mcp mcp`).
//!
//! A thin controller like the others: every tool runs an operation of [`super::ops`] (the same
//! functions as the MCP routes), checked against the route access that operation has, so
//! keys, JWTs and scopes mean the same here as over HTTP. What is MCP's own lives here:
//!
//! * **Tools** ([`tools::TOOLS`]) with input and output schemas; a result's fields are its
//!   structured content, and a failure is a tool result with `isError` whose structured
//!   content is the HTTP API's error body (the same `error_type` names).
//! * **Content**: `ipfs_cat` answers text when the bytes are text, else a blob; anything over
//!   `limits.max_inline_cat_bytes` is a resource link (`ipfs://<cid>`) instead.
//! * **Resources**: the template `ipfs://{cid}` (a file, as text or blob by its type), and
//!   `ipfs://pins`, the pin set.
//! * **Progress**: when a call carries a progress token, adds and cats report their bytes
//!   (at most one notification per [`PROGRESS_EVERY`] bytes, and the last).
//! * **Who calls**: over HTTP, the caller is resolved from the request's credentials when it
//!   arrives (`on_request`), and `/mcp` itself needs a credential when auth is on; over stdio
//!   the caller is the local user who started the process, and nothing is checked.
//! * **Origin and Host** are rmcp's checks, configured from `[mcp]` (a browser page on an
//!   origin not listed gets 403; rmcp's default would accept any).

pub mod tools;

use super::AppState;
use super::error::ApiError;
use super::ops;
use crate::models::auth::Principal;
use actix_web::web;
use rmcp::model::*;
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};
use serde_json::{Value, json};
use std::sync::Arc;
use tools::Runs;

/// Bytes between two progress notifications.
pub const PROGRESS_EVERY: u64 = 1024 * 1024;

/// Who made an MCP request over HTTP (`None` inside: anonymous).
#[derive(Clone)]
struct Caller(Option<Principal>);

/// The MCP server of one session; all share the application's state.
#[derive(Clone)]
pub struct McpServer {
    state: web::Data<AppState>,
    /// Over stdio: the local user, no credential checks.
    local: bool,
}

impl McpServer {
    pub fn new(state: web::Data<AppState>, local: bool) -> Self {
        Self { state, local }
    }

    /// Who sent this request over HTTP (`on_request` put them there).
    fn caller(context: &RequestContext<RoleServer>) -> Option<Principal> {
        rmcp_actix_web::transport::on_request_extensions(&context.extensions)
            .and_then(|ext| ext.get::<Caller>())
            .and_then(|c| c.0.clone())
    }

    /// Whether the caller may run `op` (always over stdio, and with auth off).
    fn authorize(&self, op: Option<&ops::Op>, caller: Option<&Principal>) -> Result<(), ApiError> {
        if self.local || !self.state.auth.options.enabled {
            return Ok(());
        }
        let access = match op {
            Some(op) => crate::startup::access_of(op.route),
            None => crate::models::auth::scope::Access::Authenticated,
        };
        Ok(self.state.auth.authorize(access, caller)?)
    }

    /// The progress reporter of a call that carries a progress token, and the task that sends
    /// its notifications (it ends once the reporter is dropped and all are sent).
    fn progress(
        &self,
        context: &RequestContext<RoleServer>,
    ) -> Option<(ops::Progress, tokio::task::JoinHandle<()>)> {
        let token = context.meta.get_progress_token()?;
        let peer = context.peer.clone();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(u64, Option<u64>)>();
        let sender = tokio::spawn(async move {
            while let Some((done, total)) = rx.recv().await {
                let mut note = ProgressNotificationParam::new(token.clone(), done as f64);
                note.total = total.map(|t| t as f64);
                note.message = Some(format!("{done} bytes"));
                if peer.notify_progress(note).await.is_err() {
                    break;
                }
            }
        });
        let told = std::sync::atomic::AtomicU64::new(0);
        let report: ops::Progress = Arc::new(move |done, total| {
            use std::sync::atomic::Ordering::Relaxed;
            let last = told.load(Relaxed);
            if done - last >= PROGRESS_EVERY || Some(done) == total || last == 0 {
                told.store(done.max(1), Relaxed);
                // unbounded, but at most one message per PROGRESS_EVERY bytes
                let _ = tx.send((done, total));
            }
        });
        Some((report, sender))
    }

    async fn run_tool(
        &self,
        tool: &tools::Tool,
        args: Value,
        progress: Option<ops::Progress>,
        caller: Option<&Principal>,
    ) -> Result<CallToolResult, ApiError> {
        let state = &self.state;
        match tool.runs {
            Runs::Op(name) => {
                let op = ops::find(name).expect("every tool's operation exists");
                let fields = ops::run_with(state, op, &args, progress).await?;
                Ok(CallToolResult::structured(fields))
            }
            Runs::Cat => self.cat(args, progress).await,
            Runs::Batch => {
                let batch: super::batch::Batch = serde_json::from_value(args)
                    .map_err(|e| ApiError::bad_request(format!("batch: {e}")))?;
                let fields = super::batch::run(state, &batch, caller, self.local, "").await?;
                Ok(CallToolResult::structured(fields))
            }
        }
    }

    /// `ipfs_cat`: text, a blob, or (over the inline limit) a link to the resource.
    async fn cat(
        &self,
        args: Value,
        progress: Option<ops::Progress>,
    ) -> Result<CallToolResult, ApiError> {
        let state = &self.state;
        let path = args["cid"].as_str().unwrap_or_default().to_string();
        let stat = ops::run(state, ops::find("ipfs/stat").expect("listed"), &args).await?;
        let size = stat["size"].as_u64().unwrap_or(0);
        let offset = args["offset"].as_u64().unwrap_or(0).min(size);
        let length = args["length"]
            .as_u64()
            .unwrap_or(size - offset)
            .min(size - offset);
        let cid = stat["cid"].as_str().unwrap_or_default().to_string();
        let uri = format!("ipfs://{}", path.trim_start_matches("/ipfs/"));
        if length > state.settings.limits.max_inline_cat_bytes {
            let mut link = Resource::new(uri.clone(), cid.clone());
            link.size = Some(size);
            link.description = Some(format!(
                "{size} bytes: over the inline limit; read it as this resource in ranges, or \
                 over HTTP at /ipfs/{cid}"
            ));
            let known = cid
                .parse()
                .ok()
                .and_then(|c| state.model.content_types.known(&c));
            let mut result = CallToolResult::structured(json!({
                "cid": cid, "size": size, "offset": offset, "length": length,
                "content_type": known.unwrap_or("application/octet-stream"),
                "inline": false, "uri": uri,
            }));
            result.content.insert(0, ContentBlock::resource_link(link));
            return Ok(result);
        }
        let read = ops::run_with(
            state,
            ops::find("ipfs/cat").expect("listed"),
            &args,
            progress,
        )
        .await?;
        let (block, fields) = content_block(&read, &uri);
        let mut result = CallToolResult::structured(fields);
        result.content = vec![block];
        Ok(result)
    }

    /// `ipfs://pins`, or `ipfs://<cid>[/path]` read whole (up to the inline limit).
    async fn read(&self, uri: &str) -> Result<ResourceContents, ApiError> {
        let state = &self.state;
        if uri == "ipfs://pins" {
            let pins = ops::run(
                state,
                ops::find("ipfs/pin/ls").expect("listed"),
                &Value::Null,
            )
            .await?;
            return Ok(ResourceContents::text(pins["pins"].to_string(), uri)
                .with_mime_type("application/json"));
        }
        let path = uri
            .strip_prefix("ipfs://")
            .ok_or_else(|| ApiError::bad_request(format!("{uri}: not an ipfs:// URI")))?;
        let read = ops::run(
            state,
            ops::find("ipfs/cat").expect("listed"),
            &json!({"cid": path}),
        )
        .await?;
        let (block, _) = content_block(&read, uri);
        match block {
            ContentBlock::Resource(embedded) => Ok(embedded.resource),
            ContentBlock::Text(text) => Ok(ResourceContents::text(text.text, uri)
                .with_mime_type(read["content_type"].as_str().unwrap_or("text/plain"))),
            _ => Err(ApiError::internal("unexpected content")),
        }
    }
}

/// The bytes of a `cat` as text (a text type, valid UTF-8) or an embedded blob; and the fields
/// without the bytes.
fn content_block(read: &Value, uri: &str) -> (ContentBlock, Value) {
    use base64::Engine;
    let content_type = read["content_type"]
        .as_str()
        .unwrap_or("application/octet-stream");
    let data = read["data"].as_str().unwrap_or_default();
    let mut fields = read.clone();
    if let Value::Object(f) = &mut fields {
        f.remove("data");
        f.insert("inline".into(), true.into());
    }
    let textual = content_type.starts_with("text/")
        || content_type.contains("json")
        || content_type.contains("xml")
        || content_type.contains("javascript");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data)
        .unwrap_or_default();
    match String::from_utf8(bytes) {
        Ok(text) if textual => (ContentBlock::text(text), fields),
        _ => (
            ContentBlock::resource(ResourceContents::blob(data, uri).with_mime_type(content_type)),
            fields,
        ),
    }
}

fn tool_error(e: &ApiError) -> CallToolResult {
    CallToolResult::structured_error(e.body(""))
}

impl ServerHandler for McpServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_resources()
                .build(),
        )
        .with_server_info(Implementation::new("ipfs-mcp", env!("CARGO_PKG_VERSION")))
        .with_instructions(
            "IPFS through ipfs-mcp: add and read content by CID (ipfs_add, ipfs_cat, ipfs_ls), \
             pin it, work with DAGs and IPNS names, and query the cache and its CID metadata. \
             Content is also a resource: ipfs://<cid>.",
        )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        let tools = tools::TOOLS
            .iter()
            .map(|t| {
                let mut tool = Tool::new(t.name, t.description, Arc::new(t.input_schema()));
                tool.output_schema = Some(Arc::new(t.output_schema()));
                let mut hints = ToolAnnotations::default();
                hints.read_only_hint = Some(t.read_only);
                tool.annotations = Some(hints);
                tool
            })
            .collect();
        Ok(ListToolsResult::with_all_items(tools))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let Some(tool) = tools::find(&request.name) else {
            return Err(McpError::invalid_params(
                format!("no tool {:?}", request.name),
                None,
            ));
        };
        let caller = Self::caller(&context);
        if let Err(e) = self.authorize(tool.op(), caller.as_ref()) {
            return Ok(tool_error(&e).into());
        }
        let args = Value::Object(request.arguments.unwrap_or_default());
        let (progress, sender) = self.progress(&context).unzip();
        let result = match self.run_tool(tool, args, progress, caller.as_ref()).await {
            Ok(result) => result,
            Err(e) => tool_error(&e),
        };
        // every notification before the result: a client drops progress that arrives after
        // the answer to its request (the reporter went with the call, so the sender ends)
        if let Some(sender) = sender {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(10), sender).await;
        }
        Ok(result.into())
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        let mut pins = Resource::new("ipfs://pins", "pins");
        pins.description = Some("The pin set: every pinned CID and how it is pinned".into());
        pins.mime_type = Some("application/json".into());
        Ok(ListResourcesResult::with_all_items(vec![pins]))
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        let mut template = ResourceTemplate::new("ipfs://{cid}", "IPFS content");
        template.description =
            Some("A file by CID (or CID/path): text when it is text, else a blob".into());
        Ok(ListResourceTemplatesResult::with_all_items(vec![template]))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        let data = |e: &ApiError| Some(json!({"error_type": e.error_type}));
        if let Err(e) = self.authorize(ops::find("ipfs/cat"), Self::caller(&context).as_ref()) {
            return Err(McpError::invalid_request(e.message.clone(), data(&e)));
        }
        match self.read(&request.uri).await {
            Ok(contents) => Ok(ReadResourceResult::new(vec![contents]).into()),
            Err(e) if e.status == actix_web::http::StatusCode::NOT_FOUND => {
                Err(McpError::resource_not_found(e.message.clone(), data(&e)))
            }
            Err(e) => Err(McpError::invalid_params(e.message.clone(), data(&e))),
        }
    }
}

/// `/mcp`'s service (one for all workers: they share its sessions).
pub fn http_service(
    state: web::Data<AppState>,
) -> rmcp_actix_web::transport::StreamableHttpService<McpServer> {
    use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
    let settings = &state.settings;
    let mut hosts: Vec<String> = ["localhost", "127.0.0.1", "::1"].map(String::from).to_vec();
    let host = settings.server.host.trim_matches(['[', ']']);
    if !host.is_empty() && host != "0.0.0.0" && host != "::" {
        hosts.push(host.to_string());
    }
    hosts.extend(settings.mcp.allowed_hosts.iter().cloned());
    let origins = settings.mcp.allowed_origins.clone();
    let body_limit = settings.limits.max_json_bytes;
    let auth = state.auth.clone();
    let factory_state = state.clone();
    rmcp_actix_web::transport::StreamableHttpService::builder()
        .service_factory(Arc::new(move || {
            Ok(McpServer::new(factory_state.clone(), false))
        }))
        .session_manager(Arc::new(LocalSessionManager::default()))
        .allowed_hosts(hosts)
        .allowed_origins(origins)
        .max_request_body_bytes(body_limit)
        .on_request_fn(move |req, ext| {
            let caller = auth
                .options
                .enabled
                .then(|| super::authn::principal(req, &auth))
                .flatten();
            ext.insert(Caller(caller));
        })
        .build()
}

/// Serves MCP over stdin/stdout until the client closes it.
pub async fn serve_stdio(state: web::Data<AppState>) -> Result<(), String> {
    use rmcp::ServiceExt;
    use rmcp::transport::async_rw::AsyncRwTransport;
    // a message over the JSON limit is refused here as over HTTP
    let limit = state.settings.limits.max_json_bytes;
    let (stdin, stdout) = rmcp::transport::stdio();
    let transport = AsyncRwTransport::new_server(stdin, stdout).with_max_line_length(limit);
    let running = McpServer::new(state, true)
        .serve(transport)
        .await
        .map_err(|e| format!("MCP over stdio: {e}"))?;
    running
        .waiting()
        .await
        .map_err(|e| format!("MCP over stdio: {e}"))?;
    Ok(())
}
