//! Live updates over real WebSockets: replay then live, resume, customer scoping, the
//! legacy protocol, delivery updates, "arriving tomorrow" once, and — with Redis — two
//! instances and a Redis outage in the middle of a stream.

use std::time::Duration;

use orderly_tests::{
    Backend, Options, Subscriber, TestApp, backend_tests, spawn_app_with, test_redis_url,
};
use serde_json::{Value, json};

const ORDER_UPDATED: &str = "subscription($id: ID!, $after: Int) {
  orderUpdated(orderId: $id, afterSequence: $after) { sequence type message order { number status } }
}";
const CUSTOMER_UPDATES: &str =
    "subscription { customerOrderUpdates { sequence type order { number } } }";
const DELIVERY_UPDATES: &str = "subscription { deliveryUpdates { status label estimatedDelivery { earliest label } event { type } order { number } fulfillmentOrder { carrier } } }";

async fn setup(app: &TestApp) -> (String, String) {
    let location = app.create_location("RNO", "US").await;
    app.upsert_sku("EV-48A", "599.00").await;
    app.set_stock(&location, "EV-48A", 50).await;
    let customer = app
        .create_customer("aiko@example.com", "Aiko Tanaka", "America/New_York")
        .await;
    (customer, location)
}

/// Places an order for `customer`; returns (order id, fulfilment order id).
async fn place(app: &TestApp, customer: &str) -> (String, String) {
    let payload = app
        .place_order(json!({
            "customerId": customer, "lines": [{ "sku": "EV-48A", "quantity": 1 }], "shippingMethod": "EXPRESS",
            "shippingAddress": { "line1": "200 Bedford Ave", "city": "Brooklyn", "postalCode": "11249", "country": "US" },
            "payment": { "provider": "test", "token": "tok_visa" }
        }))
        .await;
    let order = &payload["order"];
    (
        order["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{payload}"))
            .to_owned(),
        order["fulfillmentOrders"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned(),
    )
}

/// A staff subscription to `orderUpdated` over graphql-transport-ws.
async fn follow_order(app: &TestApp, variables: Value) -> Subscriber {
    app.subscribe(
        "graphql-transport-ws",
        &app.staff_token(),
        ORDER_UPDATED,
        variables,
    )
    .await
}

fn event(payload: &Value) -> (i64, String) {
    let e = &payload["data"]["orderUpdated"];
    (
        e["sequence"]
            .as_i64()
            .unwrap_or_else(|| panic!("{payload}")),
        e["type"].as_str().unwrap().to_owned(),
    )
}

async fn a_subscription_replays_history_then_follows_live(app: TestApp) {
    let (customer, _) = setup(&app).await;
    let (order, fo) = place(&app, &customer).await;
    let mut sub = follow_order(&app, json!({ "id": order, "after": 0 })).await;
    let replayed: Vec<_> = [sub.next().await, sub.next().await, sub.next().await]
        .iter()
        .map(event)
        .collect();
    assert_eq!(
        replayed,
        vec![
            (1, "PLACED".into()),
            (2, "PAYMENT_AUTHORIZED".into()),
            (3, "ALLOCATED".into())
        ]
    );
    app.step("startPicking", &fo).await;
    assert_eq!(event(&sub.next().await), (4, "PICKING_STARTED".into()));
    app.step("markPacked", &fo).await;
    let packed = sub.next().await;
    assert_eq!(event(&packed), (5, "PACKED".into()));
    assert_eq!(
        packed["data"]["orderUpdated"]["order"]["status"],
        "IN_PROGRESS"
    );
    assert!(
        sub.try_next(Duration::from_millis(300)).await.is_none(),
        "nothing twice"
    );
}

async fn a_subscription_resumes_after_the_last_sequence_seen(app: TestApp) {
    let (customer, _) = setup(&app).await;
    let (order, fo) = place(&app, &customer).await;
    app.step("startPicking", &fo).await;
    let mut sub = follow_order(&app, json!({ "id": order, "after": 2 })).await;
    assert_eq!(event(&sub.next().await), (3, "ALLOCATED".into()));
    assert_eq!(event(&sub.next().await), (4, "PICKING_STARTED".into()));
    app.step("markPacked", &fo).await;
    assert_eq!(event(&sub.next().await), (5, "PACKED".into()));

    // Without afterSequence: only what happens from now on.
    let mut fresh = follow_order(&app, json!({ "id": order })).await;
    assert!(fresh.try_next(Duration::from_millis(300)).await.is_none());
    let body = app
        .staff("mutation($id: ID!) { shipFulfillmentOrder(input: { fulfillmentOrderId: $id, carrier: \"UPS\", trackingNumber: \"1Z9\" }) { userErrors { message } } }", json!({ "id": fo }))
        .await;
    assert_eq!(
        body["data"]["shipFulfillmentOrder"]["userErrors"],
        json!([])
    );
    assert_eq!(event(&fresh.next().await), (6, "SHIPPED".into()));
}

/// More events at once than an order's topic buffers (16): a stream that falls behind
/// re-reads from the database, so every event still arrives once, in sequence.
async fn a_burst_longer_than_the_topic_buffer_arrives_whole(app: TestApp) {
    const BURST: i64 = 48;
    let (customer, _) = setup(&app).await;
    let (order, _) = place(&app, &customer).await;
    // From after placement's three events: the server may take the subscription
    // after some notes committed, and "from now on" would then start later.
    let mut sub = follow_order(&app, json!({ "id": order, "after": 3 })).await;
    let notes = (0..BURST).map(|i| {
        app.staff(
            "mutation($id: ID!, $body: String!) { addOrderNote(input: { orderId: $id, body: $body }) { userErrors { message } } }",
            json!({ "id": order, "body": format!("note {i}") }),
        )
    });
    for body in futures_util::future::join_all(notes).await {
        assert_eq!(
            body["data"]["addOrderNote"]["userErrors"],
            json!([]),
            "{body}"
        );
    }
    // Placement wrote sequences 1–3; the notes 4 on, each once and in order.
    for sequence in 4..4 + BURST {
        assert_eq!(
            event(&sub.next().await),
            (sequence, "INTERNAL_NOTE_ADDED".into())
        );
    }
    assert!(sub.try_next(Duration::from_millis(300)).await.is_none());
}

async fn customers_only_hear_about_their_own_orders(app: TestApp) {
    let (aiko, _) = setup(&app).await;
    let other = app
        .staff(
            "mutation { createCustomer(input: { email: \"maria@example.com\", name: \"Maria\" }) { customer { id } } }",
            json!({}),
        )
        .await;
    let maria = other["data"]["createCustomer"]["customer"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (aikos_order, _) = place(&app, &aiko).await;

    let mut spy = app
        .subscribe(
            "graphql-transport-ws",
            &app.customer_token(&maria),
            ORDER_UPDATED,
            json!({ "id": aikos_order, "after": 0 }),
        )
        .await;
    let refused = spy.next().await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "someone else's order looks missing: {refused}"
    );

    let mut mine = app
        .subscribe(
            "graphql-transport-ws",
            &app.customer_token(&maria),
            CUSTOMER_UPDATES,
            json!({}),
        )
        .await;
    // Let the server register the stream before acting (it has no "subscribed" ack).
    tokio::time::sleep(Duration::from_millis(300)).await;
    place(&app, &aiko).await;
    let (marias_order, _) = place(&app, &maria).await;
    let first = mine.next().await;
    assert_eq!(
        first["data"]["customerOrderUpdates"]["type"], "PLACED",
        "{first}"
    );
    let number = first["data"]["customerOrderUpdates"]["order"]["number"].clone();
    let marias = app
        .staff(
            "query($id: ID!) { order(id: $id) { number } }",
            json!({ "id": marias_order }),
        )
        .await;
    assert_eq!(
        number, marias["data"]["order"]["number"],
        "only Maria's own order"
    );
    assert_eq!(
        mine.next().await["data"]["customerOrderUpdates"]["sequence"],
        2
    );
    assert_eq!(
        mine.next().await["data"]["customerOrderUpdates"]["sequence"],
        3
    );
    assert!(
        mine.try_next(Duration::from_millis(300)).await.is_none(),
        "nothing of Aiko's"
    );
}

async fn the_legacy_graphql_ws_protocol_streams_too(app: TestApp) {
    let (customer, _) = setup(&app).await;
    let (order, fo) = place(&app, &customer).await;
    let mut sub = app
        .subscribe(
            "graphql-ws",
            &app.staff_token(),
            ORDER_UPDATED,
            json!({ "id": order, "after": 3 }),
        )
        .await;
    app.step("startPicking", &fo).await;
    assert_eq!(event(&sub.next().await), (4, "PICKING_STARTED".into()));
}

async fn delivery_updates_carry_the_promise(app: TestApp) {
    let (customer, _) = setup(&app).await;
    let mut sub = app
        .subscribe(
            "graphql-transport-ws",
            &app.customer_token(&customer),
            DELIVERY_UPDATES,
            json!({}),
        )
        .await;
    // Let the server register the stream before acting (it has no "subscribed" ack).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, fo) = place(&app, &customer).await;
    app.ship(&fo).await;
    let update = sub.next().await;
    let update = &update["data"]["deliveryUpdates"];
    assert_eq!(update["event"]["type"], "SHIPPED", "{update}");
    assert_eq!(update["status"], "SHIPPED");
    assert_eq!(update["fulfillmentOrder"]["carrier"], "UPS");
    assert!(
        update["label"].as_str().unwrap().starts_with("Arriving"),
        "{update}"
    );
    assert!(update["estimatedDelivery"]["earliest"].is_string());
}

async fn arriving_tomorrow_is_announced_once(app: TestApp) {
    let (customer, _) = setup(&app).await;
    let (order, fo) = place(&app, &customer).await;
    app.ship(&fo).await;
    let estimate = app
        .staff(
            "query($id: ID!) { order(id: $id) { fulfillmentOrders { estimatedDelivery { earliest } } } }",
            json!({ "id": order }),
        )
        .await;
    let earliest =
        estimate["data"]["order"]["fulfillmentOrders"][0]["estimatedDelivery"]["earliest"]
            .as_str()
            .unwrap()
            .to_owned();
    let earliest = chrono::NaiveDate::parse_from_str(&earliest, "%Y-%m-%d").unwrap();
    let mut sub = app
        .subscribe(
            "graphql-transport-ws",
            &app.customer_token(&customer),
            DELIVERY_UPDATES,
            json!({}),
        )
        .await;
    // Let the server register the stream before acting (it has no "subscribed" ack).
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Noon in New York on the day before the estimate.
    let eve = earliest
        .pred_opt()
        .unwrap()
        .and_hms_opt(17, 0, 0)
        .unwrap()
        .and_utc();
    app.clock.set(eve);
    let update = sub.next().await;
    let update = &update["data"]["deliveryUpdates"];
    assert_eq!(update["event"]["type"], "ARRIVING_TOMORROW", "{update}");
    assert_eq!(update["label"], "Arriving tomorrow");

    // Several more scheduler ticks, and a second instance on the same database: still one.
    if app.backend == "postgres" {
        let twin = spawn_app_with(
            Backend::postgres().unwrap(),
            Options {
                database_url: Some(app.database_url.clone()),
                jwt_secret: Some(app.jwt_secret.clone()),
                scheduler_interval_ms: Some(20),
                now: Some(eve),
                ..Options::default()
            },
        )
        .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        drop(twin);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let events = app
        .staff(
            "query($id: ID!) { order(id: $id) { events { type } } }",
            json!({ "id": order }),
        )
        .await;
    let announced = events["data"]["order"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "ARRIVING_TOMORROW")
        .count();
    assert_eq!(announced, 1, "{events}");
    assert!(sub.try_next(Duration::from_millis(300)).await.is_none());
}

async fn storefront_stock_badges_follow_availability(app: TestApp) {
    let (customer, location) = setup(&app).await;
    let query = "subscription { inventoryChanged(skuCodes: [\"EV-48A\"]) { code available } }";
    let mut sub = app
        .subscribe(
            "graphql-transport-ws",
            &app.customer_token(&customer),
            query,
            json!({}),
        )
        .await;
    assert_eq!(
        sub.next().await["data"]["inventoryChanged"],
        json!({ "code": "EV-48A", "available": 50 })
    );
    place(&app, &customer).await;
    assert_eq!(
        sub.next().await["data"]["inventoryChanged"]["available"],
        49
    );
    app.staff(
        "mutation($l: ID!) { adjustInventory(input: { skuCode: \"EV-48A\", locationId: $l, delta: 10, reason: \"received PO 7\" }) { userErrors { message } } }",
        json!({ "l": location }),
    )
    .await;
    assert_eq!(
        sub.next().await["data"]["inventoryChanged"]["available"],
        59
    );
    let unknown = app
        .subscribe(
            "graphql-transport-ws",
            &app.staff_token(),
            "subscription { inventoryChanged(skuCodes: [\"NOPE\"]) { code } }",
            json!({}),
        )
        .await
        .next()
        .await;
    assert_eq!(
        unknown["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{unknown}"
    );
}

async fn a_warehouse_screen_follows_its_queue(app: TestApp) {
    let (customer, location) = setup(&app).await;
    let query = "subscription($l: ID!) { fulfillmentQueue(locationId: $l) { status location { code } order { number } } }";
    let refused = app
        .subscribe(
            "graphql-transport-ws",
            &app.customer_token(&customer),
            query,
            json!({ "l": location }),
        )
        .await
        .next()
        .await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{refused}"
    );
    let mut screen = app
        .subscribe(
            "graphql-transport-ws",
            &app.staff_token(),
            query,
            json!({ "l": location }),
        )
        .await;
    // Let the server register the stream before acting (it has no "subscribed" ack).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, fo) = place(&app, &customer).await;
    let new = screen.next().await;
    assert_eq!(new["data"]["fulfillmentQueue"]["status"], "OPEN", "{new}");
    assert_eq!(new["data"]["fulfillmentQueue"]["location"]["code"], "RNO");
    app.step("startPicking", &fo).await;
    assert_eq!(
        screen.next().await["data"]["fulfillmentQueue"]["status"],
        "PICKING"
    );
}

backend_tests! {
    storefront_stock_badges_follow_availability => Options::default();
    a_warehouse_screen_follows_its_queue => Options::default();
    a_subscription_replays_history_then_follows_live => Options::default();
    a_subscription_resumes_after_the_last_sequence_seen => Options::default();
    a_burst_longer_than_the_topic_buffer_arrives_whole => Options::default();
    customers_only_hear_about_their_own_orders => Options::default();
    the_legacy_graphql_ws_protocol_streams_too => Options::default();
    delivery_updates_carry_the_promise => Options::default();
    arriving_tomorrow_is_announced_once => Options { scheduler_interval_ms: Some(20), ..Options::default() };
}

/// Two instances on one Postgres and one Redis: a change made through A reaches a
/// subscriber on B, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_on_one_instance_reaches_subscribers_on_another_once() {
    let (Some(redis), Some(postgres)) = (test_redis_url(), Backend::postgres()) else {
        eprintln!(
            "TEST_REDIS_URL and TEST_DATABASE_URL are not both set: two-instance test not run"
        );
        return;
    };
    let a = spawn_app_with(
        postgres.clone(),
        Options {
            redis_url: Some(redis.clone()),
            ..Options::default()
        },
    )
    .await;
    let b = spawn_app_with(
        postgres,
        Options {
            redis_url: Some(redis),
            database_url: Some(a.database_url.clone()),
            jwt_secret: Some(a.jwt_secret.clone()),
            ..Options::default()
        },
    )
    .await;
    let (customer, _) = setup(&a).await;
    let (order, fo) = place(&a, &customer).await;
    let mut on_b = follow_order(&b, json!({ "id": order, "after": 3 })).await;
    // Let the server register the stream before acting (it has no "subscribed" ack).
    tokio::time::sleep(Duration::from_millis(300)).await;
    a.step("startPicking", &fo).await;
    a.step("markPacked", &fo).await;
    assert_eq!(event(&on_b.next().await), (4, "PICKING_STARTED".into()));
    assert_eq!(event(&on_b.next().await), (5, "PACKED".into()));
    assert!(
        on_b.try_next(Duration::from_millis(500)).await.is_none(),
        "each event once"
    );
}

/// A private Redis server for tests that stop and restart it.
struct PrivateRedis {
    port: u16,
    child: Option<std::process::Child>,
}

impl PrivateRedis {
    fn start(port: Option<u16>) -> Self {
        let port = port.unwrap_or_else(|| {
            std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port()
        });
        let child = std::process::Command::new("redis-server")
            .args([
                "--bind",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server must be installed where TEST_REDIS_URL is set");
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Self {
            port,
            child: Some(child),
        }
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Redis stops in the middle of a stream: mutations still commit, `/ready` says the bus
/// is down, and when Redis is back the subscriber gets every event, in order, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_outage_loses_nothing() {
    if test_redis_url().is_none() {
        eprintln!("TEST_REDIS_URL is not set: Redis outage test not run");
        return;
    }
    let mut redis = PrivateRedis::start(None);
    let url = format!("redis://127.0.0.1:{}", redis.port);
    let app = spawn_app_with(
        Backend::Sqlite,
        Options {
            redis_url: Some(url),
            ..Options::default()
        },
    )
    .await;
    let (customer, _) = setup(&app).await;
    let (order, fo) = place(&app, &customer).await;
    let mut sub = follow_order(&app, json!({ "id": order, "after": 3 })).await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    redis.stop();
    app.step("startPicking", &fo).await;
    app.step("markPacked", &fo).await;
    assert_eq!(app.get("/ready").await.status(), 503);

    let _back = PrivateRedis::start(Some(redis.port));
    let received: Vec<_> = [sub.next().await, sub.next().await]
        .iter()
        .map(event)
        .collect();
    assert_eq!(
        received,
        vec![(4, "PICKING_STARTED".into()), (5, "PACKED".into())]
    );
    assert!(
        sub.try_next(Duration::from_millis(500)).await.is_none(),
        "nothing twice"
    );
    for _ in 0..50 {
        if app.get("/ready").await.status() == 200 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("/ready did not recover after Redis came back");
}
