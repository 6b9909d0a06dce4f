//! Catalogue queries. Used by the server functions and by the JSON API alike.

use super::{Category, Product, ProductPage, ProductQuery, Sort};
use crate::{error::AppError, money::CURRENCY, server::db::Db};
use sqlx::{any::AnyRow, Row};
use std::{
    sync::Arc,
    time::{Duration, Instant},
};

const PRODUCT_COLUMNS: &str = "p.id, p.slug, p.name, p.description, p.price_cents, p.stock, \
     c.slug AS category, c.name AS category_name, p.image_url";

fn product_from_row(row: &AnyRow) -> Result<Product, sqlx::Error> {
    Ok(Product {
        id: row.try_get("id")?,
        slug: row.try_get("slug")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        price_cents: row.try_get("price_cents")?,
        currency: CURRENCY.to_string(),
        stock: row.try_get("stock")?,
        category: row.try_get("category")?,
        category_name: row.try_get("category_name")?,
        image_url: row.try_get("image_url")?,
    })
}

/// `%`, `_` and `\` in what people type are literal characters, not patterns.
fn like_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for ch in text.to_lowercase().chars() {
        if matches!(ch, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(ch);
    }
    pattern.push('%');
    pattern
}

pub async fn list(db: &Db, query: &ProductQuery) -> Result<ProductPage, AppError> {
    let filter = "FROM products p JOIN categories c ON c.id = p.category_id \
         WHERE ($1 = '' OR c.slug = $1) \
         AND ($2 = '' OR LOWER(p.name) LIKE $3 ESCAPE '\\' OR LOWER(p.description) LIKE $3 ESCAPE '\\')";
    let order = match query.sort {
        Sort::Name => "p.name ASC, p.id ASC",
        Sort::PriceAsc => "p.price_cents ASC, p.name ASC, p.id ASC",
        Sort::PriceDesc => "p.price_cents DESC, p.name ASC, p.id ASC",
    };
    let pattern = like_pattern(&query.q);
    // Without search text the count is the categories' tally, which every listing shows anyway
    // (and is kept: `CategoryCache`); only a search needs counting.
    let total: i64 = if query.q.is_empty() {
        db.categories
            .get(db)
            .await?
            .iter()
            .filter(|c| query.category.is_empty() || c.slug == query.category)
            .map(|c| c.product_count)
            .sum()
    } else {
        sqlx::query_scalar(&format!("SELECT COUNT(*) {filter}"))
            .bind(&query.category)
            .bind(&query.q)
            .bind(&pattern)
            .fetch_one(&mut *db.read().await?)
            .await?
    };
    let offset = (query.page - 1).saturating_mul(query.per_page);
    let rows = sqlx::query(&format!("SELECT {PRODUCT_COLUMNS} {filter} ORDER BY {order} LIMIT $4 OFFSET $5"))
        .bind(&query.category)
        .bind(&query.q)
        .bind(&pattern)
        .bind(query.per_page)
        .bind(offset)
        .fetch_all(&mut *db.read().await?)
        .await?;
    let items = rows.iter().map(product_from_row).collect::<Result<Vec<_>, _>>()?;
    Ok(ProductPage { items, total, page: query.page, per_page: query.per_page })
}

/// Every category with the number of products in it, in the shop's order.
pub async fn categories(db: &Db) -> Result<Vec<Category>, AppError> {
    Ok(db.categories.get(db).await?.to_vec())
}

/// How long the categories and their counts are kept. They change only when products are
/// added or removed, which the shop itself never does (selling changes stock, not counts): a
/// product added straight into the database shows in the counts, on every instance, within this.
pub const CATEGORIES_TTL: Duration = Duration::from_secs(5);

/// The categories and their counts, read from the database at most once per `CATEGORIES_TTL`.
/// Every catalogue page shows them, and the listing's total comes from them: without the copy,
/// each page would count every product twice.
#[derive(Debug, Default)]
pub struct CategoryCache {
    current: std::sync::RwLock<Option<(Instant, Arc<[Category]>)>>,
    /// One request reads them again when they are due; the others wait for it, not the database.
    refreshing: tokio::sync::Mutex<()>,
}

impl CategoryCache {
    fn fresh(&self) -> Option<Arc<[Category]>> {
        let current = self.current.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        current.as_ref().filter(|(at, _)| at.elapsed() < CATEGORIES_TTL).map(|(_, list)| list.clone())
    }

    pub async fn get(&self, db: &Db) -> Result<Arc<[Category]>, AppError> {
        if let Some(list) = self.fresh() {
            return Ok(list);
        }
        let _turn = self.refreshing.lock().await;
        if let Some(list) = self.fresh() {
            return Ok(list);
        }
        let list: Arc<[Category]> = read_categories(db).await?.into();
        *self.current.write().unwrap_or_else(|poisoned| poisoned.into_inner()) =
            Some((Instant::now(), list.clone()));
        Ok(list)
    }
}

async fn read_categories(db: &Db) -> Result<Vec<Category>, AppError> {
    let rows = sqlx::query(
        "SELECT c.slug, c.name, COUNT(p.id) AS product_count \
         FROM categories c LEFT JOIN products p ON p.category_id = c.id \
         GROUP BY c.id, c.slug, c.name, c.position ORDER BY c.position, c.name",
    )
    .fetch_all(&mut *db.read().await?)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(Category {
                slug: row.try_get("slug")?,
                name: row.try_get("name")?,
                product_count: row.try_get("product_count")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()
        .map_err(AppError::from)
}

pub async fn by_slug(db: &Db, slug: &str) -> Result<Product, AppError> {
    // Slugs are short, lower-case words and dashes; anything else cannot name a product (and a
    // NUL byte would not even reach PostgreSQL as text).
    let plausible = !slug.is_empty()
        && slug.len() <= 100
        && slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !plausible {
        return Err(AppError::NotFound("Product".into()));
    }
    let row = sqlx::query(&format!(
        "SELECT {PRODUCT_COLUMNS} FROM products p JOIN categories c ON c.id = p.category_id \
         WHERE p.slug = $1"
    ))
    .bind(slug)
    .fetch_optional(&mut *db.read().await?)
    .await?;
    match row {
        Some(row) => Ok(product_from_row(&row)?),
        None => Err(AppError::NotFound("Product".into())),
    }
}

pub async fn by_id(db: &Db, id: i64) -> Result<Product, AppError> {
    fetch_by_id(&mut *db.read().await?, id).await
}

/// `by_id` on a connection the caller holds (inside its transaction): a request that holds a
/// connection while it waits for a second one from the pool can wait for ever when every
/// connection is held by requests waiting on it (a merge holding a cart's lock).
pub async fn by_id_on(conn: &mut sqlx::AnyConnection, id: i64) -> Result<Product, AppError> {
    fetch_by_id(conn, id).await
}

async fn fetch_by_id<'c>(
    executor: impl sqlx::Executor<'c, Database = sqlx::Any>,
    id: i64,
) -> Result<Product, AppError> {
    let row = sqlx::query(&format!(
        "SELECT {PRODUCT_COLUMNS} FROM products p JOIN categories c ON c.id = p.category_id \
         WHERE p.id = $1"
    ))
    .bind(id)
    .fetch_optional(executor)
    .await?;
    match row {
        Some(row) => Ok(product_from_row(&row)?),
        None => Err(AppError::NotFound("Product".into())),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn like_pattern_escapes_wildcards() {
        assert_eq!(super::like_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
        assert_eq!(super::like_pattern("Apple"), "%apple%");
    }
}
