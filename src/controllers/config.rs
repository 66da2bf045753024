//! `/api/v0/mcp/cli/config/*`: the configuration. `update` changes the settings that can change
//! while serving (today: the default rate and burst, the cap on requests in flight), without
//! a restart or dropped connections. A field that cannot change at run time is a 422 naming it,
//! never ignored.

use super::{AppState, Result, envelope};
use crate::models::auth::scope::Rate;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Update {
    pub auth: Option<AuthUpdate>,
    pub limits: Option<LimitsUpdate>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthUpdate {
    pub default_rate: Option<Rate>,
    pub default_burst: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsUpdate {
    pub max_in_flight: Option<usize>,
}

/// `POST cli/config/update`: applies the run-time settings given; answers their values now.
pub async fn update(
    req: HttpRequest,
    body: web::Json<Update>,
    state: web::Data<AppState>,
) -> Result<HttpResponse> {
    let limits = &state.limits;
    if let Some(auth) = &body.auth {
        let (rate, burst) = limits.default_rate();
        if auth.default_rate.is_some() || auth.default_burst.is_some() {
            limits.set_default(
                auth.default_rate.unwrap_or(rate),
                auth.default_burst.unwrap_or(burst),
            );
        }
    }
    if let Some(n) = body.limits.as_ref().and_then(|l| l.max_in_flight) {
        if n == 0 {
            return Err(super::error::ApiError::bad_request(
                "limits.max_in_flight must be at least 1",
            ));
        }
        limits.set_max_in_flight(n);
    }
    let (rate, burst) = limits.default_rate();
    Ok(envelope::ok(
        &req,
        state.model.simulated(),
        json!({
            "auth": {"default_rate": rate, "default_burst": burst},
            "limits": {"max_in_flight": limits.max_in_flight()},
        }),
    ))
}
