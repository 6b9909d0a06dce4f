//! Accounts, passwords, tokens and the sign-in flows of both modes, for the server functions
//! and the JSON API alike.

use super::{limits::ClientKey, AuthMode, GuestLine, Inspection, IssuedToken, SignedIn, User};
use crate::{
    cart,
    error::AppError,
    server::{db::Db, unix_now, visitor::Visitor, AppState},
};
use argon2::{
    password_hash::{self, rand_core::OsRng, Output, ParamsString, PasswordHash, Salt, SaltString},
    Algorithm as ArgonAlgorithm, Argon2, Params, Version,
};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use std::sync::OnceLock;

// ---------------------------------------------------------------------------------------------
// Passwords: argon2id at OWASP's parameters (19 MiB, 2 passes, 1 lane), off the async threads.

fn params() -> Params {
    Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters")
}

/// Runs `work` (one hash) on a blocking thread, at most one per core at once: each hash takes
/// 19 MiB for its moment, so a burst of sign-ins queues instead of taking the server's memory
/// (or all its threads). The permit moves into the thread: a request dropped while its hash
/// runs (the client went away) must not let another hash start before this one has finished
/// and freed its memory. `None` if the thread panicked.
async fn off_thread_one_per_core<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    static HASHING: OnceLock<tokio::sync::Semaphore> = OnceLock::new();
    let permits = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    let permit = HASHING
        .get_or_init(|| tokio::sync::Semaphore::new(permits))
        .acquire()
        .await
        .expect("the hashing semaphore is never closed");
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        work()
    })
    .await
    .ok()
}

pub async fn hash_password(password: String) -> Result<String, AppError> {
    off_thread_one_per_core(move || {
        let salt = SaltString::generate(&mut OsRng);
        hash_with(ArgonAlgorithm::Argon2id, Version::V0x13, params(), password.as_bytes(), salt.as_salt())
            .map(|hash| hash.to_string())
    })
    .await
    .ok_or(AppError::Internal)?
    .map_err(|error| {
        tracing::error!(%error, "password hashing failed");
        AppError::Internal
    })
}

pub async fn verify_password(password: String, hash: String) -> bool {
    off_thread_one_per_core(move || verify(password.as_bytes(), &hash)).await.unwrap_or(false)
}

/// What argon2's `PasswordHasher` does, with the 19 MiB of working memory taken straight from
/// the system allocator (see `WorkingMemory`).
fn hash_with<'a>(
    algorithm: ArgonAlgorithm,
    version: Version,
    params: Params,
    password: &[u8],
    salt: Salt<'a>,
) -> password_hash::Result<PasswordHash<'a>> {
    let argon2 = Argon2::new(algorithm, version, params.clone());
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt.decode_b64(&mut salt_bytes)?;
    let mut memory = WorkingMemory::new(params.block_count()).ok_or(password_hash::Error::Crypto)?;
    let output = Output::init_with(params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN), |out| {
        argon2
            .hash_password_into_with_memory(password, salt_bytes, out, &mut memory)
            .map_err(|_| password_hash::Error::Crypto)
    })?;
    Ok(PasswordHash {
        algorithm: algorithm.ident(),
        version: Some(version.into()),
        params: ParamsString::try_from(&params)?,
        salt: Some(salt),
        hash: Some(output),
    })
}

/// Checks a password against a stored PHC string, with the algorithm, version and parameters
/// the string names (so hashes made with other parameters still verify).
fn verify(password: &[u8], stored: &str) -> bool {
    let Ok(stored) = PasswordHash::new(stored) else { return false };
    let (Some(salt), Some(expected)) = (stored.salt, stored.hash) else { return false };
    let algorithm = ArgonAlgorithm::try_from(stored.algorithm);
    let version = stored.version.map(Version::try_from).transpose();
    let params = Params::try_from(&stored);
    let (Ok(algorithm), Ok(version), Ok(params)) = (algorithm, version, params) else { return false };
    match hash_with(algorithm, version.unwrap_or_default(), params, password, salt) {
        // `Output`'s comparison takes the same time wherever the outputs differ.
        Ok(computed) => computed.hash.is_some_and(|computed| computed == expected),
        Err(_) => false,
    }
}

/// Argon2's working memory (19 MiB a hash), from the system allocator rather than the global
/// one: the system allocator maps blocks this large on their own and unmaps them when freed
/// (see `return_large_allocations`), while a general-purpose allocator tuned for speed keeps
/// freed memory for reuse, and two hashes at once would leave the server tens of MB larger.
struct WorkingMemory {
    blocks: std::ptr::NonNull<argon2::Block>,
    layout: std::alloc::Layout,
}

impl WorkingMemory {
    fn new(count: usize) -> Option<Self> {
        use std::alloc::GlobalAlloc;
        let layout = std::alloc::Layout::array::<argon2::Block>(count).ok()?;
        if layout.size() == 0 {
            return None;
        }
        // SAFETY: the layout has a non-zero size; all-zero bytes are a valid `Block` (an array
        // of integers), so the zeroed allocation is `count` initialised blocks.
        let blocks = unsafe { std::alloc::System.alloc_zeroed(layout) };
        Some(Self { blocks: std::ptr::NonNull::new(blocks.cast())?, layout })
    }
}

impl AsMut<[argon2::Block]> for WorkingMemory {
    fn as_mut(&mut self) -> &mut [argon2::Block] {
        let count = self.layout.size() / std::mem::size_of::<argon2::Block>();
        // SAFETY: `blocks` points to `count` initialised blocks that this value owns alone.
        unsafe { std::slice::from_raw_parts_mut(self.blocks.as_ptr(), count) }
    }
}

impl Drop for WorkingMemory {
    fn drop(&mut self) {
        use std::alloc::GlobalAlloc;
        // SAFETY: allocated by `System` with this very layout in `new`, freed once.
        unsafe { std::alloc::System.dealloc(self.blocks.as_ptr().cast(), self.layout) }
    }
}

/// A hash to check against when the email is unknown, so that a wrong email costs the same
/// time as a wrong password.
async fn decoy_hash() -> String {
    static DECOY: OnceLock<String> = OnceLock::new();
    if let Some(hash) = DECOY.get() {
        return hash.clone();
    }
    let hash = hash_password(uuid::Uuid::new_v4().to_string()).await.unwrap_or_default();
    DECOY.get_or_init(|| hash).clone()
}

// ---------------------------------------------------------------------------------------------
// Users

struct UserRow {
    user: User,
    password_hash: String,
}

/// The user with this email (its lowercase form, `email_key`), with their password's hash.
async fn user_by_email(db: &Db, email_key: &str) -> Result<Option<UserRow>, AppError> {
    let row = sqlx::query("SELECT id, email, name, password_hash FROM users WHERE email_key = $1")
        .bind(email_key)
        .fetch_optional(&mut *db.read().await?)
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    Ok(Some(UserRow {
        user: User { id: row.try_get("id")?, email: row.try_get("email")?, name: row.try_get("name")? },
        password_hash: row.try_get("password_hash")?,
    }))
}

/// A signed-in user, as the credential resolver finds them: with their saved cart's id, read
/// in the same query (`None` until their first cart; a user's cart, once made, is never
/// replaced: placing an order empties it).
pub type SignedInUser = (User, Option<String>);

/// The user behind a session, if the user still exists and the session was signed in at or
/// after their last "sign out everywhere"; with their cart's id, in one round trip.
pub async fn user_for_credential(
    db: &Db,
    user_id: i64,
    issued_at: i64,
) -> Result<Option<SignedInUser>, AppError> {
    let row = sqlx::query(
        "SELECT u.id, u.email, u.name, c.id AS cart_id FROM users u \
         LEFT JOIN carts c ON c.user_id = u.id \
         WHERE u.id = $1 AND u.credentials_valid_from <= $2",
    )
    .bind(user_id)
    .bind(issued_at)
    .fetch_optional(&mut *db.read().await?)
    .await?;
    row.map(|row| signed_in_user(&row)).transpose()
}

fn signed_in_user(row: &sqlx::any::AnyRow) -> Result<SignedInUser, AppError> {
    let user = User { id: row.try_get("id")?, email: row.try_get("email")?, name: row.try_get("name")? };
    Ok((user, row.try_get("cart_id")?))
}

/// The user behind a token, in one round trip: the user must exist, the token must have been
/// issued at or after their last "sign out everywhere", and its `jti` must not be revoked.
/// Both checks read the shared database, so a revocation on any instance counts at once on all.
/// With the user's cart's id, read in the same query.
pub async fn user_for_token(
    db: &Db,
    user_id: i64,
    issued_at: i64,
    jti: &str,
) -> Result<Option<SignedInUser>, AppError> {
    let row = sqlx::query(
        "SELECT u.id, u.email, u.name, c.id AS cart_id FROM users u \
         LEFT JOIN carts c ON c.user_id = u.id \
         WHERE u.id = $1 AND u.credentials_valid_from <= $2 \
         AND NOT EXISTS (SELECT 1 FROM revoked_tokens r WHERE r.jti = $3)",
    )
    .bind(user_id)
    .bind(issued_at)
    .bind(jti)
    .fetch_optional(&mut *db.read().await?)
    .await?;
    row.map(|row| signed_in_user(&row)).transpose()
}

pub async fn register(
    state: &AppState,
    client: &ClientKey,
    email: &str,
    password: &str,
    name: &str,
) -> Result<User, AppError> {
    let (email, name) = super::check_registration(email, password, name)?;
    let email_key = email.to_lowercase();
    super::limits::registration_attempt(state, client, &email_key).await?;
    if user_by_email(&state.db, &email_key).await?.is_some() {
        return Err(AppError::EmailTaken);
    }
    let hash = hash_password(password.to_string()).await?;
    let inserted = sqlx::query(
        "INSERT INTO users (email, email_key, name, password_hash, created_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (email_key) DO NOTHING RETURNING id",
    )
    .bind(&email)
    .bind(&email_key)
    .bind(&name)
    .bind(&hash)
    .bind(unix_now())
    // To the statement's end, so SQLite checkpoints its log after the commit (server::db).
    .fetch_all(&mut *state.db.read().await?)
    .await?
    .pop();
    // Two registrations racing for one address: the loser is told the address is taken.
    let Some(row) = inserted else {
        return Err(AppError::EmailTaken);
    };
    Ok(User { id: row.try_get("id")?, email, name })
}

/// Checks an email and password. A wrong email and a wrong password answer the same, in the
/// same time: both run one argon2 verification.
pub async fn authenticate(
    state: &AppState,
    client: &ClientKey,
    email: &str,
    password: &str,
) -> Result<User, AppError> {
    let email_key = email.trim().to_lowercase();
    // Counted before any password is checked; an address too long or odd to be an account
    // still counts against the client, under a bucket of its own shape.
    let bucket_email =
        if email_key.len() <= 254 { email_key.replace('\0', "") } else { "(long)".to_string() };
    super::limits::sign_in_attempt(state, client, &bucket_email).await?;
    let password_ok = |p: &str| !p.is_empty() && p.chars().count() <= super::MAX_PASSWORD_CHARS;
    let row = if email_key.len() <= 254 && !email_key.contains('\0') {
        user_by_email(&state.db, &email_key).await?
    } else {
        None
    };
    match row {
        Some(row) if password_ok(password) => {
            if verify_password(password.to_string(), row.password_hash).await {
                super::limits::signed_in(state, &email_key).await?;
                Ok(row.user)
            } else {
                Err(AppError::InvalidCredentials)
            }
        }
        _ => {
            verify_password(password.chars().take(128).collect(), decoy_hash().await).await;
            Err(AppError::InvalidCredentials)
        }
    }
}

/// The moment a new credential counts from: now, or the user's cut-off if that is later (a
/// sign-in in the same second as "sign out everywhere").
async fn issue_time(db: &Db, user_id: i64) -> Result<i64, AppError> {
    let valid_from: Option<i64> =
        sqlx::query_scalar("SELECT credentials_valid_from FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(&mut *db.read().await?)
            .await?;
    Ok(unix_now().max(valid_from.unwrap_or(0)))
}

// ---------------------------------------------------------------------------------------------
// Tokens: HS256 only, claims sub/iat/exp/jti and nothing personal.

/// Tolerated clock difference when checking `exp` and `iat`, in seconds.
pub const TOKEN_LEEWAY_SECS: u64 = 30;
/// Longer tokens are refused before any parsing.
const MAX_TOKEN_BYTES: usize = 4096;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    pub sub: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
}

pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// "environment" or "database", for the /auth page.
    pub source: &'static str,
}

impl JwtKeys {
    pub fn new(secret: &[u8], source: &'static str) -> Result<JwtKeys, AppError> {
        let failed = |error: jsonwebtoken::errors::Error| {
            tracing::error!(%error, "unusable token secret");
            AppError::Internal
        };
        Ok(JwtKeys {
            encoding: EncodingKey::from_secret(secret).map_err(failed)?,
            decoding: DecodingKey::from_secret(secret).map_err(failed)?,
            source,
        })
    }
}

/// The signing secret: `JWT_SECRET` if set, otherwise 256 random bits made on first start and
/// kept in the database, so that every instance on one database agrees.
pub async fn load_keys(db: &Db, configured: Option<&str>) -> Result<JwtKeys, AppError> {
    if let Some(secret) = configured {
        return JwtKeys::new(secret.as_bytes(), "environment");
    }
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|_| AppError::Internal)?;
    let fresh: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    sqlx::query("INSERT INTO settings (key, value) VALUES ('jwt_secret', $1) ON CONFLICT (key) DO NOTHING")
        .bind(&fresh)
        .execute(&mut *db.read().await?)
        .await?;
    let secret: String = sqlx::query_scalar("SELECT value FROM settings WHERE key = 'jwt_secret'")
        .fetch_one(&mut *db.read().await?)
        .await?;
    JwtKeys::new(secret.as_bytes(), "database")
}

pub fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

pub async fn issue_token(state: &AppState, user: &User) -> Result<IssuedToken, AppError> {
    let iat = issue_time(&state.db, user.id).await?;
    let claims = Claims {
        sub: user.id.to_string(),
        iat,
        exp: iat + state.config.token_ttl_secs,
        jti: uuid::Uuid::new_v4().simple().to_string(),
    };
    let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &state.jwt.encoding).map_err(
        |error| {
            tracing::error!(%error, "token signing failed");
            AppError::Internal
        },
    )?;
    Ok(IssuedToken { token, token_type: "Bearer".into(), expires_at: rfc3339(claims.exp) })
}

/// Checks a token's signature, algorithm and times. Any failure is a plain 401.
pub fn decode_token(keys: &JwtKeys, token: &str) -> Result<Claims, AppError> {
    if token.is_empty() || token.len() > MAX_TOKEN_BYTES {
        return Err(AppError::Unauthenticated);
    }
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = TOKEN_LEEWAY_SECS;
    validation.validate_nbf = true;
    validation.set_required_spec_claims(&["exp", "sub"]);
    let data = jsonwebtoken::decode::<Claims>(token, &keys.decoding, &validation)
        .map_err(|_| AppError::Unauthenticated)?;
    // Not yet valid: issued in the future (beyond the leeway).
    if data.claims.iat > unix_now() + TOKEN_LEEWAY_SECS as i64 {
        return Err(AppError::Unauthenticated);
    }
    Ok(data.claims)
}

/// Revokes the token; true when this call did it (false: it already was).
async fn revoke(db: &Db, claims: &Claims, user_id: i64) -> Result<bool, AppError> {
    let revoked = sqlx::query(
        "INSERT INTO revoked_tokens (jti, user_id, expires_at) VALUES ($1, $2, $3) \
         ON CONFLICT (jti) DO NOTHING",
    )
    .bind(&claims.jti)
    .bind(user_id)
    .bind(claims.exp + TOKEN_LEEWAY_SECS as i64)
    .execute(&mut *db.read().await?)
    .await?
    .rows_affected();
    Ok(revoked == 1)
}

/// Deletes revocations of tokens that have expired anyway.
pub async fn sweep_revocations(db: &Db) -> Result<u64, AppError> {
    Ok(sqlx::query("DELETE FROM revoked_tokens WHERE expires_at < $1")
        .bind(unix_now())
        .execute(&mut *db.read().await?)
        .await?
        .rows_affected())
}

// ---------------------------------------------------------------------------------------------
// Sign-in flows

/// Signs `user` in with a credential of `mode`, joining the visitor's guest cart to the user's.
pub async fn sign_in(
    state: &AppState,
    visitor: &Visitor,
    user: User,
    mode: AuthMode,
) -> Result<SignedIn, AppError> {
    let guest_cart = visitor.guest_cart_id().await?;
    if let Some(guest_cart) = &guest_cart {
        cart::service::absorb_cart(&state.db, guest_cart, user.id).await?;
    }
    match mode {
        AuthMode::Session => {
            let issued_at = issue_time(&state.db, user.id).await?;
            visitor.start_session(state, user.id, issued_at).await?;
            Ok(SignedIn { user, mode, token: None })
        }
        AuthMode::Token => {
            // A token sign-in leaves no session behind (and so no cookie).
            visitor.end_session().await?;
            let token = issue_token(state, &user).await?;
            Ok(SignedIn { user, mode, token: Some(token) })
        }
    }
}

/// Ends the credential the request carries.
pub async fn sign_out(state: &AppState, visitor: &Visitor) -> Result<(), AppError> {
    if let (Some(claims), Some(user)) = (visitor.token_claims(), &visitor.user) {
        revoke(&state.db, claims, user.id).await?;
    }
    visitor.end_session().await
}

/// What a sign-out tells the browser to forget (`Clear-Site-Data`): its HTTP cache always,
/// and, when the credential was a session, every cookie of the site. After a token sign-out
/// the page removes the token itself; clearing "storage" would also forget the chosen mode.
pub fn clear_site_data(mode: Option<AuthMode>) -> &'static str {
    match mode {
        Some(AuthMode::Token) => "\"cache\"",
        _ => "\"cache\", \"cookies\"",
    }
}

/// Every session and token of the user stops working.
pub async fn sign_out_everywhere(state: &AppState, visitor: &Visitor) -> Result<(), AppError> {
    let user = visitor.user.as_ref().ok_or(AppError::Unauthenticated)?;
    // Credentials issued up to this second stop counting; new ones count from the next second.
    sqlx::query("UPDATE users SET credentials_valid_from = $1 WHERE id = $2")
        .bind(unix_now() + 1)
        .bind(user.id)
        .execute(&mut *state.db.read().await?)
        .await?;
    sign_out(state, visitor).await
}

/// Exchanges the request's credential for one of `mode`; the old one stops working.
pub async fn switch(state: &AppState, visitor: &Visitor, mode: AuthMode) -> Result<SignedIn, AppError> {
    let user = visitor.user.clone().ok_or(AppError::Unauthenticated)?;
    let current = visitor.mode().ok_or(AppError::Unauthenticated)?;
    if current == mode {
        return Err(AppError::invalid(format!("You are already signed in with a {}.", mode.as_str())));
    }
    // The old credential is given up first, atomically: of two exchanges of one credential
    // racing each other, only one gets a new credential; the other is told to sign in.
    match mode {
        AuthMode::Token => {
            if !visitor.claim_session().await? {
                return Err(AppError::Unauthenticated);
            }
            visitor.end_session().await?;
            let token = issue_token(state, &user).await?;
            Ok(SignedIn { user, mode, token: Some(token) })
        }
        AuthMode::Session => {
            let claims = visitor.token_claims().ok_or(AppError::Unauthenticated)?;
            if !revoke(&state.db, claims, user.id).await? {
                return Err(AppError::Unauthenticated);
            }
            let issued_at = issue_time(&state.db, user.id).await?;
            visitor.start_session(state, user.id, issued_at).await?;
            Ok(SignedIn { user, mode, token: None })
        }
    }
}

/// A session-mode guest's cart, handed to the browser; the session ends.
pub async fn export_guest_cart(state: &AppState, visitor: &Visitor) -> Result<Vec<GuestLine>, AppError> {
    if visitor.user.is_some() {
        return Err(AppError::invalid("Signed-in carts are kept on the server."));
    }
    let lines = match visitor.guest_cart_id().await? {
        Some(cart_id) => {
            let cart = cart::service::load(&state.db, Some(&cart_id)).await?;
            cart::service::delete_cart(&state.db, &cart_id).await?;
            cart.lines.iter().map(|l| GuestLine { product_id: l.product_id, quantity: l.quantity }).collect()
        }
        None => Vec::new(),
    };
    visitor.end_session().await?;
    Ok(lines)
}

pub async fn inspect(state: &AppState, visitor: &Visitor) -> Result<Inspection, AppError> {
    let mut inspection = Inspection {
        mode: visitor.mode(),
        user: visitor.user.clone(),
        session_ttl_secs: state.config.session_ttl_secs,
        token_ttl_secs: state.config.token_ttl_secs,
        secret_source: state.jwt.source.to_string(),
        cookie_secure: state.config.cookie_secure,
        ..Inspection::default()
    };
    let headers = visitor.headers();
    inspection.cookie_header_bytes =
        headers.get(axum::http::header::COOKIE).and_then(|v| v.to_str().ok()).and_then(|cookies| {
            cookies
                .split(';')
                .map(str::trim)
                .find(|c| c.starts_with(crate::server::SESSION_COOKIE))
                .map(|c| "Cookie: ".len() + c.len())
        });
    inspection.authorization_header_bytes =
        headers.get(axum::http::header::AUTHORIZATION).map(|v| "Authorization: ".len() + v.as_bytes().len());
    if let Some(id) = visitor.session_id() {
        inspection.session_id_preview = Some(format!("{}…", id.chars().take(6).collect::<String>()));
        inspection.session_keys = visitor.session_keys().await;
        inspection.session_expires_at = Some(rfc3339(visitor.session_expiry()));
    }
    if let Some(user) = &visitor.user {
        inspection.revoked_tokens =
            sqlx::query_scalar("SELECT COUNT(*) FROM revoked_tokens WHERE user_id = $1 AND expires_at >= $2")
                .bind(user.id)
                .bind(unix_now())
                .fetch_one(&mut *state.db.read().await?)
                .await?;
    }
    Ok(inspection)
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{PasswordHasher, PasswordVerifier};

    #[test]
    fn hashes_agree_with_argon2s_own_hasher_both_ways() {
        let salt = SaltString::generate(&mut OsRng);
        let ours =
            hash_with(ArgonAlgorithm::Argon2id, Version::V0x13, params(), b"pear tree 42", salt.as_salt())
                .unwrap()
                .to_string();
        let theirs = Argon2::new(ArgonAlgorithm::Argon2id, Version::V0x13, params())
            .hash_password(b"pear tree 42", &salt)
            .unwrap()
            .to_string();
        assert_eq!(ours, theirs, "same salt, same PHC string");
        assert!(ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{ours}");
        assert!(verify(b"pear tree 42", &theirs));
        assert!(!verify(b"pear tree 43", &theirs));
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default().verify_password(b"pear tree 42", &parsed).is_ok());
    }

    #[test]
    fn a_hash_made_with_other_parameters_is_checked_with_its_own() {
        let salt = SaltString::generate(&mut OsRng);
        let light =
            Argon2::new(ArgonAlgorithm::Argon2i, Version::V0x10, Params::new(4096, 1, 1, None).unwrap())
                .hash_password(b"plum", &salt)
                .unwrap()
                .to_string();
        assert!(verify(b"plum", &light));
        assert!(!verify(b"plums", &light));
        assert!(!verify(b"plum", "not a hash"));
        assert!(!verify(b"plum", "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ"), "a hash without its output");
    }
}
