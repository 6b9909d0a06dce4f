//! Guessing: sign-in and registration are limited per client and per account (429 with
//! `Retry-After`), the limit holds under concurrent attempts, and it ends by itself: nobody can
//! lock a real user out for good.
mod common;

use axum::{
    body::Body,
    extract::ConnectInfo,
    http::{header, Method, Request, StatusCode},
};
use common::{Client, TestApp, TestResponse};
use serde_json::json;
use std::{net::SocketAddr, time::Duration};

/// A JSON POST as it arrives from the address `peer` (the connection's, as `axum::serve` gives it).
fn from_peer(peer: &str, uri: &str, body: serde_json::Value) -> Request<Body> {
    let mut request = Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    request.extensions_mut().insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
    request
}

async fn login_from(client: &Client, peer: &str, email: &str, password: &str) -> TestResponse {
    client
        .send(from_peer(
            peer,
            "/api/v1/auth/login",
            json!({"email": email, "password": password, "mode": "token"}),
        ))
        .await
}

fn assert_limited(response: &TestResponse, window_secs: u64) {
    assert_eq!(response.status, StatusCode::TOO_MANY_REQUESTS, "{}", response.text());
    assert_eq!(response.error_code(), "rate_limited");
    let retry_after: u64 = response.headers[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!((1..=window_secs).contains(&retry_after), "Retry-After {retry_after}");
}

#[tokio::test]
async fn an_account_is_limited_then_free_again_and_a_right_password_clears_the_count() {
    let app = TestApp::with_config(|c| {
        c.auth_limits.per_account = 3;
        c.auth_limits.window_secs = 2;
    })
    .await;
    let client = app.client();
    let (email, password) = client.register("Ada").await;
    let (other, other_password) = client.register("Bob").await;
    let peer = "198.51.100.1:5000";

    // Two mistakes, then the right password: the mistakes are forgiven.
    for _ in 0..2 {
        assert_eq!(
            login_from(&client, peer, &email, "wrong password").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(login_from(&client, peer, &email, &password).await.status, StatusCode::OK);

    // Three attempts in the window, then refused: even the right password is not checked.
    for _ in 0..3 {
        assert_eq!(
            login_from(&client, peer, &email, "wrong password").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let refused = login_from(&client, peer, &email, &password).await;
    assert_limited(&refused, 2);
    assert!(refused.json().get("token").is_none());
    // The limit is the account's: the email written in another case is the same account,
    // and from another address too; another account is not affected.
    let shouted = email.to_uppercase();
    assert_limited(&login_from(&client, "203.0.113.7:1", &shouted, &password).await, 2);
    assert_eq!(login_from(&client, peer, &other, &other_password).await.status, StatusCode::OK);

    // The window ends by itself: the real user gets in.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(login_from(&client, peer, &email, &password).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_client_is_limited_across_accounts_and_registrations_others_are_not() {
    let app = TestApp::with_config(|c| c.auth_limits.per_client = 5).await;
    let client = app.client();
    let (email, password) = client.register("Cy").await;
    let guesser = "198.51.100.2:4000";
    // Five attempts on five different addresses: each account is fresh, the client is not.
    for i in 0..5 {
        let response = login_from(&client, guesser, &format!("guess{i}@example.com"), "hunter22").await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    }
    assert_limited(&login_from(&client, guesser, &email, &password).await, 900);
    // Registrations count against the same client, and a refused one creates nothing.
    let users_before = app.sql_i64("SELECT COUNT(*) FROM users").await;
    let register = client
        .send(from_peer(
            guesser,
            "/api/v1/auth/register",
            json!({"email": "new@example.com", "password": "long enough", "name": "New"}),
        ))
        .await;
    assert_limited(&register, 900);
    assert_eq!(app.sql_i64("SELECT COUNT(*) FROM users").await, users_before);
    // The same port or another: the address is the client. Another address is another client.
    assert_limited(&login_from(&client, "198.51.100.2:4001", &email, &password).await, 900);
    assert_eq!(login_from(&client, "198.51.100.3:4000", &email, &password).await.status, StatusCode::OK);
    // An IPv6 client is its /64: hopping within it does not help.
    for i in 0..5 {
        let peer = format!("[2001:db8:5:6::{i:x}]:4000");
        assert_eq!(
            login_from(&client, &peer, "nobody@example.com", "x").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_limited(&login_from(&client, "[2001:db8:5:6:ffff::1]:4000", &email, &password).await, 900);
}

#[tokio::test]
async fn concurrent_guesses_cannot_slip_past_the_limit_together() {
    let app = TestApp::with_config(|c| c.auth_limits.per_account = 4).await;
    let client = app.client();
    let (email, _) = client.register("Dee").await;
    let mut attempts = tokio::task::JoinSet::new();
    for i in 0..16 {
        let client = client.clone();
        let email = email.clone();
        attempts.spawn(async move {
            login_from(&client, &format!("198.51.100.{}:1", 10 + i), &email, "wrong guess").await.status
        });
    }
    let statuses = attempts.join_all().await;
    let checked = statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count();
    let limited = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
    assert_eq!((checked, limited), (4, 12), "{statuses:?}");
}

#[tokio::test]
async fn the_sign_in_form_is_limited_too() {
    let app = TestApp::with_config(|c| c.auth_limits.per_account = 2).await;
    let client = app.client();
    let (email, password) = client.register("Eve").await;
    let form = |password: &str| {
        let body = format!("email={}&password={password}&mode=session", email.replace('@', "%40"));
        Request::post("/fn/auth/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json")
            .body(Body::from(body))
            .unwrap()
    };
    for _ in 0..2 {
        assert_eq!(client.send(form("wrong-password")).await.status, StatusCode::UNAUTHORIZED);
    }
    let refused = client.send(form(&password)).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS, "{}", refused.text());
    assert!(refused.headers.contains_key(header::RETRY_AFTER));
    assert!(refused.text().contains("rate_limited"), "{}", refused.text());
    // Not signed in: the cart call answers as for a guest.
    assert!(client.get("/api/v1/cart").await.json()["lines"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn forwarded_addresses_count_only_behind_a_trusted_proxy() {
    let forwarded = |peer: &str, chain: &str, email: &str| {
        let mut request = from_peer(
            peer,
            "/api/v1/auth/login",
            json!({"email": email, "password": "not it", "mode": "session"}),
        );
        request.headers_mut().insert("x-forwarded-for", chain.parse().unwrap());
        request
    };
    // Not trusted: whatever the header says, the proxy's address is the client.
    let app = TestApp::with_config(|c| c.auth_limits.per_client = 3).await;
    let client = app.client();
    for i in 0..3 {
        let response = client.send(forwarded("10.0.0.1:80", &format!("192.0.2.{i}"), "a@example.com")).await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    }
    assert_limited(&client.send(forwarded("10.0.0.1:80", "192.0.2.99", "a@example.com")).await, 900);

    // Trusted: the last address the proxy appended is the client; what the client put before it
    // (to look like someone else) changes nothing.
    let app = TestApp::with_config(|c| {
        c.auth_limits.per_client = 3;
        c.trust_forwarded_for = true;
    })
    .await;
    let client = app.client();
    for i in 0..3 {
        let chain = format!("192.0.2.{i}, 203.0.113.50");
        let response = client.send(forwarded("10.0.0.1:80", &chain, &format!("b{i}@example.com"))).await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    }
    assert_limited(
        &client.send(forwarded("10.0.0.1:80", "192.0.2.200, 203.0.113.50", "c@example.com")).await,
        900,
    );
    let elsewhere = client.send(forwarded("10.0.0.1:80", "203.0.113.51", "c@example.com")).await;
    assert_eq!(elsewhere.status, StatusCode::UNAUTHORIZED);
}
