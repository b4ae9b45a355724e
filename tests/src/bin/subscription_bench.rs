//! Subscription benchmark: starts the release `orderly` server as its own process, opens
//! N WebSocket subscriptions (`orderUpdated`, spread over K orders, P to a socket as a
//! portal multiplexes them over graphql-ws), measures the server's
//! memory per idle subscription, then drives M status changes and reports the time from
//! sending each mutation to every subscriber's frame (an upper bound on commit → frame),
//! frames per second, and errors.
//!
//! Run through `tests/bench/subscriptions.sh`; settings come from the environment:
//! SUBSCRIBERS (10000), PER_SOCKET (1, at most the server's 100), ORDERS (100), CHANGES
//! (300), CONCURRENCY (4), ORDERLY_BIN,
//! DATABASE_URL (default: a temporary SQLite file), REDIS_URL (optional).

// A command-line report: its output is the point.
#![allow(clippy::print_stdout)]

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const BIND: &str = "127.0.0.1:18183";
const SECRET: &str = "bench-secret-bench-secret-bench-secret-1";

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Server {
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .context("Failed to read the server's /proc status")?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .context("no VmRSS in /proc status")
}

struct Client {
    http: reqwest::Client,
    token: String,
}

impl Client {
    async fn gql(&self, query: &str, variables: Value) -> anyhow::Result<Value> {
        let body: Value = self
            .http
            .post(format!("http://{BIND}/graphql"))
            .bearer_auth(&self.token)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .context("Failed to send a GraphQL request")?
            .json()
            .await
            .context("Failed to read a GraphQL response")?;
        if !body["errors"].is_null() {
            bail!("GraphQL errors: {body}");
        }
        Ok(body["data"].clone())
    }
}

/// Counts a failed frame; the first one is shown, so a broken run says why.
fn count_error(errors: &std::sync::atomic::AtomicUsize, frame: &Value) {
    if errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed) == 0 {
        eprintln!("first subscription error: {frame}");
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let subscribers = setting("SUBSCRIBERS", 10_000);
    let per_socket = setting("PER_SOCKET", 1).clamp(1, 100);
    let sockets = subscribers.div_ceil(per_socket);
    let orders = setting("ORDERS", 100).max(1);
    let changes = setting("CHANGES", 300);
    let concurrency = setting("CONCURRENCY", 4).max(1);
    let bin = std::env::var("ORDERLY_BIN").unwrap_or_else(|_| "target/release/orderly".to_owned());
    let dir = tempfile::tempdir().context("Failed to create a temp dir")?;
    let database = std::env::var("DATABASE_URL").unwrap_or_else(|_| {
        format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("bench.db").display()
        )
    });
    let env = |cmd: &mut Command| {
        cmd.env("DATABASE_URL", &database)
            .env("ORDERLY_JWT_SECRET", SECRET)
            .env("ORDERLY_BIND", BIND)
            .env("ORDERLY_LOG_FORMAT", "json")
            .env("RUST_LOG", "warn")
            .env("ORDERLY_SEED_DEMO", "false");
    };
    let mut seed = Command::new(&bin);
    seed.args(["seed", "--demo"]);
    env(&mut seed);
    let status = seed
        .stdout(Stdio::null())
        .status()
        .context("Failed to run orderly seed --demo")?;
    anyhow::ensure!(status.success(), "orderly seed --demo failed");
    let mut token = Command::new(&bin);
    token.args(["token", "--role", "staff", "--ttl", "2h"]);
    env(&mut token);
    let token = String::from_utf8(token.output().context("Failed to mint a token")?.stdout)?
        .trim()
        .to_owned();
    let mut serve = Command::new(&bin);
    serve
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    env(&mut serve);
    let server = Server {
        child: serve.spawn().context("Failed to start the server")?,
    };
    let pid = server.child.id();
    let client = Client {
        http: reqwest::Client::new(),
        token: token.clone(),
    };
    for _ in 0..100 {
        if client
            .http
            .get(format!("http://{BIND}/health"))
            .send()
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // K orders, shipped, so that each change is a repeatable carrier scan.
    let data = client
        .gql(
            "{ locations { id code } customers(first: 1) { edges { node { id } } } }",
            json!({}),
        )
        .await?;
    let reno = data["locations"]
        .as_array()
        .and_then(|l| l.iter().find(|l| l["code"] == "RNO-WH"))
        .context("no RNO-WH")?["id"]
        .clone();
    let customer = data["customers"]["edges"][0]["node"]["id"].clone();
    client
        .gql("mutation($l: ID!) { setInventory(input: { skuCode: \"MC4-PAIR\", locationId: $l, onHand: 1000000 }) { userErrors { message } } }", json!({ "l": reno }))
        .await?;
    let mut order_ids = Vec::new();
    let mut fulfillment_ids = Vec::new();
    for _ in 0..orders {
        let placed = client
            .gql(
                "mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { order { id fulfillmentOrders { id } } userErrors { message } } }",
                json!({ "input": { "customerId": customer, "lines": [{ "sku": "MC4-PAIR", "quantity": 1 }],
                    "shippingAddress": { "line1": "1 Main St", "city": "Reno", "region": "NV", "postalCode": "89501", "country": "US" },
                    "payment": { "provider": "test", "token": "tok_visa" } } }),
            )
            .await?;
        let fo = placed["placeOrder"]["order"]["fulfillmentOrders"][0]["id"].clone();
        for step in ["startPicking", "markPacked"] {
            client.gql(&format!("mutation($id: ID!) {{ {step}(input: {{ fulfillmentOrderId: $id }}) {{ userErrors {{ message }} }} }}"), json!({ "id": fo })).await?;
        }
        client
            .gql("mutation($id: ID!) { shipFulfillmentOrder(input: { fulfillmentOrderId: $id, carrier: \"UPS\", trackingNumber: \"1Z\" }) { userErrors { message } } }", json!({ "id": fo }))
            .await?;
        order_ids.push(
            placed["placeOrder"]["order"]["id"]
                .as_str()
                .context("no order id")?
                .to_owned(),
        );
        fulfillment_ids.push(fo);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_before = rss_kib(pid)?;

    // N subscriptions over N / P sockets; subscription j of socket s is the
    // (s * P + j)th, on order (s * P + j) % K.
    let received: Arc<Mutex<Vec<(usize, i64, Instant)>>> = Arc::default();
    let errors = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let opened = Instant::now();
    let mut readers = Vec::with_capacity(sockets);
    for batch in (0..sockets).collect::<Vec<_>>().chunks(250) {
        let mut connecting = Vec::new();
        for &s in batch {
            let watched: Vec<(usize, String)> = (s * per_socket
                ..((s + 1) * per_socket).min(subscribers))
                .map(|i| (i % orders, order_ids[i % orders].clone()))
                .collect();
            let token = token.clone();
            connecting.push(tokio::spawn(async move {
                let mut request = format!("ws://{BIND}/graphql").into_client_request()?;
                request.headers_mut().insert("sec-websocket-protocol", "graphql-transport-ws".parse()?);
                let (mut socket, _) = tokio_tungstenite::connect_async(request).await?;
                let init =
                    json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {token}") } });
                socket.send(Message::Text(init.to_string().into())).await?;
                while let Some(message) = socket.next().await {
                    if let Message::Text(text) = message?
                        && serde_json::from_str::<Value>(&text)?["type"] == "connection_ack"
                    {
                        break;
                    }
                }
                for (n, (_, order_id)) in watched.iter().enumerate() {
                    let start = json!({ "id": n.to_string(), "type": "subscribe", "payload": {
                        "query": "subscription($id: ID!) { orderUpdated(orderId: $id) { sequence } }",
                        "variables": { "id": order_id } } });
                    socket.send(Message::Text(start.to_string().into())).await?;
                }
                let orders: Vec<usize> = watched.iter().map(|(order, _)| *order).collect();
                Ok::<_, anyhow::Error>((orders, socket))
            }));
        }
        for handle in connecting {
            let (watched, mut socket) = handle.await??;
            let received = received.clone();
            let errors = errors.clone();
            readers.push(tokio::spawn(async move {
                while let Some(message) = socket.next().await {
                    let Ok(Message::Text(text)) = message else {
                        continue;
                    };
                    let Ok(value) = serde_json::from_str::<Value>(&text) else {
                        continue;
                    };
                    match value["type"].as_str() {
                        Some("next") => {
                            let at = Instant::now();
                            let order = value["id"]
                                .as_str()
                                .and_then(|id| id.parse::<usize>().ok())
                                .and_then(|n| watched.get(n).copied());
                            if let (Some(order), Some(seq)) = (
                                order,
                                value["payload"]["data"]["orderUpdated"]["sequence"].as_i64(),
                            ) {
                                received.lock().await.push((order, seq, at));
                            } else {
                                count_error(&errors, &value);
                            }
                        }
                        Some("error") => count_error(&errors, &value),
                        _ => {}
                    }
                }
            }));
        }
    }
    let connect_time = opened.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_idle = rss_kib(pid)?;

    // M changes, CONCURRENCY at a time, round-robin over the orders.
    let sent: Arc<Mutex<HashMap<(usize, i64), Instant>>> = Arc::default();
    let client = Arc::new(client);
    let fulfillment_ids = Arc::new(fulfillment_ids);
    let driving = Instant::now();
    let mut drivers = Vec::new();
    for worker in 0..concurrency {
        let client = client.clone();
        let sent = sent.clone();
        let fulfillment_ids = fulfillment_ids.clone();
        drivers.push(tokio::spawn(async move {
            let mut m = worker;
            while m < changes {
                let order = m % fulfillment_ids.len();
                let at = Instant::now();
                let data = client
                    .gql(
                        "mutation($id: ID!, $m: String) { recordDeliveryEvent(input: { fulfillmentOrderId: $id, status: IN_TRANSIT, message: $m }) { fulfillmentOrder { order { version } } userErrors { message } } }",
                        json!({ "id": fulfillment_ids[order], "m": format!("scan {m}") }),
                    )
                    .await?;
                let version = data["recordDeliveryEvent"]["fulfillmentOrder"]["order"]["version"].as_i64().context("no version")?;
                sent.lock().await.insert((order, version), at);
                m += concurrency;
            }
            Ok::<_, anyhow::Error>(())
        }));
    }
    for driver in drivers {
        driver.await??;
    }
    let drive_time = driving.elapsed();
    let expected: usize = {
        let per_order = subscribers / orders;
        let extra = subscribers % orders;
        let sent = sent.lock().await;
        sent.keys()
            .map(|(order, _)| per_order + usize::from(*order < extra))
            .sum()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while received.lock().await.len() < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let delivered_in = driving.elapsed();
    let received = received.lock().await;
    let sent = sent.lock().await;
    let mut latencies: Vec<f64> = received
        .iter()
        .filter_map(|(order, seq, at)| {
            sent.get(&(*order, *seq))
                .map(|s| at.saturating_duration_since(*s).as_secs_f64() * 1000.0)
        })
        .collect();
    latencies.sort_by(f64::total_cmp);
    let rss_after = rss_kib(pid)?;

    println!("database: {}", database.split(':').next().unwrap_or("?"));
    println!(
        "subscribers: {subscribers} over {orders} orders, {per_socket} to a socket ({sockets} sockets), connected in {:.1} s",
        connect_time.as_secs_f64()
    );
    println!(
        "server RSS: {rss_before} KiB before, {rss_idle} KiB with {subscribers} idle subscriptions => {:.1} KiB per subscription",
        (rss_idle.saturating_sub(rss_before)) as f64 / subscribers.max(1) as f64
    );
    println!(
        "changes: {} committed in {:.2} s ({:.0}/s) with {concurrency} drivers",
        sent.len(),
        drive_time.as_secs_f64(),
        sent.len() as f64 / drive_time.as_secs_f64()
    );
    println!(
        "frames: {} of {expected} expected in {:.2} s ({:.0} frames/s); errors: {}",
        received.len(),
        delivered_in.as_secs_f64(),
        received.len() as f64 / delivered_in.as_secs_f64(),
        errors.load(std::sync::atomic::Ordering::Relaxed)
    );
    println!(
        "mutation sent -> frame received: p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        percentile(&latencies, 50.0),
        percentile(&latencies, 90.0),
        percentile(&latencies, 99.0),
        latencies.last().copied().unwrap_or(f64::NAN)
    );
    println!("server RSS after the run: {rss_after} KiB");
    for reader in readers {
        reader.abort();
    }
    drop(server);
    Ok(())
}
