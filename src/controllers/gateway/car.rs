//! `?format=car` / `Accept: application/vnd.ipld.car`: a CARv1 of the path (trustless
//! gateway), streamed by [`crate::models::car`] with `dag-scope`, `entity-bytes` and
//! `dups`. The path is resolved before the answer starts, so a path that does not exist is
//! a 404, not a CAR cut short; a block missing later aborts the stream.

use super::negotiate::CarParams;
use super::{Ctx, Result};
use crate::controllers::error::ApiError;
use crate::models::car::{self, DagScope, EntityBytes, ExportOptions};
use actix_web::HttpResponse;
use actix_web::http::{StatusCode, header};

pub async fn serve(ctx: &Ctx<'_>, params: CarParams) -> Result<HttpResponse> {
    let (query, path) = (ctx.query, &ctx.path);
    let scope: DagScope = query
        .get("dag-scope")
        .map_or(Ok(DagScope::All), |s| s.parse())?;
    let entity_bytes: Option<EntityBytes> =
        query.get("entity-bytes").map(|s| s.parse()).transpose()?;
    if entity_bytes.is_some() && scope != DagScope::Entity {
        return Err(ApiError::bad_request("entity-bytes needs dag-scope=entity"));
    }
    let dups = if params.dups { "y" } else { "n" };
    let mut etag = format!("{}.car.{}", path.root, scope.as_str());
    if params.dups {
        etag.push_str(".dups");
    }
    if let Some(eb) = entity_bytes {
        let to = eb.to.map_or("*".to_string(), |t| t.to_string());
        etag = format!("{etag}.{}-{to}", eb.from);
    }
    if !path.segments.is_empty() {
        etag = format!("{etag}.{}", path.segments.join("/"));
    }
    let etag = format!("\"{etag}\"");
    // the path must resolve before a 200 goes out
    let walked = ctx.state.model.resolve(path).await?;
    let mut res = HttpResponse::Ok();
    ctx.immutable(&mut res, &etag, &walked.nodes);
    res.insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header((header::ACCEPT_RANGES, "none"))
        .insert_header((header::VARY, "Accept"))
        .insert_header((
            header::CONTENT_TYPE,
            format!("application/vnd.ipld.car; version=1; order=dfs; dups={dups}"),
        ))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{}.car\"", path.root),
        ));
    if ctx.not_modified(&etag) {
        return Ok(res.status(StatusCode::NOT_MODIFIED).finish());
    }
    let options = ExportOptions {
        scope,
        entity_bytes,
        dups: params.dups,
    };
    Ok(res.streaming(car::export(
        ctx.state.model.backend(),
        path.clone(),
        options,
    )))
}
