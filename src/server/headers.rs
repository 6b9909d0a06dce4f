//! What every answer tells the browser: not to sniff types, not to be framed, not to load
//! plugins or rebase URLs, how much of the URL to pass on, HTTPS only when cookies are Secure;
//! and not to store anything personal (pages show who is signed in; the cart, the orders and
//! the credentials are someone's).
//!
//! Not yet here: a script policy (`script-src` with Leptos's nonces), so inline scripts are
//! not restricted by this policy.

use axum::{
    extract::{Request, State},
    http::{header, HeaderValue},
    middleware::Next,
    response::Response,
};

/// Directives that hold whatever the page contains.
const CSP: &str = "object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

pub async fn security_headers(State(hsts): State<bool>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let personal = is_personal(path);
    let mut response = next.run(request).await;
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let headers = response.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("strict-origin-when-cross-origin"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.entry(header::CONTENT_SECURITY_POLICY).or_insert(HeaderValue::from_static(CSP));
    if hsts {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000"));
    }
    if personal || is_html {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// API answers and server functions that are about the visitor, not the catalogue.
fn is_personal(path: &str) -> bool {
    let public = ["/api/v1/products", "/api/v1/categories", "/fn/catalog/"];
    (path.starts_with("/api/") || path.starts_with("/fn/")) && !public.iter().any(|p| path.starts_with(p))
}
