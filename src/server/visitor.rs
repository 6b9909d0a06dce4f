//! Who is making this request. For now every visitor is a guest whose cart id lives in the
//! session (cookie `shop_session`); the server functions and the JSON API both resolve the
//! visitor here and nowhere else.

use crate::error::AppError;
use axum::{extract::FromRequestParts, http::request::Parts};
use tower_sessions::Session;

const CART_KEY: &str = "cart_id";

pub struct Visitor {
    session: Session,
}

impl Visitor {
    pub fn new(session: Session) -> Visitor {
        Visitor { session }
    }

    /// Inside a server function.
    pub async fn from_server_fn() -> Result<Visitor, AppError> {
        let session = leptos_axum::extract::<Session>().await.map_err(|error| {
            tracing::error!(%error, "session layer missing");
            AppError::Internal
        })?;
        Ok(Visitor::new(session))
    }

    /// The guest's cart, if they have made one.
    pub async fn cart_id(&self) -> Result<Option<String>, AppError> {
        Ok(self.session.get::<String>(CART_KEY).await?)
    }

    /// The guest's cart, made now if they have none. Making one stores its id in the
    /// session, which is what sets the session cookie.
    pub async fn cart_id_or_new(&self) -> Result<String, AppError> {
        if let Some(id) = self.cart_id().await? {
            return Ok(id);
        }
        let id = uuid::Uuid::new_v4().simple().to_string();
        self.session.insert(CART_KEY, &id).await?;
        Ok(id)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Visitor {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let session = Session::from_request_parts(parts, state).await.map_err(|(_, message)| {
            tracing::error!(message, "session layer missing");
            AppError::Internal
        })?;
        Ok(Visitor::new(session))
    }
}
