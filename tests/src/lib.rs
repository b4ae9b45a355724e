//! Test harness: `spawn_app` starts the real Orderly server on port 0 against a fresh
//! database — a new SQLite file, or a new Postgres database when `TEST_DATABASE_URL` is
//! set — and returns a `TestApp` to talk to it over HTTP and WebSocket.
//!
//! `backend_tests!` runs each test on both backends. When `TEST_DATABASE_URL` is set and
//! Postgres does not answer, the Postgres variant fails; it never skips silently.

#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod browser;
pub mod process;
pub mod proxy;
pub mod receiver;
pub mod smtp;

use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use chrono::{DateTime, Utc};
use orderly::auth::Scope;
use orderly::auth::jwt::{JwtKeys, Role};
use orderly::clock::ManualClock;
use orderly::config::Settings;
use orderly::gid::{self, Kind};
use orderly::startup::Application;
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};

/// Which database a test runs on.
#[derive(Debug, Clone)]
pub enum Backend {
    Sqlite,
    Postgres(String),
}

impl Backend {
    /// Postgres from `TEST_DATABASE_URL`, if set.
    pub fn postgres() -> Option<Self> {
        std::env::var("TEST_DATABASE_URL")
            .ok()
            .filter(|u| !u.is_empty())
            .map(Self::Postgres)
    }
}

/// How to start the app.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Write the demo data set first.
    pub seed: bool,
    /// Listen here instead of 127.0.0.1 (the port is always picked by the system).
    pub bind_ip: Option<std::net::IpAddr>,
    /// Start the clock here (default: now).
    pub now: Option<DateTime<Utc>>,
    /// DataLoader batching window in ms (default: the server default).
    pub loader_delay_ms: Option<u64>,
    /// Use Redis at this URL as the event bus (default: in-process).
    pub redis_url: Option<String>,
    /// Run against this existing database instead of a fresh one (a second instance).
    pub database_url: Option<String>,
    /// Arriving-tomorrow scheduler period in ms (default: the server default).
    pub scheduler_interval_ms: Option<u64>,
    /// The JWT secret (default: a fresh one); instances sharing a database share it.
    pub jwt_secret: Option<String>,
    /// Outbox relay safety-net poll in ms (default: the server default).
    pub relay_poll_ms: Option<u64>,
    /// Rate limiting as (budget, points restored per second). Default: off, so tests that
    /// are not about rate limits can make requests as fast as they like.
    pub rate_limit: Option<(f64, f64)>,
    /// Whether anonymous callers may introspect (default: the server default, yes).
    pub public_introspection: Option<bool>,
    /// Request timeout in ms (default: the server default).
    pub request_timeout_ms: Option<u64>,
    /// `ORDERLY_CORS_ORIGINS` (default: none).
    pub cors_origins: Vec<String>,
    /// Sales tax rates (`ORDERLY_TAX_RATES`, e.g. `US:725`); default none.
    pub tax_rates: Option<String>,
    /// Prefix of the app's Redis keys (default: one of its own, so tests sharing a Redis
    /// do not share rate-limit buckets).
    pub redis_prefix: Option<String>,
    /// Webhook retries as (attempts, first back-off in ms); default the server's.
    pub webhook_retries: Option<(u32, u64)>,
    /// Refuse webhooks to loopback and private addresses, as production does. Default:
    /// allowed, so tests can run receivers on 127.0.0.1.
    pub refuse_private_webhooks: bool,
    /// Send notifications by SMTP to this server (default: the log sender).
    pub smtp_url: Option<String>,
    /// Notification templates to use instead of the built-in ones.
    pub templates_dir: Option<std::path::PathBuf>,
}

/// Redis from `TEST_REDIS_URL`, if set.
pub fn test_redis_url() -> Option<String> {
    std::env::var("TEST_REDIS_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

/// A running server and a client for it.
pub struct TestApp {
    pub database_url: String,
    pub jwt_secret: String,
    pub address: String,
    pub port: u16,
    pub client: reqwest::Client,
    pub clock: Arc<ManualClock>,
    pub backend: &'static str,
    /// The server's `test` payment provider: its ledger and the calls it heard.
    pub payments: Arc<orderly::service::payments::TestProvider>,
    keys: JwtKeys,
    /// The in-process server; none when attached to a server process ([`TestApp::attach`]).
    handle: Option<ServerHandle>,
    _dir: Option<tempfile::TempDir>,
}

/// A fresh Postgres database on the server of `base_url` (a copy of `template` when
/// given); its URL.
pub async fn fresh_postgres_database(base_url: &str, template: Option<&str>) -> String {
    let admin = Database::connect(base_url)
        .await
        .unwrap_or_else(|e| panic!("TEST_DATABASE_URL is set but Postgres is unreachable: {e}"));
    let name = format!("orderly_test_{}", uuid::Uuid::new_v4().simple());
    let copy = template.map_or_else(String::new, |t| format!(" TEMPLATE {t}"));
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}{copy}"))
        .await
        .expect("create test database");
    admin.close().await.ok();
    let (head, tail) = base_url
        .split_once("://")
        .expect("postgres URL has a scheme");
    let (authority, query) = match tail.split_once('/') {
        Some((authority, rest)) => (
            authority,
            rest.split_once('?')
                .map(|(_, q)| format!("?{q}"))
                .unwrap_or_default(),
        ),
        None => (tail, String::new()),
    };
    format!("{head}://{authority}/{name}{query}")
}

/// The name of the database in a Postgres URL.
fn database_name(url: &str) -> &str {
    let path = url.rsplit('/').next().unwrap_or_default();
    path.split('?').next().unwrap_or_default()
}

/// Demo databases, written once per test process, backend and clock through the use
/// cases (`Store::seed_demo`), then copied for each test that asks for the demo data:
/// writing 64 orders step by step is too slow to repeat for every test. Keyed by backend
/// and `Options::now`; the value is a SQLite file path or a Postgres database name.
type Template = Arc<tokio::sync::OnceCell<String>>;
static DEMO_TEMPLATES: std::sync::LazyLock<
    std::sync::Mutex<std::collections::HashMap<String, Template>>,
> = std::sync::LazyLock::new(Default::default);

/// Where the SQLite templates live for as long as the test process runs.
static TEMPLATE_DIR: std::sync::LazyLock<tempfile::TempDir> =
    std::sync::LazyLock::new(|| tempfile::tempdir().expect("template dir"));

/// Writes the demo data into the empty, migrated-here database at `url`, with the clock
/// at `now`, and closes every connection to it.
async fn write_demo(url: &str, now: DateTime<Utc>) {
    let metrics = orderly::metrics::Metrics::new().expect("metrics");
    let db = orderly::service::db::connect(url, 2, 0, &metrics)
        .await
        .expect("connect to the template database");
    orderly::service::db::migrate(&db).await.expect("migrate");
    let store = orderly::service::Store::new(db.clone(), Arc::new(ManualClock::new(now)));
    store
        .seed_demo()
        .await
        .unwrap_or_else(|e| panic!("seed the demo template: {e:?}"));
    db.close().await.expect("close the template database");
}

/// A fresh copy of the demo database for `backend` with the clock at `now` (`None`:
/// now); its URL, and the folder holding it (SQLite).
async fn demo_database(
    backend: &Backend,
    now: Option<DateTime<Utc>>,
) -> (String, Option<tempfile::TempDir>) {
    let key = format!("{}:{now:?}", matches!(backend, Backend::Sqlite));
    // One cell per key: templates for different keys are written side by side, and
    // every test of one key waits for the first to write it.
    let (cell, index) = {
        let mut templates = DEMO_TEMPLATES
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let index = templates.len();
        (templates.entry(key).or_default().clone(), index)
    };
    let template = cell
        .get_or_init(|| async {
            let at = now.unwrap_or_else(Utc::now);
            match backend {
                Backend::Sqlite => {
                    let path = TEMPLATE_DIR.path().join(format!("demo-{index}.db"));
                    write_demo(&format!("sqlite://{}?mode=rwc", path.display()), at).await;
                    path.display().to_string()
                }
                Backend::Postgres(base) => {
                    let url = fresh_postgres_database(base, None).await;
                    write_demo(&url, at).await;
                    database_name(&url).to_owned()
                }
            }
        })
        .await
        .clone();
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("temp dir");
            let path = dir.path().join("orderly.db");
            std::fs::copy(&template, &path).expect("copy the demo database");
            // Closing checkpoints the write-ahead log into the file; copy it if it stayed.
            let wal = format!("{template}-wal");
            if std::path::Path::new(&wal).exists() {
                std::fs::copy(&wal, dir.path().join("orderly.db-wal")).expect("copy the log");
            }
            (format!("sqlite://{}?mode=rwc", path.display()), Some(dir))
        }
        Backend::Postgres(base) => (fresh_postgres_database(base, Some(&template)).await, None),
    }
}

/// Server logs go to the test's captured output (shown when it fails); `RUST_LOG`
/// filters, default `warn`.
fn init_logs() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let filter = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,orderly=warn"));
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_test_writer()
            .try_init();
    });
}

/// Starts the server on `backend`.
pub async fn spawn_app_with(backend: Backend, options: Options) -> TestApp {
    init_logs();
    let (url, dir, name) = match (backend, options.database_url.clone()) {
        (Backend::Sqlite, Some(url)) => (url, None, "sqlite"),
        (Backend::Postgres(_), Some(url)) => (url, None, "postgres"),
        (backend, None) if options.seed => {
            let (url, dir) = demo_database(&backend, options.now).await;
            let name = if matches!(backend, Backend::Sqlite) {
                "sqlite"
            } else {
                "postgres"
            };
            (url, dir, name)
        }
        (Backend::Sqlite, None) => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("orderly.db").display()
            );
            (url, Some(dir), "sqlite")
        }
        (Backend::Postgres(base), None) => {
            (fresh_postgres_database(&base, None).await, None, "postgres")
        }
    };
    let secret = format!("test-secret-{}", uuid::Uuid::new_v4().simple());
    let secret = options.jwt_secret.clone().unwrap_or(secret);
    let mut settings = Settings::for_database(url.clone());
    settings.jwt_secret = Some(secret.clone().into());
    if let Some(every) = options.scheduler_interval_ms {
        settings.scheduler_interval_ms = every;
    }
    if let Some(every) = options.relay_poll_ms {
        settings.relay_poll_ms = every;
    }
    if let Some(ip) = options.bind_ip {
        settings.bind = std::net::SocketAddr::new(ip, 0);
    }
    settings.workers = 2;
    settings.db_pool_size = 8;
    settings.api_key_recheck_ms = 200;
    settings.redis_prefix = options
        .redis_prefix
        .clone()
        .unwrap_or_else(|| format!("orderly-test-{}", uuid::Uuid::new_v4().simple()));
    (settings.rate_budget, settings.rate_restore) = options.rate_limit.unwrap_or((0.0, 0.0));
    if let Some(public) = options.public_introspection {
        settings.public_introspection = public;
    }
    if let Some(timeout) = options.request_timeout_ms {
        settings.request_timeout_ms = timeout;
    }
    settings.cors_origins = options.cors_origins.clone();
    settings.seed_demo = Some(options.seed);
    if let Some(rates) = &options.tax_rates {
        settings.tax_rates = rates.clone();
    }
    settings.redis_url = options.redis_url.clone();
    if let Some(delay) = options.loader_delay_ms {
        settings.loader_delay_ms = delay;
    }
    if let Some((attempts, backoff_ms)) = options.webhook_retries {
        settings.webhook_max_attempts = attempts;
        settings.webhook_backoff_ms = backoff_ms;
    }
    settings.webhook_allow_private = !options.refuse_private_webhooks;
    if let Some(url) = &options.smtp_url {
        settings.notification_sender = "smtp".to_owned();
        settings.smtp_url = Some(url.clone());
    }
    settings.templates_dir = options.templates_dir.clone();
    let clock = Arc::new(ManualClock::new(options.now.unwrap_or_else(Utc::now)));
    let app = Application::build_with_clock(settings, clock.clone())
        .await
        .expect("build application");
    let port = app.port();
    let handle = app.handle();
    let payments = app.state().store.payments().test_provider().clone();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        database_url: url,
        jwt_secret: secret.clone(),
        address: format!("http://127.0.0.1:{port}"),
        port,
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client"),
        clock,
        backend: name,
        payments,
        keys: JwtKeys::new(&secret),
        handle: Some(handle),
        _dir: dir,
    }
}

/// Starts the server on `backend` with an empty database.
pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, Options::default()).await
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Stop accepting and let in-flight requests finish; do not wait here.
        let Some(handle) = self.handle.clone() else {
            return;
        };
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { handle.stop(false).await });
        }
    }
}

impl TestApp {
    /// A client of a server running elsewhere (a process the test may kill), at
    /// `address` on `port`, on `database_url`, signing tokens with `jwt_secret`. Its
    /// `clock` and `payments` are not that server's: it has its own.
    pub fn attach(address: String, port: u16, database_url: String, jwt_secret: &str) -> Self {
        let backend = if database_url.starts_with("postgres") {
            "postgres"
        } else {
            "sqlite"
        };
        Self {
            database_url,
            jwt_secret: jwt_secret.to_owned(),
            address,
            port,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client"),
            clock: Arc::new(ManualClock::new(Utc::now())),
            backend,
            payments: Arc::default(),
            keys: JwtKeys::new(jwt_secret),
            handle: None,
            _dir: None,
        }
    }

    /// What the server's clock shows now.
    pub fn clock_now(&self) -> DateTime<Utc> {
        use orderly::clock::Clock;
        self.clock.now()
    }

    /// A staff token.
    pub fn staff_token(&self) -> String {
        self.keys
            .mint(Role::Staff, "tester", &[], Duration::from_secs(600))
            .unwrap()
    }

    /// A token for the customer with global ID `customer_id`.
    pub fn customer_token(&self, customer_id: &str) -> String {
        self.keys
            .mint(Role::Customer, customer_id, &[], Duration::from_secs(600))
            .unwrap()
    }

    /// A partner token with `scopes`.
    pub fn partner_token(&self, scopes: &[Scope]) -> String {
        self.keys
            .mint(Role::Partner, "partner", scopes, Duration::from_secs(600))
            .unwrap()
    }

    /// Stops the server gracefully (in-flight requests finish, background workers stop)
    /// and hands back its database, so another instance can start on it.
    pub async fn stop(mut self) -> (String, Option<tempfile::TempDir>) {
        if let Some(handle) = &self.handle {
            handle.stop(true).await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        (self.database_url.clone(), self._dir.take())
    }

    /// A token for the partner `subject` with `scopes` (partners are told apart by subject).
    pub fn partner_token_as(&self, subject: &str, scopes: &[Scope]) -> String {
        self.keys
            .mint(Role::Partner, subject, scopes, Duration::from_secs(600))
            .unwrap()
    }

    /// A token signed with another secret.
    pub fn forged_token(&self) -> String {
        JwtKeys::new("some-other-secret-some-other-secret")
            .mint(Role::Staff, "x", &[], Duration::from_secs(600))
            .unwrap()
    }

    /// POSTs a GraphQL request with an optional bearer token; returns status and body.
    pub async fn post(&self, token: Option<&str>, query: &str, variables: Value) -> (u16, Value) {
        let mut request = self
            .client
            .post(format!("{}/graphql", self.address))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Runs a GraphQL request as staff and returns the body (asserting HTTP 200).
    pub async fn staff(&self, query: &str, variables: Value) -> Value {
        let (status, body) = self.post(Some(&self.staff_token()), query, variables).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Runs a GraphQL request with `token` and returns the body (asserting HTTP 200).
    pub async fn as_token(&self, token: &str, query: &str, variables: Value) -> Value {
        let (status, body) = self.post(Some(token), query, variables).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// GETs a path.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.get_with(path, &[]).await
    }

    /// `GET path` with `headers` (name, value).
    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
        let mut request = self.client.get(format!("{}{path}", self.address));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.expect("request")
    }

    /// `/metrics`, read with a staff token.
    pub async fn metrics(&self) -> String {
        self.client
            .get(format!("{}/metrics", self.address))
            .bearer_auth(self.staff_token())
            .send()
            .await
            .expect("request")
            .text()
            .await
            .expect("metrics text")
    }

    /// The server's count of SQL statements executed so far, from `/metrics`.
    pub async fn db_statements(&self) -> u64 {
        let text = self.metrics().await;
        text.lines()
            .find_map(|l| l.strip_prefix("orderly_db_statements_total "))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .map(|v| v as u64)
            .expect("orderly_db_statements_total in /metrics")
    }

    /// The WebSocket URL of `/graphql`.
    pub fn ws_url(&self) -> String {
        format!("ws://127.0.0.1:{}/graphql", self.port)
    }

    /// The global ID of the demo customer with `email` (needs `Options::seed`).
    pub async fn customer_id_by_email(&self, email: &str) -> String {
        let body = self
            .staff(
                "query($q: String) { customers(first: 5, query: $q) { edges { node { id email } } } }",
                json!({ "q": email }),
            )
            .await;
        body["data"]["customers"]["edges"]
            .as_array()
            .and_then(|edges| edges.iter().find(|e| e["node"]["email"] == email))
            .and_then(|e| e["node"]["id"].as_str())
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("no customer {email}: {body}"))
    }

    /// Creates a location and returns its global ID.
    pub async fn create_location(&self, code: &str, country: &str) -> String {
        let body = self
            .staff(
                "mutation($input: CreateLocationInput!) { createLocation(input: $input) { location { id } userErrors { code message } } }",
                json!({ "input": {
                    "code": code, "name": format!("{code} site"), "shipsTo": [country],
                    "address": { "line1": "1 Dock Rd", "city": "Reno", "postalCode": "89502", "country": country }
                }}),
            )
            .await;
        body["data"]["createLocation"]["location"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{body}"))
            .to_owned()
    }
}

/// `placeOrder` with the order's totals, routing, fulfilment orders, payments and events.
pub const PLACE_ORDER: &str = "mutation($input: PlaceOrderInput!) {
  placeOrder(input: $input) {
    order {
      id number status paymentStatus version
      total { amount currencyCode } subtotal { amount } shippingTotal { amount }
      routing { strategy reason locations { code } }
      fulfillmentOrders { id status location { code } lines { quantity sku { code } } }
      payments { status amountAuthorized { amount } amountCaptured { amount } }
      events { sequence type }
    }
    userErrors { field message code }
  }
}";

/// The world most tests need, built through the API as staff.
impl TestApp {
    /// Creates or updates a SKU priced in USD (`price` like `"599.00"`).
    pub async fn upsert_sku(&self, code: &str, price: &str) {
        let body = self
            .staff(
                "mutation($input: UpsertSkuInput!) { upsertSku(input: $input) { userErrors { field code message } } }",
                json!({ "input": { "code": code, "name": code, "price": { "amount": price, "currencyCode": "USD" } } }),
            )
            .await;
        assert_eq!(user_errors(&body["data"]["upsertSku"]), vec![], "{body}");
    }

    /// Sets the units on hand of `sku` at `location` (a global ID).
    pub async fn set_stock(&self, location: &str, sku: &str, on_hand: i32) {
        let body = self
            .staff(
                "mutation($input: SetInventoryInput!) { setInventory(input: $input) { userErrors { field code message } } }",
                json!({ "input": { "skuCode": sku, "locationId": location, "onHand": on_hand } }),
            )
            .await;
        assert_eq!(user_errors(&body["data"]["setInventory"]), vec![], "{body}");
    }

    /// Creates a customer; returns their global ID.
    pub async fn create_customer(&self, email: &str, name: &str, time_zone: &str) -> String {
        let body = self
            .staff(
                "mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { customer { id } userErrors { field code message } } }",
                json!({ "input": { "email": email, "name": name, "timeZone": time_zone } }),
            )
            .await;
        body["data"]["createCustomer"]["customer"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{body}"))
            .to_owned()
    }

    /// Runs [`PLACE_ORDER`] as staff with `input`; returns the `placeOrder` payload.
    pub async fn place_order(&self, input: Value) -> Value {
        let body = self.staff(PLACE_ORDER, json!({ "input": input })).await;
        assert!(body["errors"].is_null(), "{body}");
        body["data"]["placeOrder"].clone()
    }

    /// Runs a fulfilment mutation (`startPicking`, `markPacked`, `shipFulfillmentOrder`,
    /// `recordDeliveryEvent`) as staff; returns its payload (`fulfillmentOrder { id status
    /// version }`, `userErrors`).
    pub async fn fulfillment_step(&self, mutation: &str, input: Value) -> Value {
        let input_type = match mutation {
            "shipFulfillmentOrder" => "ShipFulfillmentOrderInput!",
            "recordDeliveryEvent" => "RecordDeliveryEventInput!",
            _ => "FulfillmentOrderInput!",
        };
        let query = format!(
            "mutation($input: {input_type}) {{ result: {mutation}(input: $input) {{ fulfillmentOrder {{ id status version }} userErrors {{ field code message }} }} }}"
        );
        let body = self.staff(&query, json!({ "input": input })).await;
        assert!(body["errors"].is_null(), "{body}");
        body["data"]["result"].clone()
    }

    /// Runs `startPicking` or `markPacked` on fulfilment order `fo`; asserts it succeeds.
    pub async fn step(&self, mutation: &str, fo: &str) {
        let payload = self
            .fulfillment_step(mutation, json!({ "fulfillmentOrderId": fo }))
            .await;
        assert_eq!(user_errors(&payload), vec![], "{mutation}: {payload}");
    }

    /// Picks, packs and ships fulfilment order `fo` with UPS; asserts each step succeeds.
    pub async fn ship(&self, fo: &str) {
        self.step("startPicking", fo).await;
        self.step("markPacked", fo).await;
        let payload = self
            .fulfillment_step(
                "shipFulfillmentOrder",
                json!({ "fulfillmentOrderId": fo, "carrier": "UPS", "trackingNumber": "1Z9" }),
            )
            .await;
        assert_eq!(user_errors(&payload), vec![], "ship: {payload}");
    }
}

/// The `userErrors` of a mutation payload as `(field, code)` pairs.
pub fn user_errors(payload: &Value) -> Vec<(Value, String)> {
    payload["userErrors"]
        .as_array()
        .unwrap_or_else(|| panic!("no userErrors in {payload}"))
        .iter()
        .map(|e| {
            (
                e["field"].clone(),
                e["code"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// The `extensions.code` of a response's first top-level error (`""` when none).
pub fn error_code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_default()
}

/// The global ID a string key would have (for malformed-ID tests).
pub fn foreign_id(kind: Kind, key: i64) -> String {
    gid::encode(kind, key)
}

/// Declares black-box tests that run once per backend: `name::sqlite` always, and
/// `name::postgres` when `TEST_DATABASE_URL` is set.
#[macro_export]
macro_rules! backend_tests {
    ($($(#[$meta:meta])* $name:ident => $options:expr;)*) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = $crate::spawn_app_with($crate::Backend::Sqlite, $options).await;
                super::$name(app).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(backend) = $crate::Backend::postgres() else {
                    eprintln!("TEST_DATABASE_URL is not set: {} not run on Postgres", stringify!($name));
                    return;
                };
                let app = $crate::spawn_app_with(backend, $options).await;
                super::$name(app).await
            }
        }
    )*};
}

/// A GraphQL subscription over a WebSocket.
pub struct Subscriber {
    socket: Socket,
    legacy: bool,
}

impl TestApp {
    /// Opens a socket with `protocol` (`graphql-transport-ws` or `graphql-ws`),
    /// authenticates with `token`, and starts `query`. Panics if the server refuses.
    pub async fn subscribe(
        &self,
        protocol: &str,
        token: &str,
        query: &str,
        variables: Value,
    ) -> Subscriber {
        use futures_util::SinkExt;
        use tokio_tungstenite::tungstenite::Message;
        let socket = self.open_socket(protocol).await;
        let mut subscriber = Subscriber {
            socket,
            legacy: protocol == "graphql-ws",
        };
        let init = json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {token}") } });
        subscriber
            .socket
            .send(Message::Text(init.to_string().into()))
            .await
            .unwrap();
        let ack = subscriber.raw().await.expect("connection_ack");
        assert_eq!(ack["type"], "connection_ack", "{ack}");
        let start = if subscriber.legacy {
            "start"
        } else {
            "subscribe"
        };
        let message = json!({ "id": "1", "type": start, "payload": { "query": query, "variables": variables } });
        subscriber
            .socket
            .send(Message::Text(message.to_string().into()))
            .await
            .unwrap();
        subscriber
    }
}

impl Subscriber {
    /// The next protocol message (keep-alives skipped), or `None` after 10 s or on close.
    async fn raw(&mut self) -> Option<Value> {
        next_frame(&mut self.socket, Duration::from_secs(10))
            .await?
            .ok()
    }

    /// The next result's `payload` (`{data}` or `{errors}`); panics on a timeout.
    pub async fn next(&mut self) -> Value {
        self.try_next(Duration::from_secs(10))
            .await
            .expect("a subscription result within 10 s")
    }

    /// The next result's `payload`, or `None` if none arrives within `wait`.
    pub async fn try_next(&mut self, wait: Duration) -> Option<Value> {
        let message = tokio::time::timeout(wait, self.raw()).await.ok()??;
        match message["type"].as_str() {
            Some("next") | Some("data") => Some(message["payload"].clone()),
            Some("error") => Some(json!({ "errors": message["payload"] })),
            _ => Some(message),
        }
    }
}

/// A client WebSocket.
pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// How a WebSocket handshake ended.
pub enum Handshake {
    /// `connection_ack`: the socket is ready for operations.
    Acked(Box<Socket>),
    /// The server closed the socket with this code and reason.
    Closed(u16, String),
    /// Something else arrived first.
    Other(Value),
}

impl std::fmt::Debug for Handshake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Acked(_) => write!(f, "Acked"),
            Self::Closed(code, reason) => write!(f, "Closed({code}, {reason:?})"),
            Self::Other(value) => write!(f, "Other({value})"),
        }
    }
}

impl Handshake {
    /// The close code, if the server closed the socket.
    pub fn close_code(&self) -> Option<u16> {
        match self {
            Self::Closed(code, _) => Some(*code),
            _ => None,
        }
    }
}

/// The next frame that matters on `socket` within `wait`: a text message, or a close.
pub async fn next_frame(
    socket: &mut Socket,
    wait: Duration,
) -> Option<Result<Value, (u16, String)>> {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let message = tokio::time::timeout_at(deadline, socket.next())
            .await
            .ok()??;
        match message {
            Ok(Message::Text(text)) => {
                let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                if value["type"] == "ka" || value["type"] == "ping" || value["type"] == "pong" {
                    continue;
                }
                return Some(Ok(value));
            }
            Ok(Message::Close(frame)) => {
                return Some(Err(frame.map_or((1005, String::new()), |f| {
                    (u16::from(f.code), f.reason.to_string())
                })));
            }
            Ok(_) => continue,
            Err(_) => return Some(Err((1006, "connection dropped".to_owned()))),
        }
    }
}

impl TestApp {
    /// Opens a WebSocket with `protocol`; sends `init` (a whole `connection_init` message)
    /// when given, and reports how the handshake ended (waiting up to `wait`).
    pub async fn ws_handshake(
        &self,
        protocol: &str,
        init: Option<Value>,
        wait: Duration,
    ) -> Handshake {
        use futures_util::SinkExt;
        use tokio_tungstenite::tungstenite::Message;
        let mut socket = self.open_socket(protocol).await;
        if let Some(init) = init {
            socket
                .send(Message::Text(init.to_string().into()))
                .await
                .unwrap();
        }
        match next_frame(&mut socket, wait).await {
            Some(Ok(value)) if value["type"] == "connection_ack" => {
                Handshake::Acked(Box::new(socket))
            }
            Some(Ok(value)) => Handshake::Other(value),
            Some(Err((code, reason))) => Handshake::Closed(code, reason),
            None => Handshake::Other(Value::Null),
        }
    }

    /// Opens a WebSocket on `/graphql` asking for `protocol`; asserts the server chose it.
    pub async fn open_socket(&self, protocol: &str) -> Socket {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut request = self.ws_url().into_client_request().unwrap();
        request
            .headers_mut()
            .insert("sec-websocket-protocol", protocol.parse().unwrap());
        let (socket, response) = tokio_tungstenite::connect_async(request)
            .await
            .expect("websocket upgrade");
        assert_eq!(response.headers()["sec-websocket-protocol"], protocol);
        socket
    }

    /// `connection_init` carrying `Bearer <token>`.
    pub fn init_with_token(token: &str) -> Value {
        json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {token}") } })
    }

    /// POSTs raw bytes to `/graphql` with extra headers; returns status, headers and body.
    pub async fn post_raw(
        &self,
        headers: &[(&str, &str)],
        body: impl Into<reqwest::Body>,
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let mut request = self
            .client
            .post(format!("{}/graphql", self.address))
            .body(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        (
            status,
            headers,
            response.json().await.unwrap_or(Value::Null),
        )
    }

    /// POSTs a GraphQL request with an `X-Api-Key`; returns status and body.
    pub async fn post_with_api_key(
        &self,
        key: &str,
        query: &str,
        variables: Value,
    ) -> (u16, Value) {
        let body = json!({ "query": query, "variables": variables }).to_string();
        let (status, _, body) = self
            .post_raw(
                &[("content-type", "application/json"), ("x-api-key", key)],
                body,
            )
            .await;
        (status, body)
    }

    /// A token that expired `ago` ago (beyond the server's leeway).
    pub fn expired_token(&self) -> String {
        self.token_with_claims(json!({
            "sub": "tester", "role": "staff", "scopes": [],
            "iat": now_secs() - 3600, "exp": now_secs() - 600,
            "iss": "orderly", "aud": "orderly-api"
        }))
    }

    /// A token with exactly these claims, signed with the server's secret (HS256).
    pub fn token_with_claims(&self, claims: Value) -> String {
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(self.jwt_secret.as_bytes()),
        )
        .unwrap()
    }

    /// A staff token that expires in `ttl`.
    pub fn staff_token_for(&self, ttl: Duration) -> String {
        self.keys.mint(Role::Staff, "tester", &[], ttl).unwrap()
    }
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}
