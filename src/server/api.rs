//! The JSON API under `/api/v1`, for clients that are not the browser app. Each handler reads
//! and checks its input, then calls the same domain functions as the server functions.

use super::{
    json::{IdPath, Json},
    visitor::Visitor,
    AppState,
};
use crate::{
    auth::{self, limits::ClientKey, AuthMode, GuestLine, SignedIn, User},
    cart::{self, Cart},
    catalog::{self, Category, Product, ProductPage, ProductQuery, RawProductQuery},
    error::AppError,
    orders::{self, Order, Shipping},
};
use axum::{
    extract::{Query, State},
    http::{HeaderName, StatusCode},
    response::IntoResponse,
    routing::{get, post, put},
    Router,
};
use serde::Deserialize;

const CLEAR_SITE_DATA: HeaderName = HeaderName::from_static("clear-site-data");

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/products", get(list_products))
        .route("/products/{slug}", get(get_product))
        .route("/categories", get(list_categories))
        .route("/cart", get(get_cart))
        .route("/cart/items", post(add_item))
        .route("/cart/items/{product_id}", put(set_item).delete(remove_item))
        .route("/cart/merge", post(merge_cart))
        .route("/auth/register", post(register))
        .route("/auth/login", post(login))
        .route("/auth/logout", post(logout))
        .route("/auth/logout-all", post(logout_all))
        .route("/auth/switch", post(switch))
        .route("/me", get(me))
        .route("/orders", post(place_order).get(list_orders))
        .route("/orders/{id}", get(get_order))
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

#[derive(Deserialize)]
struct MergeBody {
    lines: Vec<GuestLine>,
}

async fn merge_cart(
    State(state): State<AppState>,
    visitor: Visitor,
    Json(body): Json<MergeBody>,
) -> ApiResult<Cart> {
    if visitor.user.is_none() {
        return Err(AppError::Unauthenticated);
    }
    Ok(axum::Json(cart::service::merge(&state.db, &visitor, &body.lines).await?))
}

#[derive(Deserialize)]
struct RegisterBody {
    email: String,
    password: String,
    name: String,
}

#[derive(serde::Serialize)]
struct UserBody {
    user: User,
}

async fn register(
    State(state): State<AppState>,
    client: ClientKey,
    Json(body): Json<RegisterBody>,
) -> Result<impl IntoResponse, AppError> {
    let user = auth::service::register(&state, &client, &body.email, &body.password, &body.name).await?;
    Ok((StatusCode::CREATED, axum::Json(UserBody { user })))
}

#[derive(Deserialize)]
struct LoginBody {
    email: String,
    password: String,
    mode: String,
}

fn parse_mode(mode: &str) -> Result<AuthMode, AppError> {
    AuthMode::parse(mode).ok_or_else(|| AppError::invalid("mode must be \"session\" or \"token\"."))
}

async fn login(
    State(state): State<AppState>,
    visitor: Visitor,
    client: ClientKey,
    Json(body): Json<LoginBody>,
) -> ApiResult<SignedIn> {
    let mode = parse_mode(&body.mode)?;
    let user = auth::service::authenticate(&state, &client, &body.email, &body.password).await?;
    Ok(axum::Json(auth::service::sign_in(&state, &visitor, user, mode).await?))
}

type SignedOut = (StatusCode, [(HeaderName, &'static str); 1]);

fn signed_out(mode: Option<AuthMode>) -> SignedOut {
    (StatusCode::NO_CONTENT, [(CLEAR_SITE_DATA, auth::service::clear_site_data(mode))])
}

async fn logout(State(state): State<AppState>, visitor: Visitor) -> Result<SignedOut, AppError> {
    auth::service::sign_out(&state, &visitor).await?;
    Ok(signed_out(visitor.mode()))
}

async fn logout_all(State(state): State<AppState>, visitor: Visitor) -> Result<SignedOut, AppError> {
    auth::service::sign_out_everywhere(&state, &visitor).await?;
    Ok(signed_out(visitor.mode()))
}

#[derive(Deserialize)]
struct SwitchBody {
    mode: String,
}

async fn switch(
    State(state): State<AppState>,
    visitor: Visitor,
    Json(body): Json<SwitchBody>,
) -> ApiResult<SignedIn> {
    let mode = parse_mode(&body.mode)?;
    Ok(axum::Json(auth::service::switch(&state, &visitor, mode).await?))
}

#[derive(serde::Serialize)]
struct MeBody {
    user: User,
    mode: AuthMode,
}

async fn me(visitor: Visitor) -> ApiResult<MeBody> {
    match (visitor.user.clone(), visitor.mode()) {
        (Some(user), Some(mode)) => Ok(axum::Json(MeBody { user, mode })),
        _ => Err(AppError::Unauthenticated),
    }
}

#[derive(Deserialize)]
struct PlaceOrderBody {
    shipping: Shipping,
    /// The total the client showed the buyer; when given and different, 409 `price_changed`.
    expected_total_cents: Option<i64>,
}

async fn place_order(
    State(state): State<AppState>,
    visitor: Visitor,
    headers: axum::http::HeaderMap,
    Json(body): Json<PlaceOrderBody>,
) -> Result<impl IntoResponse, AppError> {
    let user = visitor.user.clone().ok_or(AppError::Unauthenticated)?;
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| AppError::invalid("The Idempotency-Key header is required."))?;
    let (order, _created) =
        orders::service::place(&state.db, user.id, key, &body.shipping, body.expected_total_cents).await?;
    // The same key again answers with the same order, and the same status.
    Ok((StatusCode::CREATED, axum::Json(order)))
}

async fn list_orders(State(state): State<AppState>, visitor: Visitor) -> ApiResult<Vec<Order>> {
    let user = visitor.user.clone().ok_or(AppError::Unauthenticated)?;
    Ok(axum::Json(orders::service::list(&state.db, user.id).await?))
}

async fn get_order(State(state): State<AppState>, visitor: Visitor, IdPath(id): IdPath) -> ApiResult<Order> {
    let user = visitor.user.clone().ok_or(AppError::Unauthenticated)?;
    Ok(axum::Json(orders::service::get(&state.db, user.id, id).await?))
}
