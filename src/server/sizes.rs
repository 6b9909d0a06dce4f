//! Requests a shop has no use for are refused early, with the JSON error: `CONNECT` (405);
//! request lines and headers beyond what any browser or client of ours sends are refused
//! early, with the JSON error: 414 for a URI over `MAX_URI_BYTES`, 431 for a header over
//! `MAX_HEADER_BYTES` or headers over `MAX_HEADERS_BYTES` in all (a 10 KB cookie or token).
//! Bodies have their own limit (413, `MAX_BODY_BYTES`); a server function's body is read
//! whole here, so that one sent without a Content-Length gets that 413 too (the server
//! functions would call a cut-off body unreadable: 400).
//!
//! Below this layer hyper refuses, with an empty 431, what it cannot parse at all: more than
//! 100 headers, or a head larger than its read buffer (about 400 KB).

use crate::error::AppError;
use axum::{
    body::{to_bytes, Body},
    extract::Request,
    http::StatusCode,
    middleware::Next,
    response::{IntoResponse, Response},
};

pub const MAX_URI_BYTES: usize = 8 * 1024;
pub const MAX_HEADER_BYTES: usize = 8 * 1024;
pub const MAX_HEADERS_BYTES: usize = 32 * 1024;
/// A body (at most 64 KiB) that takes longer than this to arrive is a 408.
pub const BODY_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

pub async fn refuse_oversized(request: Request, next: Next) -> Response {
    // `CONNECT host:port` (an authority, no path) is for proxies; the page renderer would
    // panic on a request without a path.
    if request.method() == axum::http::Method::CONNECT || request.uri().path_and_query().is_none() {
        let error = AppError::invalid("This method is not allowed here.");
        return (StatusCode::METHOD_NOT_ALLOWED, error).into_response();
    }
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

/// Reads a server function's body whole (at most `MAX_BODY_BYTES`) before the function runs.
pub async fn buffer_server_fn_bodies(request: Request, next: Next) -> Response {
    if !request.uri().path().starts_with("/fn/") {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let Ok(read) = tokio::time::timeout(BODY_READ_TIMEOUT, to_bytes(body, super::MAX_BODY_BYTES)).await
    else {
        return AppError::RequestTimeout.into_response();
    };
    match read {
        Ok(bytes) => next.run(Request::from_parts(parts, Body::from(bytes))).await,
        Err(error) => {
            // http-body's LengthLimitError, the only error a complete body in memory can give
            // besides a broken connection.
            let too_large = error.to_string().contains("length limit");
            if too_large {
                AppError::PayloadTooLarge.into_response()
            } else {
                AppError::invalid("The request body could not be read.").into_response()
            }
        }
    }
}
