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
    let mut writer = db.write_conn().await?;
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
    // To the statement's end, so SQLite checkpoints its log after the commit (server::db).
    .fetch_all(&mut *writer)
    .await?
    .pop();
    drop(writer);
    if updated.is_none() {
        let product = catalog::service::by_id(db, product_id).await?;
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
        .fetch_optional(&db.pool)
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
    .execute(&db.pool)
    .await?;
    user_cart_id(db, user_id).await?.ok_or(AppError::Internal)
}

pub async fn delete_cart(db: &Db, cart_id: &str) -> Result<(), AppError> {
    sqlx::query("DELETE FROM cart_lines WHERE cart_id = $1").bind(cart_id).execute(&db.pool).await?;
    sqlx::query("DELETE FROM carts WHERE id = $1").bind(cart_id).execute(&db.pool).await?;
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
        let mut conn = db.pool.acquire().await?;
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
