//! `?format=tar` / `Accept: application/x-tar`: the path as a TAR archive
//! ([`crate::models::tar`]). The whole tree is checked before the answer starts, so a tree
//! with names that leave the root is a 400, not a truncated archive.

use super::negotiate::disposition_for;
use super::{Ctx, Result};
use crate::models::tar;
use actix_web::HttpResponse;
use actix_web::http::{StatusCode, header};

pub async fn serve(ctx: &Ctx<'_>) -> Result<HttpResponse> {
    let model = &ctx.state.model;
    let walked = model.resolve(&ctx.path).await?;
    let cid = walked.cid;
    // weak: the archive's bytes (headers) are ours, not the content's
    let etag = format!("W/\"{cid}.x-tar\"");
    let mut res = HttpResponse::Ok();
    ctx.immutable(&mut res, &etag, &walked.nodes);
    res.insert_header((header::CONTENT_TYPE, "application/x-tar"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header((header::VARY, "Accept"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            disposition_for(ctx.query, "attachment", &format!("{cid}.tar")),
        ));
    if ctx.not_modified(&etag) {
        return Ok(res.status(StatusCode::NOT_MODIFIED).finish());
    }
    let entries = tar::plan(model.node(), cid, walked.block).await?;
    Ok(res.streaming(tar::stream(model.backend(), entries)))
}
