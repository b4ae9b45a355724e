#!/usr/bin/env bash
# Benchmark: `order(id)` with customer, lines and SKUs against the release build.
#   tests/bench/order_by_id.sh                      # SQLite (temp file, demo data)
#   DATABASE_URL=postgres://… tests/bench/order_by_id.sh   # Postgres (demo data seeded)
# Env: DURATION (15s), CONNECTIONS (32), THREADS (2). Needs wrk (apt-get install wrk).
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${DURATION:-15s}; CONNECTIONS=${CONNECTIONS:-32}; THREADS=${THREADS:-2}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
cargo build --release -q -p orderly
BIN=target/release/orderly
WORK=$(mktemp -d)
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT

export ORDERLY_JWT_SECRET=${ORDERLY_JWT_SECRET:-bench-secret-bench-secret-bench-secret-0}
export DATABASE_URL=${DATABASE_URL:-sqlite://$WORK/bench.db?mode=rwc}
export ORDERLY_BIND=127.0.0.1:18181 ORDERLY_LOG_FORMAT=json RUST_LOG=warn
# One principal drives all the load: rate limiting off (RATE_BUDGET=20000 measures it on).
export ORDERLY_RATE_BUDGET=${RATE_BUDGET:-0}
"$BIN" migrate
"$BIN" seed --demo
"$BIN" serve > "$WORK/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 100); do curl -sf http://$ORDERLY_BIND/health >/dev/null && break; sleep 0.1; done

export TOKEN=$("$BIN" token --role staff)
gql() { curl -sf "http://$ORDERLY_BIND/graphql" -H 'content-type: application/json' -H "authorization: Bearer $TOKEN" -d "$1"; }
ORDER_ID=$(gql '{"query":"{ orderByNumber(number: \"1058\") { id } }"}' | sed -E 's/.*"id":"([^"]+)".*/\1/')
QUERY='query($id: ID!) { order(id: $id) { id number status total { amount currencyCode } customer { id name email } lines { quantity unitPrice { amount } sku { code name price { amount } } } } }'
export BODY=$(printf '{"query":"%s","variables":{"id":"%s"}}' "$QUERY" "$ORDER_ID")
gql "$BODY" >/dev/null

statements() { curl -sf "http://$ORDERLY_BIND/metrics" -H "authorization: Bearer $TOKEN" | awk '/^orderly_db_statements_total /{print $2}'; }
before=$(statements); for _ in $(seq 1 20); do gql "$BODY" >/dev/null; done; after=$(statements)
echo "database: ${DATABASE_URL%%:*}; SQL statements per order(id) request: $(( (${after%.*} - ${before%.*}) / 20 ))"
wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s tests/bench/post.lua "http://$ORDERLY_BIND/graphql"
echo "server RSS after the run: $(ps -o rss= -p $SERVER) KiB"
