//! Structured logging through `tracing`: pretty lines for people, JSON for shippers
//! (`RUST_LOG` filters as usual, default `info`), and one root span per HTTP request from
//! `tracing-actix-web`, carrying the request's correlation id. That id is taken from a
//! sane `X-Request-Id` or made fresh; it is in every error, in the `X-Request-Id`
//! response header and on every log line of the request.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::{HttpMessage, HttpRequest};
use tracing::Span;
use tracing_actix_web::{DefaultRootSpanBuilder, RootSpanBuilder, TracingLogger};
use tracing_subscriber::{EnvFilter, fmt, prelude::*};

use crate::config::LogFormat;

/// Installs the global subscriber once; later calls (tests) are no-ops.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    let registry = tracing_subscriber::registry().with(filter);
    let _ = match format {
        LogFormat::Json => registry
            .with(fmt::layer().json().with_current_span(true))
            .try_init(),
        LogFormat::Pretty => registry.with(fmt::layer().compact()).try_init(),
    };
}

tokio::task_local! {
    /// The correlation id of the request being served, for errors logged deep inside it.
    pub static CORRELATION_ID: CorrelationId;
}

/// One request's id (see the module documentation).
#[derive(Debug, Clone)]
pub struct CorrelationId(pub String);

impl CorrelationId {
    /// The id the root span gave `req`, else one read from its headers.
    pub fn of(req: &HttpRequest) -> Self {
        req.extensions()
            .get::<CorrelationId>()
            .cloned()
            .unwrap_or_else(|| Self::from_headers(req.headers()))
    }

    fn from_headers(headers: &header::HeaderMap) -> Self {
        let given = headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .filter(|v| {
                !v.is_empty()
                    && v.len() <= 64
                    && v.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            });
        Self(given.map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned))
    }

    /// Sets the `X-Request-Id` response header.
    pub fn stamp(&self, response: &mut actix_web::HttpResponse) {
        if let Ok(value) = header::HeaderValue::from_str(&self.0) {
            response
                .headers_mut()
                .insert(header::HeaderName::from_static("x-request-id"), value);
        }
    }

    /// The id of the request being served, else a fresh one (subscriptions, workers).
    pub fn current_or_new() -> String {
        CORRELATION_ID
            .try_with(|id| id.0.clone())
            .unwrap_or_else(|_| uuid::Uuid::new_v4().to_string())
    }
}

/// `tracing-actix-web`'s root span, with the correlation id as a field.
pub struct RequestSpan;

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let id = CorrelationId::from_headers(request.headers());
        let span = tracing_actix_web::root_span!(request, correlation_id = %id.0);
        request.extensions_mut().insert(id);
        span
    }

    fn on_request_end<B: MessageBody>(
        span: Span,
        outcome: &Result<ServiceResponse<B>, actix_web::Error>,
    ) {
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

/// Serves every request inside its correlation id (the task-local [`CORRELATION_ID`],
/// so errors raised before execution carry it too) and stamps `X-Request-Id` on every
/// response, whatever its status. Mounted inside [`request_logger`], which picks the id.
pub async fn with_request_id(
    req: ServiceRequest,
    next: actix_web::middleware::Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = CorrelationId::of(req.request());
    let mut response = CORRELATION_ID.scope(id.clone(), next.call(req)).await?;
    let name = header::HeaderName::from_static("x-request-id");
    if !response.headers().contains_key(&name)
        && let Ok(value) = header::HeaderValue::from_str(&id.0)
    {
        response.headers_mut().insert(name, value);
    }
    Ok(response)
}

/// The middleware that opens [`RequestSpan`] for every request.
pub fn request_logger() -> TracingLogger<RequestSpan> {
    TracingLogger::<RequestSpan>::new()
}
