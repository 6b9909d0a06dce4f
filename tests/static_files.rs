//! The bundle under /pkg: precompressed copies are sent as they are to browsers that accept
//! them, the plain file to those that do not, and nothing outside the folder is reachable.
mod common;

use axum::{
    body::Body,
    http::{header, Request, StatusCode},
};
use common::TestApp;

#[tokio::test]
async fn the_bundle_is_served_precompressed_when_the_browser_accepts_it() {
    let site = tempfile::tempdir().unwrap();
    let pkg = site.path().join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    let plain = "console.log('the shop');\n".repeat(50);
    std::fs::write(pkg.join("shop.js"), &plain).unwrap();
    std::fs::write(pkg.join("shop.js.br"), b"pretend-brotli").unwrap();
    std::fs::write(pkg.join("shop.js.gz"), b"pretend-gzip").unwrap();
    std::fs::write(site.path().join("secret.txt"), b"not for you").unwrap();
    let app = TestApp::with_site(|_| {}, site.path().to_str().unwrap()).await;
    let client = app.client();

    let get = |accept: Option<&'static str>| {
        let mut request = Request::get("/pkg/shop.js");
        if let Some(accept) = accept {
            request = request.header(header::ACCEPT_ENCODING, accept);
        }
        client.send(request.body(Body::empty()).unwrap())
    };
    let br = get(Some("gzip, deflate, br")).await;
    assert_eq!(br.status, StatusCode::OK);
    assert_eq!(br.headers[header::CONTENT_ENCODING], "br");
    assert_eq!(br.body, b"pretend-brotli", "the stored copy, not compressed again");
    assert!(br.headers[header::CONTENT_TYPE].to_str().unwrap().contains("javascript"));

    let gz = get(Some("gzip")).await;
    assert_eq!(gz.headers[header::CONTENT_ENCODING], "gzip");
    assert_eq!(gz.body, b"pretend-gzip");

    let raw = get(None).await;
    assert_eq!(raw.status, StatusCode::OK);
    assert!(raw.headers.get(header::CONTENT_ENCODING).is_none());
    assert_eq!(raw.body, plain.as_bytes());

    for path in
        ["/pkg/../secret.txt", "/pkg/%2e%2e/secret.txt", "/pkg/..%2fsecret.txt", "/pkg/%5c..%5csecret.txt"]
    {
        let response = client.get(path).await;
        assert!(response.status.is_client_error(), "{path}: {}", response.status);
        assert!(!response.text().contains("not for you"), "{path}");
    }
}

#[tokio::test]
async fn files_answer_reads_only() {
    let site = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(site.path().join("pkg")).unwrap();
    std::fs::write(site.path().join("pkg/shop.js"), "console.log(1);").unwrap();
    let app = TestApp::with_site(|_| {}, site.path().to_str().unwrap()).await;
    let client = app.client();
    for method in ["GET", "HEAD"] {
        let request = Request::builder().method(method).uri("/pkg/shop.js").body(Body::empty()).unwrap();
        assert_eq!(client.send(request).await.status, StatusCode::OK, "{method}");
    }
    for method in ["POST", "PUT", "DELETE", "PATCH"] {
        for uri in ["/pkg/shop.js", "/no-such-page"] {
            let request = Request::builder().method(method).uri(uri).body(Body::empty()).unwrap();
            let response = client.send(request).await;
            assert_eq!(response.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {uri}");
            assert_eq!(response.error_code(), "invalid_input");
            assert_eq!(response.headers[header::ALLOW], "GET, HEAD");
        }
    }
    // A page that does not exist is still the 404 page for a GET.
    assert_eq!(client.get("/no-such-page").await.status, StatusCode::NOT_FOUND);
}
