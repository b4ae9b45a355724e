#!/usr/bin/env python3
"""Orderly's benchmark: the read path (Q1, Q2) and placement on the bench data set.

    python3 tests/bench/bench.py                       # everything, Postgres orderly_bench
    python3 tests/bench/bench.py --only q1,q2 --duration 20
    python3 tests/bench/bench.py --rate-budget 20000   # with rate limiting on
    REDIS_URL=redis://127.0.0.1:6379 python3 tests/bench/bench.py --rate-budget 20000

Q1: one order by id with its customer, lines and SKUs (204 different orders).
Q2: a heavy customer's 50 newest orders with the same nested fields (55 customers).
place-spread: placeOrder, 1-3 random SKUs of 500, addresses near all 5 warehouses.
place-hot: placeOrder, every order buys one unit of the same SKU.

The database (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/orderly_bench) is
created and seeded with `orderly seed --bench --orders N` when it has no bench data. The
server and every Postgres process are pinned to CPU 0 and wrk to CPU 1 (--no-pin to
leave them). For each run it prints req/s, p50/p99/max latency, CPU milliseconds per
request of the server and of Postgres (from /proc), SQL statements per request (from
/metrics) under load, answers that were not clean, and the server's RSS. Placement
runs end with a stock check: reserved units rose by exactly the units ordered.

Needs wrk (apt-get install wrk) and psql. Profiling: see tests/bench/README.md.
"""

import argparse
import glob
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("ORDERLY_BIN", os.path.join(ROOT, "target", "release", "orderly"))
TICKS = os.sysconf("SC_CLK_TCK")
ORDER_FIELDS = ("id number status total { amount currencyCode } customer { id name email } "
                "lines { quantity unitPrice { amount } sku { code name price { amount } } }")
Q1 = "query Q1($id: ID!) { order(id: $id) { %s } }" % ORDER_FIELDS
Q2 = ("query Q2($c: ID!) { orders(first: 50, filter: {customerId: $c}) "
      "{ edges { node { %s } } } }" % ORDER_FIELDS)
PLACE = ("mutation P($input: PlaceOrderInput!) { placeOrder(input: $input) "
         "{ order { id number } userErrors { code message } } }")
# Near each bench warehouse (seed/bench.rs).
ADDRESSES = [
    ("Reno", "NV", "89501", 39.52, -119.80),
    ("Dallas", "TX", "75202", 32.77, -96.79),
    ("Columbus", "OH", "43215", 39.96, -82.99),
    ("Allentown", "PA", "18102", 40.60, -75.48),
    ("Atlanta", "GA", "30303", 33.75, -84.38),
]


def sh(*args, env=None, capture=True):
    out = subprocess.run(args, env=env, check=True, text=True,
                         stdout=subprocess.PIPE if capture else None)
    return out.stdout if capture else ""


def psql(url, sql):
    return sh("psql", url.split("?")[0], "-Atqc", sql).strip()


# Postgres' own count of the work done (not timed, so steadier than CPU time on a noisy
# machine): WAL bytes and records (cluster-wide), buffer accesses, rows written, commits.
WORK = ("(SELECT wal_bytes FROM pg_stat_wal), (SELECT wal_records FROM pg_stat_wal), "
        "blks_hit + blks_read, tup_inserted, tup_updated, tup_deleted, xact_commit "
        "FROM pg_stat_database WHERE datname = current_database()")
WORK_NAMES = ("WAL bytes", "WAL records", "buffer accesses", "rows inserted", "rows updated",
              "rows deleted", "commits")


def pg_work(url):
    return [float(x) for x in psql(url, "SELECT " + WORK).split("|")]


def cpu_ticks(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (FileNotFoundError, ProcessLookupError):
        return 0


def postgres_pids():
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as f:
                    if f.read().strip() == "postgres":
                        pids.append(int(entry))
            except OSError:
                pass
    return pids


def postgres_ticks():
    return {pid: cpu_ticks(pid) for pid in postgres_pids()}


def pin_postgres(cpus):
    for pid in postgres_pids():
        subprocess.run(["taskset", "-pc", cpus, str(pid)], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)


class Server:
    def __init__(self, args, env):
        self.url = f"http://{env['ORDERLY_BIND']}"
        self.log = open(os.path.join(args.work, "server.log"), "w")
        cmd = [BIN, "serve"]
        if args.callgrind:
            # Instructions, not seconds: the same count for the same binary and requests
            # whatever the machine's neighbours do. Instrumentation is switched on after start-up.
            cmd = ["valgrind", "--tool=callgrind", "--instr-atstart=no",
                   f"--callgrind-out-file={args.work}/callgrind.out"] + cmd
        if not args.no_pin:
            cmd = ["taskset", "-c", "0"] + cmd
        self.proc = subprocess.Popen(cmd, env=env, stdout=self.log, stderr=self.log)
        for _ in range(3000 if args.callgrind else 200):
            try:
                urllib.request.urlopen(self.url + "/ready", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        else:
            sys.exit("the server did not become ready; see " + self.log.name)
        self.token = sh(BIN, "token", "--role", "staff", "--ttl", "4h", env=env).strip()

    def gql(self, query, variables=None):
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        req = urllib.request.Request(self.url + "/graphql", data=body, headers={
            "content-type": "application/json", "authorization": "Bearer " + self.token})
        answer = json.load(urllib.request.urlopen(req, timeout=120))
        if answer.get("errors"):
            sys.exit(f"GraphQL error: {answer['errors']}")
        return answer["data"]

    def statements(self):
        req = urllib.request.Request(self.url + "/metrics",
                                     headers={"authorization": "Bearer " + self.token})
        text = urllib.request.urlopen(req, timeout=10).read().decode()
        m = re.search(r"^orderly_db_statements_total (\S+)", text, re.M)
        return float(m.group(1)) if m else 0.0

    def rss_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


def wrk(args, server, bodies_file, duration, connections):
    env = dict(os.environ, BODIES=bodies_file, TOKEN=server.token)
    cmd = ["wrk", f"-t{args.threads}", f"-c{connections}", f"-d{duration}s", "--timeout", "30s",
           "-s", os.path.join(ROOT, "tests", "bench", "rotate.lua"), server.url]
    if not args.no_pin:
        cmd = ["taskset", "-c", "1"] + cmd
    out = subprocess.run(cmd, env=env, check=True, text=True, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    if out.stderr.strip():
        print("  wrk: " + out.stderr.strip().replace("\n", "\n  wrk: "))
    line = next(l for l in out.stdout.splitlines() if l.startswith("BENCH "))
    return {k: int(v) for k, v in (kv.split("=") for kv in line.split()[1:])}


def measure(args, server, name, bodies):
    path = os.path.join(args.work, name + ".bodies")
    with open(path, "w") as f:
        f.write("\n".join(json.dumps(b, separators=(",", ":")) for b in bodies) + "\n")
    if not name.startswith("place"):
        warm = wrk(args, server, path, args.warmup, args.connections)
        if warm["bad"] or warm["errors_status"]:
            sys.exit(f"{name}: {warm['bad']} bad answers during warm-up")
    connections = args.place_connections if name.startswith("place") else args.connections
    server_before, pg_before = cpu_ticks(server.proc.pid), postgres_ticks()
    statements_before = server.statements()
    perf = None
    if args.perf:
        graph = [] if args.perf_flat else ["--call-graph", "dwarf,16384"]
        perf = subprocess.Popen(["perf", "record", "-F", "1999", *graph,
                                 "-p", str(server.proc.pid), "-o",
                                 os.path.join(args.perf, name + ".perf.data"),
                                 "--", "sleep", str(max(args.duration - 2, 1))],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    r = wrk(args, server, path, args.duration, connections)
    if perf:
        perf.wait()
    statements_after = server.statements()
    server_ms = (cpu_ticks(server.proc.pid) - server_before) * 1000 / TICKS
    pg_after = postgres_ticks()
    pg_ms = sum(t - pg_before.get(pid, 0) for pid, t in pg_after.items()) * 1000 / TICKS
    n = max(r["requests"], 1)
    seconds = r["duration_us"] / 1e6
    row = {
        "run": name, "req/s": r["requests"] / seconds, "p50 ms": r["p50_us"] / 1000,
        "p99 ms": r["p99_us"] / 1000, "max ms": r["max_us"] / 1000,
        "server CPU ms/req": server_ms / n, "Postgres CPU ms/req": pg_ms / n,
        "SQL/req": (statements_after - statements_before) / n,
        "bad": r["bad"] + r["errors_status"] + r["errors_timeout"] + r["errors_read"],
        "RSS MiB": server.rss_kib() / 1024,
    }
    print("  " + "  ".join(f"{k}: {v:.2f}" if isinstance(v, float) else f"{k}: {v}"
                           for k, v in row.items()), flush=True)
    return row


def instructions(args, server, name, bodies):
    """Runs `bodies` one after another (after a warm-up of 20) with callgrind collecting
    and prints the server's instructions per request: every thread, background tasks
    included, from the request's bytes arriving to its answer leaving."""
    def send(body):
        server.gql(body["query"], body["variables"])
    for body in bodies[:20]:
        send(body)
    pid = str(server.proc.pid)
    subprocess.run(["callgrind_control", "--instr=on", pid], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["callgrind_control", "-z", pid], check=True, stdout=subprocess.DEVNULL)
    n = args.callgrind
    for i in range(n):
        send(bodies[i % len(bodies)])
    subprocess.run(["callgrind_control", "-d", name, pid], check=True, stdout=subprocess.DEVNULL)
    dumps = sorted(glob.glob(os.path.join(args.work, "callgrind.out*")), key=os.path.getmtime)
    with open(dumps[-1]) as f:
        total = next(int(l.split()[1]) for l in f if l.startswith(("summary:", "totals:")))
    print(f"  run: {name}  requests: {n}  server instructions/req: {total / n:,.0f}  "
          f"(callgrind dump: {dumps[-1]})", flush=True)


def idle_statements(server, query, variables, times=20):
    time.sleep(2)  # requests still queued when the last run's wrk stopped finish first
    before = server.statements()
    for _ in range(times):
        server.gql(query, variables)
    return (server.statements() - before) / times


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--orders", type=int, default=100_000)
    p.add_argument("--duration", type=int, default=15)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--connections", type=int, default=64)
    p.add_argument("--place-connections", type=int, default=16)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--pool", type=int, default=10)
    p.add_argument("--rate-budget", type=int, default=0, help="ORDERLY_RATE_BUDGET (0: off)")
    p.add_argument("--only", default="q1,q2,place-spread,place-hot")
    p.add_argument("--no-pin", action="store_true")
    p.add_argument("--no-build", action="store_true")
    p.add_argument("--perf", metavar="DIR",
                   help="record a perf profile of the server during each run into DIR "
                        "(build with --profile profiling and set ORDERLY_BIN)")
    p.add_argument("--callgrind", type=int, metavar="N", default=0,
                   help="q1/q2 only: run the server under valgrind's callgrind and print its "
                        "instructions per request over N sequential requests (steady on a "
                        "noisy machine, where req/s and CPU time are not)")
    p.add_argument("--perf-flat", action="store_true",
                   help="with --perf: no call graphs (a flat profile; the release binary will do)")
    args = p.parse_args()
    runs = args.only.split(",")
    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/orderly_bench")
    if not url.startswith("postgres"):
        sys.exit("the benchmark runs on Postgres: set DATABASE_URL=postgres://...")
    if not args.no_build:
        sh("cargo", "build", "--release", "-q", "-p", "orderly", capture=False)
    args.work = tempfile.mkdtemp(prefix="orderly-bench-")
    env = dict(os.environ, DATABASE_URL=url, ORDERLY_BIND="127.0.0.1:18190",
               ORDERLY_LOG_FORMAT="json", RUST_LOG=os.environ.get("RUST_LOG", "warn"),
               ORDERLY_SEED_DEMO="false", ORDERLY_DB_POOL=str(args.pool),
               ORDERLY_RATE_BUDGET=str(args.rate_budget),
               ORDERLY_JWT_SECRET=os.environ.get("ORDERLY_JWT_SECRET",
                                                 "bench-secret-bench-secret-bench-secret-0"))
    db = url.split("?")[0].rsplit("/", 1)
    if psql(db[0] + "/postgres", f"SELECT count(*) FROM pg_database WHERE datname = '{db[1]}'") == "0":
        psql(db[0] + "/postgres", f'CREATE DATABASE "{db[1]}"')
    started = time.time()
    if psql(url, "SELECT count(*) FROM information_schema.tables WHERE table_name = 'locations'") == "0" \
            or psql(url, "SELECT count(*) FROM locations WHERE code = 'BENCH-WEST'") == "0":
        sh(BIN, "seed", "--bench", "--orders", str(args.orders), env=env)
    print(f"bench data ready ({time.time() - started:.0f} s): "
          f"{psql(url, 'SELECT count(*) FROM orders')} orders, "
          f"{psql(url, 'SELECT count(*) FROM order_lines')} lines", flush=True)

    server = Server(args, env)
    if not args.no_pin:
        pin_postgres("0")
    rows = []
    try:
        rng = random.Random(7)
        top = int(psql(url, "SELECT max(id) FROM orders"))
        numbers = [f"#{1000 + rng.randint(1, min(top, args.orders))}" for _ in range(204)]
        order_ids = [server.gql("query($n: String!) { orderByNumber(number: $n) { id } }",
                                {"n": n})["orderByNumber"]["id"] for n in numbers]
        heavy = psql(url, "SELECT c.email FROM customers c JOIN orders o ON o.customer_id = c.id "
                          "WHERE c.email LIKE 'bench.customer.%' GROUP BY c.email "
                          "HAVING count(*) >= 50 ORDER BY c.email LIMIT 55").split()
        customer_q = "query($q: String!) { customers(query: $q, first: 1) { edges { node { id } } } }"
        heavy_ids = [server.gql(customer_q, {"q": e})["customers"]["edges"][0]["node"]["id"]
                     for e in heavy]
        light = psql(url, "SELECT email FROM customers WHERE email LIKE 'bench.customer.9%' "
                          "ORDER BY email LIMIT 50").split()
        light_ids = [server.gql(customer_q, {"q": e})["customers"]["edges"][0]["node"]["id"]
                     for e in light]
        for name in runs:
            print(name, flush=True)
            if args.callgrind and name in ("q1", "q2"):
                instructions(args, server, name, [
                    {"query": Q1, "variables": {"id": i}} for i in order_ids] if name == "q1"
                    else [{"query": Q2, "variables": {"c": c}} for c in heavy_ids])
            elif name == "q1":
                print(f"  SQL statements idle: {idle_statements(server, Q1, {'id': order_ids[0]}):.1f}")
                rows.append(measure(args, server, name, [
                    {"query": Q1, "variables": {"id": i}} for i in order_ids]))
            elif name == "q2":
                print(f"  SQL statements idle: {idle_statements(server, Q2, {'c': heavy_ids[0]}):.1f}")
                rows.append(measure(args, server, name, [
                    {"query": Q2, "variables": {"c": c}} for c in heavy_ids]))
            elif name in ("place-spread", "place-hot"):
                bodies = []
                for i in range(2000):
                    city, region, postal, lat, lon = ADDRESSES[rng.randrange(len(ADDRESSES))]
                    if name == "place-hot":
                        lines = [{"sku": "BENCH-0000", "quantity": 1}]
                    else:
                        skus = rng.sample(range(500), rng.randint(1, 3))
                        lines = [{"sku": f"BENCH-{s:04d}", "quantity": rng.randint(1, 2)} for s in skus]
                    bodies.append({"query": PLACE, "variables": {"input": {
                        "customerId": light_ids[i % len(light_ids)], "lines": lines,
                        "shippingAddress": {"line1": "1 Bench St", "city": city, "region": region,
                                            "postalCode": postal, "country": "US",
                                            "latitude": lat, "longitude": lon},
                        "payment": {"provider": "test", "token": "tok_visa"}}}})
                last = psql(url, "SELECT max(id) FROM orders")
                reserved = int(psql(url, "SELECT coalesce(sum(reserved), 0) FROM inventory_levels"))
                work = pg_work(url)
                row = measure(args, server, name, bodies)
                time.sleep(2)
                work = [b - a for a, b in zip(work, pg_work(url))]
                placed = psql(url, f"SELECT count(*), coalesce(sum(l.quantity), 0) FROM orders o "
                                   f"JOIN order_lines l ON l.order_id = o.id WHERE o.id > {last}")
                orders = psql(url, f"SELECT count(*) FROM orders WHERE id > {last}")
                units = int(placed.split("|")[1])
                reserved_now = int(psql(url, "SELECT coalesce(sum(reserved), 0) FROM inventory_levels"))
                negative = psql(url, "SELECT count(*) FROM inventory_levels WHERE reserved > on_hand OR on_hand < 0")
                print(f"  orders placed: {orders}; units ordered: {units}; reserved rose by "
                      f"{reserved_now - reserved}; levels over-reserved: {negative}")
                per = max(int(orders), 1)
                print("  Postgres work per order (warm-up included, and the relay and "
                      "notifications it caused): " + ", ".join(
                          f"{n} {w / per:.1f}" for n, w in zip(WORK_NAMES, work)))
                if reserved_now - reserved != units or negative != "0":
                    sys.exit("stock check FAILED")
                rows.append(row)
            else:
                sys.exit(f"unknown run {name}")
    finally:
        server.stop()
        if not args.no_pin:
            pin_postgres("0-%d" % (os.cpu_count() - 1))
    if rows:
        print()
        keys = list(rows[0].keys())
        print("| " + " | ".join(keys) + " |")
        print("|" + "---|" * len(keys))
    for row in rows:
        print("| " + " | ".join(f"{v:.2f}" if isinstance(v, float) else str(v) for v in row.values()) + " |")
    errors = open(os.path.join(args.work, "server.log")).read().count('"level":"ERROR"')
    print(f"server errors logged: {errors} (log: {args.work}/server.log)")


if __name__ == "__main__":
    main()
