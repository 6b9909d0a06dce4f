//! Forged requests: a write (POST, PUT, PATCH, DELETE) to the JSON API or a server function
//! that a browser sends from another site is refused with 403 and changes nothing. The session
//! cookie would go along by itself (SameSite=Lax still lets a sibling subdomain or another port
//! of the same host through), and a forged sign-in would sign the victim in as the attacker.
//!
//! What the browser says decides: `Sec-Fetch-Site` when it is sent, otherwise `Origin`
//! (compared with the `Host` the request was sent to, or `CORS_ALLOWED_ORIGINS`). A request
//! with neither comes from a client that is not a browser, which no other site can steer. A
//! request carrying `Authorization` is let through: no other site can make a browser add that
//! header without a CORS preflight, and the Bearer token is its only credential.

use super::config::Config;
use crate::error::AppError;
use axum::{
    extract::{Request, State},
    http::{header, HeaderMap, Method},
    middleware::Next,
    response::{IntoResponse, Response},
};
use std::sync::Arc;

pub async fn refuse_cross_site_writes(
    State(config): State<Arc<Config>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    let guarded = path.starts_with("/api/") || path.starts_with("/fn/");
    let writes = !matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if guarded
        && writes
        && is_cross_site(
            request.headers(),
            request.uri().authority().map(|a| a.as_str()),
            &config.cors_allowed_origins,
        )
    {
        tracing::warn!(method = %request.method(), path, "refused a cross-site write");
        return forbidden(path.starts_with("/fn/"));
    }
    next.run(request).await
}

/// True when a browser says the request was made by a page of another site. `authority` is the
/// request URI's (HTTP/2 sends no Host header).
pub fn is_cross_site(headers: &HeaderMap, authority: Option<&str>, allowed_origins: &[String]) -> bool {
    if headers.contains_key(header::AUTHORIZATION) {
        return false;
    }
    let text = |name: header::HeaderName| headers.get(name).map(|v| v.to_str().unwrap_or("\u{0}"));
    let origin = text(header::ORIGIN);
    if let Some(origin) = origin {
        if allowed_origins.iter().any(|allowed| allowed == origin) {
            return false;
        }
    }
    match headers.get("sec-fetch-site").map(|v| v.as_bytes()) {
        // Typed into the address bar, a bookmark, or this very site.
        Some(b"same-origin") | Some(b"none") => return false,
        Some(_) => return true,
        None => {}
    }
    match origin {
        Some(origin) => {
            let host = text(header::HOST).or(authority).unwrap_or("");
            authority_of(origin) != Some(host)
        }
        None => false,
    }
}

/// `https://shop.example:8443` → `shop.example:8443`; `null` and anything odd → None.
fn authority_of(origin: &str) -> Option<&str> {
    let (scheme, rest) = origin.split_once("://")?;
    if !(scheme == "http" || scheme == "https") || rest.is_empty() || rest.contains('/') {
        return None;
    }
    Some(rest)
}

fn forbidden(server_function: bool) -> Response {
    let error = AppError::Forbidden;
    if server_function {
        // The app reads a server function's error as the serialized AppError.
        let body = serde_json::to_string(&error).unwrap_or_default();
        (error.status_code(), [(header::CONTENT_TYPE, "application/json")], body).into_response()
    } else {
        error.into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn what_counts_as_cross_site() {
        let none: &[String] = &[];
        let host = ("host", "shop.example");
        assert!(!is_cross_site(&headers(&[host]), None, none), "no browser headers: not a browser");
        assert!(!is_cross_site(&headers(&[host, ("origin", "https://shop.example")]), None, none));
        assert!(!is_cross_site(&headers(&[host, ("sec-fetch-site", "same-origin")]), None, none));
        assert!(is_cross_site(&headers(&[host, ("origin", "https://evil.example")]), None, none));
        assert!(is_cross_site(&headers(&[host, ("origin", "null")]), None, none));
        assert!(is_cross_site(
            &headers(&[host, ("origin", "https://shop.example.evil.example")]),
            None,
            none
        ));
        assert!(is_cross_site(&headers(&[host, ("sec-fetch-site", "cross-site")]), None, none));
        assert!(
            is_cross_site(&headers(&[host, ("sec-fetch-site", "same-site")]), None, none),
            "a sibling subdomain"
        );
        assert!(!is_cross_site(
            &headers(&[host, ("origin", "https://evil.example"), ("authorization", "Bearer x")]),
            None,
            none
        ));
        let allowed = vec!["https://app.example".to_string()];
        assert!(!is_cross_site(
            &headers(&[host, ("origin", "https://app.example"), ("sec-fetch-site", "cross-site")]),
            None,
            &allowed
        ));
    }
}
