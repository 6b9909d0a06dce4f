//! What every answer tells the browser: not to sniff types, not to be framed, not to load
//! plugins or rebase URLs, how much of the URL to pass on, HTTPS only when cookies are Secure;
//! and not to store anything personal (pages show who is signed in; the cart, the orders and
//! the credentials are someone's).
//!
//! Pages carry a fuller policy (`page_policy`): scripts only from the site itself or inline
//! with the nonce Leptos puts on its hydration and streaming scripts, a fresh one per answer;
//! no `unsafe-inline`, no `eval` (WebAssembly compilation only).

use axum::{
    extract::{Request, State},
    http::{header, HeaderValue},
    middleware::Next,
    response::Response,
};

/// Directives that hold whatever the answer contains.
const CSP: &str = "object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/// The policy of an HTML page rendered with `nonce`. Under `cargo leptos watch` the page also
/// opens a WebSocket to the reload port, which the policy then allows.
pub fn page_policy(nonce: &str, reload_port: u32) -> HeaderValue {
    let reload = if std::env::var_os("LEPTOS_WATCH").is_some() {
        format!(" ws://localhost:{reload_port} ws://127.0.0.1:{reload_port}")
    } else {
        String::new()
    };
    let policy = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'{reload}; form-action 'self'; {CSP}"
    );
    HeaderValue::from_str(&policy).unwrap_or_else(|_| HeaderValue::from_static(CSP))
}

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
