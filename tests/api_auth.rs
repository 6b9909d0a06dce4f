//! Accounts, both credentials, the resolver's refusals, switching, signing out, cart merging.
mod common;

use axum::http::{Method, StatusCode};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use common::{lines, product_id, Client, TestApp, APPLE, BANANA};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

const SECRET: &str = "an-example-secret-that-is-at-least-32-bytes-long";

async fn app() -> TestApp {
    TestApp::with_config(|c| c.jwt_secret = Some(SECRET.to_string())).await
}

fn session_id(cookie: &str) -> String {
    cookie.split(';').next().unwrap().trim_start_matches("shop_session=").to_string()
}

async fn token_login(client: &Client, email: &str, password: &str) -> String {
    let response = client.login(email, password, "token").await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    response.json()["token"].as_str().unwrap().to_string()
}

fn sign(claims: Value, algorithm: Algorithm, secret: &str) -> String {
    jsonwebtoken::encode(
        &Header::new(algorithm),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()).unwrap(),
    )
    .unwrap()
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

#[tokio::test]
async fn registration_answers_201_and_refuses_bad_or_taken_input() {
    let app = app().await;
    let client = app.client();
    let response = client
        .post(
            "/api/v1/auth/register",
            r#"{"email":"Ann@Example.com","password":"correct horse","name":"Ann"}"#,
        )
        .await;
    assert_eq!(response.status, StatusCode::CREATED);
    let body = response.json();
    assert_eq!(body["user"]["email"], "Ann@Example.com");
    assert_eq!(body["user"]["name"], "Ann");
    assert!(body["user"]["id"].as_i64().unwrap() > 0);
    assert!(body["user"].get("password_hash").is_none());
    assert!(response.set_cookie().is_none(), "registering does not sign in");
    // Stored as argon2id at OWASP's parameters; the same password twice gives two hashes (salt).
    client
        .post(
            "/api/v1/auth/register",
            r#"{"email":"twin@example.com","password":"correct horse","name":"Twin"}"#,
        )
        .await;
    let argon2id = "SELECT COUNT(*) FROM users WHERE password_hash LIKE '$argon2id$v=19$m=19456,t=2,p=1$%'";
    assert_eq!(app.sql_i64(argon2id).await, 2);
    assert_eq!(app.sql_i64("SELECT COUNT(DISTINCT password_hash) FROM users").await, 2);

    let taken = client
        .post(
            "/api/v1/auth/register",
            r#"{"email":"ann@EXAMPLE.com","password":"another one","name":"Ann 2"}"#,
        )
        .await;
    assert_eq!(taken.status, StatusCode::CONFLICT);
    assert_eq!(taken.error_code(), "email_taken");

    let long = "x".repeat(129);
    for body in [
        r#"{"email":"bob@example.com","password":"short","name":"Bob"}"#.to_string(),
        format!(r#"{{"email":"bob@example.com","password":"{long}","name":"Bob"}}"#),
        r#"{"email":"not-an-email","password":"correct horse","name":"Bob"}"#.to_string(),
        r#"{"email":"bob@example.com","password":"correct horse","name":""}"#.to_string(),
        r#"{"email":"bob@example.com","password":"correct horse"}"#.to_string(),
        r#"{"email":1,"password":"correct horse","name":"Bob"}"#.to_string(),
        "{".to_string(),
    ] {
        let response = client.post("/api/v1/auth/register", &body).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(response.error_code(), "invalid_input");
    }
    // 8 and 128 characters are both fine.
    for (i, password) in ["12345678".to_string(), "y".repeat(128)].iter().enumerate() {
        let body = json!({"email": format!("edge{i}@example.com"), "password": password, "name": "Edge"});
        assert_eq!(client.post("/api/v1/auth/register", &body.to_string()).await.status, StatusCode::CREATED);
    }
}

#[tokio::test]
async fn wrong_email_and_wrong_password_get_the_same_answer() {
    let app = app().await;
    let client = app.client();
    let (email, _) = client.register("Cleo").await;
    let wrong_password = client.login(&email, "not the password", "session").await;
    let wrong_email = client.login("nobody@example.com", "not the password", "session").await;
    assert_eq!(wrong_password.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong_email.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong_password.json(), wrong_email.json());
    assert_eq!(wrong_password.error_code(), "invalid_credentials");
    assert!(wrong_password.set_cookie().is_none());
    let bad_mode = client.login(&email, "correct horse battery", "cookie").await;
    assert_eq!(bad_mode.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn session_sign_in_sets_a_new_cookie_and_keeps_the_guest_cart() {
    let app = app().await;
    let client = app.client();
    let (email, password) = client.register("Dan").await;
    // A guest with a cart: the session cookie exists before signing in.
    let guest = client.add(BANANA, 2).await;
    let guest_id = session_id(&guest.set_cookie().unwrap());

    let response = client.login(&email, &password, "session").await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    let body = response.json();
    assert_eq!(body["mode"], "session");
    assert_eq!(body["user"]["email"], email);
    assert!(body.get("token").is_none());
    let cookie = response.set_cookie().expect("a new session cookie");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    let new_id = session_id(&cookie);
    assert_ne!(new_id, guest_id, "the session id is cycled at sign-in");

    let me = client.get("/api/v1/me").await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.json()["mode"], "session");
    assert_eq!(lines(&client.cart().await), vec![("banana".to_string(), 2)], "the guest cart stayed");

    // The id sent before signing in is dead.
    let old = app.client();
    *old.cookie.lock().unwrap() = Some(format!("shop_session={guest_id}"));
    assert_eq!(old.get("/api/v1/me").await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(old.cart().await["item_count"], 0);
}

#[tokio::test]
async fn token_sign_in_gives_a_bearer_token_with_no_personal_data_and_no_cookie() {
    let app = app().await;
    let client = app.client();
    let (email, password) = client.register("Eve").await;
    let response = client.login(&email, &password, "token").await;
    assert_eq!(response.status, StatusCode::OK);
    assert!(response.set_cookie().is_none(), "no auth cookie in token mode");
    let body = response.json();
    assert_eq!(body["mode"], "token");
    assert_eq!(body["token_type"], "Bearer");
    let expires_at = body["expires_at"].as_str().unwrap();
    assert!(expires_at.len() >= 20 && expires_at.contains('T'), "RFC 3339: {expires_at}");
    let token = body["token"].as_str().unwrap();

    let mut parts = token.split('.');
    let header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts.next().unwrap()).unwrap()).unwrap();
    let claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts.next().unwrap()).unwrap()).unwrap();
    assert_eq!(header["alg"], "HS256");
    let mut keys: Vec<&String> = claims.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["exp", "iat", "jti", "sub"]);
    assert!(!token.contains(&URL_SAFE_NO_PAD.encode("Eve")));
    assert!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap() == 3600);

    let fresh = app.client();
    let me = fresh.bearer(token, Method::GET, "/api/v1/me", None).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.json()["mode"], "token");
    assert_eq!(me.json()["user"]["name"], "Eve");
    assert_eq!(app.client().get("/api/v1/me").await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_resolver_refuses_every_bad_token() {
    let app = app().await;
    let client = app.client();
    let (email, password) = client.register("Fay").await;
    let good = token_login(&client, &email, &password).await;
    let claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(good.split('.').nth(1).unwrap()).unwrap()).unwrap();
    let sub = claims["sub"].as_str().unwrap().to_string();
    let t = now();
    let valid = |iat: i64, exp: i64| json!({"sub": sub, "iat": iat, "exp": exp, "jti": "j1"});

    let expired = sign(valid(t - 7200, t - 3600), Algorithm::HS256, SECRET);
    let not_yet_valid = sign(valid(t + 3600, t + 7200), Algorithm::HS256, SECRET);
    let future_nbf = sign(
        json!({"sub": sub, "iat": t, "exp": t + 600, "nbf": t + 3600, "jti": "j2"}),
        Algorithm::HS256,
        SECRET,
    );
    let wrong_key = sign(valid(t, t + 600), Algorithm::HS256, "another-secret-that-is-also-32-bytes-long!!");
    let other_algorithm = sign(valid(t, t + 600), Algorithm::HS512, SECRET);
    let no_such_user =
        sign(json!({"sub": "999999", "iat": t, "exp": t + 600, "jti": "j3"}), Algorithm::HS256, SECRET);
    let not_a_number =
        sign(json!({"sub": "abc", "iat": t, "exp": t + 600, "jti": "j4"}), Algorithm::HS256, SECRET);
    let (h, p, s) = {
        let mut it = good.split('.');
        (it.next().unwrap().to_string(), it.next().unwrap().to_string(), it.next().unwrap().to_string())
    };
    let mut forged_claims = claims.clone();
    forged_claims["sub"] = json!("1");
    forged_claims["exp"] = json!(t + 999_999);
    let tampered = format!("{h}.{}.{s}", URL_SAFE_NO_PAD.encode(forged_claims.to_string()));
    let none_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let alg_none = format!("{none_header}.{p}.");
    let alg_none_sig = format!("{none_header}.{p}.{s}");

    assert_eq!(client.bearer(&good, Method::GET, "/api/v1/me", None).await.status, StatusCode::OK);
    // 7 KB: still under the header limit (a 10 KB one is refused earlier, with 431: bad_input).
    let huge = "a".repeat(7_000);
    for (what, token) in [
        ("expired", expired.as_str()),
        ("not yet valid", not_yet_valid.as_str()),
        ("nbf in the future", future_nbf.as_str()),
        ("wrong key", wrong_key.as_str()),
        ("re-signed with HS512", other_algorithm.as_str()),
        ("unknown user", no_such_user.as_str()),
        ("sub not a number", not_a_number.as_str()),
        ("tampered", tampered.as_str()),
        ("alg none", alg_none.as_str()),
        ("alg none with a signature", alg_none_sig.as_str()),
        ("malformed", "a.b.c"),
        ("garbage", "not a token at all"),
        ("empty", ""),
        ("7 KB", huge.as_str()),
    ] {
        let fresh = app.client();
        let response = fresh.bearer(token, Method::GET, "/api/v1/me", None).await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED, "{what}");
        assert_eq!(response.error_code(), "unauthenticated", "{what}");
        let cart = fresh.bearer(token, Method::GET, "/api/v1/cart", None).await;
        assert_eq!(cart.status, StatusCode::UNAUTHORIZED, "{what}: the cart too");
    }
    // Not a Bearer header at all.
    let response = client
        .send(
            axum::http::Request::get("/api/v1/me")
                .header("authorization", "Basic dXNlcjpwYXNz")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    // The scheme's name is case-insensitive; the token is not.
    for (header, status) in [
        (format!("bearer {good}"), StatusCode::OK),
        (format!("BEARER {good}"), StatusCode::OK),
        (format!("Bearer {}", good.to_uppercase()), StatusCode::UNAUTHORIZED),
        (format!("Bearer{good}"), StatusCode::UNAUTHORIZED),
        ("Bearé".to_string(), StatusCode::UNAUTHORIZED),
    ] {
        let response = app
            .client()
            .send(
                axum::http::Request::get("/api/v1/me")
                    .header("authorization", header.as_str())
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(response.status, status, "{}", &header[..header.len().min(12)]);
    }

    // Revoked: signed out.
    let fresh = app.client();
    assert_eq!(
        fresh.bearer(&good, Method::POST, "/api/v1/auth/logout", None).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(fresh.bearer(&good, Method::GET, "/api/v1/me", None).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_invalid_bearer_never_falls_back_to_the_cookie() {
    let app = app().await;
    let client = app.client();
    let (email, password) = client.register("Gus").await;
    client.login(&email, &password, "session").await;
    assert_eq!(client.get("/api/v1/me").await.status, StatusCode::OK, "the cookie works");
    let response = client.bearer("garbage", Method::GET, "/api/v1/me", None).await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    let response = client
        .bearer("garbage", Method::POST, "/api/v1/cart/items", Some(r#"{"product_id":1,"quantity":1}"#))
        .await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    assert_eq!(client.cart().await["item_count"], 0, "nothing changed");
}

#[tokio::test]
async fn session_sign_out_deletes_the_session_and_expires_the_cookie() {
    let app = app().await;
    let client = app.client();
    let (email, password) = client.register("Hal").await;
    let id = session_id(&client.login(&email, &password, "session").await.set_cookie().unwrap());
    let response = client.post("/api/v1/auth/logout", "").await;
    assert_eq!(response.status, StatusCode::NO_CONTENT);
    let cookie = response.set_cookie().expect("the cookie is expired");
    assert!(
        cookie.contains("Max-Age=0") || cookie.to_lowercase().contains("expires=thu, 01 jan 1970"),
        "{cookie}"
    );
    let replay = app.client();
    *replay.cookie.lock().unwrap() = Some(format!("shop_session={id}"));
    assert_eq!(replay.get("/api/v1/me").await.status, StatusCode::UNAUTHORIZED, "the old id is dead");
}

#[tokio::test]
async fn sign_out_everywhere_ends_every_session_and_token() {
    let app = app().await;
    let (laptop, phone, api) = (app.client(), app.client(), app.client());
    let (email, password) = laptop.register("Ida").await;
    laptop.login(&email, &password, "session").await;
    phone.login(&email, &password, "session").await;
    let token = token_login(&api, &email, &password).await;
    let other_token = token_login(&app.client(), &email, &password).await;
    for client in [&laptop, &phone] {
        assert_eq!(client.get("/api/v1/me").await.status, StatusCode::OK);
    }
    assert_eq!(
        api.bearer(&token, Method::POST, "/api/v1/auth/logout-all", None).await.status,
        StatusCode::NO_CONTENT
    );
    for client in [&laptop, &phone] {
        assert_eq!(client.get("/api/v1/me").await.status, StatusCode::UNAUTHORIZED);
    }
    for t in [&token, &other_token] {
        assert_eq!(
            app.client().bearer(t, Method::GET, "/api/v1/me", None).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    // Signing in again works at once (even within the same second).
    let again = token_login(&app.client(), &email, &password).await;
    assert_eq!(app.client().bearer(&again, Method::GET, "/api/v1/me", None).await.status, StatusCode::OK);
    let fresh = app.client();
    fresh.login(&email, &password, "session").await;
    assert_eq!(fresh.get("/api/v1/me").await.status, StatusCode::OK);
    // A guest cannot.
    assert_eq!(app.client().post("/api/v1/auth/logout-all", "").await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn switching_exchanges_the_credential_and_keeps_the_cart() {
    let app = app().await;
    let client = app.client();
    let (email, password) = client.register("Jo").await;
    let cookie = client.login(&email, &password, "session").await.set_cookie().unwrap();
    client.add(APPLE, 3).await;

    // Session → token.
    let response = client.post("/api/v1/auth/switch", r#"{"mode":"token"}"#).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    let token = response.json()["token"].as_str().unwrap().to_string();
    assert_eq!(response.json()["mode"], "token");
    let replay = app.client();
    *replay.cookie.lock().unwrap() = Some(cookie.split(';').next().unwrap().to_string());
    assert_eq!(replay.get("/api/v1/me").await.status, StatusCode::UNAUTHORIZED, "the old session is dead");
    let api = app.client();
    let cart = api.bearer(&token, Method::GET, "/api/v1/cart", None).await.json();
    assert_eq!(lines(&cart), vec![("apple".to_string(), 3)]);

    // Token → session.
    let response =
        api.bearer(&token, Method::POST, "/api/v1/auth/switch", Some(r#"{"mode":"session"}"#)).await;
    assert_eq!(response.status, StatusCode::OK);
    assert!(response.set_cookie().unwrap().starts_with("shop_session="));
    assert_eq!(
        api.bearer(&token, Method::GET, "/api/v1/me", None).await.status,
        StatusCode::UNAUTHORIZED,
        "the old token is dead"
    );
    assert_eq!(lines(&api.cart().await), vec![("apple".to_string(), 3)]);
    assert_eq!(api.get("/api/v1/me").await.json()["mode"], "session");

    // Switching to the mode you are in, or as a guest, is refused.
    assert_eq!(
        api.post("/api/v1/auth/switch", r#"{"mode":"session"}"#).await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        app.client().post("/api/v1/auth/switch", r#"{"mode":"token"}"#).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn signing_in_joins_the_guest_cart_held_to_stock_and_never_doubled() {
    let app = app().await;
    let setup = app.client();
    let (email, password) = setup.register("Kim").await;
    let truffle = product_id(&setup, "black-truffle").await;
    // The user's saved cart: bananas 2, truffle 2 (all the stock).
    let token = token_login(&setup, &email, &password).await;
    for (id, quantity) in [(BANANA, 2), (truffle, 2)] {
        let body = format!(r#"{{"product_id":{id},"quantity":{quantity}}}"#);
        assert_eq!(
            setup.bearer(&token, Method::POST, "/api/v1/cart/items", Some(&body)).await.status,
            StatusCode::OK
        );
    }
    // A guest on another device: bananas 3, truffle 1, apples 1.
    let guest = app.client();
    guest.add(BANANA, 3).await;
    guest.add(truffle, 1).await;
    guest.add(APPLE, 1).await;
    guest.login(&email, &password, "session").await;
    let mut joined = lines(&guest.cart().await);
    joined.sort();
    assert_eq!(
        joined,
        vec![("apple".to_string(), 1), ("banana".to_string(), 5), ("black-truffle".to_string(), 2)],
        "quantities summed, truffle held to its stock of 2"
    );
    // Signing in again (same browser) does not add the guest cart twice.
    guest.login(&email, &password, "session").await;
    let mut again = lines(&guest.cart().await);
    again.sort();
    assert_eq!(again, joined);
    // And the saved cart follows the user to the token device.
    let mut there = lines(&setup.bearer(&token, Method::GET, "/api/v1/cart", None).await.json());
    there.sort();
    assert_eq!(there, joined);
}

#[tokio::test]
async fn a_client_held_cart_merges_into_the_signed_in_cart() {
    let app = app().await;
    let client = app.client();
    let (email, password) = client.register("Lou").await;
    let token = token_login(&client, &email, &password).await;
    let merge = |body: &'static str| {
        let client = client.clone();
        let token = token.clone();
        async move { client.bearer(&token, Method::POST, "/api/v1/cart/merge", Some(body)).await }
    };
    let response = merge(r#"{"lines":[{"product_id":1,"quantity":2},{"product_id":2,"quantity":1},{"product_id":1,"quantity":1}]}"#).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    let mut merged = lines(&response.json());
    merged.sort();
    assert_eq!(merged, vec![("apple".to_string(), 1), ("banana".to_string(), 3)]);
    for bad in [
        r#"{"lines":[{"product_id":1,"quantity":0}]}"#,
        r#"{"lines":[{"product_id":1,"quantity":100}]}"#,
        r#"{"lines":[{"product_id":-1,"quantity":1}]}"#,
        r#"{"lines":[{"product_id":1}]}"#,
        r#"{"lines":"x"}"#,
    ] {
        let response = merge(bad).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{bad}");
    }
    let mut unchanged = lines(&client.bearer(&token, Method::GET, "/api/v1/cart", None).await.json());
    unchanged.sort();
    assert_eq!(unchanged, merged);
    // A guest has no saved cart to merge into.
    let guest = app.client().post("/api/v1/cart/merge", r#"{"lines":[]}"#).await;
    assert_eq!(guest.status, StatusCode::UNAUTHORIZED);
}

/// Merges (many lines, one transaction) and single adds race on one user's cart: every change
/// lands, none is lost, none fails (on PostgreSQL, each change locks the cart before its lines,
/// so a merge and an add cannot deadlock).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn merges_and_adds_racing_on_one_cart_all_land() {
    let app = app().await;
    app.sql("UPDATE products SET stock = 1000 WHERE id IN (1, 2, 3)").await;
    let client = app.client();
    let (email, password) = client.register("Ravi").await;
    let token = token_login(&client, &email, &password).await;
    let mut changes = Vec::new();
    for n in 0..24 {
        let client = client.clone();
        let token = token.clone();
        changes.push(tokio::spawn(async move {
            let (uri, body) = match n % 3 {
                0 => ("/api/v1/cart/merge", r#"{"lines":[{"product_id":1,"quantity":1},{"product_id":2,"quantity":1},{"product_id":3,"quantity":1}]}"#),
                1 => ("/api/v1/cart/merge", r#"{"lines":[{"product_id":3,"quantity":1},{"product_id":2,"quantity":1},{"product_id":1,"quantity":1}]}"#),
                _ => ("/api/v1/cart/items", r#"{"product_id":2,"quantity":1}"#),
            };
            let response = client.bearer(&token, Method::POST, uri, Some(body)).await;
            (response.status, response.text())
        }));
    }
    for change in changes {
        let (status, body) = change.await.unwrap();
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let cart = client.bearer(&token, Method::GET, "/api/v1/cart", None).await.json();
    let quantity = |id: i64| {
        cart["lines"].as_array().unwrap().iter().find(|l| l["product_id"] == id).unwrap()["quantity"]
            .as_i64()
            .unwrap()
    };
    // 16 merges of one each; product 2 also got 8 single adds.
    assert_eq!((quantity(1), quantity(2), quantity(3)), (16, 24, 16));
}

#[tokio::test]
async fn a_session_ends_at_its_absolute_expiry_and_the_cookie_says_so() {
    let app = TestApp::with_config(|c| {
        c.jwt_secret = Some(SECRET.to_string());
        c.session_absolute_secs = 2;
    })
    .await;
    let client = app.client();
    let (email, password) = client.register("Max").await;
    let cookie = client.login(&email, &password, "session").await.set_cookie().unwrap();
    // The idle lifetime (7 days) would outlive the absolute one: the cookie carries the earlier end.
    let max_age: i64 = cookie
        .split(';')
        .find_map(|a| a.trim().strip_prefix("Max-Age="))
        .and_then(|v| v.parse().ok())
        .expect("a Max-Age");
    assert!(max_age <= 2, "{cookie}");
    assert_eq!(client.get("/api/v1/me").await.status, StatusCode::OK);
    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
    assert_eq!(client.get("/api/v1/me").await.status, StatusCode::UNAUTHORIZED, "over, however active");
}

#[tokio::test]
async fn reading_a_session_costs_no_write_and_use_keeps_it_alive() {
    // An idle lifetime of 3 s: the stored row is pushed forward at most once a second.
    let app = TestApp::with_config(|c| {
        c.jwt_secret = Some(SECRET.to_string());
        c.session_ttl_secs = 3;
    })
    .await;
    let client = app.client();
    let (email, password) = client.register("Idle").await;
    // The interval is counted in whole seconds of the clock: signing in late in one second and
    // reading early in the next would be "a second later". Start early in a second.
    let into_second =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_millis();
    if into_second > 300 {
        tokio::time::sleep(std::time::Duration::from_millis(u64::from(1000 - into_second))).await;
    }
    assert_eq!(client.login(&email, &password, "session").await.status, StatusCode::OK);
    let read = client.get("/api/v1/me").await;
    assert_eq!(read.status, StatusCode::OK);
    assert!(
        read.set_cookie().is_none(),
        "a read within the interval writes nothing: {:?}",
        read.set_cookie()
    );

    // Used every 1.2 s for 4.8 s: longer than the idle lifetime, never idle that long.
    let mut refreshed = 0;
    for _ in 0..4 {
        tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
        let read = client.get("/api/v1/me").await;
        assert_eq!(read.status, StatusCode::OK, "in use, still signed in");
        refreshed += read.set_cookie().is_some() as usize;
    }
    assert!(refreshed >= 2, "the row and the cookie were pushed forward ({refreshed} times)");

    // Then idle for longer than the lifetime: over.
    tokio::time::sleep(std::time::Duration::from_millis(3500)).await;
    assert_eq!(client.get("/api/v1/me").await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn one_credential_exchanged_twice_at_once_gives_one_new_credential() {
    let app = app().await;
    let client = app.client();
    let (email, password) = client.register("Race").await;
    let switch_all = |header: (&'static str, String), to: &'static str| {
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..12 {
            let fresh = app.client();
            let header = header.clone();
            set.spawn(async move {
                let request = axum::http::Request::post("/api/v1/auth/switch")
                    .header("content-type", "application/json")
                    .header(header.0, header.1)
                    .body(axum::body::Body::from(format!(r#"{{"mode":"{to}"}}"#)))
                    .unwrap();
                fresh.send(request).await.status
            });
        }
        set.join_all()
    };
    // A token exchanged for a session, twelve times at once: one session.
    let token = token_login(&client, &email, &password).await;
    let statuses = switch_all(("authorization", format!("Bearer {token}")), "session").await;
    let won = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    assert_eq!(won, 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == StatusCode::OK || *s == StatusCode::UNAUTHORIZED), "{statuses:?}");
    let sessions = app.sql_i64(common::session_count_sql()).await;
    assert_eq!(sessions, 1, "one session was made");

    // A session exchanged for a token, twelve times at once: one token, and the session is gone.
    let login = client.login(&email, &password, "session").await;
    let cookie = login.set_cookie().unwrap().split(';').next().unwrap().to_string();
    let statuses = switch_all(("cookie", cookie), "token").await;
    let won = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    assert_eq!(won, 1, "{statuses:?}");
}
