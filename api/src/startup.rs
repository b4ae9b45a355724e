//! Start-up: connect and migrate, build the schema, bind the listener, serve.
//! `Application::build` does all the I/O; the server itself only routes requests.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServerHandle, ServiceRequest, ServiceResponse};
use actix_web::http::{StatusCode, header};
use actix_web::middleware::{Next, from_fn};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use anyhow::Context;
use async_graphql::http::GraphiQLSource;
use async_graphql::parser::types::{DocumentOperations, OperationType};

use crate::auth::jwt::JwtKeys;
use crate::auth::{self, AuthError, Credentials, Principal};
use crate::clock::{Clock, SystemClock};
use crate::config::Settings;
use crate::events::hub::Hub;
use crate::events::{self, EventBus};
use crate::graphql::policy::{ClientAddress, Policy, SharedBuckets};
use crate::graphql::{self, OrderlySchema};
use crate::metrics::Metrics;
use crate::service::{Store, TaxRates, db};

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// What every request handler shares.
pub struct AppState {
    pub schema: OrderlySchema,
    pub store: Store,
    pub keys: JwtKeys,
    pub metrics: Metrics,
    pub bus: Arc<dyn EventBus>,
    pub hub: Arc<Hub>,
    pub loader_delay: std::time::Duration,
    /// Longest a GraphQL request may run.
    pub request_timeout: Duration,
    /// How often an open WebSocket's API key is checked for revocation.
    pub api_key_recheck: Duration,
}

/// A built, bound, not yet running server.
pub struct Application {
    port: u16,
    server: Server,
    state: web::Data<AppState>,
    /// The outbox relay and the scheduler; stopped with the server.
    workers: Vec<tokio::task::JoinHandle<()>>,
}

impl Application {
    /// Connects, migrates, seeds the embedded default on first start, and binds.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        Self::build_with_clock(settings, Arc::new(SystemClock)).await
    }

    /// As `build`, with an injected clock (tests move time).
    pub async fn build_with_clock(
        settings: Settings,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Self> {
        let metrics = Metrics::new().context("Failed to register metrics")?;
        let keys = JwtKeys::new(&settings.resolve_jwt_secret()?);
        let connection = db::connect(
            &settings.database_url,
            settings.db_pool_size,
            settings.statement_timeout_ms,
            &metrics,
        )
        .await?;
        db::migrate(&connection).await?;
        let tax = TaxRates::parse(&settings.tax_rates)
            .map_err(|e| anyhow::anyhow!("ORDERLY_TAX_RATES: {e}"))?;
        let store = Store::new(connection, clock).with_tax_rates(tax);
        if settings.seeds_demo()
            && let Some(summary) = store
                .seed_demo()
                .await
                .map_err(|e| anyhow::anyhow!("{e:?}"))
                .context("Failed to seed demo data")?
        {
            tracing::info!(?summary, "first start: wrote demo data");
        }
        let bus = events::from_settings(settings.redis_url.as_deref())
            .context("Failed to configure the event bus")?;
        let hub = Hub::start(&bus);
        let shared_buckets = match &settings.redis_url {
            Some(url) => Some(
                SharedBuckets::new(url, &settings.redis_prefix)
                    .context("Failed to configure rate limiting in Redis")?,
            ),
            None => None,
        };
        let policy = Policy::with_shared_buckets(settings.limits(), shared_buckets);
        let workers = vec![
            events::relay::spawn(
                store.clone(),
                bus.clone(),
                Duration::from_millis(settings.relay_poll_ms.max(10)),
            ),
            events::scheduler::spawn(
                store.clone(),
                Duration::from_millis(settings.scheduler_interval_ms.max(10)),
            ),
            events::relay::spawn_stock(&store, bus.clone()),
        ];
        let state = web::Data::new(AppState {
            schema: graphql::build_schema_with(store.clone(), hub.clone(), policy),
            hub,
            store,
            keys,
            metrics,
            bus,
            loader_delay: std::time::Duration::from_millis(settings.loader_delay_ms),
            request_timeout: Duration::from_millis(settings.request_timeout_ms.max(1)),
            api_key_recheck: Duration::from_millis(settings.api_key_recheck_ms.max(10)),
        });

        let listener = TcpListener::bind(settings.bind)
            .with_context(|| format!("Failed to bind {}", settings.bind))?;
        let port = listener
            .local_addr()
            .context("Failed to read the bound address")?
            .port();
        let app_state = state.clone();
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(app_state.clone())
                .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
                .wrap(from_fn(track))
                .route("/graphql", web::post().to(graphql_post))
                .route("/graphql", web::get().to(graphql_get))
                .route("/graphql", web::route().to(method_not_allowed))
                .route("/health", web::get().to(health))
                .route("/ready", web::get().to(ready))
                .route("/metrics", web::get().to(metrics_text))
        })
        .listen(listener)
        .context("Failed to listen")?
        .shutdown_timeout(10);
        if settings.workers > 0 {
            server = server.workers(settings.workers);
        }
        tracing::info!(
            port,
            database = if settings.is_sqlite() {
                "sqlite"
            } else {
                "postgres"
            },
            bus = state.bus.name(),
            "orderly listening"
        );
        Ok(Self {
            port,
            server: server.run(),
            state,
            workers,
        })
    }

    /// The port actually bound (useful with port 0).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A handle to stop the server gracefully.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// The shared state (tests read metrics and mint tokens with its keys).
    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    /// Serves until stopped (SIGINT/SIGTERM stop gracefully).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let outcome = self.server.await;
        for worker in &self.workers {
            worker.abort();
        }
        outcome
    }
}

async fn track(
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

/// A GraphQL-shaped error response with `extensions.code`.
fn error_response(status: StatusCode, code: &str, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(serde_json::json!({
        "errors": [{ "message": message, "extensions": { "code": code } }]
    }))
}

/// Who is calling, from `Authorization: Bearer …` or `X-Api-Key`; bad credentials are
/// refused outright (401), never downgraded to anonymous.
async fn authenticate(state: &AppState, req: &HttpRequest) -> Result<Principal, Box<HttpResponse>> {
    let header_text = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
    let credentials = Credentials {
        bearer: header_text(header::AUTHORIZATION).map(auth::bearer_token),
        api_key: header_text(header::HeaderName::from_static("x-api-key")),
    };
    match auth::authenticate(&state.keys, &state.store, credentials).await {
        Ok(authenticated) => Ok(authenticated.principal),
        Err(AuthError::Lookup(err)) => {
            let error = crate::graphql::error::internal(&err);
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

async fn execute(
    state: &AppState,
    req: &HttpRequest,
    request: async_graphql::Request,
    principal: Principal,
) -> HttpResponse {
    let correlation_id = CorrelationId::from_request(req);
    let operation = request.operation_name.clone();
    let started = Instant::now();
    let request = graphql::prepare(request, &state.store, principal, state.loader_delay)
        .data(ClientAddress::of(req))
        .data(correlation_id.clone());
    let span = tracing::info_span!("graphql", correlation_id = %correlation_id.0);
    let run = CORRELATION_ID.scope(
        correlation_id.clone(),
        tracing::Instrument::instrument(state.schema.execute(request), span),
    );
    let mut response = match tokio::time::timeout(state.request_timeout, run).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(correlation_id = %correlation_id.0, ?operation, "request timed out");
            let mut response = error_response(
                StatusCode::GATEWAY_TIMEOUT,
                "TIMEOUT",
                "the request took too long and was abandoned; nothing it had not committed was kept",
            );
            correlation_id.stamp(&mut response);
            return response;
        }
    };
    state
        .metrics
        .graphql_request(operation.as_deref(), response.is_ok(), started.elapsed());
    // Every error carries a stable code and the request's correlation id.
    for error in &mut response.errors {
        let extensions = error.extensions.get_or_insert_with(Default::default);
        if extensions.get("code").is_none() {
            extensions.set("code", "BAD_REQUEST");
        }
        if extensions.get("correlationId").is_none() {
            extensions.set("correlationId", correlation_id.0.as_str());
        }
    }
    let retry_after = response.errors.iter().find_map(|e| {
        let ext = e.extensions.as_ref()?;
        match (ext.get("code"), ext.get("retryAfter")) {
            (
                Some(async_graphql::Value::String(code)),
                Some(async_graphql::Value::Number(after)),
            ) if code == "RATE_LIMITED" => after.as_f64(),
            _ => None,
        }
    });
    let mut http = match retry_after {
        Some(after) => {
            let mut http = HttpResponse::TooManyRequests();
            http.insert_header((header::RETRY_AFTER, format!("{}", after.ceil().max(1.0))));
            http.json(response)
        }
        None => HttpResponse::Ok().json(response),
    };
    correlation_id.stamp(&mut http);
    http
}

tokio::task_local! {
    /// The correlation id of the request being served, for errors logged deep inside it.
    pub static CORRELATION_ID: CorrelationId;
}

/// One request's id: taken from a sane `X-Request-Id`, else fresh. It is in every error,
/// in the `X-Request-Id` response header and on every log line of the request.
#[derive(Debug, Clone)]
pub struct CorrelationId(pub String);

impl CorrelationId {
    fn from_request(req: &HttpRequest) -> Self {
        let given = req
            .headers()
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

    fn stamp(&self, response: &mut HttpResponse) {
        if let Ok(value) = header::HeaderValue::from_str(&self.0) {
            response
                .headers_mut()
                .insert(header::HeaderName::from_static("x-request-id"), value);
        }
    }
}

async fn graphql_post(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Result<web::Bytes, actix_web::Error>,
) -> HttpResponse {
    let is_json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/json")
        });
    if !is_json {
        return error_response(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "BAD_REQUEST",
            "send Content-Type: application/json",
        );
    }
    let body = match body {
        Ok(body) => body,
        Err(err) if err.as_response_error().status_code() == StatusCode::PAYLOAD_TOO_LARGE => {
            return error_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                "PAYLOAD_TOO_LARGE",
                "the request body is over 256 KiB (after decompression)",
            );
        }
        Err(_) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                "BAD_REQUEST",
                "the request body could not be read",
            );
        }
    };
    let principal = match authenticate(&state, &req).await {
        Ok(p) => p,
        Err(response) => return *response,
    };
    if body.trim_ascii_start().starts_with(b"[") {
        return error_response(
            StatusCode::BAD_REQUEST,
            "BATCH_NOT_SUPPORTED",
            "send one operation per request; array batches are not accepted",
        );
    }
    match serde_json::from_slice::<async_graphql::Request>(&body) {
        Ok(request) => execute(&state, &req, request, principal).await,
        Err(_) => error_response(
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
            "the body must be one JSON object {\"query\", \"variables\", \"operationName\"}",
        ),
    }
}

/// The operation a GET request would run, if it is not a query.
fn non_query_operation(request: &async_graphql::Request) -> Option<OperationType> {
    let document = async_graphql::parser::parse_query(&request.query).ok()?;
    let ty = match &document.operations {
        DocumentOperations::Single(op) => op.node.ty,
        DocumentOperations::Multiple(ops) => match &request.operation_name {
            Some(name) => ops.get(name.as_str())?.node.ty,
            None if ops.len() == 1 => ops.values().next()?.node.ty,
            None => return None,
        },
    };
    (ty != OperationType::Query).then_some(ty)
}

async fn graphql_get(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, actix_web::Error> {
    if req.headers().contains_key(header::UPGRADE) {
        return crate::ws::start(state, &req, payload);
    }
    let wants_html = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    if req.query_string().is_empty() && wants_html {
        let page = GraphiQLSource::build()
            .endpoint("/graphql")
            .subscription_endpoint("/graphql")
            .title("Orderly")
            .finish();
        return Ok(HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .body(page));
    }
    let request = match async_graphql::http::parse_query_string(req.query_string()) {
        Ok(r) => r,
        Err(_) => {
            return Ok(error_response(
                StatusCode::BAD_REQUEST,
                "BAD_REQUEST",
                "pass ?query=… (and variables as JSON)",
            ));
        }
    };
    if non_query_operation(&request).is_some() {
        let mut response = error_response(
            StatusCode::METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            "mutations and subscriptions need POST or WebSocket",
        );
        response
            .headers_mut()
            .insert(header::ALLOW, header::HeaderValue::from_static("POST"));
        return Ok(response);
    }
    let principal = match authenticate(&state, &req).await {
        Ok(p) => p,
        Err(response) => return Ok(*response),
    };
    Ok(execute(&state, &req, request, principal).await)
}

async fn method_not_allowed() -> HttpResponse {
    let mut response = error_response(
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
        "use GET or POST",
    );
    response
        .headers_mut()
        .insert(header::ALLOW, header::HeaderValue::from_static("GET, POST"));
    response
}

async fn health() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

async fn ready(state: web::Data<AppState>) -> HttpResponse {
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

/// Prometheus text, for staff credentials only (a scraper sends a staff token as
/// `bearer_token`): operation names and volumes are not for the public.
async fn metrics_text(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
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
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.metrics.render())
}
