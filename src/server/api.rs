//! The JSON API under `/api/v1`, for clients that are not the browser app. Each handler reads
//! and checks its input, then calls the same domain functions as the server functions.

use super::{
    json::{IdPath, Json},
    visitor::Visitor,
    AppState,
};
use crate::{
    cart::{self, Cart},
    catalog::{self, Category, Product, ProductPage, ProductQuery, RawProductQuery},
    error::AppError,
};
use axum::{
    extract::{Query, State},
    routing::{get, post, put},
    Router,
};
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/products", get(list_products))
        .route("/products/{slug}", get(get_product))
        .route("/categories", get(list_categories))
        .route("/cart", get(get_cart))
        .route("/cart/items", post(add_item))
        .route("/cart/items/{product_id}", put(set_item).delete(remove_item))
        .fallback(|| async { AppError::NotFound("This API route".into()) })
}

type ApiResult<T> = Result<axum::Json<T>, AppError>;

async fn list_products(
    State(state): State<AppState>,
    query: Result<Query<RawProductQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<ProductPage> {
    let Query(raw) = query.map_err(|_| AppError::invalid("The query string could not be read."))?;
    let query = ProductQuery::strict(&raw)?;
    Ok(axum::Json(catalog::service::list(&state.db, &query).await?))
}

async fn get_product(
    State(state): State<AppState>,
    axum::extract::Path(slug): axum::extract::Path<String>,
) -> ApiResult<Product> {
    Ok(axum::Json(catalog::service::by_slug(&state.db, &slug).await?))
}

async fn list_categories(State(state): State<AppState>) -> ApiResult<Vec<Category>> {
    Ok(axum::Json(catalog::service::categories(&state.db).await?))
}

async fn get_cart(State(state): State<AppState>, visitor: Visitor) -> ApiResult<Cart> {
    let cart_id = visitor.cart_id().await?;
    Ok(axum::Json(cart::service::load(&state.db, cart_id.as_deref()).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AddItem {
    product_id: i64,
    quantity: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetItem {
    quantity: i64,
}

async fn add_item(
    State(state): State<AppState>,
    visitor: Visitor,
    Json(body): Json<AddItem>,
) -> ApiResult<Cart> {
    Ok(axum::Json(cart::service::add(&state.db, &visitor, body.product_id, body.quantity).await?))
}

async fn set_item(
    State(state): State<AppState>,
    visitor: Visitor,
    IdPath(product_id): IdPath,
    Json(body): Json<SetItem>,
) -> ApiResult<Cart> {
    Ok(axum::Json(cart::service::set(&state.db, &visitor, product_id, body.quantity).await?))
}

async fn remove_item(
    State(state): State<AppState>,
    visitor: Visitor,
    IdPath(product_id): IdPath,
) -> ApiResult<Cart> {
    Ok(axum::Json(cart::service::remove(&state.db, &visitor, product_id).await?))
}
