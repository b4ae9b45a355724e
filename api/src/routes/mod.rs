//! HTTP handlers: `/graphql` (POST, GET, and the WebSocket upgrade handed to `ws`),
//! `/health`, `/ready` and `/metrics`. They read the shared `AppState`; `startup` mounts
//! them.

pub mod graphql;
pub mod health;
pub mod metrics;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse};

use crate::auth::{self, AuthError, Credentials, Principal};
use crate::state::AppState;

/// A GraphQL-shaped error response with `extensions.code`.
pub fn error_response(status: StatusCode, code: &str, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(serde_json::json!({
        "errors": [{ "message": message, "extensions": { "code": code } }]
    }))
}

/// Who is calling, from `Authorization: Bearer …` or `X-Api-Key`; bad credentials are
/// refused outright (401), never downgraded to anonymous.
pub async fn authenticate(
    state: &AppState,
    req: &HttpRequest,
) -> Result<Principal, Box<HttpResponse>> {
    let header_text = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
    let credentials = Credentials {
        bearer: header_text(header::AUTHORIZATION).map(auth::bearer_token),
        api_key: header_text(header::HeaderName::from_static("x-api-key")),
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
            let mut response = error_response(
                StatusCode::UNAUTHORIZED,
                "UNAUTHENTICATED",
                "invalid, expired or revoked credentials",
            );
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
            Err(Box::new(response))
        }
    }
}
