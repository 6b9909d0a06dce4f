//! Placing and reading orders. Placing is one transaction: prices from the catalogue at that
//! moment, stock taken with guarded updates, the order and its lines written, the cart emptied.

use super::{check_key, check_shipping, Order, OrderLine, Shipping};
use crate::{
    auth::service::rfc3339,
    error::AppError,
    money::{format_cents, CURRENCY},
    server::{
        db::{Backend, Db},
        unix_now_ms,
    },
};
use sqlx::{any::AnyRow, Row};

/// Where a payment provider would plug in. This shop takes no real payments: the demo step
/// always succeeds and returns a reference to store with the order.
mod payments {
    pub fn charge_demo(_total_cents: i64) -> Result<String, crate::error::AppError> {
        Ok(format!("demo-{}", uuid::Uuid::new_v4().simple()))
    }
}

pub const STATUS_PLACED: &str = "placed";

struct Line {
    product_id: i64,
    name: String,
    price: i64,
    quantity: i64,
    stock: i64,
}

/// Places the user's cart as an order. Returns the order and whether it was made now (false:
/// the key had already made it).
pub async fn place(
    db: &Db,
    user_id: i64,
    key: &str,
    shipping: &Shipping,
    expected_total_cents: Option<i64>,
) -> Result<(Order, bool), AppError> {
    check_key(key)?;
    let shipping = check_shipping(shipping)?;
    if let Some(order) = find_by_key(db, user_id, key).await? {
        return Ok((order, false));
    }
    let mut tx = db.begin_write().await?;
    if db.backend == Backend::Postgres {
        // One checkout per user at a time. On SQLite BEGIN IMMEDIATE already serialises every
        // write; PostgreSQL (READ COMMITTED) takes the user's row lock, so that a request with
        // the same key waits here and then finds the order the first one committed.
        sqlx::query("SELECT id FROM users WHERE id = $1 FOR UPDATE")
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?;
    }
    // Checked again inside the transaction: a request with the same key may have committed
    // while this one waited for the write lock (and emptied the cart).
    let existing: Option<i64> =
        sqlx::query_scalar("SELECT id FROM orders WHERE user_id = $1 AND idempotency_key = $2")
            .bind(user_id)
            .bind(key)
            .fetch_optional(&mut *tx)
            .await?;
    if let Some(order_id) = existing {
        drop(tx);
        return Ok((get(db, user_id, order_id).await?, false));
    }
    let rows = sqlx::query(
        "SELECT l.product_id, p.name, p.price_cents, l.quantity, p.stock \
         FROM cart_lines l JOIN carts c ON c.id = l.cart_id JOIN products p ON p.id = l.product_id \
         WHERE c.user_id = $1 ORDER BY l.added_at, l.product_id",
    )
    .bind(user_id)
    .fetch_all(&mut *tx)
    .await?;
    let lines = rows
        .iter()
        .map(|row| {
            Ok(Line {
                product_id: row.try_get("product_id")?,
                name: row.try_get("name")?,
                price: row.try_get("price_cents")?,
                quantity: row.try_get("quantity")?,
                stock: row.try_get("stock")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    if lines.is_empty() {
        return Err(AppError::CartEmpty);
    }
    let total: i64 = lines.iter().map(|l| l.price * l.quantity).sum();
    if let Some(expected) = expected_total_cents {
        if expected != total {
            return Err(AppError::PriceChanged(format!(
                "Prices have changed since you saw your cart: the total is now {}, not {}. \
                 Check your order and place it again.",
                format_cents(total),
                format_cents(expected)
            )));
        }
    }
    let short: Vec<&Line> = lines.iter().filter(|l| l.quantity > l.stock).collect();
    if !short.is_empty() {
        return Err(short_stock(&short));
    }
    for line in &lines {
        let taken = sqlx::query("UPDATE products SET stock = stock - $1 WHERE id = $2 AND stock >= $1")
            .bind(line.quantity)
            .bind(line.product_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if taken == 0 {
            // Someone else bought it first: nothing of this order is kept.
            return Err(short_stock(&[line]));
        }
    }
    let payment_reference = payments::charge_demo(total)?;
    let created_at = unix_now_ms();
    let inserted: Option<i64> = sqlx::query_scalar(
        "INSERT INTO orders (user_id, idempotency_key, status, shipping_name, shipping_address, \
         total_cents, currency, payment_reference, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (user_id, idempotency_key) DO NOTHING RETURNING id",
    )
    .bind(user_id)
    .bind(key)
    .bind(STATUS_PLACED)
    .bind(&shipping.name)
    .bind(&shipping.address)
    .bind(total)
    .bind(CURRENCY)
    .bind(&payment_reference)
    .bind(created_at)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(order_id) = inserted else {
        // The same key made an order while this one was being placed: that one stands.
        drop(tx);
        let order = find_by_key(db, user_id, key).await?.ok_or(AppError::Internal)?;
        return Ok((order, false));
    };
    for line in &lines {
        sqlx::query(
            "INSERT INTO order_lines (order_id, product_id, name, unit_price_cents, quantity, line_total_cents) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(order_id)
        .bind(line.product_id)
        .bind(&line.name)
        .bind(line.price)
        .bind(line.quantity)
        .bind(line.price * line.quantity)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query("DELETE FROM cart_lines WHERE cart_id IN (SELECT id FROM carts WHERE user_id = $1)")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    let order = get(db, user_id, order_id).await?;
    Ok((order, true))
}

fn short_stock(lines: &[&Line]) -> AppError {
    let names: Vec<String> = lines
        .iter()
        .map(|l| match l.stock.max(0) {
            0 => format!("{} (sold out)", l.name),
            n => format!("{} (only {n} left)", l.name),
        })
        .collect();
    AppError::InsufficientStock(format!(
        "Not enough in stock for: {}. Change these lines in your cart; nothing was ordered.",
        names.join(", ")
    ))
}

const ORDER_COLUMNS: &str = "id, created_at, status, total_cents, currency, shipping_name, shipping_address";

fn order_from_row(row: &AnyRow, lines: Vec<OrderLine>) -> Result<Order, sqlx::Error> {
    let created_ms: i64 = row.try_get("created_at")?;
    Ok(Order {
        id: row.try_get("id")?,
        created_at: rfc3339(created_ms / 1000),
        status: row.try_get("status")?,
        lines,
        total_cents: row.try_get("total_cents")?,
        currency: row.try_get("currency")?,
        shipping: Shipping { name: row.try_get("shipping_name")?, address: row.try_get("shipping_address")? },
    })
}

async fn lines_of(db: &Db, order_ids: &[i64]) -> Result<Vec<(i64, OrderLine)>, AppError> {
    if order_ids.is_empty() {
        return Ok(Vec::new());
    }
    // Ids are integers from the database: safe to list in the statement.
    let list = order_ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    let rows = sqlx::query(&format!(
        "SELECT order_id, product_id, name, unit_price_cents, quantity, line_total_cents \
         FROM order_lines WHERE order_id IN ({list}) ORDER BY order_id, name"
    ))
    .fetch_all(&mut *db.read().await?)
    .await?;
    rows.iter()
        .map(|row| {
            Ok((
                row.try_get("order_id")?,
                OrderLine {
                    product_id: row.try_get("product_id")?,
                    name: row.try_get("name")?,
                    unit_price_cents: row.try_get("unit_price_cents")?,
                    quantity: row.try_get("quantity")?,
                    line_total_cents: row.try_get("line_total_cents")?,
                },
            ))
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()
        .map_err(AppError::from)
}

/// The user's orders, newest first.
pub async fn list(db: &Db, user_id: i64) -> Result<Vec<Order>, AppError> {
    let rows = sqlx::query(&format!(
        "SELECT {ORDER_COLUMNS} FROM orders WHERE user_id = $1 ORDER BY created_at DESC, id DESC"
    ))
    .bind(user_id)
    .fetch_all(&mut *db.read().await?)
    .await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.try_get("id")).collect::<Result<_, _>>()?;
    let mut lines = lines_of(db, &ids).await?;
    let mut orders = Vec::with_capacity(rows.len());
    for row in &rows {
        let id: i64 = row.try_get("id")?;
        let (mine, rest): (Vec<_>, Vec<_>) = lines.into_iter().partition(|(order_id, _)| *order_id == id);
        lines = rest;
        orders.push(order_from_row(row, mine.into_iter().map(|(_, l)| l).collect())?);
    }
    Ok(orders)
}

/// One of the user's orders; anyone else's is not found.
pub async fn get(db: &Db, user_id: i64, order_id: i64) -> Result<Order, AppError> {
    let row = sqlx::query(&format!("SELECT {ORDER_COLUMNS} FROM orders WHERE id = $1 AND user_id = $2"))
        .bind(order_id)
        .bind(user_id)
        .fetch_optional(&mut *db.read().await?)
        .await?
        .ok_or_else(|| AppError::NotFound("Order".into()))?;
    let lines = lines_of(db, &[order_id]).await?.into_iter().map(|(_, l)| l).collect();
    Ok(order_from_row(&row, lines)?)
}

async fn find_by_key(db: &Db, user_id: i64, key: &str) -> Result<Option<Order>, AppError> {
    let id: Option<i64> =
        sqlx::query_scalar("SELECT id FROM orders WHERE user_id = $1 AND idempotency_key = $2")
            .bind(user_id)
            .bind(key)
            .fetch_optional(&mut *db.read().await?)
            .await?;
    match id {
        Some(id) => Ok(Some(get(db, user_id, id).await?)),
        None => Ok(None),
    }
}
