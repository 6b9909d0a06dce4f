//! Checkout: one order per intent, prices as charged, stock that never goes below zero.
mod common;

use axum::{
    body::Body,
    http::{Method, Request, StatusCode},
};
use common::{lines, product_id, Client, TestApp, APPLE, BANANA};
use serde_json::Value;

const SHIPPING: &str = r#"{"shipping":{"name":"Ann Apple","address":"1 Orchard Row, Greenville"}}"#;

async fn signed_in(app: &TestApp, name: &str) -> Client {
    let client = app.client();
    let (email, password) = client.register(name).await;
    assert_eq!(client.login(&email, &password, "session").await.status, StatusCode::OK);
    client
}

async fn order(client: &Client, key: &str, body: &str) -> common::TestResponse {
    let mut request = Request::post("/api/v1/orders").header("content-type", "application/json");
    if !key.is_empty() {
        request = request.header("idempotency-key", key);
    }
    client.send(request.body(Body::from(body.to_string())).unwrap()).await
}

#[tokio::test]
async fn placing_an_order_charges_catalogue_prices_takes_stock_and_empties_the_cart() {
    let app = TestApp::new().await;
    let client = signed_in(&app, "Ann").await;
    client.add(BANANA, 3).await;
    client.add(APPLE, 2).await;
    let banana_stock = app.sql_i64("SELECT stock FROM products WHERE id = 1").await;
    let response = order(&client, "intent-1", SHIPPING).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    let placed = response.json();
    assert_eq!(placed["total_cents"], 3 * 129 + 2 * 89);
    assert_eq!(placed["currency"], "USD");
    assert_eq!(placed["status"], "placed");
    assert!(placed["created_at"].as_str().unwrap().contains('T'));
    let order_lines = placed["lines"].as_array().unwrap();
    assert_eq!(order_lines.len(), 2);
    for line in order_lines {
        assert_eq!(
            line["line_total_cents"].as_i64().unwrap(),
            line["unit_price_cents"].as_i64().unwrap() * line["quantity"].as_i64().unwrap()
        );
    }
    assert_eq!(app.sql_i64("SELECT stock FROM products WHERE id = 1").await, banana_stock - 3);
    assert_eq!(client.cart().await["item_count"], 0, "the cart is empty");
    // Prices as they were: a later price change does not touch the order.
    app.sql("UPDATE products SET price_cents = 999 WHERE id = 1").await;
    let id = placed["id"].as_i64().unwrap();
    let again = client.get(&format!("/api/v1/orders/{id}")).await.json();
    assert_eq!(again["total_cents"], placed["total_cents"]);
}

#[tokio::test]
async fn the_same_key_never_makes_a_second_order() {
    let app = TestApp::new().await;
    let client = signed_in(&app, "Bo").await;
    client.add(BANANA, 2).await;
    let stock = app.sql_i64("SELECT stock FROM products WHERE id = 1").await;
    let first = order(&client, "same-key", SHIPPING).await.json();
    // A retry, and (with something new in the cart) a resubmission: same order, nothing more.
    client.add(APPLE, 1).await;
    let retry = order(&client, "same-key", SHIPPING).await;
    assert_eq!(retry.status, StatusCode::CREATED);
    assert_eq!(retry.json(), first);
    assert_eq!(app.sql_i64("SELECT COUNT(*) FROM orders").await, 1);
    assert_eq!(app.sql_i64("SELECT stock FROM products WHERE id = 1").await, stock - 2);
    assert_eq!(lines(&client.cart().await), vec![("apple".to_string(), 1)], "the new line waits");
    // Ten at once with one new key: one order.
    let handles: Vec<_> = (0..10)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { order(&client, "burst", SHIPPING).await.json()["id"].as_i64() })
        })
        .collect();
    let mut ids = Vec::new();
    for handle in handles {
        ids.push(handle.await.unwrap());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(app.sql_i64("SELECT COUNT(*) FROM orders").await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_buyers_racing_for_the_last_items_make_one_order() {
    let app = TestApp::new().await;
    let truffle = product_id(&app.client(), "black-truffle").await;
    let (ann, bo) = (signed_in(&app, "Ann").await, signed_in(&app, "Bo").await);
    for round in 0..15 {
        app.sql(&format!("UPDATE products SET stock = 2 WHERE id = {truffle}")).await;
        for buyer in [&ann, &bo] {
            assert_eq!(buyer.add(truffle, 2).await.status, StatusCode::OK);
        }
        let (a, b) = tokio::join!(
            tokio::spawn({
                let ann = ann.clone();
                async move { order(&ann, &format!("a{round}"), SHIPPING).await }
            }),
            tokio::spawn({
                let bo = bo.clone();
                async move { order(&bo, &format!("b{round}"), SHIPPING).await }
            }),
        );
        let mut statuses = vec![a.unwrap().status, b.unwrap().status];
        statuses.sort();
        assert_eq!(statuses, vec![StatusCode::CREATED, StatusCode::CONFLICT], "round {round}");
        assert_eq!(app.sql_i64(&format!("SELECT stock FROM products WHERE id = {truffle}")).await, 0);
        // The loser keeps their cart; empty it for the next round.
        for buyer in [&ann, &bo] {
            buyer.delete(&format!("/api/v1/cart/items/{truffle}")).await;
        }
    }
    assert_eq!(app.sql_i64("SELECT COUNT(*) FROM orders").await, 15);
}

#[tokio::test]
async fn short_stock_names_the_lines_and_changes_nothing() {
    let app = TestApp::new().await;
    let client = signed_in(&app, "Cy").await;
    client.add(BANANA, 5).await;
    client.add(APPLE, 4).await;
    app.sql("UPDATE products SET stock = 3 WHERE id = 2").await;
    let cart_before = client.cart().await;
    let response = order(&client, "k1", SHIPPING).await;
    assert_eq!(response.status, StatusCode::CONFLICT);
    assert_eq!(response.error_code(), "insufficient_stock");
    assert!(response.json()["error"]["message"].as_str().unwrap().contains("Apples"));
    assert_eq!(app.sql_i64("SELECT stock FROM products WHERE id = 2").await, 3);
    assert_eq!(app.sql_i64("SELECT COUNT(*) FROM orders").await, 0);
    assert_eq!(client.cart().await, cart_before);
}

#[tokio::test]
async fn a_changed_price_is_never_charged_unseen() {
    let app = TestApp::new().await;
    let client = signed_in(&app, "Di").await;
    let shown = client.add(BANANA, 2).await.json()["subtotal_cents"].as_i64().unwrap();
    app.sql("UPDATE products SET price_cents = 150 WHERE id = 1").await;
    let body = format!(r#"{{"shipping":{{"name":"Di","address":"2 Lane"}},"expected_total_cents":{shown}}}"#);
    let response = order(&client, "k", &body).await;
    assert_eq!(response.status, StatusCode::CONFLICT);
    assert_eq!(response.error_code(), "price_changed");
    assert_eq!(app.sql_i64("SELECT COUNT(*) FROM orders").await, 0);
    // Confirming the new total places it.
    let body = r#"{"shipping":{"name":"Di","address":"2 Lane"},"expected_total_cents":300}"#;
    let response = order(&client, "k2", body).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    assert_eq!(response.json()["total_cents"], 300);
}

#[tokio::test]
async fn orders_are_private_listed_newest_first_and_need_a_user() {
    let app = TestApp::new().await;
    let ann = signed_in(&app, "Ann").await;
    let bo = signed_in(&app, "Bo").await;
    ann.add(BANANA, 1).await;
    let first = order(&ann, "1", SHIPPING).await.json()["id"].as_i64().unwrap();
    ann.add(APPLE, 1).await;
    let second = order(&ann, "2", SHIPPING).await.json()["id"].as_i64().unwrap();
    let list: Value = ann.get("/api/v1/orders").await.json();
    let ids: Vec<i64> = list.as_array().unwrap().iter().map(|o| o["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, vec![second, first]);
    let theirs = bo.get(&format!("/api/v1/orders/{first}")).await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    assert_eq!(theirs.error_code(), "not_found");
    assert_eq!(bo.get("/api/v1/orders").await.json(), serde_json::json!([]));
    let guest = app.client();
    assert_eq!(guest.get("/api/v1/orders").await.status, StatusCode::UNAUTHORIZED);
    guest.add(BANANA, 1).await;
    assert_eq!(order(&guest, "g", SHIPPING).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn bad_orders_are_refused_and_change_nothing() {
    let app = TestApp::new().await;
    let client = signed_in(&app, "Ed").await;
    let empty = order(&client, "e", SHIPPING).await;
    assert_eq!(empty.status, StatusCode::CONFLICT);
    assert_eq!(empty.error_code(), "cart_empty");
    client.add(BANANA, 1).await;
    for (key, body) in [
        ("", SHIPPING),
        ("has space", SHIPPING),
        ("k", r#"{"shipping":{"name":"","address":"x"}}"#),
        ("k", r#"{"shipping":{"name":"Ed","address":"   "}}"#),
        ("k", r#"{"shipping":{"name":"Ed"}}"#),
        ("k", r#"{}"#),
        ("k", "nonsense"),
    ] {
        let response = order(&client, key, body).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{key:?} {body}");
        assert_eq!(response.error_code(), "invalid_input");
    }
    assert_eq!(app.sql_i64("SELECT COUNT(*) FROM orders").await, 0);
    assert_eq!(client.cart().await["item_count"], 1);
    let bad_id = client
        .send(Request::builder().method(Method::GET).uri("/api/v1/orders/abc").body(Body::empty()).unwrap())
        .await;
    assert_eq!(bad_id.status, StatusCode::BAD_REQUEST);
}
