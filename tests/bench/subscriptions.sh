#!/usr/bin/env bash
# Benchmark: N WebSocket subscribers on one instance; commit -> frame latency, frames/s,
# server memory per idle subscription. Env: SUBSCRIBERS (10000), PER_SOCKET (1; graphql-ws
# multiplexes up to 100 subscriptions on one socket), ORDERS (100),
# CHANGES (300), CONCURRENCY (4), DATABASE_URL (default: temp SQLite), REDIS_URL.
set -euo pipefail
cd "$(dirname "$0")/../.."
ulimit -n "$(ulimit -Hn)"
cargo build --release -q -p orderly --bin orderly
cargo build --release -q -p orderly-tests --bin subscription_bench
# One principal drives all the changes: rate limiting off.
ORDERLY_RATE_BUDGET=${RATE_BUDGET:-0} ORDERLY_BIN=target/release/orderly target/release/subscription_bench
