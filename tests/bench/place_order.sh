#!/usr/bin/env bash
# Benchmark: placeOrder with CONNECTIONS concurrent clients against the release build.
#   tests/bench/place_order.sh                              # SQLite (temp file)
#   DATABASE_URL=postgres://… tests/bench/place_order.sh    # Postgres (empty database)
# Env: DURATION (15s), CONNECTIONS (16), THREADS (2). Needs wrk (apt-get install wrk).
# Prints orders/s and latency percentiles, then checks that reserved stock equals the
# units of the orders placed (nothing oversold, nothing lost).
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${DURATION:-15s}; CONNECTIONS=${CONNECTIONS:-16}; THREADS=${THREADS:-2}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
cargo build --release -q -p orderly
BIN=target/release/orderly
WORK=$(mktemp -d)
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT

export ORDERLY_JWT_SECRET=${ORDERLY_JWT_SECRET:-bench-secret-bench-secret-bench-secret-0}
export DATABASE_URL=${DATABASE_URL:-sqlite://$WORK/bench.db?mode=rwc}
export ORDERLY_BIND=127.0.0.1:18182 ORDERLY_LOG_FORMAT=json RUST_LOG=warn ORDERLY_SEED_DEMO=false
# One principal drives all the load: rate limiting off (RATE_BUDGET=20000 measures it on).
export ORDERLY_RATE_BUDGET=${RATE_BUDGET:-0}
"$BIN" migrate
"$BIN" seed --demo
"$BIN" serve > "$WORK/server.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 100); do curl -sf http://$ORDERLY_BIND/health >/dev/null && break; sleep 0.1; done

export TOKEN=$("$BIN" token --role staff)
gql() { curl -sf "http://$ORDERLY_BIND/graphql" -H 'content-type: application/json' -H "authorization: Bearer $TOKEN" -d "$1"; }
LOCATION=$(gql '{"query":"{ locations { id code } }"}' | sed -E 's/.*"id":"([^"]+)","code":"RNO-WH".*/\1/')
gql "{\"query\":\"mutation { setInventory(input: {skuCode: \\\"MC4-PAIR\\\", locationId: \\\"$LOCATION\\\", onHand: 50000000}) { userErrors { message } } }\"}" >/dev/null
DEMO_ORDERS=$(gql '{"query":"{ orders(first: 1, sortKey: ID, reverse: true) { edges { node { number } } } }"}' | grep -o '"number":"#[0-9]*' | grep -o '[0-9]*$'); DEMO_ORDERS=$(( DEMO_ORDERS - 1000 ))
DEMO_RESERVED=$(gql '{"query":"{ sku(code: \"MC4-PAIR\") { inventoryLevels { reserved } } }"}' | grep -o '"reserved":[0-9]*' | awk -F: '{s+=$2} END {print s+0}')
CUSTOMER=$(gql '{"query":"{ customers(first: 1) { edges { node { id } } } }"}' | sed -E 's/.*"id":"([^"]+)".*/\1/')
QUERY='mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { order { id number } userErrors { code } } }'
INPUT="{\"customerId\":\"$CUSTOMER\",\"lines\":[{\"sku\":\"MC4-PAIR\",\"quantity\":1}],\"shippingAddress\":{\"line1\":\"2150 Lombard St\",\"city\":\"San Francisco\",\"region\":\"CA\",\"postalCode\":\"94123\",\"country\":\"US\",\"latitude\":37.7996,\"longitude\":-122.4368},\"payment\":{\"provider\":\"test\",\"token\":\"tok_visa\"}}"
export BODY=$(printf '{"query":"%s","variables":{"input":%s}}' "$QUERY" "$INPUT")
gql "$BODY" | grep -q '"number"' || { echo "placeOrder failed: $(gql "$BODY")" >&2; exit 1; }

statements() { curl -sf "http://$ORDERLY_BIND/metrics" -H "authorization: Bearer $TOKEN" | awk '/^orderly_db_statements_total /{print $2}'; }
before=$(statements); for _ in $(seq 1 10); do gql "$BODY" >/dev/null; done; after=$(statements)
echo "database: ${DATABASE_URL%%:*}; SQL statements per placeOrder: $(( (${after%.*} - ${before%.*}) / 10 ))"
wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -s tests/bench/post.lua "http://$ORDERLY_BIND/graphql"
# Each benchmark order reserves one MC4-PAIR: reserved units must equal orders placed.
sleep 2 # let requests still in flight when wrk stopped finish
RESERVED=$(gql '{"query":"{ sku(code: \"MC4-PAIR\") { inventoryLevels { reserved } } }"}' | grep -o '"reserved":[0-9]*' | awk -F: '{s+=$2} END {print s+0}')
LAST=$(gql '{"query":"{ orders(first: 1, sortKey: ID, reverse: true) { edges { node { number } } } }"}' | grep -o '"number":"#[0-9]*' | grep -o '[0-9]*$')
PLACED=$(( LAST - 1000 - DEMO_ORDERS ))
echo "orders placed: $PLACED; MC4-PAIR units reserved by them: $(( RESERVED - DEMO_RESERVED ))"
grep -c '"level":"ERROR"' "$WORK/server.log" | sed 's/^/server errors logged: /' || true
echo "server RSS after the run: $(ps -o rss= -p $SERVER) KiB"
