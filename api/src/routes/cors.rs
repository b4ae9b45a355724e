//! Cross-origin calls from browser pages (CORS, through `actix-cors`). Only the origins
//! in `ORDERLY_CORS_ORIGINS` are answered with `Access-Control-Allow-*` headers; none by
//! default, so only pages served by Orderly itself may call it from a browser.
//! Credentials (cookies) are never allowed: callers authenticate with the
//! `Authorization` or `X-Api-Key` header, which the preflight allows.
//!
//! A request from another origin is still served and judged by its credentials; it just
//! carries no CORS headers, so the browser keeps the answer from the page. A preflight
//! that asks for a disallowed origin, method or header gets a coded 400.

use actix_cors::Cors;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode, header};

/// How long a browser may cache a preflight's answer (seconds).
const PREFLIGHT_MAX_AGE_SECS: usize = 3600;

/// Checks `origins` (from `ORDERLY_CORS_ORIGINS`): each `*` or `scheme://host[:port]`.
pub fn check_origins(origins: &[String]) -> anyhow::Result<()> {
    for origin in origins.iter().map(|o| o.trim()).filter(|o| !o.is_empty()) {
        if origin == "*" {
            continue;
        }
        let well_formed = origin
            .parse::<actix_web::http::Uri>()
            .ok()
            .filter(|uri| {
                matches!(uri.scheme_str(), Some("http" | "https"))
                    && uri.host().is_some()
                    && uri.path() == "/"
                    && !origin.ends_with('/')
                    && uri.query().is_none()
            })
            .is_some();
        anyhow::ensure!(
            well_formed,
            "ORDERLY_CORS_ORIGINS: '{origin}' is not an origin such as https://shop.example.com or http://localhost:3000 (or *)"
        );
    }
    Ok(())
}

/// The CORS middleware for `origins` (already checked).
pub fn middleware(origins: &[String]) -> Cors {
    let mut cors = Cors::default()
        .allowed_methods([Method::GET, Method::POST])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            header::HeaderName::from_static("x-api-key"),
            header::HeaderName::from_static("x-request-id"),
            // Apollo Client's CSRF-prevention header and operation name.
            header::HeaderName::from_static("apollo-require-preflight"),
            header::HeaderName::from_static("x-apollo-operation-name"),
        ])
        .expose_headers([
            header::HeaderName::from_static("x-request-id"),
            header::RETRY_AFTER,
        ])
        .max_age(PREFLIGHT_MAX_AGE_SECS)
        .block_on_origin_mismatch(false);
    for origin in origins.iter().map(|o| o.trim()).filter(|o| !o.is_empty()) {
        cors = if origin == "*" {
            cors.allow_any_origin().send_wildcard()
        } else {
            cors.allowed_origin(origin)
        };
    }
    cors
}

/// True for a CORS preflight: `OPTIONS` with `Origin` and `Access-Control-Request-Method`.
fn is_preflight(req: &ServiceRequest) -> bool {
    req.method() == Method::OPTIONS
        && req.headers().contains_key(header::ORIGIN)
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
}

/// Mounted outside [`middleware`]: a refused preflight (the crate answers a bare 400)
/// becomes a coded error, `CORS_NOT_ALLOWED`.
pub async fn coded_refusals(
    req: ServiceRequest,
    next: actix_web::middleware::Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let preflight = is_preflight(&req);
    let response = next.call(req).await?;
    if !(preflight && response.status() == StatusCode::BAD_REQUEST) {
        return Ok(response.map_into_left_body());
    }
    let coded = super::error_response(
        StatusCode::BAD_REQUEST,
        "CORS_NOT_ALLOWED",
        "this origin, method or header may not call Orderly from a browser; the server's ORDERLY_CORS_ORIGINS lists the origins that may",
    );
    let (request, _) = response.into_parts();
    Ok(ServiceResponse::new(request, coded).map_into_right_body())
}

#[cfg(test)]
mod tests {
    use super::check_origins;

    #[test]
    fn origins_are_checked() {
        let ok = |o: &[&str]| check_origins(&o.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>());
        assert!(
            ok(&[
                "https://shop.example.com",
                "http://localhost:3000",
                "*",
                " "
            ])
            .is_ok()
        );
        for bad in [
            "localhost:3000",
            "https://shop.example.com/",
            "https://a.com/path",
            "ftp://a.com",
            "https://",
        ] {
            assert!(ok(&[bad]).is_err(), "{bad}");
        }
    }
}
