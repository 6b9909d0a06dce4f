//! A client's mistakes below and beside the handlers: every one a 4xx with the JSON error,
//! for the JSON API and for the server functions the pages call.
mod common;

use axum::{
    body::Body,
    http::{Method, Request, StatusCode},
};
use common::{TestApp, BANANA};

fn form(uri: &str, body: String) -> Request<Body> {
    Request::post(uri)
        .header("content-length", body.len())
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .body(Body::from(body))
        .unwrap()
}

#[tokio::test]
async fn server_functions_answer_bad_arguments_with_400() {
    let app = TestApp::new().await;
    let client = app.client();
    client.add(BANANA, 1).await;
    let before = client.cart().await;
    let long_q = "a".repeat(60_000);
    for (uri, body) in [
        ("/fn/catalog/products", "query[q]=&query[category]=&query[sort]=name&query[page]=-9223372036854775808&query[per_page]=100".to_string()),
        ("/fn/catalog/products", "query[q]=&query[category]=&query[sort]=name&query[page]=1&query[per_page]=1000000".to_string()),
        ("/fn/catalog/products", "query[q]=&query[category]=&query[sort]=name&query[page]=0&query[per_page]=10".to_string()),
        ("/fn/catalog/products", format!("query[q]={long_q}&query[category]=&query[sort]=name&query[page]=1&query[per_page]=1")),
        ("/fn/cart/set", "product_id=1&quantity=".to_string()),
        ("/fn/cart/add", "product_id=1".to_string()),
        ("/fn/cart/add", "product_id=1&quantity=abc".to_string()),
        ("/fn/cart/add", "product_id=1&quantity=99999999999999999999".to_string()),
        ("/fn/cart/add", "{\"product_id\":1}".to_string()),
    ] {
        let response = client.send(form(uri, body.clone())).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{uri} {}", &body[..body.len().min(80)]);
        assert_eq!(response.json()["code"], "invalid_input", "{uri}");
    }
    assert_eq!(client.cart().await, before, "nothing changed");
}

#[tokio::test]
async fn errors_below_the_handlers_keep_the_json_shape() {
    let app = TestApp::new().await;
    let client = app.client();
    let cases = [
        (Method::PATCH, "/api/v1/cart/items/1", StatusCode::METHOD_NOT_ALLOWED),
        (Method::GET, "/api/v1/cart/items", StatusCode::METHOD_NOT_ALLOWED),
        (Method::GET, "/api/v1/", StatusCode::NOT_FOUND),
        (Method::GET, "/api/v2/products", StatusCode::NOT_FOUND),
        (Method::GET, "/api/v1/products/%ff", StatusCode::BAD_REQUEST),
    ];
    for (method, uri, status) in cases {
        let response = client
            .send(Request::builder().method(method.clone()).uri(uri).body(Body::empty()).unwrap())
            .await;
        assert_eq!(response.status, status, "{method} {uri}");
        assert!(!response.error_code().is_empty(), "{method} {uri}");
    }
}

#[tokio::test]
async fn oversized_bodies_are_413() {
    let app = TestApp::new().await;
    let client = app.client();
    let padding = "x".repeat(100 * 1024);
    let body = format!(r#"{{"product_id":1,"quantity":1,"padding":"{padding}"}}"#);
    let response = client.json(Method::POST, "/api/v1/cart/items", &body).await;
    assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(response.error_code(), "payload_too_large");
    let response = client.send(form("/fn/cart/add", format!("product_id=1&quantity=1&x={padding}"))).await;
    assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        response.json()["error"]["code"],
        "payload_too_large",
        "refused by its Content-Length, still JSON"
    );
    // A JSON body that announces its length is refused before it is read: the same JSON error.
    let response = client
        .send(
            Request::post("/api/v1/auth/register")
                .header("content-type", "application/json")
                .header("content-length", body.len())
                .body(Body::from(body.clone()))
                .unwrap(),
        )
        .await;
    assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(response.error_code(), "payload_too_large");
    assert_eq!(client.cart().await["item_count"], 0);
}

/// NUL bytes are valid JSON (`\u0000`) but not text PostgreSQL can store: every such input is
/// a 4xx on either database, never a 500.
#[tokio::test]
async fn nul_bytes_in_text_are_refused_not_a_server_error() {
    let app = TestApp::new().await;
    let client = app.client();
    let (email, password) = client.register("Nul").await;
    let cases = [
        (
            "/api/v1/auth/login",
            format!(r#"{{"email":"{email}\u0000","password":"{password}","mode":"session"}}"#),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "/api/v1/auth/login",
            format!(r#"{{"email":"{email}","password":"{password}\u0000","mode":"token"}}"#),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "/api/v1/auth/register",
            r#"{"email":"n\u0000@example.com","password":"correct horse","name":"N"}"#.to_string(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v1/auth/register",
            r#"{"email":"nul2@example.com","password":"correct horse","name":"N\u0000"}"#.to_string(),
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (uri, body, status) in cases {
        let response = client.post(uri, &body).await;
        assert_eq!(response.status, status, "{uri} {body}");
        assert!(!response.error_code().is_empty());
    }
    for uri in
        ["/api/v1/products/%00", "/api/v1/products/banana%00", "/api/v1/products?q=%00", "/products/%00"]
    {
        let response = client.get(uri).await;
        assert!(response.status.is_client_error(), "{uri}: {}", response.status);
    }
    assert_eq!(app.sql_i64("SELECT COUNT(*) FROM users").await, 1, "no account was made");
}

#[tokio::test]
async fn oversized_addresses_and_headers_get_the_json_error() {
    let app = TestApp::new().await;
    let client = app.client();
    client.add(BANANA, 2).await;
    let before = client.cart().await;
    let long = "a".repeat(9 * 1024);
    let with = |name: &str, value: &str| {
        Request::post("/api/v1/cart/items")
            .header("content-type", "application/json")
            .header(name, value)
            .body(Body::from(format!(r#"{{"product_id":{BANANA},"quantity":1}}"#)))
            .unwrap()
    };
    let cases = [
        (Request::get(format!("/api/v1/products?q={long}")).body(Body::empty()).unwrap(), 414),
        (Request::get(format!("/?q={long}")).body(Body::empty()).unwrap(), 414),
        (with("authorization", &format!("Bearer {long}")), 431),
        (with("x-padding", &long), 431),
        // A 10 KB cookie: it never reaches the session store.
        (
            Request::get("/api/v1/cart")
                .header("cookie", format!("shop_session={}", "x".repeat(10 * 1024)))
                .body(Body::empty())
                .unwrap(),
            431,
        ),
    ];
    for (request, status) in cases {
        let uri = request.uri().to_string();
        let response = app.client().send(request).await;
        assert_eq!(response.status.as_u16(), status, "{}", &uri[..uri.len().min(60)]);
        assert_eq!(response.error_code(), "invalid_input");
    }
    // Many headers, each small, over the total.
    let mut request = with("x-ok", "1");
    for i in 0..40 {
        request.headers_mut().insert(
            axum::http::HeaderName::from_bytes(format!("x-filler-{i}").as_bytes()).unwrap(),
            "b".repeat(1000).parse().unwrap(),
        );
    }
    assert_eq!(client.send(request).await.status.as_u16(), 431);
    assert_eq!(client.cart().await, before, "nothing changed");
    // A large but reasonable cookie header (4 KB, a browser's limit per cookie) is fine.
    let ok = client
        .send(
            Request::get("/api/v1/products").header("x-prefs", "p".repeat(4096)).body(Body::empty()).unwrap(),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK);
}

#[tokio::test]
async fn a_proxy_connect_is_refused_not_a_panic() {
    let app = TestApp::new().await;
    let connect = Request::builder().method(Method::CONNECT).uri("a:1").body(Body::empty()).unwrap();
    let response = app.client().send(connect).await;
    assert_eq!(response.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.error_code(), "invalid_input");
    assert_eq!(response.headers["x-content-type-options"], "nosniff");
}
