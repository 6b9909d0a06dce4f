//! The cart's rules, once, for the server functions and the JSON API.
//!
//! Every change is a single guarded SQL statement, so concurrent changes to one cart never
//! lose an update and a refused change leaves the cart exactly as it was.

use super::{check_added_quantity, check_set_quantity, Cart, CartLine, MAX_LINE_QUANTITY};
use crate::{
    catalog::{self, Product},
    error::AppError,
    server::{db::Db, unix_now, unix_now_ms, visitor::Visitor},
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
    .fetch_all(&db.pool)
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

/// Records that the cart exists (and was just used), creating its row if needed.
async fn touch(db: &Db, cart_id: &str) -> Result<(), AppError> {
    let now = unix_now();
    sqlx::query(
        "INSERT INTO carts (id, created_at, updated_at) VALUES ($1, $2, $2) \
         ON CONFLICT (id) DO UPDATE SET updated_at = excluded.updated_at",
    )
    .bind(cart_id)
    .bind(now)
    .execute(&db.pool)
    .await?;
    Ok(())
}

async fn line_quantity(db: &Db, cart_id: &str, product_id: i64) -> Result<i64, AppError> {
    let quantity: Option<i64> =
        sqlx::query_scalar("SELECT quantity FROM cart_lines WHERE cart_id = $1 AND product_id = $2")
            .bind(cart_id)
            .bind(product_id)
            .fetch_optional(&db.pool)
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
    let product = catalog::service::by_id(db, product_id).await?;
    // Refuse before a cart (and a session cookie) is made for a change that cannot succeed.
    if quantity > product.stock {
        return Err(too_many(&product, quantity));
    }
    let cart_id = visitor.cart_id_or_new().await?;
    touch(db, &cart_id).await?;
    let updated: Option<i64> = sqlx::query_scalar(
        "INSERT INTO cart_lines (cart_id, product_id, quantity, added_at) \
         SELECT $1, p.id, $3, $4 FROM products p WHERE p.id = $2 AND p.stock >= $3 \
         ON CONFLICT (cart_id, product_id) DO UPDATE \
         SET quantity = cart_lines.quantity + excluded.quantity \
         WHERE cart_lines.quantity + excluded.quantity <= $5 \
         AND cart_lines.quantity + excluded.quantity <= \
             (SELECT stock FROM products WHERE id = excluded.product_id) \
         RETURNING quantity",
    )
    .bind(&cart_id)
    .bind(product_id)
    .bind(quantity)
    .bind(unix_now_ms())
    .bind(MAX_LINE_QUANTITY)
    .fetch_optional(&db.pool)
    .await?;
    if updated.is_none() {
        let current = line_quantity(db, &cart_id, product_id).await?;
        return Err(too_many(&product, current + quantity));
    }
    load(db, Some(&cart_id)).await
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
    touch(db, &cart_id).await?;
    let written = sqlx::query(
        "INSERT INTO cart_lines (cart_id, product_id, quantity, added_at) \
         SELECT $1, p.id, $3, $4 FROM products p WHERE p.id = $2 AND p.stock >= $3 \
         ON CONFLICT (cart_id, product_id) DO UPDATE SET quantity = excluded.quantity",
    )
    .bind(&cart_id)
    .bind(product_id)
    .bind(quantity)
    .bind(unix_now_ms())
    .execute(&db.pool)
    .await?
    .rows_affected();
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
    sqlx::query("DELETE FROM cart_lines WHERE cart_id = $1 AND product_id = $2")
        .bind(&cart_id)
        .bind(product_id)
        .execute(&db.pool)
        .await?;
    load(db, Some(&cart_id)).await
}
