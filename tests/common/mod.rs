//! Drives the real router (the same one the binary serves) against a fresh database, one per
//! test: an SQLite file in a temporary folder, or, with `SHOP_TEST_DATABASE=postgres`, a new
//! PostgreSQL database on `TEST_POSTGRES_URL` that is dropped when the test ends.
#![allow(dead_code)]

use axum::{
    body::Body,
    http::{header, HeaderMap, Method, Request, StatusCode},
    Router,
};
use http_body_util::BodyExt;
use leptos::prelude::LeptosOptions;
use serde_json::Value;
use shop::server::{build_app, config::Config};
use std::sync::{Arc, Mutex};
use tower::ServiceExt;

pub struct TestApp {
    pub router: Router,
    pub database_url: String,
    _db: TestDatabase,
}

/// The PostgreSQL server the suite uses when `SHOP_TEST_DATABASE=postgres`.
pub fn postgres_admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

pub fn on_postgres() -> bool {
    matches!(std::env::var("SHOP_TEST_DATABASE").as_deref(), Ok("postgres" | "postgresql"))
}

/// A database of the test's own, gone when the test ends.
pub enum TestDatabase {
    Sqlite(tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl TestDatabase {
    /// A fresh, empty database and its URL.
    pub async fn create() -> (TestDatabase, String) {
        if !on_postgres() {
            let dir = tempfile::tempdir().expect("temporary folder");
            let url = format!("sqlite://{}", dir.path().join("shop.db").display());
            return (TestDatabase::Sqlite(dir), url);
        }
        use sqlx::Connection;
        let admin_url = postgres_admin_url();
        let name = format!("shop_test_{}", uuid_like_random());
        let mut admin = sqlx::PgConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {admin_url} (TEST_POSTGRES_URL): {e}"));
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await.expect("CREATE DATABASE");
        let _ = admin.close().await;
        let url = url_with_database(&admin_url, &name);
        (TestDatabase::Postgres { admin_url, name }, url)
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let TestDatabase::Postgres { admin_url, name } = self {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Drop runs inside the test's runtime: do the async work on a thread of its own.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                runtime.block_on(async move {
                    use sqlx::Connection;
                    if let Ok(mut admin) = sqlx::PgConnection::connect(&admin_url).await {
                        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                            .execute(&mut admin)
                            .await;
                        let _ = admin.close().await;
                    }
                });
            })
            .join();
        }
    }
}

/// Runs SQL straight on the database at `url` (to set up stock or prices).
pub async fn sql(url: &str, statement: &str) {
    let mut conn = connect(url).await;
    sqlx::query(statement).execute(&mut conn).await.unwrap();
    let _ = sqlx::Connection::close(conn).await;
}

/// A number read straight from the database at `url` (a `COUNT(*)`, a stock).
pub async fn sql_i64(url: &str, statement: &str) -> i64 {
    let mut conn = connect(url).await;
    // On PostgreSQL a COUNT is BIGINT but a column may be narrower: read it as BIGINT.
    let value: i64 = sqlx::query_scalar(&format!("SELECT CAST(({statement}) AS BIGINT)"))
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let _ = sqlx::Connection::close(conn).await;
    value
}

async fn connect(url: &str) -> sqlx::AnyConnection {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    sqlx::AnyConnection::connect(url).await.unwrap()
}

/// `postgres://user@host:port/db?x` with the database replaced by `name`.
pub fn url_with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let host_part = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{host_part}/{name}?{query}"),
        None => format!("{host_part}/{name}"),
    }
}

/// A name part unique across processes and runs.
pub fn uuid_like_random() -> String {
    let mut bytes = [0u8; 6];
    getrandom::fill(&mut bytes).expect("random bytes");
    let random: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}_{}", uuid_like(), random)
}

impl TestApp {
    pub async fn new() -> TestApp {
        TestApp::with_config(|_| {}).await
    }

    pub async fn with_config(adjust: impl FnOnce(&mut Config)) -> TestApp {
        TestApp::with_site(adjust, "target/site").await
    }

    /// With the built site (`pkg/`, images) looked for in `site_root`.
    pub async fn with_site(adjust: impl FnOnce(&mut Config), site_root: &str) -> TestApp {
        let (db, database_url) = TestDatabase::create().await;
        let mut config = Config { database_url, ..Config::default() };
        adjust(&mut config);
        let options = LeptosOptions::builder().output_name("shop").site_root(site_root).build();
        let database_url = config.database_url.clone();
        let router = build_app(config, options).await.expect("the app starts");
        TestApp { router, database_url, _db: db }
    }

    /// Runs SQL straight on the test database (to set up stock or prices).
    pub async fn sql(&self, statement: &str) {
        sql(&self.database_url, statement).await
    }

    /// A number read straight from the test database (a `COUNT(*)`, a stock).
    pub async fn sql_i64(&self, statement: &str) -> i64 {
        sql_i64(&self.database_url, statement).await
    }

    /// A client with its own cookie jar (one cookie: the session).
    pub fn client(&self) -> Client {
        Client { router: self.router.clone(), cookie: Arc::new(Mutex::new(None)) }
    }
}

#[derive(Clone)]
pub struct Client {
    router: Router,
    pub cookie: Arc<Mutex<Option<String>>>,
}

pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl TestResponse {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| panic!("not JSON ({}): {}", self.status, String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn set_cookie(&self) -> Option<String> {
        self.headers.get(header::SET_COOKIE).map(|v| v.to_str().unwrap().to_string())
    }

    /// Asserts the contract's error body and returns its code.
    pub fn error_code(&self) -> String {
        let body = self.json();
        let code = body["error"]["code"].as_str().unwrap_or_else(|| panic!("no error code in {body}"));
        let message = body["error"]["message"].as_str().expect("an error message");
        assert!(!message.is_empty());
        code.to_string()
    }
}

impl Client {
    pub async fn send(&self, request: Request<Body>) -> TestResponse {
        let mut request = request;
        if let Some(cookie) = self.cookie.lock().unwrap().clone() {
            request.headers_mut().insert(header::COOKIE, cookie.parse().unwrap());
        }
        let response = self.router.clone().oneshot(request).await.expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        if let Some(set_cookie) = headers.get(header::SET_COOKIE) {
            let pair = set_cookie.to_str().unwrap().split(';').next().unwrap().to_string();
            *self.cookie.lock().unwrap() = Some(pair);
        }
        let body = response.into_body().collect().await.unwrap().to_bytes().to_vec();
        TestResponse { status, headers, body }
    }

    pub async fn get(&self, uri: &str) -> TestResponse {
        self.send(Request::get(uri).body(Body::empty()).unwrap()).await
    }

    pub async fn json(&self, method: Method, uri: &str, body: &str) -> TestResponse {
        self.send(
            Request::builder()
                .method(method)
                .uri(uri)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string()))
                .unwrap(),
        )
        .await
    }

    /// Sends `request` with `Authorization: Bearer <token>`.
    pub async fn bearer(&self, token: &str, method: Method, uri: &str, body: Option<&str>) -> TestResponse {
        let mut builder = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {token}"));
        if body.is_some() {
            builder = builder.header(header::CONTENT_TYPE, "application/json");
        }
        self.send(builder.body(Body::from(body.unwrap_or("").to_string())).unwrap()).await
    }

    pub async fn post(&self, uri: &str, body: &str) -> TestResponse {
        self.json(Method::POST, uri, body).await
    }

    /// Registers a fresh user and returns (email, password).
    pub async fn register(&self, name: &str) -> (String, String) {
        let email = format!("{}-{}@example.com", name.to_lowercase(), uuid_like());
        let password = "correct horse battery".to_string();
        let response = self
            .post(
                "/api/v1/auth/register",
                &serde_json::json!({"email": email, "password": password, "name": name}).to_string(),
            )
            .await;
        assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
        (email, password)
    }

    pub async fn login(&self, email: &str, password: &str, mode: &str) -> TestResponse {
        self.post(
            "/api/v1/auth/login",
            &serde_json::json!({"email": email, "password": password, "mode": mode}).to_string(),
        )
        .await
    }

    pub async fn delete(&self, uri: &str) -> TestResponse {
        self.send(Request::delete(uri).body(Body::empty()).unwrap()).await
    }

    /// A plain HTML form post, as a browser without JavaScript sends it.
    pub async fn form_post(&self, uri: &str, form: &str, referer: &str) -> TestResponse {
        self.send(
            Request::post(uri)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::ACCEPT, "text/html,application/xhtml+xml")
                .header(header::REFERER, referer)
                .body(Body::from(form.to_string()))
                .unwrap(),
        )
        .await
    }

    pub async fn cart(&self) -> Value {
        let response = self.get("/api/v1/cart").await;
        assert_eq!(response.status, StatusCode::OK);
        response.json()
    }

    pub async fn add(&self, product_id: i64, quantity: i64) -> TestResponse {
        self.json(
            Method::POST,
            "/api/v1/cart/items",
            &format!(r#"{{"product_id":{product_id},"quantity":{quantity}}}"#),
        )
        .await
    }
}

/// Product ids fixed by the seed migration.
pub const BANANA: i64 = 1;
pub const APPLE: i64 = 2;

pub async fn product_id(client: &Client, slug: &str) -> i64 {
    client.get(&format!("/api/v1/products/{slug}")).await.json()["id"].as_i64().unwrap()
}

/// `(slug, quantity)` of each line.
pub fn lines(cart: &Value) -> Vec<(String, i64)> {
    cart["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["slug"].as_str().unwrap().to_string(), l["quantity"].as_i64().unwrap()))
        .collect()
}

/// Counts the stored sessions, in the session store's table on either database.
pub fn session_count_sql() -> &'static str {
    if on_postgres() {
        "SELECT COUNT(*) FROM tower_sessions.session"
    } else {
        "SELECT COUNT(*) FROM tower_sessions"
    }
}

pub fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!("{}{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// The real `shop` binary, listening on a free port of 127.0.0.1, with what every test instance
/// needs (no `JWT_SECRET`: instances on one database share the secret kept there; `RUST_LOG`
/// warn) and then `env`. Killed when dropped. Waiting until it answers is the caller's part:
/// each test talks to it in its own way.
pub struct ShopProcess {
    pub child: std::process::Child,
    /// `127.0.0.1:<port>`
    pub addr: String,
}

impl ShopProcess {
    pub fn spawn(
        database_url: &str,
        env: &[(&str, &str)],
        stdout: std::process::Stdio,
        stderr: std::process::Stdio,
    ) -> ShopProcess {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let addr = format!("127.0.0.1:{port}");
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_shop"));
        command
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("LEPTOS_SITE_ADDR", &addr)
            .env("LEPTOS_OUTPUT_NAME", "shop")
            .env("DATABASE_URL", database_url)
            .env_remove("JWT_SECRET")
            .env("RUST_LOG", "warn")
            .stdin(std::process::Stdio::null())
            .stdout(stdout)
            .stderr(stderr);
        for (name, value) in env {
            command.env(name, value);
        }
        let child = command.spawn().expect("the shop binary starts");
        ShopProcess { child, addr }
    }

    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for ShopProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
