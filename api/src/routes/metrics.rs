//! `/metrics` for staff, and the middleware that counts every HTTP response by route and
//! status.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{HttpRequest, HttpResponse, web};

use super::{authenticate, error_response};
use crate::auth::Principal;
use crate::state::AppState;

/// Prometheus text, for staff credentials only (a scraper sends a staff token as
/// `bearer_token`): operation names and volumes are not for the public.
pub async fn metrics_text(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    match authenticate(&state, &req).await {
        Ok(Principal::Staff { .. }) => {}
        Ok(Principal::Anonymous) => {
            return error_response(
                StatusCode::UNAUTHORIZED,
                "UNAUTHENTICATED",
                "send a staff token: Authorization: Bearer <token>",
            );
        }
        Ok(_) => {
            return error_response(StatusCode::FORBIDDEN, "FORBIDDEN", "metrics are for staff");
        }
        Err(response) => return *response,
    }
    if let Some(counts) = state.store.placement_counts() {
        state
            .metrics
            .placements(counts.batched, counts.single, counts.batches);
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.metrics.render())
}

/// Counts each response in `orderly_http_requests_total{route,status}`.
pub async fn track(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let response = next.call(req).await?;
    if let Some(state) = state {
        let route = response
            .request()
            .match_pattern()
            .unwrap_or_else(|| "unmatched".to_owned());
        state
            .metrics
            .http_request(&route, response.status().as_u16());
    }
    Ok(response)
}
