//! Crash consistency: the server, as a process of its own, is killed with SIGKILL while
//! 16 clients place and cancel orders; a new process starts on the same database; the
//! clients retry what they never heard back about, with the same idempotency keys.
//! Then every invariant must hold: each key placed one order, acknowledged orders
//! exist, stock reserved equals what open lines hold, each order has one payment (voided
//! when cancelled) owned through one payment attempt, events run 1..n per order, and
//! the outbox drains.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use orderly_tests::process::ServerProcess;
use orderly_tests::{Backend, PLACE_ORDER, TestApp, fresh_postgres_database};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use serde_json::{Value, json};

const SERVER: &str = env!("CARGO_BIN_EXE_orderly_server");
const SKUS: [&str; 3] = ["PANEL-400W", "INVERTER-8K", "RAIL-KIT"];
const STOCK: i64 = 100_000;
const CLIENTS: usize = 16;

const CANCEL: &str = "mutation($id: ID!) {
  cancelOrder(input: { orderId: $id, reason: \"changed mind\" }) { order { status } userErrors { code } }
}";

/// What a client heard about one placement.
#[derive(Default)]
struct Heard {
    /// Key → (input, order id) for answered placements.
    placed: Vec<(String, Value, String)>,
    /// Key → input for placements whose answer never came (the server died).
    unknown: Vec<(String, Value)>,
    cancels: usize,
}

async fn world(app: &TestApp) -> Vec<String> {
    let reno = app.create_location("RNO", "US").await;
    let newark = app.create_location("EWR", "US").await;
    for (i, sku) in SKUS.iter().enumerate() {
        app.upsert_sku(sku, &format!("{}.00", 100 + i)).await;
        app.set_stock(&reno, sku, i32::try_from(STOCK / 2).unwrap())
            .await;
        app.set_stock(&newark, sku, i32::try_from(STOCK / 2).unwrap())
            .await;
    }
    let mut customers = Vec::new();
    for i in 0..4 {
        customers.push(
            app.create_customer(
                &format!("buyer{i}@example.com"),
                &format!("Buyer {i}"),
                "America/New_York",
            )
            .await,
        );
    }
    customers
}

fn checkout(customer: &str, key: &str, n: usize) -> Value {
    let lines: Vec<Value> = (0..1 + n % 2)
        .map(|i| json!({ "sku": SKUS[(n + i) % SKUS.len()], "quantity": 1 + (n + i) % 3 }))
        .collect();
    json!({
        "customerId": customer,
        "lines": lines,
        "shippingAddress": { "name": "Buyer", "line1": "1 Main St", "city": "Denver", "region": "CO",
                             "postalCode": "80202", "country": "US" },
        "shippingMethod": "STANDARD",
        "payment": { "provider": "test", "token": "tok_visa" },
        "idempotencyKey": key,
    })
}

/// Posts as staff without panicking on a dead server: `None` when no answer came.
async fn try_post(app: &TestApp, token: &str, query: &str, variables: Value) -> Option<Value> {
    let response = app
        .client
        .post(format!("{}/graphql", app.address))
        .bearer_auth(token)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .ok()?;
    if response.status() != 200 {
        return None;
    }
    response.json().await.ok()
}

/// One client: places orders (and cancels every third it placed) until told to stop.
async fn client(app: Arc<TestApp>, me: usize, customer: String, stop: Arc<AtomicBool>) -> Heard {
    let token = app.staff_token();
    let mut heard = Heard::default();
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let key = format!("client{me}-{n}");
        let input = checkout(&customer, &key, n);
        match try_post(&app, &token, PLACE_ORDER, json!({ "input": input })).await {
            Some(body) => {
                let id = body["data"]["placeOrder"]["order"]["id"]
                    .as_str()
                    .unwrap_or_else(|| panic!("a placement failed: {body}"))
                    .to_owned();
                heard.placed.push((key, input, id));
            }
            None => {
                heard.unknown.push((key, input));
                break;
            }
        }
        if n % 3 == 0 {
            let id = heard.placed.last().map(|p| p.2.clone()).unwrap_or_default();
            if try_post(&app, &token, CANCEL, json!({ "id": id }))
                .await
                .is_none()
            {
                break;
            }
            heard.cancels += 1;
        }
    }
    heard
}

/// `sql`'s value once `done` holds of it, or its last value after 15 s of asking.
async fn scalar_within(db: &DatabaseConnection, sql: &str, done: impl Fn(i64) -> bool) -> i64 {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let value = scalar(db, sql).await;
        if done(value) || tokio::time::Instant::now() >= deadline {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn scalar(db: &DatabaseConnection, sql: &str) -> i64 {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

async fn pairs(db: &DatabaseConnection, sql: &str) -> BTreeMap<i64, i64> {
    db.query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .iter()
        .map(|r| {
            (
                r.try_get_by_index::<i64>(0).unwrap(),
                r.try_get_by_index::<i64>(1).unwrap(),
            )
        })
        .collect()
}

async fn survives_kill_9_under_load(database_url: String, dir: tempfile::TempDir) {
    let secret = format!("crash-test-secret-{}", uuid::Uuid::new_v4().simple());
    let (mut first, app) = ServerProcess::start(SERVER, &database_url, &secret, dir.path()).await;
    let customers = world(&app).await;
    let app = Arc::new(app);
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|me| {
            tokio::spawn(client(
                app.clone(),
                me,
                customers[me % customers.len()].clone(),
                stop.clone(),
            ))
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    first.kill();
    stop.store(true, Ordering::Relaxed);
    let mut heard = Vec::new();
    for c in clients {
        heard.push(c.await.unwrap());
    }
    let acknowledged: usize = heard.iter().map(|h| h.placed.len()).sum();
    assert!(
        acknowledged >= CLIENTS,
        "too little load to mean anything: {acknowledged}"
    );

    let (_second, app) = ServerProcess::start(SERVER, &database_url, &secret, dir.path()).await;
    let token = app.staff_token();
    // Every key, retried: the acknowledged ones replay their order, the unanswered ones
    // either replay (committed before the kill) or place now.
    let mut order_of_key: HashMap<String, String> = HashMap::new();
    for h in &heard {
        for (key, input, id) in &h.placed {
            let body = try_post(&app, &token, PLACE_ORDER, json!({ "input": input }))
                .await
                .expect("the restarted server answers");
            assert_eq!(
                body["data"]["placeOrder"]["order"]["id"], *id,
                "acknowledged order {key} survives and replays: {body}"
            );
            order_of_key.insert(key.clone(), id.clone());
        }
        for (key, input) in &h.unknown {
            let body = try_post(&app, &token, PLACE_ORDER, json!({ "input": input }))
                .await
                .expect("the restarted server answers");
            let id = body["data"]["placeOrder"]["order"]["id"]
                .as_str()
                .unwrap_or_else(|| panic!("retry of {key}: {body}"));
            order_of_key.insert(key.clone(), id.to_owned());
        }
    }

    let db = Database::connect(&database_url).await.unwrap();
    let orders = scalar(&db, "SELECT COUNT(*) FROM orders").await;
    assert_eq!(
        orders,
        i64::try_from(order_of_key.len()).unwrap(),
        "one order per key, no more"
    );
    assert_eq!(
        scalar(&db, "SELECT COUNT(*) FROM idempotency_keys").await,
        orders
    );
    assert_eq!(
        scalar(&db, "SELECT COUNT(DISTINCT order_id) FROM idempotency_keys").await,
        orders
    );

    // Stock: reserved is exactly what open lines hold; nothing was shipped.
    let reserved = pairs(
        &db,
        "SELECT sku_id, SUM(reserved) FROM inventory_levels GROUP BY sku_id",
    )
    .await;
    let open = pairs(
        &db,
        "SELECT sku_id, SUM(quantity - quantity_cancelled) FROM order_lines GROUP BY sku_id",
    )
    .await;
    for (sku, held) in &reserved {
        assert_eq!(*held, open.get(sku).copied().unwrap_or(0), "sku {sku}");
    }
    assert_eq!(
        scalar(&db, "SELECT SUM(on_hand) FROM inventory_levels").await,
        STOCK * 3
    );

    // Payments: one per order, owned through one ORDERED attempt with its reference;
    // authorised for the total while open, voided (with a void owed or sent) once cancelled.
    assert_eq!(scalar(&db, "SELECT COUNT(*) FROM payments").await, orders);
    assert_eq!(
        scalar(
            &db,
            "SELECT COUNT(*) FROM payments p JOIN orders o ON o.id = p.order_id \
             WHERE (o.status = 'CANCELLED' AND p.status = 'VOIDED') \
                OR (o.status <> 'CANCELLED' AND p.status = 'AUTHORIZED' AND p.amount_authorized = o.total)"
        )
        .await,
        orders
    );
    assert_eq!(
        scalar(
            &db,
            "SELECT COUNT(*) FROM orders o WHERE o.status = 'CANCELLED' AND NOT EXISTS \
             (SELECT 1 FROM payment_operations op WHERE op.order_id = o.id AND op.kind = 'VOID')"
        )
        .await,
        0,
        "every cancelled order owes or has sent its void"
    );
    assert_eq!(
        scalar(
            &db,
            "SELECT COUNT(*) FROM payment_attempts a JOIN payments p ON p.order_id = a.order_id \
             WHERE a.status = 'ORDERED' AND a.provider_reference = p.provider_reference"
        )
        .await,
        orders
    );
    assert_eq!(
        scalar(
            &db,
            "SELECT COUNT(*) FROM payment_attempts WHERE status = 'ORDERED'"
        )
        .await,
        orders
    );

    // Events: 1..n per order, no gaps, no doubles.
    assert_eq!(
        scalar(
            &db,
            "SELECT COUNT(*) FROM (SELECT order_id FROM order_events GROUP BY order_id \
             HAVING MIN(sequence) <> 1 OR MAX(sequence) <> COUNT(*) \
                 OR COUNT(DISTINCT sequence) <> COUNT(*)) gaps"
        )
        .await,
        0
    );
    assert_eq!(
        scalar(&db, "SELECT COUNT(DISTINCT order_id) FROM order_events").await,
        orders
    );
    // The outbox drains on the new process.
    let waiting = scalar_within(&db, "SELECT COUNT(*) FROM event_outbox", |n| n == 0).await;
    assert_eq!(waiting, 0, "{waiting} events never published");
    db.close().await.ok();
    let unknown: usize = heard.iter().map(|h| h.unknown.len()).sum();
    let cancels: usize = heard.iter().map(|h| h.cancels).sum();
    eprintln!(
        "killed under load: {acknowledged} placements acknowledged, {unknown} unanswered, \
         {cancels} cancellations; {orders} orders after the retries"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("orderly.db").display()
    );
    survives_kill_9_under_load(url, dir).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres() {
    let Some(Backend::Postgres(base)) = Backend::postgres() else {
        eprintln!("TEST_DATABASE_URL is not set: the crash test not run on Postgres");
        return;
    };
    let url = fresh_postgres_database(&base, None).await;
    survives_kill_9_under_load(url, tempfile::tempdir().unwrap()).await;
}

/// The relay vacuums the outbox when it starts (and every 10,000 events it takes), so
/// its claims never walk the dead rows of the events published before, whether
/// autovacuum is on, off (as on this project's CI machines) or behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_relay_vacuums_the_outbox_on_postgres() {
    let Some(backend) = Backend::postgres() else {
        eprintln!("TEST_DATABASE_URL is not set: the outbox vacuum not checked on Postgres");
        return;
    };
    let app = orderly_tests::spawn_app(backend).await;
    let db = Database::connect(&app.database_url).await.unwrap();
    let vacuums = scalar_within(
        &db,
        "SELECT vacuum_count FROM pg_stat_user_tables WHERE relname = 'event_outbox'",
        |n| n > 0,
    )
    .await;
    assert!(vacuums > 0, "the relay never vacuumed event_outbox");
    db.close().await.ok();
}
