//! The customer's side after the sale: their profile and saved addresses, ordering to a
//! saved address, and "buy it again".

use orderly_tests::{Options, TestApp, backend_tests, user_errors};
use serde_json::{Value, json};

async fn run(
    app: &TestApp,
    token: &str,
    mutation: &str,
    input_type: &str,
    fields: &str,
    input: Value,
) -> Value {
    let query = format!(
        "mutation($input: {input_type}!) {{ result: {mutation}(input: $input) {{ {fields} userErrors {{ field code message }} }} }}"
    );
    let body = app.as_token(token, &query, json!({ "input": input })).await;
    assert!(body["errors"].is_null(), "{mutation}: {body}");
    body["data"]["result"].clone()
}

const PROFILE: &str = "customer { name phone timeZone notifyByEmail notifyBySms version
    addresses { id label isDefault address { city country } } defaultAddress { label } }";
const ME: &str = "{ me { defaultAddress { label } addresses { id } } }";

async fn customers_keep_their_profile_and_addresses(app: TestApp) {
    let ana = app
        .create_customer("ana@example.com", "Ana Ruiz", "UTC")
        .await;
    let bo = app
        .create_customer("bo@example.com", "Bo Lind", "UTC")
        .await;
    let me = app.customer_token(&ana);
    let other = app.customer_token(&bo);

    let updated = run(&app, &me, "updateCustomer", "UpdateCustomerInput", PROFILE, json!({
        "name": "Ana María Ruiz", "phone": "+1 (415) 555-0100", "timeZone": "America/Los_Angeles", "notifyBySms": true,
    })).await;
    assert_eq!(user_errors(&updated), vec![], "{updated}");
    let c = &updated["customer"];
    assert_eq!(c["name"], "Ana María Ruiz");
    assert_eq!(c["timeZone"], "America/Los_Angeles");
    assert_eq!(
        (c["notifyByEmail"].as_bool(), c["notifyBySms"].as_bool()),
        (Some(true), Some(true))
    );
    assert_eq!(c["version"], 2);

    // Bad input and someone else's profile change nothing.
    for (token, input, field, code) in [
        (
            &me,
            json!({ "timeZone": "Mars/Olympus" }),
            json!(["input", "timeZone"]),
            "INVALID_INPUT",
        ),
        (
            &me,
            json!({ "phone": "call me maybe" }),
            json!(["input", "phone"]),
            "INVALID_INPUT",
        ),
        (
            &me,
            json!({ "name": "  " }),
            json!(["input", "name"]),
            "INVALID_INPUT",
        ),
        (
            &other,
            json!({ "customerId": ana, "name": "Mallory" }),
            json!(["input", "customerId"]),
            "NOT_FOUND",
        ),
    ] {
        let refused = run(
            &app,
            token,
            "updateCustomer",
            "UpdateCustomerInput",
            PROFILE,
            input,
        )
        .await;
        assert_eq!(
            user_errors(&refused),
            vec![(field, code.to_owned())],
            "{refused}"
        );
    }
    let address = |city: &str, country: &str| json!({ "line1": "1 Main St", "city": city, "postalCode": "94123", "country": country });
    let home = run(
        &app,
        &me,
        "addCustomerAddress",
        "AddCustomerAddressInput",
        &format!("address {{ id isDefault }} {PROFILE}"),
        json!({ "address": address("San Francisco", "US"), "label": "Home" }),
    )
    .await;
    assert_eq!(
        home["address"]["isDefault"], true,
        "the first address is the default: {home}"
    );
    let office = run(
        &app,
        &me,
        "addCustomerAddress",
        "AddCustomerAddressInput",
        &format!("address {{ id isDefault }} {PROFILE}"),
        json!({ "address": address("Oakland", "US"), "label": "Office", "makeDefault": true }),
    )
    .await;
    let c = &office["customer"];
    assert_eq!(c["defaultAddress"]["label"], "Office", "{office}");
    let defaults: Vec<bool> = c["addresses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["isDefault"].as_bool().unwrap())
        .collect();
    assert_eq!(defaults, [false, true], "one default: {office}");
    let bad = run(
        &app,
        &me,
        "addCustomerAddress",
        "AddCustomerAddressInput",
        "address { id }",
        json!({ "address": address("Nowhere", "XX") }),
    )
    .await;
    assert_eq!(
        user_errors(&bad),
        vec![(
            json!(["input", "address", "country"]),
            "INVALID_INPUT".to_owned()
        )],
        "{bad}"
    );
    let foreign = run(
        &app,
        &other,
        "deleteCustomerAddress",
        "DeleteCustomerAddressInput",
        "customer { id }",
        json!({ "addressId": office["address"]["id"] }),
    )
    .await;
    assert_eq!(user_errors(&foreign)[0].1, "NOT_FOUND", "{foreign}");

    // Deleting the default makes the newest remaining one the default.
    let deleted = run(
        &app,
        &me,
        "deleteCustomerAddress",
        "DeleteCustomerAddressInput",
        PROFILE,
        json!({ "addressId": office["address"]["id"] }),
    )
    .await;
    assert_eq!(user_errors(&deleted), vec![], "{deleted}");
    let me_now = app.as_token(&me, ME, json!({})).await;
    assert_eq!(
        me_now["data"]["me"]["defaultAddress"]["label"], "Home",
        "{me_now}"
    );
    assert_eq!(
        me_now["data"]["me"]["addresses"].as_array().unwrap().len(),
        1
    );
}

const PLACED: &str = "order { id number total { amount } shippingAddress { city } lines { quantity unitPrice { amount } sku { code } } }";

async fn world(app: &TestApp) -> (String, String, String) {
    let reno = app.create_location("RNO", "US").await;
    app.upsert_sku("PANEL", "100.00").await;
    app.upsert_sku("CABLE", "10.00").await;
    app.set_stock(&reno, "PANEL", 5).await;
    app.set_stock(&reno, "CABLE", 5).await;
    let ana = app
        .create_customer("ana@example.com", "Ana Ruiz", "America/Los_Angeles")
        .await;
    (reno, ana.clone(), app.customer_token(&ana))
}

async fn orders_go_to_saved_addresses_and_can_be_bought_again(app: TestApp) {
    let (reno, _ana, me) = world(&app).await;
    let saved = run(&app, &me, "addCustomerAddress", "AddCustomerAddressInput", "address { id }",
        json!({ "address": { "line1": "9 Pier", "city": "Sausalito", "postalCode": "94965", "country": "US" } })).await;
    let saved_id = saved["address"]["id"].clone();
    let placed = run(
        &app,
        &me,
        "placeOrder",
        "PlaceOrderInput",
        PLACED,
        json!({
            "lines": [{ "sku": "PANEL", "quantity": 2 }, { "sku": "CABLE", "quantity": 1 }],
            "shippingAddressId": saved_id, "payment": { "provider": "test", "token": "tok_visa" },
        }),
    )
    .await;
    assert_eq!(user_errors(&placed), vec![], "{placed}");
    assert_eq!(placed["order"]["shippingAddress"]["city"], "Sausalito");
    let first = placed["order"]["id"].clone();

    // Someone else's saved address, or neither kind of address, is refused.
    let bo = app.create_customer("bo@example.com", "Bo", "UTC").await;
    let theirs = run(
        &app,
        &app.customer_token(&bo),
        "placeOrder",
        "PlaceOrderInput",
        PLACED,
        json!({
            "lines": [{ "sku": "CABLE", "quantity": 1 }], "shippingAddressId": saved_id,
            "payment": { "provider": "test", "token": "tok_visa" },
        }),
    )
    .await;
    assert_eq!(
        user_errors(&theirs),
        vec![(
            json!(["input", "shippingAddressId"]),
            "NOT_FOUND".to_owned()
        )]
    );
    let neither = run(&app, &me, "placeOrder", "PlaceOrderInput", PLACED, json!({
        "lines": [{ "sku": "CABLE", "quantity": 1 }], "payment": { "provider": "test", "token": "tok_visa" },
    })).await;
    assert_eq!(user_errors(&neither)[0].1, "INVALID_INPUT", "{neither}");

    // Buy it again, at today's price, to the same place.
    app.upsert_sku("PANEL", "90.00").await;
    let again = run(&app, &me, "reorder", "ReorderInput", PLACED, json!({
        "orderId": first, "payment": { "provider": "test", "token": "tok_visa" }, "idempotencyKey": "again-1",
    })).await;
    assert_eq!(user_errors(&again), vec![], "{again}");
    let order = &again["order"];
    assert_ne!(order["id"], first);
    assert_eq!(order["shippingAddress"]["city"], "Sausalito");
    assert_eq!(order["lines"][0]["unitPrice"]["amount"], "90.00", "{again}");
    assert_eq!(order["lines"][0]["quantity"], 2);
    let replay = run(&app, &me, "reorder", "ReorderInput", PLACED, json!({
        "orderId": first, "payment": { "provider": "test", "token": "tok_visa" }, "idempotencyKey": "again-1",
    })).await;
    assert_eq!(replay["order"]["id"], order["id"], "same key, same order");

    // A card is not kept: say how to pay.
    let unpaid = run(
        &app,
        &me,
        "reorder",
        "ReorderInput",
        PLACED,
        json!({ "orderId": first }),
    )
    .await;
    assert_eq!(
        user_errors(&unpaid),
        vec![(json!(["input", "payment"]), "INVALID_INPUT".to_owned())]
    );

    // Short of both lines: one UNAVAILABLE per line, nothing placed, no stock moved.
    // (Two orders hold 4 panels and 2 cables: 1 panel and no cable are left.)
    app.set_stock(&reno, "PANEL", 5).await;
    app.set_stock(&reno, "CABLE", 2).await;
    let before = order_count(&app, &me).await;
    let short = run(
        &app,
        &me,
        "reorder",
        "ReorderInput",
        PLACED,
        json!({
            "orderId": first, "payment": { "provider": "test", "token": "tok_visa" },
        }),
    )
    .await;
    assert_eq!(
        user_errors(&short),
        vec![
            (json!(["input", "lines", "0"]), "UNAVAILABLE".to_owned()),
            (json!(["input", "lines", "1"]), "UNAVAILABLE".to_owned()),
        ],
        "{short}"
    );
    assert!(short["order"].is_null());
    assert_eq!(order_count(&app, &me).await, before, "nothing was placed");
    let stock = app
        .staff(
            "{ sku(code: \"PANEL\") { inventoryLevels { onHand reserved } } }",
            json!({}),
        )
        .await;
    let level = &stock["data"]["sku"]["inventoryLevels"][0];
    assert_eq!(
        (level["onHand"].as_i64(), level["reserved"].as_i64()),
        (Some(5), Some(4)),
        "nothing reserved: {stock}"
    );

    // Someone else's order cannot be reordered.
    let foreign = run(
        &app,
        &app.customer_token(&bo),
        "reorder",
        "ReorderInput",
        PLACED,
        json!({
            "orderId": first, "payment": { "provider": "test", "token": "tok_visa" },
        }),
    )
    .await;
    assert_eq!(
        user_errors(&foreign),
        vec![(json!(["input", "orderId"]), "NOT_FOUND".to_owned())]
    );
}

async fn order_count(app: &TestApp, token: &str) -> usize {
    let body = app
        .as_token(
            token,
            "{ orders(first: 50) { edges { node { id } } } }",
            json!({}),
        )
        .await;
    body["data"]["orders"]["edges"].as_array().unwrap().len()
}

backend_tests! {
    customers_keep_their_profile_and_addresses => Options::default();
    orders_go_to_saved_addresses_and_can_be_bought_again => Options::default();
}
