//! Editing an order before it is picked: re-priced, re-routed and re-reserved all or
//! nothing; a declined re-authorisation changes nothing; the edit window and picking
//! close it; concurrent edits and placements never oversell.

use orderly_tests::{Options, TestApp, backend_tests, user_errors};
use serde_json::{Value, json};

struct World {
    reno: String,
    newark: String,
    customer: String,
    token: String,
}

async fn world(app: &TestApp) -> World {
    let body = app
        .staff(
            "mutation($a: CreateLocationInput!, $b: CreateLocationInput!) {
               a: createLocation(input: $a) { location { id } }
               b: createLocation(input: $b) { location { id } } }",
            json!({
                "a": { "code": "RNO", "name": "Reno", "shipsTo": ["US"], "address": { "line1": "1 Dock Rd", "city": "Reno", "postalCode": "89502", "country": "US", "latitude": 39.51, "longitude": -119.78 } },
                "b": { "code": "EWR", "name": "Newark", "shipsTo": ["US"], "address": { "line1": "2 Port St", "city": "Newark", "postalCode": "07114", "country": "US", "latitude": 40.72, "longitude": -74.14 } },
            }),
        )
        .await;
    let reno = body["data"]["a"]["location"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let newark = body["data"]["b"]["location"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for (code, price) in [("PANEL", "100.00"), ("CABLE", "10.00"), ("LAMP", "25.00")] {
        app.upsert_sku(code, price).await;
        app.set_stock(&reno, code, 10).await;
        app.set_stock(&newark, code, 10).await;
    }
    let customer = app
        .create_customer("ana@example.com", "Ana Ruiz", "America/Los_Angeles")
        .await;
    let token = app.customer_token(&customer);
    World {
        reno,
        newark,
        customer,
        token,
    }
}

fn sf() -> Value {
    json!({ "line1": "2150 Lombard St", "city": "San Francisco", "region": "CA", "postalCode": "94123",
            "country": "US", "latitude": 37.7996, "longitude": -122.4368 })
}

fn nyc() -> Value {
    json!({ "line1": "350 5th Ave", "city": "New York", "region": "NY", "postalCode": "10118",
            "country": "US", "latitude": 40.7484, "longitude": -73.9857 })
}

const ORDER: &str = "id version status total { amount } editable
    shippingAddress { city } lines { id quantity unitPrice { amount } sku { code } }
    fulfillmentOrders { id status location { code } lines { quantity sku { code } } }
    payments { status amountAuthorized { amount } } events { type message }";

async fn place(app: &TestApp, w: &World, token: &str, lines: Value) -> Value {
    let placed = app
        .place_order(json!({
            "customerId": w.customer, "lines": lines, "shippingAddress": sf(),
            "payment": { "provider": "test", "token": token },
        }))
        .await;
    assert_eq!(user_errors(&placed), vec![], "{placed}");
    read(app, placed["order"]["id"].as_str().unwrap()).await
}

async fn read(app: &TestApp, id: &str) -> Value {
    let body = app
        .staff(
            &format!("query($id: ID!) {{ order(id: $id) {{ {ORDER} }} }}"),
            json!({ "id": id }),
        )
        .await;
    body["data"]["order"].clone()
}

async fn edit(app: &TestApp, token: &str, input: Value) -> Value {
    let body = app
        .as_token(
            token,
            &format!("mutation($input: EditOrderInput!) {{ editOrder(input: $input) {{ order {{ {ORDER} }} userErrors {{ field code message }} }} }}"),
            json!({ "input": input }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    body["data"]["editOrder"].clone()
}

/// (location code, SKU) → (on hand, reserved).
async fn stock(app: &TestApp, sku: &str) -> Vec<(String, i64, i64)> {
    let body = app
        .staff(
            "query($c: String!) { sku(code: $c) { inventoryLevels { location { code } onHand reserved } } }",
            json!({ "c": sku }),
        )
        .await;
    let mut out: Vec<(String, i64, i64)> = body["data"]["sku"]["inventoryLevels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["location"]["code"].as_str().unwrap().to_owned(),
                l["onHand"].as_i64().unwrap(),
                l["reserved"].as_i64().unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

fn line<'a>(order: &'a Value, sku: &str) -> &'a Value {
    order["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["sku"]["code"] == sku)
        .unwrap_or(&Value::Null)
}

async fn a_customer_edits_quantities_lines_and_address(app: TestApp) {
    let w = world(&app).await;
    let order = place(
        &app,
        &w,
        "tok_visa",
        json!([{ "sku": "PANEL", "quantity": 3 }, { "sku": "CABLE", "quantity": 2 }]),
    )
    .await;
    let id = order["id"].as_str().unwrap().to_owned();
    assert_eq!(order["fulfillmentOrders"][0]["location"]["code"], "RNO");
    let mine = app
        .as_token(
            &w.token,
            "query($id: ID!) { order(id: $id) { editable } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(mine["data"]["order"]["editable"], true, "{mine}");

    // Fewer panels, no cables, two lamps (today's price).
    app.upsert_sku("LAMP", "30.00").await;
    let edited = edit(
        &app,
        &w.token,
        json!({
            "orderId": id, "expectedVersion": order["version"],
            "setQuantities": [
                { "orderLineId": line(&order, "PANEL")["id"], "quantity": 1 },
                { "orderLineId": line(&order, "CABLE")["id"], "quantity": 0 },
            ],
            "addLines": [{ "sku": "LAMP", "quantity": 2 }],
        }),
    )
    .await;
    assert_eq!(user_errors(&edited), vec![], "{edited}");
    let o = &edited["order"];
    assert_eq!(line(o, "PANEL")["quantity"], 1);
    assert!(line(o, "CABLE").is_null(), "removed: {o}");
    assert_eq!(line(o, "LAMP")["unitPrice"]["amount"], "30.00");
    // 100 + 2 × 30 (standard shipping is free, no tax configured).
    assert_eq!(o["total"]["amount"], "160.00", "{o}");
    assert_eq!(
        o["payments"][0]["amountAuthorized"]["amount"], o["total"]["amount"],
        "the hold follows the total"
    );
    assert_eq!(
        o["version"].as_i64().unwrap(),
        order["version"].as_i64().unwrap() + 1
    );
    let last = o["events"].as_array().unwrap().last().unwrap();
    assert_eq!(last["type"], "ORDER_EDITED");
    assert!(
        last["message"].as_str().unwrap().contains("PANEL 3 → 1"),
        "{last}"
    );
    assert_eq!(stock(&app, "PANEL").await[1], ("RNO".into(), 10, 1));
    assert_eq!(stock(&app, "CABLE").await[1], ("RNO".into(), 10, 0));
    assert_eq!(stock(&app, "LAMP").await[1], ("RNO".into(), 10, 2));

    // A new address across the country moves the order to the nearer warehouse.
    let moved = edit(
        &app,
        &w.token,
        json!({ "orderId": id, "expectedVersion": o["version"], "shippingAddress": nyc() }),
    )
    .await;
    assert_eq!(user_errors(&moved), vec![], "{moved}");
    let o = &moved["order"];
    assert_eq!(o["shippingAddress"]["city"], "New York");
    let live: Vec<&Value> = o["fulfillmentOrders"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["status"] == "OPEN")
        .collect();
    assert_eq!(live.len(), 1, "{o}");
    assert_eq!(live[0]["location"]["code"], "EWR");
    assert_eq!(
        stock(&app, "PANEL").await,
        vec![("EWR".into(), 10, 1), ("RNO".into(), 10, 0)]
    );
    assert_eq!(
        o["events"].as_array().unwrap().last().unwrap()["type"],
        "ADDRESS_CHANGED"
    );
    let _ = (&w.reno, &w.newark);
}

async fn a_declined_increase_leaves_the_order_untouched(app: TestApp) {
    let w = world(&app).await;
    let order = place(
        &app,
        &w,
        "tok_visa_increase_declined",
        json!([{ "sku": "PANEL", "quantity": 1 }]),
    )
    .await;
    let id = order["id"].as_str().unwrap().to_owned();
    let before = (stock(&app, "PANEL").await, stock(&app, "LAMP").await);
    let edited = edit(&app, &app.staff_token(), json!({
        "orderId": id, "expectedVersion": order["version"], "addLines": [{ "sku": "LAMP", "quantity": 3 }],
    })).await;
    assert_eq!(
        user_errors(&edited),
        vec![(json!(["input", "payment"]), "PAYMENT_DECLINED".to_owned())],
        "{edited}"
    );
    let after = read(&app, &id).await;
    assert_eq!(after, order, "nothing changed");
    assert_eq!(
        (stock(&app, "PANEL").await, stock(&app, "LAMP").await),
        before
    );

    // With a card that can hold more, the same edit goes through.
    let order = place(
        &app,
        &w,
        "tok_visa",
        json!([{ "sku": "PANEL", "quantity": 1 }]),
    )
    .await;
    let edited = edit(&app, &app.staff_token(), json!({
        "orderId": order["id"], "expectedVersion": order["version"], "addLines": [{ "sku": "LAMP", "quantity": 3 }],
    })).await;
    assert_eq!(user_errors(&edited), vec![], "{edited}");
    assert_eq!(
        edited["order"]["payments"][0]["amountAuthorized"],
        edited["order"]["total"]
    );
}

async fn edits_that_are_not_allowed_change_nothing(app: TestApp) {
    let w = world(&app).await;
    let order = place(
        &app,
        &w,
        "tok_visa",
        json!([{ "sku": "PANEL", "quantity": 2 }, { "sku": "CABLE", "quantity": 1 }]),
    )
    .await;
    let id = order["id"].as_str().unwrap().to_owned();
    let v = order["version"].clone();
    let panel = line(&order, "PANEL")["id"].clone();
    let other = app.create_customer("bo@example.com", "Bo", "UTC").await;
    let stranger = app.customer_token(&other);
    let staff = app.staff_token();
    let cases = vec![
        (
            w.token.clone(),
            json!({ "orderId": id, "expectedVersion": 1 }),
            json!(["input", "expectedVersion"]),
            "VERSION_CONFLICT",
        ),
        (
            w.token.clone(),
            json!({ "orderId": id, "expectedVersion": v, "setQuantities": [{ "orderLineId": panel, "quantity": -1 }] }),
            json!(["input", "setQuantities", "0", "quantity"]),
            "INVALID_INPUT",
        ),
        (
            w.token.clone(),
            json!({ "orderId": id, "expectedVersion": v, "setQuantities": [{ "orderLineId": panel, "quantity": 1 }, { "orderLineId": panel, "quantity": 2 }] }),
            json!(["input", "setQuantities", "1", "orderLineId"]),
            "INVALID_INPUT",
        ),
        (
            w.token.clone(),
            json!({ "orderId": id, "expectedVersion": v, "setQuantities": [{ "orderLineId": orderly_tests::foreign_id(orderly::gid::Kind::OrderLine, 999_999), "quantity": 1 }] }),
            json!(["input", "setQuantities", "0", "orderLineId"]),
            "NOT_FOUND",
        ),
        (
            w.token.clone(),
            json!({ "orderId": id, "expectedVersion": v, "setQuantities": [{ "orderLineId": panel, "quantity": 50 }] }),
            json!(["input", "addLines"]),
            "OUT_OF_STOCK",
        ),
        (
            w.token.clone(),
            json!({ "orderId": id, "expectedVersion": v, "addLines": [{ "sku": "NOPE", "quantity": 1 }] }),
            json!(["input", "addLines", "0", "sku"]),
            "NOT_FOUND",
        ),
        (
            w.token.clone(),
            json!({ "orderId": id, "expectedVersion": v, "shippingAddress": { "line1": "1 Rue", "city": "Paris", "postalCode": "75001", "country": "FR" } }),
            json!(["input", "shippingAddress", "country"]),
            "INVALID_INPUT",
        ),
        (
            stranger,
            json!({ "orderId": id, "expectedVersion": v }),
            json!(["input", "orderId"]),
            "NOT_FOUND",
        ),
    ];
    let before = (read(&app, &id).await, stock(&app, "PANEL").await);
    for (token, input, field, code) in cases {
        let refused = edit(&app, &token, input.clone()).await;
        assert_eq!(
            user_errors(&refused),
            vec![(field, code.to_owned())],
            "{input}: {refused}"
        );
    }
    assert_eq!(
        (read(&app, &id).await, stock(&app, "PANEL").await),
        before,
        "nothing changed"
    );

    // The customer's window closes an hour after placing; staff may still edit.
    app.clock.advance(chrono::Duration::minutes(61));
    let late = edit(
        &app,
        &w.token,
        json!({ "orderId": id, "expectedVersion": v, "shippingMethod": "EXPRESS" }),
    )
    .await;
    assert_eq!(
        user_errors(&late),
        vec![(json!(["input", "orderId"]), "NOT_EDITABLE".to_owned())],
        "{late}"
    );
    let mine = app
        .as_token(
            &w.token,
            "query($id: ID!) { order(id: $id) { editable } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(mine["data"]["order"]["editable"], false);
    let by_staff = edit(
        &app,
        &staff,
        json!({ "orderId": id, "expectedVersion": v, "shippingMethod": "EXPRESS" }),
    )
    .await;
    assert_eq!(user_errors(&by_staff), vec![], "{by_staff}");

    // Once picking starts, nobody edits.
    let fo = by_staff["order"]["fulfillmentOrders"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.step("startPicking", &fo).await;
    let current = read(&app, &id).await;
    let picked = edit(&app, &staff, json!({ "orderId": id, "expectedVersion": current["version"], "shippingMethod": "STANDARD" })).await;
    assert_eq!(user_errors(&picked)[0].1, "NOT_EDITABLE", "{picked}");
    assert_eq!(read(&app, &id).await["editable"], false);
}

/// Sixteen clients at once — edits adding a panel to four orders (two each, one must
/// lose on the version) and placements of one panel — over the last units: the stock is
/// never oversold and what is reserved is exactly what the orders hold.
async fn concurrent_edits_and_placements_never_oversell(app: TestApp) {
    let w = world(&app).await;
    app.set_stock(&w.reno, "PANEL", 8).await;
    app.set_stock(&w.newark, "PANEL", 0).await;
    let mut orders = Vec::new();
    for _ in 0..4 {
        orders.push(
            place(
                &app,
                &w,
                "tok_visa",
                json!([{ "sku": "PANEL", "quantity": 1 }]),
            )
            .await,
        );
    }
    // 4 held, 4 left; 16 clients want 16 more.
    let staff = app.staff_token();
    let edits = orders.iter().flat_map(|o| {
        let input = json!({ "orderId": o["id"], "expectedVersion": o["version"],
            "setQuantities": [{ "orderLineId": line(o, "PANEL")["id"], "quantity": 2 }] });
        [input.clone(), input]
    });
    let edit_calls = edits.map(|input| {
        let staff = staff.clone();
        let app = &app;
        async move { edit(app, &staff, input).await }
    });
    let place_calls = (0..8).map(|_| {
        let app = &app;
        let customer = w.customer.clone();
        async move {
            app.staff(
                orderly_tests::PLACE_ORDER,
                json!({ "input": { "customerId": customer, "lines": [{ "sku": "PANEL", "quantity": 1 }],
                    "shippingAddress": sf(), "payment": { "provider": "test", "token": "tok_visa" } } }),
            )
            .await["data"]["placeOrder"]
                .clone()
        }
    });
    let (edited, placed) = futures_util::future::join(
        futures_util::future::join_all(edit_calls),
        futures_util::future::join_all(place_calls),
    )
    .await;
    for payload in edited.iter().chain(placed.iter()) {
        let codes: Vec<String> = user_errors(payload).into_iter().map(|(_, c)| c).collect();
        assert!(
            codes.is_empty() || codes == ["OUT_OF_STOCK"] || codes == ["VERSION_CONFLICT"],
            "{payload}"
        );
    }
    let won = edited.iter().filter(|p| user_errors(p).is_empty()).count()
        + placed.iter().filter(|p| user_errors(p).is_empty()).count();
    assert!((1..=4).contains(&won), "4 units were left, {won} took one");
    let body = app
        .staff("{ orders(first: 50, filter: { status: [CONFIRMED] }) { edges { node { lines { quantity sku { code } } } } } }", json!({}))
        .await;
    let held: i64 = body["data"]["orders"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| e["node"]["lines"].as_array().unwrap().clone())
        .filter(|l| l["sku"]["code"] == "PANEL")
        .map(|l| l["quantity"].as_i64().unwrap())
        .sum();
    let levels = stock(&app, "PANEL").await;
    let reno = levels.iter().find(|l| l.0 == "RNO").unwrap();
    assert!(reno.2 <= reno.1, "never oversold: {levels:?}");
    assert_eq!(reno.2, held, "reserved is what the orders hold: {levels:?}");
    assert_eq!(held, 4 + won as i64);
}

backend_tests! {
    a_customer_edits_quantities_lines_and_address => Options::default();
    a_declined_increase_leaves_the_order_untouched => Options::default();
    edits_that_are_not_allowed_change_nothing => Options::default();
    concurrent_edits_and_placements_never_oversell => Options::default();
}
