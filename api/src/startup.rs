//! Start-up: connect and migrate, build the schema, bind the listener, serve.
//! `Application::build` does all the I/O; the routes live in `routes/`, the WebSocket
//! transport in `ws`, what they share in `state`.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::{Compress, from_fn};
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use secrecy::ExposeSecret;

use crate::auth::jwt::JwtKeys;
use crate::broker::{Broker, SharedBuckets};
use crate::clock::{Clock, SystemClock};
use crate::config::Settings;
use crate::domain::notifications::{Templates, template_names};
use crate::events::{self, hub::Hub};
use crate::graphql;
use crate::metrics::Metrics;
use crate::routes;
use crate::service::db_health::DbHealth;
use crate::service::webhooks::WebhookPolicy;
use crate::service::{Store, TaxRates, db};
use crate::state::{AppState, MAX_BODY_BYTES};
use crate::telemetry;

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
        let keys = JwtKeys::new(settings.resolve_jwt_secret()?.expose_secret());
        let connection = db::connect(
            &settings.database_url,
            settings.db_pool_size,
            settings.statement_timeout_ms,
            &metrics,
        )
        .await?;
        db::migrate(&connection).await?;
        let (db_health, db_probe) = DbHealth::watch(&settings.database_url)
            .context("Failed to configure the database probe")?;
        let tax = TaxRates::parse(&settings.tax_rates)
            .map_err(|e| anyhow::anyhow!("ORDERLY_TAX_RATES: {e}"))?;
        let store = Store::new(connection, clock)
            .with_tax_rates(tax)
            .with_return_window(settings.return_window_days)
            .with_customer_edit_window(settings.customer_edit_window)
            .with_templates(load_templates(settings.templates_dir.as_deref())?)
            .with_webhook_policy(WebhookPolicy {
                max_attempts: settings.webhook_max_attempts.max(1),
                first_backoff: Duration::from_millis(settings.webhook_backoff_ms.max(1)),
                allow_private: settings.webhook_allow_private,
            });
        if settings.seeds_demo()
            && let Some(summary) = store
                .seed_demo()
                .await
                .map_err(|e| anyhow::anyhow!("{e:?}"))
                .context("Failed to seed demo data")?
        {
            tracing::info!(?summary, "first start: wrote demo data");
        }
        let broker = settings
            .redis_url
            .as_deref()
            .map(Broker::connect_lazily)
            .transpose()
            .context("Failed to configure Redis")?;
        let bus = events::from_broker(broker.as_ref());
        let sender = events::notify::Sender::from_settings(
            &settings.notification_sender,
            settings.smtp_url.as_deref(),
            &settings.notification_from,
        )
        .map_err(|e| anyhow::anyhow!(e))?;
        let hub = Hub::start(&bus);
        let persisted = match &broker {
            Some(b) => {
                graphql::persisted::PersistedQueries::shared(b.clone(), &settings.redis_prefix)
            }
            None => Default::default(),
        };
        let shared_buckets = broker.map(|b| SharedBuckets::new(b, &settings.redis_prefix));
        let mut workers = vec![
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
            events::webhooks::spawn(
                store.clone(),
                metrics.clone(),
                Duration::from_millis(settings.relay_poll_ms.clamp(10, 1000)),
            ),
            events::notify::spawn(
                store.clone(),
                sender,
                metrics.clone(),
                Duration::from_millis(settings.relay_poll_ms.clamp(10, 1000)),
            ),
        ];
        workers.extend(db_probe);
        let state = web::Data::new(AppState {
            schema: graphql::build_schema_with(
                store.clone(),
                hub.clone(),
                settings.limits(),
                shared_buckets,
            ),
            plain_schema: graphql::build_plain_schema(store.clone(), hub.clone()),
            documents: Default::default(),
            persisted,
            hub,
            store,
            keys,
            metrics,
            bus,
            loader_delay: std::time::Duration::from_millis(settings.loader_delay_ms),
            request_timeout: Duration::from_millis(settings.request_timeout_ms.max(1)),
            api_key_recheck: Duration::from_millis(settings.api_key_recheck_ms.max(10)),
            db_health,
            // A database that once got the demo data may hold real data later: the
            // switch also needs a server that only this machine can reach.
            demo_sign_in: settings.is_sqlite()
                && settings.seeds_demo()
                && settings.bind.ip().is_loopback(),
        });

        let listener = TcpListener::bind(settings.bind)
            .with_context(|| format!("Failed to bind {}", settings.bind))?;
        let port = listener
            .local_addr()
            .context("Failed to read the bound address")?
            .port();
        routes::cors::check_origins(&settings.cors_origins)?;
        let cors_origins = settings.cors_origins.clone();
        let app_state = state.clone();
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(app_state.clone())
                .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
                // Innermost, so its answers (preflights too) carry the request id.
                .wrap(routes::cors::middleware(&cors_origins))
                .wrap(from_fn(routes::cors::coded_refusals))
                .wrap(from_fn(telemetry::with_request_id))
                .wrap(from_fn(routes::metrics::track))
                .wrap(telemetry::request_logger())
                // gzip, brotli or zstd when the client asks (Accept-Encoding); never on
                // the WebSocket upgrade.
                .wrap(Compress::default())
                .route("/graphql", web::post().to(routes::graphql::graphql_post))
                .route("/graphql", web::get().to(routes::graphql::graphql_get))
                .route(
                    "/graphql",
                    web::route().to(routes::graphql::method_not_allowed),
                )
                .route(
                    "/assets/graphiql/{version}/{name}",
                    web::get().to(routes::assets::graphiql_asset),
                )
                .route("/portal", web::get().to(routes::app::portal_page))
                .route("/console", web::get().to(routes::app::console_page))
                .route(
                    "/assets/app/{version}/{name}",
                    web::get().to(routes::app::app_asset),
                )
                .route("/demo/sign-in", web::post().to(routes::demo::sign_in))
                .route("/health", web::get().to(routes::health::health))
                .route("/ready", web::get().to(routes::health::ready))
                .route("/metrics", web::get().to(routes::metrics::metrics_text))
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

/// The notification templates: the built-in ones, with any `<name>.txt` found in `dir`
/// in their place.
fn load_templates(dir: Option<&std::path::Path>) -> anyhow::Result<Templates> {
    let Some(dir) = dir else {
        return Ok(Templates::default());
    };
    let mut overrides = std::collections::HashMap::new();
    for name in template_names() {
        let path = dir.join(format!("{name}.txt"));
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                overrides.insert(name.to_owned(), text);
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => {
                return Err(err).with_context(|| format!("Failed to read {}", path.display()));
            }
        }
    }
    tracing::info!(dir = %dir.display(), overridden = overrides.len(), "notification templates");
    Templates::with_overrides(overrides).map_err(|e| anyhow::anyhow!("ORDERLY_TEMPLATES_DIR: {e}"))
}
