//! The `orderly` binary: parse the command line, hand over to the library.

use clap::Parser;

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    orderly::cli::run(orderly::cli::Cli::parse()).await
}
