//! The pages in a real browser (headless Chromium, no network beyond the server):
//! GraphiQL runs a query and a subscription with the Headers tab's token, the portal
//! shows Steven Boyle's orders and follows a shipment live, and the console ships an
//! order from a location's queue. Screenshots land in `target/screenshots/`. Embedded
//! default only: the pages and the demo sign-in are the same on any database, and the
//! demo switch exists only there.

use std::time::{Duration, Instant};

use fantoccini::Locator;
use orderly_tests::browser::Browser;
use orderly_tests::{Backend, Options, TestApp, spawn_app_with};
use serde_json::{Value, json};

async fn demo_app() -> TestApp {
    spawn_app_with(
        Backend::Sqlite,
        Options {
            seed: true,
            ..Options::default()
        },
    )
    .await
}

/// A demo server and a browser on its `page`, signed in with the demo switch.
async fn signed_in(page: &str) -> (TestApp, Browser) {
    let app = demo_app().await;
    let browser = Browser::start().await;
    browser
        .client
        .goto(&format!("{}{page}", app.address))
        .await
        .unwrap();
    browser.click("#demo-sign-in").await;
    (app, browser)
}

/// Order `number`'s line quantities, returns and notes, as staff see them.
async fn order_state(app: &TestApp, number: &str) -> Value {
    let body = app
        .staff(
            "query($n: String!) { orderByNumber(number: $n) { lines { quantity } returns { status lines { quantity } } notes { body } } }",
            json!({ "n": number }),
        )
        .await;
    body["data"]["orderByNumber"].clone()
}

/// The first fulfilment order of order `number`.
async fn fulfillment_order_of(app: &TestApp, number: &str) -> Value {
    let body = app
        .staff(
            "query($n: String!) { orderByNumber(number: $n) { fulfillmentOrders { id status trackingNumber } } }",
            json!({ "n": number }),
        )
        .await;
    body["data"]["orderByNumber"]["fulfillmentOrders"][0].clone()
}

/// Sets the text of the shown (not `.hidden`) CodeMirror editor inside `container`, as if typed, and
/// waits until it keeps it (an editor that was just shown may still be set up).
async fn set_visible_editor(browser: &Browser, container: &str, text: &str) {
    let started = Instant::now();
    loop {
        let set = browser
            .client
            .execute(
                "const editor = [...document.querySelectorAll(arguments[0] + ' .CodeMirror')] \
                   .find((e) => !e.closest('.hidden')); \
                 if (!editor) return null; \
                 if (editor.CodeMirror.getValue() !== arguments[1]) \
                   editor.CodeMirror.setValue(arguments[1]); \
                 return editor.CodeMirror.getValue();",
                vec![json!(container), json!(text)],
            )
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        if set == json!(text) {
            let kept = browser
                .client
                .execute(
                    "const editor = [...document.querySelectorAll(arguments[0] + ' .CodeMirror')] \
                       .find((e) => !e.closest('.hidden')); \
                     return editor ? editor.CodeMirror.getValue() : null;",
                    vec![json!(container)],
                )
                .await
                .unwrap();
            if kept == json!(text) {
                return;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the editor in {container} does not keep the text"
        );
    }
}

/// Clicks GraphiQL's run button until the response pane satisfies `done` (GraphiQL
/// takes in an edit a moment after it is made, so the first click may still run the
/// text before it); returns what the pane shows. Fails after 10 s.
async fn run_until(browser: &Browser, done: impl Fn(&str) -> bool) -> String {
    let started = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        browser.click(".graphiql-execute-button").await;
        let clicked = Instant::now();
        while clicked.elapsed() < Duration::from_secs(1) {
            let shown = match browser
                .client
                .find(Locator::Css(".graphiql-response"))
                .await
            {
                Ok(pane) => pane.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            if done(&shown) {
                return shown;
            }
            if started.elapsed() > Duration::from_secs(10) {
                browser.screenshot("failed").await;
                panic!("GraphiQL shows {shown} (target/screenshots/failed.png)");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphiql_runs_a_query_and_a_subscription_offline() {
    let app = demo_app().await;
    let browser = Browser::start().await;
    let c = &browser.client;
    c.goto(&format!("{}/graphql", app.address)).await.unwrap();
    browser
        .wait_for_text(
            ".graphiql-query-editor",
            "orders(first: 5)",
            Duration::from_secs(20),
        )
        .await;
    // The token goes into the Headers tab, as a person would paste it.
    c.find(Locator::XPath("//button[normalize-space()='Headers']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let headers = json!({ "authorization": format!("Bearer {}", app.staff_token()) });
    set_visible_editor(&browser, ".graphiql-editor-tool", &headers.to_string()).await;
    let shown = run_until(&browser, |shown| shown.contains("\"number\": \"#10")).await;
    assert!(!shown.contains("errors"), "{shown}");
    browser.screenshot("graphiql").await;

    // A subscription over the same page's WebSocket, with the same header token: the
    // replay's frames arrive over graphql-ws and the pane shows the latest.
    let order = app
        .staff("{ orderByNumber(number: \"#1058\") { id } }", json!({}))
        .await["data"]["orderByNumber"]["id"]
        .clone();
    let subscription = format!(
        "subscription {{ orderUpdated(orderId: \"{}\", afterSequence: 0) {{ sequence type }} }}",
        order.as_str().unwrap()
    );
    set_visible_editor(&browser, ".graphiql-query-editor", &subscription).await;
    let shown = run_until(&browser, |shown| shown.contains("\"orderUpdated\": {")).await;
    assert!(shown.contains("\"sequence\""), "{shown}");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn portal_shows_stevens_orders_and_follows_a_shipment_live() {
    let (app, browser) = signed_in("/portal").await;
    let c = &browser.client;

    // The brief's screen: the delivered solar array, the battery arriving tomorrow.
    browser
        .wait_for_text(
            "#order-1057",
            "6 kW Solar Array Kit",
            Duration::from_secs(10),
        )
        .await;
    browser
        .wait_for_text(
            "#order-1057 .status-line",
            "Delivered",
            Duration::from_secs(1),
        )
        .await;
    browser
        .wait_for_text(
            "#order-1058 .status-line",
            "Arriving tomorrow",
            Duration::from_secs(1),
        )
        .await;
    browser
        .wait_for_text("#live", "Live", Duration::from_secs(10))
        .await;
    browser.screenshot("portal").await;

    // Track shows the carrier and the delivery events.
    browser.click("#order-1058 button.track").await;
    browser
        .wait_for_text(
            "#order-1058 .track-panel",
            "Shipped",
            Duration::from_secs(10),
        )
        .await;

    // A shipment made through the API reaches the open page without a reload.
    c.execute("window.notReloaded = true;", vec![])
        .await
        .unwrap();
    browser
        .wait_for_text(
            "#order-1065 .status-line",
            "Preparing",
            Duration::from_secs(1),
        )
        .await;
    let fo = fulfillment_order_of(&app, "#1065").await;
    app.ship(fo["id"].as_str().unwrap()).await;
    let shipped_at = Instant::now();
    browser
        .wait_for_text("#order-1065 .badge", "Shipped", Duration::from_secs(5))
        .await;
    let latency = shipped_at.elapsed();
    eprintln!("portal: shipment on the page {latency:?} after the mutation answered");
    assert!(
        latency < Duration::from_secs(1),
        "the shipment took {latency:?} to reach the page"
    );
    assert!(
        c.find(Locator::Css("#order-1065 button.track"))
            .await
            .is_ok(),
        "Track appears once shipped"
    );
    let same_page = c
        .execute("return window.notReloaded === true;", vec![])
        .await;
    assert_eq!(same_page.unwrap(), json!(true), "the page reloaded");
    browser.screenshot("portal-live").await;

    // Ten orders a page: Steven's first order is on the second.
    assert!(c.find(Locator::Css("#order-1001")).await.is_err());
    browser.click("#older").await;
    browser
        .wait_for_text("#order-1001", "Delivered", Duration::from_secs(5))
        .await;
    assert!(
        c.find(Locator::Css("#older")).await.is_err(),
        "no third page"
    );

    // Profile and Notes tabs show what the API holds.
    browser.click("#tab-profile").await;
    browser
        .wait_for_text(
            "section.profile",
            "steven.boyle@example.com",
            Duration::from_secs(5),
        )
        .await;
    browser.click("#tab-notes").await;
    browser
        .wait_for_text("main", "side gate code", Duration::from_secs(5))
        .await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn portal_edits_returns_reorders_notes_and_saves_the_profile() {
    let (app, browser) = signed_in("/portal").await;
    browser
        .wait_for_text(
            "#order-1065",
            "6 × MC4 Connector Pair",
            Duration::from_secs(10),
        )
        .await;
    // Edit: six connector pairs become five.
    browser.click("#order-1065 button.edit").await;
    browser.fill("#order-1065 .edit-panel input", "5").await;
    browser
        .click("#order-1065 .edit-panel button.primary")
        .await;
    browser
        .wait_for_text(
            "#order-1065",
            "5 × MC4 Connector Pair",
            Duration::from_secs(5),
        )
        .await;
    assert_eq!(order_state(&app, "#1065").await["lines"][0]["quantity"], 5);

    // Return: the delivered solar array goes back.
    browser.click("#order-1057 button.return").await;
    browser
        .fill("#order-1057 .return-panel input[type=number]", "1")
        .await;
    browser
        .click("#order-1057 .return-panel button.primary")
        .await;
    browser
        .wait_for_text(
            "#order-1057",
            "Return #1057-R2: Requested",
            Duration::from_secs(5),
        )
        .await;
    let order = order_state(&app, "#1057").await;
    assert_eq!(order["returns"].as_array().unwrap().len(), 2, "{order}");

    // Reorder: the same lines again, as a new order on top.
    browser.click("#order-1056 button.reorder").await;
    browser
        .click("#order-1056 .reorder-panel button.primary")
        .await;
    browser
        .wait_for_text(
            "main article:first-of-type h3",
            "#1066",
            Duration::from_secs(5),
        )
        .await;
    assert_eq!(order_state(&app, "#1066").await["lines"][0]["quantity"], 4);

    // A note on the newest order, from the Notes tab.
    browser.click("#tab-notes").await;
    browser.fill("main textarea", "Ring twice, please.").await;
    browser.click("main .actions button.primary").await;
    browser
        .wait_for_text("main", "Ring twice, please.", Duration::from_secs(5))
        .await;
    assert_eq!(
        order_state(&app, "#1066").await["notes"][0]["body"],
        "Ring twice, please."
    );

    // The profile: a new phone number.
    browser.click("#tab-profile").await;
    browser
        .fill(
            "section.profile input[placeholder^='+1']",
            "+1 415 555 0199",
        )
        .await;
    browser.click("section.profile button.primary").await;
    let steven = app.customer_id_by_email("steven.boyle@example.com").await;
    let started = Instant::now();
    loop {
        let body = app
            .staff(
                "query($id: ID!) { customer(id: $id) { phone } }",
                json!({ "id": steven }),
            )
            .await;
        if body["data"]["customer"]["phone"] == "+1 415 555 0199" {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(5), "{body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    browser.screenshot("portal-profile").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_ships_an_order_from_the_live_queue() {
    let (app, browser) = signed_in("/console").await;
    let c = &browser.client;
    browser
        .wait_for_text("table.orders", "Steven Boyle", Duration::from_secs(10))
        .await;
    // An order's timeline: events, notes, payments.
    browser
        .click("table.orders tr[data-number=\"#1058\"]")
        .await;
    browser
        .wait_for_text(".detail .events", "Shipped", Duration::from_secs(10))
        .await;
    browser
        .wait_for_text(".detail", "Payments", Duration::from_secs(1))
        .await;
    browser.screenshot("console").await;

    browser.click("#tab-fulfilment").await;
    let row = browser
        .wait_for("table.queue tr:has(button.ship)", Duration::from_secs(10))
        .await;
    let number = row.attr("data-number").await.unwrap().expect("row number");
    row.find(Locator::Css("input.tracking"))
        .await
        .unwrap()
        .send_keys("1Z999AA10123456784")
        .await
        .unwrap();
    row.find(Locator::Css("button.ship"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();

    // The queue drops it live, and the API agrees it shipped with that tracking number.
    let gone = Instant::now();
    loop {
        let still = c
            .find(Locator::Css(&format!(
                "table.queue tr[data-number=\"{number}\"]"
            )))
            .await
            .is_ok();
        if !still {
            break;
        }
        assert!(
            gone.elapsed() < Duration::from_secs(10),
            "{number} stayed in the queue"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let fo = fulfillment_order_of(&app, &number).await;
    assert_eq!(fo["status"], "SHIPPED", "{fo}");
    assert_eq!(fo["trackingNumber"], "1Z999AA10123456784");
    browser.screenshot("console-queue").await;

    // Inventory: a stock take made through the API moves the badge without a reload.
    browser.click("#tab-inventory").await;
    let badge = "table.inventory tr[data-code=\"SOLAR-6KW\"] .stock";
    browser
        .wait_for_text(badge, "54 available", Duration::from_secs(10))
        .await;
    let store = app.staff("{ locations { id code } }", json!({})).await["data"]["locations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["code"] == "SF-STORE")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.set_stock(&store, "SOLAR-6KW", 5).await;
    browser
        .wait_for_text(badge, "57 available", Duration::from_secs(5))
        .await;
    browser.screenshot("console-inventory").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_sign_in_exists_only_with_the_demo_data() {
    // No demo data: the switch is not there.
    let plain = spawn_app_with(Backend::Sqlite, Options::default()).await;
    let response = plain
        .client
        .post(format!("{}/demo/sign-in", plain.address))
        .json(&json!({ "role": "staff" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "NOT_FOUND");

    // Demo data, but reachable from other machines: not there either.
    let exposed = spawn_app_with(
        Backend::Sqlite,
        Options {
            seed: true,
            bind_ip: Some(std::net::Ipv4Addr::UNSPECIFIED.into()),
            ..Options::default()
        },
    )
    .await;
    let response = exposed
        .client
        .post(format!("{}/demo/sign-in", exposed.address))
        .json(&json!({ "role": "staff" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);

    let app = demo_app().await;
    let sign_in = |body: Value| {
        let request = app
            .client
            .post(format!("{}/demo/sign-in", app.address))
            .json(&body);
        async move {
            let response = request.send().await.unwrap();
            (
                response.status().as_u16(),
                response.json::<Value>().await.unwrap(),
            )
        }
    };
    for bad in [
        json!({ "role": "admin" }),
        json!({ "role": "staff", "email": "steven.boyle@example.com" }),
        json!({ "role": "customer", "email": "nobody@example.com" }),
        json!({ "role": "customer", "extra": 1 }),
        json!([]),
    ] {
        let (status, body) = sign_in(bad.clone()).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "INVALID_INPUT",
            "{bad}"
        );
    }
    let (status, body) = sign_in(json!({ "role": "customer" })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["name"], "Steven Boyle");
    let me = app
        .as_token(
            body["token"].as_str().unwrap(),
            "{ me { email } }",
            json!({}),
        )
        .await;
    assert_eq!(me["data"]["me"]["email"], "steven.boyle@example.com");
    let (_, body) =
        sign_in(json!({ "role": "customer", "email": "MARIA.GARCIA@example.com" })).await;
    assert_eq!(body["name"], "Maria Garcia");

    // The pages and their scripts are served, the scripts cached for good.
    let page = app.get("/portal").await;
    assert_eq!(page.status(), 200);
    let policy = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        policy.contains("script-src 'self'") && policy.contains("connect-src 'self'"),
        "{policy}"
    );
    let html = page.text().await.unwrap();
    let script = html
        .split('"')
        .find(|part| part.starts_with("/assets/app/") && part.ends_with("/portal.js"))
        .expect("the portal's script")
        .to_owned();
    let asset = app.get(&script).await;
    assert_eq!(asset.status(), 200);
    assert_eq!(
        asset.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(app.get("/assets/app/stale/portal.js").await.status(), 404);
    assert_eq!(app.get("/console").await.status(), 200);
}
