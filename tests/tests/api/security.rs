//! Abuse limits and credentials, black-box: tokens that must be refused, partner API
//! keys, query limits, rate limits, WebSocket authentication, idempotency under races,
//! and error hygiene.

use std::io::Write;
use std::time::Duration;

use futures_util::SinkExt;
use orderly::auth::Scope;
use orderly_tests::{Handshake, Options, TestApp, backend_tests, error_code, next_frame, now_secs};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

/// Base64url without padding, for hand-made tokens.
fn b64(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

async fn bad_tokens_are_refused_and_never_downgraded(app: TestApp) {
    let claims = |iss: &str, aud: &str, exp: i64| json!({ "sub": "tester", "role": "staff", "scopes": [], "iat": now_secs(), "exp": exp, "iss": iss, "aud": aud });
    let later = now_secs() + 600;
    let unsigned = format!(
        "{}.{}.",
        b64(r#"{"alg":"none","typ":"JWT"}"#),
        b64(&claims("orderly", "orderly-api", later).to_string())
    );
    let hs512 = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS512),
        &claims("orderly", "orderly-api", later),
        &jsonwebtoken::EncodingKey::from_secret(app.jwt_secret.as_bytes()),
    )
    .unwrap();
    let cases = [
        ("forged", app.forged_token()),
        ("expired", app.expired_token()),
        (
            "wrong audience",
            app.token_with_claims(claims("orderly", "someone-else", later)),
        ),
        (
            "wrong issuer",
            app.token_with_claims(claims("evil", "orderly-api", later)),
        ),
        ("alg none", unsigned),
        ("other algorithm", hs512),
        (
            "no exp",
            app.token_with_claims(
                json!({ "sub": "t", "role": "staff", "iss": "orderly", "aud": "orderly-api" }),
            ),
        ),
        ("garbage", "not.a.jwt".to_owned()),
    ];
    for (what, token) in cases {
        let (status, body) = app
            .post(Some(&token), "{ locations { id } }", json!({}))
            .await;
        assert_eq!(status, 401, "{what}: {body}");
        assert_eq!(error_code(&body), "UNAUTHENTICATED", "{what}: {body}");
        assert!(body["data"].is_null(), "{what}: {body}");
    }
    // No token: anonymous, which may introspect and nothing else.
    let (status, body) = app.post(None, "{ locations { id } }", json!({})).await;
    assert_eq!(
        (status, error_code(&body)),
        (200, "UNAUTHENTICATED"),
        "{body}"
    );
    let (_, body) = app
        .post(
            None,
            "{ __typename __schema { queryType { name } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        body["data"]["__schema"]["queryType"]["name"], "Query",
        "{body}"
    );
}

/// What GraphiQL and graphql-js' `getIntrospectionQuery()` send.
const STANDARD_INTROSPECTION: &str = "query IntrospectionQuery { __schema { queryType { name } mutationType { name } subscriptionType { name } types { ...FullType } directives { name description locations args { ...InputValue } } } }
fragment FullType on __Type { kind name description fields(includeDeprecated: true) { name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason } inputFields { ...InputValue } interfaces { ...TypeRef } enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason } possibleTypes { ...TypeRef } }
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } }";

async fn schema_tools_can_introspect_but_not_fan_out(app: TestApp) {
    let (status, body) = app.post(None, STANDARD_INTROSPECTION, json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["errors"].is_null(), "{body}");
    assert!(body["data"]["__schema"]["types"].as_array().unwrap().len() > 50);
    // A list inside itself grows exponentially with depth: refused however shallow.
    let fan = "{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }";
    let (_, body) = app.post(None, fan, json!({})).await;
    assert_eq!(error_code(&body), "QUERY_TOO_COMPLEX", "{body}");
    let fan = "{ __type(name: \"Order\") { fields { type { fields { name } } } } }";
    let (_, body) = app.post(None, fan, json!({})).await;
    assert_eq!(error_code(&body), "QUERY_TOO_COMPLEX", "{body}");
    // And ofType chains stay bounded.
    let chain = format!(
        "{{ __type(name: \"Order\") {{ {} name {} }} }}",
        "ofType { ".repeat(25),
        "}".repeat(25)
    );
    let (_, body) = app.post(None, &chain, json!({})).await;
    assert_eq!(error_code(&body), "QUERY_TOO_COMPLEX", "{body}");
}

async fn introspection_can_be_closed_to_anonymous_callers(app: TestApp) {
    let (_, body) = app
        .post(None, "{ __schema { queryType { name } } }", json!({}))
        .await;
    assert_eq!(error_code(&body), "UNAUTHENTICATED", "{body}");
    let (_, body) = app
        .post(None, r#"{ __type(name: "Order") { name } }"#, json!({}))
        .await;
    assert_eq!(error_code(&body), "UNAUTHENTICATED", "{body}");
    let body = app
        .staff("{ __schema { queryType { name } } }", json!({}))
        .await;
    assert_eq!(
        body["data"]["__schema"]["queryType"]["name"], "Query",
        "{body}"
    );
}

async fn partner_api_keys_are_shown_once_hashed_and_revocable(app: TestApp) {
    let body = app
        .staff(
            r#"mutation { createApiKey(input: { name: "Acme 3PL", scopes: ["orders:read", "fulfillment:write"] }) {
                key apiKey { id name prefix scopes revokedAt } userErrors { code } } }"#,
            json!({}),
        )
        .await;
    let created = &body["data"]["createApiKey"];
    let key = created["key"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_owned();
    let id = created["apiKey"]["id"].as_str().unwrap().to_owned();
    assert!(key.starts_with("ork_") && key.len() >= 40, "{key}");
    assert!(key.starts_with(created["apiKey"]["prefix"].as_str().unwrap()));
    assert_eq!(
        created["apiKey"]["scopes"],
        json!(["fulfillment:write", "orders:read"])
    );

    // The key works for what its scopes allow, and nothing more.
    let (status, body) = app
        .post_with_api_key(
            &key,
            "{ orders(first: 1) { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["errors"].is_null(), "{body}");
    let (_, body) = app
        .post_with_api_key(
            &key,
            "{ customers(first: 1) { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");

    // Listed without the key; stored only as a hash.
    let listed = app
        .staff("{ apiKeys { id name revokedAt } }", json!({}))
        .await;
    assert!(!listed.to_string().contains(&key), "{listed}");
    let db = sea_orm::Database::connect(&app.database_url).await.unwrap();
    use sea_orm::{ConnectionTrait, Statement};
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT key_hash, prefix FROM api_keys",
        ))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    let stored: String = rows[0].try_get("", "key_hash").unwrap();
    assert_eq!(stored.len(), 64, "a SHA-256 hex digest");
    assert!(!stored.contains(&key[4..]) && !key.contains(&stored));
    db.close().await.ok();

    // WebSockets take the key in connection_init.
    let init = json!({ "type": "connection_init", "payload": { "x-api-key": key } });
    let handshake = app
        .ws_handshake(
            "graphql-transport-ws",
            Some(init.clone()),
            Duration::from_secs(5),
        )
        .await;
    assert!(matches!(handshake, Handshake::Acked(_)), "{handshake:?}");

    let Handshake::Acked(mut open_socket) = app
        .ws_handshake(
            "graphql-transport-ws",
            Some(init.clone()),
            Duration::from_secs(5),
        )
        .await
    else {
        panic!("the key opens a socket");
    };

    // Unknown keys are refused; revoked keys are refused from the next request on.
    let (status, _) = app
        .post_with_api_key("ork_not-a-real-key", "{ __typename }", json!({}))
        .await;
    assert_eq!(status, 401);
    let body = app
        .staff(
            "mutation($id: ID!) { revokeApiKey(input: { id: $id }) { apiKey { revokedAt } userErrors { code } } }",
            json!({ "id": id }),
        )
        .await;
    assert!(
        body["data"]["revokeApiKey"]["apiKey"]["revokedAt"].is_string(),
        "{body}"
    );
    let (status, body) = app
        .post_with_api_key(
            &key,
            "{ orders(first: 1) { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        (status, error_code(&body)),
        (401, "UNAUTHENTICATED"),
        "{body}"
    );
    let handshake = app
        .ws_handshake("graphql-transport-ws", Some(init), Duration::from_secs(5))
        .await;
    assert_eq!(handshake.close_code(), Some(4403), "{handshake:?}");
    // A socket opened with the key before it was revoked is closed too.
    let closed = next_frame(&mut open_socket, Duration::from_secs(5)).await;
    assert!(
        matches!(closed, Some(Err((4403, _)))),
        "revoking closes open sockets: {closed:?}"
    );

    // Only staff manage keys, and bad input changes nothing.
    let partner = app.partner_token(&[Scope::OrdersWrite, Scope::CustomersWrite]);
    let (_, body) = app
        .post(
            Some(&partner),
            r#"mutation { createApiKey(input: { name: "x", scopes: ["orders:read"] }) { key } }"#,
            json!({}),
        )
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    let body = app
        .staff(r#"mutation { createApiKey(input: { name: "x", scopes: ["root:all"] }) { key userErrors { field code } } }"#, json!({}))
        .await;
    assert_eq!(
        body["data"]["createApiKey"]["userErrors"][0]["code"], "INVALID_INPUT",
        "{body}"
    );
    assert!(body["data"]["createApiKey"]["key"].is_null());
    let listed = app.staff("{ apiKeys { id } }", json!({})).await;
    assert_eq!(
        listed["data"]["apiKeys"].as_array().unwrap().len(),
        1,
        "{listed}"
    );
}

async fn oversized_deep_wide_aliased_and_batched_requests_are_refused(app: TestApp) {
    let staff = app.staff_token();
    let auth = format!("Bearer {staff}");
    let headers = [
        ("content-type", "application/json"),
        ("authorization", auth.as_str()),
    ];

    // Deeper than 12.
    let deep = "{ orders(first: 1) { edges { node { customer { orders(first: 1) { edges { node { customer { orders(first: 1) { edges { node { customer { id } } } } } } } } } } } } }";
    let body = app.staff(deep, json!({})).await;
    assert_eq!(error_code(&body), "QUERY_TOO_COMPLEX", "{body}");

    // Wide: pages inside pages cost their sizes multiplied.
    let wide = "{ orders(first: 100) { edges { node { id number customer { orders(first: 100) { edges { node { id number } } } } } } } }";
    let body = app.staff(wide, json!({})).await;
    assert_eq!(error_code(&body), "QUERY_TOO_COMPLEX", "{body}");
    assert!(body["data"].is_null());

    // Too many aliases.
    let aliased = format!(
        "{{ {} }}",
        (0..31)
            .map(|i| format!("a{i}: __typename"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let body = app.staff(&aliased, json!({})).await;
    assert_eq!(error_code(&body), "QUERY_TOO_COMPLEX", "{body}");

    // Over 256 KiB, plainly and after decompression.
    let padding = " ".repeat(300 * 1024);
    let big = json!({ "query": format!("{{ __typename {padding}}}") }).to_string();
    let (status, _, body) = app.post_raw(&headers, big.clone()).await;
    assert_eq!(
        (status, error_code(&body)),
        (413, "PAYLOAD_TOO_LARGE"),
        "{body}"
    );
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gzip.write_all(big.as_bytes()).unwrap();
    let compressed = gzip.finish().unwrap();
    assert!(
        compressed.len() < 4096,
        "the bomb is small: {}",
        compressed.len()
    );
    let mut gz_headers = headers.to_vec();
    gz_headers.push(("content-encoding", "gzip"));
    let (status, _, body) = app.post_raw(&gz_headers, compressed).await;
    assert_eq!(
        (status, error_code(&body)),
        (413, "PAYLOAD_TOO_LARGE"),
        "{body}"
    );

    // Array batches.
    let batch = json!([{ "query": "{ __typename }" }, { "query": "{ __typename }" }]).to_string();
    let (status, _, body) = app.post_raw(&headers, batch).await;
    assert_eq!(
        (status, error_code(&body)),
        (400, "BATCH_NOT_SUPPORTED"),
        "{body}"
    );

    // Mutations over GET; form posts (CSRF).
    let get = app
        .client
        .get(format!("{}/graphql", app.address))
        .query(&[("query", "mutation { createCustomer(input: {email: \"g@example.com\", name: \"G\"}) { customer { id } } }")])
        .bearer_auth(&staff)
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 405);
    let (status, _, _) = app
        .post_raw(
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                ("authorization", auth.as_str()),
            ],
            "query=mutation%7B__typename%7D",
        )
        .await;
    assert_eq!(status, 415);
    let (status, _, _) = app
        .post_raw(
            &[
                ("content-type", "text/plain"),
                ("authorization", auth.as_str()),
            ],
            r#"{"query":"{ __typename }"}"#,
        )
        .await;
    assert_eq!(status, 415);
    let customers = app
        .staff(
            "{ customers(first: 5) { edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert!(
        customers["data"]["customers"]["edges"]
            .as_array()
            .unwrap()
            .is_empty(),
        "nothing was created"
    );

    // NUL characters (which Postgres cannot store), inline or in variables.
    let body = app
        .staff(r#"{ orderByNumber(number: "\u0000") { id } }"#, json!({}))
        .await;
    assert_eq!(error_code(&body), "INVALID_INPUT", "{body}");
    let body = app
        .staff(
            "query($n: String!) { orderByNumber(number: $n) { id } }",
            json!({ "n": "10\u{0}01" }),
        )
        .await;
    assert_eq!(error_code(&body), "INVALID_INPUT", "{body}");

    // Pages over 100.
    let body = app
        .staff("{ orders(first: 101) { edges { cursor } } }", json!({}))
        .await;
    assert_eq!(error_code(&body), "INVALID_INPUT", "{body}");

    // No schema hints for strangers; signed-in callers get them.
    let (_, body) = app.post(None, "{ ordrs { id } }", json!({})).await;
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(!message.contains("Did you mean"), "{body}");
    let body = app.staff("{ ordrs { id } }", json!({})).await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("Did you mean"),
        "{body}"
    );
}

async fn costs_are_reported_and_spent_budgets_are_rate_limited(app: TestApp) {
    let staff = app.staff_token();
    let query = "{ orders(first: 50) { edges { node { id number } } } }";
    let (status, first) = app.post(Some(&staff), query, json!({})).await;
    assert_eq!(status, 200, "{first}");
    let cost = &first["extensions"]["cost"];
    let requested = cost["requestedQueryCost"].as_f64().unwrap();
    assert!(requested >= 100.0, "a 50-item page costs per item: {first}");
    // Whole numbers, as integers (`1000`, not `1000.0`).
    assert_eq!(
        cost["throttleStatus"]["maximumAvailable"],
        json!(1000),
        "{first}"
    );
    assert_eq!(cost["throttleStatus"]["restoreRate"], json!(10), "{first}");
    assert!(
        cost["throttleStatus"]["currentlyAvailable"].is_i64(),
        "{first}"
    );
    let mut last_available = cost["throttleStatus"]["currentlyAvailable"]
        .as_f64()
        .unwrap();
    assert!(last_available <= 1000.0 - requested + 1.0, "{first}");

    // Spend the bucket until the server says stop.
    let mut limited = None;
    for _ in 0..20 {
        let response = app
            .client
            .post(format!("{}/graphql", app.address))
            .bearer_auth(&staff)
            .json(&json!({ "query": query }))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_owned());
        let body: Value = response.json().await.unwrap();
        if status == 429 {
            limited = Some((retry_after, body));
            break;
        }
        let available = body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"]
            .as_f64()
            .unwrap();
        assert!(available < last_available, "the budget drains: {body}");
        last_available = available;
    }
    let (retry_after, body) = limited.expect("a 1000-point budget runs out");
    assert_eq!(error_code(&body), "RATE_LIMITED", "{body}");
    assert!(body["data"].is_null(), "{body}");
    let wait = body["errors"][0]["extensions"]["retryAfter"]
        .as_f64()
        .unwrap();
    assert!(wait > 0.0 && wait <= requested / 10.0 + 1.0, "{body}");
    assert!(retry_after.unwrap().parse::<f64>().unwrap() >= wait.floor());

    // Budgets are per principal: someone else is unaffected.
    let other = app.partner_token(&[Scope::OrdersRead]);
    let (status, body) = app.post(Some(&other), query, json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["errors"].is_null(), "{body}");
}

/// With Redis, every instance draws from the same bucket; without it (or while it is
/// down) each instance keeps its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_hold_across_instances_through_redis() {
    let Some(redis_url) = orderly_tests::test_redis_url() else {
        eprintln!("TEST_REDIS_URL is not set: shared rate limits not checked");
        return;
    };
    let shared = Options {
        redis_url: Some(redis_url),
        rate_limit: Some((1000.0, 10.0)),
        redis_prefix: Some(format!("orderly-test-{}", uuid::Uuid::new_v4().simple())),
        jwt_secret: Some(format!("shared-secret-{}", uuid::Uuid::new_v4().simple())),
        ..Options::default()
    };
    let a = orderly_tests::spawn_app_with(orderly_tests::Backend::Sqlite, shared.clone()).await;
    let b = orderly_tests::spawn_app_with(orderly_tests::Backend::Sqlite, shared).await;
    let staff = a.staff_token();
    let query = "{ orders(first: 100) { edges { node { id number } } } }";
    let mut statuses = Vec::new();
    let mut cost = 0.0;
    for i in 0..10 {
        let app = if i % 2 == 0 { &a } else { &b };
        let (status, body) = app.post(Some(&staff), query, json!({})).await;
        statuses.push(status);
        if let Some(requested) = body["extensions"]["cost"]["requestedQueryCost"].as_f64() {
            cost = requested;
        }
    }
    // One 1,000-point bucket for both instances: as many requests fit as the budget
    // holds, alternating between A and B, and then every one is refused.
    let fit = (1000.0 / cost).floor() as usize;
    assert!(fit >= 2, "cost {cost}");
    let expected: Vec<u16> = (0..10).map(|i| if i < fit { 200 } else { 429 }).collect();
    assert_eq!(statuses, expected, "cost {cost}");
    let (status, _) = b.post(Some(&staff), query, json!({})).await;
    assert_eq!(status, 429, "instance B sees A's spending");

    // Redis unreachable: the instance still limits, on its own buckets.
    let dead = orderly_tests::spawn_app_with(
        orderly_tests::Backend::Sqlite,
        Options {
            redis_url: Some("redis://127.0.0.1:1".to_owned()),
            rate_limit: Some((1000.0, 10.0)),
            ..Options::default()
        },
    )
    .await;
    let token = dead.staff_token();
    let mut statuses = Vec::new();
    for _ in 0..(fit + 1) {
        statuses.push(dead.post(Some(&token), query, json!({})).await.0);
    }
    let expected: Vec<u16> = (0..=fit).map(|i| if i < fit { 200 } else { 429 }).collect();
    assert_eq!(statuses, expected, "local buckets while Redis is down");
}

/// `returns` still batches through the DataLoader (its 50 ms window here): the request
/// cannot finish inside its 1 ms.
async fn slow_requests_time_out_with_a_code(app: TestApp) {
    let (status, body) = app
        .post(
            Some(&app.staff_token()),
            "{ orders(first: 100) { edges { node { id lines { sku { code } } customer { name } fulfillmentOrders { id } returns { number } } } } }",
            json!({}),
        )
        .await;
    assert_eq!((status, error_code(&body)), (504, "TIMEOUT"), "{body}");
    assert!(
        body["errors"][0]["extensions"]["correlationId"].is_string()
            || body.to_string().contains("TIMEOUT")
    );
}

async fn websocket_connections_authenticate_in_connection_init(app: TestApp) {
    let wait = Duration::from_secs(5);
    for protocol in ["graphql-transport-ws", "graphql-ws"] {
        let bare = json!({ "type": "connection_init" });
        let handshake = app.ws_handshake(protocol, Some(bare), wait).await;
        assert_eq!(
            handshake.close_code(),
            Some(4401),
            "{protocol} without credentials: {handshake:?}"
        );
        for (what, token) in [
            ("forged", app.forged_token()),
            ("expired", app.expired_token()),
        ] {
            let handshake = app
                .ws_handshake(protocol, Some(TestApp::init_with_token(&token)), wait)
                .await;
            assert_eq!(
                handshake.close_code(),
                Some(4403),
                "{protocol} {what}: {handshake:?}"
            );
        }
        let early = json!({ "id": "1", "type": "subscribe", "payload": { "query": "subscription { inventoryChanged(skuCodes: [\"X\"]) { code } }" } });
        let handshake = app.ws_handshake(protocol, Some(early), wait).await;
        assert_eq!(
            handshake.close_code(),
            Some(4401),
            "{protocol} subscribe before init: {handshake:?}"
        );
    }

    // Errors over a socket carry codes too.
    let Handshake::Acked(mut socket) = app
        .ws_handshake(
            "graphql-transport-ws",
            Some(TestApp::init_with_token(&app.staff_token())),
            wait,
        )
        .await
    else {
        panic!("staff are accepted");
    };
    let bad =
        json!({ "id": "1", "type": "subscribe", "payload": { "query": "subscription { nope }" } });
    socket
        .send(Message::Text(bad.to_string().into()))
        .await
        .unwrap();
    let frame = next_frame(&mut socket, wait).await.unwrap().unwrap();
    let errors = if frame["type"] == "error" {
        &frame["payload"]
    } else {
        &frame["payload"]["errors"]
    };
    assert_eq!(
        errors[0]["extensions"]["code"], "GRAPHQL_VALIDATION_FAILED",
        "{frame}"
    );

    // One socket runs at most 100 operations at once; completing one frees a slot.
    let follow = json!({ "query": "subscription($c: ID) { customerOrderUpdates(customerId: $c) { sequence } }",
                         "variables": { "c": orderly_tests::foreign_id(orderly::gid::Kind::Customer, 1) } });
    for id in 1..=101 {
        let start = json!({ "id": format!("s{id}"), "type": "subscribe", "payload": follow });
        socket
            .send(Message::Text(start.to_string().into()))
            .await
            .unwrap();
    }
    let frame = loop {
        let frame = next_frame(&mut socket, wait).await.unwrap().unwrap();
        if frame["id"] == "s101" {
            break frame;
        }
        assert!(
            !frame["id"].as_str().unwrap_or_default().starts_with('s'),
            "{frame}"
        );
    };
    assert_eq!(frame["type"], "error", "{frame}");
    assert_eq!(
        frame["payload"][0]["extensions"]["code"], "TOO_MANY_OPERATIONS",
        "{frame}"
    );
    let done = json!({ "id": "s1", "type": "complete" });
    socket
        .send(Message::Text(done.to_string().into()))
        .await
        .unwrap();
    let again = json!({ "id": "s102", "type": "subscribe", "payload": follow });
    socket
        .send(Message::Text(again.to_string().into()))
        .await
        .unwrap();
    while let Some(frame) = next_frame(&mut socket, Duration::from_millis(500)).await {
        let frame = frame.unwrap();
        assert_ne!(
            frame["id"], "s102",
            "the freed slot takes a new operation: {frame}"
        );
    }

    // A token that expires closes the socket, even mid-subscription.
    let short = app.staff_token_for(Duration::from_secs(2));
    let Handshake::Acked(mut socket) = app
        .ws_handshake(
            "graphql-transport-ws",
            Some(TestApp::init_with_token(&short)),
            wait,
        )
        .await
    else {
        panic!("a fresh token is accepted");
    };
    let start = json!({ "id": "1", "type": "subscribe", "payload": { "query": "subscription { inventoryChanged(skuCodes: [\"NONE\"]) { code } }" } });
    socket
        .send(Message::Text(start.to_string().into()))
        .await
        .unwrap();
    let closed = loop {
        match next_frame(&mut socket, Duration::from_secs(6)).await {
            Some(Ok(_)) => continue,
            Some(Err((code, _))) => break Some(code),
            None => break None,
        }
    };
    assert_eq!(closed, Some(4403), "closed when the token expired");
}

async fn websocket_without_connection_init_is_closed_after_ten_seconds(app: TestApp) {
    let started = std::time::Instant::now();
    let handshake = app
        .ws_handshake("graphql-transport-ws", None, Duration::from_secs(15))
        .await;
    assert_eq!(handshake.close_code(), Some(4408), "{handshake:?}");
    let waited = started.elapsed();
    assert!(
        (9..=13).contains(&waited.as_secs()),
        "closed after {waited:?}"
    );
}

const PLACE: &str = "mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { order { id number } userErrors { code field } } }";

async fn idempotency_keys_make_one_order_per_principal_for_a_day(app: TestApp) {
    let customer = app.customer_id_by_email("steven.boyle@example.com").await;
    let input = json!({
        "customerId": customer,
        "lines": [{ "sku": "MC4-PAIR", "quantity": 1 }],
        "shippingAddress": { "name": "Steven Boyle", "line1": "2150 Lombard St", "city": "San Francisco", "region": "CA",
                             "postalCode": "94123", "country": "US", "latitude": 37.7996, "longitude": -122.4368 },
        "payment": { "provider": "test", "token": "tok_visa" },
        "idempotencyKey": "checkout-7f3a"
    });
    let count = || async {
        let body = app
            .staff(
                "{ orders(first: 100) { edges { node { id } } } }",
                json!({}),
            )
            .await;
        body["data"]["orders"]["edges"].as_array().unwrap().len()
    };
    let before = count().await;
    let staff = app.staff_token();
    let runs = (0..8).map(|_| app.post(Some(&staff), PLACE, json!({ "input": input.clone() })));
    let results = futures_util::future::join_all(runs).await;
    let ids: std::collections::BTreeSet<String> = results
        .iter()
        .map(|(status, body)| {
            assert_eq!(*status, 200, "{body}");
            body["data"]["placeOrder"]["order"]["id"]
                .as_str()
                .unwrap_or_else(|| panic!("{body}"))
                .to_owned()
        })
        .collect();
    assert_eq!(ids.len(), 1, "eight concurrent retries, one order: {ids:?}");
    assert_eq!(count().await, before + 1);

    // Same key, other input: a conflict, nothing placed.
    let mut changed = input.clone();
    changed["lines"][0]["quantity"] = json!(2);
    let body = app.staff(PLACE, json!({ "input": changed })).await;
    assert_eq!(
        body["data"]["placeOrder"]["userErrors"][0]["code"], "IDEMPOTENCY_CONFLICT",
        "{body}"
    );

    // Keys are per principal: a partner's same key is its own.
    let partner = app.partner_token(&[Scope::OrdersWrite]);
    let body = app
        .as_token(&partner, PLACE, json!({ "input": input.clone() }))
        .await;
    let partners = body["data"]["placeOrder"]["order"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"));
    assert!(!ids.contains(partners));

    // After 24 hours the key is free again.
    let replay = app.staff(PLACE, json!({ "input": input.clone() })).await;
    assert!(
        ids.contains(
            replay["data"]["placeOrder"]["order"]["id"]
                .as_str()
                .unwrap()
        )
    );
    app.clock.advance(chrono::TimeDelta::hours(25));
    let fresh = app.staff(PLACE, json!({ "input": input })).await;
    let fresh_id = fresh["data"]["placeOrder"]["order"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{fresh}"));
    assert!(
        !ids.contains(fresh_id),
        "a day later the key places a new order"
    );
}

async fn every_error_carries_a_code_and_the_request_id(app: TestApp) {
    let response = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("x-request-id", "trace-42")
        .json(&json!({ "query": "{ order(id: \"x\") { id } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "trace-42");
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["errors"][0]["extensions"]["correlationId"], "trace-42",
        "{body}"
    );
    for query in [
        "{ nope }",
        "{ orders(first: -1) { edges { cursor } } }",
        "query { ",
        "{ order(id: 1) }",
    ] {
        let body = app.staff(query, json!({})).await;
        for error in body["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("{query}: {body}"))
        {
            assert!(error["extensions"]["code"].is_string(), "{query}: {body}");
            assert!(
                error["extensions"]["correlationId"].is_string(),
                "{query}: {body}"
            );
        }
    }
}

/// With the database gone, clients get a code (`UNAVAILABLE` once the probe has seen it
/// go, `INTERNAL` before) and an id — never the driver's words — and the server keeps
/// serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_database_leaks_nothing() {
    let Some(backend) = orderly_tests::Backend::postgres() else {
        eprintln!("TEST_DATABASE_URL is not set: database-loss hygiene not checked");
        return;
    };
    let app = orderly_tests::spawn_app_with(
        backend,
        Options {
            seed: false,
            ..Options::default()
        },
    )
    .await;
    app.staff("{ locations { id } }", json!({})).await;
    let name = app
        .database_url
        .rsplit('/')
        .next()
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let admin_url = std::env::var("TEST_DATABASE_URL").unwrap();
    let admin = sea_orm::Database::connect(&admin_url).await.unwrap();
    use sea_orm::ConnectionTrait;
    admin
        .execute_unprepared(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .await
        .unwrap();
    admin.close().await.ok();

    for query in [
        "{ locations { id } }",
        "{ orders(first: 5) { edges { node { id } } } }",
        r#"mutation { createCustomer(input: { email: "gone@example.com", name: "Gone" }) { customer { id } userErrors { code } } }"#,
    ] {
        let (status, body) = app.post(Some(&app.staff_token()), query, json!({})).await;
        assert!(status == 200 || status == 503, "{query}: {status} {body}");
        let error = &body["errors"][0];
        match error["extensions"]["code"].as_str() {
            Some("INTERNAL") => assert_eq!(error["message"], "internal error", "{body}"),
            Some("UNAVAILABLE") => assert_eq!(status, 503, "{body}"),
            _ => panic!("{query}: {body}"),
        }
        assert!(error["extensions"]["correlationId"].is_string(), "{body}");
        let text = body.to_string().to_lowercase();
        for leak in [
            "postgres",
            "sqlx",
            "database",
            "does not exist",
            "select",
            "insert",
            "pool",
            "connection",
        ] {
            assert!(!text.contains(leak), "{query} leaks '{leak}': {body}");
        }
    }
    assert_eq!(app.get("/ready").await.status(), 503);
    assert_eq!(app.get("/health").await.status(), 200);
}

/// Tokens minted elsewhere carry only the contract's claims: no `iat` is needed; `nbf`
/// is honoured when present.
async fn tokens_need_only_the_contract_claims_and_nbf_is_honoured(app: TestApp) {
    let minimal = app.token_with_claims(json!({
        "sub": "ops", "role": "staff", "scopes": [], "exp": now_secs() + 600,
        "iss": "orderly", "aud": "orderly-api"
    }));
    let (status, body) = app
        .post(Some(&minimal), "{ locations { id } }", json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["errors"].is_null(), "{body}");

    let not_yet = app.token_with_claims(json!({
        "sub": "ops", "role": "staff", "scopes": [], "exp": now_secs() + 600,
        "nbf": now_secs() + 300, "iss": "orderly", "aud": "orderly-api"
    }));
    let (status, body) = app
        .post(Some(&not_yet), "{ locations { id } }", json!({}))
        .await;
    assert_eq!(
        (status, error_code(&body)),
        (401, "UNAUTHENTICATED"),
        "{body}"
    );

    let already = app.token_with_claims(json!({
        "sub": "ops", "role": "staff", "scopes": [], "exp": now_secs() + 600,
        "nbf": now_secs() - 5, "iss": "orderly", "aud": "orderly-api"
    }));
    let (status, body) = app
        .post(Some(&already), "{ locations { id } }", json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
}

/// A refusal names the limit that was hit, with the value and the bound.
async fn refusals_name_the_limit_that_was_hit(app: TestApp) {
    // Shallow (depth 7) but costly: 100 × 100 items.
    let costly = "{ orders(first: 100) { edges { node { id number customer { orders(first: 100) { edges { node { id number } } } } } } } }";
    let body = app.staff(costly, json!({})).await;
    let error = &body["errors"][0];
    assert_eq!(error["extensions"]["code"], "QUERY_TOO_COMPLEX", "{body}");
    let message = error["message"].as_str().unwrap();
    assert!(message.starts_with("the query costs "), "{body}");
    assert!(!message.contains("deep"), "{body}");
    assert!(
        error["extensions"]["cost"].as_u64().unwrap() > 10_000,
        "{body}"
    );
    assert_eq!(error["extensions"]["maxCost"], 10_000, "{body}");
    assert!(error["extensions"]["depth"].is_null(), "{body}");

    // Deep but cheap.
    let deep = "{ orders(first: 1) { edges { node { customer { orders(first: 1) { edges { node { customer { orders(first: 1) { edges { node { customer { id } } } } } } } } } } } } }";
    let body = app.staff(deep, json!({})).await;
    let error = &body["errors"][0];
    assert_eq!(error["extensions"]["code"], "QUERY_TOO_COMPLEX", "{body}");
    assert!(
        error["message"].as_str().unwrap().contains("nested"),
        "{body}"
    );
    assert_eq!(error["extensions"]["maxDepth"], 12, "{body}");
    assert!(
        error["extensions"]["depth"].as_u64().unwrap() > 12,
        "{body}"
    );
    assert!(error["extensions"]["cost"].is_null(), "{body}");
}

/// `lastUsedAt` says when a key last worked, written at most once a minute.
async fn api_keys_remember_when_they_were_last_used(app: TestApp) {
    let body = app
        .staff(
            r#"mutation { createApiKey(input: { name: "ERP", scopes: ["orders:read"] }) { key apiKey { id lastUsedAt } } }"#,
            json!({}),
        )
        .await;
    let key = body["data"]["createApiKey"]["key"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        body["data"]["createApiKey"]["apiKey"]["lastUsedAt"].is_null(),
        "{body}"
    );
    let last_used = || async {
        let body = app.staff("{ apiKeys { lastUsedAt } }", json!({})).await;
        body["data"]["apiKeys"][0]["lastUsedAt"].clone()
    };
    let query = "{ orders(first: 1) { edges { node { id } } } }";
    let (status, _) = app.post_with_api_key(&key, query, json!({})).await;
    assert_eq!(status, 200);
    let first = last_used().await;
    assert!(first.is_string(), "used keys have lastUsedAt: {first}");

    // Within the minute: no new write.
    app.clock.advance(chrono::Duration::seconds(30));
    app.post_with_api_key(&key, query, json!({})).await;
    assert_eq!(last_used().await, first);

    // After it: the time moves on.
    app.clock.advance(chrono::Duration::seconds(40));
    app.post_with_api_key(&key, query, json!({})).await;
    let later = last_used().await;
    assert_ne!(later, first);
    assert!(
        later.as_str().unwrap() > first.as_str().unwrap(),
        "{later} > {first}"
    );
}

backend_tests! {
    tokens_need_only_the_contract_claims_and_nbf_is_honoured => Options::default();
    refusals_name_the_limit_that_was_hit => Options::default();
    api_keys_remember_when_they_were_last_used => Options::default();
    bad_tokens_are_refused_and_never_downgraded => Options::default();
    schema_tools_can_introspect_but_not_fan_out => Options::default();
    introspection_can_be_closed_to_anonymous_callers => Options { public_introspection: Some(false), ..Options::default() };
    partner_api_keys_are_shown_once_hashed_and_revocable => Options { seed: true, ..Options::default() };
    oversized_deep_wide_aliased_and_batched_requests_are_refused => Options::default();
    costs_are_reported_and_spent_budgets_are_rate_limited => Options { seed: true, rate_limit: Some((1000.0, 10.0)), ..Options::default() };
    // Loaders wait 50 ms to batch: the request outlives its 1 ms however fast the machine.
    slow_requests_time_out_with_a_code => Options { seed: true, request_timeout_ms: Some(1), loader_delay_ms: Some(50), ..Options::default() };
    websocket_connections_authenticate_in_connection_init => Options::default();
    websocket_without_connection_init_is_closed_after_ten_seconds => Options::default();
    idempotency_keys_make_one_order_per_principal_for_a_day => Options { seed: true, ..Options::default() };
    every_error_carries_a_code_and_the_request_id => Options::default();
}

/// A WebSocket message over the 256 KiB limit — one frame, or a run of continuation
/// frames — closes the socket with 1009 and a reason naming the limit, before
/// `connection_init` and after it alike; one just under the limit is read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_messages_over_the_limit_close_with_1009() {
    use tokio_tungstenite::tungstenite::protocol::frame::Frame;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
    let app = orderly_tests::spawn_app(orderly_tests::Backend::Sqlite).await;
    let big = format!(
        r#"{{"type":"ping","payload":{{"x":"{}"}}}}"#,
        "a".repeat(300 * 1024)
    );
    let expect_1009 = |closed: Option<Result<Value, (u16, String)>>, case: &str| match closed {
        Some(Err((code, reason))) => {
            assert_eq!(code, 1009, "{case}: {reason}");
            assert!(reason.contains("256 KiB"), "{case}: {reason}");
        }
        other => panic!("{case}: {other:?}"),
    };

    let mut socket = app.open_socket("graphql-transport-ws").await;
    socket
        .send(Message::Text(big.clone().into()))
        .await
        .unwrap();
    expect_1009(
        next_frame(&mut socket, Duration::from_secs(5)).await,
        "one frame before connection_init",
    );

    let init = json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {}", app.staff_token()) } });
    let init = init.to_string();
    let acked = async |socket: &mut orderly_tests::Socket| {
        socket
            .send(Message::Text(init.clone().into()))
            .await
            .unwrap();
        let ack = next_frame(socket, Duration::from_secs(5)).await;
        assert!(
            matches!(&ack, Some(Ok(v)) if v["type"] == "connection_ack"),
            "{ack:?}"
        );
    };
    let mut socket = app.open_socket("graphql-transport-ws").await;
    acked(&mut socket).await;
    // Just under the limit is a message like any other: a ping gets its pong.
    let fits = format!(
        r#"{{"type":"ping","payload":{{"x":"{}"}}}}"#,
        "a".repeat(200 * 1024)
    );
    socket.send(Message::Text(fits.into())).await.unwrap();
    let pong = tokio::time::timeout(Duration::from_secs(5), async {
        use futures_util::StreamExt;
        loop {
            match socket.next().await {
                Some(Ok(Message::Text(text))) if text.contains("\"pong\"") => return true,
                Some(Ok(Message::Text(_) | Message::Ping(_) | Message::Pong(_))) => continue,
                other => panic!("{other:?}"),
            }
        }
    })
    .await;
    assert_eq!(
        pong.ok(),
        Some(true),
        "a message under the limit is answered"
    );
    socket
        .send(Message::Text(big.clone().into()))
        .await
        .unwrap();
    expect_1009(
        next_frame(&mut socket, Duration::from_secs(5)).await,
        "one frame after connection_init",
    );

    let mut socket = app.open_socket("graphql-transport-ws").await;
    acked(&mut socket).await;
    let chunk = vec![b'a'; 100 * 1024];
    let mut first = Frame::message(b"{\"x\":\"".to_vec(), OpCode::Data(Data::Text), false);
    first.header_mut().is_final = false;
    socket.send(Message::Frame(first)).await.unwrap();
    for _ in 0..3 {
        let part = Frame::message(chunk.clone(), OpCode::Data(Data::Continue), false);
        if socket.send(Message::Frame(part)).await.is_err() {
            break;
        }
    }
    expect_1009(
        next_frame(&mut socket, Duration::from_secs(5)).await,
        "continuations after connection_init",
    );
}

/// A Redis that accepts connections but never answers (a listener in the test) costs
/// one short deadline, not one per request: 32 concurrent queries with rate limiting on
/// (the default) are answered with p50 under 100 ms, from local buckets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_redis_does_not_slow_requests() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let app = orderly_tests::spawn_app_with(
        orderly_tests::Backend::Sqlite,
        Options {
            redis_url: Some(format!("redis://127.0.0.1:{port}")),
            rate_limit: Some((20_000.0, 1_000.0)),
            ..Options::default()
        },
    )
    .await;
    let token = app.staff_token();
    let query = "{ locations { code } }";
    // The first request may meet the deadline and open the breaker.
    let (status, body) = app.post(Some(&token), query, json!({})).await;
    assert_eq!(status, 200, "{body}");
    let mut rounds = Vec::new();
    for _ in 0..3 {
        let requests: Vec<_> = (0..32)
            .map(|_| {
                let (client, url, token) = (
                    app.client.clone(),
                    format!("{}/graphql", app.address),
                    token.clone(),
                );
                tokio::spawn(async move {
                    let started = std::time::Instant::now();
                    let response = client
                        .post(url)
                        .bearer_auth(token)
                        .json(&json!({ "query": query }))
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(response.status(), 200);
                    started.elapsed()
                })
            })
            .collect();
        for request in requests {
            rounds.push(request.await.unwrap());
        }
    }
    rounds.sort_unstable();
    let (p50, max) = (rounds[rounds.len() / 2], rounds[rounds.len() - 1]);
    eprintln!("hung Redis, 3 x 32 concurrent queries: p50 {p50:?}, max {max:?}");
    assert!(p50.as_millis() < 100, "p50 {p50:?}, max {max:?}");
}
