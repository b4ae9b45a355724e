//! Customers: creation, uniqueness, search, `me`, and who may read whom.

use orderly_tests::{Options, TestApp, backend_tests};
use serde_json::json;

const CREATE_CUSTOMER: &str = "mutation($input: CreateCustomerInput!) {
  createCustomer(input: $input) { customer { id email name timeZone } userErrors { field message code } }
}";

async fn create_customer_normalises_email_and_refuses_duplicates(app: TestApp) {
    let body = app
        .staff(CREATE_CUSTOMER, json!({ "input": { "email": " Steven.Boyle@Example.com ", "name": "Steven Boyle", "timeZone": "America/Los_Angeles" } }))
        .await;
    let customer = &body["data"]["createCustomer"]["customer"];
    assert_eq!(customer["email"], "steven.boyle@example.com", "{body}");
    assert_eq!(customer["timeZone"], "America/Los_Angeles");

    let body = app
        .staff(
            CREATE_CUSTOMER,
            json!({ "input": { "email": "STEVEN.BOYLE@example.com", "name": "Impostor" } }),
        )
        .await;
    assert_eq!(
        body["data"]["createCustomer"]["userErrors"],
        json!([{ "field": ["input", "email"], "message": "a customer with this e-mail already exists", "code": "TAKEN" }])
    );

    let body = app
        .staff(
            CREATE_CUSTOMER,
            json!({ "input": { "email": "nope", "name": "", "timeZone": "Mars/Base", "phone": "call me" } }),
        )
        .await;
    let fields: Vec<_> = body["data"]["createCustomer"]["userErrors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].clone())
        .collect();
    assert_eq!(
        fields,
        vec![
            json!(["input", "email"]),
            json!(["input", "name"]),
            json!(["input", "phone"]),
            json!(["input", "timeZone"])
        ],
        "{body}"
    );

    let all = app
        .staff(
            "{ customers(first: 10) { edges { node { email } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        all["data"]["customers"]["edges"].as_array().unwrap().len(),
        1,
        "only the valid customer exists"
    );
}

async fn customers_search_and_me_respect_the_principal(app: TestApp) {
    let body = app
        .staff(
            "{ customers(first: 10, query: \"BOYLE\") { edges { node { name } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        body["data"]["customers"]["edges"],
        json!([{ "node": { "name": "Steven Boyle" } }]),
        "{body}"
    );

    let steven = app.customer_id_by_email("steven.boyle@example.com").await;
    let maria = app.customer_id_by_email("maria.garcia@example.com").await;
    let token = app.customer_token(&steven);

    let me = app
        .as_token(
            &token,
            "{ me { name timeZone orders(first: 50) { edges { node { number } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(me["data"]["me"]["name"], "Steven Boyle", "{me}");
    assert!(
        !me["data"]["me"]["orders"]["edges"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    let other = app
        .as_token(
            &token,
            "query($id: ID!) { customer(id: $id) { name } }",
            json!({ "id": maria }),
        )
        .await;
    assert!(
        other["data"]["customer"].is_null(),
        "another customer looks missing: {other}"
    );

    let listing = app
        .as_token(
            &token,
            "{ customers(first: 5) { edges { node { name } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        listing["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{listing}"
    );

    let staff_me = app.staff("{ me { name } }", json!({})).await;
    assert!(staff_me["data"]["me"].is_null());
}

backend_tests! {
    create_customer_normalises_email_and_refuses_duplicates => Options::default();
    customers_search_and_me_respect_the_principal => Options { seed: true, ..Options::default() };
}
