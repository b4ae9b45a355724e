//! Sales channels are real: orders must name one; staff add channels; the console
//! counts orders and revenue per channel per day.

use orderly_tests::{Options, TestApp, backend_tests, user_errors};
use serde_json::json;

const CREATE: &str = "mutation($input: CreateChannelInput!) { createChannel(input: $input) { channel { code name } userErrors { field code } } }";

async fn orders_come_from_known_channels_and_are_counted_per_day(app: TestApp) {
    let body = app.staff("{ channels { code } }", json!({})).await;
    let codes: Vec<&str> = body["data"]["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        ["marketplace", "phone", "pos", "web"],
        "built in: {body}"
    );

    let reno = app.create_location("RNO", "US").await;
    app.upsert_sku("PANEL", "100.00").await;
    app.set_stock(&reno, "PANEL", 10).await;
    let customer = app.create_customer("ana@example.com", "Ana", "UTC").await;
    let order = |channel: &str| {
        json!({
            "customerId": customer, "channel": channel, "lines": [{ "sku": "PANEL", "quantity": 1 }],
            "shippingAddress": { "line1": "1 Main St", "city": "Reno", "postalCode": "89501", "country": "US" },
            "payment": { "provider": "test", "token": "tok_visa" },
        })
    };
    let unknown = app.place_order(order("kiosk")).await;
    assert_eq!(
        user_errors(&unknown),
        vec![(json!(["input", "channel"]), "NOT_FOUND".to_owned())],
        "{unknown}"
    );

    let created = app
        .staff(
            CREATE,
            json!({ "input": { "code": "kiosk", "name": "Mall kiosks" } }),
        )
        .await;
    assert_eq!(
        created["data"]["createChannel"]["channel"]["code"], "kiosk",
        "{created}"
    );
    let again = app
        .staff(
            CREATE,
            json!({ "input": { "code": "kiosk", "name": "Twice" } }),
        )
        .await;
    assert_eq!(
        user_errors(&again["data"]["createChannel"]),
        vec![(json!(["input", "code"]), "TAKEN".to_owned())]
    );
    let customer_token = app.customer_token(&customer);
    let refused = app
        .as_token(
            &customer_token,
            CREATE,
            json!({ "input": { "code": "mine", "name": "Mine" } }),
        )
        .await;
    assert_eq!(refused["errors"][0]["extensions"]["code"], "FORBIDDEN");

    for channel in ["kiosk", "kiosk", "web"] {
        assert_eq!(user_errors(&app.place_order(order(channel)).await), vec![]);
    }
    let today = app.clock_now().date_naive().to_string();
    let body = app
        .staff(
            "query($d: Date!) { channelSummary(from: $d, to: $d) { channel date orders cancelled revenue { amount currencyCode } } }",
            json!({ "d": today }),
        )
        .await;
    assert_eq!(
        body["data"]["channelSummary"],
        json!([
            { "channel": "kiosk", "date": today, "orders": 2, "cancelled": 0, "revenue": { "amount": "200.00", "currencyCode": "USD" } },
            { "channel": "web", "date": today, "orders": 1, "cancelled": 0, "revenue": { "amount": "100.00", "currencyCode": "USD" } },
        ]),
        "{body}"
    );
    let backwards = app
        .staff(
            "{ channelSummary(from: \"2026-02-01\", to: \"2026-01-01\") { orders } }",
            json!({}),
        )
        .await;
    assert_eq!(
        backwards["errors"][0]["extensions"]["code"], "INVALID_INPUT",
        "{backwards}"
    );
}

backend_tests! {
    orders_come_from_known_channels_and_are_counted_per_day => Options::default();
}
