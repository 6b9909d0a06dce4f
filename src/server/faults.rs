//! The shop when what it stands on fails.
//!
//! - Every request gets an answer, whatever the database does. A database that stops
//!   answering without closing its connections (a network partition, a frozen host) leaves a
//!   query in flight waiting for good: sqlx has no read timeout, and the pool's acquire timeout
//!   only covers getting a connection. Past `REQUEST_DEADLINE`, the request is dropped (an
//!   open transaction rolls back with its connection) and answered 503 `unavailable`, so that
//!   clients retry (checkouts with the same Idempotency-Key) instead of hanging.
//! - Which database errors mean "unavailable, try again" (503) rather than a bug (500).
//! - Expired sessions keep being swept after a database outage.

use crate::error::AppError;
use axum::{
    extract::Request,
    http::{header::CONTENT_TYPE, HeaderValue, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use std::time::Duration;

/// Longer than any wait a healthy shop makes: a connection from the pool (5 s, `db.rs`) and
/// then SQLite's write lock (10 s busy timeout).
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(15);

/// The middleware: `axum::middleware::from_fn(faults::deadline)`.
pub async fn deadline(request: Request, next: Next) -> Response {
    within(REQUEST_DEADLINE, request, next).await
}

async fn within(limit: Duration, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(path, limit_secs = limit.as_secs_f64(), "no answer within the deadline: 503");
            if path.starts_with("/api/") || path.starts_with("/fn/") || path == "/healthz" {
                AppError::Unavailable.into_response()
            } else {
                let mut response =
                    (StatusCode::SERVICE_UNAVAILABLE, AppError::Unavailable.to_string()).into_response();
                response
                    .headers_mut()
                    .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
                response
            }
        }
    }
}

/// True when `error` means the database cannot serve right now (it is away, restarting,
/// failing over, overloaded or locked), so that the answer is 503 `unavailable` and the client
/// may try again, not a 500. A PostgreSQL restart ends every connection with 57P01 ("terminating
/// connection due to administrator command"): the requests in flight at that moment get it.
pub fn is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| unavailable_code(&code)),
        _ => false,
    }
}

/// PostgreSQL's SQLSTATEs are five characters (some all digits, like 08006); SQLite's extended
/// result codes are numbers below 10000.
fn unavailable_code(code: &str) -> bool {
    if code.len() == 5 {
        // Class 08: connection exceptions. 57P01 admin shutdown, 57P02 crash shutdown, 57P03
        // cannot connect now (starting up), 53300 too many connections, 25006 read-only
        // transaction (a standby, in the middle of a failover).
        return code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "53300" | "25006");
    }
    // SQLITE_BUSY, SQLITE_LOCKED, SQLITE_IOERR, SQLITE_FULL, SQLITE_CANTOPEN, and their extended
    // codes, which keep the primary code in the low byte.
    code.parse::<i64>().is_ok_and(|sqlite| matches!(sqlite & 0xff, 5 | 6 | 10 | 13 | 14))
}

/// Deletes expired sessions every `period` for as long as the process runs, through database
/// outages. (tower-sessions' own `continuously_delete_expired` returns at its first error: one
/// sweep while the database is away, and expired sessions pile up until the next restart.)
pub async fn delete_expired_sessions<S>(store: S, period: Duration)
where
    S: tower_sessions::ExpiredDeletion,
{
    let mut every = tokio::time::interval(period);
    every.tick().await; // the first tick is at once
    loop {
        every.tick().await;
        if let Err(error) = store.delete_expired().await {
            tracing::warn!(%error, "deleting expired sessions failed; trying again later");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::{body::Body, routing::get, Router};
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    fn app() -> Router {
        Router::new()
            .route("/api/v1/stuck", get(std::future::pending::<&'static str>))
            .route("/api/v1/quick", get(|| async { "quick" }))
            .route("/stuck-page", get(std::future::pending::<&'static str>))
            .layer(axum::middleware::from_fn(|request: Request, next: Next| {
                within(Duration::from_millis(100), request, next)
            }))
    }

    async fn get_path(path: &str) -> (StatusCode, String) {
        let response = app().oneshot(Request::get(path).body(Body::empty()).unwrap()).await.unwrap();
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn a_request_held_up_past_the_deadline_is_a_503_in_the_contracts_shape() {
        let (status, body) = get_path("/api/v1/stuck").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        let body: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["error"]["code"], "unavailable");
        let (status, _) = get_path("/stuck-page").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(get_path("/api/v1/quick").await, (StatusCode::OK, "quick".to_string()));
    }

    #[derive(Debug)]
    struct Refused(&'static str);

    impl std::fmt::Display for Refused {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "refused with {}", self.0)
        }
    }

    impl std::error::Error for Refused {}

    impl sqlx::error::DatabaseError for Refused {
        fn message(&self) -> &str {
            "refused"
        }
        fn code(&self) -> Option<std::borrow::Cow<'_, str>> {
            Some(self.0.into())
        }
        fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
            self
        }
        fn kind(&self) -> sqlx::error::ErrorKind {
            sqlx::error::ErrorKind::Other
        }
    }

    #[test]
    fn a_database_that_is_away_or_busy_is_unavailable_and_a_bad_query_is_not() {
        let database = |code: &'static str| sqlx::Error::Database(Box::new(Refused(code)));
        for error in [
            sqlx::Error::PoolTimedOut,
            sqlx::Error::PoolClosed,
            sqlx::Error::Io(std::io::ErrorKind::ConnectionReset.into()),
            database("57P01"),
            database("08006"),
            database("53300"),
            database("1034"), // SQLITE_IOERR_FSYNC
            database("25006"),
            database("5"),   // SQLITE_BUSY
            database("517"), // SQLITE_BUSY_SNAPSHOT
            database("6"),   // SQLITE_LOCKED
        ] {
            assert!(is_unavailable(&error), "{error}");
        }
        for error in [
            sqlx::Error::RowNotFound,
            sqlx::Error::ColumnNotFound("x".into()),
            database("42P01"), // undefined table
            database("23505"), // unique violation
            database("2067"),  // SQLITE_CONSTRAINT_UNIQUE
            database("1"),     // SQLITE_ERROR
        ] {
            assert!(!is_unavailable(&error), "{error}");
        }
    }
}
