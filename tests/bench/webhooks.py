#!/usr/bin/env python3
"""Webhook delivery benchmark: N orders' events to S subscriptions.

    python3 tests/bench/webhooks.py                          # SQLite (temp file)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/orderly_webhooks \\
        python3 tests/bench/webhooks.py --orders 1000 --subscriptions 10

Starts the release server with ORDERLY_WEBHOOK_ALLOW_PRIVATE=true on the demo data (a
Postgres database named in DATABASE_URL is dropped and created afresh), a local receiver
(Python, threaded, HTTP/1.1 keep-alive) that checks every `Orderly-Signature` and
dedupes on `Orderly-Event-Id`, creates S subscriptions to every topic, and places N
orders from C concurrent clients. It waits until every event of those orders reached
every subscription, then prints: placements/s; deliveries/s while orders were being
placed and overall (first to last delivery); the drain time after the last placement;
commit -> 2xx latency p50/p99/max (the body's `occurredAt`, written in the placing
transaction, to the receiver's clock: same machine); duplicates and bad signatures; the
server's CPU ms per delivery and RSS.

The receiver is Python: past a few thousand deliveries/s it, not the server, is the limit
(its CPU is printed too).
"""

import argparse
import concurrent.futures
import hashlib
import hmac
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import BIN, ROOT, TICKS, cpu_ticks, psql, sh  # noqa: E402

PLACE = ("mutation P($input: PlaceOrderInput!) { placeOrder(input: $input) "
         "{ order { id number events { sequence type } } userErrors { code message } } }")
TOPICS = ["ORDER_PLACED", "ORDER_UPDATED", "ORDER_CANCELLED", "FULFILLMENT_SHIPPED",
          "FULFILLMENT_DELIVERED", "DELIVERY_ARRIVING_TOMORROW", "RETURN_UPDATED",
          "REFUND_CREATED"]
# Event types that no webhook topic carries (domain::webhooks::topic_of).
UNSENT = {"INTERNAL_NOTE_ADDED"}


class Receiver:
    """Counts signed deliveries per subscription path; answers 200 with no body."""

    def __init__(self):
        self.lock = threading.Lock()
        self.secrets = {}
        self.seen = set()
        self.latencies = []
        self.arrivals = []
        self.duplicates = 0
        self.bad = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                now = time.time()
                receiver.record(self.path, self.headers, body, now)
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def record(self, path, headers, body, now):
        secret = self.secrets.get(path)
        parts = dict(p.split("=", 1) for p in headers.get("orderly-signature", "").split(",") if "=" in p)
        ok = secret is not None and "t" in parts and hmac.compare_digest(
            parts.get("v1", ""),
            hmac.new(secret.encode(), parts["t"].encode() + b"." + body, hashlib.sha256).hexdigest())
        key = (path, headers.get("orderly-event-id"))
        occurred = datetime.fromisoformat(json.loads(body)["occurredAt"].replace("Z", "+00:00"))
        with self.lock:
            if not ok:
                self.bad += 1
            if key in self.seen:
                self.duplicates += 1
                return
            self.seen.add(key)
            self.arrivals.append(now)
            self.latencies.append(now - occurred.timestamp())

    def count(self):
        with self.lock:
            return len(self.seen)


def gql(url, token, query, variables=None):
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    req = urllib.request.Request(url + "/graphql", data=body, headers={
        "content-type": "application/json", "authorization": "Bearer " + token})
    answer = json.load(urllib.request.urlopen(req, timeout=60))
    if answer.get("errors"):
        sys.exit(f"GraphQL error: {answer['errors']}")
    return answer["data"]


def pct(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))] if ordered else float("nan")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--orders", type=int, default=1000)
    p.add_argument("--subscriptions", type=int, default=10)
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--port", type=int, default=18184)
    p.add_argument("--timeout", type=int, default=600, help="seconds to wait for every delivery")
    p.add_argument("--no-build", action="store_true")
    args = p.parse_args()

    if not args.no_build:
        sh("cargo", "build", "--release", "-q", "-p", "orderly", capture=False)
    work = tempfile.mkdtemp(prefix="orderly-webhooks-")
    url = os.environ.get("DATABASE_URL", f"sqlite://{work}/bench.db?mode=rwc")
    if url.startswith("postgres"):
        base, name = url.split("?")[0].rsplit("/", 1)
        psql(base + "/postgres", f"DROP DATABASE IF EXISTS {name}")
        psql(base + "/postgres", f"CREATE DATABASE {name}")
    env = dict(os.environ, DATABASE_URL=url, ORDERLY_BIND=f"127.0.0.1:{args.port}",
               ORDERLY_JWT_SECRET="bench-secret-bench-secret-bench-secret-0",
               ORDERLY_LOG_FORMAT="json", RUST_LOG="warn", ORDERLY_SEED_DEMO="false",
               ORDERLY_RATE_BUDGET="0", ORDERLY_WEBHOOK_ALLOW_PRIVATE="true",
               ORDERLY_RELAY_POLL_MS="1000")
    sh(BIN, "migrate", env=env)
    sh(BIN, "seed", "--demo", env=env)
    log = open(os.path.join(work, "server.log"), "w")
    server = subprocess.Popen([BIN, "serve"], env=env, stdout=log, stderr=log)
    base = f"http://{env['ORDERLY_BIND']}"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(base + "/ready", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        else:
            sys.exit("the server did not become ready; see " + log.name)
        token = sh(BIN, "token", "--role", "staff", "--ttl", "4h", env=env).strip()
        run(args, base, token, server)
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    print(f"server log: {log.name}")


def run(args, base, token, server):
    receiver = Receiver()
    for i in range(args.subscriptions):
        path = f"/hook/{i}"
        made = gql(base, token, "mutation($input: CreateWebhookSubscriptionInput!) { createWebhookSubscription(input: $input) { secret userErrors { code message } } }",
                   {"input": {"url": f"http://127.0.0.1:{receiver.port}{path}", "topics": TOPICS}})
        made = made["createWebhookSubscription"]
        if made["userErrors"]:
            sys.exit(f"createWebhookSubscription: {made['userErrors']}")
        receiver.secrets[path] = made["secret"]
    location = next(l["id"] for l in gql(base, token, "{ locations { id code } }")["locations"]
                    if l["code"] == "RNO-WH")
    gql(base, token, "mutation($l: ID!) { setInventory(input: {skuCode: \"MC4-PAIR\", locationId: $l, onHand: 10000000}) { userErrors { message } } }",
        {"l": location})
    customer = gql(base, token, "{ customers(first: 1) { edges { node { id } } } }")["customers"]["edges"][0]["node"]["id"]
    order_input = {
        "customerId": customer,
        "lines": [{"sku": "MC4-PAIR", "quantity": 1}],
        "shippingAddress": {"line1": "2150 Lombard St", "city": "San Francisco", "region": "CA",
                            "postalCode": "94123", "country": "US",
                            "latitude": 37.7996, "longitude": -122.4368},
        "payment": {"provider": "test", "token": "tok_visa"},
    }

    def place(_):
        placed = gql(base, token, PLACE, {"input": order_input})["placeOrder"]
        if placed["userErrors"]:
            sys.exit(f"placeOrder: {placed['userErrors']}")
        return sum(1 for e in placed["order"]["events"] if e["type"] not in UNSENT)

    ticks0 = cpu_ticks(server.pid)
    started = time.time()
    with concurrent.futures.ThreadPoolExecutor(args.clients) as pool:
        events = sum(pool.map(place, range(args.orders)))
    placed_at = time.time()
    during = receiver.count()
    expected = events * args.subscriptions
    deadline = placed_at + args.timeout
    while receiver.count() < expected and time.time() < deadline:
        time.sleep(0.02)
    done_at = time.time()
    ticks = cpu_ticks(server.pid) - ticks0
    got = receiver.count()
    with open(f"/proc/{server.pid}/status") as f:
        rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS"))
    first, last = min(receiver.arrivals, default=started), max(receiver.arrivals, default=started)
    lat = [x * 1000 for x in receiver.latencies]
    print(f"orders placed: {args.orders} in {placed_at - started:.2f} s "
          f"({args.orders / (placed_at - started):.0f}/s, {args.clients} clients); "
          f"{events} events x {args.subscriptions} subscriptions = {expected} deliveries")
    print(f"delivered: {got}/{expected} ({got - expected:+d}); duplicates {receiver.duplicates}; "
          f"bad signatures {receiver.bad}")
    print(f"while placing: {during} deliveries in {placed_at - started:.2f} s "
          f"({during / (placed_at - started):.0f}/s)")
    print(f"overall: {got / max(last - first, 1e-9):.0f} deliveries/s (first to last delivery, "
          f"{last - first:.2f} s); drained {done_at - placed_at:.2f} s after the last placement")
    print(f"commit -> 2xx: p50 {pct(lat, 0.50):.1f} ms, p99 {pct(lat, 0.99):.1f} ms, "
          f"max {max(lat, default=float('nan')):.1f} ms")
    print(f"server CPU: {ticks * 1000 / TICKS:.0f} ms total "
          f"(placements and deliveries), {ticks * 1000 / TICKS / max(got, 1):.3f} ms per delivery; RSS {rss // 1024} MiB")
    print(f"receiver (this process) CPU: {sum(os.times()[:2]):.1f} s")
    if got < expected:
        sys.exit("not every delivery arrived")


if __name__ == "__main__":
    main()
