//! Catalogue and stock: locations, SKUs, absolute and relative stock changes, and the
//! bad input each one refuses without changing anything.

use orderly::auth::Scope;
use orderly::gid::Kind;
use orderly_tests::{Options, TestApp, backend_tests, error_code, foreign_id, user_errors};
use serde_json::{Value, json};

const CREATE_LOCATION: &str = "mutation($input: CreateLocationInput!) {
  createLocation(input: $input) {
    location { id code name kind shipsTo priority address { city country latitude } }
    userErrors { field message code }
  }
}";
const UPSERT_SKU: &str = "mutation($input: UpsertSkuInput!) {
  upsertSku(input: $input) { sku { id code name price { amount currencyCode } available } userErrors { field message code } }
}";
const SET_INVENTORY: &str = "mutation($input: SetInventoryInput!) {
  setInventory(input: $input) {
    inventoryLevel { onHand reserved available location { code } sku { code } }
    userErrors { field message code }
  }
}";
const ADJUST_INVENTORY: &str = "mutation($input: AdjustInventoryInput!) {
  adjustInventory(input: $input) {
    inventoryLevel { onHand reserved available }
    userErrors { field message code }
  }
}";

async fn location_count(app: &TestApp) -> usize {
    app.staff("{ locations { id } }", json!({})).await["data"]["locations"]
        .as_array()
        .unwrap()
        .len()
}

fn reno() -> Value {
    json!({
        "code": "RNO-2", "name": "Reno Two", "kind": "WAREHOUSE", "shipsTo": ["US", "CA", "US"], "priority": 5,
        "address": { "line1": "1 Dock Rd", "city": "Reno", "region": "NV", "postalCode": "89502", "country": "US",
                     "latitude": 39.5, "longitude": -119.8 }
    })
}

async fn create_location_stores_a_location_and_refuses_bad_input(app: TestApp) {
    let body = app.staff(CREATE_LOCATION, json!({ "input": reno() })).await;
    let location = &body["data"]["createLocation"]["location"];
    assert_eq!(location["code"], "RNO-2", "{body}");
    assert_eq!(location["kind"], "WAREHOUSE");
    assert_eq!(location["shipsTo"], json!(["CA", "US"]));
    assert_eq!(location["address"]["latitude"], 39.5);
    assert_eq!(user_errors(&body["data"]["createLocation"]), vec![]);

    let duplicate = app.staff(CREATE_LOCATION, json!({ "input": reno() })).await;
    assert_eq!(
        user_errors(&duplicate["data"]["createLocation"]),
        vec![(json!(["input", "code"]), "TAKEN".to_owned())]
    );
    assert!(duplicate["data"]["createLocation"]["location"].is_null());

    let mut bad = reno();
    bad["code"] = json!("NEW SITE!");
    bad["address"]["country"] = json!("XX");
    bad["address"]["latitude"] = json!(123.0);
    bad["shipsTo"] = json!(["usa"]);
    bad["priority"] = json!(5000);
    let body = app.staff(CREATE_LOCATION, json!({ "input": bad })).await;
    let fields: Vec<Value> = user_errors(&body["data"]["createLocation"])
        .into_iter()
        .map(|(f, _)| f)
        .collect();
    for expected in [
        json!(["input", "code"]),
        json!(["input", "address", "latitude"]),
        json!(["input", "shipsTo"]),
        json!(["input", "priority"]),
    ] {
        assert!(fields.contains(&expected), "missing {expected} in {body}");
    }
    assert!(
        user_errors(&body["data"]["createLocation"])
            .iter()
            .all(|(_, code)| code == "INVALID_INPUT")
    );
    assert_eq!(
        location_count(&app).await,
        1,
        "refused input must change nothing"
    );
}

async fn upsert_sku_creates_then_updates_by_code_and_checks_money(app: TestApp) {
    let input = json!({ "code": "SOLAR-6KW", "name": "6 kW Solar Array Kit",
                        "price": { "amount": "8999.00", "currencyCode": "USD" }, "weightGrams": 310000 });
    let body = app.staff(UPSERT_SKU, json!({ "input": input })).await;
    let sku = &body["data"]["upsertSku"]["sku"];
    assert_eq!(
        sku["price"],
        json!({ "amount": "8999.00", "currencyCode": "USD" }),
        "{body}"
    );
    let id = sku["id"].clone();

    let body = app
        .staff(UPSERT_SKU, json!({ "input": { "code": "SOLAR-6KW", "name": "6 kW Solar Kit", "price": { "amount": "8499.5", "currencyCode": "USD" } } }))
        .await;
    let sku = &body["data"]["upsertSku"]["sku"];
    assert_eq!(sku["id"], id, "same code, same SKU");
    assert_eq!(sku["name"], "6 kW Solar Kit");
    assert_eq!(sku["price"]["amount"], "8499.50");

    for (amount, currency, field) in [
        ("1.234", "USD", json!(["input", "price", "amount"])),
        ("-5", "USD", json!(["input", "price", "amount"])),
        ("12", "usd", json!(["input", "price", "currencyCode"])),
        ("12", "XYZ", json!(["input", "price", "currencyCode"])),
        ("1e5", "USD", json!(["input", "price", "amount"])),
    ] {
        let body = app
            .staff(UPSERT_SKU, json!({ "input": { "code": "BAD", "name": "Bad", "price": { "amount": amount, "currencyCode": currency } } }))
            .await;
        assert_eq!(
            user_errors(&body["data"]["upsertSku"]),
            vec![(field, "INVALID_INPUT".to_owned())],
            "{amount} {currency}: {body}"
        );
    }
    let missing = app.staff("{ sku(code: \"BAD\") { id } }", json!({})).await;
    assert!(
        missing["data"]["sku"].is_null(),
        "refused SKUs are not created"
    );
}

async fn stock_is_set_and_adjusted_with_clear_errors(app: TestApp) {
    let location = app.create_location("RNO-WH", "US").await;
    app.staff(UPSERT_SKU, json!({ "input": { "code": "EV-48A", "name": "EV Charger", "price": { "amount": "599", "currencyCode": "USD" } } }))
        .await;

    let body = app
        .staff(
            SET_INVENTORY,
            json!({ "input": { "skuCode": "EV-48A", "locationId": location, "onHand": 40 } }),
        )
        .await;
    let level = &body["data"]["setInventory"]["inventoryLevel"];
    assert_eq!(level["onHand"], 40, "{body}");
    assert_eq!(level["available"], 40);
    assert_eq!(level["location"]["code"], "RNO-WH");

    let body = app
        .staff(ADJUST_INVENTORY, json!({ "input": { "skuCode": "EV-48A", "locationId": location, "delta": -15, "reason": "damaged in transit" } }))
        .await;
    assert_eq!(
        body["data"]["adjustInventory"]["inventoryLevel"]["onHand"], 25,
        "{body}"
    );

    let cases = [
        (
            SET_INVENTORY,
            "setInventory",
            json!({ "skuCode": "NOPE", "locationId": location, "onHand": 1 }),
            json!(["input", "skuCode"]),
            "NOT_FOUND",
        ),
        (
            SET_INVENTORY,
            "setInventory",
            json!({ "skuCode": "EV-48A", "locationId": foreign_id(Kind::Location, 999), "onHand": 1 }),
            json!(["input", "locationId"]),
            "NOT_FOUND",
        ),
        (
            SET_INVENTORY,
            "setInventory",
            json!({ "skuCode": "EV-48A", "locationId": "not-an-id", "onHand": 1 }),
            json!(["input", "locationId"]),
            "INVALID_INPUT",
        ),
        (
            SET_INVENTORY,
            "setInventory",
            json!({ "skuCode": "EV-48A", "locationId": foreign_id(Kind::Order, 1), "onHand": 1 }),
            json!(["input", "locationId"]),
            "INVALID_INPUT",
        ),
        (
            SET_INVENTORY,
            "setInventory",
            json!({ "skuCode": "EV-48A", "locationId": location, "onHand": -1 }),
            json!(["input", "onHand"]),
            "INVALID_INPUT",
        ),
        (
            ADJUST_INVENTORY,
            "adjustInventory",
            json!({ "skuCode": "EV-48A", "locationId": location, "delta": -26, "reason": "count" }),
            json!(["input", "delta"]),
            "INVALID_INPUT",
        ),
        (
            ADJUST_INVENTORY,
            "adjustInventory",
            json!({ "skuCode": "EV-48A", "locationId": location, "delta": 0, "reason": "count" }),
            json!(["input", "delta"]),
            "INVALID_INPUT",
        ),
        (
            ADJUST_INVENTORY,
            "adjustInventory",
            json!({ "skuCode": "EV-48A", "locationId": location, "delta": 5, "reason": " " }),
            json!(["input", "reason"]),
            "INVALID_INPUT",
        ),
    ];
    for (query, mutation, input, field, code) in cases {
        let body = app.staff(query, json!({ "input": input.clone() })).await;
        assert_eq!(
            user_errors(&body["data"][mutation]),
            vec![(field, code.to_owned())],
            "{input}: {body}"
        );
        assert!(body["data"][mutation]["inventoryLevel"].is_null());
    }
    let sku = app
        .staff(
            "{ sku(code: \"EV-48A\") { available inventoryLevels { onHand } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        sku["data"]["sku"]["available"], 25,
        "refused changes left stock alone: {sku}"
    );
}

async fn on_hand_cannot_drop_below_reserved_stock(app: TestApp) {
    // The demo data has orders waiting to ship from Newark: their units are reserved.
    let locations = app.staff("{ locations { id code } }", json!({})).await;
    let newark = locations["data"]["locations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["code"] == "EWR-WH")
        .unwrap()["id"]
        .clone();
    let body = app
        .staff(
            "{ sku(code: \"EV-48A\") { inventoryLevels { location { code } onHand reserved } } }",
            json!({}),
        )
        .await;
    let level = body["data"]["sku"]["inventoryLevels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["location"]["code"] == "EWR-WH")
        .unwrap()
        .clone();
    let reserved = level["reserved"].as_i64().unwrap();
    assert!(reserved > 0, "demo data reserves stock at Newark: {body}");

    let body = app
        .staff(SET_INVENTORY, json!({ "input": { "skuCode": "EV-48A", "locationId": newark, "onHand": reserved - 1 } }))
        .await;
    assert_eq!(
        user_errors(&body["data"]["setInventory"]),
        vec![(json!(["input", "onHand"]), "INVALID_INPUT".to_owned())],
        "{body}"
    );
    let body = app
        .staff(
            SET_INVENTORY,
            json!({ "input": { "skuCode": "EV-48A", "locationId": newark, "onHand": reserved } }),
        )
        .await;
    assert_eq!(
        body["data"]["setInventory"]["inventoryLevel"]["available"], 0,
        "{body}"
    );
}

async fn catalogue_changes_need_staff_or_the_inventory_scope(app: TestApp) {
    let input = json!({ "input": { "code": "X1", "name": "X", "price": { "amount": "1.00", "currencyCode": "USD" } } });
    let reader = app.partner_token(&[Scope::OrdersRead]);
    let body = app.as_token(&reader, UPSERT_SKU, input.clone()).await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{body}"
    );
    let writer = app.partner_token(&[Scope::InventoryWrite]);
    let body = app.as_token(&writer, UPSERT_SKU, input).await;
    assert_eq!(body["data"]["upsertSku"]["sku"]["code"], "X1", "{body}");
}

async fn the_catalogue_pages_in_creation_order_and_searches(app: TestApp) {
    for (code, price) in [
        ("PANEL-1", "10.00"),
        ("PANEL-2", "20.00"),
        ("CABLE-1", "3.00"),
    ] {
        app.upsert_sku(code, price).await;
    }
    const SKUS: &str = "query($first: Int, $after: String, $query: String) {
        skus(first: $first, after: $after, query: $query) {
            nodes { code } pageInfo { hasNextPage endCursor }
        }
    }";
    let codes = |body: &Value| -> Vec<String> {
        body["data"]["skus"]["nodes"]
            .as_array()
            .unwrap_or_else(|| panic!("{body}"))
            .iter()
            .map(|n| n["code"].as_str().unwrap().to_owned())
            .collect()
    };
    let page = app.staff(SKUS, json!({ "first": 2 })).await;
    assert_eq!(codes(&page), ["PANEL-1", "PANEL-2"], "{page}");
    assert_eq!(page["data"]["skus"]["pageInfo"]["hasNextPage"], true);
    let after = page["data"]["skus"]["pageInfo"]["endCursor"].clone();
    let rest = app.staff(SKUS, json!({ "first": 2, "after": after })).await;
    assert_eq!(codes(&rest), ["CABLE-1"], "{rest}");
    assert_eq!(rest["data"]["skus"]["pageInfo"]["hasNextPage"], false);
    // Code or name, any case; customers may read the catalogue too.
    let customer = app
        .create_customer("cat@example.com", "Cat", "Europe/Oslo")
        .await;
    let found = app
        .as_token(
            &app.customer_token(&customer),
            SKUS,
            json!({ "query": "panel-2" }),
        )
        .await;
    assert_eq!(codes(&found), ["PANEL-2"], "{found}");
    let bad = app.staff(SKUS, json!({ "first": 101 })).await;
    assert_eq!(error_code(&bad), "INVALID_INPUT", "{bad}");
    let bad = app.staff(SKUS, json!({ "after": "not-a-cursor" })).await;
    assert_eq!(error_code(&bad), "INVALID_INPUT", "{bad}");
    let (_, body) = app.post(None, SKUS, json!({})).await;
    assert_eq!(error_code(&body), "UNAUTHENTICATED", "{body}");
}

backend_tests! {
    create_location_stores_a_location_and_refuses_bad_input => Options::default();
    upsert_sku_creates_then_updates_by_code_and_checks_money => Options::default();
    stock_is_set_and_adjusted_with_clear_errors => Options::default();
    on_hand_cannot_drop_below_reserved_stock => Options { seed: true, ..Options::default() };
    catalogue_changes_need_staff_or_the_inventory_scope => Options::default();
    the_catalogue_pages_in_creation_order_and_searches => Options::default();
}
