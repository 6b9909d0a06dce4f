//! Faults, with the real `shop` binary: the database going away and coming back, the process
//! killed in the middle of checkouts, and what the server writes to its log. Each test starts
//! `shop` processes on a database of its own (SQLite, or PostgreSQL with
//! `SHOP_TEST_DATABASE=postgres`) and talks to them over HTTP.
mod common;

use common::{sql, sql_i64, ShopProcess, TestDatabase};
use http_body_util::{BodyExt, Full};
use hyper::{body::Bytes, header::HeaderMap, Method, Request, StatusCode};
use hyper_util::{client::legacy::Client, rt::TokioExecutor};
use serde_json::{json, Value};
use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
    process::Stdio,
    time::{Duration, Instant},
};
use tokio::{
    net::{TcpListener, TcpStream},
    sync::watch,
};

// ---------------------------------------------------------------------------------------------
// A running `shop` process

/// A `shop` process, its stdout and stderr going to `log`; killed when dropped.
struct Instance {
    base: String,
    process: ShopProcess,
    log: PathBuf,
}

impl Instance {
    fn log_text(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(&self.log).unwrap_or_default()).into_owned()
    }

    /// The end of the log, for failure messages.
    fn log_tail(&self) -> String {
        let text = self.log_text();
        let start = text.len().saturating_sub(4000);
        let start = (start..text.len()).find(|&i| text.is_char_boundary(i)).unwrap_or(text.len());
        text[start..].to_string()
    }

    fn alive(&mut self) -> bool {
        matches!(self.process.child.try_wait(), Ok(None))
    }

    /// Stops the process as an orchestrator would (SIGTERM) and waits for it to exit.
    fn terminate(&mut self) -> std::process::ExitStatus {
        unsafe {
            libc::kill(self.process.child.id() as libc::pid_t, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.process.child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.process.child.kill();
                return self.process.child.wait().unwrap();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Spawns the real binary on `database_url`; its output goes to `log` (appended).
fn spawn(database_url: &str, env: &[(&str, &str)], log: &Path) -> ShopProcess {
    let file = std::fs::OpenOptions::new().create(true).append(true).open(log).expect("the log file");
    // Many sign-ins from one address in a short time: that is the test, not an attack.
    let mut all = vec![("AUTH_RATE_PER_CLIENT", "10000")];
    all.extend_from_slice(env);
    ShopProcess::spawn(database_url, &all, Stdio::from(file.try_clone().unwrap()), Stdio::from(file))
}

/// Starts the binary and waits until `/healthz` answers 200.
async fn start(database_url: &str, env: &[(&str, &str)], log: &Path) -> Instance {
    let process = spawn(database_url, env, log);
    let mut instance = Instance { base: process.base(), process, log: log.to_path_buf() };
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if let Ok(Ok(reply)) = tokio::time::timeout(
            Duration::from_secs(10),
            send(&instance.base, Method::GET, "/healthz", &[], None),
        )
        .await
        {
            if reply.status == StatusCode::OK {
                return instance;
            }
        }
        assert!(instance.alive(), "{} exited while starting:\n{}", instance.base, instance.log_tail());
        assert!(
            Instant::now() < deadline,
            "{} did not become healthy:\n{}",
            instance.base,
            instance.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP

/// One answer, whole.
#[derive(Clone, Debug)]
struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    text: String,
    json: Value,
}

impl Reply {
    /// The `shop_session=…` pair of a Set-Cookie that sets one (not one that removes it).
    fn session_cookie(&self) -> Option<String> {
        self.headers.get_all("set-cookie").iter().find_map(|value| {
            let pair = value.to_str().ok()?.split(';').next()?.trim().to_string();
            let (name, value) = pair.split_once('=')?;
            (name == "shop_session" && !value.is_empty()).then_some(pair)
        })
    }

    fn code(&self) -> &str {
        self.json["error"]["code"].as_str().unwrap_or("")
    }
}

async fn send(
    base: &str,
    method: Method,
    path: &str,
    headers: &[(&str, String)],
    body: Option<&Value>,
) -> Result<Reply, String> {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let mut request = Request::builder().method(method).uri(format!("{base}{path}"));
    for (name, value) in headers {
        request = request.header(*name, value.as_str());
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
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
    let text = String::from_utf8_lossy(&body).into_owned();
    let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
    Ok(Reply { status, headers, text, json })
}

/// A signed-in client's credential, sent the same way to any instance.
#[derive(Clone, Debug)]
enum Credential {
    None,
    Cookie(String),
    Bearer(String),
}

impl Credential {
    fn headers(&self) -> Vec<(&'static str, String)> {
        match self {
            Credential::None => vec![],
            Credential::Cookie(pair) => vec![("cookie", pair.clone())],
            Credential::Bearer(token) => vec![("authorization", format!("Bearer {token}"))],
        }
    }
}

/// A call that must be answered within `limit`: a server that hangs fails the test.
async fn call_within(
    limit: Duration,
    base: &str,
    credential: &Credential,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Reply {
    let started = Instant::now();
    match tokio::time::timeout(limit, send(base, method.clone(), path, &credential.headers(), body.as_ref()))
        .await
    {
        Ok(Ok(reply)) => reply,
        Ok(Err(error)) => panic!("{method} {path}: no answer ({error})"),
        Err(_) => panic!("{method} {path}: no answer within {limit:?} (waited {:?})", started.elapsed()),
    }
}

async fn call(base: &str, credential: &Credential, method: Method, path: &str, body: Option<Value>) -> Reply {
    call_within(Duration::from_secs(30), base, credential, method, path, body).await
}

/// Registers a user; returns (id, email).
async fn register(base: &str, name: &str, password: &str) -> (i64, String) {
    let email = format!("{}-{}@example.com", name.to_lowercase(), common::uuid_like_random());
    let body = json!({"email": email, "password": password, "name": name});
    let reply = call(base, &Credential::None, Method::POST, "/api/v1/auth/register", Some(body)).await;
    assert_eq!(reply.status, StatusCode::CREATED, "register: {}", reply.text);
    (reply.json["user"]["id"].as_i64().expect("a user id"), email)
}

/// Signs in; returns the credential and the whole answer.
async fn login(
    base: &str,
    sent: &Credential,
    email: &str,
    password: &str,
    mode: &str,
) -> (Credential, Reply) {
    let body = json!({"email": email, "password": password, "mode": mode});
    let reply = call(base, sent, Method::POST, "/api/v1/auth/login", Some(body)).await;
    assert_eq!(reply.status, StatusCode::OK, "login ({mode}): {}", reply.text);
    (credential_of(&reply, mode), reply)
}

fn credential_of(reply: &Reply, mode: &str) -> Credential {
    match mode {
        "session" => Credential::Cookie(reply.session_cookie().expect("a session cookie")),
        _ => Credential::Bearer(reply.json["token"].as_str().expect("a token").to_string()),
    }
}

/// `(product_id, quantity)` of each line of a Cart answer.
fn cart_lines(cart: &Value) -> Vec<(i64, i64)> {
    let mut lines: Vec<(i64, i64)> = cart["lines"]
        .as_array()
        .unwrap_or_else(|| panic!("not a cart: {cart}"))
        .iter()
        .map(|l| (l["product_id"].as_i64().unwrap(), l["quantity"].as_i64().unwrap()))
        .collect();
    lines.sort();
    lines
}

fn random_u64() -> u64 {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).unwrap();
    u64::from_le_bytes(bytes)
}

fn random_text(len: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    (0..len).map(|_| ALPHABET[(random_u64() % ALPHABET.len() as u64) as usize] as char).collect()
}

/// Rows of whole numbers, straight from the database.
async fn rows(url: &str, statement: &str) -> Vec<Vec<i64>> {
    use sqlx::{Connection, Row};
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    let found =
        sqlx::query(statement).fetch_all(&mut conn).await.unwrap_or_else(|e| panic!("{statement}: {e}"));
    let values =
        found.iter().map(|row| (0..row.len()).map(|i| row.try_get::<i64, _>(i).unwrap()).collect()).collect();
    let _ = conn.close().await;
    values
}

// ---------------------------------------------------------------------------------------------
// 1. The database goes away, and comes back

/// What the proxy in front of PostgreSQL does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Link {
    /// Forwards every connection.
    Up,
    /// The port is closed: connections are refused (a database server that is down).
    Refusing,
    /// Connections are accepted and closed at once (a proxy or balancer with nothing behind it).
    Dropping,
    /// Connections stay open, new ones are accepted, but nothing gets through either way (a
    /// network partition, a frozen database host).
    Stalling,
}

/// A TCP proxy to the database, with a switch. Leaving `Up` cuts every connection it carries.
struct Proxy {
    port: u16,
    link: watch::Sender<Link>,
}

impl Proxy {
    async fn start(upstream: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (link, watching) = watch::channel(Link::Up);
        tokio::spawn(proxy_serve(listener, port, upstream, watching));
        Proxy { port, link }
    }

    fn set(&self, link: Link) {
        self.link.send_replace(link);
    }
}

async fn proxy_serve(first: TcpListener, port: u16, upstream: String, mut watching: watch::Receiver<Link>) {
    let mut listener = Some(first);
    loop {
        let link = *watching.borrow_and_update();
        if link == Link::Refusing {
            listener = None;
        } else if listener.is_none() {
            listener = Some(bind_again(port).await);
        }
        match &listener {
            None => {
                if watching.changed().await.is_err() {
                    return;
                }
            }
            Some(open) => tokio::select! {
                changed = watching.changed() => if changed.is_err() { return },
                accepted = open.accept() => match (accepted, link) {
                    (Ok((client, _)), Link::Up) => {
                        tokio::spawn(proxy_forward(client, upstream.clone(), watching.clone()));
                    }
                    (Ok((client, _)), Link::Stalling) => {
                        tokio::spawn(stall(vec![client], watching.clone()));
                    }
                    // Otherwise the connection is dropped here: closed at once.
                    _ => {}
                },
            },
        }
    }
}

async fn bind_again(port: u16) -> TcpListener {
    for _ in 0..100 {
        if let Ok(listener) = TcpListener::bind(("127.0.0.1", port)).await {
            return listener;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the proxy could not listen on port {port} again");
}

async fn proxy_forward(mut client: TcpStream, upstream: String, mut watching: watch::Receiver<Link>) {
    let Ok(mut server) = TcpStream::connect(&upstream).await else { return };
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
        _ = watching.wait_for(|link| *link != Link::Up) => {}
    }
    if *watching.borrow() == Link::Stalling {
        stall(vec![client, server], watching).await;
    }
    // Both sockets close here.
}

/// Holds connections open, silent, while the link stalls; then closes them.
async fn stall(sockets: Vec<TcpStream>, mut watching: watch::Receiver<Link>) {
    let _ = watching.wait_for(|link| *link != Link::Stalling).await;
    drop(sockets);
}

/// `url` with its host and port replaced by the proxy's; and the host:port it named.
fn through_proxy(url: &str, port: u16) -> (String, String) {
    let scheme_end = url.find("://").map(|i| i + 3).expect("a URL");
    let authority_end = url[scheme_end..].find(['/', '?']).map(|i| scheme_end + i).unwrap_or(url.len());
    let authority = &url[scheme_end..authority_end];
    let host_start = authority.rfind('@').map(|i| scheme_end + i + 1).unwrap_or(scheme_end);
    let host_port = &url[host_start..authority_end];
    let upstream = if host_port.contains(':') { host_port.to_string() } else { format!("{host_port}:5432") };
    (format!("{}127.0.0.1:{port}{}", &url[..host_start], &url[authority_end..]), upstream)
}

/// How long a health check may take, down or up: a load balancer gives up after a few seconds.
const HEALTH_CHECK_LIMIT: Duration = Duration::from_secs(4);
/// How soon after the database goes away `/healthz` must say so.
const NOTICED_WITHIN: Duration = Duration::from_secs(6);
/// An API call while the database is away may wait for a connection, but not forever.
const ANSWER_LIMIT: Duration = Duration::from_secs(15);
/// How soon after the database is back the shop must work again, without a restart.
const RECOVERED_WITHIN: Duration = Duration::from_secs(15);

async fn healthz(base: &str) -> (Reply, Duration) {
    let started = Instant::now();
    let reply = call_within(ANSWER_LIMIT, base, &Credential::None, Method::GET, "/healthz", None).await;
    (reply, started.elapsed())
}

fn assert_unavailable(what: &str, reply: &Reply) {
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE, "{what}: {} {}", reply.status, reply.text);
    assert_eq!(reply.code(), "unavailable", "{what}: the contract's error body: {}", reply.text);
    assert!(
        reply.json["error"]["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{what}: a message for people: {}",
        reply.text
    );
}

/// The calls a signed-in shopper makes, all answered while the database is away: 503
/// `unavailable`, in bounded time, never a 500; and nothing changes.
async fn while_away(shop: &mut Instance, cookie: &Credential, bearer: &Credential, outage: &str) {
    let went_down = Instant::now();
    // /healthz notices soon, and each check answers quickly.
    loop {
        let (reply, took) = healthz(&shop.base).await;
        assert!(
            took <= HEALTH_CHECK_LIMIT,
            "{outage}: /healthz took {took:?} (at most {HEALTH_CHECK_LIMIT:?})"
        );
        if reply.status == StatusCode::SERVICE_UNAVAILABLE {
            assert!(reply.json.is_object(), "{outage}: /healthz answers JSON: {}", reply.text);
            assert_ne!(reply.json["status"], "ok", "{outage}: {}", reply.text);
            println!("{outage}: /healthz 503 after {:?} (that check took {took:?})", went_down.elapsed());
            break;
        }
        assert_eq!(reply.status, StatusCode::OK, "{outage}: /healthz is 200 or 503: {}", reply.text);
        assert!(
            went_down.elapsed() <= NOTICED_WITHIN,
            "{outage}: /healthz still 200 after {NOTICED_WITHIN:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The API, at once and concurrently, as shoppers would.
    let add = json!({"product_id": 4, "quantity": 1});
    let calls: Vec<(&str, &Credential, Method, &str, Option<Value>)> = vec![
        ("GET /products", &Credential::None, Method::GET, "/api/v1/products", None),
        ("GET /products/banana", &Credential::None, Method::GET, "/api/v1/products/banana", None),
        ("GET /cart (cookie)", cookie, Method::GET, "/api/v1/cart", None),
        ("GET /cart (bearer)", bearer, Method::GET, "/api/v1/cart", None),
        ("GET /me (cookie)", cookie, Method::GET, "/api/v1/me", None),
        ("POST /cart/items (cookie)", cookie, Method::POST, "/api/v1/cart/items", Some(add.clone())),
        ("POST /cart/items (bearer)", bearer, Method::POST, "/api/v1/cart/items", Some(add.clone())),
        ("POST /cart/items (guest)", &Credential::None, Method::POST, "/api/v1/cart/items", Some(add)),
    ];
    let base = shop.base.clone();
    let answers =
        futures::future::join_all(calls.into_iter().map(|(what, credential, method, path, body)| {
            let base = base.clone();
            async move {
                let started = Instant::now();
                let reply = call_within(ANSWER_LIMIT, &base, credential, method, path, body).await;
                (what, reply, started.elapsed())
            }
        }))
        .await;
    for (what, reply, took) in &answers {
        println!("{outage}: {what} -> {} in {took:?}", reply.status);
        assert_unavailable(&format!("{outage}: {what}"), reply);
        assert!(
            reply.session_cookie().is_none(),
            "{outage}: {what}: no new session is handed out: {reply:?}"
        );
    }
    assert!(shop.alive(), "{outage}: the process is still running:\n{}", shop.log_tail());
}

/// After the database is back: healthy again by itself, and the shopper's session, token and
/// cart are as they were.
async fn after_return(
    shop: &mut Instance,
    cookie: &Credential,
    bearer: &Credential,
    expected: &[(i64, i64)],
    outage: &str,
) {
    let back = Instant::now();
    loop {
        let (reply, took) = healthz(&shop.base).await;
        assert!(took <= HEALTH_CHECK_LIMIT, "{outage}, back: /healthz took {took:?}");
        if reply.status == StatusCode::OK {
            assert_eq!(reply.json, json!({"status": "ok"}));
            println!("{outage}: /healthz 200 again {:?} after the database came back", back.elapsed());
            break;
        }
        assert!(
            back.elapsed() <= RECOVERED_WITHIN,
            "{outage}: /healthz not 200 {RECOVERED_WITHIN:?} after the database came back: {}",
            reply.text
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let reply = call(&shop.base, &Credential::None, Method::GET, "/api/v1/products", None).await;
    assert_eq!(reply.status, StatusCode::OK, "{outage}, back: the catalogue: {}", reply.text);
    assert!(reply.json["total"].as_i64().unwrap() >= 24);
    let me = call(&shop.base, cookie, Method::GET, "/api/v1/me", None).await;
    assert_eq!(me.status, StatusCode::OK, "{outage}, back: the session is still valid: {}", me.text);
    assert_eq!(me.json["mode"], "session");
    for credential in [cookie, bearer] {
        let cart = call(&shop.base, credential, Method::GET, "/api/v1/cart", None).await;
        assert_eq!(cart.status, StatusCode::OK, "{outage}, back: {}", cart.text);
        assert_eq!(cart_lines(&cart.json), expected, "{outage}: the cart is intact ({credential:?})");
    }
    assert!(shop.alive(), "{outage}: the process is still running");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_database_is_a_503_and_the_shop_recovers_without_a_restart() {
    if !common::on_postgres() {
        println!(
            "skipped on SQLite: the database is a file in the process, it cannot go away over the network. \
             This test runs with SHOP_TEST_DATABASE=postgres (as the CI does)."
        );
        return;
    }
    let started = Instant::now();
    let (_db, url) = TestDatabase::create().await;
    let (_, upstream) = through_proxy(&url, 0);
    let proxy = Proxy::start(upstream).await;
    let (proxied, _) = through_proxy(&url, proxy.port);
    let logs = tempfile::tempdir().unwrap();
    let mut shop = start(&proxied, &[], &logs.path().join("shop.log")).await;

    // Up: healthy, the catalogue answers, a shopper signs in both ways and fills the cart.
    let (reply, _) = healthz(&shop.base).await;
    assert_eq!(reply.status, StatusCode::OK);
    let reply = call(&shop.base, &Credential::None, Method::GET, "/api/v1/products", None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let password = "correct horse battery";
    let (_, email) = register(&shop.base, "Outage", password).await;
    let (cookie, _) = login(&shop.base, &Credential::None, &email, password, "session").await;
    let (bearer, _) = login(&shop.base, &Credential::None, &email, password, "token").await;
    let add = |id: i64, quantity: i64| Some(json!({"product_id": id, "quantity": quantity}));
    let reply = call(&shop.base, &cookie, Method::POST, "/api/v1/cart/items", add(1, 2)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let reply = call(&shop.base, &bearer, Method::POST, "/api/v1/cart/items", add(3, 1)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let mut expected = vec![(1, 2), (3, 1)];
    assert_eq!(cart_lines(&reply.json), expected);

    // Down, refusing connections (the database server stopped), then back.
    proxy.set(Link::Refusing);
    while_away(&mut shop, &cookie, &bearer, "refused").await;
    proxy.set(Link::Up);
    after_return(&mut shop, &cookie, &bearer, &expected, "refused").await;
    let reply = call(&shop.base, &cookie, Method::POST, "/api/v1/cart/items", add(1, 1)).await;
    assert_eq!(reply.status, StatusCode::OK, "a change to the cart works again: {}", reply.text);
    expected = vec![(1, 3), (3, 1)];
    assert_eq!(cart_lines(&reply.json), expected);

    // Down again, connections accepted and dropped (nothing behind a balancer), then back.
    proxy.set(Link::Dropping);
    while_away(&mut shop, &cookie, &bearer, "dropped").await;
    proxy.set(Link::Up);
    after_return(&mut shop, &cookie, &bearer, &expected, "dropped").await;
    let reply = call(&shop.base, &bearer, Method::POST, "/api/v1/cart/items", add(3, 2)).await;
    assert_eq!(reply.status, StatusCode::OK, "a change to the cart works again: {}", reply.text);
    expected = vec![(1, 3), (3, 3)];
    assert_eq!(cart_lines(&reply.json), expected);

    // Down a third time, silently: nothing gets through and nothing is closed (a partition).
    proxy.set(Link::Stalling);
    while_away(&mut shop, &cookie, &bearer, "stalled").await;
    proxy.set(Link::Up);
    after_return(&mut shop, &cookie, &bearer, &expected, "stalled").await;

    let log = shop.log_text();
    assert!(!log.contains("panicked"), "no panic in the log:\n{}", shop.log_tail());
    println!("database outages: {:?} in all", started.elapsed());
}

/// A signed-in (token) buyer with two of product 4 in the cart: (user id, token, stock of 4).
async fn buyer_with_two_of_product_4(base: &str, url: &str, name: &str) -> (i64, Credential, i64) {
    let password = "correct horse battery";
    let (user_id, email) = register(base, name, password).await;
    let (bearer, _) = login(base, &Credential::None, &email, password, "token").await;
    let add = Some(json!({"product_id": 4, "quantity": 2}));
    let reply = call(base, &bearer, Method::POST, "/api/v1/cart/items", add).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    (user_id, bearer, sql_i64(url, "SELECT stock FROM products WHERE id = 4").await)
}

/// Holds the user's row (as another checkout of theirs would) until the transaction ends.
async fn hold_user_row(
    direct: &mut sqlx::PgConnection,
    user_id: i64,
) -> sqlx::Transaction<'_, sqlx::Postgres> {
    use sqlx::Connection;
    let mut held = direct.begin().await.unwrap();
    sqlx::query("SELECT id FROM users WHERE id = $1 FOR UPDATE")
        .bind(user_id)
        .execute(&mut *held)
        .await
        .unwrap();
    held
}

/// How long the server may take to answer a request that the database holds up: its request
/// deadline (15 s, src/server/faults.rs) and some slack.
const HELD_UP_LIMIT: Duration = Duration::from_secs(25);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkout_in_flight_when_the_database_stalls_is_answered_and_can_be_retried() {
    if !common::on_postgres() {
        println!(
            "skipped on SQLite: a database file cannot stall behind a network. \
             This test runs with SHOP_TEST_DATABASE=postgres (as the CI does)."
        );
        return;
    }
    use sqlx::Connection;
    let (_db, url) = TestDatabase::create().await;
    let (_, upstream) = through_proxy(&url, 0);
    let proxy = Proxy::start(upstream).await;
    let (proxied, _) = through_proxy(&url, proxy.port);
    let logs = tempfile::tempdir().unwrap();
    let mut shop = start(&proxied, &[], &logs.path().join("shop.log")).await;
    let (user_id, bearer, stock_before) = buyer_with_two_of_product_4(&shop.base, &url, "Stalled").await;

    // Hold the buyer's row (as another checkout of theirs would), so that the server's
    // checkout is inside its transaction, waiting for the database, when the network stalls.
    let mut direct = sqlx::PgConnection::connect(&url).await.unwrap();
    let held = hold_user_row(&mut direct, user_id).await;
    let base = shop.base.clone();
    let credential = bearer.clone();
    let checkout = tokio::spawn(async move {
        let started = Instant::now();
        let mut headers = credential.headers();
        headers.push(("idempotency-key", "stalled-1".to_string()));
        let body = json!({"shipping": {"name": "Sam Stall", "address": "2 Partition Road"}});
        let sent = send(&base, Method::POST, "/api/v1/orders", &headers, Some(&body));
        (tokio::time::timeout(HELD_UP_LIMIT, sent).await, started.elapsed())
    });
    let waiting = "SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()";
    let deadline = Instant::now() + Duration::from_secs(10);
    while sql_i64(&url, waiting).await == 0 {
        assert!(Instant::now() < deadline, "the checkout never reached the database");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    proxy.set(Link::Stalling);
    held.commit().await.unwrap();
    let _ = direct.close().await;

    let (answer, took) = checkout.await.unwrap();
    let reply = match answer {
        Ok(Ok(reply)) => reply,
        Ok(Err(error)) => panic!("the checkout got no answer: {error}"),
        Err(_) => panic!("a checkout held up by a stalled database got no answer in {HELD_UP_LIMIT:?}"),
    };
    println!("stalled checkout: {} after {took:?}", reply.status);
    assert_unavailable("a checkout held up by a stalled database", &reply);
    assert!(shop.alive(), "the process is still running:\n{}", shop.log_tail());

    // The network comes back: the checkout never happened, and the buyer's retry with the
    // same key places it once.
    proxy.set(Link::Up);
    let back = Instant::now();
    while healthz(&shop.base).await.0.status != StatusCode::OK {
        assert!(back.elapsed() < RECOVERED_WITHIN, "the shop did not recover after the stall");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let orders = "SELECT COUNT(*) FROM orders WHERE idempotency_key = 'stalled-1'";
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        // The stalled transaction ends when its connection closes.
        let open = "SELECT COUNT(*) FROM pg_stat_activity WHERE state LIKE 'idle in transaction%' AND datname = current_database()";
        if sql_i64(&url, open).await == 0 || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(sql_i64(&url, orders).await, 0, "a checkout answered 503 made no order");
    assert_eq!(
        sql_i64(&url, "SELECT stock FROM products WHERE id = 4").await,
        stock_before,
        "nor took stock"
    );
    let retry = place_order(shop.base.clone(), bearer.clone(), "stalled-1".to_string()).await;
    let (status, body) = retry.expect("the retry is answered");
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let again = place_order(shop.base.clone(), bearer.clone(), "stalled-1".to_string()).await.unwrap();
    assert_eq!(again.1["id"], body["id"], "the same key, the same order");
    assert_eq!(sql_i64(&url, orders).await, 1);
    assert_eq!(sql_i64(&url, "SELECT stock FROM products WHERE id = 4").await, stock_before - 2);
    let cart = call(&shop.base, &bearer, Method::GET, "/api/v1/cart", None).await;
    assert!(cart_lines(&cart.json).is_empty(), "{}", cart.text);
}

/// PostgreSQL restarting (or failing over) ends every connection: a request in flight at that
/// moment gets "terminating connection due to administrator command" (57P01). That is the
/// database being unavailable, a 503 the client retries, not a bug (500).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkout_cut_off_by_a_database_restart_is_a_503_and_the_retry_works() {
    if !common::on_postgres() {
        println!(
            "skipped on SQLite: a database file has no server to restart. \
             This test runs with SHOP_TEST_DATABASE=postgres (as the CI does)."
        );
        return;
    }
    use sqlx::Connection;
    let (_db, url) = TestDatabase::create().await;
    let logs = tempfile::tempdir().unwrap();
    let mut shop = start(&url, &[], &logs.path().join("shop.log")).await;
    let (user_id, bearer, stock_before) = buyer_with_two_of_product_4(&shop.base, &url, "Restarted").await;

    // The checkout waits inside its transaction (on the buyer's row, held here) when the
    // database ends its connection, as a restart does.
    let mut direct = sqlx::PgConnection::connect(&url).await.unwrap();
    let held = hold_user_row(&mut direct, user_id).await;
    let checkout = tokio::spawn(place_order(shop.base.clone(), bearer.clone(), "restart-1".to_string()));
    let waiting = "FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()";
    let deadline = Instant::now() + Duration::from_secs(10);
    while sql_i64(&url, &format!("SELECT COUNT(*) {waiting}")).await == 0 {
        assert!(Instant::now() < deadline, "the checkout never reached the database");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    sql(&url, &format!("SELECT pg_terminate_backend(pid) {waiting}")).await;
    let (status, body) = checkout.await.unwrap().expect("the checkout is answered");
    println!("checkout cut off by the database: {status} {body}");
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "the database ended the connection: {body}");
    assert_eq!(body["error"]["code"], "unavailable", "{body}");
    held.commit().await.unwrap();
    let _ = direct.close().await;

    // Every other connection of the shop's ends too; the pool opens new ones, no restart.
    sql(
        &url,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .await;
    let cart = call(&shop.base, &bearer, Method::GET, "/api/v1/cart", None).await;
    assert_eq!(cart.status, StatusCode::OK, "{}", cart.text);
    assert_eq!(cart_lines(&cart.json), vec![(4, 2)], "the cart is intact");
    let orders = "SELECT COUNT(*) FROM orders WHERE idempotency_key = 'restart-1'";
    assert_eq!(sql_i64(&url, orders).await, 0, "the checkout cut off made no order");
    let (status, body) =
        place_order(shop.base.clone(), bearer.clone(), "restart-1".to_string()).await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "the retry places the order: {body}");
    assert_eq!(sql_i64(&url, orders).await, 1);
    assert_eq!(sql_i64(&url, "SELECT stock FROM products WHERE id = 4").await, stock_before - 2);
    assert!(shop.alive());
}

/// A session store that fails on writing (a database gone read-only in a failover, a full
/// disk), after the handler succeeded: the session layer answers a bare 500 by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_that_cannot_be_saved_is_a_503_not_a_500() {
    let (_db, url) = TestDatabase::create().await;
    let logs = tempfile::tempdir().unwrap();
    let shop = start(&url, &[], &logs.path().join("shop.log")).await;
    let password = "correct horse battery";
    let (_, email) = register(&shop.base, "ReadOnly", password).await;
    let (refuse, allow) = if common::on_postgres() {
        (
            vec![
                "CREATE FUNCTION refuse_session_writes() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
                 RAISE EXCEPTION 'cannot execute INSERT in a read-only transaction' USING ERRCODE = '25006'; END $$",
                "CREATE TRIGGER refuse_session_writes BEFORE INSERT OR UPDATE ON tower_sessions.session \
                 FOR EACH ROW EXECUTE FUNCTION refuse_session_writes()",
            ],
            vec!["DROP TRIGGER refuse_session_writes ON tower_sessions.session"],
        )
    } else {
        (
            vec![
                "CREATE TRIGGER refuse_session_inserts BEFORE INSERT ON tower_sessions \
                 BEGIN SELECT RAISE(ABORT, 'attempt to write a readonly database'); END",
                "CREATE TRIGGER refuse_session_updates BEFORE UPDATE ON tower_sessions \
                 BEGIN SELECT RAISE(ABORT, 'attempt to write a readonly database'); END",
            ],
            vec!["DROP TRIGGER refuse_session_inserts", "DROP TRIGGER refuse_session_updates"],
        )
    };
    for statement in &refuse {
        sql(&url, statement).await;
    }
    // A guest's first cart change makes a session; a session sign-in makes one too.
    let guest_add = Some(json!({"product_id": 1, "quantity": 1}));
    let reply =
        call(&shop.base, &Credential::None, Method::POST, "/api/v1/cart/items", guest_add.clone()).await;
    assert_unavailable("a guest's cart change whose session cannot be saved", &reply);
    assert!(reply.session_cookie().is_none(), "no cookie for a session that was not saved: {reply:?}");
    let body = json!({"email": email, "password": password, "mode": "session"});
    let reply =
        call(&shop.base, &Credential::None, Method::POST, "/api/v1/auth/login", Some(body.clone())).await;
    assert_unavailable("a session sign-in whose session cannot be saved", &reply);
    assert!(reply.session_cookie().is_none(), "no cookie for a session that was not saved: {reply:?}");

    for statement in &allow {
        sql(&url, statement).await;
    }
    let reply = call(&shop.base, &Credential::None, Method::POST, "/api/v1/cart/items", guest_add).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let (session, _) = login(&shop.base, &Credential::None, &email, password, "session").await;
    let me = call(&shop.base, &session, Method::GET, "/api/v1/me", None).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text);
}

// ---------------------------------------------------------------------------------------------
// 2. Killed in the middle of checkouts

struct Buyer {
    id: i64,
    credential: Credential,
}

/// What one checkout request got before the process died: a status, or nothing.
struct Attempt {
    buyer: usize,
    key: String,
    answer: Option<(StatusCode, Value)>,
}

async fn place_order(base: String, credential: Credential, key: String) -> Option<(StatusCode, Value)> {
    let mut headers = credential.headers();
    headers.push(("idempotency-key", key));
    let body = json!({"shipping": {"name": "Kim Crash", "address": "1 Power Cut Lane"}});
    match tokio::time::timeout(
        Duration::from_secs(20),
        send(&base, Method::POST, "/api/v1/orders", &headers, Some(&body)),
    )
    .await
    {
        Ok(Ok(reply)) => Some((reply.status, reply.json)),
        _ => None,
    }
}

/// Every user's cart, `user_id -> [(product_id, quantity)]`.
async fn carts_by_user(url: &str) -> BTreeMap<i64, Vec<(i64, i64)>> {
    let mut carts: BTreeMap<i64, Vec<(i64, i64)>> = BTreeMap::new();
    for row in rows(
        url,
        "SELECT c.user_id, l.product_id, l.quantity FROM cart_lines l JOIN carts c ON c.id = l.cart_id \
         WHERE c.user_id IS NOT NULL ORDER BY c.user_id, l.product_id",
    )
    .await
    {
        carts.entry(row[0]).or_default().push((row[1], row[2]));
    }
    carts
}

async fn stock_by_product(url: &str) -> BTreeMap<i64, i64> {
    rows(url, "SELECT id, stock FROM products ORDER BY id").await.into_iter().map(|r| (r[0], r[1])).collect()
}

/// An order as these tests read it back: `(order id, user id, [(product_id, quantity)])`.
type StoredOrder = (i64, i64, Vec<(i64, i64)>);

/// Orders whose key starts with `prefix`: `key -> (order id, user id, [(product_id, quantity)])`.
async fn orders_with_prefix(url: &str, prefix: &str) -> BTreeMap<String, StoredOrder> {
    use sqlx::{Connection, Row};
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    let found = sqlx::query(
        "SELECT o.idempotency_key, o.id, o.user_id, l.product_id, l.quantity \
         FROM orders o LEFT JOIN order_lines l ON l.order_id = o.id \
         WHERE o.idempotency_key LIKE $1 ORDER BY o.id, l.product_id",
    )
    .bind(format!("{prefix}%"))
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let _ = conn.close().await;
    let mut orders: BTreeMap<String, StoredOrder> = BTreeMap::new();
    for row in found {
        let key: String = row.try_get(0).unwrap();
        let entry =
            orders.entry(key).or_insert((row.try_get(1).unwrap(), row.try_get(2).unwrap(), Vec::new()));
        if let (Ok(product), Ok(quantity)) = (row.try_get::<i64, _>(3), row.try_get::<i64, _>(4)) {
            entry.2.push((product, quantity));
        }
    }
    orders
}

/// Whatever happened to the process, every order in the database is whole and consistent.
async fn assert_orders_are_whole(url: &str, when: &str) {
    let empty = sql_i64(url, "SELECT COUNT(*) FROM orders o WHERE NOT EXISTS (SELECT 1 FROM order_lines l WHERE l.order_id = o.id)").await;
    assert_eq!(empty, 0, "{when}: an order without lines (half written)");
    let wrong_total = sql_i64(
        url,
        "SELECT COUNT(*) FROM orders o WHERE o.total_cents <> \
         (SELECT COALESCE(SUM(l.line_total_cents), 0) FROM order_lines l WHERE l.order_id = o.id)",
    )
    .await;
    assert_eq!(wrong_total, 0, "{when}: an order whose total is not the sum of its lines");
    let wrong_lines = sql_i64(
        url,
        "SELECT COUNT(*) FROM order_lines WHERE line_total_cents <> unit_price_cents * quantity",
    )
    .await;
    assert_eq!(wrong_lines, 0, "{when}: an order line whose total is not price × quantity");
    let orphans = sql_i64(
        url,
        "SELECT COUNT(*) FROM order_lines l WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.id = l.order_id)",
    )
    .await;
    assert_eq!(orphans, 0, "{when}: order lines without an order");
}

/// Stock, carts and orders of one round agree: what left the stock is exactly what was
/// ordered, and a buyer's cart is either wholly in one order (and empty) or untouched.
async fn assert_round_consistent(
    url: &str,
    prefix: &str,
    stock_before: &BTreeMap<i64, i64>,
    carts_before: &BTreeMap<i64, Vec<(i64, i64)>>,
    when: &str,
) -> BTreeMap<String, StoredOrder> {
    assert_orders_are_whole(url, when).await;
    let orders = orders_with_prefix(url, prefix).await;
    let stock_now = stock_by_product(url).await;
    let mut ordered: BTreeMap<i64, i64> = BTreeMap::new();
    for (_, _, lines) in orders.values() {
        for (product, quantity) in lines {
            *ordered.entry(*product).or_default() += quantity;
        }
    }
    for (product, before) in stock_before {
        let now = stock_now[product];
        let taken = ordered.get(product).copied().unwrap_or(0);
        assert_eq!(
            now + taken,
            *before,
            "{when}: product {product}: stock now {now} + ordered {taken} must be the stock before ({before})"
        );
    }
    let carts_now = carts_by_user(url).await;
    let mut ordering_users = BTreeSet::new();
    for (key, (order_id, user, lines)) in &orders {
        assert!(ordering_users.insert(*user), "{when}: user {user} has two orders in one round ({key})");
        let cart = carts_before.get(user).cloned().unwrap_or_default();
        assert_eq!(
            lines, &cart,
            "{when}: order {order_id} ({key}) holds exactly the cart it was placed from"
        );
        assert!(
            carts_now.get(user).is_none_or(|lines| lines.is_empty()),
            "{when}: user {user} got order {order_id} but the cart still holds {:?}",
            carts_now.get(user)
        );
    }
    for (user, cart) in carts_before {
        if !ordering_users.contains(user) {
            assert_eq!(
                carts_now.get(user),
                Some(cart),
                "{when}: user {user} got no order: the cart must be as it was"
            );
        }
    }
    orders
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_killed_during_checkouts_leaves_whole_orders_and_all_stock() {
    let started = Instant::now();
    let (_db, url) = TestDatabase::create().await;
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("shop.log");
    let mut shop = start(&url, &[], &log).await;

    // Plenty of most products; one scarce (reset each round), so some checkouts fail on stock.
    const SCARCE: i64 = 1;
    const PRODUCTS: [i64; 6] = [1, 2, 3, 4, 5, 6];
    sql(&url, "UPDATE products SET stock = 5000 WHERE id IN (2, 3, 4, 5, 6)").await;

    // Buyers in both modes; their credentials outlive the restarts (both are in the database).
    let password = "correct horse battery";
    let mut buyers = Vec::new();
    for i in 0..10 {
        let (id, email) = register(&shop.base, &format!("Buyer{i}"), password).await;
        let mode = if i % 2 == 0 { "session" } else { "token" };
        let (credential, _) = login(&shop.base, &Credential::None, &email, password, mode).await;
        buyers.push(Buyer { id, credential });
    }
    println!("{} buyers ready after {:?}", buyers.len(), started.elapsed());

    let mut delay_ms: u64 = 40;
    let mut mid_flight_rounds = 0;
    let mut committed_unanswered_total = 0;
    let mut round = 0;
    while round < 12 && !(round >= 6 && mid_flight_rounds >= 3) {
        let prefix = format!("r{round}-");
        // Fresh carts: the scarce product and one or two others, random quantities.
        sql(&url, &format!("UPDATE products SET stock = 8 WHERE id = {SCARCE}")).await;
        sql(&url, "DELETE FROM cart_lines").await;
        let fills = buyers.iter().map(|buyer| {
            let base = shop.base.clone();
            let credential = buyer.credential.clone();
            async move {
                let mut products = vec![SCARCE];
                for _ in 0..1 + random_u64() % 2 {
                    products.push(PRODUCTS[1 + (random_u64() % 5) as usize]);
                }
                for product in products {
                    let quantity = 1 + (random_u64() % 3) as i64;
                    let body = json!({"quantity": quantity});
                    let path = format!("/api/v1/cart/items/{product}");
                    let reply = call(&base, &credential, Method::PUT, &path, Some(body)).await;
                    assert_eq!(reply.status, StatusCode::OK, "filling a cart: {}", reply.text);
                }
            }
        });
        futures::future::join_all(fills).await;
        let stock_before = stock_by_product(&url).await;
        let carts_before = carts_by_user(&url).await;
        let buyer_ids: BTreeSet<i64> = buyers.iter().map(|b| b.id).collect();
        assert_eq!(
            carts_before.keys().copied().collect::<BTreeSet<_>>(),
            buyer_ids,
            "every buyer has a cart"
        );

        // Every buyer checks out, twice at once with one key (a client retrying too soon).
        let mut tasks = Vec::new();
        for (index, buyer) in buyers.iter().enumerate() {
            let key = format!("{prefix}{index}");
            for _ in 0..2 {
                let task =
                    tokio::spawn(place_order(shop.base.clone(), buyer.credential.clone(), key.clone()));
                tasks.push((index, key.clone(), task));
            }
        }
        let jitter = random_u64() % (delay_ms / 2 + 1);
        let this_delay = delay_ms / 2 + jitter + 1;
        tokio::time::sleep(Duration::from_millis(this_delay)).await;
        shop.process.child.kill().expect("SIGKILL");
        shop.process.child.wait().unwrap();
        let mut attempts = Vec::new();
        for (buyer, key, task) in tasks {
            attempts.push(Attempt { buyer, key, answer: task.await.unwrap() });
        }

        // The same database, a new process.
        shop = start(&url, &[], &log).await;
        let when = format!("round {round}, killed after {this_delay} ms");
        let orders = assert_round_consistent(&url, &prefix, &stock_before, &carts_before, &when).await;

        let answered = attempts.iter().filter(|a| a.answer.is_some()).count();
        let unanswered = attempts.len() - answered;
        for attempt in &attempts {
            let committed = orders.get(&attempt.key);
            match &attempt.answer {
                Some((status, body)) if *status == StatusCode::CREATED => {
                    let (order_id, _, _) = committed
                        .unwrap_or_else(|| panic!("{when}: a 201 for {} with no order", attempt.key));
                    assert_eq!(body["id"].as_i64(), Some(*order_id), "{when}: one key, one order");
                }
                Some((status, body)) => {
                    assert_eq!(
                        *status,
                        StatusCode::CONFLICT,
                        "{when}: only 201 or 409 before the kill: {body}"
                    );
                    assert_eq!(body["error"]["code"], "insufficient_stock", "{when}: {body}");
                    assert!(committed.is_none(), "{when}: a refused checkout made an order");
                }
                None => {}
            }
        }
        // Keys none of whose requests got an answer: the buyer heard nothing.
        let unheard: BTreeSet<(usize, String)> = attempts
            .iter()
            .filter(|a| !attempts.iter().any(|b| b.key == a.key && b.answer.is_some()))
            .map(|a| (a.buyer, a.key.clone()))
            .collect();
        // Orders that committed although the process died before confirming them.
        let committed_unanswered = unheard.iter().filter(|(_, key)| orders.contains_key(key)).count();
        println!(
            "{when}: {} requests, {answered} answered, {unanswered} cut off; {} orders committed, \
             {committed_unanswered} of them never confirmed to the buyer",
            attempts.len(),
            orders.len()
        );
        let mid_flight = unanswered > 0 && (!orders.is_empty() || answered > 0);
        if mid_flight {
            mid_flight_rounds += 1;
        }
        committed_unanswered_total += committed_unanswered;

        // The buyers who heard nothing try again with the same key, as a client should: an
        // order that committed is returned, never made twice; the others are placed now.
        let retries = unheard;
        let again = futures::future::join_all(retries.iter().map(|(buyer, key)| {
            place_order(shop.base.clone(), buyers[*buyer].credential.clone(), key.clone())
        }))
        .await;
        let after =
            assert_round_consistent(&url, &prefix, &stock_before, &carts_before, &format!("{when}, retried"))
                .await;
        for ((_, key), answer) in retries.iter().zip(again) {
            let (status, body) = answer.unwrap_or_else(|| panic!("{when}: the retry of {key} got no answer"));
            match orders.get(key) {
                Some((order_id, _, _)) => {
                    assert_eq!(status, StatusCode::CREATED, "{when}: retry of a committed {key}: {body}");
                    assert_eq!(
                        body["id"].as_i64(),
                        Some(*order_id),
                        "{when}: the retry returns the same order"
                    );
                }
                None if status == StatusCode::CREATED => {
                    assert_eq!(body["id"].as_i64(), after.get(key).map(|o| o.0), "{when}: {key}");
                }
                None => {
                    assert_eq!(
                        body["error"]["code"], "insufficient_stock",
                        "{when}: retry of {key}: {status} {body}"
                    );
                }
            }
        }

        // Aim the next kill: too late if everything was answered, too early if nothing happened.
        if unanswered == 0 {
            delay_ms = (delay_ms / 2).max(2);
        } else if orders.is_empty() && answered == 0 {
            delay_ms = delay_ms * 2 + 10;
        }
        round += 1;
    }
    let total_orders = sql_i64(&url, "SELECT COUNT(*) FROM orders").await;
    println!(
        "{round} rounds, {mid_flight_rounds} killed mid-flight, {total_orders} orders, \
         {committed_unanswered_total} committed but never confirmed; {:?} in all",
        started.elapsed()
    );
    assert!(mid_flight_rounds >= 1, "no kill landed while checkouts were in flight: the test proved nothing");
    assert!(total_orders > 0);
    assert!(!shop.log_text().contains("panicked"), "no panic:\n{}", shop.log_tail());
}

// ---------------------------------------------------------------------------------------------
// 3. Secrets are never logged

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passwords_tokens_session_ids_and_the_secret_never_reach_the_log() {
    let (_db, url) = TestDatabase::create().await;
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("shop.log");
    let jwt_secret = format!("jwt-secret-{}", random_text(40));
    let password = format!("pw-{}", random_text(20));
    let wrong_password = format!("nope-{}", random_text(20));
    // The most the app will log (src/server/mod.rs reads RUST_LOG through EnvFilter).
    let mut shop = start(&url, &[("RUST_LOG", "trace"), ("JWT_SECRET", &jwt_secret)], &log).await;
    let base = shop.base.clone();
    let mut replies: Vec<(String, Reply)> = Vec::new();
    let mut session_ids: Vec<String> = Vec::new();
    let mut tokens: Vec<String> = Vec::new();
    let remember =
        |credential: &Credential, session_ids: &mut Vec<String>, tokens: &mut Vec<String>| match credential {
            Credential::Cookie(pair) => session_ids.push(pair.split_once('=').unwrap().1.to_string()),
            Credential::Bearer(token) => tokens.push(token.clone()),
            Credential::None => {}
        };
    macro_rules! api {
        ($what:expr, $credential:expr, $method:expr, $path:expr, $body:expr) => {{
            let reply = call(&base, $credential, $method, $path, $body).await;
            replies.push(($what.to_string(), reply.clone()));
            reply
        }};
    }
    let add = |id: i64, quantity: i64| Some(json!({"product_id": id, "quantity": quantity}));

    // A guest fills a cart (a session cookie appears), then registers and signs in with it.
    let guest = api!("guest add", &Credential::None, Method::POST, "/api/v1/cart/items", add(2, 1));
    assert_eq!(guest.status, StatusCode::OK, "{}", guest.text);
    let guest = Credential::Cookie(guest.session_cookie().expect("a guest session"));
    remember(&guest, &mut session_ids, &mut tokens);
    let email = format!("secretive-{}@example.com", common::uuid_like_random());
    let body = json!({"email": email, "password": password, "name": "Secretive"});
    let reply = api!("register", &Credential::None, Method::POST, "/api/v1/auth/register", Some(body));
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let login_body = |mode: &str| Some(json!({"email": email, "password": password, "mode": mode}));
    let reply = api!("login session", &guest, Method::POST, "/api/v1/auth/login", login_body("session"));
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let session = credential_of(&reply, "session");
    remember(&session, &mut session_ids, &mut tokens);

    // The cart with the cookie.
    let reply = api!("cart (cookie)", &session, Method::GET, "/api/v1/cart", None);
    assert_eq!(cart_lines(&reply.json), vec![(2, 1)], "the guest cart joined the user's");
    let reply = api!("add (cookie)", &session, Method::POST, "/api/v1/cart/items", add(1, 2));
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let reply = api!("me (cookie)", &session, Method::GET, "/api/v1/me", None);
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    // The /auth page explains the session: it may show a preview of the id, never the id.
    let page = api!("/auth page (cookie)", &session, Method::GET, "/auth", None);
    assert_eq!(page.status, StatusCode::OK);

    // Switch to a token; the cart with the token.
    let reply = api!(
        "switch to token",
        &session,
        Method::POST,
        "/api/v1/auth/switch",
        Some(json!({"mode": "token"}))
    );
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let token = credential_of(&reply, "token");
    remember(&token, &mut session_ids, &mut tokens);
    let reply = api!("cart (bearer)", &token, Method::GET, "/api/v1/cart", None);
    assert_eq!(cart_lines(&reply.json), vec![(1, 2), (2, 1)]);
    let reply =
        api!("set (bearer)", &token, Method::PUT, "/api/v1/cart/items/1", Some(json!({"quantity": 3})));
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    // The old session is over: whatever that answer is, it carries nothing secret.
    let reply = api!("me (old cookie)", &session, Method::GET, "/api/v1/me", None);
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);

    // Back to a session.
    let reply = api!(
        "switch to session",
        &token,
        Method::POST,
        "/api/v1/auth/switch",
        Some(json!({"mode": "session"}))
    );
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let session2 = credential_of(&reply, "session");
    remember(&session2, &mut session_ids, &mut tokens);
    let reply = api!("cart (cookie 2)", &session2, Method::GET, "/api/v1/cart", None);
    assert_eq!(cart_lines(&reply.json), vec![(1, 3), (2, 1)]);
    let reply = api!("me (old token)", &token, Method::GET, "/api/v1/me", None);
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "the exchanged token is revoked");
    let reply = api!("logout (cookie 2)", &session2, Method::POST, "/api/v1/auth/logout", None);
    assert_eq!(reply.status, StatusCode::NO_CONTENT);

    // A token sign-in, used and signed out; then used again (401).
    let reply =
        api!("login token", &Credential::None, Method::POST, "/api/v1/auth/login", login_body("token"));
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let token2 = credential_of(&reply, "token");
    remember(&token2, &mut session_ids, &mut tokens);
    let reply = api!("add (bearer 2)", &token2, Method::POST, "/api/v1/cart/items", add(3, 1));
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let reply = api!("logout (bearer 2)", &token2, Method::POST, "/api/v1/auth/logout", None);
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    let reply = api!("cart (revoked bearer)", &token2, Method::GET, "/api/v1/cart", None);
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);

    // A session sign-in, then "sign out everywhere".
    let reply =
        api!("login session 3", &Credential::None, Method::POST, "/api/v1/auth/login", login_body("session"));
    let session3 = credential_of(&reply, "session");
    remember(&session3, &mut session_ids, &mut tokens);
    let reply = api!("logout-all", &session3, Method::POST, "/api/v1/auth/logout-all", None);
    assert_eq!(reply.status, StatusCode::NO_CONTENT);

    // A wrong password, with an email that exists and one that does not.
    let wrong = json!({"email": email, "password": wrong_password, "mode": "session"});
    let reply = api!("wrong password", &Credential::None, Method::POST, "/api/v1/auth/login", Some(wrong));
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.code(), "invalid_credentials");
    let unknown = json!({"email": "nobody@example.com", "password": wrong_password, "mode": "token"});
    let reply = api!("unknown email", &Credential::None, Method::POST, "/api/v1/auth/login", Some(unknown));
    assert_eq!(reply.code(), "invalid_credentials");
    // A token tampered with, and a password sent where a number goes.
    let tampered = Credential::Bearer(format!("{}x", tokens[0]));
    let reply = api!("tampered token", &tampered, Method::GET, "/api/v1/me", None);
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);

    let status = shop.terminate();
    assert!(status.success(), "SIGTERM: exit 0, got {status:?}");
    let text = shop.log_text();

    // The log is the trace-level one: it records the requests (so the checks below mean
    // something), only not their secrets.
    assert!(text.contains("/api/v1/auth/login"), "trace logging was on:\n{}", shop.log_tail());
    assert!(text.lines().count() > 50, "trace logging was on:\n{}", shop.log_tail());
    assert_eq!(session_ids.len(), 4);
    assert_eq!(tokens.len(), 2);
    let mut secrets: Vec<(String, String)> = vec![
        ("the password".into(), password.clone()),
        ("the wrong password".into(), wrong_password.clone()),
        ("JWT_SECRET".into(), jwt_secret.clone()),
    ];
    for (i, id) in session_ids.iter().enumerate() {
        secrets.push((format!("session id {i}"), id.clone()));
    }
    for (i, token) in tokens.iter().enumerate() {
        secrets.push((format!("token {i}"), token.clone()));
        // The signature alone is enough to forge nothing, but is the token's secret part.
        secrets.push((format!("token {i}'s signature"), token.rsplit('.').next().unwrap().to_string()));
    }
    for (what, secret) in &secrets {
        assert!(secret.len() >= 16, "{what} is long enough to search for");
        if let Some(at) = text.find(secret.as_str()) {
            let from = text[..at].rfind('\n').map(|i| i + 1).unwrap_or(0);
            let to = text[at..].find('\n').map(|i| at + i).unwrap_or(text.len());
            panic!("{what} is in the log:\n{}", &text[from..to]);
        }
    }

    // Nor does any answer carry them where they do not belong: a token only in the sign-in or
    // switch answer that issued it, a session id only in the Set-Cookie that sets it, the
    // password and the signing secret nowhere.
    for (what, reply) in &replies {
        let issued_here = reply.json["token"].as_str();
        let cookie_here = reply.session_cookie();
        for (name, value) in &reply.headers {
            let value = value.to_str().unwrap_or("");
            for (secret_name, secret) in &secrets {
                let allowed = name == "set-cookie"
                    && cookie_here.as_deref().is_some_and(|pair| pair.ends_with(secret.as_str()));
                assert!(
                    allowed || !value.contains(secret.as_str()),
                    "{what}: {secret_name} in the {name} header: {value}"
                );
            }
        }
        for (secret_name, secret) in &secrets {
            let allowed = issued_here.is_some_and(|token| token.contains(secret.as_str()))
                && reply.status == StatusCode::OK;
            assert!(
                allowed || !reply.text.contains(secret.as_str()),
                "{what} ({}): {secret_name} in the body",
                reply.status
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_jwt_secret_stops_the_server_at_start_with_a_clear_message() {
    let (_db, url) = TestDatabase::create().await;
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("shop.log");
    let short = "too-short-secret-1234567890"; // 27 bytes
    let mut shop = spawn(&url, &[("JWT_SECRET", short), ("RUST_LOG", "trace")], &log);
    let base = shop.base();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = shop.child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = shop.child.kill();
            panic!("the server did not stop with a 27-byte JWT_SECRET");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(!status.success(), "a non-zero exit, got {status:?}");
    let output = String::from_utf8_lossy(&std::fs::read(&log).unwrap()).into_owned();
    assert!(
        output.contains("JWT_SECRET") && output.contains("32"),
        "the message names the variable and the minimum: {output}"
    );
    assert!(!output.contains(short), "the refused secret is not printed: {output}");
    assert!(send(&base, Method::GET, "/healthz", &[], None).await.is_err(), "nothing listens on {base}");
}
