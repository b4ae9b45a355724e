//! `/graphql` over HTTP: POST (JSON only, one operation), GET (GraphiQL for browsers,
//! queries only), and the WebSocket upgrade, handed to `ws`. Every response carries the
//! request's correlation id; a request over its time is abandoned with 504 `TIMEOUT`;
//! a spent budget is 429 with `Retry-After`.

use std::time::Instant;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use async_graphql::parser::types::{DocumentOperations, OperationType};

use super::{authenticate, error_response, refuse_while_database_down};
use crate::auth::Principal;
use crate::graphql;
use crate::graphql::persisted::{MAX_PERSISTED_BYTES, Refusal};
use crate::graphql::rate_limit::ClientAddress;
use crate::state::AppState;
use crate::telemetry::{CORRELATION_ID, CorrelationId};

async fn execute(
    state: &AppState,
    req: &HttpRequest,
    request: async_graphql::Request,
    principal: Principal,
) -> HttpResponse {
    let correlation_id = CorrelationId::of(req);
    let operation = request.operation_name.clone();
    let started = Instant::now();
    let address = ClientAddress::of(req);
    let checks = {
        let principal = principal.clone();
        move |request: async_graphql::Request| request.data(principal).data(address)
    };
    let request = graphql::prepare(request, &state.store, principal, state.loader_delay)
        .data(correlation_id.clone());
    let span = tracing::info_span!("graphql", correlation_id = %correlation_id.0);
    let run = CORRELATION_ID.scope(
        correlation_id.clone(),
        tracing::Instrument::instrument(
            graphql::checks::execute(
                &state.schema,
                &state.plain_schema,
                &state.documents,
                request,
                checks,
            ),
            span,
        ),
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
    // 429 with the bucket's wait when rate limited; 503 when the database could not be
    // reached; both with Retry-After.
    let retry_after = response.errors.iter().find_map(|e| {
        let ext = e.extensions.as_ref()?;
        match (ext.get("code"), ext.get("retryAfter")) {
            (
                Some(async_graphql::Value::String(code)),
                Some(async_graphql::Value::Number(after)),
            ) if code == "RATE_LIMITED" => Some((StatusCode::TOO_MANY_REQUESTS, after.as_f64()?)),
            (Some(async_graphql::Value::String(code)), _) if code == "UNAVAILABLE" => Some((
                StatusCode::SERVICE_UNAVAILABLE,
                f64::from(super::RETRY_UNAVAILABLE_AFTER_SECS),
            )),
            _ => None,
        }
    });
    // GraphQL over HTTP: a client that accepts `application/graphql-response+json` gets
    // that media type, and 400 for a request error (nothing executed: a parse or
    // validation failure, errors without a path and no data); `application/json`
    // clients keep 200 for those, as they expect.
    let graphql_response = wants_graphql_response(req);
    let request_error = response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty());
    let mut http = match retry_after {
        Some((status, after)) => {
            let mut http = HttpResponse::build(status);
            http.insert_header((header::RETRY_AFTER, format!("{}", after.ceil().max(1.0))));
            http
        }
        None if graphql_response && request_error => HttpResponse::BadRequest(),
        None => HttpResponse::Ok(),
    };
    let mut http = if graphql_response {
        match serde_json::to_vec(&response) {
            Ok(body) => http.content_type(GRAPHQL_RESPONSE_JSON).body(body),
            Err(_) => http.json(response),
        }
    } else {
        http.json(response)
    };
    correlation_id.stamp(&mut http);
    http
}

/// The GraphQL-over-HTTP media type.
const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json; charset=utf-8";

/// Whether the client's `Accept` names `application/graphql-response+json`.
fn wants_graphql_response(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| {
            accept.split(',').any(|range| {
                range.split(';').next().is_some_and(|m| {
                    m.trim()
                        .eq_ignore_ascii_case("application/graphql-response+json")
                })
            })
        })
}

pub async fn graphql_post(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Result<web::Bytes, actix_web::Error>,
) -> HttpResponse {
    // The media type parsed, not a prefix: `application/jsonp` or `application/json5`
    // are not JSON; parameters (`; charset=utf-8`) are allowed.
    let is_json = matches!(
        actix_web::HttpMessage::mime_type(&req),
        Ok(Some(mime)) if mime.type_() == "application" && mime.subtype() == "json" && mime.suffix().is_none()
    );
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
    if let Some(refused) = refuse_while_database_down(&state) {
        return refused;
    }
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
        Ok(mut request) => {
            if let Err(refusal) = state.persisted.resolve(&mut request).await {
                return refused(&refusal);
            }
            execute(&state, &req, request, principal).await
        }
        Err(_) => error_response(
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
            "the body must be one JSON object {\"query\", \"variables\", \"operationName\"}",
        ),
    }
}

/// The operation a GET request would run, if it is not a query.
fn non_query_operation(
    documents: &graphql::checks::Documents,
    request: &async_graphql::Request,
) -> Option<OperationType> {
    let document = documents.parse(&request.query)?;
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

pub async fn graphql_get(
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
        return Ok(super::assets::graphiql_page());
    }
    let mut request = match async_graphql::http::parse_query_string(req.query_string()) {
        Ok(r) => r,
        Err(_) => {
            return Ok(error_response(
                StatusCode::BAD_REQUEST,
                "BAD_REQUEST",
                "pass ?query=… (and variables as JSON)",
            ));
        }
    };
    // A persisted query's text first: GET runs it only if it is a query.
    if let Err(refusal) = state.persisted.resolve(&mut request).await {
        return Ok(refused(&refusal));
    }
    if non_query_operation(&state.documents, &request).is_some() {
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
    if let Some(refused) = refuse_while_database_down(&state) {
        return Ok(refused);
    }
    let principal = match authenticate(&state, &req).await {
        Ok(p) => p,
        Err(response) => return Ok(*response),
    };
    Ok(execute(&state, &req, request, principal).await)
}

/// The answer Apollo's clients expect: `PersistedQueryNotFound` is a 200 with that
/// message (the client then sends the query with its hash); the rest are coded 400s.
fn refused(refusal: &Refusal) -> HttpResponse {
    match refusal {
        Refusal::NotFound => error_response(
            StatusCode::OK,
            "PERSISTED_QUERY_NOT_FOUND",
            "PersistedQueryNotFound",
        ),
        Refusal::NotSupported(why) => error_response(
            StatusCode::BAD_REQUEST,
            "PERSISTED_QUERY_NOT_SUPPORTED",
            why,
        ),
        Refusal::HashMismatch => error_response(
            StatusCode::BAD_REQUEST,
            "PERSISTED_QUERY_HASH_MISMATCH",
            "provided sha does not match query",
        ),
        Refusal::TooLarge => error_response(
            StatusCode::BAD_REQUEST,
            "PERSISTED_QUERY_TOO_LARGE",
            &format!(
                "a persisted query may be at most {} KiB; send it without persistedQuery",
                MAX_PERSISTED_BYTES / 1024
            ),
        ),
    }
}

pub async fn method_not_allowed() -> HttpResponse {
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
