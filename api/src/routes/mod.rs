//! HTTP handlers: `/graphql` (POST, GET, and the WebSocket upgrade handed to `ws`),
//! `/health`, `/ready` and `/metrics`; the GraphiQL page and its bundles; the customer
//! portal (`/portal`), the staff console (`/console`) and the demo sign-in behind them.
//! They read the shared `AppState`; `startup` mounts them.

pub mod app;
pub mod assets;
pub mod cors;
pub mod demo;
pub mod graphql;
pub mod health;
pub mod metrics;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse};

use crate::auth::{self, AuthError, Credentials, Principal};
use crate::state::AppState;

/// A GraphQL-shaped error response with `extensions.code` and `extensions.correlationId`
/// (the request's, the same as its `X-Request-Id`).
pub fn error_response(status: StatusCode, code: &str, message: &str) -> HttpResponse {
    let correlation_id = crate::telemetry::CorrelationId::current_or_new();
    HttpResponse::build(status).json(serde_json::json!({
        "errors": [{
            "message": message,
            "extensions": { "code": code, "correlationId": correlation_id }
        }]
    }))
}

/// How long a client refused with `UNAVAILABLE` is asked to wait (`Retry-After`, s).
pub const RETRY_UNAVAILABLE_AFTER_SECS: u32 = 1;

/// 503 `UNAVAILABLE` with `Retry-After`, at once, while the database probe finds the
/// database gone (instead of waiting out the pool's acquire timeout); `None` otherwise.
pub fn refuse_while_database_down(state: &AppState) -> Option<HttpResponse> {
    if !state.db_health.is_down() {
        return None;
    }
    let mut response = error_response(
        StatusCode::SERVICE_UNAVAILABLE,
        "UNAVAILABLE",
        "temporarily unavailable; retry shortly",
    );
    response.headers_mut().insert(
        header::RETRY_AFTER,
        header::HeaderValue::from(RETRY_UNAVAILABLE_AFTER_SECS),
    );
    Some(response)
}

/// 401 `UNAUTHENTICATED` with `WWW-Authenticate: Bearer`.
fn unauthenticated() -> HttpResponse {
    let mut response = error_response(
        StatusCode::UNAUTHORIZED,
        "UNAUTHENTICATED",
        "invalid, expired or revoked credentials",
    );
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer"),
    );
    response
}

/// Who is calling, from `Authorization: Bearer …` or `X-Api-Key`; bad credentials are
/// refused outright (401), never downgraded to anonymous.
pub async fn authenticate(
    state: &AppState,
    req: &HttpRequest,
) -> Result<Principal, Box<HttpResponse>> {
    // A credential header that is present but not readable text (bytes outside visible
    // ASCII) is refused like a wrong one, never read as "no credentials".
    let header_text = |name| match req.headers().get(name) {
        None => Ok(None),
        Some(value) => value.to_str().map(Some),
    };
    let (Ok(authorization), Ok(api_key)) = (
        header_text(header::AUTHORIZATION),
        header_text(header::HeaderName::from_static("x-api-key")),
    ) else {
        tracing::debug!("refused credentials: a credential header is not visible ASCII");
        return Err(Box::new(unauthenticated()));
    };
    let credentials = Credentials {
        bearer: authorization.map(auth::bearer_token),
        api_key,
    };
    match auth::authenticate(&state.keys, &state.store, credentials).await {
        Ok(authenticated) => Ok(authenticated.principal),
        Err(AuthError::Lookup(err)) => {
            let error = crate::graphql::error::internal(&*err);
            Err(Box::new(HttpResponse::ServiceUnavailable().json(
                serde_json::json!({ "errors": [error.into_server_error(Default::default())] }),
            )))
        }
        Err(err) => {
            tracing::debug!(error = %err, "refused credentials");
            Err(Box::new(unauthenticated()))
        }
    }
}
