//! Payments across a crash: a placement cut off between the provider's authorisation and
//! the order's commit (the `test` provider's `tok_visa_hangs_once` never answers the
//! first call; the request's timeout ends the placement as a kill would) must not leave
//! money held for nothing, and the client's retry must not hold it twice.

use std::time::Duration;

use orderly::service::payments::TestAuthorization;
use orderly_tests::{Options, PLACE_ORDER, TestApp, backend_tests};
use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::{Value, json};

/// One warehouse with ten panels, one customer; returns the customer's id.
async fn shop(app: &TestApp) -> String {
    let reno = app.create_location("RNO", "US").await;
    app.upsert_sku("SOLAR-6KW", "8999.00").await;
    app.set_stock(&reno, "SOLAR-6KW", 10).await;
    app.create_customer(
        "steven.boyle@example.com",
        "Steven Boyle",
        "America/Los_Angeles",
    )
    .await
}

fn checkout(customer: &str, token: &str, key: Option<&str>) -> Value {
    json!({
        "customerId": customer,
        "lines": [{ "sku": "SOLAR-6KW", "quantity": 1 }],
        "shippingAddress": { "name": "Steven Boyle", "line1": "2150 Lombard St", "city": "San Francisco",
                             "region": "CA", "postalCode": "94123", "country": "US" },
        "shippingMethod": "STANDARD",
        "payment": { "provider": "test", "token": token },
        "idempotencyKey": key,
    })
}

/// Places as staff; the HTTP status and body.
async fn place(app: &TestApp, input: Value) -> (u16, Value) {
    app.post(
        Some(&app.staff_token()),
        PLACE_ORDER,
        json!({ "input": input }),
    )
    .await
}

/// The rows `sql` reads from the app's database.
async fn rows(app: &TestApp, sql: &str) -> Vec<sea_orm::QueryResult> {
    let db = Database::connect(&app.database_url).await.unwrap();
    let rows = db
        .query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap();
    db.close().await.ok();
    rows
}

/// The provider references of the payments committed orders hold.
async fn owned_references(app: &TestApp) -> Vec<String> {
    rows(
        app,
        "SELECT provider_reference FROM payments WHERE provider_reference IS NOT NULL",
    )
    .await
    .iter()
    .map(|r| r.try_get::<String>("", "provider_reference").unwrap())
    .collect()
}

/// How many payment attempts are in each state, as `STATE=n` sorted.
async fn attempt_states(app: &TestApp) -> Vec<String> {
    rows(
        app,
        "SELECT status, COUNT(*) AS n FROM payment_attempts GROUP BY status ORDER BY status",
    )
    .await
    .iter()
    .map(|r| {
        let status: String = r.try_get("", "status").unwrap();
        let n: i64 = r.try_get("", "n").unwrap();
        format!("{status}={n}")
    })
    .collect()
}

/// Authorisations the provider still holds that no committed order owns.
async fn orphans(app: &TestApp) -> Vec<TestAuthorization> {
    let owned = owned_references(app).await;
    app.payments
        .authorizations()
        .into_iter()
        .filter(|a| !a.voided && !owned.contains(&a.reference))
        .collect()
}

async fn reserved_panels(app: &TestApp) -> i64 {
    let body = app
        .staff(
            r#"{ sku(code: "SOLAR-6KW") { inventoryLevels { reserved } } }"#,
            json!({}),
        )
        .await;
    body["data"]["sku"]["inventoryLevels"][0]["reserved"]
        .as_i64()
        .unwrap_or_else(|| panic!("{body}"))
}

/// Polls until `done` holds (the scheduler runs every 50 ms here), at most 10 s.
async fn eventually<F, Fut>(what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !done().await {
        assert!(tokio::time::Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn crash_options() -> Options {
    Options {
        request_timeout_ms: Some(1_000),
        scheduler_interval_ms: Some(50),
        ..Options::default()
    }
}

async fn a_retry_after_a_cut_off_placement_reuses_the_first_authorisation(app: TestApp) {
    let customer = shop(&app).await;
    let input = checkout(&customer, "tok_visa_hangs_once", Some("checkout-1"));

    let (status, body) = place(&app, input.clone()).await;
    assert_eq!(status, 504, "the placement is cut off: {body}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "TIMEOUT", "{body}");
    let held = app.payments.authorizations();
    assert_eq!(held.len(), 1, "the gateway held the money: {held:?}");
    assert_eq!(reserved_panels(&app).await, 0, "no order was committed");

    let (status, body) = place(&app, input.clone()).await;
    assert_eq!(status, 200, "{body}");
    let order = &body["data"]["placeOrder"]["order"];
    assert_eq!(order["paymentStatus"], "AUTHORIZED", "{body}");
    assert_eq!(
        app.payments.authorizations(),
        held,
        "the retry took the first authorisation instead of holding the money again"
    );
    assert_eq!(
        owned_references(&app).await,
        vec![held[0].reference.clone()]
    );
    let authorize_calls: Vec<String> = app
        .payments
        .calls()
        .into_iter()
        .filter(|c| c.starts_with("authorize:"))
        .collect();
    assert_eq!(authorize_calls.len(), 2, "{authorize_calls:?}");
    assert_eq!(
        authorize_calls[0], authorize_calls[1],
        "same key both times"
    );

    // A third try replays the order without asking the provider at all.
    let (_, again) = place(&app, input).await;
    assert_eq!(again["data"]["placeOrder"]["order"]["id"], order["id"]);
    assert_eq!(app.payments.calls().len(), 2);

    // Long after, the sweeper leaves the order's authorisation alone.
    app.clock.advance(chrono::TimeDelta::minutes(10));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!app.payments.authorizations()[0].voided);
    assert_eq!(attempt_states(&app).await, vec!["ORDERED=1"]);
    assert_eq!(reserved_panels(&app).await, 1);
}

async fn authorisations_no_order_took_are_voided_by_the_sweeper(app: TestApp) {
    let customer = shop(&app).await;
    let keyed = checkout(&customer, "tok_visa_hangs_once", Some("checkout-2"));
    let (status, _) = place(&app, keyed.clone()).await;
    assert_eq!(status, 504);
    let (status, _) = place(&app, checkout(&customer, "tok_visa_hangs_once", None)).await;
    assert_eq!(status, 504);
    assert_eq!(
        orphans(&app).await.len(),
        2,
        "both cut off after authorising"
    );

    // Within the grace period a placement may still be running: nothing is voided.
    app.clock.advance(chrono::TimeDelta::minutes(2));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(orphans(&app).await.len(), 2);
    assert_eq!(attempt_states(&app).await, vec!["STARTED=2"]);

    app.clock.advance(chrono::TimeDelta::minutes(4));
    eventually("the abandoned authorisations are voided", || async {
        orphans(&app).await.is_empty()
    })
    .await;
    eventually("both attempts are closed", || async {
        attempt_states(&app).await == vec!["VOIDED=2"]
    })
    .await;
    let calls = app.payments.calls();
    assert_eq!(
        calls.iter().filter(|c| c.starts_with("void:")).count(),
        2,
        "each voided once: {calls:?}"
    );

    // The client comes back with the same key (and a card that answers): the old
    // authorisation is gone, so a new one is made, and the order owns it.
    let mut again = keyed;
    again["payment"]["token"] = json!("tok_visa");
    let (status, body) = place(&app, again).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"]["placeOrder"]["order"]["paymentStatus"],
        "AUTHORIZED"
    );
    assert_eq!(app.payments.authorizations().len(), 3);
    assert!(orphans(&app).await.is_empty());
    assert_eq!(attempt_states(&app).await, vec!["ORDERED=1", "VOIDED=2"]);
}

async fn placements_that_fail_after_authorising_void_at_once(app: TestApp) {
    let customer = shop(&app).await;
    // Ten panels, four checkouts of six at once: one wins; the others fail, either at the
    // quote (nothing authorised) or in the transaction, after authorising (voided).
    let mut six = checkout(&customer, "tok_visa", None);
    six["lines"] = json!([{ "sku": "SOLAR-6KW", "quantity": 6 }]);
    let tries = (0..4).map(|_| place(&app, six.clone()));
    let answers = futures_util::future::join_all(tries).await;
    let placed = answers
        .iter()
        .filter(|(_, b)| b["data"]["placeOrder"]["order"]["id"].is_string())
        .count();
    assert_eq!(placed, 1, "{answers:?}");
    for (_, body) in &answers {
        if body["data"]["placeOrder"]["order"].is_null() {
            assert_eq!(
                body["data"]["placeOrder"]["userErrors"][0]["code"], "OUT_OF_STOCK",
                "{body}"
            );
        }
    }
    // A declined card holds nothing and closes its attempt.
    let (_, body) = place(&app, checkout(&customer, "tok_declined", None)).await;
    assert_eq!(
        body["data"]["placeOrder"]["userErrors"][0]["code"], "PAYMENT_DECLINED",
        "{body}"
    );
    assert!(orphans(&app).await.is_empty(), "nothing held for nothing");
    let states = attempt_states(&app).await;
    assert!(
        states
            .iter()
            .all(|s| !s.starts_with("STARTED") && !s.starts_with("VOIDING")),
        "every attempt is settled: {states:?}"
    );
    assert!(states.contains(&"ORDERED=1".to_owned()), "{states:?}");
    assert!(states.contains(&"DECLINED=1".to_owned()), "{states:?}");
    assert_eq!(reserved_panels(&app).await, 6);
}

/// Placements at once write their payment attempts together on Postgres (one insert for
/// whatever is waiting): each order still takes the attempt it authorised with, even
/// among identical requests, and nothing is held for nothing.
async fn attempts_started_together_each_belong_to_their_own_order(app: TestApp) {
    let reno = app.create_location("RNO", "US").await;
    app.upsert_sku("SOLAR-6KW", "8999.00").await;
    app.set_stock(&reno, "SOLAR-6KW", 100).await;
    let customer = app
        .create_customer("dana@example.com", "Dana Reyes", "America/Los_Angeles")
        .await;
    // 24 at once, in pairs of identical requests, of 1 to 4 panels (4 different amounts).
    let tries = (0..24).map(|i| {
        let mut input = checkout(&customer, "tok_visa", None);
        input["lines"] = json!([{ "sku": "SOLAR-6KW", "quantity": 1 + (i / 2) % 4 }]);
        place(&app, input)
    });
    let answers = futures_util::future::join_all(tries).await;
    for (status, body) in &answers {
        assert_eq!(*status, 200, "{body}");
        assert!(
            body["data"]["placeOrder"]["order"]["id"].is_string(),
            "{body}"
        );
    }
    assert_eq!(attempt_states(&app).await, vec!["ORDERED=24".to_owned()]);
    // Each order's attempt is the one whose key authorised its payment, for its amount.
    let matched = rows(
        &app,
        "SELECT COUNT(DISTINCT a.order_id) AS n FROM payment_attempts a \
         JOIN payments p ON p.order_id = a.order_id AND p.provider_reference = a.provider_reference \
         JOIN orders o ON o.id = a.order_id AND o.total = a.amount",
    )
    .await;
    assert_eq!(matched[0].try_get::<i64>("", "n").unwrap(), 24);
    assert!(orphans(&app).await.is_empty(), "nothing held for nothing");
    assert_eq!(app.payments.authorizations().len(), 24);
    assert_eq!(reserved_panels(&app).await, 60);
}

backend_tests! {
    attempts_started_together_each_belong_to_their_own_order => Options::default();
    a_retry_after_a_cut_off_placement_reuses_the_first_authorisation => crash_options();
    authorisations_no_order_took_are_voided_by_the_sweeper => crash_options();
    placements_that_fail_after_authorising_void_at_once => crash_options();
}
