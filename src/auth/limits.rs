//! Guessing: sign-in and registration attempts are counted per client (its IP address) and
//! per account (the email address), in fixed windows kept in the database, so every instance
//! behind a load balancer counts the same attempts. Over a limit, the answer is 429 with
//! `Retry-After`, and no password is checked.
//!
//! Nobody can lock a real user out for good: a window ends `AUTH_RATE_WINDOW_SECS` after it
//! began, and a successful sign-in clears the account's count.

use crate::{
    error::AppError,
    server::{db::Db, unix_now, AppState},
};
use axum::{
    extract::{ConnectInfo, FromRequestParts},
    http::{request::Parts, HeaderMap},
};
use std::{
    convert::Infallible,
    net::{IpAddr, SocketAddr},
};

/// Who is asking, as far as rate limits go: the client's address (an IPv6 address by its /64,
/// which one household or phone usually holds whole).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientKey(pub String);

impl ClientKey {
    /// From the connection's peer address, or, when `TRUST_FORWARDED_FOR` says a proxy of ours
    /// stands in front, from the last address that proxy appended to `X-Forwarded-For`.
    pub fn from_parts(parts: &Parts, trust_forwarded_for: bool) -> ClientKey {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip());
        let forwarded = if trust_forwarded_for { last_forwarded_for(&parts.headers) } else { None };
        // An IPv4 client of a dual-stack listener arrives as ::ffff:a.b.c.d: it is that IPv4
        // address, not a member of the IPv6 prefix ::/64 that every such client shares.
        let address = forwarded.or(peer).map(|ip| match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        });
        match address {
            Some(IpAddr::V6(ip)) => {
                let s = ip.segments();
                ClientKey(format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3]))
            }
            Some(ip) => ClientKey(ip.to_string()),
            // Only in-process tests call the router without a connection.
            None => ClientKey("unknown".to_string()),
        }
    }

    /// Inside a server function.
    pub fn from_server_fn(state: &AppState) -> ClientKey {
        match leptos::prelude::use_context::<Parts>() {
            Some(parts) => ClientKey::from_parts(&parts, state.config.trust_forwarded_for),
            None => ClientKey("unknown".to_string()),
        }
    }
}

fn last_forwarded_for(headers: &HeaderMap) -> Option<IpAddr> {
    let last = headers.get_all("x-forwarded-for").iter().next_back()?.to_str().ok()?;
    last.rsplit(',').next()?.trim().parse().ok()
}

impl FromRequestParts<AppState> for ClientKey {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(ClientKey::from_parts(parts, state.config.trust_forwarded_for))
    }
}

/// Counts one attempt in `bucket`; refuses it (429) once the window holds `limit` attempts.
/// One atomic statement: concurrent attempts cannot slip past the limit together.
async fn count(db: &Db, bucket: &str, limit: u32, window_secs: i64) -> Result<(), AppError> {
    let now = unix_now();
    let (hits, window_start): (i64, i64) = sqlx::query_as(
        "INSERT INTO auth_attempts (bucket, window_start, hits) VALUES ($1, $2, 1) \
         ON CONFLICT (bucket) DO UPDATE SET \
           hits = CASE WHEN auth_attempts.window_start <= $3 THEN 1 ELSE auth_attempts.hits + 1 END, \
           window_start = CASE WHEN auth_attempts.window_start <= $3 THEN $2 ELSE auth_attempts.window_start END \
         RETURNING hits, window_start",
    )
    .bind(bucket)
    .bind(now)
    .bind(now - window_secs)
    // To the statement's end, so SQLite checkpoints its log after the commit (server::db).
    .fetch_all(&mut *db.read().await?)
    .await?
    .pop()
    .ok_or(AppError::Internal)?;
    if hits > i64::from(limit) {
        let retry_after = (window_start + window_secs - now).max(1) as u64;
        tracing::warn!(bucket = bucket_kind(bucket), retry_after, "rate limit reached");
        return Err(AppError::RateLimited(retry_after));
    }
    Ok(())
}

/// The kind of bucket, for the log: never the address or the email itself.
fn bucket_kind(bucket: &str) -> &str {
    bucket.split(':').next().unwrap_or("")
}

fn account_bucket(email_key: &str) -> String {
    format!("account:{email_key}")
}

/// Before checking a password: one attempt for the client and one for the account.
pub async fn sign_in_attempt(state: &AppState, client: &ClientKey, email_key: &str) -> Result<(), AppError> {
    count_client(state, client).await?;
    let limits = &state.config.auth_limits;
    count(&state.db, &account_bucket(email_key), limits.per_account, limits.window_secs).await
}

async fn count_client(state: &AppState, client: &ClientKey) -> Result<(), AppError> {
    let limits = &state.config.auth_limits;
    count(&state.db, &format!("client:{}", client.0), limits.per_client, limits.window_secs).await
}

/// Before creating an account: registrations count against the client, and against the
/// address under a count of their own (so that signing up does not use up sign-in attempts).
pub async fn registration_attempt(
    state: &AppState,
    client: &ClientKey,
    email_key: &str,
) -> Result<(), AppError> {
    count_client(state, client).await?;
    let limits = &state.config.auth_limits;
    count(&state.db, &format!("register:{email_key}"), limits.per_account, limits.window_secs).await
}

/// A correct password: the account's earlier mistakes are forgiven.
pub async fn signed_in(state: &AppState, email_key: &str) -> Result<(), AppError> {
    sqlx::query("DELETE FROM auth_attempts WHERE bucket = $1")
        .bind(account_bucket(email_key))
        .execute(&mut *state.db.read().await?)
        .await?;
    Ok(())
}

/// Windows that ended long ago are dead weight: swept with the token revocations.
pub async fn sweep(db: &Db, window_secs: i64) -> Result<u64, AppError> {
    Ok(sqlx::query("DELETE FROM auth_attempts WHERE window_start < $1")
        .bind(unix_now() - window_secs)
        .execute(&mut *db.read().await?)
        .await?
        .rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    fn parts(peer: &str, forwarded: Option<&str>) -> Parts {
        let mut request = Request::get("/").body(()).unwrap();
        request.extensions_mut().insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
        if let Some(value) = forwarded {
            request.headers_mut().insert("x-forwarded-for", value.parse().unwrap());
        }
        request.into_parts().0
    }

    #[test]
    fn the_client_is_the_peer_unless_a_proxy_is_trusted() {
        let p = parts("10.0.0.5:4000", Some("203.0.113.9, 198.51.100.7"));
        assert_eq!(ClientKey::from_parts(&p, false).0, "10.0.0.5");
        // The last entry is the one our proxy appended; earlier ones are the client's to forge.
        assert_eq!(ClientKey::from_parts(&p, true).0, "198.51.100.7");
        let garbage = parts("10.0.0.5:4000", Some("not an address"));
        assert_eq!(ClientKey::from_parts(&garbage, true).0, "10.0.0.5");
    }

    #[test]
    fn an_ipv6_client_is_its_64_bit_prefix() {
        let a = ClientKey::from_parts(&parts("[2001:db8:1:2:aaaa::1]:4000", None), false);
        let b = ClientKey::from_parts(&parts("[2001:db8:1:2:bbbb::9]:4000", None), false);
        assert_eq!(a, b);
        assert_eq!(a.0, "2001:db8:1:2::/64");
    }

    #[test]
    fn an_ipv4_client_of_a_dual_stack_listener_is_its_ipv4_address() {
        let a = ClientKey::from_parts(&parts("[::ffff:127.0.0.2]:4000", None), false);
        let b = ClientKey::from_parts(&parts("[::ffff:127.0.0.3]:4000", None), false);
        assert_eq!(a.0, "127.0.0.2");
        assert_ne!(a, b);
        let forwarded = ClientKey::from_parts(&parts("10.0.0.1:80", Some("::ffff:10.1.0.7")), true);
        assert_eq!(forwarded.0, "10.1.0.7");
    }
}
