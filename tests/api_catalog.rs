mod common;

use axum::http::StatusCode;
use common::TestApp;
use serde_json::Value;

fn prices(page: &Value) -> Vec<i64> {
    page["items"].as_array().unwrap().iter().map(|p| p["price_cents"].as_i64().unwrap()).collect()
}

fn slugs(page: &Value) -> Vec<String> {
    page["items"].as_array().unwrap().iter().map(|p| p["slug"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn healthz_answers_ok_while_the_database_answers() {
    let app = TestApp::new().await;
    let response = app.client().get("/healthz").await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.json(), serde_json::json!({"status": "ok"}));
}

#[tokio::test]
async fn the_seeded_catalogue_is_complete() {
    let app = TestApp::new().await;
    let client = app.client();
    let page = client.get("/api/v1/products?per_page=100").await.json();
    let total = page["total"].as_i64().unwrap();
    assert!(total >= 24, "at least 24 products, got {total}");
    assert_eq!(page["items"].as_array().unwrap().len() as i64, total);
    for product in page["items"].as_array().unwrap() {
        for field in
            ["id", "slug", "name", "description", "price_cents", "currency", "stock", "category", "image_url"]
        {
            assert!(!product[field].is_null(), "{field} missing in {product}");
        }
        assert_eq!(product["currency"], "USD");
        let image = product["image_url"].as_str().unwrap();
        assert!(std::path::Path::new(&format!("public{image}")).is_file(), "image {image} missing");
        assert!(!product["description"].as_str().unwrap().is_empty());
    }
    let categories = client.get("/api/v1/categories").await.json();
    let categories = categories.as_array().unwrap();
    assert!(categories.len() >= 4);
    let counted: i64 = categories.iter().map(|c| c["product_count"].as_i64().unwrap()).sum();
    assert_eq!(counted, total);
    for slug in ["banana", "apple"] {
        let product = client.get(&format!("/api/v1/products/{slug}")).await;
        assert_eq!(product.status, StatusCode::OK);
        assert_eq!(product.json()["slug"], slug);
    }
}

#[tokio::test]
async fn default_listing_is_the_first_page_by_name() {
    let app = TestApp::new().await;
    let page = app.client().get("/api/v1/products").await.json();
    assert_eq!(page["page"], 1);
    assert_eq!(page["per_page"], 12);
    let names: Vec<String> =
        page["items"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap().to_string()).collect();
    assert_eq!(names.len(), 12);
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
}

#[tokio::test]
async fn sorting_by_price_both_ways() {
    let app = TestApp::new().await;
    let client = app.client();
    let ascending = prices(&client.get("/api/v1/products?sort=price_asc&per_page=100").await.json());
    assert!(ascending.windows(2).all(|w| w[0] <= w[1]), "{ascending:?}");
    let descending = prices(&client.get("/api/v1/products?sort=price_desc&per_page=100").await.json());
    assert!(descending.windows(2).all(|w| w[0] >= w[1]), "{descending:?}");
    let by_name = slugs(&client.get("/api/v1/products?sort=name&per_page=100").await.json());
    let by_price = slugs(&client.get("/api/v1/products?sort=price_asc&per_page=100").await.json());
    assert_ne!(by_name, by_price, "the orders differ");
}

#[tokio::test]
async fn filtering_by_category_and_searching() {
    let app = TestApp::new().await;
    let client = app.client();
    let fruit = client.get("/api/v1/products?category=fruit&per_page=100").await.json();
    let items = fruit["items"].as_array().unwrap();
    assert!(!items.is_empty());
    assert!(items.iter().all(|p| p["category"] == "fruit"));
    assert!(slugs(&fruit).contains(&"banana".to_string()));

    let found = client.get("/api/v1/products?q=BaNaNa").await.json();
    assert!(slugs(&found).contains(&"banana".to_string()), "search ignores case");
    assert!(found["total"].as_i64().unwrap() >= 1);

    let both = client.get("/api/v1/products?q=apple&category=bakery").await.json();
    assert!(!slugs(&both).contains(&"apple".to_string()), "filters combine");

    // Wildcards are literal characters.
    for q in ["%25", "_", "%5C"] {
        let none = client.get(&format!("/api/v1/products?q={q}")).await.json();
        assert_eq!(none["total"], 0, "q={q}");
    }
    let unknown = client.get("/api/v1/products?category=no-such-category").await.json();
    assert_eq!(unknown["total"], 0);
}

#[tokio::test]
async fn paging_covers_every_product_once() {
    let app = TestApp::new().await;
    let client = app.client();
    let total = client.get("/api/v1/products").await.json()["total"].as_i64().unwrap();
    let mut seen = Vec::new();
    let mut page = 1;
    loop {
        let body = client.get(&format!("/api/v1/products?per_page=7&page={page}")).await.json();
        let items = slugs(&body);
        if items.is_empty() {
            break;
        }
        assert_eq!(body["total"], total);
        seen.extend(items);
        page += 1;
    }
    assert_eq!(seen.len() as i64, total);
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len() as i64, total, "no product twice");
    let beyond = client.get("/api/v1/products?page=999").await.json();
    assert_eq!(beyond["items"].as_array().unwrap().len(), 0);
    assert_eq!(beyond["total"], total);
}

#[tokio::test]
async fn bad_listing_parameters_are_400_with_the_json_error() {
    let app = TestApp::new().await;
    let client = app.client();
    let long = "a".repeat(101);
    for query in [
        "page=0".to_string(),
        "page=-1".into(),
        "page=abc".into(),
        "page=1.5".into(),
        "page=99999999999999999999999".into(),
        "per_page=0".into(),
        "per_page=101".into(),
        "per_page=x".into(),
        "sort=random".into(),
        "sort=price".into(),
        format!("q={long}"),
        "q=%00".into(),
    ] {
        let response = client.get(&format!("/api/v1/products?{query}")).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(response.error_code(), "invalid_input", "{query}");
    }
}

#[tokio::test]
async fn unknown_products_and_routes_are_404_json() {
    let app = TestApp::new().await;
    let client = app.client();
    for uri in ["/api/v1/products/no-such-thing", "/api/v1/nothing-here", "/api/v1/products/%00"] {
        let response = client.get(uri).await;
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(response.error_code(), "not_found");
    }
}

/// The categories and their counts are kept for `CATEGORIES_TTL` (every listing shows them and
/// takes its total from them); a search is always counted afresh. A product added straight into
/// the database is listed at once, and counted once the kept copy is due.
#[tokio::test]
async fn counts_follow_products_added_behind_the_shops_back_within_the_ttl() {
    let app = TestApp::new().await;
    let client = app.client();
    let total = |page: &Value| page["total"].as_i64().unwrap();
    let bakery = |categories: &Value| {
        categories.as_array().unwrap().iter().find(|c| c["slug"] == "bakery").unwrap()["product_count"]
            .as_i64()
            .unwrap()
    };
    let before_all = total(&client.get("/api/v1/products").await.json());
    let before_bakery = total(&client.get("/api/v1/products?category=bakery").await.json());
    assert_eq!(bakery(&client.get("/api/v1/categories").await.json()), before_bakery);

    let category = app.sql_i64("SELECT id FROM categories WHERE slug = 'bakery'").await;
    app.sql(&format!(
        "INSERT INTO products (slug, name, description, price_cents, stock, category_id, image_url) \
         VALUES ('aaa-rye', 'Aaa rye loaf', 'Dark rye.', 450, 5, {category}, '/images/products/banana.svg')"
    ))
    .await;

    // Listed at once (first by name), and found and counted by a search at once.
    let page = client.get("/api/v1/products?category=bakery").await.json();
    assert_eq!(slugs(&page)[0], "aaa-rye");
    let found = client.get("/api/v1/products?q=aaa%20rye").await.json();
    assert_eq!((total(&found), slugs(&found)), (1, vec!["aaa-rye".to_string()]));
    // The kept counts are not read again on every request...
    assert_eq!(total(&page), before_bakery);
    assert_eq!(total(&client.get("/api/v1/products").await.json()), before_all);

    // ...but once they are due, every count has the new product.
    tokio::time::sleep(shop::catalog::service::CATEGORIES_TTL + std::time::Duration::from_millis(200)).await;
    assert_eq!(total(&client.get("/api/v1/products").await.json()), before_all + 1);
    assert_eq!(total(&client.get("/api/v1/products?category=bakery").await.json()), before_bakery + 1);
    assert_eq!(bakery(&client.get("/api/v1/categories").await.json()), before_bakery + 1);
    let html = client.get("/?category=bakery").await.text();
    assert!(html.contains(&format!("Bakery ({})", before_bakery + 1)), "the category chip counts it");
}
