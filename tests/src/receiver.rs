//! A real HTTP receiver for webhook tests: listens on 127.0.0.1, port 0, checks every
//! delivery's `Orderly-Signature` with the subscription's secret (HMAC-SHA256 computed
//! here, independently of the server's code), records what arrived, and answers as told:
//! 200, a failing status for the next n requests, or not at all (hang).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

/// One POST that arrived.
#[derive(Debug, Clone)]
pub struct Received {
    pub topic: String,
    pub event_id: String,
    pub delivery_id: String,
    pub signature_ok: bool,
    pub body: Value,
    /// The status the receiver answered.
    pub answered: u16,
}

#[derive(Default)]
struct State {
    secret: Mutex<String>,
    received: Mutex<Vec<Received>>,
    fail_next: AtomicUsize,
    fail_status: AtomicU16,
    hang: AtomicBool,
}

/// A running receiver.
pub struct Receiver {
    pub url: String,
    state: Arc<State>,
    handle: ServerHandle,
}

fn verify(secret: &str, header: &str, body: &[u8]) -> bool {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", value)) => t = Some(value),
            Some(("v1", value)) => v1 = Some(value),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(t.as_bytes());
    mac.update(b".");
    mac.update(body);
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    expected == v1
}

async fn hook(request: HttpRequest, body: web::Bytes, state: web::Data<State>) -> HttpResponse {
    if state.hang.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_secs(600)).await;
    }
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let secret = state.secret.lock().unwrap().clone();
    let failing = state
        .fail_next
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    let answered = if failing {
        state.fail_status.load(Ordering::SeqCst)
    } else {
        200
    };
    state.received.lock().unwrap().push(Received {
        topic: header("orderly-topic"),
        event_id: header("orderly-event-id"),
        delivery_id: header("orderly-delivery-id"),
        signature_ok: verify(&secret, &header("orderly-signature"), &body),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        answered,
    });
    HttpResponse::build(actix_web::http::StatusCode::from_u16(answered).unwrap()).body("thanks")
}

impl Receiver {
    /// Starts a receiver answering 200.
    pub async fn start() -> Self {
        let state = Arc::new(State::default());
        let data = web::Data::from(state.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route("/hook", web::post().to(hook))
        })
        .workers(1)
        .disable_signals()
        .bind(("127.0.0.1", 0))
        .unwrap();
        let port = server.addrs()[0].port();
        let server = server.run();
        let handle = server.handle();
        tokio::spawn(server);
        Self {
            url: format!("http://127.0.0.1:{port}/hook"),
            state,
            handle,
        }
    }

    /// The secret signatures are checked with.
    pub fn set_secret(&self, secret: &str) {
        *self.state.secret.lock().unwrap() = secret.to_owned();
    }

    /// Answers `status` to the next `n` requests.
    pub fn fail_next(&self, n: usize, status: u16) {
        self.state.fail_status.store(status, Ordering::SeqCst);
        self.state.fail_next.store(n, Ordering::SeqCst);
    }

    /// Never answers (until told otherwise).
    pub fn hang(&self, hang: bool) {
        self.state.hang.store(hang, Ordering::SeqCst);
    }

    /// Everything that arrived, in order of arrival.
    pub fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }

    /// The 200-answered arrivals per event id: a receiver that deduplicates counts each
    /// once, and the server should have sent each once.
    pub fn acknowledged(&self) -> HashMap<String, usize> {
        let mut counts = HashMap::new();
        for r in self.received().into_iter().filter(|r| r.answered == 200) {
            *counts.entry(r.event_id).or_insert(0) += 1;
        }
        counts
    }

    /// Waits until `done` holds for what arrived (at most `within`); returns it.
    pub async fn wait_for(
        &self,
        within: Duration,
        done: impl Fn(&[Received]) -> bool,
    ) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let now = self.received();
            if done(&now) || tokio::time::Instant::now() >= deadline {
                return now;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { handle.stop(false).await });
        }
    }
}
