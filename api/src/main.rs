//! The `orderly` binary: parse the command line, hand over to the library.

use clap::Parser;

/// mimalloc instead of the system allocator: a GraphQL response is built from many small
/// short-lived allocations, and glibc's malloc spent a quarter of the read path on them.
/// `--features system-allocator` leaves it out, so heap profilers that watch `malloc`
/// (heaptrack, valgrind's dhat) see every allocation (tests/bench/README.md).
#[cfg(not(feature = "system-allocator"))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    orderly::cli::run(orderly::cli::Cli::parse()).await
}
