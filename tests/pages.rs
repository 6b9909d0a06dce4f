//! Server-rendered pages and the no-JavaScript form posts, through the real router.
mod common;

use axum::http::StatusCode;
use common::{lines, TestApp, APPLE, BANANA};

fn count(html: &str, needle: &str) -> usize {
    html.matches(needle).count()
}

/// The text right inside each element with this `data-testid`.
fn texts(html: &str, test_id: &str) -> Vec<String> {
    let marker = format!(r#"data-testid="{test_id}""#);
    html.match_indices(&marker)
        .map(|(at, _)| {
            let rest = &html[at..];
            let start = rest.find('>').unwrap() + 1;
            let end = rest[start..].find('<').unwrap();
            rest[start..start + end].to_string()
        })
        .collect()
}

#[tokio::test]
async fn the_home_page_lists_a_page_of_products() {
    let app = TestApp::new().await;
    let page = app.client().get("/").await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert_eq!(count(&html, r#"data-testid="product-card""#), 12);
    assert!(html.contains(r#"data-testid="search-input""#));
    assert!(html.contains(r#"data-testid="category-filter""#));
    assert!(html.contains(r#"data-testid="pagination""#));
    assert!(html.contains(r#"data-testid="cart-count""#));
}

#[tokio::test]
async fn a_long_listing_links_the_first_last_and_nearby_pages() {
    let app = TestApp::new().await;
    let category = app.sql_i64("SELECT MIN(id) FROM categories").await;
    for n in 0..200 {
        app.sql(&format!(
            "INSERT INTO products (slug, name, description, price_cents, stock, category_id, image_url) \
             VALUES ('extra-{n}', 'Extra {n:03}', 'More.', 100, 5, {category}, '/images/products/banana.svg')"
        ))
        .await;
    }
    let total = app.sql_i64("SELECT COUNT(*) FROM products").await;
    let last = (total + 11) / 12;
    assert!(last > 15, "{last} pages");
    let html = app.client().get("/?page=8").await.text();
    let pagination = &html[html.find(r#"data-testid="pagination""#).unwrap()..];
    let pagination = &pagination[..pagination.find("</nav>").unwrap()];
    let linked: Vec<i64> = pagination
        .match_indices(r#"href="/?page="#)
        .map(|(at, marker)| {
            let rest = &pagination[at + marker.len()..];
            rest[..rest.find('"').unwrap()].parse().unwrap()
        })
        .collect();
    // Previous, then 1, 6–10, the last page, then Next (page 1's link has no page= at all).
    assert_eq!(linked, vec![7, 6, 7, 8, 9, 10, last, 9], "{pagination}");
    assert!(pagination.contains(r#"href="/""#), "page 1 is linked");
    assert_eq!(count(pagination, "pagination__gap"), 2, "two gaps: {pagination}");
    assert!(pagination.contains(r#"aria-current="page""#));
}

#[tokio::test]
async fn search_and_filter_links_render_on_the_server() {
    let app = TestApp::new().await;
    let client = app.client();
    let html = client.get("/?q=banana").await.text();
    assert!(html.contains(r#"data-product-slug="banana""#));
    assert!(!html.contains(r#"data-product-slug="apple""#));
    let html = client.get("/?category=bakery").await.text();
    assert!(!html.contains(r#"data-product-slug="banana""#));
    let html = client.get("/?sort=price_desc&page=2").await.text();
    assert_eq!(count(&html, r#"data-testid="product-card""#), 12);
    // Unreadable parameters fall back to defaults on pages.
    assert_eq!(client.get("/?page=abc&sort=zzz").await.status, StatusCode::OK);
}

#[tokio::test]
async fn product_pages_and_404s() {
    let app = TestApp::new().await;
    let client = app.client();
    let page = client.get("/products/banana").await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert_eq!(texts(&html, "product-name"), vec!["Bananas"]);
    assert!(html.contains("$1.29"));
    assert!(html.contains(r#"data-testid="quantity-input""#));
    for uri in ["/products/no-such-thing", "/no-such-page", "/cart/extra"] {
        let page = client.get(uri).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{uri}");
        assert!(page.text().contains("couldn"), "{uri} shows the 404 page");
    }
}

#[tokio::test]
async fn the_cart_page_shows_the_session_cart() {
    let app = TestApp::new().await;
    let client = app.client();
    let empty = client.get("/cart").await.text();
    assert!(empty.contains(r#"data-testid="cart-empty""#));
    client.add(BANANA, 2).await;
    client.add(APPLE, 1).await;
    let html = client.get("/cart").await.text();
    assert!(html.contains(r#"data-product-slug="banana""#));
    assert!(html.contains(r#"data-product-slug="apple""#));
    assert!(html.contains("$3.47"), "subtotal 2×1.29 + 0.89");
    assert_eq!(texts(&html, "cart-count"), vec!["3"], "header count");
    assert_eq!(texts(&html, "cart-subtotal"), vec!["$3.47"]);
}

#[tokio::test]
async fn forms_work_without_javascript() {
    let app = TestApp::new().await;
    let client = app.client();
    let referer = "http://127.0.0.1:3000/products/banana";
    let response =
        client.form_post("/fn/cart/add", &format!("product_id={BANANA}&quantity=3"), referer).await;
    assert_eq!(response.status, StatusCode::FOUND, "{}", response.text());
    assert_eq!(response.headers["location"].to_str().unwrap().trim_end_matches('?'), referer);
    assert!(response.set_cookie().unwrap().starts_with("shop_session="));
    client.form_post("/fn/cart/add", &format!("product_id={APPLE}&quantity=1"), referer).await;
    client
        .form_post("/fn/cart/set", &format!("product_id={BANANA}&quantity=5"), "http://127.0.0.1:3000/cart")
        .await;
    client.form_post("/fn/cart/remove", &format!("product_id={APPLE}"), "http://127.0.0.1:3000/cart").await;
    assert_eq!(lines(&client.cart().await), vec![("banana".to_string(), 5)]);
}

#[tokio::test]
async fn a_refused_form_post_comes_back_with_the_error_shown() {
    let app = TestApp::new().await;
    let client = app.client();
    client.add(BANANA, 1).await;
    let before = client.cart().await;
    let referer = "http://127.0.0.1:3000/products/apple";
    for form in [
        format!("product_id={APPLE}&quantity=81"),
        format!("product_id={APPLE}&quantity=abc"),
        format!("product_id={APPLE}&quantity=0"),
        "product_id=999999&quantity=1".to_string(),
    ] {
        let response = client.form_post("/fn/cart/add", &form, referer).await;
        assert_eq!(response.status, StatusCode::FOUND, "{form}");
        let location = response.headers["location"].to_str().unwrap().to_string();
        assert!(location.starts_with(referer) && location.contains("__err="), "{location}");
        let path = location.trim_start_matches("http://127.0.0.1:3000");
        let page = client.get(path).await;
        assert!(page.text().contains(r#"data-testid="error-message""#), "{form}: the page shows the error");
        assert!(page.text().contains(r#"role="alert""#));
        assert_eq!(client.cart().await, before, "{form}");
    }
}

#[tokio::test]
async fn server_functions_called_by_the_app_get_real_status_codes() {
    let app = TestApp::new().await;
    let client = app.client();
    let response = client
        .send(
            axum::http::Request::post("/fn/cart/add")
                .header("content-type", "application/x-www-form-urlencoded")
                .header("accept", "application/json")
                .body(axum::body::Body::from("product_id=2&quantity=81"))
                .unwrap(),
        )
        .await;
    assert_eq!(response.status, StatusCode::CONFLICT, "{}", response.text());
}

/// `next` after signing in is followed only to a path of this site: no tab or newline tricks
/// (`/\t/evil` is `//evil` to a browser), and a newline is refused, not a 500.
#[tokio::test]
async fn sign_in_forms_never_send_the_browser_to_another_site() {
    let app = TestApp::new().await;
    let client = app.client();
    let (email, password) = client.register("Next").await;
    let email = email.replace('@', "%40");
    for next in [
        "/%09/evil.example",
        "/%0a/evil.example",
        "/x%0d%0aSet-Cookie:%20a=b",
        "//evil.example",
        "https://evil.example",
    ] {
        let form = format!("email={email}&password={}&mode=session&next={next}", password.replace(' ', "+"));
        let response = app.client().form_post("/fn/auth/login", &form, "http://127.0.0.1:3000/login").await;
        assert_eq!(response.status, StatusCode::FOUND, "{next}: {}", response.text());
        assert_eq!(response.headers["location"], "/", "{next}");
    }
    let form =
        "email=next2%40example.com&password=correct+horse+battery&name=N&mode=session&next=/x%0a".to_string();
    let response = app.client().form_post("/fn/auth/register", &form, "http://127.0.0.1:3000/register").await;
    assert_eq!(response.status, StatusCode::FOUND, "{}", response.text());
    assert_eq!(response.headers["location"], "/");
    // The login page does not carry such a value into its form either.
    let page = client.get("/login?next=/%09/evil.example").await.text();
    assert!(!page.contains("evil.example"), "the page keeps only a safe next");
}

#[tokio::test]
async fn text_from_users_is_escaped_wherever_a_page_shows_it() {
    let app = TestApp::new().await;
    let client = app.client();
    let name = r#"</script><script>alert(1)</script><img src=x onerror=alert(2)>"'&"#;
    let email = format!("xss-{}@example.com", common::uuid_like());
    let body = serde_json::json!({"email": email, "password": "correct horse battery", "name": name});
    let registered = client.post("/api/v1/auth/register", &body.to_string()).await;
    assert_eq!(registered.status, StatusCode::CREATED, "{}", registered.text());
    assert_eq!(client.login(&email, "correct horse battery", "session").await.status, StatusCode::OK);
    client.add(BANANA, 1).await;
    // The header (signed in as), the checkout form (name prefilled), and the data Leptos
    // streams into the page for hydration (inside a <script>).
    for path in ["/", "/checkout", "/auth"] {
        let html = client.get(path).await.text();
        assert!(!html.contains("<script>alert(1)"), "{path}: the name's script tag came through");
        assert!(!html.contains("<img src=x"), "{path}: the name's img tag came through");
        assert!(html.contains("&lt;img src=x") || html.contains(r"\u003c"), "{path}: the name is not shown");
    }
    // A search term is reflected in the search box and the heading, escaped.
    let html = client.get("/?q=%3C%2Fscript%3E%3Cscript%3Ealert(3)%3C%2Fscript%3E%22%3E").await.text();
    if let Some(at) = html.find("<script>alert(3)") {
        panic!("the search term's script tag came through: {}", &html[at.saturating_sub(300)..at + 40]);
    }
    // No element came from it: the page has as many script tags as with a plain term.
    let plain = client.get("/?q=plain").await.text();
    assert_eq!(count(&html, "<script"), count(&plain, "<script"), "the search term made a script tag");
    assert_eq!(count(&html, "<"), count(&plain, "<"), "the search term made an element");
}

#[tokio::test]
async fn an_error_in_a_link_shows_only_the_shops_own_words() {
    use base64::{engine::general_purpose::URL_SAFE, Engine};
    let app = TestApp::new().await;
    let client = app.client();
    let (email, password) = client.register("Ivy").await;
    assert_eq!(client.login(&email, &password, "session").await.status, StatusCode::OK);
    client.add(BANANA, 1).await;
    let lie = "Your card was declined. Pay by bank transfer to IBAN XX00 EVIL and call +1 555 0100.";
    for code in ["price_changed", "insufficient_stock", "invalid_input", "not_found"] {
        let err = URL_SAFE.encode(serde_json::json!({"code": code, "detail": lie}).to_string());
        let err = err.replace('=', "%3D");
        for path in ["/checkout", "/login", "/cart", "/products/banana"] {
            let html = client.get(&format!("{path}?__err={err}")).await.text();
            assert!(!html.contains("IBAN"), "{path} {code}: the link's text is shown");
            if path != "/products/banana" {
                assert!(html.contains(r#"data-testid="error-message""#), "{path} {code}: an alert is shown");
            }
        }
    }
}
