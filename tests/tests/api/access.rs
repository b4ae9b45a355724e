//! The authorisation matrix: every root field (and the nested edges that carry their own
//! rule) run as anonymous, customer A (the owner), customer B, a partner with the scope
//! the rule names, a partner with every other scope, and staff. Someone else's order
//! must look exactly like a missing one. A root field without a case here fails the test.

use std::collections::BTreeSet;
use std::time::Duration;

use futures_util::SinkExt;
use orderly::auth::Scope;
use orderly_tests::{Handshake, Options, TestApp, backend_tests, next_frame};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

/// What a principal saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    /// Refused: sign in (`UNAUTHENTICATED`, or a WebSocket closed with 4401).
    Unauth,
    /// Refused: not allowed (`FORBIDDEN`).
    Forbidden,
    /// Looks missing: null, `[null]`, or `NOT_FOUND`.
    Missing,
    /// Let through (data, or a business `userErrors` such as `VERSION_CONFLICT`).
    Allowed,
}
use Seen::{Allowed as A, Forbidden as F, Missing as M, Unauth as U};

/// The principals of the matrix, in column order.
const WHO: [&str; 6] = [
    "anonymous",
    "customer A",
    "customer B",
    "partner with scope",
    "partner without",
    "staff",
];

/// One row: a field, the operation that reaches it, where its value is, the scope a
/// partner needs (`None`: any signed-in principal), and what each principal must see.
struct Case {
    field: &'static str,
    op: String,
    path: &'static [&'static str],
    scope: Option<Scope>,
    expect: [Seen; 6],
}

/// The demo objects the matrix runs against.
struct World {
    customer_a: String,
    customer_b: String,
    order_a: String,
    number_a: String,
    fulfillment_a: String,
    location: String,
    sku: String,
    line_a: String,
    return_a: String,
}

async fn world(app: &TestApp) -> World {
    let body = app
        .staff(
            "{ customers(first: 20) { edges { node { id orders(first: 1) { edges { node {
                id number fulfillmentOrders { id location { id } } lines { id sku { code } } } } } } } } }",
            json!({}),
        )
        .await;
    let with_orders: Vec<&Value> = body["data"]["customers"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["node"]["orders"]["edges"]
                .as_array()
                .is_some_and(|o| !o.is_empty())
        })
        .collect();
    assert!(
        with_orders.len() >= 2,
        "demo data has customers with orders: {body}"
    );
    let a = &with_orders[0]["node"];
    let order = &a["orders"]["edges"][0]["node"];
    let returns = app
        .staff(
            "query($c: ID!) { returns(customerId: $c, first: 1) { edges { node { id } } } }",
            json!({ "c": a["id"] }),
        )
        .await;
    let return_a = returns["data"]["returns"]["edges"][0]["node"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("demo customer A has a return: {returns}"))
        .to_owned();
    World {
        line_a: order["lines"][0]["id"].as_str().unwrap().to_owned(),
        return_a,
        customer_a: a["id"].as_str().unwrap().to_owned(),
        customer_b: with_orders[1]["node"]["id"].as_str().unwrap().to_owned(),
        order_a: order["id"].as_str().unwrap().to_owned(),
        number_a: order["number"].as_str().unwrap().to_owned(),
        fulfillment_a: order["fulfillmentOrders"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned(),
        location: order["fulfillmentOrders"][0]["location"]["id"]
            .as_str()
            .unwrap()
            .to_owned(),
        sku: order["lines"][0]["sku"]["code"]
            .as_str()
            .unwrap()
            .to_owned(),
    }
}

fn cases(w: &World) -> Vec<Case> {
    let (oa, ca, fa, loc, sku, num) = (
        &w.order_a,
        &w.customer_a,
        &w.fulfillment_a,
        &w.location,
        &w.sku,
        &w.number_a,
    );
    let (ra, la) = (&w.return_a, &w.line_a);
    let case = |field, op: String, path, scope, expect| Case {
        field,
        op,
        path,
        scope,
        expect,
    };
    let fo_step = |field: &'static str, name: &str| {
        case(
            field,
            format!(
                r#"mutation {{ {name}(input: {{ fulfillmentOrderId: "{fa}", expectedVersion: -1 }}) {{ fulfillmentOrder {{ id }} userErrors {{ code }} }} }}"#
            ),
            &[],
            Some(Scope::FulfillmentWrite),
            [U, F, F, A, F, A],
        )
    };
    vec![
        // Queries.
        case("Query.node", format!(r#"{{ node(id: "{oa}") {{ id }} }}"#), &["node"], Some(Scope::OrdersRead), [U, A, M, A, M, A]),
        case("Query.nodes", format!(r#"{{ nodes(ids: ["{oa}"]) {{ id }} }}"#), &["nodes"], Some(Scope::OrdersRead), [U, A, M, A, M, A]),
        case("Query.order", format!(r#"{{ order(id: "{oa}") {{ id }} }}"#), &["order"], Some(Scope::OrdersRead), [U, A, M, A, F, A]),
        case("Query.orderByNumber", format!(r#"{{ orderByNumber(number: "{num}") {{ id }} }}"#), &["orderByNumber"], Some(Scope::OrdersRead), [U, A, M, A, F, A]),
        case("Query.orders", "{ orders(first: 5) { edges { node { id } } } }".into(), &["orders"], Some(Scope::OrdersRead), [U, A, A, A, F, A]),
        case("Query.customer", format!(r#"{{ customer(id: "{ca}") {{ id }} }}"#), &["customer"], Some(Scope::CustomersRead), [U, A, M, A, A, A]),
        // (orders:read also reads the customers of orders, as Order.customer does.)
        case("Query.customers", "{ customers(first: 5) { edges { node { id } } } }".into(), &["customers"], Some(Scope::CustomersRead), [U, F, F, A, F, A]),
        case("Query.me", "{ me { id } }".into(), &["me"], None, [U, A, A, M, M, M]),
        case("Query.locations", "{ locations { id } }".into(), &["locations"], None, [U, A, A, A, A, A]),
        case("Query.sku", format!(r#"{{ sku(code: "{sku}") {{ code available }} }}"#), &["sku"], None, [U, A, A, A, A, A]),
        case("Query.skus", "{ skus(first: 2) { nodes { code } } }".into(), &["skus"], None, [U, A, A, A, A, A]),
        case("Query.fulfillmentOrders", "{ fulfillmentOrders(first: 5) { edges { node { id } } } }".into(), &["fulfillmentOrders"], Some(Scope::FulfillmentWrite), [U, F, F, A, F, A]),
        case("Query.return", format!(r#"{{ return(id: "{ra}") {{ id }} }}"#), &["return"], Some(Scope::OrdersRead), [U, A, M, A, F, A]),
        // (customer B sees an empty list of their own, not A's)
        case("Query.returns", "{ returns(first: 5) { edges { node { id } } } }".into(), &["returns"], Some(Scope::OrdersRead), [U, A, A, A, F, A]),
        case("Query.channels", "{ channels { code } }".into(), &["channels"], None, [U, A, A, A, A, A]),
        case("Query.channelSummary", r#"{ channelSummary(from: "2026-01-01", to: "2026-01-02") { orders } }"#.into(), &["channelSummary"], Some(Scope::OrdersRead), [U, F, F, A, F, A]),
        case("Query.webhookSubscriptions", "{ webhookSubscriptions(first: 5) { edges { node { id } } } }".into(), &["webhookSubscriptions"], Some(Scope::WebhooksWrite), [U, F, F, A, F, A]),
        case("Query.webhookDeliveries", "{ webhookDeliveries(first: 5) { edges { node { id } } } }".into(), &["webhookDeliveries"], Some(Scope::WebhooksWrite), [U, F, F, A, F, A]),
        // (customer B sees an empty list of their own)
        case("Query.notifications", "{ notifications(first: 5) { edges { node { id } } } }".into(), &["notifications"], Some(Scope::CustomersRead), [U, A, A, A, F, A]),
        case("Query.apiKeys", "{ apiKeys { id } }".into(), &["apiKeys"], Some(Scope::OrdersRead), [U, F, F, F, F, A]),
        // Nested edges with rules of their own.
        case("Order.customer", format!(r#"{{ order(id: "{oa}") {{ customer {{ id }} }} }}"#), &["order", "customer"], Some(Scope::OrdersRead), [U, A, M, A, F, A]),
        case("Customer.orders", format!(r#"{{ customer(id: "{ca}") {{ orders(first: 5) {{ edges {{ node {{ id }} }} }} }} }}"#), &["customer", "orders"], Some(Scope::OrdersRead), [U, A, M, A, F, A]),
        case("Sku.inventoryLevels", format!(r#"{{ sku(code: "{sku}") {{ inventoryLevels {{ onHand }} }} }}"#), &["sku", "inventoryLevels"], Some(Scope::InventoryRead), [U, F, F, A, F, A]),
        case("Node.FulfillmentOrder", format!(r#"{{ node(id: "{fa}") {{ id }} }}"#), &["node"], Some(Scope::FulfillmentWrite), [U, A, M, A, A, A]),
        // (orders:read, which the partner without fulfillment:write holds, grants it too)
        case("FulfillmentOrder.order", format!(r#"{{ node(id: "{fa}") {{ ... on FulfillmentOrder {{ order {{ id }} }} }} }}"#), &["node", "order"], Some(Scope::OrdersRead), [U, A, M, A, A, A]),
        // (the partner without orders:read holds fulfillment:write, and those who fulfil
        // see the fulfilment orders they ship and the orders they belong to)
        // Mutations: probes that pass the gate change nothing (stale expectedVersion or
        // invalid input), so every principal meets the same state.
        case("Mutation.placeOrder", format!(r#"mutation {{ placeOrder(input: {{ customerId: "{ca}", lines: [], shippingAddress: {{ line1: "1 A St", city: "Reno", postalCode: "89502", country: "US" }}, payment: {{ provider: "test" }} }}) {{ order {{ id }} userErrors {{ code }} }} }}"#), &[], Some(Scope::OrdersWrite), [U, A, A, A, F, A]),
        case("Mutation.cancelOrder", format!(r#"mutation {{ cancelOrder(input: {{ orderId: "{oa}", expectedVersion: -1 }}) {{ order {{ id }} userErrors {{ code }} }} }}"#), &[], Some(Scope::OrdersWrite), [U, A, M, A, F, A]),
        fo_step("Mutation.startPicking", "startPicking"),
        fo_step("Mutation.markPacked", "markPacked"),
        case("Mutation.shipFulfillmentOrder", format!(r#"mutation {{ shipFulfillmentOrder(input: {{ fulfillmentOrderId: "{fa}", carrier: "UPS", trackingNumber: "1Z", expectedVersion: -1 }}) {{ userErrors {{ code }} }} }}"#), &[], Some(Scope::FulfillmentWrite), [U, F, F, A, F, A]),
        case("Mutation.recordDeliveryEvent", format!(r#"mutation {{ recordDeliveryEvent(input: {{ fulfillmentOrderId: "{fa}", status: IN_TRANSIT, expectedVersion: -1 }}) {{ userErrors {{ code }} }} }}"#), &[], Some(Scope::FulfillmentWrite), [U, F, F, A, F, A]),
        case("Mutation.adjustInventory", format!(r#"mutation {{ adjustInventory(input: {{ skuCode: "{sku}", locationId: "{loc}", delta: 0, reason: "" }}) {{ userErrors {{ code }} }} }}"#), &[], Some(Scope::InventoryWrite), [U, F, F, A, F, A]),
        case("Mutation.setInventory", format!(r#"mutation {{ setInventory(input: {{ skuCode: "{sku}", locationId: "{loc}", onHand: -1 }}) {{ userErrors {{ code }} }} }}"#), &[], Some(Scope::InventoryWrite), [U, F, F, A, F, A]),
        case("Mutation.upsertSku", r#"mutation { upsertSku(input: { code: "", name: "", price: { amount: "-1", currencyCode: "USD" } }) { userErrors { code } } }"#.into(), &[], Some(Scope::InventoryWrite), [U, F, F, A, F, A]),
        case("Mutation.createLocation", r#"mutation { createLocation(input: { code: "", name: "", shipsTo: [], address: { line1: "", city: "", postalCode: "", country: "US" } }) { userErrors { code } } }"#.into(), &[], Some(Scope::InventoryWrite), [U, F, F, A, F, A]),
        case("Mutation.createCustomer", r#"mutation { createCustomer(input: { email: "not-an-email", name: "" }) { userErrors { code } } }"#.into(), &[], Some(Scope::CustomersWrite), [U, F, F, A, F, A]),
        // Post-purchase: probes fail after the gate (too many units, stale version, zero
        // amounts), so nothing changes.
        case("Mutation.requestReturn", format!(r#"mutation {{ requestReturn(input: {{ orderId: "{oa}", lines: [{{ orderLineId: "{la}", quantity: 10000, reason: OTHER }}] }}) {{ return {{ id }} userErrors {{ code }} }} }}"#), &[], Some(Scope::OrdersWrite), [U, A, M, A, F, A]),
        case("Mutation.approveReturn", format!(r#"mutation {{ approveReturn(input: {{ returnId: "{ra}", expectedVersion: -1 }}) {{ userErrors {{ code }} }} }}"#), &[], Some(Scope::OrdersWrite), [U, F, F, A, F, A]),
        case("Mutation.declineReturn", format!(r#"mutation {{ declineReturn(input: {{ returnId: "{ra}", expectedVersion: -1, reason: "no" }}) {{ userErrors {{ code }} }} }}"#), &[], Some(Scope::OrdersWrite), [U, F, F, A, F, A]),
        case("Mutation.recordReturnShipment", format!(r#"mutation {{ recordReturnShipment(input: {{ returnId: "{ra}", carrier: "UPS", trackingNumber: "1Z", expectedVersion: -1 }}) {{ userErrors {{ code }} }} }}"#), &[], Some(Scope::OrdersWrite), [U, A, M, A, F, A]),
        case("Mutation.receiveReturn", format!(r#"mutation {{ receiveReturn(input: {{ returnId: "{ra}", expectedVersion: -1, lines: [] }}) {{ userErrors {{ code }} }} }}"#), &[], Some(Scope::OrdersWrite), [U, F, F, A, F, A]),
        case("Mutation.refundOrder", format!(r#"mutation {{ refundOrder(input: {{ orderId: "{oa}", amount: {{ amount: "0.00", currencyCode: "USD" }}, reason: "probe" }}) {{ userErrors {{ code }} }} }}"#), &[], Some(Scope::OrdersWrite), [U, F, F, A, F, A]),
        case("Mutation.recordPayment", format!(r#"mutation {{ recordPayment(input: {{ orderId: "{oa}", amount: {{ amount: "0.00", currencyCode: "USD" }} }}) {{ userErrors {{ code }} }} }}"#), &[], Some(Scope::OrdersWrite), [U, F, F, A, F, A]),
        case("Mutation.addOrderNote", format!(r#"mutation {{ addOrderNote(input: {{ orderId: "{oa}", body: "" }}) {{ note {{ id }} userErrors {{ code }} }} }}"#), &[], Some(Scope::OrdersWrite), [U, A, A, A, F, A]),
        case("Mutation.editOrder", format!(r#"mutation {{ editOrder(input: {{ orderId: "{oa}", expectedVersion: -1 }}) {{ order {{ id }} userErrors {{ code }} }} }}"#), &[], Some(Scope::OrdersWrite), [U, A, M, A, F, A]),
        case("Mutation.reorder", format!(r#"mutation {{ reorder(input: {{ orderId: "{oa}", payment: {{ provider: "test", token: "tok_declined" }} }}) {{ order {{ id }} userErrors {{ code }} }} }}"#), &[], Some(Scope::OrdersWrite), [U, A, M, A, F, A]),
        case("Mutation.updateCustomer", format!(r#"mutation {{ updateCustomer(input: {{ customerId: "{ca}", timeZone: "Mars/Olympus" }}) {{ customer {{ id }} userErrors {{ code }} }} }}"#), &[], Some(Scope::CustomersWrite), [U, A, M, A, F, A]),
        case("Mutation.addCustomerAddress", format!(r#"mutation {{ addCustomerAddress(input: {{ customerId: "{ca}", address: {{ line1: "", city: "", postalCode: "", country: "US" }} }}) {{ address {{ id }} userErrors {{ code }} }} }}"#), &[], Some(Scope::CustomersWrite), [U, A, M, A, F, A]),
        case("Mutation.deleteCustomerAddress", r#"mutation { deleteCustomerAddress(input: { addressId: "nope" }) { customer { id } userErrors { code } } }"#.into(), &[], Some(Scope::CustomersWrite), [U, A, A, A, F, A]),
        case("Mutation.createChannel", r#"mutation { createChannel(input: { code: "", name: "" }) { userErrors { code } } }"#.into(), &[], Some(Scope::OrdersWrite), [U, F, F, F, F, A]),
        case("Mutation.createApiKey", r#"mutation { createApiKey(input: { name: "", scopes: [] }) { userErrors { code } } }"#.into(), &[], Some(Scope::OrdersWrite), [U, F, F, F, F, A]),
        // Webhooks: partners manage their own with webhooks:write; probes are refused inputs.
        case("Mutation.createWebhookSubscription", r#"mutation { createWebhookSubscription(input: { url: "ftp://x", topics: [] }) { secret userErrors { code } } }"#.into(), &[], Some(Scope::WebhooksWrite), [U, F, F, A, F, A]),
        case("Mutation.deleteWebhookSubscription", r#"mutation { deleteWebhookSubscription(input: { id: "nope" }) { deletedId userErrors { code } } }"#.into(), &[], Some(Scope::WebhooksWrite), [U, F, F, A, F, A]),
        case("Mutation.redeliverWebhook", r#"mutation { redeliverWebhook(input: { deliveryId: "nope" }) { delivery { id } userErrors { code } } }"#.into(), &[], Some(Scope::WebhooksWrite), [U, F, F, A, F, A]),
        case("Mutation.revokeApiKey", r#"mutation { revokeApiKey(input: { id: "nope" }) { userErrors { code } } }"#.into(), &[], Some(Scope::OrdersWrite), [U, F, F, F, F, M]),
    ]
}

/// Subscriptions: (field, operation, scope, expected).
fn subscription_cases(w: &World) -> Vec<(&'static str, String, Option<Scope>, [Seen; 6])> {
    let (oa, ca, loc, sku, ra) = (&w.order_a, &w.customer_a, &w.location, &w.sku, &w.return_a);
    vec![
        (
            "Subscription.orderUpdated",
            format!(
                r#"subscription {{ orderUpdated(orderId: "{oa}", afterSequence: 0) {{ sequence }} }}"#
            ),
            Some(Scope::OrdersRead),
            [U, A, M, A, F, A],
        ),
        (
            "Subscription.customerOrderUpdates",
            format!(
                r#"subscription {{ customerOrderUpdates(customerId: "{ca}") {{ sequence }} }}"#
            ),
            Some(Scope::OrdersRead),
            [U, A, M, A, F, A],
        ),
        (
            "Subscription.deliveryUpdates",
            format!(r#"subscription {{ deliveryUpdates(customerId: "{ca}") {{ label }} }}"#),
            Some(Scope::OrdersRead),
            [U, A, M, A, F, A],
        ),
        (
            "Subscription.fulfillmentQueue",
            format!(r#"subscription {{ fulfillmentQueue(locationId: "{loc}") {{ id }} }}"#),
            Some(Scope::FulfillmentWrite),
            [U, F, F, A, F, A],
        ),
        (
            "Subscription.returnUpdated",
            format!(r#"subscription {{ returnUpdated(returnId: "{ra}") {{ id }} }}"#),
            Some(Scope::OrdersRead),
            [U, A, M, A, F, A],
        ),
        (
            "Subscription.inventoryChanged",
            format!(r#"subscription {{ inventoryChanged(skuCodes: ["{sku}"]) {{ available }} }}"#),
            None,
            [U, A, A, A, A, A],
        ),
    ]
}

/// The scopes of a partner that holds every scope except `scope` (and what implies it).
fn every_scope_but(scope: Option<Scope>) -> Vec<Scope> {
    use strum::IntoEnumIterator;
    match scope {
        None => Vec::new(),
        Some(scope) => Scope::iter()
            .filter(|s| *s != scope && Some(*s) != scope.implied_by())
            .collect(),
    }
}

/// The tokens of the six principals for a rule naming `scope`.
fn tokens(app: &TestApp, w: &World, scope: Option<Scope>) -> [Option<String>; 6] {
    [
        None,
        Some(app.customer_token(&w.customer_a)),
        Some(app.customer_token(&w.customer_b)),
        Some(app.partner_token(&scope.into_iter().collect::<Vec<_>>())),
        Some(app.partner_token(&every_scope_but(scope))),
        Some(app.staff_token()),
    ]
}

fn code_of(errors: &Value) -> Option<&str> {
    errors
        .as_array()?
        .iter()
        .find_map(|e| e["extensions"]["code"].as_str())
}

fn classify(body: &Value, path: &[&str]) -> Seen {
    match code_of(&body["errors"]) {
        Some("UNAUTHENTICATED") => return U,
        Some("FORBIDDEN") => return F,
        Some("NOT_FOUND") => return M,
        Some(other) => panic!("unexpected error {other}: {body}"),
        None => {}
    }
    let data = &body["data"];
    if path.is_empty() {
        // A mutation payload: NOT_FOUND among its userErrors means "looks missing".
        let payload = data.as_object().and_then(|o| o.values().next()).unwrap();
        let not_found = payload["userErrors"]
            .as_array()
            .is_some_and(|e| e.iter().any(|e| e["code"] == "NOT_FOUND"));
        return if not_found { M } else { A };
    }
    let value = path.iter().fold(data, |v, key| &v[*key]);
    match value {
        Value::Null => M,
        Value::Array(items) if !items.is_empty() && items.iter().all(Value::is_null) => M,
        _ => A,
    }
}

async fn every_operation_is_checked_for_every_principal(app: TestApp) {
    let w = world(&app).await;
    let mut failures = Vec::new();
    let mut covered = BTreeSet::new();
    for case in cases(&w) {
        covered.insert(case.field.to_owned());
        for (i, token) in tokens(&app, &w, case.scope).iter().enumerate() {
            let (status, body) = app.post(token.as_deref(), &case.op, json!({})).await;
            assert_eq!(status, 200, "{}: {body}", case.field);
            let seen = classify(&body, case.path);
            if seen != case.expect[i] {
                failures.push(format!(
                    "{} as {}: expected {:?}, saw {seen:?}: {body}",
                    case.field, WHO[i], case.expect[i]
                ));
            }
        }
    }
    for (field, op, scope, expect) in subscription_cases(&w) {
        covered.insert(field.to_owned());
        let runs = tokens(&app, &w, scope)
            .into_iter()
            .map(|token| subscribe_outcome(&app, token, &op));
        for (i, seen) in futures_util::future::join_all(runs)
            .await
            .into_iter()
            .enumerate()
        {
            if seen != expect[i] {
                failures.push(format!(
                    "{field} as {}: expected {:?}, saw {seen:?}",
                    WHO[i], expect[i]
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // Every root field of the schema has a row: a new operation without one fails here.
    let body = app
        .staff(
            "{ __schema { queryType { fields { name } } mutationType { fields { name } } subscriptionType { fields { name } } } }",
            json!({}),
        )
        .await;
    let mut missing = Vec::new();
    for (ty, key) in [
        ("Query", "queryType"),
        ("Mutation", "mutationType"),
        ("Subscription", "subscriptionType"),
    ] {
        for field in body["data"]["__schema"][key]["fields"].as_array().unwrap() {
            let name = format!("{ty}.{}", field["name"].as_str().unwrap());
            if !covered.contains(&name) {
                missing.push(name);
            }
        }
    }
    assert!(
        missing.is_empty(),
        "root fields without a row in the authorisation matrix: {missing:?}"
    );
}

/// Runs a subscription as `token` and says what came back first.
async fn subscribe_outcome(app: &TestApp, token: Option<String>, op: &str) -> Seen {
    let init = token
        .map(|t| TestApp::init_with_token(&t))
        .unwrap_or_else(|| json!({ "type": "connection_init", "payload": {} }));
    let mut socket = match app
        .ws_handshake("graphql-transport-ws", Some(init), Duration::from_secs(5))
        .await
    {
        Handshake::Acked(socket) => socket,
        Handshake::Closed(4401, _) => return U,
        Handshake::Closed(4403, _) => return F,
        other => panic!("unexpected handshake {other:?}"),
    };
    let start = json!({ "id": "1", "type": "subscribe", "payload": { "query": op } });
    socket
        .send(Message::Text(start.to_string().into()))
        .await
        .unwrap();
    // Streams without a first value stay quiet until something changes: quiet is allowed.
    match next_frame(&mut socket, Duration::from_millis(700)).await {
        None => A,
        Some(Ok(frame)) if frame["type"] == "next" => match code_of(&frame["payload"]["errors"]) {
            None => A,
            Some("UNAUTHENTICATED") => U,
            Some("FORBIDDEN") => F,
            Some("NOT_FOUND") => M,
            Some(other) => panic!("unexpected error {other}: {frame}"),
        },
        Some(Ok(frame)) if frame["type"] == "error" => match code_of(&frame["payload"]) {
            Some("UNAUTHENTICATED") => U,
            Some("FORBIDDEN") => F,
            Some("NOT_FOUND") => M,
            other => panic!("unexpected error {other:?}: {frame}"),
        },
        other => panic!("unexpected frame {other:?}"),
    }
}

/// Customer B cannot tell A's order from one that does not exist, whichever way it asks.
async fn someone_elses_order_is_indistinguishable_from_a_missing_one(app: TestApp) {
    let w = world(&app).await;
    let b = app.customer_token(&w.customer_b);
    let missing = orderly_tests::foreign_id(orderly::gid::Kind::Order, 999_999);
    for (op, var) in [
        ("query($id: ID!) { order(id: $id) { id } }", "id"),
        ("query($id: ID!) { node(id: $id) { id } }", "id"),
        (
            "mutation($id: ID!) { cancelOrder(input: { orderId: $id }) { order { id } userErrors { field message code } } }",
            "id",
        ),
    ] {
        let theirs = app.as_token(&b, op, json!({ var: w.order_a })).await;
        let nobodys = app.as_token(&b, op, json!({ var: missing })).await;
        assert_eq!(theirs, nobodys, "{op}");
    }
    // B's order list never holds A's order.
    let body = app
        .as_token(
            &b,
            "{ orders(first: 100) { edges { node { id customer { id } } } } }",
            json!({}),
        )
        .await;
    for edge in body["data"]["orders"]["edges"].as_array().unwrap() {
        assert_eq!(
            edge["node"]["customer"]["id"],
            w.customer_b.as_str(),
            "{body}"
        );
    }
    // And the subscription answers the same for both.
    let theirs = subscribe_outcome(
        &app,
        Some(b.clone()),
        &format!(
            r#"subscription {{ orderUpdated(orderId: "{}") {{ sequence }} }}"#,
            w.order_a
        ),
    )
    .await;
    let nobodys = subscribe_outcome(
        &app,
        Some(b),
        &format!(r#"subscription {{ orderUpdated(orderId: "{missing}") {{ sequence }} }}"#),
    )
    .await;
    assert_eq!((theirs, nobodys), (M, M));
}

backend_tests! {
    every_operation_is_checked_for_every_principal => Options { seed: true, ..Options::default() };
    someone_elses_order_is_indistinguishable_from_a_missing_one => Options { seed: true, ..Options::default() };
}
