mod common;

use axum::http::{Method, StatusCode};
use common::{lines, product_id, TestApp, APPLE, BANANA};
use serde_json::Value;

#[tokio::test]
async fn a_new_guest_has_an_empty_cart_and_no_cookie() {
    let app = TestApp::new().await;
    let client = app.client();
    let response = client.get("/api/v1/cart").await;
    assert_eq!(response.status, StatusCode::OK);
    assert!(response.set_cookie().is_none(), "no cookie before the first change");
    let cart = response.json();
    assert_eq!(cart["lines"], serde_json::json!([]));
    assert_eq!(cart["item_count"], 0);
    assert_eq!(cart["subtotal_cents"], 0);
    assert_eq!(cart["currency"], "USD");
}

#[tokio::test]
async fn the_first_change_sets_the_session_cookie() {
    let app = TestApp::new().await;
    let client = app.client();
    let response = client.add(BANANA, 2).await;
    assert_eq!(response.status, StatusCode::OK);
    let cookie = response.set_cookie().expect("a session cookie");
    assert!(cookie.starts_with("shop_session="), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(cookie.contains("Path=/"), "{cookie}");
    assert!(!cookie.contains("Secure"), "not Secure unless configured: {cookie}");
    // The cart comes back with the cookie.
    assert_eq!(lines(&client.cart().await), vec![("banana".to_string(), 2)]);
}

#[tokio::test]
async fn adding_sums_into_one_line_and_totals_add_up() {
    let app = TestApp::new().await;
    let client = app.client();
    client.add(BANANA, 2).await;
    client.add(APPLE, 1).await;
    let response = client.add(BANANA, 3).await;
    assert_eq!(response.status, StatusCode::OK);
    let cart = response.json();
    assert_eq!(lines(&cart), vec![("banana".to_string(), 5), ("apple".to_string(), 1)]);
    let mut subtotal = 0;
    let mut count = 0;
    for line in cart["lines"].as_array().unwrap() {
        let total = line["unit_price_cents"].as_i64().unwrap() * line["quantity"].as_i64().unwrap();
        assert_eq!(line["line_total_cents"].as_i64().unwrap(), total);
        for field in
            ["product_id", "slug", "name", "unit_price_cents", "quantity", "line_total_cents", "stock"]
        {
            assert!(!line[field].is_null(), "{field}");
        }
        subtotal += total;
        count += line["quantity"].as_i64().unwrap();
    }
    assert_eq!(cart["subtotal_cents"].as_i64().unwrap(), subtotal);
    assert_eq!(cart["item_count"].as_i64().unwrap(), count);
    assert_eq!(subtotal, 5 * 129 + 89);
}

#[tokio::test]
async fn setting_and_removing_lines() {
    let app = TestApp::new().await;
    let client = app.client();
    client.add(BANANA, 2).await;
    client.add(APPLE, 4).await;
    let set = client.json(Method::PUT, &format!("/api/v1/cart/items/{BANANA}"), r#"{"quantity":7}"#).await;
    assert_eq!(set.status, StatusCode::OK);
    assert_eq!(lines(&set.json()), vec![("banana".to_string(), 7), ("apple".to_string(), 4)]);
    let zero = client.json(Method::PUT, &format!("/api/v1/cart/items/{BANANA}"), r#"{"quantity":0}"#).await;
    assert_eq!(lines(&zero.json()), vec![("apple".to_string(), 4)]);
    let removed = client.delete(&format!("/api/v1/cart/items/{APPLE}")).await;
    assert_eq!(removed.status, StatusCode::OK);
    assert_eq!(removed.json()["item_count"], 0);
    // Removing what is not there changes nothing and is not an error.
    let again = client.delete(&format!("/api/v1/cart/items/{APPLE}")).await;
    assert_eq!(again.status, StatusCode::OK);
    // PUT on a product not yet in the cart sets its line.
    let put_new = client.json(Method::PUT, &format!("/api/v1/cart/items/{APPLE}"), r#"{"quantity":3}"#).await;
    assert_eq!(lines(&put_new.json()), vec![("apple".to_string(), 3)]);
}

async fn assert_refused(
    client: &common::Client,
    response: common::TestResponse,
    status: StatusCode,
    code: &str,
    before: &Value,
    what: &str,
) {
    assert_eq!(response.status, status, "{what}: {}", response.text());
    assert_eq!(response.error_code(), code, "{what}");
    assert_eq!(&client.cart().await, before, "{what}: the cart is unchanged");
}

#[tokio::test]
async fn bad_quantities_are_400_and_change_nothing() {
    let app = TestApp::new().await;
    let client = app.client();
    client.add(BANANA, 1).await;
    let before = client.cart().await;
    for quantity in
        ["0", "-1", "100", "1.5", "\"3\"", "null", "1e30", "99999999999999999999", "true", "[1]", "{}"]
    {
        let body = format!(r#"{{"product_id":{APPLE},"quantity":{quantity}}}"#);
        let response = client.json(Method::POST, "/api/v1/cart/items", &body).await;
        assert_refused(
            &client,
            response,
            StatusCode::BAD_REQUEST,
            "invalid_input",
            &before,
            &format!("add {quantity}"),
        )
        .await;
        let body = format!(r#"{{"quantity":{quantity}}}"#);
        if quantity == "0" {
            continue; // 0 is a valid PUT: it removes the line.
        }
        let response = client.json(Method::PUT, &format!("/api/v1/cart/items/{BANANA}"), &body).await;
        assert_refused(
            &client,
            response,
            StatusCode::BAD_REQUEST,
            "invalid_input",
            &before,
            &format!("set {quantity}"),
        )
        .await;
    }
    for body in [
        "",
        "{",
        "not json",
        "[]",
        r#"{"product_id":1}"#,
        r#"{"quantity":1}"#,
        r#"{"product_id":"1","quantity":1}"#,
        r#"{"product_id":1.5,"quantity":1}"#,
        r#"{"product_id":1,"quantity":1,"extra":true}"#,
    ] {
        let response = client.json(Method::POST, "/api/v1/cart/items", body).await;
        assert_refused(&client, response, StatusCode::BAD_REQUEST, "invalid_input", &before, body).await;
    }
    // Not declared as JSON.
    let response = client
        .send(
            axum::http::Request::post("/api/v1/cart/items")
                .header("content-type", "text/plain")
                .body(axum::body::Body::from(r#"{"product_id":2,"quantity":1}"#))
                .unwrap(),
        )
        .await;
    assert_refused(&client, response, StatusCode::BAD_REQUEST, "invalid_input", &before, "text/plain").await;
    for path in ["abc", "0", "-1", "1.5", "99999999999999999999999"] {
        let response =
            client.json(Method::PUT, &format!("/api/v1/cart/items/{path}"), r#"{"quantity":1}"#).await;
        assert_refused(&client, response, StatusCode::BAD_REQUEST, "invalid_input", &before, path).await;
        let response = client.delete(&format!("/api/v1/cart/items/{path}")).await;
        assert_refused(&client, response, StatusCode::BAD_REQUEST, "invalid_input", &before, path).await;
    }
}

#[tokio::test]
async fn unknown_products_are_404_and_a_refused_first_add_sets_no_cookie() {
    let app = TestApp::new().await;
    let client = app.client();
    let response = client.add(999_999, 1).await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);
    assert_eq!(response.error_code(), "not_found");
    assert!(response.set_cookie().is_none());
    client.add(BANANA, 1).await;
    let before = client.cart().await;
    let response = client.json(Method::PUT, "/api/v1/cart/items/999999", r#"{"quantity":1}"#).await;
    assert_refused(&client, response, StatusCode::NOT_FOUND, "not_found", &before, "put").await;
    let response = client.delete("/api/v1/cart/items/999999").await;
    assert_refused(&client, response, StatusCode::NOT_FOUND, "not_found", &before, "delete").await;
}

#[tokio::test]
async fn a_line_never_exceeds_stock_nor_99() {
    let app = TestApp::new().await;
    let client = app.client();
    let saffron = product_id(&client, "saffron").await;
    let truffle = product_id(&client, "black-truffle").await;

    let out = client.add(saffron, 1).await;
    assert_eq!(out.status, StatusCode::CONFLICT);
    assert_eq!(out.error_code(), "insufficient_stock");
    assert!(out.set_cookie().is_none(), "a refused first add makes no session");

    assert_eq!(client.add(truffle, 2).await.status, StatusCode::OK);
    let before = client.cart().await;
    let response = client.add(truffle, 1).await;
    assert_refused(&client, response, StatusCode::CONFLICT, "insufficient_stock", &before, "3rd truffle")
        .await;
    let response =
        client.json(Method::PUT, &format!("/api/v1/cart/items/{truffle}"), r#"{"quantity":3}"#).await;
    assert_refused(&client, response, StatusCode::CONFLICT, "insufficient_stock", &before, "set 3 truffles")
        .await;

    // Bananas: 120 in stock, but a line holds at most 99.
    assert_eq!(client.add(BANANA, 99).await.status, StatusCode::OK);
    let before = client.cart().await;
    let response = client.add(BANANA, 1).await;
    assert_refused(&client, response, StatusCode::CONFLICT, "insufficient_stock", &before, "100th banana")
        .await;
    let response = client.add(BANANA, 99).await;
    assert_refused(&client, response, StatusCode::CONFLICT, "insufficient_stock", &before, "198 bananas")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_adds_of_one_make_twenty() {
    let app = TestApp::new().await;
    let client = app.client();
    // The first change makes the cart and the cookie; the 20 then race on one cart.
    client.add(APPLE, 1).await;
    let adds = (0..20).map(|_| {
        let client = client.clone();
        tokio::spawn(async move { client.add(BANANA, 1).await.status })
    });
    for status in futures_join(adds).await {
        assert_eq!(status, StatusCode::OK);
    }
    assert_eq!(lines(&client.cart().await), vec![("apple".to_string(), 1), ("banana".to_string(), 20)]);
}

async fn futures_join<T: Send + 'static>(
    handles: impl Iterator<Item = tokio::task::JoinHandle<T>>,
) -> Vec<T> {
    let mut out = Vec::new();
    let handles: Vec<_> = handles.collect();
    for handle in handles {
        out.push(handle.await.unwrap());
    }
    out
}

#[tokio::test]
async fn carts_belong_to_their_session() {
    let app = TestApp::new().await;
    let alice = app.client();
    let bob = app.client();
    alice.add(BANANA, 3).await;
    bob.add(APPLE, 1).await;
    assert_eq!(lines(&alice.cart().await), vec![("banana".to_string(), 3)]);
    assert_eq!(lines(&bob.cart().await), vec![("apple".to_string(), 1)]);
    // A made-up session id is simply a new guest.
    let stranger = app.client();
    *stranger.cookie.lock().unwrap() = Some("shop_session=not-a-real-session-id".into());
    let response = stranger.get("/api/v1/cart").await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.json()["item_count"], 0);
}

/// SQLite checkpoints its write-ahead log as a write finishes, once the log holds 1000 pages,
/// and then starts the log over: under a stream of adds it stays at about 4 MiB. An add that
/// stopped its statement at the returned row never let the checkpoint run (server::db): the
/// log then grew by every page every add wrote.
#[tokio::test]
async fn a_stream_of_adds_keeps_the_write_ahead_log_checkpointed() {
    if common::on_postgres() {
        return;
    }
    let app = TestApp::new().await;
    app.sql("UPDATE products SET stock = 1000000").await;
    let products = app.sql_i64("SELECT COUNT(*) FROM products").await;
    let client = app.client();
    let rounds = 90;
    for _ in 0..rounds {
        for product_id in 1..=products {
            assert_eq!(client.add(product_id, 1).await.status, StatusCode::OK);
        }
    }
    let cart = client.cart().await;
    assert_eq!(cart["item_count"].as_i64().unwrap(), rounds * products);
    let file = app.database_url.trim_start_matches("sqlite://").to_string() + "-wal";
    let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
    // 1000 pages of 4 KiB, each with its frame header, and what the last writes added; the
    // adds here write about 2,900 pages, so a log that was never checkpointed is 12 MB.
    assert!(size < 6 << 20, "the write-ahead log grew to {size} bytes");
}

/// A written line records itself on its cart (`updated_at`, whole seconds, for a shop that
/// clears abandoned carts), but writes the cart's row at most once a second: a stream of adds
/// to one cart then writes the line's page, not the cart's too, for each add. A trigger of the
/// test's own counts the writes to the cart's row.
#[tokio::test]
async fn a_written_line_touches_its_cart_at_most_once_a_second() {
    let app = TestApp::new().await;
    let client = app.client();
    assert_eq!(client.add(APPLE, 1).await.status, StatusCode::OK);
    app.sql("UPDATE carts SET updated_at = 1000000000").await;
    if common::on_postgres() {
        app.sql("CREATE TABLE test_cart_writes (at BIGINT)").await;
        app.sql(
            "CREATE FUNCTION test_count_cart_writes() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN INSERT INTO test_cart_writes VALUES (1); RETURN NULL; END $$",
        )
        .await;
        app.sql(
            "CREATE TRIGGER test_count_cart_writes AFTER UPDATE ON carts \
             FOR EACH ROW EXECUTE FUNCTION test_count_cart_writes()",
        )
        .await;
    } else {
        app.sql("CREATE TABLE test_cart_writes (at INTEGER)").await;
        app.sql(
            "CREATE TRIGGER test_count_cart_writes AFTER UPDATE ON carts \
             BEGIN INSERT INTO test_cart_writes VALUES (1); END",
        )
        .await;
    }
    let now = || std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    // Start early in a clock second, so that the adds most likely fall within one.
    let into_second = now().subsec_millis();
    if into_second > 200 {
        tokio::time::sleep(std::time::Duration::from_millis(u64::from(1000 - into_second))).await;
    }
    let first = now().as_secs() as i64;
    let adds = 6;
    for _ in 0..adds {
        assert_eq!(client.add(BANANA, 1).await.status, StatusCode::OK);
    }
    let last = now().as_secs() as i64;
    assert_eq!(lines(&client.cart().await), vec![("apple".to_string(), 1), ("banana".to_string(), adds)]);

    // PostgreSQL rounds the epoch to the nearest second, SQLite truncates: one more either way.
    let touched = app.sql_i64("SELECT updated_at FROM carts").await;
    assert!((first..=last + 1).contains(&touched), "updated_at {touched}, adds from {first} to {last}");
    let writes = app.sql_i64("SELECT COUNT(*) FROM test_cart_writes").await;
    let seconds = last - first + 2;
    assert!(
        (1..=seconds).contains(&writes),
        "{adds} adds within {seconds} clock second(s) wrote the cart's row {writes} times"
    );
}

/// Adds from many visitors at once share the writer's turns (a turn writes every add waiting
/// then, in one statement): each still lands once, in its own visitor's cart, adds to one line
/// waiting in the same turn included (one statement cannot write a row twice).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_adds_of_many_visitors_each_land_once_in_their_own_cart() {
    let app = TestApp::new().await;
    let clients: Vec<_> = (0..16).map(|_| app.client()).collect();
    for client in &clients {
        assert_eq!(client.add(APPLE, 1).await.status, StatusCode::OK);
    }
    let mut adds = Vec::new();
    for client in &clients {
        for (product, quantity, times) in [(BANANA, 1, 6), (APPLE, 2, 3)] {
            for _ in 0..times {
                let client = client.clone();
                adds.push(tokio::spawn(async move { client.add(product, quantity).await.status }));
            }
        }
    }
    for status in futures_join(adds.into_iter()).await {
        assert_eq!(status, StatusCode::OK);
    }
    for client in &clients {
        assert_eq!(lines(&client.cart().await), vec![("apple".to_string(), 7), ("banana".to_string(), 6)]);
    }
}

/// Racing adds are refused exactly where the stock runs out, each on its own: 12 visitors each
/// send 3 adds of a black truffle (2 in stock) at once, and each cart gets 2, with one 409 each.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_adds_beyond_stock_are_refused_one_by_one() {
    let app = TestApp::new().await;
    let clients: Vec<_> = (0..12).map(|_| app.client()).collect();
    let truffle = product_id(&clients[0], "black-truffle").await;
    for client in &clients {
        assert_eq!(client.add(APPLE, 1).await.status, StatusCode::OK);
    }
    let mut adds = Vec::new();
    for (n, client) in clients.iter().enumerate() {
        for _ in 0..3 {
            let client = client.clone();
            adds.push(tokio::spawn(async move { (n, client.add(truffle, 1).await.status) }));
        }
    }
    let mut ok = vec![0; clients.len()];
    let mut refused = vec![0; clients.len()];
    for (n, status) in futures_join(adds.into_iter()).await {
        match status {
            StatusCode::OK => ok[n] += 1,
            StatusCode::CONFLICT => refused[n] += 1,
            other => panic!("visitor {n}: {other}"),
        }
    }
    assert_eq!(ok, vec![2; clients.len()]);
    assert_eq!(refused, vec![1; clients.len()]);
    for client in &clients {
        assert_eq!(
            lines(&client.cart().await),
            vec![("apple".to_string(), 1), ("black-truffle".to_string(), 2)]
        );
    }
}
