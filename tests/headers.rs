//! What every answer tells the browser, and that nothing personal may be stored.
mod common;

use axum::http::{header, StatusCode};
use common::{TestApp, BANANA};

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let app = TestApp::new().await;
    let client = app.client();
    for path in [
        "/",
        "/products/banana",
        "/cart",
        "/no-such-page",
        "/api/v1/products",
        "/api/v1/cart",
        "/favicon.svg",
    ] {
        let response = client.get(path).await;
        let h = &response.headers;
        assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{path}");
        assert_eq!(h[header::REFERRER_POLICY], "strict-origin-when-cross-origin", "{path}");
        assert_eq!(h[header::X_FRAME_OPTIONS], "DENY", "{path}");
        let csp = h[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        for directive in ["object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"] {
            assert!(csp.contains(directive), "{path}: {csp}");
        }
        assert!(h.get(header::STRICT_TRANSPORT_SECURITY).is_none(), "{path}: no HSTS over plain HTTP");
    }
}

#[tokio::test]
async fn nothing_personal_may_be_stored() {
    let app = TestApp::new().await;
    let client = app.client();
    let (email, password) = client.register("Private").await;
    let login = client.login(&email, &password, "token").await;
    assert_eq!(login.headers[header::CACHE_CONTROL], "no-store", "the answer that carries a token");
    client.add(BANANA, 1).await;
    for path in ["/api/v1/cart", "/api/v1/me", "/api/v1/orders", "/cart", "/", "/auth"] {
        let response = client.get(path).await;
        assert_eq!(response.headers[header::CACHE_CONTROL], "no-store", "{path} ({})", response.status);
    }
    // The catalogue is the same for everyone.
    let products = client.get("/api/v1/products").await;
    assert_eq!(products.status, StatusCode::OK);
    assert!(products.headers.get(header::CACHE_CONTROL).is_none());
}

#[tokio::test]
async fn hsts_when_cookies_are_secure() {
    let app = TestApp::with_config(|c| c.cookie_secure = true).await;
    let client = app.client();
    let response = client.get("/").await;
    assert_eq!(response.headers[header::STRICT_TRANSPORT_SECURITY], "max-age=31536000");
    // …and the session cookie is Secure, HttpOnly and SameSite=Lax.
    let (email, password) = client.register("Sec").await;
    let login = client.login(&email, &password, "session").await;
    let cookie = login.headers[header::SET_COOKIE].to_str().unwrap().to_string();
    for attribute in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.split("; ").any(|a| a == attribute), "{attribute} missing: {cookie}");
    }
    // Without COOKIE_SECURE, no HSTS.
    let plain = TestApp::new().await;
    assert!(plain.client().get("/").await.headers.get(header::STRICT_TRANSPORT_SECURITY).is_none());
}

#[tokio::test]
async fn signing_out_tells_the_browser_to_forget() {
    let app = TestApp::new().await;
    let clear = |response: &common::TestResponse| {
        response.headers.get("clear-site-data").map(|v| v.to_str().unwrap().to_string())
    };
    // Session mode: the cache and the site's cookies.
    let client = app.client();
    let (email, password) = client.register("Fay").await;
    assert_eq!(client.login(&email, &password, "session").await.status, StatusCode::OK);
    let out = client.post("/api/v1/auth/logout", "").await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    assert_eq!(clear(&out).as_deref(), Some(r#""cache", "cookies""#));

    // Token mode: the cache (the page drops the token itself and keeps the chosen mode).
    let login = client.login(&email, &password, "token").await;
    let token = login.json()["token"].as_str().unwrap().to_string();
    let out = client.bearer(&token, axum::http::Method::POST, "/api/v1/auth/logout-all", None).await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    assert_eq!(clear(&out).as_deref(), Some(r#""cache""#));

    // The page's own sign-out (a server function) says the same.
    assert_eq!(client.login(&email, &password, "session").await.status, StatusCode::OK);
    let out = client
        .send(
            axum::http::Request::post("/fn/auth/logout")
                .header(header::ACCEPT, "application/json")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert!(out.status.is_success(), "{}", out.status);
    assert_eq!(clear(&out).as_deref(), Some(r#""cache", "cookies""#));
    // A failed sign-out (a revoked token) clears nothing and says why.
    let refused = client.bearer(&token, axum::http::Method::POST, "/api/v1/auth/logout", None).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(clear(&refused), None);
}

/// A page's script policy is its own, even while files are served beside it. (Leptos's file
/// handler read the response options of whatever page was rendering on the same thread and
/// took its headers: beside a stream of file requests, 4 pages in 10 went out with no script
/// policy at all, and a file went out with the page's.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_keep_their_script_policy_while_files_are_served() {
    let site = tempfile::tempdir().unwrap();
    std::fs::write(site.path().join("favicon.svg"), "<svg xmlns=\"http://www.w3.org/2000/svg\"/>").unwrap();
    let app = TestApp::with_site(|_| {}, site.path().to_str().unwrap()).await;
    let client = app.client();
    let policy = |response: &common::TestResponse| {
        response.headers.get(header::CONTENT_SECURITY_POLICY).unwrap().to_str().unwrap().to_string()
    };
    let mut tasks = Vec::new();
    for n in 0..600 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let path = if n % 3 == 0 { "/products/banana" } else { "/favicon.svg" };
            (path, client.get(path).await)
        }));
    }
    let (mut pages, mut files) = (0, 0);
    for task in tasks {
        let (path, response) = task.await.unwrap();
        assert_eq!(response.status, StatusCode::OK, "{path}");
        let policy = policy(&response);
        if path == "/favicon.svg" {
            files += 1;
            assert!(!policy.contains("nonce-"), "a file carried a page's policy: {policy}");
        } else {
            pages += 1;
            let html = String::from_utf8_lossy(&response.body);
            let nonce = policy.split("'nonce-").nth(1).and_then(|rest| rest.split('\'').next());
            let nonce = nonce.unwrap_or_else(|| panic!("a page without its script policy: {policy}"));
            assert!(html.contains(&format!("nonce=\"{nonce}\"")), "the policy names the page's own nonce");
        }
    }
    assert_eq!((pages, files), (200, 400));
}
