//! Accounts and the two ways of being signed in: a cookie session, or a token (JWT) that the
//! browser keeps in localStorage and sends as `Authorization: Bearer`.

pub mod client;
pub mod explain;
#[cfg(feature = "ssr")]
pub mod limits;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod service;

use crate::{cart::Cart, error::AppError};
use client::BearerClient;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Where the browser keeps the token (gloo-storage stores it as a JSON string).
pub const TOKEN_STORAGE_KEY: &str = "shop.auth_token";
/// Where a token-mode guest's cart is kept in the browser.
pub const GUEST_CART_STORAGE_KEY: &str = "shop.guest_cart";
/// The chosen mode, remembered in a cookie the server can read to render the same mode the
/// browser will show. It is a preference, not a credential.
pub const MODE_COOKIE: &str = "shop_auth_mode";

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    #[default]
    Session,
    Token,
}

impl AuthMode {
    pub fn parse(value: &str) -> Option<AuthMode> {
        match value {
            "session" => Some(AuthMode::Session),
            "token" => Some(AuthMode::Token),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AuthMode::Session => "session",
            AuthMode::Token => "token",
        }
    }

    pub fn other(self) -> AuthMode {
        match self {
            AuthMode::Session => AuthMode::Token,
            AuthMode::Token => AuthMode::Session,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            AuthMode::Session => "Cookie session",
            AuthMode::Token => "Token (JWT)",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub name: String,
}

/// Who the request is signed in as, and by which credential.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    pub user: Option<User>,
    /// The credential the request carried; `None` for a guest.
    pub mode: Option<AuthMode>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedToken {
    pub token: String,
    pub token_type: String,
    /// RFC 3339.
    pub expires_at: String,
}

/// The answer to a sign-in, a registration or a switch of mode.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedIn {
    pub user: User,
    pub mode: AuthMode,
    #[serde(flatten)]
    pub token: Option<IssuedToken>,
}

/// One line of a cart held by the client (a token-mode guest's cart).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestLine {
    pub product_id: i64,
    pub quantity: i64,
}

/// What the `/auth` page shows about the server's side of the current credential.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inspection {
    pub mode: Option<AuthMode>,
    pub user: Option<User>,
    /// Session mode: the bytes of `Cookie: shop_session=…` as this request sent them.
    pub cookie_header_bytes: Option<usize>,
    /// Session mode: the stored session's id, shortened, and what it holds.
    pub session_id_preview: Option<String>,
    pub session_keys: Vec<String>,
    pub session_expires_at: Option<String>,
    pub session_ttl_secs: i64,
    /// Token mode: the bytes of `Authorization: Bearer …` as this request sent them.
    pub authorization_header_bytes: Option<usize>,
    /// Token mode: how many tokens of this user are revoked and not yet expired.
    pub revoked_tokens: i64,
    pub token_ttl_secs: i64,
    pub secret_source: String,
    pub cookie_secure: bool,
}

pub const MIN_PASSWORD_CHARS: usize = 8;
pub const MAX_PASSWORD_CHARS: usize = 128;

/// Checks and tidies registration input; the same rules for the pages and the API.
pub fn check_registration(email: &str, password: &str, name: &str) -> Result<(String, String), AppError> {
    let email = check_email(email)?;
    let name = name.trim();
    if name.is_empty()
        || name.chars().count() > 100
        || name.chars().any(|c| c.is_control() || is_invisible(c))
    {
        return Err(AppError::invalid("Your name must be 1 to 100 characters."));
    }
    check_password(password)?;
    Ok((email, name.to_string()))
}

/// Characters that show as nothing, or turn the text around them (bidirectional controls): a
/// name made with them can pass for another, or garble what is shown after it.
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{FFA0}'
        | '\u{FFF0}'..='\u{FFF8}' | '\u{E0000}'..='\u{E007F}')
}

/// An address is visible ASCII (`local@domain.tld`): look-alike letters from other scripts
/// and invisible characters cannot make a second account that reads like someone else's.
pub fn check_email(email: &str) -> Result<String, AppError> {
    let email = email.trim();
    let valid = email.len() <= 254
        && email.chars().all(|c| c.is_ascii_graphic())
        && match email.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains('@')
            }
            None => false,
        };
    if valid {
        Ok(email.to_string())
    } else {
        Err(AppError::invalid("Enter a valid email address, like name@example.com."))
    }
}

pub fn check_password(password: &str) -> Result<(), AppError> {
    let n = password.chars().count();
    if (MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&n) {
        Ok(())
    } else {
        Err(AppError::invalid(format!(
            "The password must be {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters."
        )))
    }
}

/// Only same-site paths are followed after signing in (no open redirects).
/// Only visible ASCII is let through: browsers drop tabs and newlines from URLs (`/\t/evil`
/// would become `//evil`, another site), and a newline cannot go into a Location header.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && path.len() <= 2048
                && path.bytes().all(|b| b.is_ascii_graphic() && b != b'\\') =>
        {
            path.to_string()
        }
        _ => "/".to_string(),
    }
}

#[server(prefix = "/fn", endpoint = "auth/me", client = BearerClient)]
pub async fn current_user() -> Result<Me, AppError> {
    use crate::server::{respond, visitor::Visitor};
    let result = async {
        let visitor = Visitor::from_server_fn().await?;
        Ok(Me { user: visitor.user.clone(), mode: visitor.mode() })
    };
    respond(result.await)
}

#[server(prefix = "/fn", endpoint = "auth/login", client = BearerClient)]
pub async fn login(
    email: String,
    password: String,
    mode: String,
    next: Option<String>,
) -> Result<SignedIn, AppError> {
    use crate::server::{respond, state, visitor::Visitor};
    let result = async {
        let mode =
            AuthMode::parse(&mode).ok_or_else(|| AppError::invalid("mode must be session or token."))?;
        let state = state()?;
        let visitor = Visitor::from_server_fn().await?;
        let client = limits::ClientKey::from_server_fn(&state);
        let user = service::authenticate(&state, &client, &email, &password).await?;
        let signed_in = service::sign_in(&state, &visitor, user, mode).await?;
        crate::server::redirect_plain_form(&safe_next(next.as_deref()));
        Ok(signed_in)
    };
    respond(result.await)
}

#[server(prefix = "/fn", endpoint = "auth/register", client = BearerClient)]
pub async fn register(
    email: String,
    password: String,
    name: String,
    mode: String,
    next: Option<String>,
) -> Result<SignedIn, AppError> {
    use crate::server::{respond, state, visitor::Visitor};
    let result = async {
        let mode =
            AuthMode::parse(&mode).ok_or_else(|| AppError::invalid("mode must be session or token."))?;
        let state = state()?;
        let visitor = Visitor::from_server_fn().await?;
        let client = limits::ClientKey::from_server_fn(&state);
        let user = service::register(&state, &client, &email, &password, &name).await?;
        let signed_in = service::sign_in(&state, &visitor, user, mode).await?;
        crate::server::redirect_plain_form(&safe_next(next.as_deref()));
        Ok(signed_in)
    };
    respond(result.await)
}

#[server(prefix = "/fn", endpoint = "auth/logout", client = BearerClient)]
pub async fn logout() -> Result<(), AppError> {
    use crate::server::{respond, state, visitor::Visitor};
    let result = async {
        let state = state()?;
        let visitor = Visitor::from_server_fn().await?;
        service::sign_out(&state, &visitor).await?;
        crate::server::clear_site_data(service::clear_site_data(visitor.mode()));
        Ok(())
    };
    respond(result.await)
}

#[server(prefix = "/fn", endpoint = "auth/logout_all", client = BearerClient)]
pub async fn logout_all() -> Result<(), AppError> {
    use crate::server::{respond, state, visitor::Visitor};
    let result = async {
        let state = state()?;
        let visitor = Visitor::from_server_fn().await?;
        service::sign_out_everywhere(&state, &visitor).await?;
        crate::server::clear_site_data(service::clear_site_data(visitor.mode()));
        Ok(())
    };
    respond(result.await)
}

/// Exchanges the credential the request carries for one of the other kind.
#[server(prefix = "/fn", endpoint = "auth/switch", client = BearerClient)]
pub async fn switch_mode(mode: String) -> Result<SignedIn, AppError> {
    use crate::server::{respond, state, visitor::Visitor};
    let result = async {
        let mode =
            AuthMode::parse(&mode).ok_or_else(|| AppError::invalid("mode must be session or token."))?;
        let state = state()?;
        let visitor = Visitor::from_server_fn().await?;
        service::switch(&state, &visitor, mode).await
    };
    respond(result.await)
}

/// A session-mode guest switching to token mode: hands the guest cart to the browser and ends
/// the session, so no cookie is left behind.
#[server(prefix = "/fn", endpoint = "auth/guest_export", client = BearerClient)]
pub async fn export_guest_cart() -> Result<Vec<GuestLine>, AppError> {
    use crate::server::{respond, state, visitor::Visitor};
    let result = async {
        let state = state()?;
        let visitor = Visitor::from_server_fn().await?;
        service::export_guest_cart(&state, &visitor).await
    };
    respond(result.await)
}

/// A token-mode guest switching to session mode: the browser's cart becomes the session's.
#[server(prefix = "/fn", endpoint = "auth/guest_import", client = BearerClient, input = leptos::server_fn::codec::Json)]
pub async fn import_guest_cart(lines: Vec<GuestLine>) -> Result<Cart, AppError> {
    use crate::server::{respond, state, visitor::Visitor};
    let result = async {
        let state = state()?;
        let visitor = Visitor::from_server_fn().await?;
        crate::cart::service::merge(&state.db, &visitor, &lines).await
    };
    respond(result.await)
}

/// A client-held cart joins the signed-in user's cart.
#[server(prefix = "/fn", endpoint = "cart/merge", client = BearerClient, input = leptos::server_fn::codec::Json)]
pub async fn merge_cart(lines: Vec<GuestLine>) -> Result<Cart, AppError> {
    use crate::server::{respond, state, visitor::Visitor};
    let result = async {
        let state = state()?;
        let visitor = Visitor::from_server_fn().await?;
        if visitor.user.is_none() {
            return Err(AppError::Unauthenticated);
        }
        crate::cart::service::merge(&state.db, &visitor, &lines).await
    };
    respond(result.await)
}

#[server(prefix = "/fn", endpoint = "auth/inspect", client = BearerClient)]
pub async fn inspect() -> Result<Inspection, AppError> {
    use crate::server::{respond, state, visitor::Visitor};
    let result = async {
        let state = state()?;
        let visitor = Visitor::from_server_fn().await?;
        service::inspect(&state, &visitor).await
    };
    respond(result.await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_rules() {
        assert_eq!(
            check_registration("  Ann@Example.com ", "correct horse", " Ann ").unwrap(),
            ("Ann@Example.com".to_string(), "Ann".to_string())
        );
        assert!(check_registration("ann", "correct horse", "Ann").is_err());
        assert!(check_registration("ann@example", "correct horse", "Ann").is_err());
        assert!(check_registration("a b@example.com", "correct horse", "Ann").is_err());
        assert!(check_registration("ann@example.com", "short", "Ann").is_err());
        assert!(check_registration("ann@example.com", &"x".repeat(129), "Ann").is_err());
        assert!(check_registration("ann@example.com", &"x".repeat(128), "Ann").is_ok());
        assert!(check_registration("ann@example.com", "correct horse", "  ").is_err());
        // Look-alikes of ann@example.com: zero-width space, BOM, soft hyphen, Cyrillic а.
        for lookalike in [
            "ann@example.com\u{200B}",
            "\u{FEFF}ann@example.com",
            "ann@exa\u{AD}mple.com",
            "\u{430}nn@example.com",
        ] {
            assert!(check_registration(lookalike, "correct horse", "Ann").is_err(), "{lookalike:?}");
        }
        // Names may be in any script, but not invisible or reversing the text after them.
        assert!(check_registration("zoe@example.com", "correct horse", "Zoë Ωμέγα 李").is_ok());
        for name in ["Ann\u{200B}", "\u{202E}nnA", "An\u{2066}n", "\u{3164}"] {
            assert!(check_registration("ann@example.com", "correct horse", name).is_err(), "{name:?}");
        }
    }

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(safe_next(Some("/cart")), "/cart");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(None), "/");
        for sneaky in
            ["/\t/evil.example", "/\n/evil.example", "/x\r\nSet-Cookie: a=b", "/ /evil", "/caf\u{e9}"]
        {
            assert_eq!(safe_next(Some(sneaky)), "/", "{sneaky:?}");
        }
        assert_eq!(safe_next(Some("/products/banana?x=1&y=%20")), "/products/banana?x=1&y=%20");
    }
}
