//! Checkout and orders: one order per intent, prices as charged, stock that never goes below 0.

pub mod pages;
#[cfg(feature = "ssr")]
pub mod service;

use crate::{auth::client::BearerClient, error::AppError};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    pub product_id: i64,
    pub name: String,
    pub unit_price_cents: i64,
    pub quantity: i64,
    pub line_total_cents: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shipping {
    pub name: String,
    pub address: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub id: i64,
    /// RFC 3339.
    pub created_at: String,
    pub status: String,
    pub lines: Vec<OrderLine>,
    pub total_cents: i64,
    pub currency: String,
    pub shipping: Shipping,
}

pub const MAX_KEY_CHARS: usize = 100;

/// Checks what the buyer typed; the same rules for the page and the API.
pub fn check_shipping(shipping: &Shipping) -> Result<Shipping, AppError> {
    let name = shipping.name.trim();
    let address = shipping.address.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(AppError::invalid("Enter the name to ship to (1 to 100 characters)."));
    }
    if address.is_empty()
        || address.chars().count() > 500
        || address.chars().any(|c| c.is_control() && c != '\n' && c != '\r')
    {
        return Err(AppError::invalid("Enter the shipping address (1 to 500 characters)."));
    }
    Ok(Shipping { name: name.to_string(), address: address.to_string() })
}

pub fn check_key(key: &str) -> Result<(), AppError> {
    let ok =
        !key.is_empty() && key.chars().count() <= MAX_KEY_CHARS && key.chars().all(|c| c.is_ascii_graphic());
    if ok {
        Ok(())
    } else {
        Err(AppError::invalid(format!(
            "An Idempotency-Key of 1 to {MAX_KEY_CHARS} visible ASCII characters is required."
        )))
    }
}

/// A fresh key for one intent to buy, made when the checkout page loads.
#[server(prefix = "/fn", endpoint = "orders/key", client = BearerClient)]
pub async fn checkout_key() -> Result<String, AppError> {
    Ok(uuid::Uuid::new_v4().simple().to_string())
}

#[server(prefix = "/fn", endpoint = "orders/place", client = BearerClient)]
pub async fn place_order(
    name: String,
    address: String,
    idempotency_key: String,
    expected_total_cents: Option<i64>,
) -> Result<Order, AppError> {
    use crate::server::{redirect_plain_form, respond, state, visitor::Visitor};
    let result = async {
        let state = state()?;
        let visitor = Visitor::from_server_fn().await?;
        let user = visitor.user.clone().ok_or(AppError::Unauthenticated)?;
        let (order, _) = service::place(
            &state.db,
            user.id,
            &idempotency_key,
            &Shipping { name, address },
            expected_total_cents,
        )
        .await?;
        redirect_plain_form(&format!("/orders/{}", order.id));
        Ok(order)
    };
    respond(result.await)
}

#[server(prefix = "/fn", endpoint = "orders/list", client = BearerClient)]
pub async fn list_orders() -> Result<Vec<Order>, AppError> {
    use crate::server::{respond, state, visitor::Visitor};
    let result = async {
        let state = state()?;
        let visitor = Visitor::from_server_fn().await?;
        let user = visitor.user.clone().ok_or(AppError::Unauthenticated)?;
        service::list(&state.db, user.id).await
    };
    respond(result.await)
}

#[server(prefix = "/fn", endpoint = "orders/get", client = BearerClient)]
pub async fn get_order(id: i64) -> Result<Order, AppError> {
    use crate::server::{respond, state, visitor::Visitor};
    let result = async {
        let state = state()?;
        let visitor = Visitor::from_server_fn().await?;
        let user = visitor.user.clone().ok_or(AppError::Unauthenticated)?;
        service::get(&state.db, user.id, id).await
    };
    respond(result.await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipping_and_key_rules() {
        let ok = Shipping { name: " Ann ".into(), address: "1 Leaf Lane\nGreenville".into() };
        assert_eq!(check_shipping(&ok).unwrap().name, "Ann");
        assert!(check_shipping(&Shipping { name: "".into(), address: "x".into() }).is_err());
        assert!(check_shipping(&Shipping { name: "Ann".into(), address: " ".into() }).is_err());
        assert!(check_shipping(&Shipping { name: "Ann".into(), address: "a".repeat(501) }).is_err());
        assert!(check_key("abc-123").is_ok());
        assert!(check_key("").is_err());
        assert!(check_key("has space").is_err());
        assert!(check_key(&"k".repeat(101)).is_err());
    }
}
