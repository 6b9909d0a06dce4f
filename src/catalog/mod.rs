//! The catalogue: products, categories, search, sorting and paging.

pub mod pages;
#[cfg(feature = "ssr")]
pub mod service;

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

pub const DEFAULT_PER_PAGE: i64 = 12;
pub const MAX_PER_PAGE: i64 = 100;
/// Longest search text accepted; anything longer is a client's mistake.
pub const MAX_QUERY_CHARS: usize = 100;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub price_cents: i64,
    pub currency: String,
    pub stock: i64,
    /// The category's slug.
    pub category: String,
    /// The category's name, for people.
    pub category_name: String,
    pub image_url: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Category {
    pub slug: String,
    pub name: String,
    pub product_count: i64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    #[default]
    Name,
    PriceAsc,
    PriceDesc,
}

impl Sort {
    pub const ALL: [Sort; 3] = [Sort::Name, Sort::PriceAsc, Sort::PriceDesc];

    pub fn parse(value: &str) -> Option<Sort> {
        match value {
            "name" => Some(Sort::Name),
            "price_asc" => Some(Sort::PriceAsc),
            "price_desc" => Some(Sort::PriceDesc),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Sort::Name => "name",
            Sort::PriceAsc => "price_asc",
            Sort::PriceDesc => "price_desc",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Sort::Name => "Name",
            Sort::PriceAsc => "Price: low to high",
            Sort::PriceDesc => "Price: high to low",
        }
    }
}

/// What the catalogue is asked for. Built strictly (the JSON API: bad values are a 400)
/// or leniently (pages: bad values fall back to defaults, as a shop's links should).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ProductQuery {
    pub q: String,
    pub category: String,
    pub sort: Sort,
    pub page: i64,
    pub per_page: i64,
}

impl Default for ProductQuery {
    fn default() -> Self {
        ProductQuery {
            q: String::new(),
            category: String::new(),
            sort: Sort::Name,
            page: 1,
            per_page: DEFAULT_PER_PAGE,
        }
    }
}

/// The raw query parameters, as text, before validation.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct RawProductQuery {
    pub q: Option<String>,
    pub category: Option<String>,
    pub sort: Option<String>,
    pub page: Option<String>,
    pub per_page: Option<String>,
}

impl ProductQuery {
    pub fn strict(raw: &RawProductQuery) -> Result<ProductQuery, AppError> {
        let q = raw.q.clone().unwrap_or_default();
        if q.chars().count() > MAX_QUERY_CHARS {
            return Err(AppError::invalid(format!(
                "The search text must be at most {MAX_QUERY_CHARS} characters."
            )));
        }
        if q.contains('\0') {
            return Err(AppError::invalid("The search text contains a NUL character."));
        }
        let category = raw.category.clone().unwrap_or_default();
        if category.len() > 64 || category.contains('\0') {
            return Err(AppError::invalid("The category is not valid."));
        }
        let sort = match raw.sort.as_deref() {
            None | Some("") => Sort::default(),
            Some(value) => Sort::parse(value)
                .ok_or_else(|| AppError::invalid("sort must be one of name, price_asc, price_desc."))?,
        };
        let page = parse_bounded(raw.page.as_deref(), "page", 1, 1, 1_000_000)?;
        let per_page = parse_bounded(raw.per_page.as_deref(), "per_page", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE)?;
        Ok(ProductQuery { q: q.trim().to_string(), category, sort, page, per_page })
    }

    /// Checks a query that arrived already typed (from a server function call).
    pub fn validate(&self) -> Result<(), AppError> {
        let raw = RawProductQuery {
            q: Some(self.q.clone()),
            category: Some(self.category.clone()),
            sort: Some(self.sort.as_str().to_string()),
            page: Some(self.page.to_string()),
            per_page: Some(self.per_page.to_string()),
        };
        ProductQuery::strict(&raw).map(|_| ())
    }

    /// For pages: anything unreadable falls back to its default.
    pub fn lenient(raw: &RawProductQuery) -> ProductQuery {
        let defaults = ProductQuery::default();
        let q: String = raw.q.clone().unwrap_or_default().chars().take(MAX_QUERY_CHARS).collect();
        ProductQuery {
            q: q.replace('\0', "").trim().to_string(),
            category: raw.category.clone().unwrap_or_default().chars().take(64).collect(),
            sort: raw.sort.as_deref().and_then(Sort::parse).unwrap_or_default(),
            page: raw
                .page
                .as_deref()
                .and_then(|p| p.parse::<i64>().ok())
                .filter(|p| (1..=1_000_000).contains(p))
                .unwrap_or(defaults.page),
            per_page: defaults.per_page,
        }
    }

    /// The catalogue URL for this query, with default values left out.
    pub fn href(&self) -> String {
        let mut parts = Vec::new();
        if !self.q.is_empty() {
            parts.push(format!("q={}", encode_query_value(&self.q)));
        }
        if !self.category.is_empty() {
            parts.push(format!("category={}", encode_query_value(&self.category)));
        }
        if self.sort != Sort::default() {
            parts.push(format!("sort={}", self.sort.as_str()));
        }
        if self.page != 1 {
            parts.push(format!("page={}", self.page));
        }
        if parts.is_empty() {
            "/".to_string()
        } else {
            format!("/?{}", parts.join("&"))
        }
    }

    pub fn with_page(&self, page: i64) -> ProductQuery {
        ProductQuery { page, ..self.clone() }
    }

    pub fn with_category(&self, category: &str) -> ProductQuery {
        ProductQuery { category: category.to_string(), page: 1, ..self.clone() }
    }
}

fn parse_bounded(value: Option<&str>, name: &str, default: i64, min: i64, max: i64) -> Result<i64, AppError> {
    match value {
        None | Some("") => Ok(default),
        Some(text) => match text.parse::<i64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(AppError::invalid(format!("{name} must be a whole number from {min} to {max}."))),
        },
    }
}

/// Percent-encodes a query-string value (everything but unreserved characters).
pub fn encode_query_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(byte as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductPage {
    pub items: Vec<Product>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}

impl ProductPage {
    pub fn page_count(&self) -> i64 {
        ((self.total + self.per_page - 1) / self.per_page).max(1)
    }
}

/// The page links a listing shows: the first and last pages, and two either side of the
/// current one; `None` where pages are left out (shown as "…"). A gap of a single page shows
/// that page instead, since "…" would take its place anyway.
pub fn page_links(current: i64, count: i64) -> Vec<Option<i64>> {
    const AROUND: i64 = 2;
    let current = current.clamp(1, count.max(1));
    let shown = |n: i64| n == 1 || n == count || (n - current).abs() <= AROUND;
    let mut links = Vec::new();
    let mut n = 1;
    while n <= count {
        if shown(n) || (n > 1 && n < count && shown(n - 1) && shown(n + 1)) {
            links.push(Some(n));
            n += 1;
        } else {
            links.push(None);
            // Jump to the next page that is shown.
            n = if n < current { current - AROUND } else { count };
        }
    }
    links
}

#[server(prefix = "/fn", endpoint = "catalog/products", client = crate::auth::client::BearerClient)]
pub async fn list_products(query: ProductQuery) -> Result<ProductPage, AppError> {
    let state = crate::server::state()?;
    let result = async {
        query.validate()?;
        service::list(&state.db, &query).await
    };
    crate::server::respond(result.await)
}

#[server(prefix = "/fn", endpoint = "catalog/categories", client = crate::auth::client::BearerClient)]
pub async fn list_categories() -> Result<Vec<Category>, AppError> {
    let state = crate::server::state()?;
    crate::server::respond(service::categories(&state.db).await)
}

#[server(prefix = "/fn", endpoint = "catalog/product", client = crate::auth::client::BearerClient)]
pub async fn get_product(slug: String) -> Result<Product, AppError> {
    let state = crate::server::state()?;
    crate::server::respond(service::by_slug(&state.db, &slug).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_links_show_the_ends_and_the_neighbourhood() {
        let show = |current, count| {
            page_links(current, count)
                .into_iter()
                .map(|link| link.map_or("…".to_string(), |n| n.to_string()))
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert_eq!(show(1, 1), "1");
        assert_eq!(show(2, 3), "1 2 3");
        assert_eq!(show(1, 7), "1 2 3 … 7");
        assert_eq!(show(1, 45), "1 2 3 … 45");
        assert_eq!(show(5, 45), "1 2 3 4 5 6 7 … 45");
        assert_eq!(show(6, 45), "1 … 4 5 6 7 8 … 45");
        assert_eq!(show(23, 45), "1 … 21 22 23 24 25 … 45");
        assert_eq!(show(45, 45), "1 … 43 44 45");
        assert_eq!(show(41, 45), "1 … 39 40 41 42 43 44 45");
        assert_eq!(show(4, 6), "1 2 3 4 5 6");
        // Beyond the last page (a stale link): the last pages are shown.
        assert_eq!(show(99, 45), "1 … 43 44 45");
    }

    fn raw(pairs: &[(&str, &str)]) -> RawProductQuery {
        let mut raw = RawProductQuery::default();
        for (k, v) in pairs {
            let v = Some(v.to_string());
            match *k {
                "q" => raw.q = v,
                "category" => raw.category = v,
                "sort" => raw.sort = v,
                "page" => raw.page = v,
                "per_page" => raw.per_page = v,
                _ => unreachable!(),
            }
        }
        raw
    }

    #[test]
    fn strict_rejects_what_lenient_forgives() {
        for bad in [
            ("page", "0"),
            ("page", "-1"),
            ("page", "x"),
            ("per_page", "101"),
            ("per_page", "0"),
            ("sort", "random"),
            ("page", "99999999999999999999999"),
        ] {
            assert!(ProductQuery::strict(&raw(&[bad])).is_err(), "{bad:?}");
            assert_eq!(ProductQuery::lenient(&raw(&[bad])).page, 1);
        }
    }

    #[test]
    fn href_round_trips_the_interesting_parts() {
        let q = ProductQuery::strict(&raw(&[("q", "red apple&"), ("sort", "price_desc"), ("page", "2")]))
            .unwrap();
        assert_eq!(q.href(), "/?q=red+apple%26&sort=price_desc&page=2");
        assert_eq!(ProductQuery::default().href(), "/");
        assert_eq!(q.with_category("fruit").href(), "/?q=red+apple%26&category=fruit&sort=price_desc");
    }
}
