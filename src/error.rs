//! The one error type. Every failure the shop reports — from a server function, from the
//! JSON API, or from the client failing to reach the server — is an `AppError`. Its message
//! is always safe to show; internal causes are logged on the server and never sent.

use leptos::server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "code", content = "detail", rename_all = "snake_case")]
pub enum AppError {
    /// Malformed JSON, wrong types, out-of-range values.
    #[error("{0}")]
    InvalidInput(String),
    #[error("Please sign in to continue.")]
    Unauthenticated,
    #[error("The email or password is not correct.")]
    InvalidCredentials,
    #[error("This request was refused.")]
    Forbidden,
    /// What was not found, e.g. "Product".
    #[error("{0} was not found.")]
    NotFound(String),
    #[error("{0}")]
    InsufficientStock(String),
    #[error("Your cart is empty.")]
    CartEmpty,
    /// A price changed since the user last saw their cart; nothing was charged.
    #[error("{0}")]
    PriceChanged(String),
    #[error("An account with this email already exists.")]
    EmailTaken,
    #[error("The request body is too large.")]
    PayloadTooLarge,
    /// The body did not arrive in time (`BODY_READ_TIMEOUT`).
    #[error("The request took too long to arrive. Please try again.")]
    RequestTimeout,
    /// Too many sign-in or registration attempts; the number is the seconds to wait.
    #[error("Too many attempts. Please try again in {}.", wait_words(*.0))]
    RateLimited(u64),
    #[error("The shop is temporarily unavailable. Please try again shortly.")]
    Unavailable,
    /// The browser could not reach the server, or could not read its answer.
    #[error("Could not reach the shop. Check your connection and try again.")]
    Network,
    #[error("Something went wrong on our side. Please try again.")]
    Internal,
}

impl AppError {
    pub fn invalid(message: impl Into<String>) -> Self {
        AppError::InvalidInput(message.into())
    }

    /// The contract's snake_case error code.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::InvalidInput(_) => "invalid_input",
            AppError::Unauthenticated => "unauthenticated",
            AppError::InvalidCredentials => "invalid_credentials",
            AppError::Forbidden => "forbidden",
            AppError::NotFound(_) => "not_found",
            AppError::InsufficientStock(_) => "insufficient_stock",
            AppError::CartEmpty => "cart_empty",
            AppError::PriceChanged(_) => "price_changed",
            AppError::EmailTaken => "email_taken",
            AppError::PayloadTooLarge => "payload_too_large",
            AppError::RequestTimeout => "request_timeout",
            AppError::RateLimited(_) => "rate_limited",
            AppError::Unavailable => "unavailable",
            AppError::Network => "network",
            AppError::Internal => "internal",
        }
    }

    /// The HTTP status this error is answered with.
    pub fn status(&self) -> u16 {
        match self {
            AppError::InvalidInput(_) => 400,
            AppError::Unauthenticated | AppError::InvalidCredentials => 401,
            AppError::Forbidden => 403,
            AppError::NotFound(_) => 404,
            AppError::InsufficientStock(_)
            | AppError::CartEmpty
            | AppError::EmailTaken
            | AppError::PriceChanged(_) => 409,
            AppError::PayloadTooLarge => 413,
            AppError::RequestTimeout => 408,
            AppError::RateLimited(_) => 429,
            AppError::Unavailable => 503,
            AppError::Network => 502,
            AppError::Internal => 500,
        }
    }
}

impl AppError {
    /// The error a plain form post (no JavaScript) was redirected back with, in the URL's
    /// `__err`. Anyone can write that URL and send the link, so only the code is believed: an
    /// error whose message is free text gets the fixed sentence of its kind, never text from
    /// the link ("Your card was declined, pay by bank transfer to…").
    pub fn from_url(encoded: &str) -> AppError {
        use leptos::server_fn::error::ServerFnUrlError;
        match ServerFnUrlError::<AppError>::decode_err(encoded) {
            AppError::InvalidInput(_) => {
                AppError::invalid("The form could not be read: check the values you entered.")
            }
            AppError::NotFound(_) => AppError::NotFound("That item".into()),
            AppError::InsufficientStock(_) => AppError::InsufficientStock(
                "There is not enough in stock for that: the page shows what is available.".into(),
            ),
            AppError::PriceChanged(_) => AppError::PriceChanged(
                "A price in your cart has changed. Check the new total and place the order again.".into(),
            ),
            AppError::RateLimited(seconds) => AppError::RateLimited(seconds.min(24 * 3600)),
            fixed => fixed,
        }
    }
}

/// "40 seconds", "1 minute", "15 minutes".
fn wait_words(seconds: u64) -> String {
    match seconds {
        0..=1 => "a second".to_string(),
        2..=59 => format!("{seconds} seconds"),
        60..=119 => "a minute".to_string(),
        _ => format!("{} minutes", seconds.div_ceil(60)),
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            // The arguments could not be read: the client's mistake.
            ServerFnErrorErr::Args(message) | ServerFnErrorErr::MissingArg(message) => {
                let _ = message;
                AppError::invalid("The form could not be read: check the values you entered.")
            }
            // On the server these mean the request could not be read: the client's mistake.
            #[cfg(feature = "ssr")]
            ServerFnErrorErr::Request(_)
            | ServerFnErrorErr::Response(_)
            | ServerFnErrorErr::Deserialization(_) => AppError::invalid("The request could not be read."),
            // In the browser they mean the server could not be reached or understood.
            #[cfg(not(feature = "ssr"))]
            ServerFnErrorErr::Request(_)
            | ServerFnErrorErr::Response(_)
            | ServerFnErrorErr::Deserialization(_) => AppError::Network,
            ServerFnErrorErr::UnsupportedRequestMethod(_) => {
                AppError::invalid("This method is not supported here.")
            }
            _ => AppError::Internal,
        }
    }
}

#[cfg(feature = "ssr")]
mod server {
    use super::AppError;
    use axum::{
        http::StatusCode,
        response::{IntoResponse, Response},
        Json,
    };

    impl AppError {
        pub fn status_code(&self) -> StatusCode {
            StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
        }

        /// `Retry-After` for a refusal that ends by itself.
        pub fn retry_after(&self) -> Option<(axum::http::HeaderName, axum::http::HeaderValue)> {
            match self {
                AppError::RateLimited(seconds) => {
                    Some((axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(*seconds)))
                }
                _ => None,
            }
        }

        /// The contract's body: `{"error":{"code":…,"message":…}}`.
        pub fn body(&self) -> serde_json::Value {
            serde_json::json!({ "error": { "code": self.code(), "message": self.to_string() } })
        }
    }

    impl IntoResponse for AppError {
        fn into_response(self) -> Response {
            let mut response = (self.status_code(), Json(self.body())).into_response();
            if let Some((name, value)) = self.retry_after() {
                response.headers_mut().insert(name, value);
            }
            response
        }
    }

    impl From<sqlx::Error> for AppError {
        fn from(error: sqlx::Error) -> Self {
            match &error {
                _ if crate::server::faults::is_unavailable(&error) => {
                    tracing::warn!(%error, "database unavailable");
                    AppError::Unavailable
                }
                // Text PostgreSQL cannot store (a NUL byte) that slipped past the input checks:
                // still the client's mistake.
                sqlx::Error::Database(db) if db.code().as_deref() == Some("22021") => {
                    tracing::warn!(%error, "text refused by the database");
                    AppError::invalid("The text contains a character that is not allowed.")
                }
                _ => {
                    tracing::error!(%error, "database error");
                    AppError::Internal
                }
            }
        }
    }

    impl From<tower_sessions::session::Error> for AppError {
        fn from(error: tower_sessions::session::Error) -> Self {
            tracing::error!(%error, "session store error");
            AppError::Unavailable
        }
    }
}
