//! Writes a browser sends from another site are refused with 403 and change nothing, for the
//! JSON API and the server functions alike, sign-in and sign-out included. The shop's own
//! pages, non-browser clients and Bearer-token clients are not affected.
mod common;

use axum::{
    body::Body,
    http::{Method, Request, StatusCode},
};
use common::{TestApp, BANANA};

fn from(site: &'static str, method: Method, uri: &str, content_type: &str, body: &str) -> Request<Body> {
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header("host", "127.0.0.1:3000")
        .header("content-type", content_type);
    request = match site {
        "evil" => request.header("origin", "https://evil.example").header("sec-fetch-site", "cross-site"),
        "sibling" => request.header("origin", "http://127.0.0.1:3001").header("sec-fetch-site", "same-site"),
        "null" => request.header("origin", "null"),
        "old-browser" => request.header("origin", "https://evil.example"),
        "self" => request.header("origin", "http://127.0.0.1:3000").header("sec-fetch-site", "same-origin"),
        _ => unreachable!(),
    };
    request.body(Body::from(body.to_string())).unwrap()
}

const JSON: &str = "application/json";
const FORM: &str = "application/x-www-form-urlencoded";

#[tokio::test]
async fn cross_site_writes_with_the_cookie_are_refused_and_change_nothing() {
    let app = TestApp::new().await;
    let client = app.client();
    let (email, password) = client.register("Victim").await;
    assert_eq!(client.login(&email, &password, "session").await.status, StatusCode::OK);
    client.add(BANANA, 2).await;
    let before = client.cart().await;

    for site in ["evil", "sibling", "null", "old-browser"] {
        let attempts = [
            from(site, Method::POST, "/api/v1/cart/items", JSON, r#"{"product_id":2,"quantity":1}"#),
            from(site, Method::PUT, "/api/v1/cart/items/1", JSON, r#"{"quantity":9}"#),
            from(site, Method::DELETE, "/api/v1/cart/items/1", JSON, ""),
            from(site, Method::POST, "/api/v1/orders", JSON, r#"{"shipping":{"name":"X","address":"Y"}}"#),
            from(site, Method::POST, "/api/v1/auth/logout", JSON, ""),
            from(site, Method::POST, "/api/v1/auth/logout-all", JSON, ""),
            from(site, Method::POST, "/api/v1/auth/switch", JSON, r#"{"mode":"token"}"#),
            from(site, Method::POST, "/fn/cart/add", FORM, "product_id=2&quantity=1"),
            from(site, Method::POST, "/fn/auth/logout", FORM, ""),
        ];
        for request in attempts {
            let what = format!("{site}: {} {}", request.method(), request.uri());
            let response = client.send(request).await;
            assert_eq!(response.status, StatusCode::FORBIDDEN, "{what}");
            let body = response.json();
            let code = body["error"]["code"].as_str().or(body["code"].as_str());
            assert_eq!(code, Some("forbidden"), "{what}: {body}");
        }
    }
    assert_eq!(client.get("/api/v1/me").await.status, StatusCode::OK, "still signed in");
    assert_eq!(client.cart().await, before, "the cart is as it was");
    assert_eq!(app.sql_i64("SELECT COUNT(*) FROM orders").await, 0);

    // The shop's own pages may write.
    let own = client
        .send(from("self", Method::POST, "/api/v1/cart/items", JSON, r#"{"product_id":2,"quantity":1}"#))
        .await;
    assert_eq!(own.status, StatusCode::OK);
}

#[tokio::test]
async fn a_forged_sign_in_is_refused_too() {
    let app = TestApp::new().await;
    let attacker = app.client();
    let (email, password) = attacker.register("Attacker").await;
    let body = format!(r#"{{"email":"{email}","password":"{password}","mode":"session"}}"#);
    let victim = app.client();
    let response = victim.send(from("evil", Method::POST, "/api/v1/auth/login", JSON, &body)).await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    assert!(response.set_cookie().is_none(), "no session was started");
    let form =
        format!("email={}&password={}&mode=session", email.replace('@', "%40"), password.replace(' ', "+"));
    let response = victim.send(from("evil", Method::POST, "/fn/auth/login", FORM, &form)).await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    assert_eq!(victim.get("/api/v1/me").await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn bearer_clients_and_reads_are_not_affected() {
    let app = TestApp::new().await;
    let client = app.client();
    let (email, password) = client.register("Api").await;
    let token = client.login(&email, &password, "token").await.json()["token"].as_str().unwrap().to_string();
    // A page on another origin calling the API with its own token (CORS decides whether a browser may).
    let mut request =
        from("evil", Method::POST, "/api/v1/cart/items", JSON, r#"{"product_id":1,"quantity":1}"#);
    request.headers_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    assert_eq!(client.send(request).await.status, StatusCode::OK);
    // Reads change nothing and are answered.
    let read = Request::get("/api/v1/products/banana")
        .header("origin", "https://evil.example")
        .header("sec-fetch-site", "cross-site")
        .body(Body::empty())
        .unwrap();
    assert_eq!(client.send(read).await.status, StatusCode::OK);
}
