//! A panic in a handler becomes a 500 with the JSON error (nothing of the panic in it), and the
//! server goes on serving: under the very layers the shop's routes run under.
mod common;

use axum::{
    body::Body,
    http::{Request, StatusCode},
    routing::get,
    Router,
};
use common::TestDatabase;
use http_body_util::BodyExt;
use leptos::prelude::LeptosOptions;
use shop::server::{build_app_with, config::Config};
use std::sync::{Arc, Mutex};
use tower::ServiceExt;

/// Log lines written by this test process, kept to be read back.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_panicking_handler_is_a_logged_500_and_the_server_goes_on() {
    let log = Captured::default();
    let writer = log.clone();
    tracing_subscriber::fmt().with_writer(move || writer.clone()).with_ansi(false).init();
    let (_db, database_url) = TestDatabase::create().await;
    let config = Config { database_url, ..Config::default() };
    let options = LeptosOptions::builder().output_name("shop").site_root("target/site").build();
    let boom = Router::new().route(
        "/api/v1/boom",
        get(|| async {
            let secret = std::hint::black_box("internal detail 0xdeadbeef");
            if !secret.is_empty() {
                panic!("handler failed: {secret}");
            }
            "unreachable"
        }),
    );
    let app = build_app_with(config, options, boom).await.expect("the app starts");
    for _ in 0..3 {
        let response =
            app.clone().oneshot(Request::get("/api/v1/boom").body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(response.headers()["x-content-type-options"], "nosniff", "the security headers too");
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let text = String::from_utf8_lossy(&body);
        let json: serde_json::Value = serde_json::from_slice(&body).expect("a JSON error body");
        assert_eq!(json["error"]["code"], "internal");
        assert!(!text.contains("deadbeef") && !text.contains("panicked"), "{text}");
    }
    let logged = String::from_utf8_lossy(&log.0.lock().unwrap()).into_owned();
    assert_eq!(logged.matches("a request handler panicked").count(), 3, "{logged}");
    assert!(logged.contains("handler failed"), "the panic's message is in the log: {logged}");
    // The same router, and so the same server, still answers everything else.
    let response =
        app.clone().oneshot(Request::get("/api/v1/products").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let health = app.oneshot(Request::get("/healthz").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
}
