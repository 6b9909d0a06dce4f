//! The cart: lines of products with quantities, kept on the server.

pub mod pages;
#[cfg(feature = "ssr")]
pub mod service;

use crate::{
    auth::{client::BearerClient, GuestLine},
    error::AppError,
};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// No line holds more than this many of one product, whatever the stock.
pub const MAX_LINE_QUANTITY: i64 = 99;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartLine {
    pub product_id: i64,
    pub slug: String,
    pub name: String,
    pub unit_price_cents: i64,
    pub quantity: i64,
    pub line_total_cents: i64,
    pub stock: i64,
    pub image_url: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cart {
    pub lines: Vec<CartLine>,
    pub item_count: i64,
    pub subtotal_cents: i64,
    pub currency: String,
}

impl Cart {
    pub fn from_lines(lines: Vec<CartLine>) -> Cart {
        Cart {
            item_count: lines.iter().map(|l| l.quantity).sum(),
            subtotal_cents: lines.iter().map(|l| l.line_total_cents).sum(),
            currency: crate::money::CURRENCY.to_string(),
            lines,
        }
    }
}

/// A quantity to add: a whole number from 1 to 99.
pub fn check_added_quantity(quantity: i64) -> Result<(), AppError> {
    if (1..=MAX_LINE_QUANTITY).contains(&quantity) {
        Ok(())
    } else {
        Err(AppError::invalid(format!("The quantity must be a whole number from 1 to {MAX_LINE_QUANTITY}.")))
    }
}

/// A quantity to set a line to: 0 (remove it) to 99.
pub fn check_set_quantity(quantity: i64) -> Result<(), AppError> {
    if (0..=MAX_LINE_QUANTITY).contains(&quantity) {
        Ok(())
    } else {
        Err(AppError::invalid(format!("The quantity must be a whole number from 0 to {MAX_LINE_QUANTITY}.")))
    }
}

#[server(prefix = "/fn", endpoint = "cart/get", client = BearerClient)]
pub async fn get_cart() -> Result<Cart, AppError> {
    use crate::server::{respond, state, visitor::Visitor};
    let state = state()?;
    let result = async {
        let visitor = Visitor::from_server_fn().await?;
        service::load(&state.db, visitor.cart_id().await?.as_deref()).await
    };
    respond(result.await)
}

#[server(prefix = "/fn", endpoint = "cart/add", client = BearerClient)]
pub async fn add_to_cart(product_id: i64, quantity: i64) -> Result<Cart, AppError> {
    use crate::server::{respond, state, visitor::Visitor};
    let state = state()?;
    let result = async {
        let visitor = Visitor::from_server_fn().await?;
        service::add(&state.db, &visitor, product_id, quantity).await
    };
    respond(result.await)
}

#[server(prefix = "/fn", endpoint = "cart/set", client = BearerClient)]
pub async fn set_cart_quantity(product_id: i64, quantity: i64) -> Result<Cart, AppError> {
    use crate::server::{respond, state, visitor::Visitor};
    let state = state()?;
    let result = async {
        let visitor = Visitor::from_server_fn().await?;
        service::set(&state.db, &visitor, product_id, quantity).await
    };
    respond(result.await)
}

#[server(prefix = "/fn", endpoint = "cart/remove", client = BearerClient)]
pub async fn remove_from_cart(product_id: i64) -> Result<Cart, AppError> {
    use crate::server::{respond, state, visitor::Visitor};
    let state = state()?;
    let result = async {
        let visitor = Visitor::from_server_fn().await?;
        service::remove(&state.db, &visitor, product_id).await
    };
    respond(result.await)
}

/// Prices a cart the browser holds (a token-mode guest's); nothing is stored.
#[server(prefix = "/fn", endpoint = "cart/preview", client = BearerClient, input = leptos::server_fn::codec::Json)]
pub async fn preview_cart(lines: Vec<GuestLine>, changed: Option<i64>) -> Result<Cart, AppError> {
    use crate::server::{respond, state};
    let state = state()?;
    respond(service::preview(&state.db, &lines, changed).await)
}
