//! Request lines and headers beyond what any browser or client of ours sends are refused
//! early, with the JSON error: 414 for a URI over `MAX_URI_BYTES`, 431 for a header over
//! `MAX_HEADER_BYTES` or headers over `MAX_HEADERS_BYTES` in all (a 10 KB cookie or token).
//! Bodies have their own limit (413, `MAX_BODY_BYTES`).
//!
//! Below this layer hyper refuses, with an empty 431, what it cannot parse at all: more than
//! 100 headers, or a head larger than its read buffer (about 400 KB).

use crate::error::AppError;
use axum::{
    extract::Request,
    http::StatusCode,
    middleware::Next,
    response::{IntoResponse, Response},
};

pub const MAX_URI_BYTES: usize = 8 * 1024;
pub const MAX_HEADER_BYTES: usize = 8 * 1024;
pub const MAX_HEADERS_BYTES: usize = 32 * 1024;

pub async fn refuse_oversized(request: Request, next: Next) -> Response {
    let uri_bytes = request.uri().path_and_query().map_or(0, |pq| pq.as_str().len());
    if uri_bytes > MAX_URI_BYTES {
        let error = AppError::invalid(format!("The address is too long (over {MAX_URI_BYTES} bytes)."));
        return (StatusCode::URI_TOO_LONG, error).into_response();
    }
    let mut total = 0;
    for (name, value) in request.headers() {
        let size = name.as_str().len() + value.len();
        total += size;
        if size > MAX_HEADER_BYTES || total > MAX_HEADERS_BYTES {
            let error = AppError::invalid(format!(
                "A request header is too large (the limit is {MAX_HEADER_BYTES} bytes each, \
                 {MAX_HEADERS_BYTES} in all)."
            ));
            return (StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, error).into_response();
        }
    }
    next.run(request).await
}
