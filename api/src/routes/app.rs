//! The customer portal (`GET /portal`) and the staff console (`GET /console`): plain HTML
//! and ES modules embedded in the binary (`api/assets/app`, see its README), no build
//! step and no CDN. They talk only to the public GraphQL API — queries and mutations
//! over POST, live updates over graphql-ws — with the same tokens as any client: the
//! reference client partners can read. Scripts live under a path named by a hash of
//! their contents and are cached by browsers for a year; the pages are never cached.

use std::sync::LazyLock;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use sha2::{Digest, Sha256};

/// The embedded files: name, bytes, media type.
const FILES: &[(&str, &[u8], &str)] = &[
    (
        "orderly.js",
        include_bytes!("../../assets/app/orderly.js"),
        "text/javascript; charset=utf-8",
    ),
    (
        "portal.js",
        include_bytes!("../../assets/app/portal.js"),
        "text/javascript; charset=utf-8",
    ),
    (
        "console.js",
        include_bytes!("../../assets/app/console.js"),
        "text/javascript; charset=utf-8",
    ),
    (
        "app.css",
        include_bytes!("../../assets/app/app.css"),
        "text/css; charset=utf-8",
    ),
    (
        "graphql-ws.min.js",
        include_bytes!("../../assets/app/graphql-ws.min.js"),
        "text/javascript; charset=utf-8",
    ),
];

/// Part of every script's path: the first 12 hex digits of a SHA-256 over all of them,
/// so a new build never meets a stale cached script.
pub static APP_VERSION: LazyLock<String> = LazyLock::new(|| {
    let mut hash = Sha256::new();
    for (name, bytes, _) in FILES {
        hash.update(name.as_bytes());
        hash.update(bytes);
    }
    hash.finalize()
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect()
});

/// What the pages may load and call: only this server (its scripts, styles, `/graphql`
/// over HTTP and WebSocket); no inline script, no framing by other sites.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; \
    form-action 'none'; frame-ancestors 'none'";

fn page(html: &str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        // Tracking links open carriers' sites: they need not learn where from.
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .body(html.replace("{{VERSION}}", &APP_VERSION))
}

/// `GET /portal`: the customer portal.
pub async fn portal_page() -> HttpResponse {
    page(include_str!("../../assets/app/portal.html"))
}

/// `GET /console`: the staff console.
pub async fn console_page() -> HttpResponse {
    page(include_str!("../../assets/app/console.html"))
}

/// `GET /assets/app/{version}/{name}`.
pub async fn app_asset(path: web::Path<(String, String)>) -> HttpResponse {
    let (version, name) = path.into_inner();
    let found = FILES
        .iter()
        .find(|(file, _, _)| *file == name)
        .filter(|_| version == *APP_VERSION);
    let Some((_, bytes, media_type)) = found else {
        return super::error_response(StatusCode::NOT_FOUND, "NOT_FOUND", "no such asset");
    };
    HttpResponse::Ok()
        .content_type(*media_type)
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(*bytes)
}

#[cfg(test)]
mod tests {
    use super::{APP_VERSION, FILES};

    #[test]
    fn every_page_names_only_embedded_files() {
        for html in [
            include_str!("../../assets/app/portal.html"),
            include_str!("../../assets/app/console.html"),
        ] {
            for part in html.split("/assets/app/{{VERSION}}/").skip(1) {
                let name = part.split('"').next().unwrap_or_default();
                assert!(
                    FILES.iter().any(|(file, _, _)| *file == name),
                    "{name} is not embedded"
                );
            }
        }
        assert_eq!(APP_VERSION.len(), 12);
    }
}
