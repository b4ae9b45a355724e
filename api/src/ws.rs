//! GraphQL over WebSocket on `/graphql`: `graphql-transport-ws` (current) or legacy
//! `graphql-ws`, chosen by `Sec-WebSocket-Protocol`.
//!
//! Authentication happens in `connection_init`, before anything is acknowledged:
//! - no `connection_init` within 10 s → closed with 4408;
//! - anything else first, or no credentials in the payload → closed with 4401;
//! - credentials refused (bad, forged, expired or revoked) → closed with 4403;
//! - a bearer token that expires while the socket is open closes it with 4403, and so
//!   does revoking the API key it opened with (checked every `api_key_recheck`);
//! - a message over `MAX_BODY_BYTES` (a frame, or a run of continuations) → closed with
//!   1009 and a reason naming the limit, before `connection_init` or after it.
//!
//! After the handshake async-graphql's protocol machine runs the operations; every
//! subscription goes through the same access policy as HTTP requests, and one socket runs
//! at most `MAX_OPERATIONS_PER_SOCKET` at once (more get `TOO_MANY_OPERATIONS`).

use std::collections::HashSet;
use std::future::ready;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use actix_ws::{AggregatedMessage, CloseCode, CloseReason, Session};
use async_graphql::Data;
use async_graphql::http::{WebSocket, WsMessage};
use futures_util::{StreamExt, stream};

use crate::auth::{self, AuthError, Credentials};
use crate::graphql::{self, rate_limit::ClientAddress};
use crate::state::{AppState, MAX_BODY_BYTES};

/// How long a client has to send `connection_init`.
pub const INIT_TIMEOUT: Duration = Duration::from_secs(10);

/// Close codes of graphql-transport-ws (also used for the legacy protocol).
pub mod close {
    /// Not initialised, or initialised without credentials.
    pub const UNAUTHORIZED: u16 = 4401;
    /// Credentials refused, or the token expired.
    pub const FORBIDDEN: u16 = 4403;
    /// No `connection_init` in time.
    pub const INIT_TIMEOUT: u16 = 4408;
    /// A message over the size limit (RFC 6455's "message too big").
    pub const TOO_BIG: u16 = 1009;
}

/// Most operations one socket may run at once.
pub const MAX_OPERATIONS_PER_SOCKET: usize = 100;

/// The operations running on one socket, to bound them.
#[derive(Default)]
struct ActiveOperations {
    ids: HashSet<String>,
}

/// The `type` and `id` of a protocol message, without parsing the payload.
#[derive(serde::Deserialize)]
struct Envelope {
    #[serde(rename = "type")]
    kind: String,
    id: Option<String>,
}

impl ActiveOperations {
    /// Notes a client message; returns the error frame to send instead of passing on a
    /// new operation over the limit.
    fn client_says(&mut self, text: &str) -> Option<String> {
        let envelope: Envelope = serde_json::from_str(text).ok()?;
        let id = envelope.id?;
        match envelope.kind.as_str() {
            "subscribe" | "start" => {
                if self.ids.len() >= MAX_OPERATIONS_PER_SOCKET && !self.ids.contains(&id) {
                    return Some(
                        serde_json::json!({
                            "id": id,
                            "type": "error",
                            "payload": [{
                                "message": format!("at most {MAX_OPERATIONS_PER_SOCKET} operations may run on one socket; complete one first"),
                                "extensions": { "code": "TOO_MANY_OPERATIONS" }
                            }]
                        })
                        .to_string(),
                    );
                }
                self.ids.insert(id);
            }
            "complete" | "stop" => {
                self.ids.remove(&id);
            }
            _ => {}
        }
        None
    }

    /// Notes a server message: a `complete` or `error` ends its operation.
    fn server_says(&mut self, text: &str) {
        if !(text.contains("\"complete\"") || text.contains("\"error\"")) {
            return;
        }
        if let Ok(Envelope { kind, id: Some(id) }) = serde_json::from_str::<Envelope>(text)
            && (kind == "complete" || kind == "error")
        {
            self.ids.remove(&id);
        }
    }
}

/// Upgrades the request and serves the socket on its own task.
pub fn start(
    state: web::Data<AppState>,
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, actix_web::Error> {
    let Some(protocol) = req
        .headers()
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').find_map(|p| p.trim().parse().ok()))
    else {
        return Ok(HttpResponse::BadRequest().json(serde_json::json!({
            "errors": [{
                "message": "ask for Sec-WebSocket-Protocol graphql-transport-ws (or graphql-ws)",
                "extensions": {
                    "code": "BAD_REQUEST",
                    "correlationId": crate::telemetry::CorrelationId::current_or_new(),
                }
            }]
        })));
    };
    let (mut response, session, incoming) = actix_ws::handle(req, payload)?;
    response.headers_mut().insert(
        header::SEC_WEBSOCKET_PROTOCOL,
        HeaderValue::from_static(
            async_graphql::http::WebSocketProtocols::sec_websocket_protocol(&protocol),
        ),
    );
    let client = ClientAddress::of(req);
    let incoming = incoming
        .max_frame_size(MAX_BODY_BYTES)
        .aggregate_continuations()
        .max_continuation_size(MAX_BODY_BYTES);
    actix_web::rt::spawn(serve(
        state.into_inner(),
        session,
        incoming,
        protocol,
        client,
    ));
    Ok(response)
}

async fn shut(session: Session, code: u16, reason: &str) {
    let _ = session
        .close(Some(CloseReason {
            code: CloseCode::Other(code),
            description: Some(reason.to_owned()),
        }))
        .await;
}

/// What a client frame means to the protocol.
enum Frame {
    /// A protocol message.
    Text(String),
    /// A ping to answer with this payload.
    Ping(actix_web::web::Bytes),
    /// A pong: nothing to do.
    Pong,
    /// A frame, or a message of continuations, over the size limit.
    TooBig,
    /// The client closed or broke the socket.
    End,
}

fn frame(message: Result<AggregatedMessage, actix_ws::ProtocolError>) -> Frame {
    match message {
        Ok(AggregatedMessage::Text(text)) => Frame::Text(text.to_string()),
        Ok(AggregatedMessage::Binary(bytes)) => {
            Frame::Text(String::from_utf8_lossy(&bytes).into_owned())
        }
        Ok(AggregatedMessage::Ping(bytes)) => Frame::Ping(bytes),
        Ok(AggregatedMessage::Pong(_)) => Frame::Pong,
        Err(actix_ws::ProtocolError::Overflow) => Frame::TooBig,
        // actix-ws reports an over-long run of continuations as this I/O error.
        Err(actix_ws::ProtocolError::Io(err))
            if err.to_string().contains("maximum continuation size") =>
        {
            Frame::TooBig
        }
        Ok(AggregatedMessage::Close(_)) | Err(_) => Frame::End,
    }
}

/// Closes the socket with 1009 and says what the limit is.
async fn refuse_too_big(session: Session) {
    shut(
        session,
        close::TOO_BIG,
        &format!(
            "Message Too Big: at most {} KiB per message",
            MAX_BODY_BYTES / 1024
        ),
    )
    .await;
}

/// The text of the next data frame; `None` when the client closed or broke the socket.
async fn next_text(
    incoming: &mut actix_ws::AggregatedMessageStream,
    session: &mut Session,
) -> Option<String> {
    while let Some(message) = incoming.next().await {
        match frame(message) {
            Frame::Text(text) => return Some(text),
            Frame::Ping(bytes) => {
                let _ = session.pong(&bytes).await;
            }
            Frame::Pong => {}
            Frame::TooBig => {
                refuse_too_big(session.clone()).await;
                return None;
            }
            Frame::End => return None,
        }
    }
    None
}

/// Seconds from now until `expires_at` (Unix seconds), never negative.
fn until(expires_at: u64) -> Duration {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    Duration::from_secs(expires_at.saturating_sub(now))
}

/// What a socket's handshake settled: who is on it, when that ends, and the first message.
struct Admitted {
    authenticated: auth::Authenticated,
    /// The API key the socket opened with, checked again every so often so that a
    /// revoked key's sockets close too.
    api_key: Option<String>,
    /// The `connection_init` message, for the protocol machine.
    first: String,
}

/// Waits for `connection_init` and checks its credentials; on refusal the socket is
/// closed with the code the protocol names and `None` comes back.
///
/// Its own future, boxed by the caller: the parsed payload, the timer and the look-up
/// are gone once the socket is admitted instead of staying part of every idle socket.
async fn admit(
    state: &AppState,
    session: &mut Session,
    incoming: &mut actix_ws::AggregatedMessageStream,
) -> Option<Admitted> {
    let first = match tokio::time::timeout(INIT_TIMEOUT, next_text(incoming, session)).await {
        Err(_) => {
            shut(
                session.clone(),
                close::INIT_TIMEOUT,
                "Connection initialisation timeout",
            )
            .await;
            return None;
        }
        Ok(None) => return None,
        Ok(Some(text)) => text,
    };
    let init: serde_json::Value = serde_json::from_str(&first).unwrap_or_default();
    if init.get("type").and_then(|t| t.as_str()) != Some("connection_init") {
        shut(
            session.clone(),
            close::UNAUTHORIZED,
            "Unauthorized: send connection_init first",
        )
        .await;
        return None;
    }
    let field = |names: &[&str]| {
        names.iter().find_map(|name| {
            init.get("payload")
                .and_then(|p| p.get(*name))
                .and_then(|v| v.as_str())
        })
    };
    let credentials = Credentials {
        bearer: field(&["authorization", "Authorization"]).map(auth::bearer_token),
        api_key: field(&["x-api-key", "X-Api-Key", "apiKey"]),
    };
    if credentials.bearer.is_none() && credentials.api_key.is_none() {
        shut(
            session.clone(),
            close::UNAUTHORIZED,
            "Unauthorized: put authorization (Bearer token) or x-api-key in the connection_init payload",
        )
        .await;
        return None;
    }
    let api_key = credentials
        .bearer
        .is_none()
        .then(|| credentials.api_key.map(str::to_owned))
        .flatten();
    match auth::authenticate(&state.keys, &state.store, credentials).await {
        Ok(authenticated) => Some(Admitted {
            authenticated,
            api_key,
            first,
        }),
        Err(AuthError::Lookup(err)) => {
            tracing::error!(error = ?err, "could not check an API key for a WebSocket");
            shut(session.clone(), 1011, "internal error").await;
            None
        }
        Err(err) => {
            tracing::debug!(error = %err, "refused WebSocket credentials");
            shut(
                session.clone(),
                close::FORBIDDEN,
                "Forbidden: invalid or expired credentials",
            )
            .await;
            None
        }
    }
}

/// Serves one socket until it closes. This future lives as long as the socket, so
/// everything it awaits only now and then (the handshake, closing, a ping's answer, an
/// API key's re-check) is boxed: an idle socket keeps only what it needs to wait.
async fn serve(
    state: Arc<AppState>,
    mut session: Session,
    mut incoming: actix_ws::AggregatedMessageStream,
    protocol: async_graphql::http::WebSocketProtocols,
    client: ClientAddress,
) {
    let Some(Admitted {
        authenticated,
        api_key,
        first,
    }) = Box::pin(admit(&state, &mut session, &mut incoming)).await
    else {
        return;
    };

    let mut data = Data::default();
    data.insert(authenticated.principal);
    data.insert(client);
    data.insert(graphql::loaders::new_loaders(
        state.store.clone(),
        state.loader_delay,
    ));
    let active = Arc::new(Mutex::new(ActiveOperations::default()));
    let (pong, tracked, closer) = (session.clone(), active.clone(), session.clone());
    let rest = incoming
        .map(frame)
        .then(move |frame| {
            let closer = closer.clone();
            async move {
                if let Frame::TooBig = frame {
                    Box::pin(refuse_too_big(closer)).await;
                    return Frame::End;
                }
                frame
            }
        })
        .take_while(|f| ready(!matches!(f, Frame::End)))
        .filter_map(move |frame| {
            let (mut reply, tracked) = (pong.clone(), tracked.clone());
            async move {
                let text = match frame {
                    Frame::Text(text) => text,
                    Frame::Ping(bytes) => {
                        let _ = Box::pin(reply.pong(&bytes)).await;
                        return None;
                    }
                    Frame::Pong | Frame::TooBig | Frame::End => return None,
                };
                let refusal = tracked
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .client_says(&text);
                match refusal {
                    Some(error) => {
                        let _ = Box::pin(reply.text(error)).await;
                        None
                    }
                    None => Some(text),
                }
            }
        });
    let messages = stream::once(ready(first)).chain(rest);
    let mut protocol_machine = std::pin::pin!(
        WebSocket::new(state.schema.clone(), messages, protocol)
            .on_connection_init(move |_| ready(Ok(data)))
    );
    let expiry = tokio::time::sleep(authenticated.expires_at.map_or(Duration::MAX, until));
    tokio::pin!(expiry);
    let mut recheck = tokio::time::interval(state.api_key_recheck);
    recheck.reset();
    loop {
        tokio::select! {
            _ = recheck.tick(), if api_key.is_some() => {
                let key = api_key.as_deref().unwrap_or_default();
                match Box::pin(state.store.principal_for_api_key(key)).await {
                    Ok(Some(_)) => {}
                    Ok(None) => {
                        return Box::pin(shut(session, close::FORBIDDEN, "Forbidden: API key revoked")).await;
                    }
                    Err(err) => tracing::warn!(error = ?err, "could not re-check a WebSocket's API key"),
                }
            }
            message = protocol_machine.next() => match message {
                Some(WsMessage::Text(text)) => {
                    active
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .server_says(&text);
                    if session.text(text).await.is_err() {
                        return;
                    }
                }
                Some(WsMessage::Close(code, reason)) => return Box::pin(shut(session, code, &reason)).await,
                None => return Box::pin(shut(session, 1000, "")).await,
            },
            () = &mut expiry, if authenticated.expires_at.is_some() => {
                return Box::pin(shut(session, close::FORBIDDEN, "Forbidden: token expired")).await;
            }
        }
    }
}
