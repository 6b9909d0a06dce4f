//! A hostile corpus: several hundred malformed, mistyped, oversized, forged and tricky requests
//! fired at every route of the shop (the JSON API, the server functions, the pages and the
//! static files), carrying real credentials (a guest's cookie, a signed-in user's cookie, a
//! Bearer token) wherever a mistake would let them change something. Then:
//! (a) no answer is a 5xx, and none hangs;
//! (b) every refusal under /api/ and /fn/ carries the JSON error with a snake_case code (the
//!     contract's `{"error":{"code","message"}}`; a server function may also answer with its
//!     own encoding of the error, `{"code":…,"detail":…}`, which the app reads);
//! (c) the server still answers normally afterwards, with every credential still working;
//! (d) not one row of the database changed: carts, cart lines, orders, order lines, users,
//!     sessions, stock, token revocations and the rest, row by row. The state is compared after
//!     every request, so a change is pinned to the request that made it; the database is then
//!     put back as it was, so that every entry meets the same state (and credentials).
//!
//! `HOSTILE_CORPUS_LOG=1` prints every entry with its status, and every error message noted.
#![cfg(feature = "ssr")]

mod common;

use axum::{
    body::Body,
    http::{HeaderValue, Method, Request},
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use common::{TestApp, TestResponse, APPLE, BANANA};
use serde_json::{json, Value};
use std::{
    cell::Cell,
    collections::{BTreeMap, BTreeSet},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

/// Seeded products with little or no stock.
const TRUFFLE: i64 = 12; // stock 2
const SAFFRON: i64 = 24; // stock 0
/// Written into files beside (outside) the site root: no answer may ever contain it.
const SECRET_MARKER: &str = "HOSTILE-CORPUS-SECRET-7f3a";
/// Tables whose rows are meant to change when hostile requests arrive: the sign-in and
/// registration attempt counters (rate limits count refused attempts, by design).
const TABLES_ALLOWED_TO_CHANGE: &[&str] = &["auth_attempts", "_sqlx_migrations"];
const PER_REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

const ADD: &str = r#"{"product_id":1,"quantity":1}"#;
const SHIP: &str = r#"{"shipping":{"name":"Mallory","address":"1 Evil Road"}}"#;
const MERGE: &str = r#"{"lines":[{"product_id":1,"quantity":1}]}"#;

// ---------------------------------------------------------------------------------------------
// The corpus entries.

#[derive(Clone, Copy, Debug, PartialEq)]
enum Expect {
    /// Any 4xx.
    Refused,
    /// Exactly this status (where the contract says so).
    Status(u16),
    /// Anything but a 5xx (reads, and requests a server may accept or refuse).
    Any,
}

struct Case {
    category: &'static str,
    method: Method,
    uri: String,
    headers: Vec<(&'static str, Vec<u8>)>,
    body: Vec<u8>,
    expect: Expect,
    /// What the entry is, when the request alone does not say (e.g. which forged token).
    note: &'static str,
}

fn case(category: &'static str, method: &str, uri: impl Into<String>) -> Case {
    Case {
        category,
        method: Method::from_bytes(method.as_bytes()).expect("a method"),
        uri: uri.into(),
        headers: Vec::new(),
        body: Vec::new(),
        expect: Expect::Refused,
        note: "",
    }
}

impl Case {
    fn header(mut self, name: &'static str, value: impl AsRef<[u8]>) -> Case {
        self.headers.push((name, value.as_ref().to_vec()));
        self
    }
    fn body(mut self, body: impl AsRef<[u8]>) -> Case {
        self.body = body.as_ref().to_vec();
        self
    }
    fn json(self, body: impl AsRef<[u8]>) -> Case {
        self.header("content-type", "application/json").body(body)
    }
    /// A server function call as the app makes it (form-urlencoded, JSON answers).
    fn form(self, body: impl AsRef<[u8]>) -> Case {
        self.header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json")
            .body(body)
    }
    fn cookie(self, cookie: &str) -> Case {
        self.header("cookie", cookie)
    }
    fn bearer(self, token: &str) -> Case {
        self.header("authorization", format!("Bearer {token}"))
    }
    fn key(self, key: impl AsRef<[u8]>) -> Case {
        self.header("idempotency-key", key)
    }
    fn content_length(self) -> Case {
        let length = self.body.len().to_string();
        self.header("content-length", length)
    }
    fn note(mut self, note: &'static str) -> Case {
        self.note = note;
        self
    }
    fn any(mut self) -> Case {
        self.expect = Expect::Any;
        self
    }
    fn status(mut self, status: u16) -> Case {
        self.expect = Expect::Status(status);
        self
    }
    fn path(&self) -> &str {
        self.uri.split('?').next().unwrap_or("")
    }
    fn request(&self) -> Request<Body> {
        let mut builder = Request::builder().method(self.method.clone()).uri(self.uri.as_str());
        for (name, value) in &self.headers {
            let value = HeaderValue::from_bytes(value)
                .unwrap_or_else(|e| panic!("corpus entry {}: header {name}: {e}", self.describe()));
            builder = builder.header(*name, value);
        }
        builder
            .body(Body::from(self.body.clone()))
            .unwrap_or_else(|e| panic!("corpus entry {} cannot be built: {e}", self.describe()))
    }
    fn describe(&self) -> String {
        let headers: Vec<String> = self
            .headers
            .iter()
            .map(|(name, value)| format!("{name}: {}", clip(&String::from_utf8_lossy(value), 60)))
            .collect();
        format!(
            "[{}{}] {} {} {{{}}} body {} B {:?}",
            self.category,
            if self.note.is_empty() { String::new() } else { format!(": {}", self.note) },
            self.method,
            clip(&self.uri, 110),
            headers.join(" | "),
            self.body.len(),
            clip(&String::from_utf8_lossy(&self.body), 90)
        )
    }
}

fn clip(text: &str, max: usize) -> String {
    let count = text.chars().count();
    if count <= max {
        text.to_string()
    } else {
        format!("{}…({count} chars)", text.chars().take(max).collect::<String>())
    }
}

/// Fresh Idempotency-Keys, so that no refusal can be explained away by a key already used.
struct Keys(Cell<u32>);

impl Keys {
    fn next(&self) -> String {
        self.0.set(self.0.get() + 1);
        format!("hostile-{}", self.0.get())
    }
}

/// Percent-encoding for form values.
fn enc(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `body` with `insert` right after its first `"`.
fn after_first_quote(body: &[u8], insert: &[u8]) -> Vec<u8> {
    let at = body.iter().position(|&b| b == b'"').map_or(0, |i| i + 1);
    [&body[..at], insert, &body[at..]].concat()
}

fn deep_array(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

fn deep_object(depth: usize) -> String {
    format!("{}1{}", r#"{"a":"#.repeat(depth), "}".repeat(depth))
}

fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

// ---------------------------------------------------------------------------------------------
// The state the corpus attacks.

struct Creds {
    /// `shop_session=…` of a guest with a cart.
    guest: String,
    /// `shop_session=…` of a signed-in user (session mode) with a cart and an order.
    user: String,
    /// A Bearer token of the same user.
    token: String,
    /// Another token of the same user, signed out (revoked).
    revoked: String,
    /// A second user's token, and their order.
    other_token: String,
    other_order: i64,
    other_id: i64,
    user_id: i64,
    own_order: i64,
    email: String,
    password: String,
    setup_key: String,
    /// The JWT secret the shop made and keeps in the database.
    secret: String,
}

/// A request from a client with no cookie jar of its own.
async fn fresh(app: &TestApp, request: Request<Body>) -> TestResponse {
    app.client().send(request).await
}

fn get_with(uri: &str, name: &'static str, value: &str) -> Request<Body> {
    Request::get(uri).header(name, value).body(Body::empty()).unwrap()
}

fn jar(client: &common::Client) -> String {
    client.cookie.lock().unwrap().clone().expect("a session cookie")
}

fn ok(response: TestResponse, what: &str) -> TestResponse {
    assert!(response.status.is_success(), "setup: {what}: {} {}", response.status, response.text());
    response
}

async fn place_order(client: &common::Client, key: &str, bearer: Option<&str>) -> i64 {
    let mut request = Request::post("/api/v1/orders")
        .header("content-type", "application/json")
        .header("idempotency-key", key);
    if let Some(token) = bearer {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let response = ok(client.send(request.body(Body::from(SHIP)).unwrap()).await, "placing an order");
    assert_eq!(response.status, 201);
    response.json()["id"].as_i64().expect("an order id")
}

async fn setup(app: &TestApp, db: &mut Db) -> Creds {
    // A guest with a cart (apples, and one of the two truffles in stock).
    let guest = app.client();
    ok(guest.add(APPLE, 2).await, "guest adds apples");
    ok(guest.add(TRUFFLE, 1).await, "guest adds a truffle");
    let guest_cookie = jar(&guest);

    // A user signed in with a session: one order placed, then a cart again.
    let user = app.client();
    let (email, password) = user.register("Hostile").await;
    ok(user.login(&email, &password, "session").await, "session sign-in");
    let user_cookie = jar(&user);
    ok(user.add(BANANA, 3).await, "user adds bananas");
    let setup_key = "setup-order-1".to_string();
    let own_order = place_order(&user, &setup_key, None).await;
    ok(user.add(BANANA, 3).await, "user adds bananas again");
    ok(user.add(APPLE, 1).await, "user adds an apple");
    let user_id = ok(user.get("/api/v1/me").await, "me").json()["user"]["id"].as_i64().unwrap();

    // The same user in token mode, and a second token of theirs that was signed out.
    let api = app.client();
    let token = ok(api.login(&email, &password, "token").await, "token sign-in").json()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let revoked = ok(api.login(&email, &password, "token").await, "second token").json()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let out = api.bearer(&revoked, Method::POST, "/api/v1/auth/logout", None).await;
    assert_eq!(out.status, 204, "setup: signing a token out: {}", out.text());

    // A second user, in token mode, with an order of their own.
    let other = app.client();
    let (other_email, other_password) = other.register("Other").await;
    let other_token = ok(other.login(&other_email, &other_password, "token").await, "other sign-in").json()
        ["token"]
        .as_str()
        .unwrap()
        .to_string();
    ok(other.bearer(&other_token, Method::POST, "/api/v1/cart/items", Some(ADD)).await, "other adds");
    let other_order = place_order(&other, "other-order-1", Some(&other_token)).await;
    let other_id = ok(other.bearer(&other_token, Method::GET, "/api/v1/me", None).await, "other me").json()
        ["user"]["id"]
        .as_i64()
        .unwrap();

    let secret = db.rows("SELECT value FROM settings WHERE key = 'jwt_secret'").await;
    let secret = secret.first().and_then(|row| row.first()).cloned().expect("the JWT secret in settings");

    // Every cart's `updated_at` is set far back, so that a refused change that still touched a
    // cart shows in the comparison (the clock has one-second steps).
    app.sql("UPDATE carts SET updated_at = 1000000000").await;

    Creds {
        guest: guest_cookie,
        user: user_cookie,
        token,
        revoked,
        other_token,
        other_order,
        other_id,
        user_id,
        own_order,
        email,
        password,
        setup_key,
        secret,
    }
}

// ---------------------------------------------------------------------------------------------
// Database snapshots, read as text on either database.

/// One connection to the test database, kept open: the state is read after every request, and
/// put back as it was when a request changed it (so that every entry meets the same state, and
/// one bug does not make later entries fail for the wrong reason).
struct Db {
    conn: sqlx::AnyConnection,
    postgres: bool,
    /// (label, table as SQL, columns)
    tables: Vec<(String, String, Vec<String>)>,
}

/// A table's rows, each value as an SQL literal (`NULL`, `'text'`, `X'…'`, `123`), sorted.
#[derive(Clone, Debug, PartialEq)]
struct Table {
    columns: Vec<String>,
    rows: Vec<Vec<String>>,
}

/// Every table (by name; the session table is `tower_sessions` on SQLite and
/// `tower_sessions.session` on PostgreSQL) but the rate-limit counters.
type Snapshot = BTreeMap<String, Table>;

/// Parents before children (foreign keys); other tables come after these.
const TABLE_ORDER: &[&str] =
    &["categories", "products", "users", "carts", "cart_lines", "orders", "order_lines"];

impl Db {
    async fn open(url: &str) -> Db {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        let conn = sqlx::AnyConnection::connect(url).await.expect("a database connection");
        let mut db = Db { conn, postgres: common::on_postgres(), tables: Vec::new() };
        let names: Vec<(String, String, String)> = if db.postgres {
            db.rows(
                "SELECT CAST(table_schema AS TEXT), CAST(table_name AS TEXT) FROM information_schema.tables \
                 WHERE table_schema IN ('public', 'tower_sessions') AND table_type = 'BASE TABLE' ORDER BY 1, 2",
            )
            .await
            .into_iter()
            .map(|row| {
                let (schema, name) = (&row[0], &row[1]);
                let label = if schema == "public" { name.clone() } else { format!("{schema}.{name}") };
                let columns = format!(
                    "SELECT CAST(column_name AS TEXT) FROM information_schema.columns \
                     WHERE table_schema = '{schema}' AND table_name = '{name}' ORDER BY ordinal_position"
                );
                (label, format!("\"{schema}\".\"{name}\""), columns)
            })
            .collect()
        } else {
            db.rows("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
                .await
                .into_iter()
                .map(|row| {
                    let name = row[0].clone();
                    let columns = format!("SELECT name FROM pragma_table_info('{name}') ORDER BY cid");
                    (name.clone(), format!("\"{name}\""), columns)
                })
                .collect()
        };
        for (label, table, columns_query) in names {
            if TABLES_ALLOWED_TO_CHANGE.contains(&label.as_str()) {
                continue;
            }
            let columns: Vec<String> =
                db.rows(&columns_query).await.into_iter().map(|r| r[0].clone()).collect();
            db.tables.push((label, table, columns));
        }
        let rank = |label: &str| TABLE_ORDER.iter().position(|t| *t == label).unwrap_or(TABLE_ORDER.len());
        db.tables.sort_by_key(|(label, _, _)| rank(label));
        db
    }

    /// Every value as text.
    async fn rows(&mut self, statement: &str) -> Vec<Vec<String>> {
        use sqlx::Row;
        let found = sqlx::query(statement)
            .fetch_all(&mut self.conn)
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
        found
            .iter()
            .map(|row| {
                (0..row.len())
                    .map(|i| {
                        row.try_get::<Option<String>, _>(i)
                            .unwrap_or_else(|e| panic!("{statement}, column {i}: {e}"))
                            .unwrap_or_else(|| "NULL".to_string())
                    })
                    .collect()
            })
            .collect()
    }

    async fn snapshot(&mut self) -> Snapshot {
        let mut snapshot = Snapshot::new();
        for (label, table, columns) in self.tables.clone() {
            let values: Vec<String> = columns
                .iter()
                .map(|c| {
                    if self.postgres {
                        format!("COALESCE(quote_literal(CAST(\"{c}\" AS TEXT)), 'NULL')")
                    } else {
                        format!("quote(\"{c}\")")
                    }
                })
                .collect();
            let mut rows = self.rows(&format!("SELECT {} FROM {table}", values.join(", "))).await;
            rows.sort();
            snapshot.insert(label, Table { columns, rows });
        }
        snapshot
    }

    /// Puts every table back as `snapshot` has it.
    async fn restore(&mut self, snapshot: &Snapshot) {
        let mut statements = Vec::new();
        for (label, table, _) in self.tables.iter().rev() {
            if snapshot.contains_key(label) {
                statements.push(format!("DELETE FROM {table}"));
            }
        }
        for (label, table, _) in &self.tables {
            let Some(saved) = snapshot.get(label) else { continue };
            if saved.rows.is_empty() {
                continue;
            }
            let columns: Vec<String> = saved.columns.iter().map(|c| format!("\"{c}\"")).collect();
            let rows: Vec<String> = saved.rows.iter().map(|row| format!("({})", row.join(", "))).collect();
            statements.push(format!(
                "INSERT INTO {table} ({}) VALUES {}",
                columns.join(", "),
                rows.join(", ")
            ));
        }
        let mut tx = sqlx::Connection::begin(&mut self.conn).await.expect("a transaction");
        for statement in &statements {
            sqlx::query(statement)
                .execute(&mut *tx)
                .await
                .unwrap_or_else(|e| panic!("restoring the database: {}: {e}", clip(statement, 300)));
        }
        tx.commit().await.expect("restoring the database");
    }
}

fn session_table() -> &'static str {
    if common::on_postgres() {
        "tower_sessions.session"
    } else {
        "tower_sessions"
    }
}

fn differences(before: &Snapshot, after: &Snapshot) -> Vec<String> {
    let mut out = Vec::new();
    let names: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    for name in names {
        let (Some(b), Some(a)) = (before.get(name), after.get(name)) else {
            out.push(format!("table {name} appeared or went away"));
            continue;
        };
        if b == a {
            continue;
        }
        let show = |row: &Vec<String>| {
            let pairs: Vec<String> = a.columns.iter().zip(row).map(|(c, v)| format!("{c}={v}")).collect();
            clip(&pairs.join(", "), 400)
        };
        out.push(format!("table {name}: {} rows before, {} after", b.rows.len(), a.rows.len()));
        for row in b.rows.iter().filter(|row| !a.rows.contains(row)).take(8) {
            out.push(format!("    - {}", show(row)));
        }
        for row in a.rows.iter().filter(|row| !b.rows.contains(row)).take(8) {
            out.push(format!("    + {}", show(row)));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The corpus, by category.

/// Bodies of requests that, sent as they are with the credential given, would change state; the
/// malformed variants of each must all be refused with 400 and change nothing.
struct JsonTarget {
    method: &'static str,
    path: String,
    credential: Option<(&'static str, String)>,
    needs_key: bool,
    valid: String,
    /// The same arguments as a JSON array (serde would read a struct from one).
    positional: Option<String>,
}

fn malformed_json(c: &Creds, keys: &Keys, out: &mut Vec<Case>) {
    let cookie = |v: &String| Some(("cookie", v.clone()));
    let login = json!({"email": c.email, "password": c.password, "mode": "session"}).to_string();
    let register =
        json!({"email": "malformed@example.com", "password": "correct horse battery", "name": "Eve"});
    let targets = vec![
        JsonTarget {
            method: "POST",
            path: "/api/v1/cart/items".into(),
            credential: cookie(&c.user),
            needs_key: false,
            valid: ADD.into(),
            positional: Some("[1,1]".into()),
        },
        JsonTarget {
            method: "POST",
            path: "/api/v1/cart/items".into(),
            credential: cookie(&c.guest),
            needs_key: false,
            valid: r#"{"product_id":2,"quantity":1}"#.into(),
            positional: Some("[2,1]".into()),
        },
        JsonTarget {
            method: "POST",
            path: "/api/v1/cart/items".into(),
            credential: Some(("authorization", format!("Bearer {}", c.token))),
            needs_key: false,
            valid: ADD.into(),
            positional: Some("[1,1]".into()),
        },
        JsonTarget {
            method: "PUT",
            path: "/api/v1/cart/items/1".into(),
            credential: cookie(&c.user),
            needs_key: false,
            valid: r#"{"quantity":5}"#.into(),
            positional: Some("[5]".into()),
        },
        JsonTarget {
            method: "POST",
            path: "/api/v1/cart/merge".into(),
            credential: cookie(&c.user),
            needs_key: false,
            valid: MERGE.into(),
            positional: Some("[[[1,1]]]".into()),
        },
        JsonTarget {
            method: "POST",
            path: "/api/v1/auth/register".into(),
            credential: None,
            needs_key: false,
            valid: register.to_string(),
            positional: Some(r#"["malformed@example.com","correct horse battery","Eve"]"#.into()),
        },
        JsonTarget {
            method: "POST",
            path: "/api/v1/auth/login".into(),
            credential: cookie(&c.user),
            needs_key: false,
            valid: login,
            positional: Some(json!([c.email, c.password, "session"]).to_string()),
        },
        JsonTarget {
            method: "POST",
            path: "/api/v1/auth/switch".into(),
            credential: cookie(&c.user),
            needs_key: false,
            valid: r#"{"mode":"token"}"#.into(),
            positional: Some(r#"["token"]"#.into()),
        },
        JsonTarget {
            method: "POST",
            path: "/api/v1/orders".into(),
            credential: cookie(&c.user),
            needs_key: true,
            valid: SHIP.into(),
            positional: Some(r#"[["Mallory","1 Evil Road"],null]"#.into()),
        },
        // Server functions with JSON arguments: their argument format is the app's own, so no
        // positional variant (it would be the same call), but every malformed body is a 400.
        JsonTarget {
            method: "POST",
            path: "/fn/cart/merge".into(),
            credential: cookie(&c.user),
            needs_key: false,
            valid: MERGE.into(),
            positional: None,
        },
        JsonTarget {
            method: "POST",
            path: "/fn/auth/guest_import".into(),
            credential: cookie(&c.guest),
            needs_key: false,
            valid: MERGE.into(),
            positional: None,
        },
        JsonTarget {
            method: "POST",
            path: "/fn/cart/preview".into(),
            credential: None,
            needs_key: false,
            valid: r#"{"lines":[{"product_id":1,"quantity":1}],"changed":null}"#.into(),
            positional: None,
        },
    ];
    for target in &targets {
        let v = target.valid.as_bytes();
        let mut variants: Vec<Vec<u8>> = vec![
            v[..v.len() - 1].to_vec(),
            v[..v.len() / 2].to_vec(),
            [v, b"garbage".as_slice()].concat(),
            [v, v].concat(),
            [&v[..v.len() - 1], b",}".as_slice()].concat(),
            target.valid.replace('"', "'").into_bytes(),
            [b"/* hi */".as_slice(), v].concat(),
            serde_json::to_vec(&target.valid).unwrap(), // the body as one JSON string
            b"42".to_vec(),
            b"null".to_vec(),
            b"true".to_vec(),
            b"[]".to_vec(),
            b"{}".to_vec(),
            Vec::new(),
            b" \n\t ".to_vec(),
            // Invalid UTF-8 inside the first key; a raw NUL; a raw control character in a string.
            after_first_quote(v, b"\xff\xfe"),
            target.valid.replacen('{', "{\u{0}", 1).into_bytes(),
            after_first_quote(v, b"\x01"),
            target.valid.replacen('"', "\"\\ud800", 1).into_bytes(),
            deep_array(10_000).into_bytes(),
            deep_object(10_000).into_bytes(),
        ];
        // The first field's value replaced by 10 000 nested arrays.
        if let Ok(Value::Object(mut map)) = serde_json::from_str::<Value>(&target.valid) {
            if let Some(first) = map.keys().next().cloned() {
                map.insert(first, json!("__DEEP__"));
                let text = Value::Object(map).to_string().replace("\"__DEEP__\"", &deep_array(10_000));
                variants.push(text.into_bytes());
            }
        }
        if let Some(positional) = &target.positional {
            variants.push(positional.clone().into_bytes());
        }
        for body in variants {
            let mut entry = case("malformed_json", target.method, target.path.clone()).json(body);
            if let Some((name, value)) = &target.credential {
                entry = entry.header(name, value);
            }
            if target.needs_key {
                entry = entry.key(keys.next());
            }
            out.push(entry.status(400));
        }
    }
    // A byte order mark before JSON a server may read (RFC 8259 lets it), with values it must refuse.
    let bom = "\u{feff}";
    out.push(
        case("malformed_json", "POST", "/api/v1/cart/items")
            .json(format!(r#"{bom}{{"product_id":1,"quantity":0}}"#))
            .cookie(&c.user),
    );
    out.push(
        case("malformed_json", "POST", "/api/v1/auth/login")
            .json(format!(
                "{bom}{}",
                json!({"email": c.email, "password": "wrong password", "mode": "session"})
            ))
            .cookie(&c.user),
    );
    out.push(
        case("malformed_json", "POST", "/api/v1/auth/register")
            .json(format!(r#"{bom}{{"email":"bom@example.com","password":"short","name":"Bom"}}"#)),
    );
    out.push(
        case("malformed_json", "POST", "/api/v1/orders")
            .json(format!(r#"{bom}{{"shipping":{{"name":"","address":""}}}}"#))
            .cookie(&c.user)
            .key(keys.next()),
    );
    // A duplicate key, and keys in another case.
    out.push(
        case("malformed_json", "POST", "/api/v1/cart/items")
            .json(r#"{"product_id":1,"product_id":2,"quantity":1}"#)
            .cookie(&c.user)
            .status(400),
    );
    out.push(
        case("malformed_json", "POST", "/api/v1/cart/items")
            .json(r#"{"Product_Id":1,"Quantity":1}"#)
            .cookie(&c.user)
            .status(400),
    );
    out.push(
        case("malformed_json", "POST", "/api/v1/cart/items")
            .json(r#"{"product_id":1,"quantity":NaN}"#)
            .cookie(&c.user)
            .status(400),
    );
    out.push(
        case("malformed_json", "POST", "/api/v1/cart/items")
            .json(r#"{"product_id":1,"quantity":Infinity}"#)
            .cookie(&c.user)
            .status(400),
    );
}

fn wrong_types(c: &Creds, keys: &Keys, out: &mut Vec<Case>) {
    let add_pairs = [
        ("\"1\"", "1"),
        ("1.0", "1"),
        ("1.5", "1"),
        ("true", "1"),
        ("null", "1"),
        ("[1]", "1"),
        ("{\"id\":1}", "1"),
        ("\"banana\"", "1"),
        ("1", "\"1\""),
        ("1", "1.0"),
        ("1", "1e0"),
        ("1", "true"),
        ("1", "null"),
        ("1", "[1]"),
        ("1", "{}"),
        ("1", "\"\""),
        ("1", "\"one\""),
    ];
    for (i, (product, quantity)) in add_pairs.iter().enumerate() {
        let body = format!(r#"{{"product_id":{product},"quantity":{quantity}}}"#);
        let entry = case("wrong_types", "POST", "/api/v1/cart/items").json(body);
        let entry = match i % 3 {
            0 => entry.cookie(&c.user),
            1 => entry.bearer(&c.token),
            _ => entry.cookie(&c.guest),
        };
        out.push(entry.status(400));
    }
    for quantity in ["\"5\"", "5.0", "null", "true", "[5]", "{\"n\":5}"] {
        out.push(
            case("wrong_types", "PUT", "/api/v1/cart/items/1")
                .json(format!(r#"{{"quantity":{quantity}}}"#))
                .cookie(&c.user)
                .status(400),
        );
    }
    for body in [
        r#"{"lines":"x"}"#,
        r#"{"lines":{}}"#,
        r#"{"lines":[1]}"#,
        r#"{"lines":[{"product_id":"1","quantity":1}]}"#,
        r#"{"lines":[{"product_id":1}]}"#,
        r#"{"lines":[null]}"#,
        r#"{"lines":[{"product_id":1,"quantity":1.5}]}"#,
    ] {
        out.push(case("wrong_types", "POST", "/api/v1/cart/merge").json(body).cookie(&c.user).status(400));
    }
    for (i, body) in [
        r#"{"shipping":"x"}"#,
        r#"{"shipping":null}"#,
        r#"{"shipping":[]}"#,
        r#"{"shipping":{"name":1,"address":2}}"#,
        r#"{"shipping":{"name":"Mallory"}}"#,
        r#"{"shipping":{"name":null,"address":"1 Evil Road"}}"#,
        r#"{"shipping":{"name":["Mallory"],"address":"1 Evil Road"}}"#,
        r#"{"shipping":{"name":"Mallory","address":"1 Evil Road"},"expected_total_cents":"abc"}"#,
        r#"{"shipping":{"name":"Mallory","address":"1 Evil Road"},"expected_total_cents":1.5}"#,
    ]
    .iter()
    .enumerate()
    {
        let entry = case("wrong_types", "POST", "/api/v1/orders").json(body).key(keys.next());
        let entry = if i % 2 == 0 { entry.cookie(&c.user) } else { entry.bearer(&c.token) };
        out.push(entry.status(400));
    }
    for body in [
        json!({"email": 1, "password": "correct horse battery", "name": "Eve"}),
        json!({"email": "types1@example.com", "password": 12345678, "name": "Eve"}),
        json!({"email": "types2@example.com", "password": "correct horse battery", "name": null}),
        json!({"email": ["types3@example.com"], "password": "correct horse battery", "name": "Eve"}),
        json!({"email": {"x": 1}, "password": "correct horse battery", "name": "Eve"}),
    ] {
        out.push(case("wrong_types", "POST", "/api/v1/auth/register").json(body.to_string()).status(400));
    }
    for body in [
        json!({"email": c.email, "password": c.password, "mode": 1}),
        json!({"email": c.email, "password": c.password, "mode": null}),
        json!({"email": c.email, "password": c.password, "mode": ["session"]}),
        json!({"email": c.email, "password": c.password, "mode": true}),
        json!({"email": [c.email], "password": c.password, "mode": "session"}),
        json!({"email": c.email, "password": {"p": c.password}, "mode": "session"}),
    ] {
        out.push(
            case("wrong_types", "POST", "/api/v1/auth/login")
                .json(body.to_string())
                .cookie(&c.user)
                .status(400),
        );
    }
    for mode in
        ["1", "null", "[]", "{}", "true", "\"\"", "\"bogus\"", "\"SESSION\"", "\"Token\"", "\" token\""]
    {
        out.push(
            case("wrong_types", "POST", "/api/v1/auth/switch")
                .json(format!(r#"{{"mode":{mode}}}"#))
                .cookie(&c.user)
                .status(400),
        );
    }
}

fn numbers(c: &Creds, keys: &Keys, out: &mut Vec<Case>) {
    let max = i64::MAX.to_string();
    let min = i64::MIN.to_string();
    let beyond = ["9223372036854775808", "18446744073709551616", "-9223372036854775809", "1e400"];
    for quantity in
        ["0", "-1", "-99", "100", "1000", max.as_str(), min.as_str(), "-0", "1e2"].into_iter().chain(beyond)
    {
        out.push(
            case("numbers", "POST", "/api/v1/cart/items")
                .json(format!(r#"{{"product_id":1,"quantity":{quantity}}}"#))
                .cookie(&c.user),
        );
    }
    out.push(
        case("numbers", "POST", "/api/v1/cart/items")
            .json(format!(r#"{{"product_id":1,"quantity":{max}}}"#))
            .bearer(&c.token),
    );
    out.push(
        case("numbers", "POST", "/api/v1/cart/items")
            .json(r#"{"product_id":2,"quantity":0}"#)
            .cookie(&c.guest),
    );
    // Within the product's stock, but the line would pass 99 (the user holds 3 bananas) or the
    // stock (the guest holds 1 of 2 truffles): 409 and the cart as it was.
    out.push(
        case("numbers", "POST", "/api/v1/cart/items")
            .json(r#"{"product_id":1,"quantity":97}"#)
            .cookie(&c.user)
            .status(409),
    );
    out.push(
        case("numbers", "POST", "/api/v1/cart/items")
            .json(format!(r#"{{"product_id":{TRUFFLE},"quantity":2}}"#))
            .cookie(&c.guest)
            .status(409),
    );
    for product in ["0", "-1", max.as_str(), min.as_str(), "999999", "1e0"].into_iter().chain(beyond) {
        out.push(
            case("numbers", "POST", "/api/v1/cart/items")
                .json(format!(r#"{{"product_id":{product},"quantity":1}}"#))
                .cookie(&c.user),
        );
    }
    out.push(
        case("numbers", "POST", "/api/v1/cart/items")
            .json(format!(r#"{{"product_id":{SAFFRON},"quantity":1}}"#))
            .cookie(&c.user)
            .status(409),
    );
    for quantity in ["-1", "100", max.as_str(), min.as_str(), "18446744073709551616", "1e400"] {
        out.push(
            case("numbers", "PUT", "/api/v1/cart/items/1")
                .json(format!(r#"{{"quantity":{quantity}}}"#))
                .cookie(&c.user),
        );
    }
    out.push(
        case("numbers", "PUT", format!("/api/v1/cart/items/{TRUFFLE}"))
            .json(r#"{"quantity":3}"#)
            .cookie(&c.user)
            .status(409),
    );
    out.push(
        case("numbers", "PUT", format!("/api/v1/cart/items/{SAFFRON}"))
            .json(r#"{"quantity":1}"#)
            .bearer(&c.token)
            .status(409),
    );
    for id in [
        "0",
        "-1",
        "-0",
        "9223372036854775807",
        "9223372036854775808",
        "18446744073709551616",
        "-9223372036854775808",
        "abc",
        "1.0",
        "1e2",
        "0x1",
        "%201",
        "1%20",
        "999999",
    ] {
        out.push(
            case("numbers", "PUT", format!("/api/v1/cart/items/{id}"))
                .json(r#"{"quantity":5}"#)
                .cookie(&c.user),
        );
    }
    // `+1` reads as 1 in Rust: with a quantity out of range it must still be refused.
    out.push(case("numbers", "PUT", "/api/v1/cart/items/+1").json(r#"{"quantity":100}"#).cookie(&c.user));
    for id in ["0", "-1", "9223372036854775808", "abc", "999999", "1.5", "%2d1"] {
        out.push(case("numbers", "DELETE", format!("/api/v1/cart/items/{id}")).cookie(&c.user));
    }
    out.push(case("numbers", "DELETE", format!("/api/v1/cart/items/{SAFFRON}")).cookie(&c.user).any());
    for lines in [
        r#"[{"product_id":1,"quantity":0}]"#.to_string(),
        r#"[{"product_id":1,"quantity":100}]"#.to_string(),
        r#"[{"product_id":1,"quantity":-1}]"#.to_string(),
        format!(r#"[{{"product_id":1,"quantity":{max}}}]"#),
        r#"[{"product_id":0,"quantity":1}]"#.to_string(),
        r#"[{"product_id":-5,"quantity":1}]"#.to_string(),
        format!(r#"[{{"product_id":{min},"quantity":1}}]"#),
        format!("[{}]", vec![r#"{"product_id":1,"quantity":1}"#; 101].join(",")),
    ] {
        out.push(
            case("numbers", "POST", "/api/v1/cart/merge")
                .json(format!(r#"{{"lines":{lines}}}"#))
                .cookie(&c.user),
        );
    }
    out.push(
        case("numbers", "POST", "/api/v1/cart/merge")
            .json(r#"{"lines":[{"product_id":999999,"quantity":1}]}"#)
            .cookie(&c.user)
            .any(),
    );
    for total in [max.as_str(), min.as_str(), "-1", "0"] {
        out.push(
            case("numbers", "POST", "/api/v1/orders")
                .json(format!(
                    r#"{{"shipping":{{"name":"Mallory","address":"1 Evil Road"}},"expected_total_cents":{total}}}"#
                ))
                .cookie(&c.user)
                .key(keys.next())
                .status(409),
        );
    }
    out.push(
        case("numbers", "POST", "/api/v1/orders")
            .json(r#"{"shipping":{"name":"Mallory","address":"1 Evil Road"},"expected_total_cents":18446744073709551616}"#)
            .cookie(&c.user)
            .key(keys.next())
            .status(400),
    );
    for id in [
        "0",
        "-1",
        "9223372036854775807",
        "-9223372036854775808",
        "9223372036854775808",
        "18446744073709551616",
        "1e3",
        "0x10",
        "abc",
        "999999",
    ] {
        out.push(case("numbers", "GET", format!("/api/v1/orders/{id}")).cookie(&c.user));
    }
    for query in [
        "page=0",
        "page=-1",
        "page=1000001",
        "page=9223372036854775808",
        "page=1.5",
        "page=abc",
        "per_page=0",
        "per_page=101",
        "per_page=-1",
        "per_page=1e2",
        "per_page=18446744073709551616",
        "sort=bogus",
    ] {
        out.push(case("numbers", "GET", format!("/api/v1/products?{query}")).status(400));
    }
}

fn nul_and_control(c: &Creds, keys: &Keys, out: &mut Vec<Case>) {
    let cat = "nul_control";
    for body in [
        json!({"email": "nul\u{0}@example.com", "password": "correct horse battery", "name": "Nul"}),
        json!({"email": "nul2@example.com", "password": "correct horse battery", "name": "N\u{0}ul"}),
        json!({"email": "ctl\u{1}@example.com", "password": "correct horse battery", "name": "Ctl"}),
        json!({"email": "ctl2@example.com", "password": "correct horse battery", "name": "\u{7}\u{1b}[31mred"}),
        json!({"email": "ctl3@example.com", "password": "correct horse battery", "name": "a\u{85}b"}),
        json!({"email": "crlf@example.com\r\nBcc: x@evil.example", "password": "correct horse battery", "name": "C"}),
    ] {
        out.push(case(cat, "POST", "/api/v1/auth/register").json(body.to_string()).status(400));
    }
    // The user's own address (taken) with a NUL in the password: never a new account.
    out.push(
        case(cat, "POST", "/api/v1/auth/register").json(
            json!({"email": c.email, "password": "correct horse\u{0}battery", "name": "Nul"}).to_string(),
        ),
    );
    for body in [
        json!({"email": format!("{}\u{0}", c.email), "password": c.password, "mode": "session"}),
        json!({"email": c.email, "password": format!("{}\u{0}", c.password), "mode": "session"}),
        json!({"email": "\u{1}\u{2}\u{3}", "password": "\u{0}", "mode": "token"}),
        json!({"email": c.email, "password": c.password, "mode": "session\u{0}"}),
        json!({"email": c.email, "password": c.password, "mode": "\u{0}"}),
    ] {
        out.push(case(cat, "POST", "/api/v1/auth/login").json(body.to_string()).cookie(&c.user));
    }
    for (name, address) in [
        ("Mal\u{0}lory", "1 Evil Road"),
        ("Mallory", "1 Evil\u{0}Road"),
        ("\u{7}", "1 Evil Road"),
        ("Mallory\u{1b}[31m", "1 Evil Road"),
        ("Mallory", "\u{8}\u{8}"),
        ("Mal\u{85}lory", "1 Evil Road"),
        ("Mal\nlory", "1 Evil Road"),
    ] {
        out.push(
            case(cat, "POST", "/api/v1/orders")
                .json(json!({"shipping": {"name": name, "address": address}}).to_string())
                .cookie(&c.user)
                .key(keys.next())
                .status(400),
        );
    }
    out.push(
        case(cat, "POST", "/api/v1/orders").json(SHIP).cookie(&c.user).key("key\twith\ttabs").status(400),
    );
    out.push(case(cat, "POST", "/api/v1/orders").json(SHIP).cookie(&c.user).key(b"key\xff\xfe").status(400));
    for path in [
        "/api/v1/products/%00",
        "/api/v1/products/banana%00",
        "/api/v1/products/%0d%0aX-Injected:%201",
        "/api/v1/products/%1b%5b31m",
        "/api/v1/products/%7f",
        "/api/v1/products/%ff",
    ] {
        out.push(case(cat, "GET", path));
    }
    out.push(case(cat, "PUT", "/api/v1/cart/items/1%00").json(r#"{"quantity":5}"#).cookie(&c.user));
    out.push(case(cat, "DELETE", "/api/v1/cart/items/%00").cookie(&c.user));
    out.push(case(cat, "DELETE", "/api/v1/cart/items/1%0a").cookie(&c.user));
    out.push(case(cat, "GET", "/api/v1/orders/1%00").cookie(&c.user));
    for path in ["/products/%00", "/products/%0a", "/%00", "/products/%ff%fe"] {
        out.push(case(cat, "GET", path).any());
    }
    out.push(case(cat, "GET", "/orders/%00").cookie(&c.user).any());
    for query in ["q=%00", "category=%00", "sort=name%00", "q=ba%00nana"] {
        out.push(case(cat, "GET", format!("/api/v1/products?{query}")).status(400));
    }
    out.push(case(cat, "GET", "/api/v1/products?q=%01%02%03%1b%5b31m").any());
    out.push(case(cat, "GET", "/?q=%00").any());
    out.push(case(cat, "GET", "/?category=%00%0a").any());
    out.push(case(cat, "POST", "/fn/catalog/product").form("slug=%00"));
    out.push(case(cat, "POST", "/fn/cart/add").form("product_id=%00&quantity=1").cookie(&c.user));
    out.push(case(cat, "POST", "/fn/cart/add").form("product_id=1&quantity=1%00").cookie(&c.guest));
    out.push(case(cat, "POST", "/fn/auth/login").form("email=%00&password=%00&mode=token"));
    out.push(
        case(cat, "POST", "/fn/orders/place")
            .form(format!("name=Mal%00lory&address=1+Evil+Road&idempotency_key={}", keys.next()))
            .cookie(&c.user),
    );
    out.push(
        case(cat, "POST", "/fn/orders/place")
            .form(format!("name=%07&address=1+Evil+Road&idempotency_key={}", keys.next()))
            .cookie(&c.user),
    );
    out.push(
        case(cat, "POST", "/fn/orders/place")
            .form("name=Mallory&address=1+Evil+Road&idempotency_key=a%00b")
            .cookie(&c.user),
    );
    out.push(
        case(cat, "POST", "/fn/auth/register")
            .form("email=n%00@example.com&password=correct+horse+battery&name=N&mode=session"),
    );
}

fn unknown_ids(c: &Creds, out: &mut Vec<Case>) {
    let cat = "unknown_ids";
    out.push(case(cat, "GET", "/api/v1/products/no-such-product").status(404));
    out.push(case(cat, "GET", "/api/v1/products/BANANA").any());
    out.push(case(cat, "GET", "/api/v1/products/banana%2F..%2Fapple"));
    out.push(case(cat, "GET", format!("/api/v1/products/{}", "a".repeat(5000))));
    out.push(case(cat, "GET", "/api/v1/products/%E2%98%83").status(404));
    out.push(case(cat, "GET", "/api/v1/products/%27%20OR%20%271%27%3D%271").status(404));
    out.push(
        case(cat, "POST", "/api/v1/cart/items")
            .json(r#"{"product_id":999999,"quantity":1}"#)
            .bearer(&c.token)
            .status(404),
    );
    out.push(
        case(cat, "POST", "/api/v1/cart/items")
            .json(r#"{"product_id":999999,"quantity":1}"#)
            .cookie(&c.guest)
            .status(404),
    );
    out.push(
        case(cat, "PUT", "/api/v1/cart/items/999999").json(r#"{"quantity":1}"#).bearer(&c.token).status(404),
    );
    out.push(case(cat, "DELETE", "/api/v1/cart/items/999999").cookie(&c.guest).status(404));
    out.push(case(cat, "GET", format!("/api/v1/orders/{}", c.other_order)).cookie(&c.user).status(404));
    out.push(case(cat, "GET", format!("/api/v1/orders/{}", c.other_order)).bearer(&c.token).status(404));
    out.push(case(cat, "GET", format!("/api/v1/orders/{}", c.own_order)).bearer(&c.other_token).status(404));
    out.push(case(cat, "GET", format!("/api/v1/orders/{}", c.own_order + 1000)).bearer(&c.token).status(404));
    out.push(case(cat, "GET", format!("/api/v1/orders/{}", c.own_order)).cookie(&c.guest).status(401));
    out.push(case(cat, "GET", "/products/no-such-product").any());
    out.push(case(cat, "GET", "/orders/999999").cookie(&c.user).any());
    out.push(case(cat, "GET", format!("/orders/{}", c.other_order)).cookie(&c.user).any());
    out.push(case(cat, "GET", "/orders/abc").cookie(&c.user).any());
    out.push(case(cat, "GET", "/orders/-1").cookie(&c.user).any());
    out.push(case(cat, "POST", "/fn/catalog/product").form("slug=no-such-product"));
    out.push(case(cat, "POST", "/fn/orders/get").form(format!("id={}", c.other_order)).cookie(&c.user));
    out.push(case(cat, "POST", "/fn/orders/get").form("id=999999").cookie(&c.user));
    out.push(case(cat, "POST", "/fn/cart/add").form("product_id=999999&quantity=1").cookie(&c.user));
    out.push(case(cat, "POST", "/fn/cart/set").form("product_id=999999&quantity=1").cookie(&c.user));
    out.push(case(cat, "POST", "/fn/cart/remove").form("product_id=999999").cookie(&c.user));
    for path in [
        "/api/v1/admin",
        "/api/v1/users",
        "/api/v2/products",
        "/api/",
        "/api/v1",
        "/api/v1/",
        "/api/v1/products/banana/extra",
        "/api/v1/cart/items/1/2",
        "/api/v1/orders/1/lines",
        "/api/v1/../healthz",
        "/api/v1/%2e%2e/healthz",
    ] {
        out.push(case(cat, "GET", path).cookie(&c.user));
    }
    for path in ["/fn/", "/fn/does/not/exist", "/fn/cart", "/fn/cart/add/extra", "/fn/CART/ADD"] {
        out.push(case(cat, "POST", path).form("product_id=1&quantity=1").cookie(&c.user));
    }
}

fn huge_queries(c: &Creds, out: &mut Vec<Case>) {
    let cat = "huge_query";
    let big = |ch: &str| ch.repeat(40_000);
    for (name, fill) in [("q", "a"), ("category", "c"), ("sort", "s"), ("page", "9"), ("per_page", "1")] {
        out.push(case(cat, "GET", format!("/api/v1/products?{name}={}", big(fill))));
    }
    let many: Vec<String> = (0..4000).map(|i| format!("p{i}={i}")).collect();
    out.push(case(cat, "GET", format!("/api/v1/products?{}", many.join("&"))).any());
    out.push(case(cat, "GET", "/api/v1/products?q=%ff%fe").any());
    for query in
        ["q=%", "q=%zz", "q=a&q=b", "page[]=1", "q[a][b]=c", "=&&&==", "q=%e2%98", "sort=name&sort=price_asc"]
    {
        out.push(case(cat, "GET", format!("/api/v1/products?{query}")).any());
    }
    out.push(case(cat, "GET", format!("/api/v1/products?q={}", "%E2%98%83".repeat(3000))).any());
    for uri in [
        format!("/?q={}", big("a")),
        format!("/?page={}", "9".repeat(30_000)),
        "/?page=-1".to_string(),
        "/?page=99999999999999999999".to_string(),
        "/?sort=%00".to_string(),
        format!("/products/banana?x={}", big("a")),
        format!("/login?next={}", big("a")),
        "/login?next=https://evil.example/".to_string(),
        "/login?next=//evil.example".to_string(),
        "/register?x=%ff".to_string(),
        format!("/auth?x={}", big("x")),
    ] {
        out.push(case(cat, "GET", uri).any());
    }
    for path in [
        "/cart",
        "/orders",
        "/checkout",
        "/api/v1/cart",
        "/api/v1/orders",
        "/api/v1/me",
        "/api/v1/categories",
    ] {
        out.push(case(cat, "GET", format!("{path}?x={}", big("x"))).cookie(&c.user).any());
    }
    out.push(
        case(cat, "POST", format!("/fn/catalog/products?x={}", big("x")))
            .form("query[q]=&query[category]=&query[sort]=name&query[page]=1&query[per_page]=10")
            .any(),
    );
    out.push(case(cat, "POST", "/fn/catalog/products").form(format!(
        "query[q]={}&query[category]=&query[sort]=name&query[page]=1&query[per_page]=1",
        big("a")
    )));
}

fn oversized(c: &Creds, keys: &Keys, out: &mut Vec<Case>) {
    let cat = "oversized";
    let pad = "x".repeat(100 * 1024);
    let add = format!(r#"{{"product_id":1,"quantity":1,"padding":"{pad}"}}"#);
    out.push(case(cat, "POST", "/api/v1/cart/items").json(&add).content_length().cookie(&c.user).status(413));
    out.push(case(cat, "POST", "/api/v1/cart/items").json(&add).cookie(&c.user).status(413));
    let name = "n".repeat(70 * 1024);
    out.push(
        case(cat, "POST", "/api/v1/auth/register")
            .json(
                json!({"email": "big@example.com", "password": "correct horse battery", "name": name})
                    .to_string(),
            )
            .content_length()
            .status(413),
    );
    let password = "p".repeat(1024 * 1024);
    out.push(
        case(cat, "POST", "/api/v1/auth/login")
            .json(json!({"email": c.email, "password": password, "mode": "session"}).to_string())
            .cookie(&c.user)
            .status(413),
    );
    out.push(
        case(cat, "PUT", "/api/v1/cart/items/1")
            .json(format!(r#"{{"quantity":5,"padding":"{}"}}"#, "x".repeat(200 * 1024)))
            .content_length()
            .cookie(&c.user)
            .status(413),
    );
    out.push(
        case(cat, "POST", "/api/v1/orders")
            .json(json!({"shipping": {"name": "Mallory", "address": pad}}).to_string())
            .cookie(&c.user)
            .key(keys.next())
            .status(413),
    );
    let lines = vec![r#"{"product_id":1,"quantity":1}"#; 5000].join(",");
    out.push(
        case(cat, "POST", "/api/v1/cart/merge")
            .json(format!(r#"{{"lines":[{lines}]}}"#))
            .content_length()
            .cookie(&c.user)
            .status(413),
    );
    // Just over 64 KiB.
    let just_over = format!(r#"{{"product_id":1,"quantity":1,"p":"{}"}}"#, "x".repeat(64 * 1024 - 30));
    assert!(just_over.len() > 64 * 1024);
    out.push(case(cat, "POST", "/api/v1/cart/items").json(&just_over).cookie(&c.guest).status(413));
    out.push(
        case(cat, "POST", "/fn/cart/add")
            .form(format!("product_id=1&quantity=1&x={pad}"))
            .content_length()
            .cookie(&c.guest)
            .status(413),
    );
    out.push(
        case(cat, "POST", "/fn/cart/add")
            .form(format!("product_id=1&quantity=1&x={pad}"))
            .cookie(&c.user)
            .status(413),
    );
    out.push(
        case(cat, "POST", "/fn/cart/merge")
            .json(format!(r#"{{"lines":[{lines}]}}"#))
            .cookie(&c.user)
            .status(413),
    );
    out.push(
        case(cat, "POST", "/fn/orders/place")
            .form(format!("name=Mallory&address={pad}&idempotency_key={}", keys.next()))
            .content_length()
            .cookie(&c.user)
            .status(413),
    );
    out.push(
        case(cat, "POST", "/api/v1/cart/items")
            .json(ADD)
            .header("content-length", "99999999999")
            .cookie(&c.user)
            .status(413),
    );
    // A Content-Length that lies or cannot be read.
    out.push(
        case(cat, "POST", "/api/v1/cart/items")
            .json(r#"{"product_id":1,"quantity":0}"#)
            .header("content-length", "abc")
            .cookie(&c.user),
    );
    out.push(
        case(cat, "POST", "/api/v1/cart/items")
            .json(r#"{"product_id":1,"quantity":0}"#)
            .header("content-length", "5")
            .cookie(&c.user),
    );
    out.push(case(cat, "GET", "/api/v1/products").body(&pad).content_length().any());
}

fn content_types(c: &Creds, keys: &Keys, out: &mut Vec<Case>) {
    let cat = "content_type";
    for content_type in [
        None,
        Some("text/plain"),
        Some("text/plain;charset=UTF-8"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        Some("application/xml"),
        Some("application/jsonx"),
        Some("text/json"),
        Some(""),
        Some("*/*"),
    ] {
        let mut entry = case(cat, "POST", "/api/v1/cart/items").body(ADD).cookie(&c.user);
        if let Some(content_type) = content_type {
            entry = entry.header("content-type", content_type);
        }
        out.push(entry);
    }
    out.push(
        case(cat, "POST", "/api/v1/cart/items").body(ADD).header("content-type", b"\xff\xfe").cookie(&c.user),
    );
    // UTF-16, as its charset says: still not JSON the server can read.
    let utf16: Vec<u8> = ADD.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
    out.push(
        case(cat, "POST", "/api/v1/cart/items")
            .body(utf16)
            .header("content-type", "application/json; charset=utf-16")
            .cookie(&c.user),
    );
    out.push(
        case(cat, "POST", "/api/v1/orders")
            .body(SHIP)
            .header("content-type", "text/plain")
            .cookie(&c.user)
            .key(keys.next()),
    );
    out.push(
        case(cat, "POST", "/api/v1/auth/login")
            .body(json!({"email": c.email, "password": c.password, "mode": "session"}).to_string())
            .header("content-type", "text/plain")
            .cookie(&c.user),
    );
    out.push(
        case(cat, "POST", "/api/v1/auth/register")
            .body(r#"{"email":"plain@example.com","password":"correct horse battery","name":"Plain"}"#)
            .header("content-type", "text/plain"),
    );
    out.push(
        case(cat, "POST", "/api/v1/auth/switch")
            .body(r#"{"mode":"token"}"#)
            .header("content-type", "text/plain")
            .cookie(&c.user),
    );
    out.push(
        case(cat, "POST", "/api/v1/cart/merge")
            .body(MERGE)
            .header("content-type", "text/plain")
            .cookie(&c.user),
    );
    out.push(case(cat, "PUT", "/api/v1/cart/items/1").body(r#"{"quantity":9}"#).cookie(&c.user));
    // Server functions sent what they do not read.
    out.push(case(cat, "POST", "/fn/cart/add").json(ADD).cookie(&c.guest));
    out.push(
        case(cat, "POST", "/fn/cart/add")
            .body("--x\r\nContent-Disposition: form-data; name=\"product_id\"\r\n\r\n1\r\n--x--\r\n")
            .header("content-type", "multipart/form-data; boundary=x")
            .cookie(&c.guest),
    );
    out.push(
        case(cat, "POST", "/fn/cart/merge")
            .form("lines[0][product_id]=1&lines[0][quantity]=1")
            .cookie(&c.user),
    );
    out.push(
        case(cat, "POST", "/fn/orders/place")
            .json(
                json!({"name": "Mallory", "address": "1 Evil Road", "idempotency_key": keys.next()})
                    .to_string(),
            )
            .cookie(&c.user),
    );
}

fn garbage_cookies(c: &Creds, keys: &Keys, out: &mut Vec<Case>) {
    let cat = "cookies";
    let session_id = c.guest.split_once('=').map(|(_, v)| v.to_string()).unwrap_or_default();
    let mut changed = session_id.clone();
    let last = changed.pop().unwrap_or('a');
    changed.push(if last == 'A' { 'B' } else { 'A' });
    let many: Vec<String> = (0..800).map(|i| format!("c{i}={i}")).collect();
    let garbage: Vec<Vec<u8>> = vec![
        b"shop_session=garbage".to_vec(),
        b"shop_session=".to_vec(),
        format!("shop_session={}", "A".repeat(10 * 1024)).into_bytes(),
        b"shop_session=%00%01%02".to_vec(),
        format!("shop_session={changed}").into_bytes(),
        b"shop_session=\"quoted\"".to_vec(),
        b"shop_session=a; shop_session=b".to_vec(),
        b"shop_session=\xff\xfe\x80".to_vec(),
        b"=abc".to_vec(),
        b"shop_session".to_vec(),
        many.join("; ").into_bytes(),
        b"shop_session=../../etc/passwd".to_vec(),
        b"shop_session=' OR '1'='1".to_vec(),
        format!("shop_session={}", session_id.to_uppercase()).into_bytes(),
    ];
    for (i, cookie) in garbage.iter().enumerate() {
        out.push(case(cat, "GET", "/api/v1/cart").header("cookie", cookie).any());
        let me = case(cat, "GET", "/api/v1/me").header("cookie", cookie);
        out.push(if cookie.len() > 8 * 1024 { me } else { me.status(401) });
        out.push(case(cat, "GET", if i % 2 == 0 { "/" } else { "/cart" }).header("cookie", cookie).any());
        out.push(case(cat, "POST", "/api/v1/orders").json(SHIP).key(keys.next()).header("cookie", cookie));
        out.push(
            case(cat, "POST", "/api/v1/cart/items")
                .json(r#"{"product_id":1,"quantity":0}"#)
                .header("cookie", cookie),
        );
        if i % 3 == 0 {
            out.push(case(cat, "POST", "/api/v1/auth/logout-all").header("cookie", cookie));
            out.push(
                case(cat, "POST", "/api/v1/auth/switch").json(r#"{"mode":"token"}"#).header("cookie", cookie),
            );
            out.push(case(cat, "POST", "/fn/cart/get").form("").header("cookie", cookie).any());
        }
    }
    // A real cookie beside garbage ones: reads only.
    out.push(case(cat, "GET", "/api/v1/me").cookie(&format!("{}; shop_session=garbage", c.user)).any());
    out.push(case(cat, "GET", "/api/v1/me").cookie(&format!("shop_session=garbage; {}", c.user)).any());
    out.push(case(cat, "GET", "/api/v1/cart").cookie(&format!("{}; {}", c.guest, c.user)).any());
    out.push(case(cat, "GET", "/api/v1/cart").cookie(&format!("{};{}", c.user, "x".repeat(3000))).any());
}

/// Authorization headers that are not a valid credential, each with a label.
fn invalid_authorizations(c: &Creds) -> Vec<(&'static str, Vec<u8>)> {
    use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
    let now = unix_now();
    let uid = c.user_id.to_string();
    let secret = c.secret.as_bytes();
    let claims =
        |sub: &str, iat: i64, exp: i64| json!({"sub": sub, "iat": iat, "exp": exp, "jti": "hostile-jti"});
    let sign = |algorithm: Algorithm, claims: &Value, key: &[u8]| {
        encode(&Header::new(algorithm), claims, &EncodingKey::from_secret(key).expect("an HMAC key"))
            .expect("a signed token")
    };
    let b64 = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
    let good = claims(&uid, now, now + 3600);
    let none_header = b64(br#"{"alg":"none","typ":"JWT"}"#);
    let parts: Vec<&str> = c.token.split('.').collect();
    assert_eq!(parts.len(), 3, "a JWT");
    let mut payload: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    payload["sub"] = json!(c.other_id.to_string());
    let tampered = format!("{}.{}.{}", parts[0], b64(payload.to_string().as_bytes()), parts[2]);
    let bearer = |token: String| format!("Bearer {token}").into_bytes();
    vec![
        ("garbage", bearer("garbage".into())),
        ("empty", b"Bearer ".to_vec()),
        ("scheme only", b"Bearer".to_vec()),
        ("10 KB", bearer("A".repeat(10 * 1024))),
        ("a.b.c", bearer("a.b.c".into())),
        ("dots", bearer("....".into())),
        ("alg none", bearer(format!("{none_header}.{}.", b64(good.to_string().as_bytes())))),
        (
            "alg none, no signature part",
            bearer(format!("{none_header}.{}", b64(good.to_string().as_bytes()))),
        ),
        ("alg none, the real claims", bearer(format!("{none_header}.{}.", parts[1]))),
        ("alg none, the real signature", bearer(format!("{none_header}.{}.{}", parts[1], parts[2]))),
        ("HS512 with the right secret", bearer(sign(Algorithm::HS512, &good, secret))),
        ("HS384 with the right secret", bearer(sign(Algorithm::HS384, &good, secret))),
        ("HS256 with a wrong secret", bearer(sign(Algorithm::HS256, &good, b"not-the-secret"))),
        ("expired", bearer(sign(Algorithm::HS256, &claims(&uid, now - 7200, now - 3600), secret))),
        (
            "issued in the future",
            bearer(sign(Algorithm::HS256, &claims(&uid, now + 86_400, now + 90_000), secret)),
        ),
        ("unknown user", bearer(sign(Algorithm::HS256, &claims("999999", now, now + 3600), secret))),
        ("non-numeric sub", bearer(sign(Algorithm::HS256, &claims("admin", now, now + 3600), secret))),
        (
            "overflowing sub",
            bearer(sign(Algorithm::HS256, &claims("99999999999999999999", now, now + 3600), secret)),
        ),
        ("negative sub", bearer(sign(Algorithm::HS256, &claims("-1", now, now + 3600), secret))),
        ("no exp", bearer(sign(Algorithm::HS256, &json!({"sub": uid, "iat": now, "jti": "x"}), secret))),
        (
            "no jti",
            bearer(sign(Algorithm::HS256, &json!({"sub": uid, "iat": now, "exp": now + 3600}), secret)),
        ),
        (
            "exp as text",
            bearer(sign(
                Algorithm::HS256,
                &json!({"sub": uid, "iat": now, "exp": "tomorrow", "jti": "x"}),
                secret,
            )),
        ),
        (
            "sub as a number",
            bearer(sign(
                Algorithm::HS256,
                &json!({"sub": c.user_id, "iat": now, "exp": now + 3600, "jti": "x"}),
                secret,
            )),
        ),
        ("tampered sub", bearer(tampered)),
        ("truncated", bearer(c.token[..c.token.len() - 5].to_string())),
        ("header only", bearer(parts[0].to_string())),
        ("two parts", bearer(format!("{}.{}", parts[0], parts[1]))),
        ("signed out (revoked)", bearer(c.revoked.clone())),
        ("Basic", b"Basic dXNlcjpjb3JyZWN0IGhvcnNl".to_vec()),
        ("Token scheme", format!("Token {}", c.token).into_bytes()),
        ("obs-text after the token", [bearer(c.token.clone()), b"\xff\xfe".to_vec()].concat()),
        ("a second word", bearer(format!("{} extra", c.token))),
        ("two tokens", bearer(format!("{}, Bearer garbage", c.token))),
    ]
}

fn bearer_tokens(c: &Creds, keys: &Keys, out: &mut Vec<Case>) {
    let cat = "bearer";
    let shop = |method: &str, path: &str| case(cat, method, path.to_string());
    // Writes that, carried out with the cookie beside the header, would change something.
    let writes: Vec<Box<dyn Fn() -> Case + '_>> = vec![
        Box::new(|| shop("POST", "/api/v1/cart/items").json(ADD).cookie(&c.user)),
        Box::new(|| shop("DELETE", "/api/v1/cart/items/1").cookie(&c.user)),
        Box::new(|| shop("POST", "/api/v1/orders").json(SHIP).key(keys.next()).cookie(&c.user)),
        Box::new(|| shop("POST", "/api/v1/auth/logout").cookie(&c.user)),
        Box::new(|| shop("POST", "/api/v1/auth/logout-all").cookie(&c.user)),
        Box::new(|| shop("POST", "/api/v1/auth/switch").json(r#"{"mode":"token"}"#).cookie(&c.user)),
        Box::new(|| shop("PUT", "/api/v1/cart/items/2").json(r#"{"quantity":7}"#).cookie(&c.guest)),
        Box::new(|| shop("POST", "/fn/cart/add").form("product_id=1&quantity=1").cookie(&c.user)),
        Box::new(|| shop("POST", "/fn/auth/logout").form("").cookie(&c.user)),
        Box::new(|| shop("POST", "/api/v1/cart/merge").json(MERGE).cookie(&c.user)),
        Box::new(|| shop("GET", &format!("/api/v1/orders/{}", c.own_order)).cookie(&c.user)),
        Box::new(|| {
            shop("POST", "/fn/orders/place")
                .form(format!("name=Mallory&address=1+Evil+Road&idempotency_key={}", keys.next()))
                .cookie(&c.user)
        }),
        Box::new(|| shop("POST", "/fn/auth/guest_export").form("").cookie(&c.guest)),
        Box::new(|| shop("POST", "/fn/auth/switch").form("mode=token").cookie(&c.user)),
    ];
    for (i, (label, authorization)) in invalid_authorizations(c).into_iter().enumerate() {
        // A 10 KB header may be refused as too large (431) before it is read.
        let expect = |entry: Case| if authorization.len() > 8 * 1024 { entry } else { entry.status(401) };
        out.push(expect(shop("GET", "/api/v1/me").header("authorization", &authorization).note(label)));
        for target in [i % writes.len(), (i + 5) % writes.len(), (i + 9) % writes.len()] {
            out.push(expect(writes[target]().header("authorization", &authorization).note(label)));
        }
    }
    // The header is let through the cross-site check (a browser cannot add it), then refused.
    out.push(
        shop("POST", "/api/v1/cart/items")
            .json(ADD)
            .cookie(&c.user)
            .bearer("garbage")
            .header("origin", "https://evil.example")
            .header("sec-fetch-site", "cross-site")
            .status(401),
    );
    // Another user's valid token decides alone: the user's order is not theirs to see, and
    // removing bananas from their own (empty) cart leaves the user's cart alone.
    out.push(
        shop("GET", &format!("/api/v1/orders/{}", c.own_order))
            .cookie(&c.user)
            .bearer(&c.other_token)
            .status(404),
    );
    out.push(shop("DELETE", "/api/v1/cart/items/1").cookie(&c.user).bearer(&c.other_token).any());
    // Spellings a server may or may not accept: reads only.
    for authorization in [
        format!("bearer {}", c.token),
        format!("BEARER {}", c.token),
        format!("Bearer  {}", c.token),
        format!("Bearer {} ", c.token),
    ] {
        out.push(shop("GET", "/api/v1/me").header("authorization", &authorization).any());
        out.push(shop("GET", "/api/v1/cart").header("authorization", &authorization).any());
    }
    // Lowercase scheme on writes that are refused anyway.
    out.push(
        shop("POST", "/api/v1/cart/items")
            .json(r#"{"product_id":1,"quantity":0}"#)
            .header("authorization", format!("bearer {}", c.token)),
    );
    out.push(
        shop("POST", "/api/v1/orders")
            .json(r#"{"shipping":{"name":"","address":""}}"#)
            .key(keys.next())
            .header("authorization", format!("bearer {}", c.token)),
    );
    out.push(
        shop("GET", "/api/v1/me")
            .header("authorization", format!("Bearer {}", c.token))
            .header("authorization", "Bearer garbage")
            .any(),
    );
    out.push(
        shop("GET", "/api/v1/me")
            .header("authorization", "Bearer garbage")
            .header("authorization", format!("Bearer {}", c.token))
            .any(),
    );
}

fn cross_site(c: &Creds, keys: &Keys, out: &mut Vec<Case>) {
    let cat = "cross_site";
    let evil = |method: &str, path: &str| {
        case(cat, method, path.to_string())
            .header("origin", "https://evil.example")
            .header("sec-fetch-site", "cross-site")
            .status(403)
    };
    let login = json!({"email": c.email, "password": c.password, "mode": "session"}).to_string();
    let login_form = format!("email={}&password={}&mode=session", enc(&c.email), enc(&c.password));
    let entries = vec![
        evil("POST", "/api/v1/cart/items").json(ADD).cookie(&c.user),
        evil("PUT", "/api/v1/cart/items/1").json(r#"{"quantity":9}"#).cookie(&c.user),
        evil("DELETE", "/api/v1/cart/items/1").cookie(&c.user),
        evil("POST", "/api/v1/cart/merge").json(MERGE).cookie(&c.user),
        evil("POST", "/api/v1/orders").json(SHIP).key(keys.next()).cookie(&c.user),
        evil("POST", "/api/v1/auth/logout").cookie(&c.user),
        evil("POST", "/api/v1/auth/logout-all").cookie(&c.user),
        evil("POST", "/api/v1/auth/switch").json(r#"{"mode":"token"}"#).cookie(&c.user),
        evil("POST", "/api/v1/auth/login").json(&login).cookie(&c.guest),
        evil("POST", "/api/v1/auth/register")
            .json(r#"{"email":"forged@example.com","password":"correct horse battery","name":"F"}"#),
        evil("POST", "/fn/cart/add").form("product_id=1&quantity=1").cookie(&c.user),
        evil("POST", "/fn/cart/set").form("product_id=1&quantity=9").cookie(&c.user),
        evil("POST", "/fn/cart/remove").form("product_id=1").cookie(&c.user),
        evil("POST", "/fn/auth/logout").form("").cookie(&c.user),
        evil("POST", "/fn/auth/logout_all").form("").cookie(&c.user),
        evil("POST", "/fn/auth/login").form(&login_form).cookie(&c.guest),
        evil("POST", "/fn/orders/place")
            .form(format!("name=Mallory&address=1+Evil+Road&idempotency_key={}", keys.next()))
            .cookie(&c.user),
        evil("POST", "/api/v1/cart/items").json(r#"{"product_id":2,"quantity":1}"#).cookie(&c.guest),
        evil("PUT", "/api/v1/cart/items/2").json(r#"{"quantity":9}"#).cookie(&c.guest),
        evil("POST", "/fn/auth/guest_export").form("").cookie(&c.guest),
        evil("POST", "/fn/auth/guest_import").json(MERGE).cookie(&c.guest),
        case(cat, "POST", "/api/v1/cart/items")
            .json(ADD)
            .cookie(&c.user)
            .header("origin", "null")
            .status(403),
        case(cat, "POST", "/api/v1/orders")
            .json(SHIP)
            .key(keys.next())
            .cookie(&c.user)
            .header("sec-fetch-site", "same-site")
            .status(403),
        case(cat, "POST", "/api/v1/auth/logout")
            .cookie(&c.user)
            .header("origin", "https://evil.example")
            .status(403),
        case(cat, "DELETE", "/api/v1/cart/items/1")
            .cookie(&c.user)
            .header("origin", "http://localhost.evil.example")
            .status(403),
        case(cat, "POST", "/api/v1/auth/logout-all")
            .cookie(&c.user)
            .header("origin", b"https://\xffevil")
            .status(403),
        case(cat, "POST", "/api/v1/auth/switch")
            .json(r#"{"mode":"token"}"#)
            .cookie(&c.user)
            .header("sec-fetch-site", "CROSS-SITE")
            .status(403),
    ];
    out.extend(entries);
}

fn static_paths(out: &mut Vec<Case>) {
    let cat = "static_paths";
    let refused = [
        "/pkg/../Cargo.toml".to_string(),
        "/pkg/../../Cargo.toml".to_string(),
        "/pkg/../../secret.txt".to_string(),
        "/pkg/%2e%2e/Cargo.toml".to_string(),
        "/pkg/%2e%2e/%2e%2e/Cargo.toml".to_string(),
        "/pkg/%2e%2e%2f%2e%2e%2fsecret.txt".to_string(),
        "/pkg/%252e%252e/%252e%252e/secret.txt".to_string(),
        "/pkg/%252e%252e%252f%252e%252e%252fsecret.txt".to_string(),
        "/pkg/..%5c..%5csecret.txt".to_string(),
        "/pkg/..\\..\\secret.txt".to_string(),
        "/pkg\\..\\..\\secret.txt".to_string(),
        "/pkg/%5c..%5c..%5csecret.txt".to_string(),
        "/pkg/....//....//secret.txt".to_string(),
        "/pkg/..;/..;/secret.txt".to_string(),
        "/pkg/%c0%ae%c0%ae/%c0%ae%c0%ae/secret.txt".to_string(),
        "/pkg/..%00/secret.txt".to_string(),
        "/pkg/shop.js%00.txt".to_string(),
        "/pkg/%00".to_string(),
        "/../secret.txt".to_string(),
        "/%2e%2e/secret.txt".to_string(),
        "/%2e%2e/%2e%2e/Cargo.toml".to_string(),
        "/public/../../secret.txt".to_string(),
        "/public/%2e%2e/%2e%2e/secret.txt".to_string(),
        "/images/../../secret.txt".to_string(),
        "/pkg//etc/passwd".to_string(),
        "/pkg/%2fetc%2fpasswd".to_string(),
        "//etc/passwd".to_string(),
        "/pkg/../../../../../../../../../../etc/passwd".to_string(),
        format!("/pkg/{}etc/passwd", "%2e%2e/".repeat(50)),
        format!("/pkg/{}", "a".repeat(300)),
        format!("/pkg/{}", "a/".repeat(2000)),
        format!("/{}", "x".repeat(60_000)),
        "/.git/config".to_string(),
        "/.env".to_string(),
        "/Cargo.toml".to_string(),
        "/secret.txt".to_string(),
        "/src/main.rs".to_string(),
        "/pkg/shop.js/..%2f..%2f..%2fsecret.txt".to_string(),
        "/pkg/%ff%fe".to_string(),
        "/pkg/%e2%80%a5/secret.txt".to_string(),
        "/pkg/\u{2025}/secret.txt".to_string(),
    ];
    for path in refused {
        out.push(case(cat, "GET", path));
    }
    for path in [
        "/pkg/shop.js",
        "/pkg/shop.js/",
        "/pkg/shop.js?../../secret.txt",
        "/pkg",
        "/pkg/",
        "/public/images/products/banana.svg",
        "/favicon.ico",
    ] {
        out.push(case(cat, "GET", path).any());
    }
    out.push(case(cat, "GET", "/pkg/shop.js").header("range", "bytes=999999-").any());
    let ranges: Vec<String> = (0..500).map(|i| format!("{i}-{i}")).collect();
    out.push(case(cat, "GET", "/pkg/shop.js").header("range", format!("bytes={}", ranges.join(","))).any());
    out.push(case(cat, "GET", "/pkg/shop.js").header("range", "bytes=-0").any());
    out.push(case(cat, "GET", "/pkg/shop.js").header("if-modified-since", "garbage").any());
    out.push(case(cat, "GET", "/pkg/shop.js").header("accept-encoding", "br;q=garbage, gzip;q=-1, *").any());
    out.push(case(cat, "POST", "/pkg/shop.js").body("x").any());
    out.push(case(cat, "DELETE", "/pkg/shop.js").any());
}

fn methods(c: &Creds, keys: &Keys, out: &mut Vec<Case>) {
    let cat = "methods";
    let own = format!("/api/v1/orders/{}", c.own_order);
    let login = json!({"email": c.email, "password": c.password, "mode": "session"}).to_string();
    let api: Vec<(&str, &[&str], String)> = vec![
        ("/api/v1/products", &["GET"], String::new()),
        ("/api/v1/products/banana", &["GET"], String::new()),
        ("/api/v1/categories", &["GET"], String::new()),
        ("/api/v1/cart", &["GET"], ADD.to_string()),
        ("/api/v1/cart/items", &["POST"], ADD.to_string()),
        ("/api/v1/cart/items/1", &["PUT", "DELETE"], r#"{"quantity":9}"#.to_string()),
        ("/api/v1/cart/merge", &["POST"], MERGE.to_string()),
        (
            "/api/v1/auth/register",
            &["POST"],
            r#"{"email":"method@example.com","password":"correct horse battery","name":"M"}"#.to_string(),
        ),
        ("/api/v1/auth/login", &["POST"], login),
        ("/api/v1/auth/logout", &["POST"], String::new()),
        ("/api/v1/auth/logout-all", &["POST"], String::new()),
        ("/api/v1/auth/switch", &["POST"], r#"{"mode":"token"}"#.to_string()),
        ("/api/v1/me", &["GET"], String::new()),
        ("/api/v1/orders", &["GET", "POST"], SHIP.to_string()),
        (own.as_str(), &["GET"], String::new()),
    ];
    for (path, allowed, body) in &api {
        for method in ["GET", "POST", "PUT", "PATCH", "DELETE", "TRACE", "PROPFIND", "FOO"] {
            if allowed.contains(&method) {
                continue;
            }
            out.push(case(cat, method, *path).json(body).cookie(&c.user).key(keys.next()));
        }
        out.push(case(cat, "OPTIONS", *path).cookie(&c.user).any());
        let head = case(cat, "HEAD", *path).cookie(&c.user);
        out.push(if allowed.contains(&"GET") { head.any() } else { head });
    }
    for page in ["/", "/products/banana", "/cart", "/checkout", "/orders", "/login", "/register", "/auth"] {
        for method in ["POST", "PUT", "DELETE", "PATCH", "FOO"] {
            out.push(case(cat, method, page).form("product_id=1&quantity=1").cookie(&c.user));
        }
        out.push(case(cat, "HEAD", page).cookie(&c.user).any());
    }
    out.push(case(cat, "POST", format!("/orders/{}", c.own_order)).form("x=1").cookie(&c.user));
    out.push(case(cat, "DELETE", format!("/orders/{}", c.own_order)).cookie(&c.user));
    let server_fns = [
        ("catalog/products", "query[q]=&query[category]=&query[sort]=name&query[page]=1&query[per_page]=10"),
        ("catalog/categories", ""),
        ("catalog/product", "slug=banana"),
        ("auth/me", ""),
        ("auth/login", "email=a%40b.c&password=x&mode=session"),
        ("auth/register", "email=fnm%40example.com&password=correct+horse+battery&name=M&mode=session"),
        ("auth/logout", ""),
        ("auth/logout_all", ""),
        ("auth/switch", "mode=token"),
        ("auth/guest_export", ""),
        ("auth/guest_import", ""),
        ("cart/merge", ""),
        ("auth/inspect", ""),
        ("orders/key", ""),
        ("orders/place", "name=Mallory&address=1+Evil+Road&idempotency_key=method-1"),
        ("orders/list", ""),
        ("orders/get", "id=1"),
        ("cart/get", ""),
        ("cart/add", "product_id=1&quantity=1"),
        ("cart/set", "product_id=1&quantity=9"),
        ("cart/remove", "product_id=1"),
        ("cart/preview", ""),
    ];
    for (i, (name, args)) in server_fns.iter().enumerate() {
        let path = format!("/fn/{name}");
        out.push(case(cat, "GET", format!("{path}?{args}")).cookie(&c.user));
        let method = ["PUT", "DELETE", "PATCH"][i % 3];
        out.push(case(cat, method, path.clone()).form(*args).cookie(&c.user));
    }
    out.push(case(cat, "POST", "/healthz").json("{}"));
    out.push(case(cat, "DELETE", "/healthz"));
    out.push(case(cat, "HEAD", "/healthz").any());
}

fn server_fn_args(c: &Creds, keys: &Keys, out: &mut Vec<Case>) {
    let cat = "server_fn_args";
    let user = |path: &str, form: &str| case(cat, "POST", path.to_string()).form(form).cookie(&c.user);
    let max = i64::MAX;
    for form in [
        "".to_string(),
        "product_id=1".to_string(),
        "quantity=1".to_string(),
        "product_id=&quantity=".to_string(),
        "product_id=1&quantity=0".to_string(),
        "product_id=1&quantity=-1".to_string(),
        "product_id=1&quantity=100".to_string(),
        "product_id=1&quantity=97".to_string(),
        "product_id=1&quantity=9223372036854775808".to_string(),
        format!("product_id=1&quantity={max}"),
        "product_id=-9223372036854775808&quantity=1".to_string(),
        "product_id=1&quantity=1.5".to_string(),
        "product_id=1&quantity=1e2".to_string(),
        "product_id[]=1&quantity=1".to_string(),
        "product_id[a][b][c][d][e][f][g]=1&quantity=1".to_string(),
        format!("product_id{}=1&quantity=1", "[a]".repeat(3000)),
        "quantity=0&quantity=0&product_id=1".to_string(),
        "%ff%fe=1".to_string(),
        "&&&===".to_string(),
        "product_id=banana&quantity=one".to_string(),
        format!("product_id={SAFFRON}&quantity=1"),
    ] {
        out.push(user("/fn/cart/add", &form));
    }
    for form in [
        "",
        "product_id=1",
        "product_id=1&quantity=100",
        "product_id=1&quantity=-1",
        "product_id=12&quantity=3",
        "product_id=x&quantity=1",
    ] {
        out.push(user("/fn/cart/set", form));
    }
    for form in ["", "product_id=abc", "product_id=0", "product_id=-1", "product_id=99999999999999999999"] {
        out.push(user("/fn/cart/remove", form));
    }
    for body in [
        r#"{"lines":"x"}"#.to_string(),
        r#"{"lines":[{"product_id":1,"quantity":1e999}]}"#.to_string(),
        r#"{"lines":[{"product_id":1,"quantity":1}],"changed":"x"}"#.to_string(),
        format!(r#"{{"lines":[{}]}}"#, vec![r#"{"product_id":1,"quantity":1}"#; 101].join(",")),
    ] {
        out.push(case(cat, "POST", "/fn/cart/preview").json(body));
    }
    // Prices a cart and stores nothing: it may drop lines it cannot price.
    out.push(
        case(cat, "POST", "/fn/cart/preview").json(r#"{"lines":[{"product_id":-1,"quantity":1}]}"#).any(),
    );
    for body in [
        r#"{"lines":[{"product_id":1,"quantity":0}]}"#,
        r#"{"lines":[{"product_id":-1,"quantity":1}]}"#,
        r#"{"lines":[{"product_id":1,"quantity":100}]}"#,
        r#"{"lines":null}"#,
    ] {
        out.push(case(cat, "POST", "/fn/cart/merge").json(body).cookie(&c.user));
        out.push(case(cat, "POST", "/fn/auth/guest_import").json(body).cookie(&c.guest));
    }
    // Signing in and up with what is missing or wrong (a wrong password is one real attempt).
    for form in [
        "".to_string(),
        "email=x".to_string(),
        format!("email={}&password=x&mode=bogus", enc(&c.email)),
        format!("email={}&password=wrong+password&mode=session", enc(&c.email)),
        format!("email={}&password=wrong+password&mode=token&next=https://evil.example/", enc(&c.email)),
        "email[]=a&password[]=b&mode[]=c".to_string(),
    ] {
        out.push(user("/fn/auth/login", &form));
    }
    out.push(
        case(cat, "POST", "/fn/auth/login")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "text/html")
            .header("referer", "/login")
            .body(format!("email={}&password=wrong+password&mode=session&next=//evil.example", enc(&c.email)))
            .cookie(&c.user)
            .any(),
    );
    for form in [
        "".to_string(),
        "email=a%40b.c".to_string(),
        format!(
            "email={}&password=correct+horse+battery&name=Again&mode=session",
            enc(&c.email.to_uppercase())
        ),
        "email=short%40example.com&password=short&name=S&mode=session".to_string(),
        format!("email=long%40example.com&password={}&name=L&mode=session", "p".repeat(129)),
        "email=mode%40example.com&password=correct+horse+battery&name=M&mode=bogus".to_string(),
    ] {
        out.push(case(cat, "POST", "/fn/auth/register").form(form));
    }
    out.push(user("/fn/auth/switch", "mode=bogus"));
    out.push(user("/fn/auth/switch", "mode[]=token"));
    out.push(user("/fn/auth/switch", ""));
    for form in [
        "".to_string(),
        "name=Mallory&address=1+Evil+Road".to_string(),
        "name=&address=&idempotency_key=k1".to_string(),
        format!("name=Mallory&address=1+Evil+Road&idempotency_key={}", "k".repeat(101)),
        "name=Mallory&address=1+Evil+Road&idempotency_key=has+space".to_string(),
        format!("name=Mallory&address=1+Evil+Road&idempotency_key={}&expected_total_cents=abc", keys.next()),
        format!("name=Mallory&address=1+Evil+Road&idempotency_key={}&expected_total_cents=1", keys.next()),
        format!("name={}&address=1+Evil+Road&idempotency_key={}", "n".repeat(101), keys.next()),
        format!("name=Mallory&address={}&idempotency_key={}", "a".repeat(501), keys.next()),
    ] {
        out.push(user("/fn/orders/place", &form));
    }
    for form in ["", "id=abc", "id=", "id=-1", "id=0", "id=99999999999999999999", "id[]=1"] {
        out.push(user("/fn/orders/get", form));
    }
    for form in [
        "query=1",
        "query[page]=abc",
        "query[q]=%00&query[page]=1&query[per_page]=10&query[sort]=name&query[category]=",
    ] {
        out.push(case(cat, "POST", "/fn/catalog/products").form(form));
    }
    out.push(case(cat, "POST", "/fn/catalog/products").form(format!("query{}=1", "[q]".repeat(5000))));
    out.push(case(cat, "POST", "/fn/catalog/product").form(""));
    out.push(case(cat, "POST", "/fn/catalog/product").form("slug[]=banana"));
    out.push(case(cat, "POST", "/fn/catalog/product").form(format!("slug={}", "s".repeat(10_000))));
    // Calls that only read, with garbage: whatever they answer, never a 5xx.
    for path in [
        "/fn/catalog/categories",
        "/fn/auth/me",
        "/fn/auth/inspect",
        "/fn/orders/key",
        "/fn/orders/list",
        "/fn/cart/get",
    ] {
        out.push(user(path, "x=1&%ff=%fe&&").any());
    }
    // A plain form post (no JavaScript) with bad input: the page is sent back or redirected.
    out.push(
        case(cat, "POST", "/fn/cart/add")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "text/html,application/xhtml+xml")
            .header("referer", "/products/banana")
            .body("product_id=1&quantity=0")
            .cookie(&c.user)
            .any(),
    );
}

fn api_routes(c: &Creds, keys: &Keys, out: &mut Vec<Case>) {
    let cat = "api_routes";
    let register = |email: &str, password: &str, name: &str| {
        case(cat, "POST", "/api/v1/auth/register")
            .json(json!({"email": email, "password": password, "name": name}).to_string())
    };
    out.push(register("seven@example.com", "1234567", "Seven").status(400));
    out.push(register("long@example.com", &"p".repeat(129), "Long").status(400));
    // 409 email_taken, or 429 once this client's or account's attempts are used up.
    out.push(register(&c.email.to_uppercase(), "correct horse battery", "Again"));
    out.push(register(&format!("  {}  ", c.email), "correct horse battery", "Again"));
    out.push(register("no-at-sign.example.com", "correct horse battery", "NoAt").status(400));
    out.push(
        register(&format!("{}@example.com", "e".repeat(300)), "correct horse battery", "Long").status(400),
    );
    out.push(register("named@example.com", "correct horse battery", "").status(400));
    out.push(register("named2@example.com", "correct horse battery", &"n".repeat(101)).status(400));
    out.push(
        case(cat, "POST", "/api/v1/auth/register")
            .json(r#"{"email":"x@example.com","password":"correct horse battery"}"#)
            .status(400),
    );
    let login = |email: &str, password: &str, mode: &str| {
        case(cat, "POST", "/api/v1/auth/login")
            .json(json!({"email": email, "password": password, "mode": mode}).to_string())
            .cookie(&c.user)
    };
    out.push(login(&c.email, "wrong password", "session"));
    out.push(login("nobody@example.com", "wrong password", "token"));
    out.push(login("", "", "session"));
    out.push(login(&c.email, &c.password, "bogus").status(400));
    out.push(login(&c.email, &c.password, "").status(400));
    out.push(
        case(cat, "POST", "/api/v1/auth/login")
            .json(json!({"email": c.email, "password": c.password}).to_string())
            .status(400),
    );
    out.push(case(cat, "POST", "/api/v1/auth/logout-all").status(401));
    out.push(case(cat, "POST", "/api/v1/auth/switch").json(r#"{"mode":"token"}"#).status(401));
    out.push(
        case(cat, "POST", "/api/v1/auth/switch").json(r#"{"mode":"session"}"#).bearer(&c.revoked).status(401),
    );
    out.push(case(cat, "GET", "/api/v1/me").status(401));
    out.push(case(cat, "GET", "/api/v1/me").cookie(&c.guest).status(401));
    out.push(case(cat, "GET", "/api/v1/orders").status(401));
    out.push(case(cat, "GET", "/api/v1/orders").cookie(&c.guest).status(401));
    out.push(case(cat, "POST", "/api/v1/orders").json(SHIP).key(keys.next()).status(401));
    out.push(case(cat, "POST", "/api/v1/orders").json(SHIP).key(keys.next()).cookie(&c.guest).status(401));
    out.push(case(cat, "POST", "/api/v1/cart/merge").json(MERGE).cookie(&c.guest).status(401));
    out.push(case(cat, "POST", "/api/v1/cart/merge").json(MERGE).status(401));
    // Orders: the key is required, bounded and visible ASCII; the same key never makes a second order.
    out.push(case(cat, "POST", "/api/v1/orders").json(SHIP).cookie(&c.user).status(400));
    out.push(case(cat, "POST", "/api/v1/orders").json(SHIP).cookie(&c.user).key("").status(400));
    out.push(case(cat, "POST", "/api/v1/orders").json(SHIP).cookie(&c.user).key("k".repeat(101)).status(400));
    out.push(case(cat, "POST", "/api/v1/orders").json(SHIP).cookie(&c.user).key("has space").status(400));
    out.push(
        case(cat, "POST", "/api/v1/orders").json(SHIP).bearer(&c.token).key("k".repeat(5000)).status(400),
    );
    out.push(case(cat, "POST", "/api/v1/orders").json(SHIP).cookie(&c.user).key(&c.setup_key).status(201));
    out.push(
        case(cat, "POST", "/api/v1/orders")
            .json(r#"{"shipping":{"name":"Someone Else","address":"2 Other Street"}}"#)
            .bearer(&c.token)
            .key(&c.setup_key)
            .any(),
    );
    out.push(
        case(cat, "POST", "/api/v1/orders")
            .json(r#"{"shipping":{"name":"  ","address":"x"}}"#)
            .cookie(&c.user)
            .key(keys.next())
            .status(400),
    );
    out.push(
        case(cat, "POST", "/api/v1/orders")
            .json(json!({"shipping": {"name": "n".repeat(101), "address": "x"}}).to_string())
            .cookie(&c.user)
            .key(keys.next())
            .status(400),
    );
    out.push(
        case(cat, "POST", "/api/v1/orders")
            .json(json!({"shipping": {"name": "Mallory", "address": "a".repeat(501)}}).to_string())
            .bearer(&c.token)
            .key(keys.next())
            .status(400),
    );
    out.push(
        case(cat, "POST", "/api/v1/orders").json(SHIP).bearer(&c.other_token).key(keys.next()).status(409),
    );
    // Reads of the catalogue with odd but harmless input.
    for path in [
        "/api/v1/products?q=banana&category=no-such&sort=name&page=1&per_page=1",
        "/api/v1/products?category=fruit&page=1000000&per_page=100",
        "/api/v1/products?unknown=1",
        "/api/v1/categories?x=1",
    ] {
        out.push(case(cat, "GET", path).any());
    }
    for path in [
        "/api/v1/categories/",
        "/api/v1/categories/fruit",
        "/api/v1/products/",
        "/api/v1/cart/",
        "/api/v1/me/",
    ] {
        out.push(case(cat, "GET", path).cookie(&c.user));
    }
}

fn build_corpus(c: &Creds) -> Vec<Case> {
    let keys = Keys(Cell::new(0));
    let mut out = Vec::new();
    malformed_json(c, &keys, &mut out);
    wrong_types(c, &keys, &mut out);
    numbers(c, &keys, &mut out);
    nul_and_control(c, &keys, &mut out);
    unknown_ids(c, &mut out);
    huge_queries(c, &mut out);
    oversized(c, &keys, &mut out);
    content_types(c, &keys, &mut out);
    garbage_cookies(c, &keys, &mut out);
    bearer_tokens(c, &keys, &mut out);
    cross_site(c, &keys, &mut out);
    static_paths(&mut out);
    methods(c, &keys, &mut out);
    server_fn_args(c, &keys, &mut out);
    api_routes(c, &keys, &mut out);
    out
}

// ---------------------------------------------------------------------------------------------
// Checking one answer.

fn snake_case(code: &str) -> bool {
    code.starts_with(|ch: char| ch.is_ascii_lowercase())
        && code.chars().all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_')
}

/// Text no answer may carry: stack traces, SQL, database errors, server paths.
const LEAKS: &[&str] = &[
    "panicked at",
    "stack backtrace",
    "RUST_BACKTRACE",
    "sqlx::",
    "error returned from database",
    "SqliteError",
    "PgDatabaseError",
    "SQLSTATE",
    "Something went wrong: ",
    "/root/",
    "/work/",
    ".cargo/registry",
];
/// Besides, in the JSON errors: SQL and source locations.
const JSON_LEAKS: &[&str] = &["SELECT ", "INSERT INTO", "DELETE FROM", "UPDATE ", ".rs:", "src/"];
/// Not a failure, but worth a look: messages naming Rust types or serde's internals.
const INTERNAL_WORDS: &[&str] = &[
    "expected struct",
    "expected enum",
    "expected a sequence",
    "expected i64",
    "expected a string",
    "expected a map",
    "invalid type",
    "invalid value",
    "invalid length",
    "at line",
    "GuestLine",
    "AddItem",
    "SetItem",
    "MergeBody",
    "RegisterBody",
    "LoginBody",
    "SwitchBody",
    "PlaceOrderBody",
    "Shipping",
    "ProductQuery",
    "serde",
    "Rejection",
    "ServerFnError",
];

fn check(case: &Case, response: &TestResponse, failures: &mut Vec<String>, notes: &mut BTreeSet<String>) {
    let status = response.status.as_u16();
    let text = response.text();
    let content_type =
        response.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let mut fail = |why: String| {
        failures.push(format!(
            "{why}\n    request: {}\n    answer:  {status} [{content_type}] {}",
            case.describe(),
            clip(&text, 300)
        ))
    };
    if status >= 500 {
        fail(format!("a {status} (server error)"));
    }
    match case.expect {
        Expect::Refused if !(400..500).contains(&status) => {
            fail(format!("expected a 4xx refusal, got {status}"))
        }
        Expect::Status(expected) if expected != status => fail(format!("expected {expected}, got {status}")),
        _ => {}
    }
    if text.contains(SECRET_MARKER) || text.contains("root:x:0:0") {
        fail("a file outside the site root was served".to_string());
    }
    if status >= 400 {
        for leak in LEAKS {
            if text.contains(leak) {
                fail(format!("the answer carries internals ({leak:?})"));
            }
        }
    }
    if (300..400).contains(&status) {
        let location =
            response.headers.get("location").map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let on_site = location
            .as_deref()
            .is_some_and(|l| l.starts_with('/') && !l.starts_with("//") && !l.starts_with("/\\"));
        if !on_site {
            fail(format!("a redirect off the site (an open redirect): Location {location:?}"));
        }
    }
    let path = case.path();
    let api = path.starts_with("/api/");
    let server_fn = path.starts_with("/fn/");
    if !(api || server_fn) || (200..300).contains(&status) || case.method == Method::HEAD {
        return;
    }
    if (300..400).contains(&status) {
        if api {
            fail(format!("a redirect ({status}) from the JSON API"));
        }
        return;
    }
    let Ok(body) = serde_json::from_slice::<Value>(&response.body) else {
        fail("not a JSON error body".to_string());
        return;
    };
    if !content_type.starts_with("application/json") {
        fail("an error body without Content-Type: application/json".to_string());
    }
    let envelope = body["error"]["code"].as_str().is_some_and(snake_case)
        && body["error"]["message"].as_str().is_some_and(|m| !m.trim().is_empty());
    let server_fn_encoding = server_fn && body["code"].as_str().is_some_and(snake_case);
    if !(envelope || server_fn_encoding) {
        fail("not the contract's error body {\"error\":{\"code\":snake_case,\"message\":…}}".to_string());
    }
    for leak in JSON_LEAKS {
        if text.contains(leak) {
            fail(format!("the JSON error carries internals ({leak:?})"));
        }
    }
    let message = body["error"]["message"].as_str().or(body["detail"].as_str()).unwrap_or("");
    if INTERNAL_WORDS.iter().any(|word| message.contains(word)) {
        notes.insert(format!("{status} {} {}: {}", case.method, clip(path, 60), clip(message, 240)));
    }
}

// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_corpus_gets_no_5xx_keeps_the_error_shape_and_changes_nothing() {
    let started = Instant::now();
    // A site root of its own, with files beside it that no path may reach.
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site");
    std::fs::create_dir_all(site.join("pkg")).unwrap();
    std::fs::create_dir_all(site.join("images/products")).unwrap();
    std::fs::write(site.join("pkg/shop.js"), "console.log('the shop');\n".repeat(20)).unwrap();
    std::fs::write(site.join("images/products/banana.svg"), "<svg xmlns='http://www.w3.org/2000/svg'/>")
        .unwrap();
    std::fs::write(dir.path().join("secret.txt"), SECRET_MARKER).unwrap();
    std::fs::write(dir.path().join("Cargo.toml"), format!("[package]\nname = \"{SECRET_MARKER}\"\n"))
        .unwrap();
    let app = TestApp::with_site(|_| {}, site.to_str().unwrap()).await;
    let mut db = Db::open(&app.database_url).await;

    let creds = setup(&app, &mut db).await;
    // The credentials work before the corpus.
    let me = fresh(&app, get_with("/api/v1/me", "cookie", &creds.user)).await;
    assert_eq!((me.status.as_u16(), me.json()["mode"].clone()), (200, json!("session")), "the session works");
    let me = fresh(&app, get_with("/api/v1/me", "authorization", &format!("Bearer {}", creds.token))).await;
    assert_eq!(me.status, 200, "the token works: {}", me.text());
    let me = fresh(&app, get_with("/api/v1/me", "authorization", &format!("Bearer {}", creds.revoked))).await;
    assert_eq!(me.status, 401, "the signed-out token does not");
    let guest_cart = fresh(&app, get_with("/api/v1/cart", "cookie", &creds.guest)).await.json();
    assert_eq!(guest_cart["lines"].as_array().map(Vec::len), Some(2), "the guest's cart");
    let user_cart = fresh(&app, get_with("/api/v1/cart", "cookie", &creds.user)).await.json();
    assert_eq!(user_cart["lines"].as_array().map(Vec::len), Some(2), "the user's cart");

    let before = db.snapshot().await;
    for table in [
        "carts",
        "cart_lines",
        "orders",
        "order_lines",
        "users",
        "revoked_tokens",
        "products",
        session_table(),
    ] {
        assert!(before.contains_key(table), "table {table} in the snapshot (tables: {:?})", before.keys());
    }
    let count = |table: &str| before[table].rows.len();
    assert!(count("carts") >= 3 && count("cart_lines") >= 4, "carts with lines to attack");
    assert_eq!((count("orders"), count("users")), (2, 2), "two users, an order each");
    assert!(count("order_lines") >= 2 && count("revoked_tokens") >= 1 && count(session_table()) >= 2);

    let corpus = build_corpus(&creds);
    // HOSTILE_CORPUS_LOG=1: every entry and its status, and every error message noted below.
    let verbose = std::env::var_os("HOSTILE_CORPUS_LOG").is_some();
    let mut by_category: BTreeMap<&str, (usize, BTreeMap<u16, usize>)> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut notes = BTreeSet::new();
    let fired = Instant::now();
    let mut slowest = (Duration::ZERO, String::new());
    for entry in &corpus {
        let request = entry.request();
        let one = Instant::now();
        let answer = tokio::time::timeout(PER_REQUEST_TIMEOUT, fresh(&app, request)).await;
        let took = one.elapsed();
        if took > slowest.0 {
            slowest = (took, entry.describe());
        }
        if verbose {
            match &answer {
                Ok(r) => println!("{} {}", r.status.as_u16(), entry.describe()),
                Err(_) => println!("HANG {}", entry.describe()),
            }
        }
        let summary = match &answer {
            Ok(response) => {
                let stats = by_category.entry(entry.category).or_default();
                stats.0 += 1;
                *stats.1.entry(response.status.as_u16()).or_default() += 1;
                check(entry, response, &mut failures, &mut notes);
                format!("{} {}", response.status.as_u16(), clip(&response.text(), 200))
            }
            Err(_) => {
                failures.push(format!(
                    "no answer within {PER_REQUEST_TIMEOUT:?} (a hang)\n    request: {}",
                    entry.describe()
                ));
                "no answer".to_string()
            }
        };
        // (d), request by request: which one changed what. Then everything is put back.
        let now = db.snapshot().await;
        if now != before {
            failures.push(format!(
                "the database changed\n    request: {}\n    answer:  {summary}\n{}",
                entry.describe(),
                differences(&before, &now).join("\n")
            ));
            db.restore(&before).await;
            assert_eq!(db.snapshot().await, before, "the database put back as it was");
        }
    }
    let corpus_time = fired.elapsed();
    let after = db.snapshot().await;
    // (d), overall (entries that changed something were listed, and undone, above).
    let changed = differences(&before, &after);
    if !changed.is_empty() {
        failures.push(format!("the database changed during the corpus:\n{}", changed.join("\n")));
    }

    // (c) The server still answers, and every credential still works.
    let health = fresh(&app, Request::get("/healthz").body(Body::empty()).unwrap()).await;
    if health.status != 200 || health.json()["status"] != "ok" {
        failures.push(format!("/healthz after the corpus: {} {}", health.status, health.text()));
    }
    let banana = fresh(&app, Request::get("/api/v1/products/banana").body(Body::empty()).unwrap()).await;
    if banana.status != 200 || banana.json()["slug"] != "banana" {
        failures.push(format!("the catalogue after the corpus: {} {}", banana.status, banana.text()));
    }
    let page = fresh(&app, Request::get("/").body(Body::empty()).unwrap()).await;
    if page.status != 200 {
        failures.push(format!("the home page after the corpus: {}", page.status));
    }
    let me = fresh(&app, get_with("/api/v1/me", "cookie", &creds.user)).await;
    if me.status != 200 {
        failures.push(format!("the session after the corpus: {} {}", me.status, me.text()));
    }
    let me = fresh(&app, get_with("/api/v1/me", "authorization", &format!("Bearer {}", creds.token))).await;
    if me.status != 200 {
        failures.push(format!("the token after the corpus: {} {}", me.status, me.text()));
    }
    {
        let guest_after = fresh(&app, get_with("/api/v1/cart", "cookie", &creds.guest)).await;
        if guest_after.status != 200 || guest_after.json() != guest_cart {
            failures.push(format!(
                "the guest's cart after the corpus: {} {}",
                guest_after.status,
                guest_after.text()
            ));
        }
        let user_after = fresh(&app, get_with("/api/v1/cart", "cookie", &creds.user)).await;
        if user_after.status != 200 || user_after.json() != user_cart {
            failures.push(format!(
                "the user's cart after the corpus: {} {}",
                user_after.status,
                user_after.text()
            ));
        }
    }
    // And a normal write still works.
    let add = fresh(
        &app,
        Request::post("/api/v1/cart/items")
            .header("content-type", "application/json")
            .header("cookie", &creds.user)
            .body(Body::from(r#"{"product_id":2,"quantity":1}"#))
            .unwrap(),
    )
    .await;
    if add.status != 200 {
        failures.push(format!("a normal add after the corpus: {} {}", add.status, add.text()));
    }

    println!(
        "hostile corpus: {} requests in {corpus_time:?} (whole test {:?})",
        corpus.len(),
        started.elapsed()
    );
    println!("slowest: {:?} {}", slowest.0, slowest.1);
    for (category, (count, statuses)) in &by_category {
        let statuses: Vec<String> = statuses.iter().map(|(s, n)| format!("{s}x{n}")).collect();
        println!("  {category:<16} {count:>4}  {}", statuses.join(" "));
    }
    if !notes.is_empty() {
        println!("error messages that name Rust types or serde's terms ({}), e.g.:", notes.len());
        for note in notes.iter().take(if verbose { usize::MAX } else { 12 }) {
            println!("  {note}");
        }
    }
    assert!(corpus.len() >= 200, "the corpus has {} entries", corpus.len());
    assert!(failures.is_empty(), "{} problem(s):\n\n{}", failures.len(), failures.join("\n\n"));
}
