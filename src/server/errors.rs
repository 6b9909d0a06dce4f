//! Keeps every error answer of the JSON API and the server functions in the contract's shape,
//! including those made below the handlers (wrong method, bad path encoding, body too large,
//! unknown route) and the server functions' own argument errors.

use crate::error::AppError;
use axum::{
    body::{to_bytes, Body},
    extract::Request,
    http::{header::CONTENT_TYPE, HeaderValue, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};

/// Error bodies are small; anything larger is left as it is.
const MAX_ERROR_BODY: usize = 64 * 1024;

pub async fn json_error_bodies(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let is_api = path.starts_with("/api/");
    let is_fn = path.starts_with("/fn/");
    let response = next.run(request).await;
    if !(is_api || is_fn) || response.status().is_success() || response.status().is_redirection() {
        return response;
    }
    let status = response.status();
    let is_json = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !is_json {
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            // A bare 500 from below the handlers comes from the session layer, which answers
            // so when it cannot save the session: the session store, the database, failed
            // after the handler had succeeded. That is the database being unavailable, and
            // the client may try again: 503, like any other database failure.
            return AppError::Unavailable.into_response();
        }
        return from_status(status).into_response_with(status);
    }
    if is_fn && status == StatusCode::INTERNAL_SERVER_ERROR {
        // A server function failed before our code ran (e.g. unreadable arguments): its body
        // is an AppError; answer with that error's own status.
        let (parts, body) = response.into_parts();
        let Ok(bytes) = to_bytes(body, MAX_ERROR_BODY).await else {
            return AppError::Internal.into_response();
        };
        if let Ok(error) = serde_json::from_slice::<AppError>(&bytes) {
            let mut response = Response::from_parts(parts, Body::from(bytes));
            *response.status_mut() = error.status_code();
            return response;
        }
        return Response::from_parts(parts, Body::from(bytes));
    }
    response
}

fn from_status(status: StatusCode) -> AppError {
    match status.as_u16() {
        404 => AppError::NotFound("This route".into()),
        405 => AppError::invalid("This method is not allowed here."),
        413 => AppError::PayloadTooLarge,
        408 => AppError::RequestTimeout,
        401 => AppError::Unauthenticated,
        403 => AppError::Forbidden,
        429 => AppError::RateLimited(60),
        503 => AppError::Unavailable,
        400..=499 => AppError::invalid("The request could not be read."),
        _ => AppError::Internal,
    }
}

trait WithStatus {
    fn into_response_with(self, status: StatusCode) -> Response;
}

impl WithStatus for AppError {
    /// The JSON error body, keeping the status the layer below chose (e.g. 405, 414).
    fn into_response_with(self, status: StatusCode) -> Response {
        let mut response = (status, axum::Json(self.body())).into_response();
        response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        response
    }
}
