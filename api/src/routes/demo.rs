//! `POST /demo/sign-in`: the "demo" switch of the portal and console. It mints a token
//! for a demo customer (Steven Boyle unless another demo e-mail is named) or for demo
//! staff — only when the server runs on the embedded default with demo data (SQLite,
//! demo seeded) and listens on a loopback address. Anywhere else (Postgres,
//! `ORDERLY_SEED_DEMO=false`, `ORDERLY_BIND=0.0.0.0:…`) the route answers 404
//! `NOT_FOUND`, as if it did not exist: real deployments sign in with real tokens.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::error_response;
use crate::auth::jwt::Role;
use crate::gid::{self, Kind};
use crate::state::AppState;

/// How long a demo token lasts.
const DEMO_TOKEN_TTL: Duration = Duration::from_secs(8 * 60 * 60);

/// The customer the portal signs in as when no e-mail is given.
pub const DEMO_CUSTOMER_EMAIL: &str = "steven.boyle@example.com";

/// The subject of demo staff tokens.
const DEMO_STAFF: &str = "demo-staff";

/// Who to sign in as.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
enum DemoRole {
    Customer,
    Staff,
}

/// The request body: `{"role": "customer", "email": "…"}` or `{"role": "staff"}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoSignIn {
    role: DemoRole,
    email: Option<String>,
}

fn invalid(message: &str) -> HttpResponse {
    error_response(StatusCode::BAD_REQUEST, "INVALID_INPUT", message)
}

/// `POST /demo/sign-in`.
pub async fn sign_in(state: web::Data<AppState>, body: web::Bytes) -> HttpResponse {
    if !state.demo_sign_in {
        return error_response(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "demo sign-in exists only on the embedded default with demo data",
        );
    }
    let Ok(request) = serde_json::from_slice::<DemoSignIn>(&body) else {
        return invalid(r#"expected {"role": "customer" | "staff", "email"?: string}"#);
    };
    let minted = match request.role {
        DemoRole::Staff => {
            if request.email.is_some() {
                return invalid("email: only customers sign in by e-mail");
            }
            state
                .keys
                .mint(Role::Staff, DEMO_STAFF, &[], DEMO_TOKEN_TTL)
                .map(|token| serde_json::json!({ "token": token, "role": "staff", "name": "Demo staff" }))
        }
        DemoRole::Customer => {
            let email = request.email.as_deref().unwrap_or(DEMO_CUSTOMER_EMAIL);
            if email.len() > 254 {
                return invalid("email: at most 254 characters");
            }
            let customer = match state.store.customer_by_email(email).await {
                Ok(Some(customer)) => customer,
                Ok(None) => return invalid("email: no demo customer has this e-mail"),
                Err(err) => {
                    tracing::error!(error = ?err, "demo sign-in: customer look-up failed");
                    return error_response(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "UNAVAILABLE",
                        "temporarily unavailable; retry shortly",
                    );
                }
            };
            let id = gid::encode(Kind::Customer, customer.id);
            state
                .keys
                .mint(Role::Customer, &id, &[], DEMO_TOKEN_TTL)
                .map(|token| {
                    serde_json::json!({
                        "token": token,
                        "role": "customer",
                        "customerId": id,
                        "name": customer.name,
                    })
                })
        }
    };
    match minted {
        Ok(body) => HttpResponse::Ok()
            .insert_header(("Cache-Control", "no-store"))
            .json(body),
        Err(err) => {
            tracing::error!(error = %err, "demo sign-in: minting failed");
            error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL",
                "could not sign in",
            )
        }
    }
}
