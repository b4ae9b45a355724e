//! `/health` (the process is up) and `/ready` (the database and the event bus answer).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};

use crate::state::AppState;

/// 200 while the process is up.
pub async fn health() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

/// 200 when the database and the event bus answer, else 503 naming the one that does not.
pub async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let (database, bus) = tokio::join!(state.store.ping(), state.bus.health());
    let report = serde_json::json!({
        "database": if database.is_ok() { "ok" } else { "unavailable" },
        "bus": if bus.is_ok() { "ok" } else { "unavailable" },
        "busKind": state.bus.name(),
    });
    if let Err(err) = &database {
        tracing::warn!(error = ?err, "readiness: database unavailable");
    }
    if let Err(err) = &bus {
        tracing::warn!(error = %err, "readiness: event bus unavailable");
    }
    let status = if database.is_ok() && bus.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    HttpResponse::build(status).json(report)
}
