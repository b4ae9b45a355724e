//! Reading orders: filters, sorting, Relay paging, node look-ups, customer scoping, the
//! delivery promise, and the statement count that proves nested fields are batched.

use orderly_tests::{Options, TestApp, backend_tests};
use serde_json::{Value, json};

const ORDERS_PAGE: &str = "query($first: Int, $after: String, $last: Int, $before: String, $filter: OrderFilter, $sortKey: OrderSortKey = PLACED_AT, $reverse: Boolean = false) {
  orders(first: $first, after: $after, last: $last, before: $before, filter: $filter, sortKey: $sortKey, reverse: $reverse) {
    edges { cursor node { id number status placedAt total { amount } customer { email } } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}";

fn numbers(body: &Value) -> Vec<String> {
    body["data"]["orders"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("no edges: {body}"))
        .iter()
        .map(|e| e["node"]["number"].as_str().unwrap().to_owned())
        .collect()
}

async fn orders_page_forward_and_backward_without_gaps(app: TestApp) {
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let body = app
            .staff(ORDERS_PAGE, json!({ "first": 25, "after": after }))
            .await;
        seen.extend(numbers(&body));
        let info = &body["data"]["orders"]["pageInfo"];
        if !info["hasNextPage"].as_bool().unwrap() {
            break;
        }
        after = info["endCursor"].as_str().map(str::to_owned);
    }
    assert_eq!(seen.len(), 65, "every demo order once");
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len());
    assert_eq!(seen[0], "#1065", "newest first by default");

    let first = app.staff(ORDERS_PAGE, json!({ "first": 10 })).await;
    let end = first["data"]["orders"]["pageInfo"]["endCursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let second = app
        .staff(ORDERS_PAGE, json!({ "first": 10, "after": end }))
        .await;
    let start = second["data"]["orders"]["pageInfo"]["startCursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let back = app
        .staff(ORDERS_PAGE, json!({ "last": 10, "before": start }))
        .await;
    assert_eq!(
        numbers(&back),
        numbers(&first),
        "paging back returns the previous page"
    );
    assert!(
        second["data"]["orders"]["pageInfo"]["hasPreviousPage"]
            .as_bool()
            .unwrap()
    );

    let reversed = app
        .staff(ORDERS_PAGE, json!({ "first": 3, "reverse": true }))
        .await;
    assert_eq!(numbers(&reversed), vec!["#1001", "#1002", "#1003"]);
    let by_total = app
        .staff(ORDERS_PAGE, json!({ "first": 65, "sortKey": "TOTAL" }))
        .await;
    let totals: Vec<f64> = by_total["data"]["orders"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            e["node"]["total"]["amount"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert!(
        totals.windows(2).all(|w| w[0] <= w[1]),
        "ascending totals: {totals:?}"
    );
}

async fn orders_filter_by_status_customer_channel_dates_and_text(app: TestApp) {
    let steven = app.customer_id_by_email("steven.boyle@example.com").await;
    let body = app
        .staff(
            ORDERS_PAGE,
            json!({ "first": 100, "filter": { "status": ["SHIPPED", "CONFIRMED"] } }),
        )
        .await;
    let statuses: Vec<_> = body["data"]["orders"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["status"].clone())
        .collect();
    assert_eq!(statuses.len(), 4, "{body}");
    assert!(statuses.iter().all(|s| s == "SHIPPED" || s == "CONFIRMED"));

    let body = app
        .staff(
            ORDERS_PAGE,
            json!({ "first": 100, "filter": { "customerId": steven } }),
        )
        .await;
    let emails: Vec<_> = body["data"]["orders"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["customer"]["email"].clone())
        .collect();
    assert!(!emails.is_empty() && emails.iter().all(|e| e == "steven.boyle@example.com"));

    let body = app
        .staff(
            ORDERS_PAGE,
            json!({ "first": 100, "filter": { "query": "1058" } }),
        )
        .await;
    assert_eq!(numbers(&body), vec!["#1058"]);
    let body = app
        .staff(
            ORDERS_PAGE,
            json!({ "first": 100, "filter": { "query": "GARCIA" } }),
        )
        .await;
    assert!(!numbers(&body).is_empty(), "{body}");
    let body = app
        .staff(
            ORDERS_PAGE,
            json!({ "first": 100, "filter": { "query": "%" } }),
        )
        .await;
    assert_eq!(
        numbers(&body),
        Vec::<String>::new(),
        "LIKE wildcards are matched literally"
    );

    let now = chrono::Utc::now();
    let body = app
        .staff(ORDERS_PAGE, json!({ "first": 100, "filter": { "placedAfter": (now - chrono::Duration::days(3)).to_rfc3339(), "channel": "web" } }))
        .await;
    assert_eq!(
        numbers(&body),
        vec!["#1065", "#1062", "#1060", "#1059", "#1058"],
        "orders placed in the last three days"
    );
    let body = app
        .staff(
            ORDERS_PAGE,
            json!({ "first": 100, "filter": { "channel": "pos" } }),
        )
        .await;
    assert!(numbers(&body).is_empty());
}

async fn a_customer_sees_only_their_own_orders(app: TestApp) {
    let steven = app.customer_id_by_email("steven.boyle@example.com").await;
    let token = app.customer_token(&steven);
    let mine = app
        .as_token(&token, ORDERS_PAGE, json!({ "first": 100 }))
        .await;
    let emails: Vec<_> = mine["data"]["orders"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["customer"]["email"].clone())
        .collect();
    assert!(
        emails.iter().all(|e| e == "steven.boyle@example.com"),
        "{mine}"
    );

    let all = app
        .staff(
            ORDERS_PAGE,
            json!({ "first": 100, "filter": { "query": "maria" } }),
        )
        .await;
    let marias = all["data"]["orders"]["edges"][0]["node"].clone();
    let id = marias["id"].clone();
    let number = marias["number"].clone();
    let body = app.as_token(&token, "query($id: ID!, $n: String!) { order(id: $id) { id } full: order(id: $id) { id customer { email } lines { sku { code } } } orderByNumber(number: $n) { id } node(id: $id) { id } nodes(ids: [$id]) { id } }", json!({ "id": id, "n": number })).await;
    assert_eq!(
        body["data"],
        json!({ "order": null, "full": null, "orderByNumber": null, "node": null, "nodes": [null] }),
        "someone else's order looks missing: {body}"
    );

    let staff = app
        .staff(
            "query($id: ID!) { node(id: $id) { id ... on Order { number } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(staff["data"]["node"]["number"], number);
}

async fn the_portal_shows_stevens_delivered_array_and_a_battery_arriving_tomorrow(app: TestApp) {
    let steven = app.customer_id_by_email("steven.boyle@example.com").await;
    let token = app.customer_token(&steven);
    let body = app
        .as_token(&token, "{ me { orders(first: 3) { edges { node { number status editable lines { sku { code name } } fulfillmentOrders { status carrier trackingNumber estimatedDelivery { earliest latest label } } } } } } }", json!({}))
        .await;
    let edges = body["data"]["me"]["orders"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"));
    // This morning's order, still his to change; then the battery and the array.
    assert_eq!(edges[0]["node"]["status"], "CONFIRMED", "{body}");
    assert_eq!(edges[0]["node"]["editable"], true, "{body}");
    let battery = &edges[1]["node"];
    assert_eq!(battery["lines"][0]["sku"]["code"], "BATT-13KWH", "{body}");
    assert_eq!(
        battery["fulfillmentOrders"][0]["estimatedDelivery"]["label"], "Arriving tomorrow",
        "{body}"
    );
    assert_eq!(battery["fulfillmentOrders"][0]["carrier"], "UPS");
    let array = &edges[2]["node"];
    assert_eq!(array["lines"][0]["sku"]["code"], "SOLAR-6KW");
    assert_eq!(array["status"], "DELIVERED");
    let label = array["fulfillmentOrders"][0]["estimatedDelivery"]["label"]
        .as_str()
        .unwrap();
    assert!(label.starts_with("Delivered "), "{label}");

    // Move the clock three days on: tomorrow's promise has become overdue.
    app.clock.advance(chrono::Duration::days(7));
    let later = app
        .as_token(
            &token,
            "{ me { orders(first: 2) { edges { node { fulfillmentOrders { estimatedDelivery { label } } } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        later["data"]["me"]["orders"]["edges"][1]["node"]["fulfillmentOrders"][0]["estimatedDelivery"]
            ["label"],
        "Delayed"
    );
}

/// Demo dates are the customer's local dates: Steven's battery arrives tomorrow *in San
/// Francisco*, whatever the date in UTC.
async fn the_demo_promise_is_in_the_customers_own_dates(app: TestApp) {
    let steven = app.customer_id_by_email("steven.boyle@example.com").await;
    let body = app
        .as_token(
            &app.customer_token(&steven),
            "{ me { orders(first: 3) { edges { node { fulfillmentOrders { estimatedDelivery { earliest label } deliveredAt } } } } } }",
            json!({}),
        )
        .await;
    let edges = &body["data"]["me"]["orders"]["edges"];
    let battery = &edges[1]["node"]["fulfillmentOrders"][0];
    assert_eq!(
        battery["estimatedDelivery"]["label"], "Arriving tomorrow",
        "{body}"
    );
    let local_tomorrow = (app.clock_now() - chrono::Duration::hours(8) + chrono::Duration::days(1))
        .date_naive()
        .to_string();
    assert_eq!(
        battery["estimatedDelivery"]["earliest"],
        local_tomorrow.as_str(),
        "{body}"
    );
    // Delivered two local days ago, in the afternoon, San Francisco time.
    let array = &edges[2]["node"]["fulfillmentOrders"][0];
    let delivered = chrono::DateTime::parse_from_rfc3339(array["deliveredAt"].as_str().unwrap())
        .unwrap()
        .to_utc();
    let local = delivered - chrono::Duration::hours(8);
    assert_eq!(
        local.date_naive(),
        (app.clock_now() - chrono::Duration::hours(8) - chrono::Duration::days(2)).date_naive(),
        "{body}"
    );
}

async fn the_demo_promise_holds_in_the_morning_too(app: TestApp) {
    the_demo_promise_is_in_the_customers_own_dates(app).await;
}

async fn order_details_expose_events_routing_and_payments(app: TestApp) {
    let body = app
        .staff("{ orderByNumber(number: \"#1058\") { number version paymentStatus shippingMethod subtotal { amount currencyCode } shippingTotal { amount } total { amount } shippingAddress { city country } routing { strategy reason locations { code } } payments { provider status amountCaptured { amount } } events { sequence type occurredAt } resumed: events(afterSequence: 5) { sequence } } }", json!({}))
        .await;
    let order = &body["data"]["orderByNumber"];
    assert_eq!(order["number"], "#1058", "{body}");
    assert_eq!(order["shippingMethod"], "EXPRESS");
    assert_eq!(order["shippingTotal"]["amount"], "25.00");
    assert_eq!(order["routing"]["strategy"], "SINGLE");
    assert_eq!(order["routing"]["locations"], json!([{ "code": "RNO-WH" }]));
    assert_eq!(order["payments"][0]["status"], "CAPTURED");
    let sequences: Vec<i64> = order["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["sequence"].as_i64().unwrap())
        .collect();
    assert_eq!(
        sequences,
        (1..=sequences.len() as i64).collect::<Vec<_>>(),
        "gap-free sequence"
    );
    assert_eq!(order["events"][0]["type"], "PLACED");
    assert_eq!(
        order["resumed"].as_array().unwrap().len(),
        sequences.len() - 5
    );
    assert_eq!(order["version"].as_i64().unwrap(), sequences.len() as i64);
}

/// Just after midnight in San Francisco the demo's announcement is already written: no
/// event arrives from the start-up scheduler while a client reads the order.
async fn order_details_are_settled_just_after_the_customers_midnight(app: TestApp) {
    order_details_expose_events_routing_and_payments(app).await
}

async fn fulfillment_orders_list_is_a_pick_list_by_location_and_status(app: TestApp) {
    let locations = app.staff("{ locations { id code } }", json!({})).await;
    let reno = locations["data"]["locations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["code"] == "RNO-WH")
        .unwrap()["id"]
        .clone();
    let body = app
        .staff("query($loc: ID) { fulfillmentOrders(locationId: $loc, status: [OPEN, PICKING], first: 50) { edges { node { status location { code } lines { quantity sku { code } } order { number } } } } }", json!({ "loc": reno }))
        .await;
    let edges = body["data"]["fulfillmentOrders"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"));
    assert_eq!(edges.len(), 1, "{body}");
    assert_eq!(edges[0]["node"]["status"], "PICKING");
    assert_eq!(edges[0]["node"]["location"]["code"], "RNO-WH");
}

const NESTED_PAGE: &str = "query($first: Int!) {
  orders(first: $first) {
    edges { node { number customer { name email } lines { quantity unitPrice { amount } sku { code name price { amount } } } } }
  }
}";

async fn nested_order_pages_cost_the_same_statements_whatever_their_size(app: TestApp) {
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let mut counts = Vec::new();
    for first in [5, 50, 5, 50] {
        let before = app.db_statements().await;
        let body = app.staff(NESTED_PAGE, json!({ "first": first })).await;
        assert_eq!(
            body["data"]["orders"]["edges"].as_array().map(Vec::len),
            Some(first),
            "{body}"
        );
        counts.push(app.db_statements().await - before);
    }
    assert_eq!(
        counts[0], counts[1],
        "statements for 5 vs 50 orders: {counts:?}"
    );
    assert_eq!(counts[2], counts[3], "{counts:?}");
    // The orders page; then customers and lines joined with SKUs, read ahead.
    assert_eq!(counts[1], 3, "{counts:?}");
    eprintln!("statements per orders(first: 5/50) with customer, lines, SKUs: {counts:?}");
}

const ONE_ORDER: &str = "query($id: ID!) {
  order(id: $id) { number customer { name email } lines { quantity sku { code name price { amount } } } }
}";

/// Many clients at once cost each the statements one costs alone: orders and their
/// children are read ahead, not gathered by a timer that a busy server outruns (the
/// loader's window is 0 here, the worst case for timer-made batches).
async fn nested_order_reads_cost_the_same_statements_under_load(app: TestApp) {
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let body = app
        .staff("{ orderByNumber(number: \"1058\") { id } }", json!({}))
        .await;
    let id = body["data"]["orderByNumber"]["id"].clone();
    const CLIENTS: u64 = 24;
    let before = app.db_statements().await;
    let pages = (0..CLIENTS).map(|_| app.staff(NESTED_PAGE, json!({ "first": 50 })));
    for body in futures_util::future::join_all(pages).await {
        assert_eq!(
            body["data"]["orders"]["edges"].as_array().map(Vec::len),
            Some(50),
            "{body}"
        );
    }
    let pages = app.db_statements().await - before;
    let before = app.db_statements().await;
    let orders = (0..CLIENTS).map(|_| app.staff(ONE_ORDER, json!({ "id": id })));
    for body in futures_util::future::join_all(orders).await {
        assert_eq!(body["data"]["order"]["number"], "#1058", "{body}");
        assert!(
            body["data"]["order"]["lines"][0]["sku"]["code"].is_string(),
            "{body}"
        );
    }
    let singles = app.db_statements().await - before;
    eprintln!("statements for {CLIENTS} concurrent pages: {pages}; single orders: {singles}");
    // A page: the page, customers, lines with SKUs. One order: the order joined with
    // its customer, its lines and their SKUs.
    assert_eq!(pages, 3 * CLIENTS);
    assert_eq!(singles, CLIENTS);
}

/// A page's fulfilment orders (a tracking list) are read ahead too: one statement for
/// the page's, however many clients ask at once, with the loader's window at 0.
async fn a_pages_fulfillment_orders_are_read_ahead_under_load(app: TestApp) {
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    const TRACKING: &str = "query($first: Int!) { orders(first: $first) { edges { node { number status fulfillmentOrders { status trackingNumber } } } } }";
    const CLIENTS: u64 = 24;
    let before = app.db_statements().await;
    let pages = (0..CLIENTS).map(|_| app.staff(TRACKING, json!({ "first": 50 })));
    let mut shipped = 0;
    for body in futures_util::future::join_all(pages).await {
        let edges = body["data"]["orders"]["edges"]
            .as_array()
            .unwrap_or_else(|| panic!("{body}"));
        assert_eq!(edges.len(), 50, "{body}");
        for edge in edges {
            let parcels = edge["node"]["fulfillmentOrders"].as_array().unwrap();
            shipped += parcels
                .iter()
                .filter(|f| f["trackingNumber"].is_string())
                .count();
        }
    }
    let statements = app.db_statements().await - before;
    eprintln!("statements for {CLIENTS} concurrent tracking pages: {statements}");
    assert!(shipped > 0, "the demo's pages hold shipped parcels");
    // The page, then its fulfilment orders.
    assert_eq!(statements, 2 * CLIENTS);
}

/// The portal's list — a customer's own orders with their lines — is read ahead like
/// `orders`: the same statements for 1 order as for all of them. A list of customers
/// with their orders still batches through the DataLoader.
async fn a_customers_own_orders_are_read_ahead(app: TestApp) {
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let steven = app.customer_id_by_email("steven.boyle@example.com").await;
    let token = app.customer_token(&steven);
    const MINE: &str = "query($first: Int!) { me { name orders(first: $first) { edges { node { number customer { name } lines { quantity sku { code name } } } } } } }";
    let mut counts = Vec::new();
    for first in [1, 20] {
        let before = app.db_statements().await;
        let body = app.as_token(&token, MINE, json!({ "first": first })).await;
        let edges = body["data"]["me"]["orders"]["edges"]
            .as_array()
            .unwrap_or_else(|| panic!("{body}"));
        assert!(!edges.is_empty(), "{body}");
        assert!(
            edges
                .iter()
                .all(|e| e["node"]["customer"]["name"] == "Steven Boyle")
        );
        assert!(
            edges
                .iter()
                .all(|e| e["node"]["lines"][0]["sku"]["code"].is_string())
        );
        counts.push(app.db_statements().await - before);
    }
    // `me`; the page; customers; lines joined with SKUs.
    assert_eq!(counts, [4, 4]);

    let body = app
        .staff(
            "{ customers(first: 5) { edges { node { email orders(first: 3) { edges { node { number lines { sku { code } } } } } } } } }",
            json!({}),
        )
        .await;
    let customers = body["data"]["customers"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"));
    assert_eq!(customers.len(), 5, "{body}");
}

backend_tests! {
    a_customers_own_orders_are_read_ahead => Options {
        seed: true,
        relay_poll_ms: Some(3_600_000),
        scheduler_interval_ms: Some(3_600_000),
        ..Options::default()
    };
    orders_page_forward_and_backward_without_gaps => Options { seed: true, ..Options::default() };
    orders_filter_by_status_customer_channel_dates_and_text => Options { seed: true, ..Options::default() };
    a_customer_sees_only_their_own_orders => Options { seed: true, ..Options::default() };
    // A fixed clock: with the real one, a demo seeded just before midnight in San
    // Francisco and read just after it says "Arriving today" (seen in CI at 08:00 UTC).
    the_portal_shows_stevens_delivered_array_and_a_battery_arriving_tomorrow => Options {
        seed: true,
        now: Some(chrono::DateTime::parse_from_rfc3339("2026-11-24T20:00:00Z").unwrap().to_utc()),
        ..Options::default()
    };
    // Sunday 19:30 in San Francisco is already Monday in UTC.
    the_demo_promise_is_in_the_customers_own_dates => Options {
        seed: true,
        now: Some(chrono::DateTime::parse_from_rfc3339("2026-11-30T03:30:00Z").unwrap().to_utc()),
        ..Options::default()
    };
    // Mid-morning in San Francisco, the same date in UTC.
    the_demo_promise_holds_in_the_morning_too => Options {
        seed: true,
        now: Some(chrono::DateTime::parse_from_rfc3339("2026-11-30T17:00:00Z").unwrap().to_utc()),
        ..Options::default()
    };
    order_details_expose_events_routing_and_payments => Options { seed: true, ..Options::default() };
    // 00:10 in San Francisco: half an hour ago was another local day.
    order_details_are_settled_just_after_the_customers_midnight => Options {
        seed: true,
        now: Some(chrono::DateTime::parse_from_rfc3339("2026-11-29T08:10:00Z").unwrap().to_utc()),
        ..Options::default()
    };
    fulfillment_orders_list_is_a_pick_list_by_location_and_status => Options { seed: true, ..Options::default() };
    // A wide batching window, so that a busy test machine cannot split a batch in two:
    // what is under test is that nested fields are batched at all.
    // Background work (relay, scheduler) runs once at start-up, then not for an hour.
    nested_order_reads_cost_the_same_statements_under_load => Options {
        seed: true,
        loader_delay_ms: Some(0),
        relay_poll_ms: Some(3_600_000),
        scheduler_interval_ms: Some(3_600_000),
        ..Options::default()
    };
    a_pages_fulfillment_orders_are_read_ahead_under_load => Options {
        seed: true,
        loader_delay_ms: Some(0),
        relay_poll_ms: Some(3_600_000),
        scheduler_interval_ms: Some(3_600_000),
        ..Options::default()
    };
    nested_order_pages_cost_the_same_statements_whatever_their_size => Options {
        seed: true,
        loader_delay_ms: Some(25),
        relay_poll_ms: Some(3_600_000),
        scheduler_interval_ms: Some(3_600_000),
        ..Options::default()
    };
}
