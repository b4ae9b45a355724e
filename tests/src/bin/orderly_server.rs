//! The `orderly` command line, built with the tests so that tests can run the server as
//! a process of its own and kill it (see `orderly_tests::process`).

use clap::Parser;

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    orderly::cli::run(orderly::cli::Cli::parse()).await
}
