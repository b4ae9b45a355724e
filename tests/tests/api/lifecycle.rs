//! The order lifecycle end to end: placement (routing, reservation, payment,
//! idempotency), picking, packing, shipping, carrier events, cancellation — and the bad
//! input and illegal transitions each step refuses without changing anything.

use orderly::auth::Scope;
use orderly_tests::{Options, PLACE_ORDER, TestApp, backend_tests, user_errors};
use serde_json::{Value, json};

const ORDER: &str = "query($id: ID!) {
  order(id: $id) {
    status paymentStatus version cancelReason
    lines { quantity quantityFulfilled quantityCancelled }
    fulfillmentOrders { id status carrier trackingNumber shippedAt deliveredAt estimatedDelivery { earliest latest label } }
    payments { status amountAuthorized { amount } amountCaptured { amount } }
    events { sequence type message }
  }
}";

const STEP: &str = "mutation($id: ID!) {
  pick: startPicking(input: { fulfillmentOrderId: $id }) { fulfillmentOrder { status } userErrors { field code message } }
}";

/// The world most tests start from: two warehouses, three SKUs, one customer.
struct World {
    customer: String,
}

async fn location(app: &TestApp, code: &str, lat: f64, lon: f64) -> String {
    let body = app
        .staff(
            "mutation($input: CreateLocationInput!) { createLocation(input: $input) { location { id } userErrors { message } } }",
            json!({ "input": { "code": code, "name": code, "shipsTo": ["US"],
                    "address": { "line1": "1 Dock Rd", "city": code, "postalCode": "00000", "country": "US", "latitude": lat, "longitude": lon } } }),
        )
        .await;
    body["data"]["createLocation"]["location"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_owned()
}

async fn world(app: &TestApp) -> World {
    let reno = location(app, "RNO", 39.51, -119.78).await;
    let newark = location(app, "EWR", 40.72, -74.14).await;
    for (code, price) in [
        ("SOLAR-6KW", "8999.00"),
        ("BATT-13KWH", "6499.00"),
        ("EV-48A", "599.00"),
    ] {
        app.upsert_sku(code, price).await;
    }
    app.set_stock(&reno, "SOLAR-6KW", 10).await;
    app.set_stock(&reno, "BATT-13KWH", 3).await;
    app.set_stock(&newark, "EV-48A", 5).await;
    app.set_stock(&newark, "SOLAR-6KW", 10).await;
    World {
        customer: app
            .create_customer(
                "steven.boyle@example.com",
                "Steven Boyle",
                "America/Los_Angeles",
            )
            .await,
    }
}

fn order_input(customer: &str, lines: Value) -> Value {
    json!({
        "customerId": customer,
        "lines": lines,
        "shippingAddress": { "name": "Steven Boyle", "line1": "2150 Lombard St", "city": "San Francisco", "region": "CA",
                             "postalCode": "94123", "country": "US", "latitude": 37.7996, "longitude": -122.4368 },
        "shippingMethod": "EXPRESS",
        "payment": { "provider": "test", "token": "tok_visa" }
    })
}

async fn levels(app: &TestApp, sku: &str) -> Vec<(String, i64, i64)> {
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

async fn placing_reserves_stock_routes_to_the_nearest_location_and_records_events(app: TestApp) {
    let w = world(&app).await;
    let placed = app
        .place_order(order_input(
            &w.customer,
            json!([{ "sku": "SOLAR-6KW", "quantity": 2 }]),
        ))
        .await;
    assert_eq!(placed["userErrors"], json!([]), "{placed}");
    let order = &placed["order"];
    assert_eq!(order["status"], "CONFIRMED");
    assert_eq!(order["paymentStatus"], "AUTHORIZED");
    assert_eq!(order["subtotal"]["amount"], "17998.00");
    assert_eq!(order["shippingTotal"]["amount"], "25.00");
    assert_eq!(order["total"]["amount"], "18023.00");
    assert_eq!(order["routing"]["strategy"], "SINGLE");
    assert_eq!(
        order["routing"]["locations"],
        json!([{ "code": "RNO" }]),
        "Reno is nearer San Francisco than Newark"
    );
    assert!(
        order["routing"]["reason"].as_str().unwrap().contains("km"),
        "{}",
        order["routing"]["reason"]
    );
    assert_eq!(
        order["payments"][0]["amountAuthorized"]["amount"],
        "18023.00"
    );
    let events: Vec<_> = order["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["sequence"].as_i64().unwrap(),
                e["type"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        events,
        vec![
            (1, "PLACED".into()),
            (2, "PAYMENT_AUTHORIZED".into()),
            (3, "ALLOCATED".into())
        ]
    );
    assert_eq!(order["version"], 3);
    assert!(order["number"].as_str().unwrap().starts_with('#'));
    assert_eq!(
        levels(&app, "SOLAR-6KW").await,
        vec![("EWR".into(), 10, 0), ("RNO".into(), 10, 2)]
    );
}

async fn an_order_no_single_location_can_ship_is_split_across_the_fewest(app: TestApp) {
    let w = world(&app).await;
    let placed = app
        .place_order(order_input(
            &w.customer,
            json!([{ "sku": "BATT-13KWH", "quantity": 1 }, { "sku": "EV-48A", "quantity": 2 }]),
        ))
        .await;
    let order = &placed["order"];
    assert_eq!(order["routing"]["strategy"], "SPLIT", "{placed}");
    assert!(
        order["routing"]["reason"]
            .as_str()
            .unwrap()
            .starts_with("split: 2 locations")
    );
    let mut shipped_from: Vec<_> = order["fulfillmentOrders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["location"]["code"].as_str().unwrap().to_owned())
        .collect();
    shipped_from.sort();
    assert_eq!(shipped_from, vec!["EWR", "RNO"]);
}

async fn declines_shortages_and_bad_input_create_and_reserve_nothing(app: TestApp) {
    let w = world(&app).await;
    let mut declined = order_input(&w.customer, json!([{ "sku": "SOLAR-6KW", "quantity": 1 }]));
    declined["payment"]["token"] = json!("tok_declined");
    let cases = [
        (declined, json!(["input", "payment"]), "PAYMENT_DECLINED"),
        (
            order_input(&w.customer, json!([{ "sku": "NOPE", "quantity": 1 }])),
            json!(["input", "lines", "0", "sku"]),
            "NOT_FOUND",
        ),
        (
            order_input(
                &w.customer,
                json!([{ "sku": "SOLAR-6KW", "quantity": 1 }, { "sku": "NOPE", "quantity": 1 }]),
            ),
            json!(["input", "lines", "1", "sku"]),
            "NOT_FOUND",
        ),
        (
            // A customer that does not exist ("Customer:99999") is reported before any line.
            order_input(
                "Q3VzdG9tZXI6OTk5OTk",
                json!([{ "sku": "NOPE", "quantity": 1 }]),
            ),
            json!(["input", "customerId"]),
            "NOT_FOUND",
        ),
        (
            order_input(&w.customer, json!([{ "sku": "SOLAR-6KW", "quantity": 0 }])),
            json!(["input", "lines", "0", "quantity"]),
            "INVALID_INPUT",
        ),
        (
            order_input(
                &w.customer,
                json!([{ "sku": "SOLAR-6KW", "quantity": 1000000 }]),
            ),
            json!(["input", "lines", "0", "quantity"]),
            "INVALID_INPUT",
        ),
        (
            order_input(&w.customer, json!([{ "sku": "SOLAR-6KW", "quantity": 21 }])),
            json!(["input", "lines", "0", "quantity"]),
            "OUT_OF_STOCK",
        ),
        (
            order_input(&w.customer, json!([])),
            json!(["input", "lines"]),
            "INVALID_INPUT",
        ),
    ];
    for (input, field, code) in cases {
        let payload = app.place_order(input.clone()).await;
        assert_eq!(
            user_errors(&payload),
            vec![(field, code.to_owned())],
            "{input}: {payload}"
        );
        assert!(payload["order"].is_null());
    }
    let mut foreign = order_input(&w.customer, json!([{ "sku": "SOLAR-6KW", "quantity": 1 }]));
    foreign["shippingAddress"]["country"] = json!("XX");
    foreign["payment"]["provider"] = json!("bitcoin");
    let payload = app.place_order(foreign).await;
    assert_eq!(
        user_errors(&payload),
        vec![(
            json!(["input", "shippingAddress", "country"]),
            "INVALID_INPUT".to_owned()
        )],
        "address errors are found before the provider is asked: {payload}"
    );
    let mut unknown_provider =
        order_input(&w.customer, json!([{ "sku": "SOLAR-6KW", "quantity": 1 }]));
    unknown_provider["payment"]["provider"] = json!("bitcoin");
    assert_eq!(
        user_errors(&app.place_order(unknown_provider).await),
        vec![(
            json!(["input", "payment", "provider"]),
            "INVALID_INPUT".to_owned()
        )]
    );

    let all = app
        .staff("{ orders(first: 10) { edges { node { id } } } }", json!({}))
        .await;
    assert_eq!(
        all["data"]["orders"]["edges"],
        json!([]),
        "nothing was placed"
    );
    assert_eq!(
        levels(&app, "SOLAR-6KW").await,
        vec![("EWR".into(), 10, 0), ("RNO".into(), 10, 0)],
        "nothing reserved"
    );
}

async fn customers_order_for_themselves_only(app: TestApp) {
    let w = world(&app).await;
    let token = app.customer_token(&w.customer);
    let mut input = order_input(&w.customer, json!([{ "sku": "EV-48A", "quantity": 1 }]));
    input.as_object_mut().unwrap().remove("customerId");
    let body = app
        .as_token(&token, PLACE_ORDER, json!({ "input": input }))
        .await;
    assert_eq!(
        body["data"]["placeOrder"]["order"]["status"], "CONFIRMED",
        "{body}"
    );

    let other = app
        .staff(
            "mutation { createCustomer(input: { email: \"maria@example.com\", name: \"Maria\" }) { customer { id } } }",
            json!({}),
        )
        .await;
    let maria = other["data"]["createCustomer"]["customer"]["id"]
        .as_str()
        .unwrap();
    let body = app
        .as_token(
            &token,
            PLACE_ORDER,
            json!({ "input": order_input(maria, json!([{ "sku": "EV-48A", "quantity": 1 }])) }),
        )
        .await;
    assert_eq!(
        user_errors(&body["data"]["placeOrder"]),
        vec![(json!(["input", "customerId"]), "INVALID_INPUT".to_owned())]
    );

    let reader = app.partner_token(&[Scope::OrdersRead]);
    let body = app
        .as_token(
            &reader,
            PLACE_ORDER,
            json!({ "input": order_input(maria, json!([{ "sku": "EV-48A", "quantity": 1 }])) }),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{body}"
    );
}

async fn the_same_idempotency_key_returns_the_same_order(app: TestApp) {
    let w = world(&app).await;
    let mut input = order_input(&w.customer, json!([{ "sku": "SOLAR-6KW", "quantity": 1 }]));
    input["idempotencyKey"] = json!("checkout-7f3a");
    let first = app.place_order(input.clone()).await;
    let second = app.place_order(input.clone()).await;
    assert_eq!(first["order"]["id"], second["order"]["id"], "{second}");
    assert_eq!(
        levels(&app, "SOLAR-6KW").await,
        vec![("EWR".into(), 10, 0), ("RNO".into(), 10, 1)],
        "reserved once"
    );
    input["lines"] = json!([{ "sku": "SOLAR-6KW", "quantity": 2 }]);
    let conflict = app.place_order(input).await;
    assert_eq!(
        user_errors(&conflict),
        vec![(
            json!(["input", "idempotencyKey"]),
            "IDEMPOTENCY_CONFLICT".to_owned()
        )]
    );
}

async fn an_order_goes_from_placement_to_the_door(app: TestApp) {
    let w = world(&app).await;
    let placed = app
        .place_order(order_input(
            &w.customer,
            json!([{ "sku": "BATT-13KWH", "quantity": 2 }]),
        ))
        .await;
    let order_id = placed["order"]["id"].as_str().unwrap().to_owned();
    let fo = placed["order"]["fulfillmentOrders"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let id = json!({ "fulfillmentOrderId": fo });

    assert_eq!(
        app.fulfillment_step("startPicking", id.clone()).await["fulfillmentOrder"]["status"],
        "PICKING"
    );
    assert_eq!(
        app.staff(ORDER, json!({ "id": order_id })).await["data"]["order"]["status"],
        "IN_PROGRESS"
    );
    assert_eq!(
        app.fulfillment_step("markPacked", id.clone()).await["fulfillmentOrder"]["status"],
        "PACKED"
    );
    let shipped = app.fulfillment_step("shipFulfillmentOrder", json!({ "fulfillmentOrderId": fo, "carrier": "UPS", "trackingNumber": "1Z999AA10123456784", "trackingUrl": "https://www.ups.com/track?tracknum=1Z999AA10123456784" })).await;
    assert_eq!(
        shipped["fulfillmentOrder"]["status"], "SHIPPED",
        "{shipped}"
    );

    let order = app.staff(ORDER, json!({ "id": order_id })).await["data"]["order"].clone();
    assert_eq!(order["status"], "SHIPPED");
    assert_eq!(order["paymentStatus"], "CAPTURED");
    assert_eq!(
        order["payments"][0]["amountCaptured"],
        order["payments"][0]["amountAuthorized"]
    );
    assert_eq!(order["lines"][0]["quantityFulfilled"], 2);
    let fo_row = &order["fulfillmentOrders"][0];
    assert_eq!(fo_row["carrier"], "UPS");
    assert!(fo_row["shippedAt"].is_string());
    assert!(
        fo_row["estimatedDelivery"]["label"]
            .as_str()
            .unwrap()
            .starts_with("Arriving"),
        "{fo_row}"
    );
    assert_eq!(
        levels(&app, "BATT-13KWH").await,
        vec![("RNO".into(), 1, 0)],
        "shipped units left on hand and reserved"
    );

    for status in ["IN_TRANSIT", "OUT_FOR_DELIVERY", "DELIVERED"] {
        let step = app
            .fulfillment_step(
                "recordDeliveryEvent",
                json!({ "fulfillmentOrderId": fo, "status": status }),
            )
            .await;
        assert_eq!(step["fulfillmentOrder"]["status"], status, "{step}");
    }
    let order = app.staff(ORDER, json!({ "id": order_id })).await["data"]["order"].clone();
    assert_eq!(order["status"], "DELIVERED");
    assert!(order["fulfillmentOrders"][0]["deliveredAt"].is_string());
    assert!(
        order["fulfillmentOrders"][0]["estimatedDelivery"]["label"]
            .as_str()
            .unwrap()
            .starts_with("Delivered ")
    );
    let types: Vec<&str> = order["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        vec![
            "PLACED",
            "PAYMENT_AUTHORIZED",
            "ALLOCATED",
            "PICKING_STARTED",
            "PACKED",
            "SHIPPED",
            "PAYMENT_CAPTURED",
            "IN_TRANSIT",
            "OUT_FOR_DELIVERY",
            "DELIVERED"
        ]
    );
    let sequences: Vec<i64> = order["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["sequence"].as_i64().unwrap())
        .collect();
    assert_eq!(sequences, (1..=10).collect::<Vec<_>>());
    assert_eq!(
        order["version"], 10,
        "every accepted change bumps the version"
    );
}

async fn illegal_transitions_are_refused_and_change_nothing(app: TestApp) {
    let w = world(&app).await;
    let placed = app
        .place_order(order_input(
            &w.customer,
            json!([{ "sku": "EV-48A", "quantity": 1 }]),
        ))
        .await;
    let order_id = placed["order"]["id"].as_str().unwrap().to_owned();
    let fo = placed["order"]["fulfillmentOrders"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = app.staff(ORDER, json!({ "id": order_id })).await;

    let ship = app
        .fulfillment_step(
            "shipFulfillmentOrder",
            json!({ "fulfillmentOrderId": fo, "carrier": "UPS", "trackingNumber": "1Z1" }),
        )
        .await;
    assert_eq!(
        user_errors(&ship),
        vec![(
            json!(["input", "fulfillmentOrderId"]),
            "INVALID_TRANSITION".to_owned()
        )],
        "{ship}"
    );
    let pack = app
        .fulfillment_step("markPacked", json!({ "fulfillmentOrderId": fo }))
        .await;
    assert_eq!(user_errors(&pack)[0].1, "INVALID_TRANSITION");
    let deliver = app
        .fulfillment_step(
            "recordDeliveryEvent",
            json!({ "fulfillmentOrderId": fo, "status": "DELIVERED" }),
        )
        .await;
    assert_eq!(user_errors(&deliver)[0].1, "INVALID_TRANSITION");
    let wrong = app
        .fulfillment_step(
            "recordDeliveryEvent",
            json!({ "fulfillmentOrderId": fo, "status": "PACKED" }),
        )
        .await;
    assert_eq!(
        user_errors(&wrong),
        vec![(json!(["input", "status"]), "INVALID_INPUT".to_owned())]
    );
    let bad_url = app.fulfillment_step("shipFulfillmentOrder", json!({ "fulfillmentOrderId": fo, "carrier": " ", "trackingNumber": "1Z1", "trackingUrl": "javascript:alert(1)" })).await;
    assert_eq!(user_errors(&bad_url).len(), 2, "{bad_url}");
    let missing = app.fulfillment_step("startPicking",
        json!({ "fulfillmentOrderId": orderly_tests::foreign_id(orderly::gid::Kind::FulfillmentOrder, 999) }),
    )
    .await;
    assert_eq!(
        user_errors(&missing),
        vec![(
            json!(["input", "fulfillmentOrderId"]),
            "NOT_FOUND".to_owned()
        )]
    );

    let after = app.staff(ORDER, json!({ "id": order_id })).await;
    assert_eq!(before, after, "refused steps changed nothing");
}

async fn cancelling_releases_stock_voids_payment_and_honours_expected_version(app: TestApp) {
    let w = world(&app).await;
    let placed = app
        .place_order(order_input(
            &w.customer,
            json!([{ "sku": "SOLAR-6KW", "quantity": 3 }]),
        ))
        .await;
    let order_id = placed["order"]["id"].as_str().unwrap().to_owned();
    const CANCEL: &str = "mutation($input: CancelOrderInput!) { cancelOrder(input: $input) { order { status paymentStatus version cancelReason } userErrors { field code message } } }";

    let stale = app
        .staff(
            CANCEL,
            json!({ "input": { "orderId": order_id, "expectedVersion": 1 } }),
        )
        .await;
    assert_eq!(
        user_errors(&stale["data"]["cancelOrder"]),
        vec![(
            json!(["input", "expectedVersion"]),
            "VERSION_CONFLICT".to_owned()
        )]
    );

    let body = app
        .staff(
            CANCEL,
            json!({ "input": { "orderId": order_id, "expectedVersion": 3, "reason": "Customer changed their mind" } }),
        )
        .await;
    let order = &body["data"]["cancelOrder"]["order"];
    assert_eq!(order["status"], "CANCELLED", "{body}");
    assert_eq!(order["paymentStatus"], "VOIDED");
    assert_eq!(order["cancelReason"], "Customer changed their mind");
    assert_eq!(order["version"], 4);
    assert_eq!(
        levels(&app, "SOLAR-6KW").await,
        vec![("EWR".into(), 10, 0), ("RNO".into(), 10, 0)],
        "reservation released"
    );
    let details = app.staff(ORDER, json!({ "id": order_id })).await["data"]["order"].clone();
    assert_eq!(details["lines"][0]["quantityCancelled"], 3);
    assert_eq!(
        details["events"].as_array().unwrap().last().unwrap()["type"],
        "CANCELLED"
    );

    let again = app
        .staff(CANCEL, json!({ "input": { "orderId": order_id } }))
        .await;
    assert_eq!(
        user_errors(&again["data"]["cancelOrder"])[0].1,
        "INVALID_TRANSITION"
    );
}

async fn cancelling_after_part_has_shipped_keeps_the_shipped_part(app: TestApp) {
    let w = world(&app).await;
    let placed = app
        .place_order(order_input(
            &w.customer,
            json!([{ "sku": "BATT-13KWH", "quantity": 1 }, { "sku": "EV-48A", "quantity": 1 }]),
        ))
        .await;
    let order_id = placed["order"]["id"].as_str().unwrap().to_owned();
    let reno = placed["order"]["fulfillmentOrders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["location"]["code"] == "RNO")
        .unwrap()["id"]
        .clone();
    for step in ["startPicking", "markPacked"] {
        app.fulfillment_step(step, json!({ "fulfillmentOrderId": reno }))
            .await;
    }
    app.fulfillment_step(
        "shipFulfillmentOrder",
        json!({ "fulfillmentOrderId": reno, "carrier": "UPS", "trackingNumber": "1Z2" }),
    )
    .await;
    let partial = app.staff(ORDER, json!({ "id": order_id })).await["data"]["order"].clone();
    assert_eq!(partial["status"], "PARTIALLY_SHIPPED");
    assert_eq!(partial["paymentStatus"], "PARTIALLY_CAPTURED");

    let body = app.staff("mutation($id: ID!) { cancelOrder(input: { orderId: $id }) { order { status paymentStatus } userErrors { code } } }", json!({ "id": order_id })).await;
    assert_eq!(
        body["data"]["cancelOrder"]["order"]["status"], "SHIPPED",
        "{body}"
    );
    assert_eq!(
        body["data"]["cancelOrder"]["order"]["paymentStatus"],
        "CAPTURED"
    );
    let done = app.staff(ORDER, json!({ "id": order_id })).await["data"]["order"].clone();
    assert_eq!(
        done["payments"][0]["amountAuthorized"], done["payments"][0]["amountCaptured"],
        "the unshipped rest is released"
    );
    assert_eq!(levels(&app, "EV-48A").await, vec![("EWR".into(), 5, 0)]);
}

async fn carriers_report_delays_and_new_estimates(app: TestApp) {
    let w = world(&app).await;
    let placed = app
        .place_order(order_input(
            &w.customer,
            json!([{ "sku": "SOLAR-6KW", "quantity": 1 }]),
        ))
        .await;
    let fo = placed["order"]["fulfillmentOrders"][0]["id"].clone();
    let order_id = placed["order"]["id"].clone();
    for step in ["startPicking", "markPacked"] {
        app.fulfillment_step(step, json!({ "fulfillmentOrderId": fo }))
            .await;
    }
    app.fulfillment_step(
        "shipFulfillmentOrder",
        json!({ "fulfillmentOrderId": fo, "carrier": "FedEx", "trackingNumber": "7712" }),
    )
    .await;
    app.fulfillment_step("recordDeliveryEvent",
        json!({ "fulfillmentOrderId": fo, "status": "DELIVERY_EXCEPTION", "message": "Weather delay" }),
    )
    .await;
    let order = app.staff(ORDER, json!({ "id": order_id })).await["data"]["order"].clone();
    assert_eq!(
        order["fulfillmentOrders"][0]["estimatedDelivery"]["label"],
        "Delayed"
    );
    assert_eq!(
        order["events"].as_array().unwrap().last().unwrap()["message"],
        "Weather delay"
    );

    let tomorrow = app.clock_now() + chrono::Duration::hours(30);
    app.fulfillment_step("recordDeliveryEvent",
        json!({ "fulfillmentOrderId": fo, "status": "IN_TRANSIT", "estimatedDeliveryAt": tomorrow.to_rfc3339() }),
    )
    .await;
    let order = app.staff(ORDER, json!({ "id": order_id })).await["data"]["order"].clone();
    let estimate = &order["fulfillmentOrders"][0]["estimatedDelivery"];
    assert_eq!(estimate["earliest"], estimate["latest"]);
    assert!(
        estimate["label"].as_str().unwrap().starts_with("Arriving"),
        "{estimate}"
    );
}

async fn manual_payments_wait_and_block_shipping(app: TestApp) {
    let w = world(&app).await;
    let mut input = order_input(&w.customer, json!([{ "sku": "EV-48A", "quantity": 1 }]));
    input["payment"] = json!({ "provider": "manual" });
    let placed = app.place_order(input).await;
    assert_eq!(placed["order"]["status"], "PENDING_PAYMENT", "{placed}");
    assert_eq!(placed["order"]["paymentStatus"], "PENDING");
    let fo = placed["order"]["fulfillmentOrders"][0]["id"].clone();
    for step in ["startPicking", "markPacked"] {
        app.fulfillment_step(step, json!({ "fulfillmentOrderId": fo }))
            .await;
    }
    let ship = app
        .fulfillment_step(
            "shipFulfillmentOrder",
            json!({ "fulfillmentOrderId": fo, "carrier": "UPS", "trackingNumber": "1Z3" }),
        )
        .await;
    assert_eq!(user_errors(&ship)[0].1, "INVALID_TRANSITION", "{ship}");
}

async fn partners_need_the_fulfillment_scope(app: TestApp) {
    let w = world(&app).await;
    let placed = app
        .place_order(order_input(
            &w.customer,
            json!([{ "sku": "EV-48A", "quantity": 1 }]),
        ))
        .await;
    let fo = placed["order"]["fulfillmentOrders"][0]["id"].clone();
    let reader = app.partner_token(&[Scope::OrdersRead]);
    let body = app.as_token(&reader, STEP, json!({ "id": fo })).await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{body}"
    );
    let tpl = app.partner_token(&[Scope::FulfillmentWrite]);
    let body = app.as_token(&tpl, STEP, json!({ "id": fo })).await;
    assert_eq!(
        body["data"]["pick"]["fulfillmentOrder"]["status"], "PICKING",
        "{body}"
    );
}

async fn concurrent_buyers_never_oversell_the_last_units(app: TestApp) {
    let w = world(&app).await;
    // EV-48A: 5 units, only in Newark. 24 buyers of one unit each, all at once.
    let app = std::sync::Arc::new(app);
    let mut handles = Vec::new();
    for _ in 0..24 {
        let app = app.clone();
        let input = order_input(&w.customer, json!([{ "sku": "EV-48A", "quantity": 1 }]));
        handles.push(tokio::spawn(async move {
            app.staff(PLACE_ORDER, json!({ "input": input })).await
        }));
    }
    let mut placed = 0;
    let mut out_of_stock = 0;
    for handle in handles {
        let body = handle.await.unwrap();
        let payload = &body["data"]["placeOrder"];
        if payload["order"].is_object() {
            placed += 1;
        } else if user_errors(payload)
            == vec![(
                json!(["input", "lines", "0", "quantity"]),
                "OUT_OF_STOCK".to_owned(),
            )]
        {
            out_of_stock += 1;
        } else {
            panic!("unexpected outcome: {body}");
        }
    }
    assert_eq!((placed, out_of_stock), (5, 19));
    assert_eq!(
        levels(&app, "EV-48A").await,
        vec![("EWR".into(), 5, 5)],
        "exactly the stock was reserved"
    );
}

async fn orders_placed_at_once_are_each_whole_and_keyed_ones_placed_once(app: TestApp) {
    let w = world(&app).await;
    let app = std::sync::Arc::new(app);
    // Eight buyers at once, all served from Reno (SOLAR-6KW 10 there, BATT-13KWH 3): on
    // Postgres they share transactions, and every order must come out as if alone.
    let mut handles = Vec::new();
    for i in 0..8 {
        let mut lines = vec![json!({ "sku": "SOLAR-6KW", "quantity": 1 })];
        if i < 3 {
            lines.push(json!({ "sku": "BATT-13KWH", "quantity": 1 }));
        }
        let input = order_input(&w.customer, json!(lines));
        let app = app.clone();
        handles.push(tokio::spawn(async move {
            app.staff(PLACE_ORDER, json!({ "input": input })).await
        }));
    }
    let mut numbers = std::collections::HashSet::new();
    for handle in handles {
        let body = handle.await.unwrap();
        let placed = &body["data"]["placeOrder"]["order"];
        assert!(placed.is_object(), "{body}");
        assert!(numbers.insert(placed["number"].as_str().unwrap().to_owned()));
        let order = app.staff(ORDER, json!({ "id": placed["id"] })).await["data"]["order"].clone();
        let lines = order["lines"].as_array().unwrap().len();
        assert!(lines == 1 || lines == 2, "{order}");
        assert_eq!(
            order["fulfillmentOrders"].as_array().unwrap().len(),
            1,
            "{order}"
        );
        assert_eq!(order["payments"][0]["status"], "AUTHORIZED", "{order}");
        let events: Vec<(i64, &str)> = order["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["sequence"].as_i64().unwrap(), e["type"].as_str().unwrap()))
            .collect();
        assert_eq!(
            events,
            [(1, "PLACED"), (2, "PAYMENT_AUTHORIZED"), (3, "ALLOCATED")],
            "{order}"
        );
        assert_eq!(order["version"], 3, "{order}");
    }
    assert_eq!(
        levels(&app, "SOLAR-6KW").await,
        vec![("EWR".into(), 10, 0), ("RNO".into(), 10, 8)]
    );
    assert_eq!(levels(&app, "BATT-13KWH").await, vec![("RNO".into(), 3, 3)]);
    if app.backend == "postgres" {
        // Stock for all of them: no batch was rolled back, every one was batched.
        let metrics = app.metrics().await;
        let count = |path: &str| {
            metrics
                .lines()
                .find_map(|l| {
                    l.strip_prefix(&format!("orderly_placements_total{{path=\"{path}\"}} "))
                })
                .map(|v| v.trim().parse::<f64>().unwrap())
        };
        assert_eq!(
            (count("batched"), count("single")),
            (Some(8.0), Some(0.0)),
            "{metrics}"
        );
    }

    // Four at once with one idempotency key: one order, stock reserved once.
    let mut keyed = order_input(&w.customer, json!([{ "sku": "EV-48A", "quantity": 2 }]));
    keyed["idempotencyKey"] = json!("checkout-burst");
    let mut handles = Vec::new();
    for _ in 0..4 {
        let (app, input) = (app.clone(), keyed.clone());
        handles.push(tokio::spawn(async move {
            app.staff(PLACE_ORDER, json!({ "input": input })).await
        }));
    }
    let mut ids = std::collections::HashSet::new();
    for handle in handles {
        let body = handle.await.unwrap();
        let id = body["data"]["placeOrder"]["order"]["id"].clone();
        assert!(id.is_string(), "{body}");
        ids.insert(id.as_str().unwrap().to_owned());
    }
    assert_eq!(ids.len(), 1, "one order for one key: {ids:?}");
    assert_eq!(levels(&app, "EV-48A").await, vec![("EWR".into(), 5, 2)]);
}

backend_tests! {
    placing_reserves_stock_routes_to_the_nearest_location_and_records_events => Options::default();
    an_order_no_single_location_can_ship_is_split_across_the_fewest => Options::default();
    declines_shortages_and_bad_input_create_and_reserve_nothing => Options::default();
    customers_order_for_themselves_only => Options::default();
    the_same_idempotency_key_returns_the_same_order => Options::default();
    an_order_goes_from_placement_to_the_door => Options::default();
    illegal_transitions_are_refused_and_change_nothing => Options::default();
    cancelling_releases_stock_voids_payment_and_honours_expected_version => Options::default();
    cancelling_after_part_has_shipped_keeps_the_shipped_part => Options::default();
    carriers_report_delays_and_new_estimates => Options::default();
    manual_payments_wait_and_block_shipping => Options::default();
    partners_need_the_fulfillment_scope => Options::default();
    concurrent_buyers_never_oversell_the_last_units => Options::default();
    orders_placed_at_once_are_each_whole_and_keyed_ones_placed_once => Options::default();
}
