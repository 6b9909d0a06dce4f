//! The cart's rules, once, for the server functions and the JSON API.
//!
//! Every change is one guarded SQL statement, so concurrent changes to one cart never lose an
//! update and a refused change leaves the cart exactly as it was. The database records a
//! written line on its cart (`updated_at`, and the cart's row with its first line: triggers in
//! migration 0007), in the same statement.

use super::{check_added_quantity, check_set_quantity, Cart, CartLine, MAX_LINE_QUANTITY};
use crate::{
    auth::GuestLine,
    catalog::{self, Product},
    error::AppError,
    server::{
        db::{Backend, Conn, Db},
        unix_now, unix_now_ms,
        visitor::Visitor,
    },
};
use sqlx::Row;

pub async fn load(db: &Db, cart_id: Option<&str>) -> Result<Cart, AppError> {
    let Some(cart_id) = cart_id else {
        return Ok(Cart::from_lines(Vec::new()));
    };
    let rows = sqlx::query(
        "SELECT l.product_id, p.slug, p.name, p.price_cents, l.quantity, p.stock, p.image_url \
         FROM cart_lines l JOIN products p ON p.id = l.product_id \
         WHERE l.cart_id = $1 ORDER BY l.added_at, l.product_id",
    )
    .bind(cart_id)
    .fetch_all(&mut *db.read().await?)
    .await?;
    let mut lines = Vec::with_capacity(rows.len());
    for row in rows {
        let unit_price_cents: i64 = row.try_get("price_cents")?;
        let quantity: i64 = row.try_get("quantity")?;
        lines.push(CartLine {
            product_id: row.try_get("product_id")?,
            slug: row.try_get("slug")?,
            name: row.try_get("name")?,
            unit_price_cents,
            quantity,
            line_total_cents: unit_price_cents * quantity,
            stock: row.try_get("stock")?,
            image_url: row.try_get("image_url")?,
        });
    }
    Ok(Cart::from_lines(lines))
}

async fn line_quantity(db: &Db, cart_id: &str, product_id: i64) -> Result<i64, AppError> {
    let quantity: Option<i64> =
        sqlx::query_scalar("SELECT quantity FROM cart_lines WHERE cart_id = $1 AND product_id = $2")
            .bind(cart_id)
            .bind(product_id)
            .fetch_optional(&mut *db.read().await?)
            .await?;
    Ok(quantity.unwrap_or(0))
}

fn too_many(product: &Product, wanted: i64) -> AppError {
    if product.stock == 0 {
        AppError::InsufficientStock(format!("{} is out of stock.", product.name))
    } else if wanted > MAX_LINE_QUANTITY && product.stock >= MAX_LINE_QUANTITY {
        AppError::InsufficientStock(format!(
            "You can have at most {MAX_LINE_QUANTITY} of {} in your cart.",
            product.name
        ))
    } else {
        AppError::InsufficientStock(format!(
            "Only {} of {} in stock: your cart can hold at most that many.",
            product.stock, product.name
        ))
    }
}

/// Adds `quantity` to the product's line.
pub async fn add(db: &Db, visitor: &Visitor, product_id: i64, quantity: i64) -> Result<Cart, AppError> {
    check_added_quantity(quantity)?;
    // A visitor with a cart: the guarded write comes first, and the product is read only to
    // explain a refusal (an unknown product writes nothing either). A visitor without one: the
    // change is checked before a cart (and a session cookie) is made for it.
    let cart_id = match visitor.cart_id().await? {
        Some(cart_id) => cart_id,
        None => {
            let product = catalog::service::by_id(db, product_id).await?;
            if quantity > product.stock {
                return Err(too_many(&product, quantity));
            }
            visitor.cart_id_or_new().await?
        }
    };
    let written = write_add(db, &cart_id, product_id, quantity).await?;
    if !written {
        let product = catalog::service::by_id(db, product_id).await?;
        let current = line_quantity(db, &cart_id, product_id).await?;
        return Err(too_many(&product, current + quantity));
    }
    load(db, Some(&cart_id)).await
}

/// Adds waiting for the writer's turn. SQLite takes one write at a time, and each write is a
/// round trip to the thread that runs the writer's connection, then back to the request's: under
/// a stream of adds the turn, not the work in it, was the limit. So whoever gets the turn writes
/// every add waiting then, in one statement (`add_statement`), and answers each (group commit).
/// PostgreSQL writes side by side: there a turn is any pooled connection and writes one add, as
/// before (a statement of several carts' adds would lock their carts in an order of its own,
/// and two such statements could deadlock).
#[derive(Debug, Default)]
pub struct AddQueue {
    waiting: std::sync::Mutex<Vec<WaitingAdd>>,
    next_ticket: std::sync::atomic::AtomicU64,
}

/// Most adds written in one statement on SQLite (4 parameters each).
const MAX_BATCH: usize = 64;

#[derive(Debug)]
struct WaitingAdd {
    ticket: u64,
    cart_id: String,
    product_id: i64,
    quantity: i64,
    added_at: i64,
    /// Whether the add was written (false: its guard refused it, and nothing was written).
    answer: tokio::sync::oneshot::Sender<Result<bool, AppError>>,
}

impl AddQueue {
    fn waiting(&self) -> std::sync::MutexGuard<'_, Vec<WaitingAdd>> {
        self.waiting.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The adds for one statement: in the order they came, at most one per line (a statement
    /// cannot write one row twice); the others wait for the next turn.
    fn take_batch(&self, most: usize) -> Vec<WaitingAdd> {
        let mut waiting = self.waiting();
        let mut batch: Vec<WaitingAdd> = Vec::new();
        let mut rest = Vec::new();
        for add in waiting.drain(..) {
            let same_line = |b: &WaitingAdd| b.cart_id == add.cart_id && b.product_id == add.product_id;
            if batch.len() < most && !batch.iter().any(same_line) {
                batch.push(add);
            } else {
                rest.push(add);
            }
        }
        *waiting = rest;
        batch
    }

    /// Takes the add back if no turn has taken it yet.
    fn withdraw(&self, ticket: u64) -> bool {
        let mut waiting = self.waiting();
        let before = waiting.len();
        waiting.retain(|add| add.ticket != ticket);
        waiting.len() < before
    }
}

/// Writes an add to the line, with the guards of `add_statement`; true when it was written.
async fn write_add(db: &Db, cart_id: &str, product_id: i64, quantity: i64) -> Result<bool, AppError> {
    use std::sync::atomic::Ordering;
    let queue = &db.adds;
    let ticket = queue.next_ticket.fetch_add(1, Ordering::Relaxed);
    let (answer, mut answered) = tokio::sync::oneshot::channel();
    queue.waiting().push(WaitingAdd {
        ticket,
        cart_id: cart_id.to_owned(),
        product_id,
        quantity,
        added_at: unix_now_ms(),
        answer,
    });
    // A request that goes away while its add still waits takes the add back with it.
    struct Withdraw<'a>(&'a AddQueue, u64);
    impl Drop for Withdraw<'_> {
        fn drop(&mut self) {
            self.0.withdraw(self.1);
        }
    }
    let _withdraw = Withdraw(queue, ticket);
    loop {
        tokio::select! {
            biased;
            result = &mut answered => return result.unwrap_or(Err(AppError::Internal)),
            conn = db.write_conn() => match conn {
                Ok(conn) => {
                    let most = if db.backend == Backend::Sqlite { MAX_BATCH } else { 1 };
                    let batch = queue.take_batch(most);
                    // In a task of its own, so that every add it took is written and answered
                    // even if this request goes away meanwhile. This request's own add is in it,
                    // or in a later turn's.
                    if !batch.is_empty() {
                        tokio::spawn(write_batch(conn, batch));
                    }
                }
                Err(error) if queue.withdraw(ticket) => return Err(error.into()),
                // Another request's turn has taken it: its answer is on the way.
                Err(_) => {}
            },
        }
    }
}

/// Writes the batch and answers each add in it. Should the statement fail, each add is tried on
/// its own, so that one add's failure is that add's alone.
async fn write_batch(mut conn: Conn, batch: Vec<WaitingAdd>) {
    match add_statement(&mut conn, &batch).await {
        Ok(written) => {
            for add in batch {
                let was_written = written.iter().any(|(c, p)| *c == add.cart_id && *p == add.product_id);
                let _ = add.answer.send(Ok(was_written));
            }
        }
        Err(error) if batch.len() == 1 => {
            let error = AppError::from(error);
            for add in batch {
                let _ = add.answer.send(Err(error.clone()));
            }
        }
        Err(_) => {
            for add in batch {
                let result = add_statement(&mut conn, std::slice::from_ref(&add)).await;
                let _ = add.answer.send(result.map(|written| !written.is_empty()).map_err(AppError::from));
            }
        }
    }
}

/// One guarded statement for the batch: each add is written only if its product has the stock
/// for it and the line stays within stock and `MAX_LINE_QUANTITY`; a refused add writes
/// nothing. Returns the lines written (cart id, product id).
async fn add_statement(conn: &mut Conn, batch: &[WaitingAdd]) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let mut values = String::new();
    for i in 0..batch.len() {
        let first = 2 + 4 * i;
        let comma = if i == 0 { "" } else { ", " };
        values.push_str(&format!("{comma}(${first}, ${}, ${}, ${})", first + 1, first + 2, first + 3));
    }
    // `column1`… are the names SQLite and PostgreSQL both give a VALUES list's columns.
    let sql = format!(
        "INSERT INTO cart_lines (cart_id, product_id, quantity, added_at) \
         SELECT v.column1, p.id, v.column3, v.column4 FROM (VALUES {values}) AS v \
         JOIN products p ON p.id = v.column2 WHERE p.stock >= v.column3 \
         ON CONFLICT (cart_id, product_id) DO UPDATE \
         SET quantity = cart_lines.quantity + excluded.quantity \
         WHERE cart_lines.quantity + excluded.quantity <= $1 \
         AND cart_lines.quantity + excluded.quantity <= \
             (SELECT stock FROM products WHERE id = excluded.product_id) \
         RETURNING cart_id, product_id"
    );
    let mut query = sqlx::query_as::<_, (String, i64)>(&sql).bind(MAX_LINE_QUANTITY);
    for add in batch {
        query = query.bind(&add.cart_id).bind(add.product_id).bind(add.quantity).bind(add.added_at);
    }
    // To the statement's end, so SQLite checkpoints its log after the commit (server::db).
    query.fetch_all(&mut **conn).await
}

/// Sets the product's line to `quantity`; 0 removes it.
pub async fn set(db: &Db, visitor: &Visitor, product_id: i64, quantity: i64) -> Result<Cart, AppError> {
    check_set_quantity(quantity)?;
    let product = catalog::service::by_id(db, product_id).await?;
    if quantity == 0 {
        return remove(db, visitor, product_id).await;
    }
    if quantity > product.stock {
        return Err(too_many(&product, quantity));
    }
    let cart_id = visitor.cart_id_or_new().await?;
    let mut writer = db.write_conn().await?;
    let written = sqlx::query(
        "INSERT INTO cart_lines (cart_id, product_id, quantity, added_at) \
         SELECT $1, p.id, $3, $4 FROM products p WHERE p.id = $2 AND p.stock >= $3 \
         ON CONFLICT (cart_id, product_id) DO UPDATE SET quantity = excluded.quantity",
    )
    .bind(&cart_id)
    .bind(product_id)
    .bind(quantity)
    .bind(unix_now_ms())
    .execute(&mut *writer)
    .await?
    .rows_affected();
    drop(writer);
    if written == 0 {
        return Err(too_many(&product, quantity));
    }
    load(db, Some(&cart_id)).await
}

/// Removes the product's line, if there is one.
pub async fn remove(db: &Db, visitor: &Visitor, product_id: i64) -> Result<Cart, AppError> {
    catalog::service::by_id(db, product_id).await?;
    let Some(cart_id) = visitor.cart_id().await? else {
        return Ok(Cart::from_lines(Vec::new()));
    };
    let mut writer = db.write_conn().await?;
    sqlx::query("DELETE FROM cart_lines WHERE cart_id = $1 AND product_id = $2")
        .bind(&cart_id)
        .bind(product_id)
        .execute(&mut *writer)
        .await?;
    drop(writer);
    load(db, Some(&cart_id)).await
}

/// The signed-in user's saved cart, if they have one.
pub async fn user_cart_id(db: &Db, user_id: i64) -> Result<Option<String>, AppError> {
    Ok(sqlx::query_scalar("SELECT id FROM carts WHERE user_id = $1")
        .bind(user_id)
        .fetch_optional(&mut *db.read().await?)
        .await?)
}

/// The signed-in user's saved cart, made now if needed (safe when two requests race).
pub async fn user_cart_id_or_new(db: &Db, user_id: i64) -> Result<String, AppError> {
    if let Some(id) = user_cart_id(db, user_id).await? {
        return Ok(id);
    }
    let now = unix_now();
    sqlx::query(
        "INSERT INTO carts (id, user_id, created_at, updated_at) VALUES ($1, $2, $3, $3) \
         ON CONFLICT (user_id) DO NOTHING",
    )
    .bind(uuid::Uuid::new_v4().simple().to_string())
    .bind(user_id)
    .bind(now)
    .execute(&mut *db.read().await?)
    .await?;
    user_cart_id(db, user_id).await?.ok_or(AppError::Internal)
}

pub async fn delete_cart(db: &Db, cart_id: &str) -> Result<(), AppError> {
    sqlx::query("DELETE FROM cart_lines WHERE cart_id = $1")
        .bind(cart_id)
        .execute(&mut *db.read().await?)
        .await?;
    sqlx::query("DELETE FROM carts WHERE id = $1").bind(cart_id).execute(&mut *db.read().await?).await?;
    Ok(())
}

/// Most lines a client-held cart may bring.
pub const MAX_MERGE_LINES: usize = 100;

/// Checks lines sent by a client: ids positive, quantities 1 to 99, at most 100 lines.
pub fn check_lines(lines: &[GuestLine]) -> Result<(), AppError> {
    if lines.len() > MAX_MERGE_LINES {
        return Err(AppError::invalid(format!("A cart holds at most {MAX_MERGE_LINES} lines.")));
    }
    for line in lines {
        if line.product_id < 1 {
            return Err(AppError::invalid("Every product_id must be a positive whole number."));
        }
        check_added_quantity(line.quantity)?;
    }
    Ok(())
}

/// One line per product, quantities summed.
fn combine(lines: &[GuestLine]) -> Vec<GuestLine> {
    let mut combined: Vec<GuestLine> = Vec::new();
    for line in lines {
        match combined.iter_mut().find(|l| l.product_id == line.product_id) {
            Some(existing) => existing.quantity = existing.quantity.saturating_add(line.quantity),
            None => combined.push(line.clone()),
        }
    }
    combined
}

/// Adds `lines` into cart `cart_id`: quantities summed, each line held to its stock and to 99.
/// Products that no longer exist or are out of stock are left out.
async fn merge_lines(
    conn: &mut sqlx::AnyConnection,
    cart_id: &str,
    lines: &[GuestLine],
) -> Result<(), AppError> {
    for line in combine(lines) {
        let product = match catalog::service::by_id_on(&mut *conn, line.product_id).await {
            Ok(product) => product,
            Err(AppError::NotFound(_)) => continue,
            Err(error) => return Err(error),
        };
        let cap = product.stock.min(MAX_LINE_QUANTITY);
        if cap < 1 {
            continue;
        }
        sqlx::query(
            "INSERT INTO cart_lines (cart_id, product_id, quantity, added_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (cart_id, product_id) DO UPDATE SET quantity = \
             CASE WHEN cart_lines.quantity + excluded.quantity > $5 THEN $5 \
             ELSE cart_lines.quantity + excluded.quantity END",
        )
        .bind(cart_id)
        .bind(line.product_id)
        .bind(line.quantity.min(cap))
        .bind(unix_now_ms())
        .bind(cap)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// A client-held cart joins the visitor's cart (the user's when signed in).
pub async fn merge(db: &Db, visitor: &Visitor, lines: &[GuestLine]) -> Result<Cart, AppError> {
    check_lines(lines)?;
    if lines.is_empty() {
        return load(db, visitor.cart_id().await?.as_deref()).await;
    }
    let cart_id = visitor.cart_id_or_new().await?;
    // All the lines or none; if nothing can join (unknown or sold-out products), nothing is
    // written and the cart stays as it was.
    let mut tx = db.begin_write().await?;
    merge_lines(&mut tx, &cart_id, lines).await?;
    tx.commit().await?;
    load(db, Some(&cart_id)).await
}

/// At sign-in: the guest's cart joins the user's saved cart, then is deleted, so signing in
/// twice never doubles it.
pub async fn absorb_cart(db: &Db, guest_cart_id: &str, user_id: i64) -> Result<(), AppError> {
    let guest = load(db, Some(guest_cart_id)).await?;
    if !guest.lines.is_empty() {
        let lines: Vec<GuestLine> = guest
            .lines
            .iter()
            .map(|l| GuestLine { product_id: l.product_id, quantity: l.quantity })
            .collect();
        let user_cart = user_cart_id_or_new(db, user_id).await?;
        let mut conn = db.read().await?;
        merge_lines(&mut conn, &user_cart, &lines).await?;
    }
    delete_cart(db, guest_cart_id).await
}

/// Prices a client-held cart without storing anything: the cart of a token-mode guest, which
/// lives in the browser. The line for `changed` (the one the guest just changed) must obey the
/// rules exactly; other lines are held to what is in stock now.
pub async fn preview(db: &Db, lines: &[GuestLine], changed: Option<i64>) -> Result<Cart, AppError> {
    if lines.len() > MAX_MERGE_LINES {
        return Err(AppError::invalid(format!("A cart holds at most {MAX_MERGE_LINES} lines.")));
    }
    let mut out = Vec::new();
    for line in combine(lines) {
        let strict = changed == Some(line.product_id);
        if strict {
            check_added_quantity(line.quantity)?;
        } else if line.product_id < 1 || line.quantity < 1 {
            continue;
        }
        let product = match catalog::service::by_id(db, line.product_id).await {
            Ok(product) => product,
            Err(AppError::NotFound(_)) if !strict => continue,
            Err(error) => return Err(error),
        };
        let cap = product.stock.min(MAX_LINE_QUANTITY);
        if strict && line.quantity > cap {
            return Err(too_many(&product, line.quantity));
        }
        let quantity = line.quantity.min(cap);
        if quantity < 1 {
            continue;
        }
        out.push(CartLine {
            product_id: product.id,
            slug: product.slug,
            name: product.name,
            unit_price_cents: product.price_cents,
            quantity,
            line_total_cents: product.price_cents * quantity,
            stock: product.stock,
            image_url: product.image_url,
        });
    }
    Ok(Cart::from_lines(out))
}
