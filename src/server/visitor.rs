//! The one credential resolver: turns a request into "who is this", from the session cookie
//! or from `Authorization: Bearer`. Server functions and the JSON API both come through here.
//!
//! A Bearer header, when present, decides alone: an invalid one is a 401, never a fallback to
//! the cookie.

use super::{db::Db, state, AppState};
use crate::{
    auth::{
        service::{self, Claims},
        AuthMode, User,
    },
    error::AppError,
};
use axum::{
    extract::FromRequestParts,
    http::{header::AUTHORIZATION, request::Parts, HeaderMap},
};
use leptos::prelude::use_context;
use tower_sessions::Session;

const USER_KEY: &str = "user_id";
const AUTH_AT_KEY: &str = "auth_at";
const CART_KEY: &str = "cart_id";
/// When the session was last used, to the refresh interval: keeps the idle expiry sliding.
const SEEN_KEY: &str = "seen_at";

enum Credential {
    Guest,
    Session,
    Token(Claims),
}

pub struct Visitor {
    db: Db,
    session: Session,
    headers: HeaderMap,
    pub user: Option<User>,
    /// A signed-in user's saved cart, read with the user (`None`: not made yet).
    user_cart: Option<String>,
    credential: Credential,
}

impl Visitor {
    pub async fn resolve(
        state: &AppState,
        headers: HeaderMap,
        session: Session,
    ) -> Result<Visitor, AppError> {
        let db = state.db.clone();
        if let Some(value) = headers.get(AUTHORIZATION) {
            // The scheme's name is case-insensitive (RFC 9110, 11.1).
            let token = value
                .to_str()
                .ok()
                .and_then(|v| {
                    v.get(..7).filter(|scheme| scheme.eq_ignore_ascii_case("bearer ")).map(|_| &v[7..])
                })
                .map(str::trim)
                .ok_or(AppError::Unauthenticated)?;
            let claims = service::decode_token(&state.jwt, token)?;
            let user_id: i64 = claims.sub.parse().map_err(|_| AppError::Unauthenticated)?;
            let (user, user_cart) = service::user_for_token(&db, user_id, claims.iat, &claims.jti)
                .await?
                .ok_or(AppError::Unauthenticated)?;
            return Ok(Visitor {
                db,
                session,
                headers,
                user: Some(user),
                user_cart,
                credential: Credential::Token(claims),
            });
        }
        if let Some(user_id) = session.get::<i64>(USER_KEY).await? {
            let auth_at = session.get::<i64>(AUTH_AT_KEY).await?.unwrap_or(0);
            let fresh = super::unix_now() < auth_at + state.config.session_absolute_secs;
            let user = if fresh { service::user_for_credential(&db, user_id, auth_at).await? } else { None };
            return match user {
                Some((user, user_cart)) => {
                    let visitor = Visitor {
                        db,
                        session,
                        headers,
                        user: Some(user),
                        user_cart,
                        credential: Credential::Session,
                    };
                    visitor.hold_to_absolute_expiry(state, auth_at);
                    visitor.keep_alive(state).await?;
                    Ok(visitor)
                }
                None => {
                    // Signed out elsewhere, expired, or the user is gone: the session is over.
                    session.flush().await?;
                    Ok(Visitor {
                        db,
                        session,
                        headers,
                        user: None,
                        user_cart: None,
                        credential: Credential::Guest,
                    })
                }
            };
        }
        let visitor =
            Visitor { db, session, headers, user: None, user_cart: None, credential: Credential::Guest };
        if visitor.session.id().is_some() && visitor.session.get::<String>(CART_KEY).await?.is_some() {
            visitor.keep_alive(state).await?;
        }
        Ok(visitor)
    }

    /// A session expires after `SESSION_TTL_SECS` without use. Reading a session costs no write:
    /// the stored row (and the cookie's Max-Age) is pushed forward only when the last push is
    /// older than a tenth of that lifetime (at most an hour), so a busy session is written at
    /// most once per interval.
    async fn keep_alive(&self, state: &AppState) -> Result<(), AppError> {
        let now = super::unix_now();
        let interval = (state.config.session_ttl_secs / 10).clamp(1, 3600);
        let seen = self.session.get::<i64>(SEEN_KEY).await?.unwrap_or(0);
        if now - seen >= interval {
            self.session.insert(SEEN_KEY, now).await?;
        }
        Ok(())
    }

    /// Inside a server function (or a page's server render).
    pub async fn from_server_fn() -> Result<Visitor, AppError> {
        let state = state()?;
        let parts = use_context::<Parts>().ok_or(AppError::Internal)?;
        let session = parts.extensions.get::<Session>().cloned().ok_or_else(|| {
            tracing::error!("session layer missing");
            AppError::Internal
        })?;
        Visitor::resolve(&state, parts.headers.clone(), session).await
    }

    /// The credential this request was signed in with; `None` for a guest.
    pub fn mode(&self) -> Option<AuthMode> {
        match self.credential {
            Credential::Guest => None,
            Credential::Session => Some(AuthMode::Session),
            Credential::Token(_) => Some(AuthMode::Token),
        }
    }

    pub fn token_claims(&self) -> Option<&Claims> {
        match &self.credential {
            Credential::Token(claims) => Some(claims),
            _ => None,
        }
    }

    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The cart of a guest, kept in their session.
    pub async fn guest_cart_id(&self) -> Result<Option<String>, AppError> {
        if self.user.is_some() {
            return Ok(None);
        }
        Ok(self.session.get::<String>(CART_KEY).await?)
    }

    /// The visitor's cart, if they have one: the user's saved cart, or the guest's.
    pub async fn cart_id(&self) -> Result<Option<String>, AppError> {
        match &self.user {
            // Read with the user; made later in this request if it was not there then.
            Some(user) if self.user_cart.is_none() => {
                crate::cart::service::user_cart_id(&self.db, user.id).await
            }
            Some(_) => Ok(self.user_cart.clone()),
            None => self.guest_cart_id().await,
        }
    }

    /// The visitor's cart, made now if they have none. A guest's new cart id goes into the
    /// session, which is what sets the session cookie.
    pub async fn cart_id_or_new(&self) -> Result<String, AppError> {
        if let Some(user) = &self.user {
            if let Some(id) = &self.user_cart {
                return Ok(id.clone());
            }
            return crate::cart::service::user_cart_id_or_new(&self.db, user.id).await;
        }
        if let Some(id) = self.guest_cart_id().await? {
            return Ok(id);
        }
        let id = uuid::Uuid::new_v4().simple().to_string();
        self.session.insert(CART_KEY, &id).await?;
        self.session.insert(SEEN_KEY, super::unix_now()).await?;
        Ok(id)
    }

    /// Signs the session in as `user_id`, under a new session id (never the one sent before).
    pub async fn start_session(
        &self,
        state: &AppState,
        user_id: i64,
        issued_at: i64,
    ) -> Result<(), AppError> {
        self.session.cycle_id().await?;
        self.session.remove::<String>(CART_KEY).await?;
        self.session.insert(USER_KEY, user_id).await?;
        self.session.insert(AUTH_AT_KEY, issued_at).await?;
        self.session.insert(SEEN_KEY, super::unix_now()).await?;
        self.hold_to_absolute_expiry(state, issued_at);
        Ok(())
    }

    /// A signed-in session expires after `SESSION_TTL_SECS` of inactivity, but never later than
    /// `SESSION_ABSOLUTE_TTL_SECS` after signing in: once the idle window would pass that point,
    /// the session's expiry (the stored row's and the cookie's alike) is pinned to it.
    fn hold_to_absolute_expiry(&self, state: &AppState, signed_in_at: i64) {
        use tower_sessions::{cookie::time::OffsetDateTime, Expiry};
        let absolute_end = signed_in_at + state.config.session_absolute_secs;
        let idle_end = super::unix_now() + state.config.session_ttl_secs;
        if idle_end > absolute_end && !matches!(self.session.expiry(), Some(Expiry::AtDateTime(_))) {
            if let Ok(at) = OffsetDateTime::from_unix_timestamp(absolute_end) {
                self.session.set_expiry(Some(Expiry::AtDateTime(at)));
            }
        }
    }

    /// Deletes the session on the server and expires its cookie (when there is one).
    pub async fn end_session(&self) -> Result<(), AppError> {
        if self.session.id().is_some() || !self.session.is_empty().await {
            self.session.flush().await?;
        }
        Ok(())
    }

    /// Deletes the stored session row, if it is still there; true when this call deleted it.
    /// Two requests holding one session cannot both get past this.
    pub async fn claim_session(&self) -> Result<bool, AppError> {
        let Some(id) = self.session.id() else {
            return Ok(false);
        };
        let table = match self.db.backend {
            super::db::Backend::Sqlite => "tower_sessions",
            super::db::Backend::Postgres => "tower_sessions.session",
        };
        let deleted = sqlx::query(&format!("DELETE FROM {table} WHERE id = $1"))
            .bind(id.to_string())
            .execute(&mut *self.db.read().await?)
            .await?
            .rows_affected();
        Ok(deleted == 1)
    }

    pub fn session_id(&self) -> Option<String> {
        self.session.id().map(|id| id.to_string())
    }

    pub async fn session_keys(&self) -> Vec<String> {
        let mut keys = Vec::new();
        for key in [USER_KEY, AUTH_AT_KEY, CART_KEY, SEEN_KEY] {
            if matches!(self.session.get_value(key).await, Ok(Some(_))) {
                keys.push(key.to_string());
            }
        }
        keys
    }

    pub fn session_expiry(&self) -> i64 {
        self.session.expiry_date().unix_timestamp()
    }
}

impl FromRequestParts<AppState> for Visitor {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let session = Session::from_request_parts(parts, state).await.map_err(|(_, message)| {
            tracing::error!(message, "session layer missing");
            AppError::Internal
        })?;
        Visitor::resolve(state, parts.headers.clone(), session).await
    }
}
