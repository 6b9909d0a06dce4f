//! Two `shop` processes on one database, as behind a load balancer with no sticky sessions:
//! whatever one instance does, the other honours, in both modes. The suite runs this on
//! SQLite and, with `SHOP_TEST_DATABASE=postgres`, on PostgreSQL — the deployment it is for.
mod common;

use common::{sql, sql_i64, ShopProcess, TestDatabase};
use http_body_util::{BodyExt, Full};
use hyper::{body::Bytes, Method, Request, StatusCode};
use hyper_util::{client::legacy::Client, rt::TokioExecutor};
use serde_json::{json, Value};
use std::{
    process::Stdio,
    time::{Duration, Instant},
};

/// A running `shop` process, killed when dropped.
struct Instance {
    base: String,
    _process: ShopProcess,
}

/// Starts the real binary on `database_url` and waits until `/healthz` answers.
async fn start(database_url: &str) -> Instance {
    let process =
        ShopProcess::spawn(database_url, &[("AUTH_RATE_PER_ACCOUNT", "3")], Stdio::null(), Stdio::inherit());
    let instance = Instance { base: process.base(), _process: process };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(response) = send(&instance, Method::GET, "/healthz", &[], None).await {
            if response.0 == StatusCode::OK {
                return instance;
            }
        }
        assert!(Instant::now() < deadline, "{} did not become healthy", instance.base);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// (status, Set-Cookie pair if any, JSON body or Null)
type Answer = (StatusCode, Option<String>, Value);

async fn send(
    instance: &Instance,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> Result<Answer, String> {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let mut request = Request::builder().method(method).uri(format!("{}{path}", instance.base));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let bytes = match body {
        Some(body) => {
            request = request.header("content-type", "application/json");
            Bytes::from(body.to_string())
        }
        None => Bytes::new(),
    };
    let response =
        client.request(request.body(Full::new(bytes)).unwrap()).await.map_err(|e| e.to_string())?;
    let status = response.status();
    let cookie = response
        .headers()
        .get("set-cookie")
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_string());
    let body = response.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
    let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    Ok((status, cookie, value))
}

/// One client's credential: a cookie or a token, sent the same way to either instance.
#[derive(Clone)]
enum Credential {
    Cookie(String),
    Bearer(String),
}

impl Credential {
    fn header(&self) -> (&'static str, String) {
        match self {
            Credential::Cookie(pair) => ("cookie", pair.clone()),
            Credential::Bearer(token) => ("authorization", format!("Bearer {token}")),
        }
    }
}

async fn call(
    instance: &Instance,
    credential: &Credential,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Answer {
    let (name, value) = credential.header();
    send(instance, method, path, &[(name, &value)], body).await.expect("the instance answers")
}

async fn register(instance: &Instance, name: &str) -> (String, String) {
    let email = format!("{}-{}@example.com", name.to_lowercase(), common::uuid_like_random());
    let password = "correct horse battery".to_string();
    let body = json!({"email": email, "password": password, "name": name});
    let (status, _, answer) =
        send(instance, Method::POST, "/api/v1/auth/register", &[], Some(body)).await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    (email, password)
}

async fn login(instance: &Instance, email: &str, password: &str, mode: &str) -> Credential {
    let body = json!({"email": email, "password": password, "mode": mode});
    let (status, cookie, answer) =
        send(instance, Method::POST, "/api/v1/auth/login", &[], Some(body)).await.unwrap();
    assert_eq!(status, StatusCode::OK, "{answer}");
    match mode {
        "session" => Credential::Cookie(cookie.expect("a session cookie")),
        _ => Credential::Bearer(answer["token"].as_str().expect("a token").to_string()),
    }
}

const ME: &str = "/api/v1/me";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_database_serve_one_shop_in_both_modes() {
    let (_db, url) = TestDatabase::create().await;
    // One after the other: the first start creates and migrates the database.
    let a = start(&url).await;
    let b = start(&url).await;

    for mode in ["session", "token"] {
        let (email, password) = register(&a, &format!("Multi-{mode}")).await;

        // Signed in on A, recognised by B.
        let credential = login(&a, &email, &password, mode).await;
        let (status, _, me) = call(&b, &credential, Method::GET, ME, None).await;
        assert_eq!(status, StatusCode::OK, "{mode}: a sign-in on A works on B: {me}");
        assert_eq!(me["mode"], mode);

        // A cart changed on A shows on B, and the other way round.
        let add = json!({"product_id": 1, "quantity": 2});
        let (status, _, _) = call(&a, &credential, Method::POST, "/api/v1/cart/items", Some(add)).await;
        assert_eq!(status, StatusCode::OK);
        let (_, _, cart) = call(&b, &credential, Method::GET, "/api/v1/cart", None).await;
        assert_eq!(cart["item_count"], 2, "{mode}: B sees the cart changed on A: {cart}");
        let (status, _, _) =
            call(&b, &credential, Method::PUT, "/api/v1/cart/items/1", Some(json!({"quantity": 5}))).await;
        assert_eq!(status, StatusCode::OK);
        let (_, _, cart) = call(&a, &credential, Method::GET, "/api/v1/cart", None).await;
        assert_eq!(cart["item_count"], 5, "{mode}: A sees the cart changed on B: {cart}");

        // A sign-out on B is honoured by A at once.
        let (status, _, _) = call(&b, &credential, Method::POST, "/api/v1/auth/logout", None).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, _, _) = call(&a, &credential, Method::GET, ME, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{mode}: signed out on B, refused by A");

        // "Sign out everywhere" on A cuts off credentials of both kinds held against B.
        let on_b_session = login(&b, &email, &password, "session").await;
        let on_b_token = login(&b, &email, &password, "token").await;
        let mine = login(&a, &email, &password, mode).await;
        let (status, _, _) = call(&a, &mine, Method::POST, "/api/v1/auth/logout-all", None).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        for other in [&on_b_session, &on_b_token, &mine] {
            let (status, _, _) = call(&b, other, Method::GET, ME, None).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{mode}: logout-all on A, honoured by B");
        }
    }

    // A guest's cart (session cookie, no account) also follows the guest between instances.
    let (status, cookie, _) =
        send(&a, Method::POST, "/api/v1/cart/items", &[], Some(json!({"product_id": 2, "quantity": 3})))
            .await
            .unwrap();
    assert_eq!(status, StatusCode::OK);
    let guest = Credential::Cookie(cookie.expect("the guest's session cookie"));
    let (_, _, cart) = call(&b, &guest, Method::GET, "/api/v1/cart", None).await;
    assert_eq!(cart["item_count"], 3, "B sees the guest cart made on A: {cart}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkouts_racing_on_two_instances_never_oversell() {
    let (_db, url) = TestDatabase::create().await;
    let a = start(&url).await;
    let b = start(&url).await;
    let shipping = json!({"shipping": {"name": "Racer", "address": "1 Track Lane"}});

    for round in 0..8 {
        // 3 in stock; each buyer wants 2: exactly one of them can have them.
        sql(&url, "UPDATE products SET stock = 3 WHERE slug = 'apple'").await;
        let mut buyers = Vec::new();
        for (i, instance) in [&a, &b].into_iter().enumerate() {
            let (email, password) = register(instance, &format!("Racer{round}{i}")).await;
            let mode = if i == 0 { "session" } else { "token" };
            let credential = login(instance, &email, &password, mode).await;
            let add = json!({"product_id": 2, "quantity": 2});
            let (status, _, _) =
                call(instance, &credential, Method::POST, "/api/v1/cart/items", Some(add)).await;
            assert_eq!(status, StatusCode::OK);
            buyers.push(credential);
        }
        let place = |instance: &Instance, credential: &Credential, key: String| {
            let (name, value) = credential.header();
            let body = shipping.clone();
            let base = instance.base.clone();
            async move {
                let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
                let request = Request::post(format!("{base}/api/v1/orders"))
                    .header(name, value)
                    .header("content-type", "application/json")
                    .header("idempotency-key", key)
                    .body(Full::new(Bytes::from(body.to_string())))
                    .unwrap();
                client.request(request).await.expect("the instance answers").status()
            }
        };
        let (first, second) = tokio::join!(
            place(&a, &buyers[0], format!("race-{round}-a")),
            place(&b, &buyers[1], format!("race-{round}-b")),
        );
        let mut statuses = [first, second];
        statuses.sort();
        assert_eq!(
            statuses,
            [StatusCode::CREATED, StatusCode::CONFLICT],
            "round {round}: one order, one refusal"
        );
        assert_eq!(
            sql_i64(&url, "SELECT stock FROM products WHERE slug = 'apple'").await,
            1,
            "round {round}"
        );
    }
    assert_eq!(sql_i64(&url, "SELECT COUNT(*) FROM orders").await, 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_attempts_are_counted_across_instances() {
    let (_db, url) = TestDatabase::create().await;
    let a = start(&url).await;
    let b = start(&url).await;
    let (email, password) = register(&a, "Gus").await;
    async fn attempt_on(instance: &Instance, email: &str, password: &str) -> Answer {
        let body = json!({"email": email, "password": password, "mode": "token"});
        send(instance, Method::POST, "/api/v1/auth/login", &[], Some(body)).await.unwrap()
    }
    // AUTH_RATE_PER_ACCOUNT=3 on both: two wrong guesses on A and one on B use them up.
    assert_eq!(attempt_on(&a, &email, "wrong one").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(attempt_on(&a, &email, "wrong two").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(attempt_on(&b, &email, "wrong three").await.0, StatusCode::UNAUTHORIZED);
    let (status, _, body) = attempt_on(&a, &email, &password).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["error"]["code"], "rate_limited");
    assert_eq!(attempt_on(&b, &email, &password).await.0, StatusCode::TOO_MANY_REQUESTS);
}
