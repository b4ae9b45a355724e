//! Webhooks, black-box: a real HTTP receiver in the test process checks every signature;
//! deliveries leave in sequence per order, retry with back-off, fail and are redelivered,
//! survive a restart without loss or duplicates, and a hanging receiver does not stall
//! the others; bad URLs and other partners' things are
//! refused and change nothing.

use std::time::Duration;

use orderly::auth::Scope;
use orderly_tests::receiver::Receiver;
use orderly_tests::{Options, TestApp, backend_tests, spawn_app_with, user_errors};
use serde_json::{Value, json};

const CREATE: &str = "mutation($input: CreateWebhookSubscriptionInput!) {
  createWebhookSubscription(input: $input) {
    webhookSubscription { id url topics active }
    secret
    userErrors { field code message }
  }
}";

const DELIVERIES: &str = "query($s: ID, $st: [WebhookDeliveryStatus!]) {
  webhookDeliveries(subscriptionId: $s, status: $st, first: 100) {
    edges { node { id topic eventId status attempts lastResponseStatus lastError nextAttemptAt deliveredAt
      subscription { id } } }
  }
}";

const REDELIVER: &str = "mutation($id: ID!) { redeliverWebhook(input: { deliveryId: $id }) {
  delivery { id status } userErrors { field code message } } }";

const ALL_TOPICS: [&str; 8] = [
    "ORDER_PLACED",
    "ORDER_UPDATED",
    "ORDER_CANCELLED",
    "FULFILLMENT_SHIPPED",
    "FULFILLMENT_DELIVERED",
    "DELIVERY_ARRIVING_TOMORROW",
    "RETURN_UPDATED",
    "REFUND_CREATED",
];

struct World {
    customer: String,
}

async fn world(app: &TestApp) -> World {
    let location = app.create_location("RNO", "US").await;
    app.upsert_sku("PANEL", "100.00").await;
    app.set_stock(&location, "PANEL", 1000).await;
    let customer = app
        .create_customer("hooks@example.com", "Hook Test", "America/Los_Angeles")
        .await;
    World { customer }
}

async fn place(app: &TestApp, w: &World) -> Value {
    let placed = app
        .place_order(json!({
            "customerId": w.customer,
            "lines": [{ "sku": "PANEL", "quantity": 1 }],
            "shippingAddress": { "line1": "1 Main St", "city": "Reno", "postalCode": "89502", "country": "US" },
            "payment": { "provider": "test", "token": "tok_visa" }
        }))
        .await;
    assert_eq!(user_errors(&placed), vec![], "{placed}");
    placed["order"].clone()
}

/// Subscribes `receiver` to `topics` as `token`; the receiver learns the secret.
async fn subscribe(app: &TestApp, token: &str, receiver: &Receiver, topics: &[&str]) -> String {
    let body = app
        .as_token(
            token,
            CREATE,
            json!({ "input": { "url": receiver.url, "topics": topics } }),
        )
        .await;
    let payload = &body["data"]["createWebhookSubscription"];
    assert_eq!(user_errors(payload), vec![], "{body}");
    let secret = payload["secret"].as_str().unwrap();
    assert!(
        secret.starts_with("whsec_") && secret.len() > 40,
        "{secret}"
    );
    receiver.set_secret(secret);
    payload["webhookSubscription"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn deliveries(app: &TestApp, token: &str, subscription: Option<&str>) -> Vec<Value> {
    let body = app
        .as_token(token, DELIVERIES, json!({ "s": subscription }))
        .await;
    assert!(body["errors"].is_null(), "{body}");
    body["data"]["webhookDeliveries"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

/// Waits until every delivery of `subscription` satisfies `done` (at most 15 s).
async fn settle(app: &TestApp, subscription: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let staff = app.staff_token();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let now = deliveries(app, &staff, Some(subscription)).await;
        if done(&now) || tokio::time::Instant::now() >= deadline {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
}

fn webhook_options() -> Options {
    Options {
        relay_poll_ms: Some(50),
        webhook_retries: Some((3, 1000)),
        ..Options::default()
    }
}

async fn deliveries_are_signed_and_leave_in_sequence_per_order(app: TestApp) {
    let w = world(&app).await;
    let receiver = Receiver::start().await;
    let staff = app.staff_token();
    let subscription = subscribe(
        &app,
        &staff,
        &receiver,
        &[
            "ORDER_PLACED",
            "ORDER_UPDATED",
            "FULFILLMENT_SHIPPED",
            "ORDER_CANCELLED",
        ],
    )
    .await;
    // Two orders: one shipped, one cancelled, their events interleaved.
    let first = place(&app, &w).await;
    let second = place(&app, &w).await;
    let fo = first["fulfillmentOrders"][0]["id"].as_str().unwrap();
    app.ship(fo).await;
    let cancel = app
        .staff(
            "mutation($id: ID!) { cancelOrder(input: { orderId: $id }) { order { version } userErrors { code } } }",
            json!({ "id": second["id"] }),
        )
        .await;
    assert_eq!(
        cancel["data"]["cancelOrder"]["userErrors"],
        json!([]),
        "{cancel}"
    );
    // Every event of both orders, as the API tells it.
    let mut expected = Vec::new();
    for order in [&first, &second] {
        let body = app
            .staff(
                "query($id: ID!) { order(id: $id) { events { id sequence type } } }",
                json!({ "id": order["id"] }),
            )
            .await;
        for event in body["data"]["order"]["events"].as_array().unwrap() {
            expected.push((order["id"].as_str().unwrap().to_owned(), event.clone()));
        }
    }
    let received = receiver
        .wait_for(Duration::from_secs(15), |r| r.len() >= expected.len())
        .await;
    assert_eq!(received.len(), expected.len(), "{received:#?}");
    for r in &received {
        assert!(r.signature_ok, "bad signature: {r:?}");
        assert_eq!(r.body["id"], r.event_id, "{r:?}");
        assert_eq!(r.body["topic"], r.topic, "{r:?}");
        assert!(!r.delivery_id.is_empty());
        assert!(r.body["order"]["number"].as_str().unwrap().starts_with('#'));
        assert!(r.body["occurredAt"].is_string());
    }
    // Per order, sequence order; each event once.
    for order in [&first, &second] {
        let id = order["id"].as_str().unwrap();
        let sequences: Vec<i64> = received
            .iter()
            .filter(|r| r.body["order"]["id"] == id)
            .map(|r| r.body["event"]["sequence"].as_i64().unwrap())
            .collect();
        let wanted: Vec<i64> = expected
            .iter()
            .filter(|(o, _)| o == id)
            .map(|(_, e)| e["sequence"].as_i64().unwrap())
            .collect();
        assert_eq!(sequences, wanted, "order {id}");
    }
    let topics: Vec<&str> = received.iter().map(|r| r.topic.as_str()).collect();
    assert!(topics.contains(&"ORDER_PLACED"));
    assert!(topics.contains(&"FULFILLMENT_SHIPPED"));
    assert!(topics.contains(&"ORDER_CANCELLED"));
    assert!(topics.contains(&"ORDER_UPDATED"));
    let event_ids: Vec<&Value> = expected.iter().map(|(_, e)| &e["id"]).collect();
    for r in &received {
        assert!(event_ids.iter().any(|id| **id == r.event_id), "{r:?}");
    }
    // The log agrees.
    let log = settle(&app, &subscription, |d| {
        d.iter().all(|d| d["status"] == "DELIVERED")
    })
    .await;
    assert_eq!(log.len(), expected.len());
    for d in &log {
        assert_eq!(d["status"], "DELIVERED", "{d}");
        assert_eq!(d["attempts"], 1);
        assert_eq!(d["lastResponseStatus"], 200);
        assert!(d["deliveredAt"].is_string());
        assert_eq!(d["subscription"]["id"], subscription.as_str());
    }
    let metrics = app.metrics().await;
    assert!(
        metrics.contains(&format!(
            "orderly_webhook_attempts_total{{outcome=\"delivered\"}} {}",
            expected.len()
        )),
        "{metrics}"
    );
    assert!(metrics.contains("orderly_webhook_delivery_latency_seconds_count"));
}

async fn failures_retry_then_fail_keep_order_and_can_be_redelivered(app: TestApp) {
    let w = world(&app).await;
    let receiver = Receiver::start().await;
    let staff = app.staff_token();
    let subscription = subscribe(
        &app,
        &staff,
        &receiver,
        &["ORDER_PLACED", "ORDER_CANCELLED"],
    )
    .await;
    receiver.fail_next(usize::MAX, 503);
    let order = place(&app, &w).await;
    let cancel = app
        .staff(
            "mutation($id: ID!) { cancelOrder(input: { orderId: $id }) { userErrors { code } } }",
            json!({ "id": order["id"] }),
        )
        .await;
    assert_eq!(cancel["data"]["cancelOrder"]["userErrors"], json!([]));
    // The first attempt fails; the cancellation waits behind the placement.
    let log = settle(&app, &subscription, |d| {
        d.len() == 2 && d.iter().any(|d| d["status"] == "RETRYING")
    })
    .await;
    let by_topic = |log: &[Value], topic: &str| {
        log.iter()
            .find(|d| d["topic"] == topic)
            .cloned()
            .unwrap_or_else(|| panic!("no {topic} in {log:?}"))
    };
    let placed = by_topic(&log, "ORDER_PLACED");
    assert_eq!(placed["status"], "RETRYING", "{log:?}");
    assert_eq!(placed["attempts"], 1);
    assert_eq!(placed["lastResponseStatus"], 503);
    assert!(placed["lastError"].as_str().unwrap().contains("503"));
    assert!(placed["nextAttemptAt"].is_string());
    assert_eq!(by_topic(&log, "ORDER_CANCELLED")["status"], "PENDING");
    assert_eq!(by_topic(&log, "ORDER_CANCELLED")["attempts"], 0);
    assert!(
        receiver
            .received()
            .iter()
            .all(|r| r.topic == "ORDER_PLACED")
    );
    // Nothing more is sent before the back-off has passed.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.received().len(), 1);
    // Two more attempts (the clock moves past each back-off): then FAILED, and only then
    // does the cancellation go (and fail the same way).
    for attempts in [2, 3] {
        app.clock.advance(chrono::Duration::hours(2));
        settle(&app, &subscription, |d| {
            by_topic(d, "ORDER_PLACED")["attempts"] == attempts
        })
        .await;
    }
    let log = settle(&app, &subscription, |d| {
        by_topic(d, "ORDER_PLACED")["status"] == "FAILED"
            && by_topic(d, "ORDER_CANCELLED")["attempts"] == 1
    })
    .await;
    let placed = by_topic(&log, "ORDER_PLACED");
    assert_eq!(placed["status"], "FAILED", "{log:?}");
    assert_eq!(placed["attempts"], 3);
    assert!(placed["nextAttemptAt"].is_null());
    let topics: Vec<String> = receiver
        .received()
        .iter()
        .map(|r| r.topic.clone())
        .collect();
    assert_eq!(
        topics,
        [
            "ORDER_PLACED",
            "ORDER_PLACED",
            "ORDER_PLACED",
            "ORDER_CANCELLED"
        ]
    );
    // The receiver recovers; the cancellation's retry goes through, and a redelivery of
    // the failed placement with it.
    receiver.fail_next(0, 503);
    let redelivered = app.staff(REDELIVER, json!({ "id": placed["id"] })).await;
    let payload = &redelivered["data"]["redeliverWebhook"];
    assert_eq!(user_errors(payload), vec![], "{redelivered}");
    assert_eq!(payload["delivery"]["status"], "PENDING");
    app.clock.advance(chrono::Duration::hours(2));
    let log = settle(&app, &subscription, |d| {
        d.iter().all(|d| d["status"] == "DELIVERED")
    })
    .await;
    assert!(log.iter().all(|d| d["status"] == "DELIVERED"), "{log:?}");
    assert_eq!(by_topic(&log, "ORDER_PLACED")["attempts"], 4);
    let acknowledged = receiver.acknowledged();
    assert_eq!(acknowledged.len(), 2, "{acknowledged:?}");
    assert!(acknowledged.values().all(|n| *n == 1), "{acknowledged:?}");
    assert!(receiver.received().iter().all(|r| r.signature_ok));
    // FAILED deliveries can be asked for.
    let failed = app
        .staff(DELIVERIES, json!({ "s": subscription, "st": ["FAILED"] }))
        .await;
    assert_eq!(
        failed["data"]["webhookDeliveries"]["edges"],
        json!([]),
        "{failed}"
    );
}

async fn bad_subscriptions_are_refused_and_store_nothing(app: TestApp) {
    let long = format!("https://example.com/{}", "a".repeat(2100));
    for (url, topics, field) in [
        ("not a url", json!(["ORDER_PLACED"]), "url"),
        (
            "http://partner.example.com/hook",
            json!(["ORDER_PLACED"]),
            "url",
        ),
        ("https://127.0.0.1/hook", json!(["ORDER_PLACED"]), "url"),
        ("https://10.1.2.3/hook", json!(["ORDER_PLACED"]), "url"),
        (
            "https://169.254.169.254/latest/meta-data/",
            json!(["ORDER_PLACED"]),
            "url",
        ),
        ("https://[::1]/hook", json!(["ORDER_PLACED"]), "url"),
        (
            "https://localhost:8443/hook",
            json!(["ORDER_PLACED"]),
            "url",
        ),
        (
            "https://user:pw@partner.example.com/",
            json!(["ORDER_PLACED"]),
            "url",
        ),
        (long.as_str(), json!(["ORDER_PLACED"]), "url"),
        ("https://partner.example.com/hook", json!([]), "topics"),
    ] {
        let body = app
            .staff(CREATE, json!({ "input": { "url": url, "topics": topics } }))
            .await;
        let payload = &body["data"]["createWebhookSubscription"];
        assert_eq!(
            user_errors(payload),
            vec![(json!(["input", field]), "INVALID_INPUT".to_owned())],
            "{url}: {body}"
        );
        assert!(payload["secret"].is_null() && payload["webhookSubscription"].is_null());
    }
    // An unknown topic is not a WebhookTopic: refused before anything runs.
    let body = app
        .staff(
            CREATE,
            json!({ "input": { "url": "https://partner.example.com/hook", "topics": ["ORDER_EXPLODED"] } }),
        )
        .await;
    assert!(
        body["data"].is_null() && body["errors"].is_array(),
        "{body}"
    );
    // Ids that are not ours.
    let body = app.staff(REDELIVER, json!({ "id": "bm9wZQ" })).await;
    assert_eq!(
        user_errors(&body["data"]["redeliverWebhook"]),
        vec![(json!(["input", "deliveryId"]), "INVALID_INPUT".to_owned())]
    );
    let body = app
        .staff(
            "mutation($id: ID!) { deleteWebhookSubscription(input: { id: $id }) { deletedId userErrors { field code } } }",
            json!({ "id": orderly::gid::encode(orderly::gid::Kind::WebhookSubscription, 999) }),
        )
        .await;
    assert_eq!(
        user_errors(&body["data"]["deleteWebhookSubscription"]),
        vec![(json!(["input", "id"]), "NOT_FOUND".to_owned())]
    );
    let list = app
        .staff(
            "{ webhookSubscriptions { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        list["data"]["webhookSubscriptions"]["edges"],
        json!([]),
        "{list}"
    );
    // A public https URL is accepted (nothing is sent to it here: no events).
    let body = app
        .staff(
            CREATE,
            json!({ "input": { "url": "https://93.184.216.34/hook", "topics": ["ORDER_PLACED", "ORDER_PLACED"] } }),
        )
        .await;
    let payload = &body["data"]["createWebhookSubscription"];
    assert_eq!(user_errors(payload), vec![], "{body}");
    assert_eq!(
        payload["webhookSubscription"]["topics"],
        json!(["ORDER_PLACED"])
    );
    assert_eq!(payload["webhookSubscription"]["active"], true);
}

async fn partners_manage_only_their_own_subscriptions(app: TestApp) {
    let w = world(&app).await;
    let receiver = Receiver::start().await;
    let alpha = app.partner_token(&[Scope::WebhooksWrite]);
    let beta = app.partner_token_as("beta-3pl", &[Scope::WebhooksWrite]);
    let no_scope = app.partner_token(&[Scope::OrdersRead]);
    let staff = app.staff_token();
    let customer = app.customer_token(&w.customer);
    let mine = subscribe(&app, &alpha, &receiver, &ALL_TOPICS).await;
    place(&app, &w).await;
    receiver
        .wait_for(Duration::from_secs(15), |r| !r.is_empty())
        .await;
    let log = settle(&app, &mine, |d| {
        !d.is_empty() && d.iter().all(|d| d["status"] == "DELIVERED")
    })
    .await;
    let delivery = log[0]["id"].as_str().unwrap().to_owned();
    // Alpha sees its own; beta sees nothing of alpha's and cannot touch it.
    let list = |token: String| {
        let app = &app;
        async move {
            app.as_token(
                &token,
                "{ webhookSubscriptions { edges { node { id } } } }",
                json!({}),
            )
            .await
        }
    };
    assert_eq!(
        list(alpha.clone()).await["data"]["webhookSubscriptions"]["edges"][0]["node"]["id"],
        mine.as_str()
    );
    assert_eq!(
        list(beta.clone()).await["data"]["webhookSubscriptions"]["edges"],
        json!([])
    );
    assert_eq!(
        list(staff.clone()).await["data"]["webhookSubscriptions"]["edges"][0]["node"]["id"],
        mine.as_str()
    );
    assert!(deliveries(&app, &beta, None).await.is_empty());
    assert!(deliveries(&app, &beta, Some(&mine)).await.is_empty());
    assert!(!deliveries(&app, &alpha, None).await.is_empty());
    let node = app
        .as_token(
            &beta,
            "query($id: ID!) { node(id: $id) { id } }",
            json!({ "id": mine }),
        )
        .await;
    assert!(node["data"]["node"].is_null(), "{node}");
    let node = app
        .as_token(
            &alpha,
            "query($id: ID!) { node(id: $id) { id ... on WebhookSubscription { url } } }",
            json!({ "id": mine }),
        )
        .await;
    assert_eq!(node["data"]["node"]["url"], receiver.url.as_str(), "{node}");
    let body = app
        .as_token(&beta, REDELIVER, json!({ "id": delivery }))
        .await;
    assert_eq!(
        user_errors(&body["data"]["redeliverWebhook"]),
        vec![(json!(["input", "deliveryId"]), "NOT_FOUND".to_owned())]
    );
    let delete = "mutation($id: ID!) { deleteWebhookSubscription(input: { id: $id }) { deletedId userErrors { field code } } }";
    let body = app.as_token(&beta, delete, json!({ "id": mine })).await;
    assert_eq!(
        user_errors(&body["data"]["deleteWebhookSubscription"]),
        vec![(json!(["input", "id"]), "NOT_FOUND".to_owned())]
    );
    // Without the scope, and as a customer: forbidden outright.
    for token in [&no_scope, &customer] {
        let body = app
            .as_token(
                token,
                "{ webhookSubscriptions { edges { node { id } } } }",
                json!({}),
            )
            .await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "FORBIDDEN",
            "{body}"
        );
    }
    // Alpha deletes its own: gone from the list, nothing more is sent, the log stays.
    let body = app.as_token(&alpha, delete, json!({ "id": mine })).await;
    assert_eq!(
        body["data"]["deleteWebhookSubscription"]["deletedId"],
        mine.as_str()
    );
    assert_eq!(
        list(alpha.clone()).await["data"]["webhookSubscriptions"]["edges"],
        json!([])
    );
    let before = receiver.received().len();
    place(&app, &w).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.received().len(), before);
    assert_eq!(deliveries(&app, &alpha, Some(&mine)).await.len(), log.len());
}

async fn a_restart_mid_retry_loses_and_duplicates_nothing(app: TestApp) {
    let w = world(&app).await;
    let receiver = Receiver::start().await;
    let staff = app.staff_token();
    let subscription = subscribe(&app, &staff, &receiver, &ALL_TOPICS).await;
    // The receiver is down for the first attempts.
    receiver.fail_next(usize::MAX, 500);
    let mut orders = Vec::new();
    for _ in 0..4 {
        orders.push(place(&app, &w).await);
    }
    settle(&app, &subscription, |d| {
        d.iter().filter(|d| d["status"] == "RETRYING").count() == orders.len()
    })
    .await;
    let expected = deliveries(&app, &staff, Some(&subscription)).await.len();
    assert!(expected >= orders.len() * 2, "{expected}");
    // Stop the server mid-retry and start another on the same database.
    let jwt_secret = app.jwt_secret.clone();
    let backend = if app.backend == "postgres" {
        orderly_tests::Backend::postgres().unwrap()
    } else {
        orderly_tests::Backend::Sqlite
    };
    let now = app.clock_now();
    let (database_url, _dir) = app.stop().await;
    receiver.fail_next(0, 500);
    let restarted = spawn_app_with(
        backend,
        Options {
            database_url: Some(database_url),
            jwt_secret: Some(jwt_secret),
            now: Some(now + chrono::Duration::hours(2)),
            ..webhook_options()
        },
    )
    .await;
    let log = settle(&restarted, &subscription, |d| {
        d.len() == expected && d.iter().all(|d| d["status"] == "DELIVERED")
    })
    .await;
    assert!(log.iter().all(|d| d["status"] == "DELIVERED"), "{log:?}");
    let acknowledged = receiver.acknowledged();
    assert_eq!(acknowledged.len(), expected, "{acknowledged:?}");
    assert!(
        acknowledged.values().all(|n| *n == 1),
        "an event was delivered twice: {acknowledged:?}"
    );
    assert!(receiver.received().iter().all(|r| r.signature_ok));
}

async fn a_subscription_failing_for_a_day_is_deactivated_and_resumed_by_a_redelivery(app: TestApp) {
    const SUBSCRIPTION: &str = "query { webhookSubscriptions(first: 10) {
      edges { node { id active failingSince deactivatedReason } } } }";
    let w = world(&app).await;
    let receiver = Receiver::start().await;
    let staff = app.staff_token();
    let subscription = subscribe(&app, &staff, &receiver, &["ORDER_PLACED"]).await;
    receiver.fail_next(usize::MAX, 500);
    place(&app, &w).await;
    place(&app, &w).await;
    settle(&app, &subscription, |d| {
        d.len() == 2 && d.iter().all(|d| d["attempts"] == 1)
    })
    .await;
    // A day later the retries fail again: the subscription is deactivated and its
    // deliveries wait, unscheduled.
    app.clock.advance(chrono::Duration::hours(25));
    let log = settle(&app, &subscription, |d| {
        d.iter()
            .all(|d| d["attempts"] == 2 && d["nextAttemptAt"].is_null())
    })
    .await;
    assert!(
        log.iter().all(|d| d["status"] == "RETRYING"
            && d["attempts"] == 2
            && d["nextAttemptAt"].is_null()),
        "{log:?}"
    );
    let listed = app.staff(SUBSCRIPTION, json!({})).await;
    let node = &listed["data"]["webhookSubscriptions"]["edges"][0]["node"];
    assert_eq!(node["active"], false, "{listed}");
    assert!(
        node["deactivatedReason"]
            .as_str()
            .is_some_and(|r| r.contains("failed since") && r.contains("500")),
        "{listed}"
    );
    // Nothing is sent while it is inactive, however long, and new events are not queued.
    let sent = receiver.received().len();
    assert_eq!(sent, 4);
    app.clock.advance(chrono::Duration::hours(6));
    place(&app, &w).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(receiver.received().len(), sent);
    assert_eq!(deliveries(&app, &staff, Some(&subscription)).await.len(), 2);
    // The receiver is fixed; a redelivery of one resumes the subscription and both go.
    receiver.fail_next(0, 500);
    let redelivered = app.staff(REDELIVER, json!({ "id": log[0]["id"] })).await;
    let payload = &redelivered["data"]["redeliverWebhook"];
    assert_eq!(user_errors(payload), vec![], "{redelivered}");
    let log = settle(&app, &subscription, |d| {
        d.iter().all(|d| d["status"] == "DELIVERED")
    })
    .await;
    assert!(log.iter().all(|d| d["status"] == "DELIVERED"), "{log:?}");
    assert_eq!(receiver.acknowledged().len(), 2);
    let listed = app.staff(SUBSCRIPTION, json!({})).await;
    let node = &listed["data"]["webhookSubscriptions"]["edges"][0]["node"];
    assert_eq!(node["active"], true, "{listed}");
    assert!(node["failingSince"].is_null() && node["deactivatedReason"].is_null());
}

async fn a_hanging_receiver_does_not_stall_the_others(app: TestApp) {
    let w = world(&app).await;
    let staff = app.staff_token();
    let stuck = Receiver::start().await;
    stuck.hang(true);
    let healthy = Receiver::start().await;
    subscribe(&app, &staff, &stuck, &["ORDER_PLACED"]).await;
    subscribe(&app, &staff, &healthy, &["ORDER_PLACED"]).await;
    // More orders than an instance has deliveries in flight (32): without a cap per
    // subscription the stuck receiver would hold every slot for 10 s.
    let orders = 45;
    for _ in 0..orders {
        place(&app, &w).await;
    }
    let arrived = healthy
        .wait_for(Duration::from_secs(5), |r| r.len() >= orders)
        .await;
    assert_eq!(arrived.len(), orders, "the healthy receiver was starved");
    assert!(
        arrived
            .iter()
            .all(|r| r.signature_ok && r.topic == "ORDER_PLACED")
    );
    assert!(stuck.received().is_empty());
}

backend_tests! {
    deliveries_are_signed_and_leave_in_sequence_per_order => webhook_options();
    failures_retry_then_fail_keep_order_and_can_be_redelivered => webhook_options();
    bad_subscriptions_are_refused_and_store_nothing => Options { refuse_private_webhooks: true, ..webhook_options() };
    partners_manage_only_their_own_subscriptions => webhook_options();
    a_restart_mid_retry_loses_and_duplicates_nothing => webhook_options();
    a_hanging_receiver_does_not_stall_the_others => webhook_options();
    a_subscription_failing_for_a_day_is_deactivated_and_resumed_by_a_redelivery => webhook_options();
}
