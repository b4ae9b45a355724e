//! The `orderly` command line: `serve` (default), `migrate`, `seed --demo`, `schema`, `token`.

use std::io::Write;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use secrecy::ExposeSecret;

use crate::auth::Scope;
use crate::auth::jwt::{JwtKeys, Role};
use crate::clock::SystemClock;
use crate::config::Settings;
use crate::gid::{self, Kind};
use crate::graphql;
use crate::metrics::Metrics;
use crate::service::{Store, db};
use crate::startup::Application;

/// Orderly — an order management system served as a GraphQL API.
#[derive(Debug, Parser)]
#[command(name = "orderly", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub settings: Settings,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// What to do (default: serve).
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (migrates first; seeds demo data on the first embedded start).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Write data and exit.
    Seed {
        /// Write the demo data set (locations, catalogue, customers, orders).
        #[arg(long)]
        demo: bool,
        /// Write the benchmark data set instead (deterministic; see `tests/bench/`).
        #[arg(long, conflicts_with = "demo")]
        bench: bool,
        /// Orders in the benchmark data set.
        #[arg(long, default_value_t = 100_000, requires = "bench")]
        orders: usize,
    },
    /// Print the GraphQL schema (SDL); `schema.graphql` must equal it.
    Schema,
    /// Mint a bearer token for local use.
    Token {
        /// Role of the token.
        #[arg(long, value_enum)]
        role: Role,
        /// Customer global ID (or numeric id) for `--role customer`.
        #[arg(long)]
        customer: Option<String>,
        /// Comma-separated scopes for `--role partner`, e.g. `orders:read,fulfillment:write`.
        #[arg(long, value_delimiter = ',')]
        scopes: Vec<String>,
        /// Lifetime, e.g. `1h`, `30m`, `7d`.
        #[arg(long, default_value = "1h")]
        ttl: humantime::Duration,
        /// Subject name for staff and partner tokens.
        #[arg(long, default_value = "local")]
        subject: String,
    },
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = cli.settings;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            crate::telemetry::init(settings.log_format);
            Application::build(settings)
                .await?
                .run_until_stopped()
                .await
                .context("Server failed")
        }
        Command::Migrate => {
            crate::telemetry::init(settings.log_format);
            let connection = db::connect(&settings.database_url, 1, 0, &Metrics::new()?).await?;
            db::migrate(&connection).await?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Command::Seed {
            demo,
            bench,
            orders,
        } => {
            crate::telemetry::init(settings.log_format);
            anyhow::ensure!(
                demo || bench,
                "say what to seed: orderly seed --demo, or orderly seed --bench --orders N"
            );
            let connection = db::connect(&settings.database_url, 1, 0, &Metrics::new()?).await?;
            db::migrate(&connection).await?;
            let store = Store::new(connection, Arc::new(SystemClock));
            if bench {
                match store
                    .seed_bench(orders)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e:?}"))
                    .context("Failed to seed the benchmark data")?
                {
                    Some(summary) => tracing::info!(?summary, "benchmark data written"),
                    None => tracing::info!("benchmark data already present; nothing written"),
                }
                return Ok(());
            }
            match store
                .seed_demo()
                .await
                .map_err(|e| anyhow::anyhow!("{e:?}"))
                .context("Failed to seed demo data")?
            {
                Some(summary) => tracing::info!(?summary, "demo data written"),
                None => tracing::info!("demo data already present; nothing written"),
            }
            Ok(())
        }
        Command::Schema => {
            let schema = graphql::build_schema(
                Store::disconnected(),
                std::sync::Arc::default(),
                Default::default(),
            );
            // The command's output is the SDL itself, so it goes to stdout, not the log.
            write!(std::io::stdout().lock(), "{}", graphql::sdl(&schema))
                .context("Failed to write the schema")
        }
        Command::Token {
            role,
            customer,
            scopes,
            ttl,
            subject,
        } => {
            let keys = JwtKeys::new(settings.resolve_jwt_secret()?.expose_secret());
            let scopes: Vec<Scope> = scopes
                .iter()
                .filter(|s| !s.is_empty())
                .map(|s| {
                    s.parse()
                        .map_err(|_| anyhow::anyhow!("unknown scope '{s}'"))
                })
                .collect::<anyhow::Result<_>>()?;
            let subject = match role {
                Role::Customer => {
                    let given = customer.context("--role customer needs --customer <ID>")?;
                    match given.parse::<i64>() {
                        Ok(n) if n > 0 => gid::encode(Kind::Customer, n),
                        _ => {
                            anyhow::ensure!(
                                gid::decode_as(Kind::Customer, &given).is_some(),
                                "'{given}' is not a customer ID"
                            );
                            given
                        }
                    }
                }
                Role::Staff | Role::Partner => subject,
            };
            let token = keys
                .mint(role, &subject, &scopes, ttl.into())
                .context("Failed to mint the token")?;
            writeln!(std::io::stdout().lock(), "{token}").context("Failed to write the token")
        }
    }
}
