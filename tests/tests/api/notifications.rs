//! Customer notifications, black-box: a real SMTP server in the test process receives
//! the e-mails; words and dates follow the customer's time zone; preferences make
//! SKIPPED rows; operators' templates replace the built-in ones; a mail server that is
//! down is retried, then FAILED.

use std::time::Duration;

use chrono::TimeZone;
use orderly_tests::smtp::SmtpServer;
use orderly_tests::{Options, TestApp, backend_tests, user_errors};
use serde_json::{Value, json};

const NOTIFICATIONS: &str = "query($c: ID) { notifications(customerId: $c, first: 100) {
  edges { node { kind channel to subject body status attempts lastError sentAt order { number } customer { email } } } } }";

/// 2026-11-24 03:00 UTC: still Nov 23 in Los Angeles.
fn evening_in_california() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc.with_ymd_and_hms(2026, 11, 24, 3, 0, 0).unwrap()
}

async fn world(app: &TestApp, email: &str) -> String {
    let location = app.create_location("RNO", "US").await;
    app.upsert_sku("PANEL", "100.00").await;
    app.set_stock(&location, "PANEL", 100).await;
    app.create_customer(email, "Dana Reyes", "America/Los_Angeles")
        .await
}

async fn place(app: &TestApp, customer: &str) -> Value {
    let placed = app
        .place_order(json!({
            "customerId": customer,
            "lines": [{ "sku": "PANEL", "quantity": 2 }],
            "shippingAddress": { "line1": "1 Main St", "city": "Reno", "postalCode": "89502", "country": "US" },
            "payment": { "provider": "test", "token": "tok_visa" }
        }))
        .await;
    assert_eq!(user_errors(&placed), vec![], "{placed}");
    placed["order"].clone()
}

async fn notifications(app: &TestApp, token: &str, customer: Option<&str>) -> Vec<Value> {
    let body = app
        .as_token(token, NOTIFICATIONS, json!({ "c": customer }))
        .await;
    assert!(body["errors"].is_null(), "{body}");
    body["data"]["notifications"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

/// Waits until `done` holds for the customer's notifications (at most 15 s).
async fn settle(app: &TestApp, customer: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let staff = app.staff_token();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let now = notifications(app, &staff, Some(customer)).await;
        if done(&now) || tokio::time::Instant::now() >= deadline {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
}

fn of<'a>(rows: &'a [Value], kind: &str, channel: &str) -> &'a Value {
    rows.iter()
        .find(|n| n["kind"] == kind && n["channel"] == channel)
        .unwrap_or_else(|| panic!("no {kind} {channel} in {rows:#?}"))
}

async fn customers_hear_of_their_orders_in_their_time_zone(app: TestApp, smtp: SmtpServer) {
    let customer = world(&app, "dana@example.com").await;
    let order = place(&app, &customer).await;
    let number = order["number"].as_str().unwrap().to_owned();
    let mails = smtp.wait_for(1, Duration::from_secs(15)).await;
    if mails.is_empty() {
        let staff = app.staff_token();
        panic!(
            "no mail: {:#?}",
            notifications(&app, &staff, Some(&customer)).await
        );
    }
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0].to, ["dana@example.com"]);
    assert_eq!(
        mails[0].header("subject").as_deref(),
        Some(format!("Order {number} confirmed").as_str())
    );
    assert!(
        mails[0].body().contains("Hi Dana Reyes"),
        "{}",
        mails[0].data
    );
    assert!(mails[0].body().contains("200.00 USD"), "{}", mails[0].data);
    // Shipped with UPS: the tracking link; delivered: the customer's date.
    let fo = order["fulfillmentOrders"][0]["id"].as_str().unwrap();
    app.ship(fo).await;
    let mails = smtp.wait_for(2, Duration::from_secs(15)).await;
    assert_eq!(
        mails[1].header("subject").as_deref(),
        Some(format!("Order {number} has shipped").as_str())
    );
    assert!(
        mails[1]
            .body()
            .contains("https://www.ups.com/track?tracknum=1Z9"),
        "{}",
        mails[1].data
    );
    let delivered = app
        .fulfillment_step(
            "recordDeliveryEvent",
            json!({ "fulfillmentOrderId": fo, "status": "DELIVERED" }),
        )
        .await;
    assert_eq!(user_errors(&delivered), vec![], "{delivered}");
    let mails = smtp.wait_for(3, Duration::from_secs(15)).await;
    assert_eq!(mails.len(), 3, "{mails:?}");
    assert!(
        mails[2].body().contains("Delivered Nov 23"),
        "in Los Angeles it is still Nov 23: {}",
        mails[2].data
    );
    // The customer reads their own: e-mails SENT, SMS SKIPPED (off by default).
    let me = app.customer_token(&customer);
    let rows = settle(&app, &customer, |r| {
        r.len() == 6 && r.iter().all(|n| n["status"] != "QUEUED")
    })
    .await;
    let mine = notifications(&app, &me, None).await;
    assert_eq!(mine.len(), 6, "{mine:#?}");
    for kind in ["ORDER_CONFIRMED", "ORDER_SHIPPED", "DELIVERED"] {
        let email = of(&rows, kind, "EMAIL");
        assert_eq!(email["status"], "SENT", "{email}");
        assert_eq!(email["to"], "dana@example.com");
        assert_eq!(email["attempts"], 1);
        assert!(email["sentAt"].is_string());
        assert_eq!(email["order"]["number"], number.as_str());
        let sms = of(&rows, kind, "SMS");
        assert_eq!(sms["status"], "SKIPPED", "{sms}");
        assert_eq!(sms["lastError"], "the customer turned SMS off");
    }
    // E-mail off, SMS on: the next order is told by SMS only.
    let body = app
        .as_token(
            &me,
            "mutation($input: UpdateCustomerInput!) { updateCustomer(input: $input) { userErrors { field code message } } }",
            json!({ "input": { "notifyByEmail": false, "notifyBySms": true, "phone": "+14155550100" } }),
        )
        .await;
    assert_eq!(
        user_errors(&body["data"]["updateCustomer"]),
        vec![],
        "{body}"
    );
    let second = place(&app, &customer).await;
    let cancel = app
        .staff(
            "mutation($id: ID!) { cancelOrder(input: { orderId: $id, reason: \"out of stock at the dock\" }) { userErrors { code } } }",
            json!({ "id": second["id"] }),
        )
        .await;
    assert_eq!(cancel["data"]["cancelOrder"]["userErrors"], json!([]));
    let rows = settle(&app, &customer, |r| {
        r.len() == 10 && r.iter().all(|n| n["status"] != "QUEUED")
    })
    .await;
    let second_number = second["number"].as_str().unwrap();
    let told: Vec<&Value> = rows
        .iter()
        .filter(|n| n["order"]["number"] == second_number)
        .collect();
    assert_eq!(told.len(), 4, "{rows:#?}");
    for n in told {
        match n["channel"].as_str().unwrap() {
            "EMAIL" => {
                assert_eq!(n["status"], "SKIPPED", "{n}");
                assert_eq!(n["lastError"], "the customer turned e-mail off");
            }
            _ => {
                assert_eq!(n["status"], "SENT", "{n}");
                assert_eq!(n["to"], "+14155550100");
                assert!(n["subject"].is_null());
            }
        }
    }
    let cancelled = of(&rows, "ORDER_CANCELLED", "SMS");
    assert_eq!(
        cancelled["body"],
        format!("Orderly: {second_number} was cancelled.")
    );
    assert_eq!(smtp.mails().len(), 3, "nothing e-mailed once e-mail is off");
    // Another customer sees none of it; staff see it by customer.
    let other = app
        .create_customer("other@example.com", "Other", "UTC")
        .await;
    let theirs = app.customer_token(&other);
    assert!(notifications(&app, &theirs, None).await.is_empty());
    assert!(
        notifications(&app, &theirs, Some(&customer))
            .await
            .is_empty()
    );
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("orderly_notifications_total{outcome=\"sent\"} 5"),
        "{metrics}"
    );
    // Each came from the relay that wrote it, leased to this instance's sender: none
    // was claimed from the database again.
    assert!(
        metrics.contains("orderly_notifications_taken_total{how=\"handed\"} 5"),
        "{metrics}"
    );
    assert!(
        metrics.contains("orderly_notifications_taken_total{how=\"claimed\"} 0"),
        "{metrics}"
    );
}

async fn operators_templates_replace_the_built_in_ones(app: TestApp, smtp: SmtpServer) {
    let customer = world(&app, "dana@example.com").await;
    let order = place(&app, &customer).await;
    let mails = smtp.wait_for(1, Duration::from_secs(15)).await;
    assert_eq!(
        mails[0].header("subject").as_deref(),
        Some(
            format!(
                "Thanks Dana Reyes: {} is in",
                order["number"].as_str().unwrap()
            )
            .as_str()
        ),
        "{mails:?}"
    );
    // The body was not overridden: the built-in one.
    assert!(mails[0].body().contains("We will tell you when it ships"));
}

async fn a_mail_server_that_is_down_is_retried_then_failed(app: TestApp) {
    let customer = world(&app, "dana@example.com").await;
    // SMS on as well: its sender (log) works, so one claimed batch holds a SENT and a
    // failed attempt, recorded together.
    let body = app
        .as_token(
            &app.customer_token(&customer),
            "mutation($input: UpdateCustomerInput!) { updateCustomer(input: $input) { userErrors { field code message } } }",
            json!({ "input": { "notifyBySms": true, "phone": "+17755550100" } }),
        )
        .await;
    assert_eq!(
        user_errors(&body["data"]["updateCustomer"]),
        vec![],
        "{body}"
    );
    place(&app, &customer).await;
    let rows = settle(&app, &customer, |r| {
        r.iter()
            .any(|n| n["channel"] == "EMAIL" && n["attempts"] == 1)
    })
    .await;
    let email = of(&rows, "ORDER_CONFIRMED", "EMAIL");
    assert_eq!(email["status"], "QUEUED", "{email}");
    assert!(
        email["lastError"].as_str().unwrap().starts_with("smtp"),
        "{email}"
    );
    let sms = of(&rows, "ORDER_CONFIRMED", "SMS");
    assert_eq!(sms["status"], "SENT", "{sms}");
    assert_eq!(sms["attempts"], 1, "{sms}");
    assert!(
        sms["lastError"].is_null() && !sms["sentAt"].is_null(),
        "{sms}"
    );
    app.clock.advance(chrono::Duration::hours(2));
    let rows = settle(&app, &customer, |r| {
        of(r, "ORDER_CONFIRMED", "EMAIL")["status"] == "FAILED"
    })
    .await;
    let email = of(&rows, "ORDER_CONFIRMED", "EMAIL");
    assert_eq!(email["status"], "FAILED", "{email}");
    assert_eq!(email["attempts"], 2);
    // The SMS, sent once, was not sent again.
    assert_eq!(of(&rows, "ORDER_CONFIRMED", "SMS")["attempts"], 1);
}

fn options(smtp: &SmtpServer) -> Options {
    Options {
        now: Some(evening_in_california()),
        relay_poll_ms: Some(50),
        smtp_url: Some(smtp.url.clone()),
        ..Options::default()
    }
}

/// The demo's history is on record, not news: Steven's portal lists what he was told
/// about his orders (e-mails SENT when each event happened, SMS SKIPPED as he turned
/// it off), and nothing waits to be sent or reaches the mail server at start-up.
async fn the_demo_customers_were_told_of_their_orders(app: TestApp, smtp: SmtpServer) {
    let steven = app.customer_id_by_email("steven.boyle@example.com").await;
    let token = app.customer_token(&steven);
    let mine = notifications(&app, &token, None).await;
    let kinds: Vec<&str> = mine.iter().filter_map(|n| n["kind"].as_str()).collect();
    for kind in [
        "ORDER_CONFIRMED",
        "ORDER_SHIPPED",
        "DELIVERED",
        "ARRIVING_TOMORROW",
    ] {
        assert!(kinds.contains(&kind), "no {kind} in {mine:#?}");
    }
    for n in &mine {
        let expected = if n["channel"] == "EMAIL" {
            "SENT"
        } else {
            "SKIPPED"
        };
        assert_eq!(n["status"], expected, "{n}");
        assert_eq!(n["customer"]["email"], "steven.boyle@example.com", "{n}");
    }
    let sent: Vec<&str> = mine.iter().filter_map(|n| n["sentAt"].as_str()).collect();
    let mut distinct = sent.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert!(
        distinct.len() > 2,
        "sent when each event happened, not all at once: {sent:?}"
    );
    let all = notifications(&app, &app.staff_token(), None).await;
    assert!(
        all.iter().all(|n| n["status"] != "QUEUED"),
        "nothing of the demo waits to be sent"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        smtp.wait_for(1, Duration::from_millis(10)).await.is_empty(),
        "the demo's history is not mailed again"
    );
}

mod the_demo_customers_were_told {
    use super::*;

    fn seeded(smtp: &SmtpServer) -> Options {
        Options {
            seed: true,
            ..options(smtp)
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        let smtp = SmtpServer::start();
        let app =
            orderly_tests::spawn_app_with(orderly_tests::Backend::Sqlite, seeded(&smtp)).await;
        the_demo_customers_were_told_of_their_orders(app, smtp).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        let Some(backend) = orderly_tests::Backend::postgres() else {
            eprintln!("TEST_DATABASE_URL is not set: not run on Postgres");
            return;
        };
        let smtp = SmtpServer::start();
        let app = orderly_tests::spawn_app_with(backend, seeded(&smtp)).await;
        the_demo_customers_were_told_of_their_orders(app, smtp).await;
    }
}

mod customers_hear_of_their_orders {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        let smtp = SmtpServer::start();
        let app =
            orderly_tests::spawn_app_with(orderly_tests::Backend::Sqlite, options(&smtp)).await;
        customers_hear_of_their_orders_in_their_time_zone(app, smtp).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        let Some(backend) = orderly_tests::Backend::postgres() else {
            eprintln!("TEST_DATABASE_URL is not set: not run on Postgres");
            return;
        };
        let smtp = SmtpServer::start();
        let app = orderly_tests::spawn_app_with(backend, options(&smtp)).await;
        customers_hear_of_their_orders_in_their_time_zone(app, smtp).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn templates_from_the_operators_directory() {
    let smtp = SmtpServer::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("order_confirmed.subject.txt"),
        "Thanks {{ name }}: {{ order_number }} is in",
    )
    .unwrap();
    let app = orderly_tests::spawn_app_with(
        orderly_tests::Backend::Sqlite,
        Options {
            templates_dir: Some(dir.path().to_owned()),
            ..options(&smtp)
        },
    )
    .await;
    operators_templates_replace_the_built_in_ones(app, smtp).await;
}

backend_tests! {
    a_mail_server_that_is_down_is_retried_then_failed => Options {
        now: Some(evening_in_california()),
        relay_poll_ms: Some(50),
        // Nothing listens on port 1.
        smtp_url: Some("smtp://127.0.0.1:1".into()),
        webhook_retries: Some((2, 1000)),
        ..Options::default()
    };
}
