//! The GraphiQL page and its bundles, embedded in the binary (`api/assets/graphiql`, see
//! its README): the page works with no network beyond the server. Bundles live under a
//! versioned path and are cached by browsers for a year.

use std::io::Read;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};

/// Part of every bundle's path: bump it when the bundles change.
pub const ASSET_VERSION: &str = "graphiql-3.8.3-react-18.3.1";

/// One embedded file: its bytes, media type, and whether they are gzipped.
struct Asset {
    bytes: &'static [u8],
    media_type: &'static str,
    gzipped: bool,
}

fn asset(name: &str) -> Option<Asset> {
    let (bytes, media_type, gzipped): (&'static [u8], _, _) = match name {
        "graphiql.min.js" => (
            include_bytes!("../../assets/graphiql/graphiql.min.js.gz"),
            "text/javascript; charset=utf-8",
            true,
        ),
        "graphiql.min.css" => (
            include_bytes!("../../assets/graphiql/graphiql.min.css.gz"),
            "text/css; charset=utf-8",
            true,
        ),
        "react.production.min.js" => (
            include_bytes!("../../assets/graphiql/react.production.min.js"),
            "text/javascript; charset=utf-8",
            false,
        ),
        "react-dom.production.min.js" => (
            include_bytes!("../../assets/graphiql/react-dom.production.min.js"),
            "text/javascript; charset=utf-8",
            false,
        ),
        _ => return None,
    };
    Some(Asset {
        bytes,
        media_type,
        gzipped,
    })
}

/// The GraphiQL page (`GET /graphql` from a browser).
pub fn graphiql_page() -> HttpResponse {
    let page = include_str!("graphiql.html").replace("{{VERSION}}", ASSET_VERSION);
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(page)
}

/// Whether the client takes gzip (`Accept-Encoding`, a `q=0` refusal honoured).
fn accepts_gzip(req: &HttpRequest) -> bool {
    req.headers()
        .get_all(header::ACCEPT_ENCODING)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';').map(str::trim);
            let name = parts.next().unwrap_or_default();
            let refused = parts.any(|p| p.replace(' ', "") == "q=0" || p == "q=0.0");
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}

/// `GET /assets/graphiql/{version}/{name}`.
pub async fn graphiql_asset(req: HttpRequest, path: web::Path<(String, String)>) -> HttpResponse {
    let (version, name) = path.into_inner();
    let Some(found) = asset(&name).filter(|_| version == ASSET_VERSION) else {
        return super::error_response(StatusCode::NOT_FOUND, "NOT_FOUND", "no such asset");
    };
    let mut response = HttpResponse::Ok();
    response
        .content_type(found.media_type)
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .insert_header((header::VARY, "Accept-Encoding"));
    if !found.gzipped {
        return response.body(found.bytes);
    }
    if accepts_gzip(&req) {
        return response
            .insert_header((header::CONTENT_ENCODING, "gzip"))
            .body(found.bytes);
    }
    let mut plain = Vec::new();
    match flate2::read::GzDecoder::new(found.bytes).read_to_end(&mut plain) {
        Ok(_) => response.body(plain),
        Err(_) => super::error_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL",
            "an embedded asset is damaged",
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::asset;

    #[test]
    fn every_embedded_bundle_is_whole() {
        for name in [
            "graphiql.min.js",
            "graphiql.min.css",
            "react.production.min.js",
            "react-dom.production.min.js",
        ] {
            let found = asset(name).unwrap();
            let text = if found.gzipped {
                let mut plain = String::new();
                flate2::read::GzDecoder::new(found.bytes)
                    .read_to_string(&mut plain)
                    .unwrap();
                plain
            } else {
                String::from_utf8(found.bytes.to_vec()).unwrap()
            };
            assert!(text.len() > 5_000, "{name}");
        }
        assert!(asset("../Cargo.toml").is_none());
    }
}
