//! Order notes: internal ones stay with staff and partners — out of customers' notes,
//! history and streams — and customer ones reach the customer.

use orderly_tests::{Options, TestApp, backend_tests, user_errors};
use serde_json::{Value, json};

const ADD_NOTE: &str = "mutation($input: AddOrderNoteInput!) { addOrderNote(input: $input) {
    note { id body visibility author } userErrors { field code message } } }";

const NOTES: &str = "query($id: ID!) { order(id: $id) { version notes { body visibility author } events { type message } } }";

async fn add(app: &TestApp, token: &str, input: Value) -> Value {
    let body = app
        .as_token(token, ADD_NOTE, json!({ "input": input }))
        .await;
    assert!(body["errors"].is_null(), "{body}");
    body["data"]["addOrderNote"].clone()
}

async fn internal_notes_never_reach_the_customer(app: TestApp) {
    let steven = app.customer_id_by_email("steven.boyle@example.com").await;
    let me = app.customer_token(&steven);
    let staff = app.staff_token();
    let order = app
        .as_token(
            &me,
            "{ orders(first: 1) { edges { node { id version } } } }",
            json!({}),
        )
        .await["data"]["orders"]["edges"][0]["node"]
        .clone();
    let id = order["id"].as_str().unwrap().to_owned();
    let mut mine = app
        .subscribe(
            "graphql-transport-ws",
            &me,
            "subscription($id: ID!, $v: Int) { orderUpdated(orderId: $id, afterSequence: $v) { type message } }",
            json!({ "id": id, "v": order["version"] }),
        )
        .await;

    let internal = add(
        &app,
        &staff,
        json!({ "orderId": id, "body": "Customer called twice; VIP" }),
    )
    .await;
    assert_eq!(internal["note"]["visibility"], "INTERNAL", "{internal}");
    let public = add(&app, &staff, json!({ "orderId": id, "body": "Your installer will call ahead", "visibility": "CUSTOMER" })).await;
    assert_eq!(public["note"]["visibility"], "CUSTOMER");
    // A customer's note is always one they can read; the author is "customer".
    let own = add(&app, &me, json!({ "orderId": id, "body": "Please leave it at the side gate", "visibility": "INTERNAL" })).await;
    assert_eq!(own["note"]["visibility"], "CUSTOMER", "{own}");
    assert_eq!(own["note"]["author"], "customer");

    let as_staff = app.staff(NOTES, json!({ "id": id })).await["data"]["order"].clone();
    assert_eq!(as_staff["notes"].as_array().unwrap().len(), 3, "{as_staff}");
    assert_eq!(
        as_staff["version"].as_i64().unwrap(),
        order["version"].as_i64().unwrap() + 3
    );
    let as_customer = app.as_token(&me, NOTES, json!({ "id": id })).await["data"]["order"].clone();
    let bodies: Vec<&str> = as_customer["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["body"].as_str().unwrap())
        .collect();
    assert_eq!(
        bodies,
        [
            "Your installer will call ahead",
            "Please leave it at the side gate"
        ]
    );
    let text = as_customer.to_string();
    assert!(
        !text.contains("VIP") && !text.contains("INTERNAL_NOTE_ADDED"),
        "{text}"
    );

    // The customer's live stream carries the two customer notes, not the internal one.
    let first = mine.next().await;
    assert_eq!(
        first["data"]["orderUpdated"]["message"], "Your installer will call ahead",
        "{first}"
    );
    let second = mine.next().await;
    assert_eq!(
        second["data"]["orderUpdated"]["message"],
        "Please leave it at the side gate"
    );
}

async fn bad_notes_change_nothing(app: TestApp) {
    let steven = app.customer_id_by_email("steven.boyle@example.com").await;
    let priya = app.customer_id_by_email("priya.nair@example.com").await;
    let stranger = app.customer_token(&priya);
    let order = app
        .as_token(
            &app.customer_token(&steven),
            "{ orders(first: 1) { edges { node { id version } } } }",
            json!({}),
        )
        .await["data"]["orders"]["edges"][0]["node"]
        .clone();
    let id = order["id"].clone();
    let staff = app.staff_token();
    for (token, input, code, field) in [
        (
            &staff,
            json!({ "orderId": id, "body": "   " }),
            "INVALID_INPUT",
            json!(["input", "body"]),
        ),
        (
            &staff,
            json!({ "orderId": id, "body": "x".repeat(5_001) }),
            "INVALID_INPUT",
            json!(["input", "body"]),
        ),
        (
            &staff,
            json!({ "orderId": "nope", "body": "hi" }),
            "INVALID_INPUT",
            json!(["input", "orderId"]),
        ),
        (
            &stranger,
            json!({ "orderId": id, "body": "hi" }),
            "NOT_FOUND",
            json!(["input", "orderId"]),
        ),
    ] {
        let payload = add(&app, token, input).await;
        assert_eq!(
            user_errors(&payload),
            vec![(field, code.to_owned())],
            "{payload}"
        );
    }
    // NUL in a note is refused before anything runs.
    let body = app
        .as_token(
            &staff,
            ADD_NOTE,
            json!({ "input": { "orderId": id, "body": "a\u{0}b" } }),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "INVALID_INPUT",
        "{body}"
    );
    let after = app.staff(NOTES, json!({ "id": id })).await["data"]["order"].clone();
    assert_eq!(after["version"], order["version"], "nothing was recorded");
    let notes = after["notes"].as_array().unwrap();
    assert!(notes.iter().all(|n| n["body"] != "hi"), "{after}");
}

backend_tests! {
    internal_notes_never_reach_the_customer => Options { seed: true, ..Options::default() };
    bad_notes_change_nothing => Options { seed: true, ..Options::default() };
}
