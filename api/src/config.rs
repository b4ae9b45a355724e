//! Typed settings, read once at start-up from the command line and environment and then
//! passed in. Nothing below start-up reads the environment.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};

/// The embedded default database: a SQLite file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://orderly.db?mode=rwc";

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Pretty,
    /// One JSON object per line, for log shippers.
    Json,
}

/// Everything the server needs to start, with the embedded defaults.
#[derive(Debug, Clone, clap::Args)]
pub struct Settings {
    /// Database URL: `sqlite://…` or `postgres://…`.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL, global = true)]
    pub database_url: String,
    /// Redis URL for the event bus; unset means an in-process bus (one instance).
    #[arg(long, env = "REDIS_URL", global = true)]
    pub redis_url: Option<String>,
    /// Address to listen on; port 0 picks a free port.
    #[arg(
        long,
        env = "ORDERLY_BIND",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub bind: SocketAddr,
    /// HS256 secret for bearer tokens. Unset with SQLite: generated once and kept beside
    /// the database file.
    #[arg(
        long,
        env = "ORDERLY_JWT_SECRET",
        hide_env_values = true,
        global = true,
        value_parser = parse_secret
    )]
    pub jwt_secret: Option<SecretString>,
    /// Log format.
    #[arg(
        long,
        env = "ORDERLY_LOG_FORMAT",
        value_enum,
        default_value = "pretty",
        global = true
    )]
    pub log_format: LogFormat,
    /// HTTP worker threads (0 = one per core).
    #[arg(long, env = "ORDERLY_WORKERS", default_value_t = 0, global = true)]
    pub workers: usize,
    /// Most database connections in the pool.
    #[arg(long, env = "ORDERLY_DB_POOL", default_value_t = 16, global = true)]
    pub db_pool_size: u32,
    /// How long a DataLoader waits to gather keys into one batch, in milliseconds. Longer
    /// batches more under CPU contention at the cost of latency per nesting level.
    #[arg(
        long,
        env = "ORDERLY_LOADER_DELAY_MS",
        default_value_t = 1,
        global = true
    )]
    pub loader_delay_ms: u64,
    /// Sales tax by destination country in basis points, e.g. `US:725,CA:1300`
    /// (7.25 % and 13 %); countries not listed pay none.
    #[arg(long, env = "ORDERLY_TAX_RATES", default_value = "", global = true)]
    pub tax_rates: String,
    /// Days after delivery (in the customer's time zone) within which units may be
    /// asked back.
    #[arg(
        long,
        env = "ORDERLY_RETURN_WINDOW_DAYS",
        default_value_t = 30,
        value_parser = clap::value_parser!(u32).range(0..=3650),
        global = true
    )]
    pub return_window_days: u32,
    /// How long after placing a customer may still edit their order (`1h`, `90s`, `2s`).
    #[arg(
        long,
        env = "ORDERLY_CUSTOMER_EDIT_WINDOW",
        default_value = "1h",
        value_parser = humantime::parse_duration,
        global = true
    )]
    pub customer_edit_window: std::time::Duration,
    /// How often the outbox relay looks for unpublished events when nothing woke it, in ms.
    #[arg(
        long,
        env = "ORDERLY_RELAY_POLL_MS",
        default_value_t = 1000,
        global = true
    )]
    pub relay_poll_ms: u64,
    /// Attempts before a webhook delivery is FAILED.
    #[arg(
        long,
        env = "ORDERLY_WEBHOOK_MAX_ATTEMPTS",
        default_value_t = 12,
        value_parser = clap::value_parser!(u32).range(1..=100),
        global = true
    )]
    pub webhook_max_attempts: u32,
    /// Wait before a failed webhook delivery's first retry, in ms; doubled per failure
    /// (with jitter), at most an hour.
    #[arg(
        long,
        env = "ORDERLY_WEBHOOK_BACKOFF_MS",
        default_value_t = 1000,
        global = true
    )]
    pub webhook_backoff_ms: u64,
    /// Let webhooks go to `http://` and to loopback, private and link-local addresses
    /// (tests, labs). Off in production: no SSRF into the operator's network.
    #[arg(
        long,
        env = "ORDERLY_WEBHOOK_ALLOW_PRIVATE",
        default_value_t = false,
        action = clap::ArgAction::Set,
        global = true
    )]
    pub webhook_allow_private: bool,
    /// Where customer notifications go: `log` (stored and logged, nothing leaves the
    /// machine) or `smtp` (e-mail through `ORDERLY_SMTP_URL`).
    #[arg(
        long,
        env = "ORDERLY_NOTIFICATION_SENDER",
        default_value = "log",
        global = true
    )]
    pub notification_sender: String,
    /// The SMTP server for `ORDERLY_NOTIFICATION_SENDER=smtp`:
    /// `smtp://[user:password@]host:port` (plain only to a loopback host; STARTTLS is
    /// required otherwise) or `smtps://…`.
    #[arg(long, env = "ORDERLY_SMTP_URL", hide_env_values = true, global = true)]
    pub smtp_url: Option<String>,
    /// The sender of notification e-mails.
    #[arg(
        long,
        env = "ORDERLY_NOTIFICATION_FROM",
        default_value = "Orderly <orders@orderly.localhost>",
        global = true
    )]
    pub notification_from: String,
    /// A directory of notification templates replacing the built-in ones, one file per
    /// template: `<kind>.subject.txt`, `<kind>.email.txt`, `<kind>.sms.txt` (kinds in lower
    /// case, e.g. `order_shipped.email.txt`), in minijinja syntax.
    #[arg(long, env = "ORDERLY_TEMPLATES_DIR", global = true)]
    pub templates_dir: Option<PathBuf>,
    /// How often the "arriving tomorrow" scheduler runs, in ms.
    #[arg(
        long,
        env = "ORDERLY_SCHEDULER_INTERVAL_MS",
        default_value_t = 60_000,
        global = true
    )]
    pub scheduler_interval_ms: u64,
    /// Write demo data at start-up when the database has none (default: yes for SQLite,
    /// no for Postgres).
    #[arg(long, env = "ORDERLY_SEED_DEMO", global = true)]
    pub seed_demo: Option<bool>,
    /// Origins whose browser pages may call the API (CORS), comma-separated, e.g.
    /// `https://shop.example.com,http://localhost:3000`; `*` for any. Empty (the
    /// default): same-origin pages only.
    #[arg(
        long,
        env = "ORDERLY_CORS_ORIGINS",
        value_delimiter = ',',
        global = true
    )]
    pub cors_origins: Vec<String>,
    /// Whether anonymous callers may introspect the schema.
    #[arg(
        long,
        env = "ORDERLY_PUBLIC_INTROSPECTION",
        default_value_t = true,
        action = clap::ArgAction::Set,
        global = true
    )]
    pub public_introspection: bool,
    /// Highest cost of one request (every field 1, a page of n items n times its item).
    #[arg(
        long,
        env = "ORDERLY_MAX_COST",
        default_value_t = 10_000,
        global = true
    )]
    pub max_cost: usize,
    /// Cost points each principal may spend at once (0 turns rate limiting off).
    #[arg(
        long,
        env = "ORDERLY_RATE_BUDGET",
        default_value_t = 20_000.0,
        global = true
    )]
    pub rate_budget: f64,
    /// Cost points restored to each principal per second.
    #[arg(
        long,
        env = "ORDERLY_RATE_RESTORE",
        default_value_t = 1_000.0,
        global = true
    )]
    pub rate_restore: f64,
    /// Longest a GraphQL request may run before it is abandoned, in ms.
    #[arg(
        long,
        env = "ORDERLY_REQUEST_TIMEOUT_MS",
        default_value_t = 30_000,
        global = true
    )]
    pub request_timeout_ms: u64,
    /// Prefix of the keys Orderly keeps in Redis (rate-limit buckets), so several
    /// deployments can share one Redis.
    #[arg(
        long,
        env = "ORDERLY_REDIS_PREFIX",
        default_value = "orderly",
        global = true
    )]
    pub redis_prefix: String,
    /// How often an open WebSocket re-checks the API key it opened with, in ms.
    #[arg(
        long,
        env = "ORDERLY_API_KEY_RECHECK_MS",
        default_value_t = 30_000,
        global = true
    )]
    pub api_key_recheck_ms: u64,
    /// Longest one SQL statement may run on Postgres, in ms (0: no limit).
    #[arg(
        long,
        env = "ORDERLY_STATEMENT_TIMEOUT_MS",
        default_value_t = 10_000,
        global = true
    )]
    pub statement_timeout_ms: u64,
}

impl Settings {
    /// Settings for `database_url` with every other value at its default; used by tests
    /// and tools that build a server in-process.
    pub fn for_database(database_url: impl Into<String>) -> Self {
        Self {
            database_url: database_url.into(),
            redis_url: None,
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            jwt_secret: None,
            log_format: LogFormat::Pretty,
            workers: 0,
            db_pool_size: 16,
            loader_delay_ms: 1,
            tax_rates: String::new(),
            return_window_days: 30,
            customer_edit_window: std::time::Duration::from_secs(3600),
            relay_poll_ms: 1000,
            webhook_max_attempts: 12,
            webhook_backoff_ms: 1000,
            webhook_allow_private: false,
            notification_sender: "log".to_owned(),
            smtp_url: None,
            notification_from: "Orderly <orders@orderly.localhost>".to_owned(),
            templates_dir: None,
            scheduler_interval_ms: 60_000,
            seed_demo: Some(false),
            cors_origins: Vec::new(),
            public_introspection: true,
            max_cost: 10_000,
            rate_budget: 20_000.0,
            rate_restore: 1_000.0,
            request_timeout_ms: 30_000,
            api_key_recheck_ms: 30_000,
            redis_prefix: "orderly".to_owned(),
            statement_timeout_ms: 10_000,
        }
    }

    /// The per-request bounds these settings describe.
    pub fn limits(&self) -> Limits {
        Limits {
            max_complexity: self.max_cost,
            public_introspection: self.public_introspection,
            budget: self.rate_budget.max(0.0),
            restore_per_second: self.rate_restore.max(0.0),
            ..Default::default()
        }
    }

    /// Whether start-up writes the demo data into an empty database.
    pub fn seeds_demo(&self) -> bool {
        self.seed_demo.unwrap_or_else(|| self.is_sqlite())
    }

    /// True for the embedded SQLite default.
    pub fn is_sqlite(&self) -> bool {
        self.database_url.starts_with("sqlite:")
    }

    /// The SQLite file path, if the database is a SQLite file.
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        let rest = self
            .database_url
            .strip_prefix("sqlite://")
            .or_else(|| self.database_url.strip_prefix("sqlite:"))?;
        let path = rest.split('?').next().unwrap_or_default();
        (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
    }

    /// The JWT secret: the configured one, else (SQLite only) the one kept beside the
    /// database file, generated on first use so that `orderly token` and the server agree.
    pub fn resolve_jwt_secret(&self) -> anyhow::Result<SecretString> {
        if let Some(secret) = &self.jwt_secret {
            anyhow::ensure!(
                secret.expose_secret().len() >= 32,
                "ORDERLY_JWT_SECRET must be at least 32 characters"
            );
            return Ok(secret.clone());
        }
        let path = self.sqlite_path().map(|p| secret_path(&p)).context(
            "ORDERLY_JWT_SECRET is required unless DATABASE_URL is a SQLite file (the secret is then kept beside it)",
        )?;
        if let Ok(existing) = std::fs::read_to_string(&path) {
            let existing = existing.trim().to_owned();
            if existing.len() >= 32 {
                return Ok(existing.into());
            }
        }
        let secret = crate::auth::random_token(48);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("Failed to create {}", dir.display()))?;
        }
        write_private(&path, &secret)
            .with_context(|| format!("Failed to write the JWT secret to {}", path.display()))?;
        Ok(secret.into())
    }
}

/// A secret from the command line or the environment: kept out of `Debug` and logs.
fn parse_secret(value: &str) -> Result<SecretString, std::convert::Infallible> {
    Ok(SecretString::from(value.to_owned()))
}

fn secret_path(db: &std::path::Path) -> PathBuf {
    let mut name = db.file_name().unwrap_or_default().to_os_string();
    name.push(".secret");
    db.with_file_name(name)
}

#[cfg(unix)]
fn write_private(path: &std::path::Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &std::path::Path, contents: &str) -> std::io::Result<()> {
    std::fs::write(path, contents)
}

/// Bounds on one GraphQL request, and the rate at which a principal may spend them.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Deepest selection.
    pub max_depth: usize,
    /// Highest cost of one request (every field 1; a page of `first: n` costs n × what
    /// one item selects).
    pub max_complexity: usize,
    /// Most aliased fields in one document.
    pub max_aliases: usize,
    /// Whether anonymous callers may introspect the schema.
    pub public_introspection: bool,
    /// Cost points a principal may hold (0 turns rate limiting off).
    pub budget: f64,
    /// Points restored per second.
    pub restore_per_second: f64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: 12,
            max_complexity: 10_000,
            max_aliases: 30,
            public_introspection: true,
            budget: 20_000.0,
            restore_per_second: 1_000.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_sqlite_path() {
        assert_eq!(
            Settings::for_database(DEFAULT_DATABASE_URL).sqlite_path(),
            Some(PathBuf::from("orderly.db"))
        );
        assert_eq!(
            Settings::for_database("sqlite:/tmp/x.db").sqlite_path(),
            Some(PathBuf::from("/tmp/x.db"))
        );
        assert_eq!(
            Settings::for_database("postgres://localhost/test").sqlite_path(),
            None
        );
        assert_eq!(
            secret_path(std::path::Path::new("/tmp/a/orderly.db")),
            PathBuf::from("/tmp/a/orderly.db.secret")
        );
    }

    #[test]
    fn the_jwt_secret_never_shows_in_debug_output() {
        let mut settings = Settings::for_database("sqlite::memory:");
        settings.jwt_secret = Some(SecretString::from(
            "super-secret-value-super-secret-value".to_owned(),
        ));
        assert!(!format!("{settings:?}").contains("super-secret"));
        let resolved = settings.resolve_jwt_secret().unwrap();
        assert!(!format!("{resolved:?}").contains("super-secret"));
    }

    #[test]
    fn postgres_needs_a_configured_secret() {
        assert!(
            Settings::for_database("postgres://localhost/test")
                .resolve_jwt_secret()
                .is_err()
        );
    }
}
