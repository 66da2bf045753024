//! `/api/v0/mcp/cli/config*`: the configuration (admin). `GET` shows the effective settings
//! (secrets `<redacted>` unless `include_secrets=true`), `save` writes them below the data dir,
//! `validate` and `convert` check or translate a document, and `update` changes the settings
//! that can change while serving (`models::runtime`: rates, the cap on requests in flight, cache
//! limits, the log level), without a restart or dropped connections. A field that cannot change
//! at run time is a 422 naming it, never ignored.

use super::error::ApiError;
use super::{AppState, Result, envelope};
use crate::config::Settings;
use crate::config::document::{Format, save_target};
use crate::models::runtime::Change;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

/// The settings in effect now: the loaded ones with the run-time changes applied.
fn effective(state: &AppState) -> Settings {
    state.tunables.effective(&state.settings)
}

fn format_arg(text: Option<&str>) -> Result<Format> {
    text.map_or(Ok(Format::Json), |t| {
        Format::parse(t).map_err(|e| ApiError::bad_request(e.to_string()))
    })
}

/// `GET cli/config?format=json|yaml|toml&include_secrets=false`.
#[utoipa::path(
    get,
    path = "/api/v0/mcp/cli/config",
    tag = "config",
    params(crate::controllers::openapi::args::ShowConfigArgs),
    responses(crate::controllers::openapi::answers::Json)
)]
pub async fn show(
    req: HttpRequest,
    query: web::Query<std::collections::HashMap<String, String>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let args = super::params::Args::query_only(query.into_inner());
    let format = format_arg(args.str(&["format"]).as_deref())?;
    let secrets = args.bool(&["include_secrets"], false)?;
    let settings = effective(&state);
    let content = settings
        .render(format, secrets)
        .map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(envelope::ok(
        &req,
        state.model.simulated(),
        json!({
            "format": format, "include_secrets": secrets,
            "config": settings.to_value(secrets), "content": content,
        }),
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SaveRequest {
    pub config_path: String,
    pub format: Option<String>,
    #[serde(default)]
    pub include_secrets: bool,
    #[serde(default)]
    pub overwrite: bool,
}

/// `POST cli/config/save`: the effective settings to a file below `<data dir>/config/`.
#[utoipa::path(post, path = "/api/v0/mcp/cli/config/save", tag = "config", request_body = SaveRequest, responses(crate::controllers::openapi::answers::Json))]
pub async fn save(
    req: HttpRequest,
    body: web::Json<SaveRequest>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let Some(data_dir) = state.model.data_dir() else {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "no_data_dir",
            "this server keeps no data dir (--isolation): there is nowhere to save to",
        ));
    };
    let root = data_dir.join("config");
    let target =
        save_target(&root, &body.config_path).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let format = match &body.format {
        Some(f) => format_arg(Some(f))?,
        None => Format::of_path(&target).unwrap_or(Format::Toml),
    };
    let content = effective(&state)
        .render(format, body.include_secrets)
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let written = tokio::task::spawn_blocking({
        let (target, overwrite) = (target.clone(), body.overwrite);
        move || write_config(&target, content.as_bytes(), overwrite)
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))?;
    written?;
    Ok(envelope::ok(
        &req,
        state.model.simulated(),
        json!({"saved": true, "config_path": target, "format": format,
               "include_secrets": body.include_secrets}),
    ))
}

/// Writes `bytes` to `target` (mode 0600: it may hold secrets), whole or not at all.
fn write_config(target: &std::path::Path, bytes: &[u8], overwrite: bool) -> Result<()> {
    if target.exists() && !overwrite {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "already_exists",
            format!(
                "{} exists; pass overwrite: true to replace it",
                target.display()
            ),
        ));
    }
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| ApiError::internal(format!("{}: {e}", parent.display())))?;
    }
    crate::persistence::credentials::write_private(target, bytes)
        .map_err(|e| ApiError::internal(e.to_string()))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DocumentRequest {
    /// The document: a string in `format`, or (JSON) an object.
    pub config: Value,
    pub format: Option<String>,
    /// `convert` only: the format wanted.
    pub to: Option<String>,
    #[serde(default)]
    pub include_secrets: bool,
}

fn parse_document(body: &DocumentRequest) -> Result<std::result::Result<Settings, Value>> {
    let (text, format) = match &body.config {
        Value::String(text) => (text.clone(), format_arg(body.format.as_deref())?),
        other => (other.to_string(), Format::Json),
    };
    Ok(Settings::from_document(&text, format).map_err(|errors| json!(errors)))
}

/// `POST cli/config/validate {config, format}`: `valid`, and each error with its field.
#[utoipa::path(post, path = "/api/v0/mcp/cli/config/validate", tag = "config", request_body = DocumentRequest, responses(crate::controllers::openapi::answers::Json))]
pub async fn validate(
    req: HttpRequest,
    body: web::Json<DocumentRequest>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let fields = match parse_document(&body)? {
        Ok(_) => json!({"valid": true, "errors": []}),
        Err(errors) => json!({"valid": false, "errors": errors}),
    };
    Ok(envelope::ok(&req, state.model.simulated(), fields))
}

/// `POST cli/config/convert {config, format, to}`: the same settings in another format (a
/// document with errors is a 422 listing them).
#[utoipa::path(post, path = "/api/v0/mcp/cli/config/convert", tag = "config", request_body = DocumentRequest, responses(crate::controllers::openapi::answers::Json))]
pub async fn convert(
    req: HttpRequest,
    body: web::Json<DocumentRequest>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let to = format_arg(Some(body.to.as_deref().unwrap_or("json")))?;
    let settings = parse_document(&body)?.map_err(|errors| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_config",
            format!("the document is not valid: {errors}"),
        )
    })?;
    // the caller sent the secrets; they come back only if asked for
    let content = settings
        .render(to, body.include_secrets)
        .map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(envelope::ok(
        &req,
        state.model.simulated(),
        json!({"format": to, "content": content}),
    ))
}

/// `POST cli/config/update`: applies the run-time settings given (`models::runtime::Change`:
/// `auth.default_rate|default_burst`, `limits.max_in_flight`,
/// `cache.memory_limit|disk_limit|max_object_bytes`, `telemetry.log_level`); answers their
/// values now. A wrong value is a 422 naming its field, one this server cannot take a 409;
/// either way nothing is changed.
#[utoipa::path(post, path = "/api/v0/mcp/cli/config/update", tag = "config", request_body = Change, responses(crate::controllers::openapi::answers::Json))]
pub async fn update(
    req: HttpRequest,
    body: web::Json<Change>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    state.tunables.apply(&body)?;
    tracing::info!(change = ?body.0, "run-time settings changed");
    let s = effective(&state);
    Ok(envelope::ok(
        &req,
        state.model.simulated(),
        json!({
            "auth": {"default_rate": s.auth.default_rate, "default_burst": s.auth.default_burst},
            "limits": {"max_in_flight": s.limits.max_in_flight},
            "cache": {
                "memory_limit": s.cache.memory_limit,
                "disk_limit": state.tunables.has_disk().then_some(s.cache.disk_limit),
                "max_object_bytes": s.cache.max_object_bytes,
            },
            "telemetry": {"log_level": s.telemetry.log_level},
        }),
    ))
}
