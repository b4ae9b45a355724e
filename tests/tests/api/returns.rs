//! Returns, refunds and recorded payments, from the customer's side and the returns
//! desk's: a delivered order walked back (restock and dispose) and refunded, bad input
//! that changes nothing, racing retries that make one refund, a provider that fails once,
//! and a `manual` order paid by recording it.

use std::time::Duration;

use orderly_tests::{Options, TestApp, backend_tests, user_errors};
use serde_json::{Value, json};

/// Where the tests ship from, and the buyer.
struct World {
    reno: String,
    customer: String,
    customer_token: String,
}

async fn world(app: &TestApp) -> World {
    let reno = app.create_location("RNO", "US").await;
    for (code, price) in [("PANEL", "100.00"), ("CABLE", "10.00")] {
        app.upsert_sku(code, price).await;
    }
    app.set_stock(&reno, "PANEL", 10).await;
    app.set_stock(&reno, "CABLE", 5).await;
    let customer = app
        .create_customer("ana@example.com", "Ana Ruiz", "America/Los_Angeles")
        .await;
    let customer_token = app.customer_token(&customer);
    World {
        reno,
        customer,
        customer_token,
    }
}

/// Places 3 PANEL and 2 CABLE for the world's customer, paid with `token`; returns the
/// order and its only fulfilment order.
async fn place(app: &TestApp, w: &World, token: &str) -> (String, String) {
    let placed = app
        .place_order(json!({
            "customerId": w.customer,
            "lines": [{ "sku": "PANEL", "quantity": 3 }, { "sku": "CABLE", "quantity": 2 }],
            "shippingAddress": { "name": "Ana Ruiz", "line1": "1 Main St", "city": "Reno", "region": "NV",
                                 "postalCode": "89501", "country": "US" },
            "shippingMethod": "EXPRESS",
            "payment": { "provider": "test", "token": token },
        }))
        .await;
    assert_eq!(user_errors(&placed), vec![], "{placed}");
    let order = &placed["order"];
    (
        order["id"].as_str().unwrap().to_owned(),
        order["fulfillmentOrders"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned(),
    )
}

/// Ships and delivers fulfilment order `fo`.
async fn deliver(app: &TestApp, fo: &str) {
    app.ship(fo).await;
    let done = app
        .fulfillment_step(
            "recordDeliveryEvent",
            json!({ "fulfillmentOrderId": fo, "status": "DELIVERED" }),
        )
        .await;
    assert_eq!(user_errors(&done), vec![], "{done}");
}

/// A delivered order of 3 PANEL and 2 CABLE; returns the order and its line ids by SKU.
async fn delivered_order(app: &TestApp, w: &World, token: &str) -> (String, Value) {
    let (order, fo) = place(app, w, token).await;
    deliver(app, &fo).await;
    let body = app
        .staff(
            "query($id: ID!) { order(id: $id) { lines { id sku { code } } } }",
            json!({ "id": order }),
        )
        .await;
    let mut lines = serde_json::Map::new();
    for line in body["data"]["order"]["lines"].as_array().unwrap() {
        lines.insert(
            line["sku"]["code"].as_str().unwrap().to_owned(),
            line["id"].clone(),
        );
    }
    (order, Value::Object(lines))
}

const RETURN_FIELDS: &str = "id number status version
    lines { id quantity quantityReceived disposition reason orderLine { sku { code } } }
    returnLocation { code } carrier trackingNumber
    refund { amount { amount } status }";

fn mutation(name: &str, input_type: &str, fields: &str) -> String {
    format!(
        "mutation($input: {input_type}!) {{ result: {name}(input: $input) {{ {fields} userErrors {{ field code message }} }} }}"
    )
}

fn return_mutation(name: &str, input_type: &str) -> String {
    mutation(name, input_type, &format!("return {{ {RETURN_FIELDS} }}"))
}

/// Runs a return mutation with `token`; returns its payload.
async fn act(app: &TestApp, token: &str, name: &str, input_type: &str, input: Value) -> Value {
    let body = app
        .as_token(
            token,
            &return_mutation(name, input_type),
            json!({ "input": input }),
        )
        .await;
    assert!(body["errors"].is_null(), "{name}: {body}");
    body["data"]["result"].clone()
}

const ORDER_AFTER_SALE: &str = "query($id: ID!) { order(id: $id) {
    version paymentStatus returnStatus totalRefunded { amount }
    returnableLines { quantity returnableUntil orderLine { sku { code } } }
    returns { number status } refunds { amount { amount } status }
    events { type } } }";

async fn after_sale(app: &TestApp, order: &str) -> Value {
    let body = app.staff(ORDER_AFTER_SALE, json!({ "id": order })).await;
    assert!(body["errors"].is_null(), "{body}");
    body["data"]["order"].clone()
}

fn returnable(order: &Value) -> Vec<(String, i64)> {
    let mut out: Vec<(String, i64)> = order["returnableLines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["orderLine"]["sku"]["code"].as_str().unwrap().to_owned(),
                l["quantity"].as_i64().unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

async fn on_hand(app: &TestApp, sku: &str) -> i64 {
    let body = app
        .staff(
            "query($c: String!) { sku(code: $c) { inventoryLevels { location { code } onHand } } }",
            json!({ "c": sku }),
        )
        .await;
    body["data"]["sku"]["inventoryLevels"][0]["onHand"]
        .as_i64()
        .unwrap_or_else(|| panic!("{body}"))
}

fn event_types(order: &Value) -> Vec<String> {
    order["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect()
}

/// The whole way back, as the customer and the returns desk see it.
async fn a_delivered_order_goes_back_restocked_and_refunded(app: TestApp) {
    let w = world(&app).await;
    let me = w.customer_token.clone();
    let (order, lines) = delivered_order(&app, &w, "tok_visa").await;
    let mut feed = app
        .subscribe(
            "graphql-transport-ws",
            &me,
            "subscription { customerOrderUpdates { type } }",
            json!({}),
        )
        .await;

    // The customer sees what can go back, and until when.
    let before = after_sale(&app, &order).await;
    assert_eq!(
        returnable(&before),
        vec![("CABLE".into(), 2), ("PANEL".into(), 3)]
    );
    let until = before["returnableLines"][0]["returnableUntil"]
        .as_str()
        .unwrap();
    let today = (app.clock_now() - chrono::Duration::hours(8)).date_naive();
    assert_eq!(
        until,
        (today + chrono::Days::new(30)).to_string(),
        "{before}"
    );
    assert!(before["returnStatus"].is_null());

    let request = json!({
        "orderId": order, "customerNote": "Two panels arrived cracked",
        "idempotencyKey": "ret-1",
        "lines": [
            { "orderLineId": lines["PANEL"], "quantity": 2, "reason": "DAMAGED" },
            { "orderLineId": lines["CABLE"], "quantity": 1, "reason": "CHANGED_MIND" },
        ],
    });
    let asked = act(
        &app,
        &me,
        "requestReturn",
        "RequestReturnInput",
        request.clone(),
    )
    .await;
    assert_eq!(user_errors(&asked), vec![], "{asked}");
    let ret = asked["return"].clone();
    assert_eq!(ret["status"], "REQUESTED");
    assert!(ret["number"].as_str().unwrap().ends_with("-R1"), "{ret}");
    // A retried request with the same key is the same return.
    let again = act(&app, &me, "requestReturn", "RequestReturnInput", request).await;
    assert_eq!(again["return"]["id"], ret["id"], "{again}");
    let id = ret["id"].as_str().unwrap().to_owned();

    let mut live = app
        .subscribe(
            "graphql-transport-ws",
            &me,
            "subscription($id: ID!) { returnUpdated(returnId: $id) { status version refund { status } } }",
            json!({ "id": id }),
        )
        .await;
    // First the return as it is, so the portal has something to show at once.
    let first = live.next().await;
    assert_eq!(
        first["data"]["returnUpdated"]["status"], "REQUESTED",
        "{first}"
    );
    let pending = after_sale(&app, &order).await;
    assert_eq!(pending["returnStatus"], "RETURN_REQUESTED");
    assert_eq!(
        returnable(&pending),
        vec![("CABLE".into(), 1), ("PANEL".into(), 1)]
    );

    // Customers cannot approve their own returns.
    let body = app
        .as_token(
            &me,
            &return_mutation("approveReturn", "ReturnDecisionInput"),
            json!({ "input": { "returnId": id } }),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{body}"
    );

    let staff = app.staff_token();
    let approved = act(
        &app,
        &staff,
        "approveReturn",
        "ReturnDecisionInput",
        json!({ "returnId": id, "expectedVersion": 1 }),
    )
    .await;
    assert_eq!(user_errors(&approved), vec![], "{approved}");
    assert_eq!(approved["return"]["status"], "APPROVED");
    assert_eq!(
        approved["return"]["returnLocation"]["code"], "RNO",
        "back where it shipped from"
    );

    let shipped = act(
        &app,
        &me,
        "recordReturnShipment",
        "ReturnShipmentInput",
        json!({ "returnId": id, "carrier": "USPS", "trackingNumber": "9400 1111" }),
    )
    .await;
    assert_eq!(shipped["return"]["status"], "IN_TRANSIT", "{shipped}");
    assert_eq!(shipped["return"]["trackingNumber"], "9400 1111");

    let return_lines = shipped["return"]["lines"].as_array().unwrap().clone();
    let line_of = |sku: &str| {
        return_lines
            .iter()
            .find(|l| l["orderLine"]["sku"]["code"] == sku)
            .unwrap()["id"]
            .clone()
    };
    let (panels, cables) = (on_hand(&app, "PANEL").await, on_hand(&app, "CABLE").await);
    let received = act(
        &app,
        &staff,
        "receiveReturn",
        "ReceiveReturnInput",
        json!({
            "returnId": id,
            "lines": [
                { "returnLineId": line_of("PANEL"), "quantity": 2, "disposition": "RESTOCK" },
                { "returnLineId": line_of("CABLE"), "quantity": 1, "disposition": "DISPOSE" },
            ],
        }),
    )
    .await;
    assert_eq!(user_errors(&received), vec![], "{received}");
    let ret = &received["return"];
    assert_eq!(ret["status"], "REFUNDED", "{received}");
    // 2 × 100.00 + 1 × 10.00, plus their share of the goods' tax (the panels' 21.75 ×
    // 2/3 → 14.50, the cables' 1.45 × 1/2 → 0.72); shipping and its tax stay.
    assert_eq!(ret["refund"]["amount"]["amount"], "225.22", "{received}");
    assert_eq!(ret["refund"]["status"], "SUCCEEDED");
    assert_eq!(on_hand(&app, "PANEL").await, panels + 2, "restocked");
    assert_eq!(on_hand(&app, "CABLE").await, cables, "disposed");

    let after = after_sale(&app, &order).await;
    assert_eq!(after["paymentStatus"], "PARTIALLY_REFUNDED", "{after}");
    assert_eq!(after["returnStatus"], "PARTIALLY_RETURNED");
    assert_eq!(after["totalRefunded"]["amount"], "225.22");
    assert_eq!(after["refunds"].as_array().unwrap().len(), 1);
    assert_eq!(
        returnable(&after),
        vec![("CABLE".into(), 1), ("PANEL".into(), 1)]
    );
    let types = event_types(&after);
    let tail: Vec<&str> = types
        .iter()
        .rev()
        .take(5)
        .rev()
        .map(String::as_str)
        .collect();
    assert_eq!(
        tail,
        [
            "RETURN_REQUESTED",
            "RETURN_APPROVED",
            "RETURN_IN_TRANSIT",
            "RETURN_RECEIVED",
            "REFUNDED"
        ],
        "{types:?}"
    );
    assert_eq!(after["version"].as_i64().unwrap(), types.len() as i64);

    // Live: the return's own stream and the customer's order feed heard every step.
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let next = live.next().await;
        statuses.push(
            next["data"]["returnUpdated"]["status"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
    }
    assert_eq!(statuses, ["APPROVED", "IN_TRANSIT", "RECEIVED", "REFUNDED"]);
    let mut heard = Vec::new();
    while heard.last().map(String::as_str) != Some("REFUNDED") {
        let next = feed.next().await;
        heard.push(
            next["data"]["customerOrderUpdates"]["type"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    // (The feed starts when the server has read the subscription; the request may have
    // committed just before that on a busy machine. Every later step is certain.)
    let steps = [
        "RETURN_APPROVED",
        "RETURN_IN_TRANSIT",
        "RETURN_RECEIVED",
        "REFUNDED",
    ];
    assert!(heard.ends_with(&steps.map(String::from)), "{heard:?}");
    assert!(heard.len() <= 5, "each step once: {heard:?}");
    if heard.len() == 5 {
        assert_eq!(heard[0], "RETURN_REQUESTED", "{heard:?}");
    }
}

/// Every kind of bad request gets its stable code and changes nothing.
async fn bad_returns_and_refunds_change_nothing(app: TestApp) {
    let w = world(&app).await;
    let me = w.customer_token.clone();
    let staff = app.staff_token();
    let (order, lines) = delivered_order(&app, &w, "tok_visa").await;
    let (undelivered, _) = place(&app, &w, "tok_visa").await;
    let other = app
        .create_customer("bo@example.com", "Bo", "Europe/Berlin")
        .await;
    let stranger = app.customer_token(&other);
    let before = after_sale(&app, &order).await;
    let stock = (on_hand(&app, "PANEL").await, on_hand(&app, "CABLE").await);

    let request = |order: &str, lines: Value| json!({ "orderId": order, "lines": lines });
    let panel = |quantity: i64| json!({ "orderLineId": lines["PANEL"], "quantity": quantity, "reason": "OTHER" });
    let cases: Vec<(&str, String, Value, &str, Value)> = vec![
        (
            "more than delivered",
            me.clone(),
            request(&order, json!([panel(4)])),
            "NOT_RETURNABLE",
            json!(["input", "lines", "0", "quantity"]),
        ),
        (
            "zero units",
            me.clone(),
            request(&order, json!([panel(0)])),
            "INVALID_INPUT",
            json!(["input", "lines", "0", "quantity"]),
        ),
        (
            "negative units",
            me.clone(),
            request(&order, json!([panel(-1)])),
            "INVALID_INPUT",
            json!(["input", "lines", "0", "quantity"]),
        ),
        (
            "a line twice",
            me.clone(),
            request(&order, json!([panel(1), panel(1)])),
            "INVALID_INPUT",
            json!(["input", "lines", "1", "orderLineId"]),
        ),
        (
            "no lines",
            me.clone(),
            request(&order, json!([])),
            "INVALID_INPUT",
            json!(["input", "lines"]),
        ),
        (
            "a line of another order",
            me.clone(),
            request(&undelivered, json!([panel(1)])),
            "NOT_FOUND",
            json!(["input", "lines", "0", "orderLineId"]),
        ),
        (
            "someone else's order",
            stranger.clone(),
            request(&order, json!([panel(1)])),
            "NOT_FOUND",
            json!(["input", "orderId"]),
        ),
    ];
    for (what, token, input, code, field) in cases {
        let payload = act(&app, &token, "requestReturn", "RequestReturnInput", input).await;
        assert_eq!(
            user_errors(&payload),
            vec![(field, code.to_owned())],
            "{what}: {payload}"
        );
        assert!(payload["return"].is_null(), "{what}");
    }
    // Not delivered yet: nothing of it is returnable.
    let body = app
        .staff(
            "query($id: ID!) { order(id: $id) { lines { id } } }",
            json!({ "id": undelivered }),
        )
        .await;
    let line = body["data"]["order"]["lines"][0]["id"].clone();
    let payload = act(&app, &me, "requestReturn", "RequestReturnInput",
        json!({ "orderId": undelivered, "lines": [{ "orderLineId": line, "quantity": 1, "reason": "OTHER" }] })).await;
    assert_eq!(user_errors(&payload)[0].1, "NOT_RETURNABLE", "{payload}");

    // Refunds: zero, negative, another currency, more than captured, a stale version.
    let refund = mutation(
        "refundOrder",
        "RefundOrderInput",
        "refund { id } order { id }",
    );
    let money =
        |amount: &str, currency: &str| json!({ "amount": amount, "currencyCode": currency });
    let captured_plus_one = {
        let body = app
            .staff(
                "query($id: ID!) { order(id: $id) { total { amount } } }",
                json!({ "id": order }),
            )
            .await;
        let total: f64 = body["data"]["order"]["total"]["amount"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        format!("{:.2}", total + 0.01)
    };
    let refunds = vec![
        (
            json!({ "orderId": order, "amount": money("0.00", "USD"), "reason": "x" }),
            "INVALID_INPUT",
            json!(["input", "amount", "amount"]),
        ),
        (
            json!({ "orderId": order, "amount": money("-5.00", "USD"), "reason": "x" }),
            "INVALID_INPUT",
            json!(["input", "amount", "amount"]),
        ),
        (
            json!({ "orderId": order, "amount": money("5.00", "EUR"), "reason": "x" }),
            "INVALID_INPUT",
            json!(["input", "amount", "currencyCode"]),
        ),
        (
            json!({ "orderId": order, "amount": money(&captured_plus_one, "USD"), "reason": "x" }),
            "REFUND_EXCEEDS_CAPTURED",
            json!(["input", "amount", "amount"]),
        ),
        (
            json!({ "orderId": order, "amount": money("5.00", "USD"), "reason": "x", "expectedVersion": 1 }),
            "VERSION_CONFLICT",
            json!(["input", "expectedVersion"]),
        ),
        (
            json!({ "orderId": order, "amount": money("5.00", "USD"), "reason": "  " }),
            "INVALID_INPUT",
            json!(["input", "reason"]),
        ),
    ];
    for (input, code, field) in refunds {
        let body = app
            .as_token(&staff, &refund, json!({ "input": input }))
            .await;
        let payload = &body["data"]["result"];
        assert_eq!(
            user_errors(payload),
            vec![(field, code.to_owned())],
            "{input}: {body}"
        );
        assert!(payload["refund"].is_null());
    }

    // After the window (30 days from delivery, in the customer's time zone): closed.
    app.clock.advance(chrono::Duration::days(31));
    let payload = act(
        &app,
        &me,
        "requestReturn",
        "RequestReturnInput",
        request(&order, json!([panel(1)])),
    )
    .await;
    assert_eq!(user_errors(&payload)[0].1, "NOT_RETURNABLE", "{payload}");

    let after = after_sale(&app, &order).await;
    assert_eq!(after["version"], before["version"], "nothing was recorded");
    assert_eq!(after["returns"], json!([]));
    assert_eq!(after["refunds"], json!([]));
    assert_eq!(after["paymentStatus"], before["paymentStatus"]);
    assert_eq!(returnable(&after), vec![], "the window has closed");
    assert_eq!(
        (on_hand(&app, "PANEL").await, on_hand(&app, "CABLE").await),
        stock
    );
}

/// Approves and ships back a return of 1 PANEL; returns its id and its line's id.
async fn return_on_its_way(
    app: &TestApp,
    w: &World,
    order: &str,
    lines: &Value,
) -> (String, Value) {
    let staff = app.staff_token();
    let asked = act(app, &w.customer_token, "requestReturn", "RequestReturnInput", json!({
        "orderId": order, "lines": [{ "orderLineId": lines["PANEL"], "quantity": 1, "reason": "DEFECTIVE" }],
    })).await;
    let id = asked["return"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{asked}"))
        .to_owned();
    let approved = act(
        app,
        &staff,
        "approveReturn",
        "ReturnDecisionInput",
        json!({ "returnId": id }),
    )
    .await;
    assert_eq!(user_errors(&approved), vec![], "{approved}");
    let line = asked["return"]["lines"][0]["id"].clone();
    (id, line)
}

/// Eight clients retrying one receipt at once, and eight retrying one refund with one
/// key: one refund each, paid once.
async fn racing_retries_make_one_refund(app: TestApp) {
    let w = world(&app).await;
    let (order, lines) = delivered_order(&app, &w, "tok_visa").await;
    let (id, line) = return_on_its_way(&app, &w, &order, &lines).await;
    let receipt = json!({ "returnId": id, "expectedVersion": 2,
        "lines": [{ "returnLineId": line, "quantity": 1, "disposition": "RESTOCK" }] });
    let staff = app.staff_token();
    let receipts = (0..8).map(|_| {
        act(
            &app,
            &staff,
            "receiveReturn",
            "ReceiveReturnInput",
            receipt.clone(),
        )
    });
    for payload in futures_util::future::join_all(receipts).await {
        assert_eq!(user_errors(&payload), vec![], "{payload}");
        assert_eq!(payload["return"]["status"], "REFUNDED", "{payload}");
    }
    let refund = mutation(
        "refundOrder",
        "RefundOrderInput",
        "refund { id status amount { amount } }",
    );
    let input = json!({ "orderId": order, "amount": { "amount": "12.34", "currencyCode": "USD" },
        "reason": "late delivery", "idempotencyKey": "goodwill-1" });
    let refunds = (0..8).map(|_| app.as_token(&staff, &refund, json!({ "input": input.clone() })));
    let mut ids = std::collections::BTreeSet::new();
    for body in futures_util::future::join_all(refunds).await {
        let payload = &body["data"]["result"];
        assert_eq!(user_errors(payload), vec![], "{body}");
        assert_eq!(payload["refund"]["status"], "SUCCEEDED");
        ids.insert(payload["refund"]["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids.len(), 1, "one refund for one key: {ids:?}");
    let after = after_sale(&app, &order).await;
    assert_eq!(after["refunds"].as_array().unwrap().len(), 2, "{after}");
    // One panel with a third of the panels' tax (21.75 / 3 → 107.25) and the goodwill.
    assert_eq!(after["totalRefunded"]["amount"], "119.59", "{after}");
    let types = event_types(&after);
    assert_eq!(
        types.iter().filter(|t| *t == "RETURN_RECEIVED").count(),
        1,
        "{types:?}"
    );
    assert_eq!(
        types.iter().filter(|t| *t == "REFUNDED").count(),
        2,
        "{types:?}"
    );
}

/// A provider that fails once: the refund is FAILED and visible, nothing is lost, and a
/// retry of the same request completes it once.
async fn a_failed_refund_stays_visible_and_a_retry_completes_it_once(app: TestApp) {
    let w = world(&app).await;
    let staff = app.staff_token();
    let (order, lines) = delivered_order(&app, &w, "tok_visa_refund_fails_once").await;
    let (id, line) = return_on_its_way(&app, &w, &order, &lines).await;
    let receipt = json!({ "returnId": id,
        "lines": [{ "returnLineId": line, "quantity": 1, "disposition": "RESTOCK" }] });
    let first = act(
        &app,
        &staff,
        "receiveReturn",
        "ReceiveReturnInput",
        receipt.clone(),
    )
    .await;
    assert_eq!(user_errors(&first), vec![], "{first}");
    assert_eq!(first["return"]["status"], "RECEIVED", "{first}");
    assert_eq!(first["return"]["refund"]["status"], "FAILED", "{first}");
    let failed = after_sale(&app, &order).await;
    assert_eq!(
        failed["totalRefunded"]["amount"], "0.00",
        "nothing was paid yet"
    );
    assert_eq!(failed["refunds"][0]["status"], "FAILED");
    assert!(!event_types(&failed).contains(&"REFUNDED".to_owned()));

    let retried = act(
        &app,
        &staff,
        "receiveReturn",
        "ReceiveReturnInput",
        receipt.clone(),
    )
    .await;
    assert_eq!(retried["return"]["status"], "REFUNDED", "{retried}");
    assert_eq!(retried["return"]["refund"]["status"], "SUCCEEDED");
    // Once paid, another retry changes nothing.
    let again = act(&app, &staff, "receiveReturn", "ReceiveReturnInput", receipt).await;
    assert_eq!(
        again["return"]["version"], retried["return"]["version"],
        "{again}"
    );
    let after = after_sale(&app, &order).await;
    assert_eq!(after["refunds"].as_array().unwrap().len(), 1, "{after}");
    assert_eq!(after["totalRefunded"]["amount"], "107.25");
    let types = event_types(&after);
    assert_eq!(
        types.iter().filter(|t| *t == "REFUNDED").count(),
        1,
        "{types:?}"
    );

    // A different receipt for a received return is refused.
    let other = act(
        &app,
        &staff,
        "receiveReturn",
        "ReceiveReturnInput",
        json!({ "returnId": id,
        "lines": [{ "returnLineId": line, "quantity": 1, "disposition": "DISPOSE" }] }),
    )
    .await;
    assert_eq!(user_errors(&other)[0].1, "INVALID_TRANSITION", "{other}");
}

/// A refund the provider failed is sent again by the background sweeper once it has
/// rested a minute, without anyone retrying: money owed is never forgotten.
async fn the_sweeper_pays_a_failed_refund_later(app: TestApp) {
    let w = world(&app).await;
    let (order, _) = delivered_order(&app, &w, "tok_visa_refund_fails_once").await;
    let refund = mutation("refundOrder", "RefundOrderInput", "refund { id status }");
    let input = json!({ "orderId": order, "amount": { "amount": "5.00", "currencyCode": "USD" },
        "reason": "scratched box" });
    let body = app
        .as_token(&app.staff_token(), &refund, json!({ "input": input }))
        .await;
    assert_eq!(
        body["data"]["result"]["refund"]["status"], "FAILED",
        "{body}"
    );
    // Resting: the sweeper leaves it for a minute.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        after_sale(&app, &order).await["refunds"][0]["status"],
        "FAILED"
    );
    app.clock.advance(chrono::Duration::seconds(61));
    let mut status = Value::Null;
    for _ in 0..100 {
        status = after_sale(&app, &order).await["refunds"][0]["status"].clone();
        if status == "SUCCEEDED" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status, "SUCCEEDED");
    let after = after_sale(&app, &order).await;
    assert_eq!(after["totalRefunded"]["amount"], "5.00", "{after}");
    assert_eq!(
        event_types(&after).last().map(String::as_str),
        Some("REFUNDED")
    );
}

/// A `manual` order waits until staff record the money, then ships.
async fn a_recorded_payment_lets_a_manual_order_ship(app: TestApp) {
    let w = world(&app).await;
    let placed = app
        .place_order(json!({
            "customerId": w.customer,
            "lines": [{ "sku": "CABLE", "quantity": 1 }],
            "shippingAddress": { "line1": "1 Main St", "city": "Reno", "postalCode": "89501", "country": "US" },
            "payment": { "provider": "manual" },
        }))
        .await;
    let order = placed["order"]["id"].as_str().unwrap().to_owned();
    let fo = placed["order"]["fulfillmentOrders"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(placed["order"]["status"], "PENDING_PAYMENT");
    let total = placed["order"]["total"]["amount"]
        .as_str()
        .unwrap()
        .to_owned();
    let record = mutation(
        "recordPayment",
        "RecordPaymentInput",
        "order { status paymentStatus version events { type } }",
    );
    let staff = app.staff_token();
    let short = app
        .as_token(
            &staff,
            &record,
            json!({ "input": {
        "orderId": order, "amount": { "amount": "1.00", "currencyCode": "USD" } } }),
        )
        .await;
    assert_eq!(
        user_errors(&short["data"]["result"])[0].1,
        "INVALID_INPUT",
        "{short}"
    );
    let paid = app.as_token(&staff, &record, json!({ "input": {
        "orderId": order, "amount": { "amount": total, "currencyCode": "USD" }, "reference": "WIRE-881" } })).await;
    let payload = &paid["data"]["result"];
    assert_eq!(user_errors(payload), vec![], "{paid}");
    assert_eq!(payload["order"]["status"], "CONFIRMED");
    assert_eq!(payload["order"]["paymentStatus"], "AUTHORIZED");
    assert_eq!(
        payload["order"]["events"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()["type"],
        "PAYMENT_RECORDED"
    );
    let twice = app
        .as_token(
            &staff,
            &record,
            json!({ "input": {
        "orderId": order, "amount": { "amount": total, "currencyCode": "USD" } } }),
        )
        .await;
    assert_eq!(
        user_errors(&twice["data"]["result"])[0].1,
        "INVALID_TRANSITION",
        "{twice}"
    );
    app.ship(&fo).await;
    let after = after_sale(&app, &order).await;
    assert_eq!(after["paymentStatus"], "CAPTURED", "{after}");
    let _ = w.reno;
}

/// The demo's returns: Steven Boyle has one refunded and one waiting for a decision, and
/// the returns desk sees a queue in every state.
async fn the_demo_has_returns_in_every_state(app: TestApp) {
    let steven = app.customer_id_by_email("steven.boyle@example.com").await;
    let token = app.customer_token(&steven);
    let mine = app
        .as_token(&token, "{ returns(first: 10) { edges { node { number status refund { status amount { amount } } order { number } } } } }", json!({}))
        .await;
    let statuses: Vec<&str> = mine["data"]["returns"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{mine}"))
        .iter()
        .map(|e| e["node"]["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["REQUESTED", "REFUNDED"], "{mine}");
    let all = app
        .staff(
            "{ returns(first: 50) { edges { node { status } } } }",
            json!({}),
        )
        .await;
    let mut every: Vec<&str> = all["data"]["returns"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["status"].as_str().unwrap())
        .collect();
    every.sort_unstable();
    every.dedup();
    assert_eq!(
        every,
        [
            "APPROVED",
            "DECLINED",
            "IN_TRANSIT",
            "REFUNDED",
            "REQUESTED"
        ],
        "{all}"
    );
    let queue = app
        .staff(
            "{ returns(first: 50, status: [REQUESTED]) { edges { node { number } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        queue["data"]["returns"]["edges"].as_array().unwrap().len(),
        1,
        "{queue}"
    );
}

const RETURNS_PAGE: &str = "query($first: Int!) { orders(first: $first) { edges { node {
    returnStatus totalRefunded { amount }
    returns { number status lines { quantity orderLine { sku { code } } } refund { amount { amount } } returnLocation { code } }
    refunds { amount { amount } status }
    returnableLines { quantity returnableUntil }
} } } }";

/// A page of orders with their returns and refunds costs the same statements for 20
/// orders as for 50 (both pages hold every kind of return the demo has).
async fn order_pages_with_returns_cost_constant_statements(app: TestApp) {
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut counts = Vec::new();
    for first in [20, 50, 20, 50] {
        let before = app.db_statements().await;
        let body = app.staff(RETURNS_PAGE, json!({ "first": first })).await;
        assert!(body["errors"].is_null(), "{body}");
        counts.push(app.db_statements().await - before);
    }
    assert_eq!(
        counts[0], counts[1],
        "statements for 20 vs 50 orders: {counts:?}"
    );
    assert_eq!(counts[2], counts[3], "{counts:?}");
    // Orders, returns, their lines, order lines, SKUs, refunds, locations, and what is
    // returnable (orders, parcels, parcel lines, units held by returns, customers' zones).
    assert!(counts[1] <= 14, "a small constant, got {counts:?}");
    eprintln!(
        "statements per orders(first: 20/50) with returns, refunds, returnable lines: {counts:?}"
    );
}

backend_tests! {
    a_delivered_order_goes_back_restocked_and_refunded => Options { tax_rates: Some("US:725".into()), ..Options::default() };
    bad_returns_and_refunds_change_nothing => Options { tax_rates: Some("US:725".into()), ..Options::default() };
    racing_retries_make_one_refund => Options { tax_rates: Some("US:725".into()), ..Options::default() };
    a_failed_refund_stays_visible_and_a_retry_completes_it_once => Options { tax_rates: Some("US:725".into()), ..Options::default() };
    the_sweeper_pays_a_failed_refund_later => Options { scheduler_interval_ms: Some(50), ..Options::default() };
    a_recorded_payment_lets_a_manual_order_ship => Options::default();
    the_demo_has_returns_in_every_state => Options { seed: true, ..Options::default() };
    order_pages_with_returns_cost_constant_statements => Options {
        seed: true,
        loader_delay_ms: Some(25),
        relay_poll_ms: Some(3_600_000),
        scheduler_interval_ms: Some(3_600_000),
        ..Options::default()
    };
}
