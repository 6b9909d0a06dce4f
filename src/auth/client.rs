//! The browser's side of authentication: where the token, the chosen mode and a token-mode
//! guest's cart are kept, and the server-function client that sends the token with every call.
//!
//! Browser storage is touched only in `hydrate` builds; on the server these read as empty, which
//! is exactly what the server can see of a browser's storage.

use super::{AuthMode, GuestLine};
use futures::{Sink, Stream};
use leptos::server_fn::{
    client::{browser::BrowserClient, Client},
    error::FromServerFnError,
    request::browser::BrowserRequest,
    response::browser::BrowserResponse,
    Bytes,
};
use std::future::Future;

/// The server-function client for every call the app makes: the browser's fetch, plus
/// `Authorization: Bearer <token>` whenever a token is stored.
pub struct BearerClient;

impl<E, IS, OS> Client<E, IS, OS> for BearerClient
where
    E: FromServerFnError,
    IS: FromServerFnError,
    OS: FromServerFnError,
{
    type Request = BrowserRequest;
    type Response = BrowserResponse;

    fn send(req: Self::Request) -> impl Future<Output = Result<Self::Response, E>> + Send {
        if let Some(token) = stored_token() {
            req.headers().append("Authorization", &format!("Bearer {token}"));
        }
        <BrowserClient as Client<E, IS, OS>>::send(req)
    }

    #[allow(clippy::type_complexity)]
    fn open_websocket(
        path: &str,
    ) -> impl Future<
        Output = Result<
            (impl Stream<Item = Result<Bytes, Bytes>> + Send + 'static, impl Sink<Bytes> + Send + 'static),
            E,
        >,
    > + Send {
        <BrowserClient as Client<E, IS, OS>>::open_websocket(path)
    }

    fn spawn(future: impl Future<Output = ()> + Send + 'static) {
        <BrowserClient as Client<E, IS, OS>>::spawn(future)
    }
}

#[cfg(feature = "hydrate")]
mod storage {
    use super::super::{GUEST_CART_STORAGE_KEY, MODE_COOKIE, TOKEN_STORAGE_KEY};
    use super::{AuthMode, GuestLine};
    use gloo_storage::{LocalStorage, Storage};
    use wasm_bindgen::JsCast;

    pub const MODE_STORAGE_KEY: &str = "shop.auth_mode";

    pub fn stored_token() -> Option<String> {
        LocalStorage::get::<String>(TOKEN_STORAGE_KEY).ok().filter(|t| !t.is_empty())
    }

    pub fn store_token(token: &str) {
        let _ = LocalStorage::set(TOKEN_STORAGE_KEY, token);
    }

    pub fn clear_token() {
        LocalStorage::delete(TOKEN_STORAGE_KEY);
    }

    pub fn guest_lines() -> Vec<GuestLine> {
        LocalStorage::get::<Vec<GuestLine>>(GUEST_CART_STORAGE_KEY).unwrap_or_default()
    }

    pub fn save_guest_lines(lines: &[GuestLine]) {
        if lines.is_empty() {
            LocalStorage::delete(GUEST_CART_STORAGE_KEY);
        } else {
            let _ = LocalStorage::set(GUEST_CART_STORAGE_KEY, lines);
        }
    }

    fn html_document() -> Option<web_sys::HtmlDocument> {
        web_sys::window()?.document()?.dyn_into::<web_sys::HtmlDocument>().ok()
    }

    pub fn stored_mode() -> AuthMode {
        let cookies = html_document().and_then(|d| d.cookie().ok()).unwrap_or_default();
        super::mode_from_cookie_header(&cookies)
    }

    pub fn store_mode(mode: AuthMode) {
        if let Some(document) = html_document() {
            let _ = document.set_cookie(&format!(
                "{MODE_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax",
                mode.as_str()
            ));
        }
        // Also in localStorage, so other tabs hear of the change (the storage event).
        let _ = LocalStorage::set(MODE_STORAGE_KEY, mode.as_str());
    }
}

#[cfg(not(feature = "hydrate"))]
mod storage {
    //! The server sees no browser storage.
    use super::{AuthMode, GuestLine};

    pub const MODE_STORAGE_KEY: &str = "shop.auth_mode";

    pub fn stored_token() -> Option<String> {
        None
    }
    pub fn store_token(_token: &str) {}
    pub fn clear_token() {}
    pub fn guest_lines() -> Vec<GuestLine> {
        Vec::new()
    }
    pub fn save_guest_lines(_lines: &[GuestLine]) {}
    pub fn stored_mode() -> AuthMode {
        AuthMode::Session
    }
    pub fn store_mode(_mode: AuthMode) {}
}

pub use storage::*;

/// The mode named by the `shop_auth_mode` cookie in a `Cookie` header; session by default.
pub fn mode_from_cookie_header(cookies: &str) -> AuthMode {
    cookies
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == super::MODE_COOKIE)
        .and_then(|(_, value)| AuthMode::parse(value.trim()))
        .unwrap_or_default()
}

/// A token's header and claims, decoded for display (not verified: only the server can).
#[derive(Clone, Debug, PartialEq)]
pub struct DecodedToken {
    pub header: String,
    pub claims: String,
    pub exp: Option<i64>,
    pub iat: Option<i64>,
}

pub fn decode_token_for_display(token: &str) -> Option<DecodedToken> {
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
    let mut parts = token.split('.');
    let (header, claims) = (parts.next()?, parts.next()?);
    let header: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims).ok()?).ok()?;
    Some(DecodedToken {
        header: serde_json::to_string_pretty(&header).ok()?,
        exp: claims.get("exp").and_then(|v| v.as_i64()),
        iat: claims.get("iat").and_then(|v| v.as_i64()),
        claims: serde_json::to_string_pretty(&claims).ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mode_cookie_is_read_from_a_cookie_header() {
        assert_eq!(mode_from_cookie_header("a=b; shop_auth_mode=token; c=d"), AuthMode::Token);
        assert_eq!(mode_from_cookie_header("shop_auth_mode=session"), AuthMode::Session);
        assert_eq!(mode_from_cookie_header("shop_auth_mode=bogus"), AuthMode::Session);
        assert_eq!(mode_from_cookie_header(""), AuthMode::Session);
    }

    #[test]
    fn tokens_decode_for_display() {
        // {"alg":"HS256","typ":"JWT"} . {"sub":"1","iat":10,"exp":20,"jti":"x"}
        let token =
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxIiwiaWF0IjoxMCwiZXhwIjoyMCwianRpIjoieCJ9.sig";
        let decoded = decode_token_for_display(token).unwrap();
        assert_eq!(decoded.exp, Some(20));
        assert!(decoded.header.contains("HS256"));
        assert!(decode_token_for_display("garbage").is_none());
    }
}
