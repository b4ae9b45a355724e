//! `/health` (the process is up) and `/ready` (the database and the event bus answer).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};

use crate::service::db_health::PROBE_DEADLINE;
use crate::state::AppState;

/// 200 while the process is up.
pub async fn health() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

/// 200 when the database and the event bus answer, else 503 naming the one that does not;
/// within about a second either way: a database the probe finds gone is not asked again,
/// and each check has [`PROBE_DEADLINE`].
pub async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let database = async {
        if state.db_health.is_down() {
            return Err("the database probe finds it unreachable".to_owned());
        }
        match tokio::time::timeout(PROBE_DEADLINE, state.store.ping()).await {
            Ok(answer) => answer.map_err(|e| format!("{e:?}")),
            Err(_) => Err(format!("no answer within {PROBE_DEADLINE:?}")),
        }
    };
    let bus = async {
        match tokio::time::timeout(PROBE_DEADLINE, state.bus.health()).await {
            Ok(answer) => answer.map_err(|e| e.to_string()),
            Err(_) => Err(format!("no answer within {PROBE_DEADLINE:?}")),
        }
    };
    let (database, bus) = tokio::join!(database, bus);
    let report = serde_json::json!({
        "database": if database.is_ok() { "ok" } else { "unavailable" },
        "bus": if bus.is_ok() { "ok" } else { "unavailable" },
        "busKind": state.bus.name(),
    });
    if let Err(err) = &database {
        tracing::warn!(error = %err, "readiness: database unavailable");
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
