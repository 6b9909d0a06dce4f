//! The server: configuration, database, sessions, the JSON API and the Leptos app, assembled
//! into one axum `Router`.

pub mod api;
pub mod config;
pub mod db;
pub mod errors;
pub mod faults;
pub mod headers;
pub mod json;
pub mod origin;
pub mod sizes;
pub mod visitor;

use crate::{
    app::{shell, App},
    error::AppError,
};
use axum::{
    extract::{FromRef, State},
    http::{header::ACCEPT, request::Parts, StatusCode},
    response::IntoResponse,
    routing::get,
    Router,
};
use config::Config;
use db::{Db, SessionPool};
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes, ResponseOptions};
use std::{process::ExitCode, sync::Arc, time::Duration};
use tower_http::{
    catch_panic::CatchPanicLayer,
    compression::{CompressionLayer, CompressionLevel},
    limit::RequestBodyLimitLayer,
    trace::TraceLayer,
};
use tower_sessions::{cookie::SameSite, Expiry, SessionManagerLayer, SessionStore};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

pub const SESSION_COOKIE: &str = "shop_session";
/// Largest request body accepted (413 above): carts and forms are tiny.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Everything a request handler or server function may need, given once to the router.
#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub db: Db,
    pub config: Arc<Config>,
    pub jwt: Arc<crate::auth::service::JwtKeys>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// The state, inside a server function.
pub fn state() -> Result<AppState, AppError> {
    use_context::<AppState>().ok_or_else(|| {
        tracing::error!("AppState missing from the server function's context");
        AppError::Internal
    })
}

/// Gives a server function's error its HTTP status. A plain HTML form post (no JavaScript)
/// keeps the redirect back to the page, which shows the error from the URL instead.
pub fn respond<T>(result: Result<T, AppError>) -> Result<T, AppError> {
    if let Err(error) = &result {
        let wants_html = use_context::<Parts>()
            .and_then(|parts| parts.headers.get(ACCEPT)?.to_str().ok().map(|v| v.contains("text/html")))
            .unwrap_or(false);
        if !wants_html {
            if let Some(options) = use_context::<ResponseOptions>() {
                options.set_status(error.status_code());
                if let Some((name, value)) = error.retry_after() {
                    options.insert_header(name, value);
                }
            }
        }
    }
    result
}

/// Tells the browser, with the server function's answer, what to forget (`Clear-Site-Data`).
pub fn clear_site_data(value: &'static str) {
    if let Some(options) = use_context::<ResponseOptions>() {
        options.insert_header(
            axum::http::HeaderName::from_static("clear-site-data"),
            axum::http::HeaderValue::from_static(value),
        );
    }
}

/// After a plain HTML form post (no JavaScript), send the browser to `path` instead of back to
/// the page it came from. Calls made by the app itself are left alone.
pub fn redirect_plain_form(path: &str) {
    let wants_html = use_context::<Parts>()
        .and_then(|parts| parts.headers.get(ACCEPT)?.to_str().ok().map(|v| v.contains("text/html")))
        .unwrap_or(false);
    if wants_html {
        leptos_axum::redirect(path);
    }
}

pub fn unix_now() -> i64 {
    unix_now_ms() / 1000
}

/// Milliseconds since the epoch: orders cart lines by when they were added.
pub fn unix_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error(transparent)]
    Db(#[from] db::DbError),
    #[error("token secret: {0}")]
    Secret(String),
    #[error("session store: {0}")]
    Sessions(#[source] sqlx::Error),
    #[error("could not listen on {addr}: {source}")]
    Bind { addr: String, source: std::io::Error },
}

/// Builds the whole application: connects to and migrates the database, then assembles the
/// routes. Tests drive the returned router directly.
pub async fn build_app(config: Config, leptos_options: LeptosOptions) -> Result<Router, StartError> {
    build_app_with(config, leptos_options, Router::new()).await
}

/// `build_app` with `extra` routes beside the shop's, under the same layers (tests add a route
/// that panics, to see the answer the layers make of it).
pub async fn build_app_with(
    config: Config,
    leptos_options: LeptosOptions,
    extra: Router<AppState>,
) -> Result<Router, StartError> {
    let (db, sessions) = db::connect(&config.database_url).await?;
    db::migrate(&sessions).await?;
    let jwt = crate::auth::service::load_keys(&db, config.jwt_secret.as_deref())
        .await
        .map_err(|error| StartError::Secret(error.to_string()))?;
    let state = AppState {
        leptos_options: leptos_options.clone(),
        db: db.clone(),
        config: Arc::new(config),
        jwt: Arc::new(jwt),
    };
    // Revocations of expired tokens and attempt counts of past windows are useless: sweep
    // them hourly.
    let window_secs = state.config.auth_limits.window_secs;
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(3600));
        loop {
            every.tick().await;
            if let Err(error) = crate::auth::service::sweep_revocations(&db).await {
                tracing::warn!(%error, "sweeping token revocations failed");
            }
            if let Err(error) = crate::auth::limits::sweep(&db, window_secs).await {
                tracing::warn!(%error, "sweeping sign-in attempt counts failed");
            }
        }
    });

    let routes = route_list();
    let router = Router::new()
        .route("/healthz", get(healthz))
        .merge(extra)
        .nest("/api/v1", api::router())
        .leptos_routes(&state, routes, {
            let options = leptos_options.clone();
            move || shell(options.clone())
        })
        // Files of the site (the bundle, images); a `.br` or `.gz` copy beside a file, as a
        // release build leaves them (scripts/release.sh), is sent as it is to browsers that
        // accept it. Anything else is the app's 404 page.
        .fallback(files_or_not_found)
        .with_state(state.clone());

    let router = match sessions {
        SessionPool::Sqlite(pool) => {
            let store = SqliteStore::new(pool);
            migrate_sessions(|| store.migrate()).await?;
            with_sessions(router, store, &state.config)
        }
        SessionPool::Postgres(pool) => {
            let store = PostgresStore::new(pool);
            migrate_sessions(|| store.migrate()).await?;
            with_sessions(router, store, &state.config)
        }
    };
    Ok(router
        .layer(axum::middleware::from_fn_with_state(state.config.clone(), origin::refuse_cross_site_writes))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        // A database that stops answering must not hold a request for good: 503 after 15 s.
        .layer(axum::middleware::from_fn(sizes::buffer_server_fn_bodies))
        .layer(axum::middleware::from_fn(faults::deadline))
        // Outside the body limit, so that its own 413 (a Content-Length over the limit) gets
        // the JSON error body too.
        .layer(axum::middleware::from_fn(errors::json_error_bodies))
        // Before the session is looked up: a 10 KB cookie never reaches the store.
        .layer(axum::middleware::from_fn(sizes::refuse_oversized))
        // Inside the headers layer: a panic's 500 carries the security headers too.
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(axum::middleware::from_fn_with_state(state.config.cookie_secure, headers::security_headers))
        // Pages and API answers are compressed as they go out, at a quality that costs little
        // CPU (brotli's default, 11, is meant for files compressed once). Files that already
        // carry a Content-Encoding (the precompressed bundle) pass through untouched.
        .layer(CompressionLayer::new().quality(CompressionLevel::Precise(4)))
        .layer(TraceLayer::new_for_http()))
}

/// A handler that panicked: logged with its message, answered with a plain 500 (the JSON error,
/// nothing of the panic); the server goes on serving.
fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_string());
    tracing::error!(panic = %message, "a request handler panicked");
    AppError::Internal.into_response()
}

/// Creates the session table if it is missing. Instances starting at the same moment can race
/// on `CREATE … IF NOT EXISTS` (PostgreSQL reports a duplicate): once the other has made it,
/// trying again succeeds.
async fn migrate_sessions<F, Fut>(migrate: F) -> Result<(), StartError>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<(), sqlx::Error>>,
{
    let mut attempt = 0;
    loop {
        match migrate().await {
            Ok(()) => return Ok(()),
            Err(error) if attempt < 3 => {
                attempt += 1;
                tracing::warn!(%error, attempt, "creating the session table failed; trying again");
                tokio::time::sleep(Duration::from_millis(200 * attempt)).await;
            }
            Err(error) => return Err(StartError::Sessions(error)),
        }
    }
}

/// The app's routes, worked out once per process. Generating them runs the app with resource
/// loading suppressed process-wide (leptos-rs/leptos#4773): a page rendered by another router
/// in the same process at that moment would wait for its data forever. The test suites build
/// many routers in one process, so the list is made once and shared.
fn route_list() -> Vec<leptos_axum::AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<leptos_axum::AxumRouteListing>> = std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

fn with_sessions<S>(router: Router, store: S, config: &Config) -> Router
where
    S: SessionStore + tower_sessions::ExpiredDeletion + Clone,
{
    // Sweep expired sessions from the store once a minute.
    tokio::spawn(faults::delete_expired_sessions(store.clone(), Duration::from_secs(60)));
    let layer = SessionManagerLayer::new(store)
        .with_name(SESSION_COOKIE)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_path("/")
        .with_secure(config.cookie_secure)
        .with_expiry(Expiry::OnInactivity(tower_sessions::cookie::time::Duration::seconds(
            config.session_ttl_secs,
        )));
    router.layer(layer)
}

/// Files and the 404 page answer reads only: another method on a path that no route takes
/// is a 405 (it used to get the file, as for a GET).
async fn files_or_not_found(
    uri: axum::http::Uri,
    State(state): State<AppState>,
    request: axum::extract::Request,
) -> axum::response::Response {
    if !matches!(*request.method(), axum::http::Method::GET | axum::http::Method::HEAD) {
        let error = AppError::invalid("This method is not allowed here.");
        return (StatusCode::METHOD_NOT_ALLOWED, [(axum::http::header::ALLOW, "GET, HEAD")], error)
            .into_response();
    }
    if let Some(file) = site_file(&uri, &state.leptos_options.site_root, request.headers()).await {
        return file;
    }
    // No such file: the app's own 404 page (its router's fallback sets the status).
    let options = state.leptos_options.clone();
    leptos_axum::render_app_async_with_context(
        move || provide_context(state.clone()),
        move || shell(options.clone()),
    )(request)
    .await
}

/// A file of the site, with its `.br` or `.gz` copy for a browser that accepts one; `None` when
/// there is no such file. Served here rather than by Leptos's file handler, which hands a found
/// file the response options of whatever page is being rendered on the same thread at that
/// moment, and so took a page's headers (its script policy, a redirect) for the file
/// (tests/headers.rs).
async fn site_file(
    uri: &axum::http::Uri,
    root: &str,
    headers: &axum::http::HeaderMap,
) -> Option<axum::response::Response> {
    use tower::ServiceExt;
    let mut request = axum::http::Request::get(uri.clone());
    if let Some(accept) = headers.get(axum::http::header::ACCEPT_ENCODING) {
        request = request.header(axum::http::header::ACCEPT_ENCODING, accept);
    }
    let request = request.body(axum::body::Body::empty()).ok()?;
    let response = tower_http::services::ServeDir::new(root)
        .precompressed_gzip()
        .precompressed_br()
        .oneshot(request)
        .await
        .ok()?;
    (response.status() == StatusCode::OK).then(|| response.into_response())
}

async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    if state.db.ping().await {
        (StatusCode::OK, axum::Json(serde_json::json!({ "status": "ok" })))
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, axum::Json(serde_json::json!({ "status": "unavailable" })))
    }
}

/// The `shop` binary.
pub async fn main() -> ExitCode {
    if std::env::args().skip(1).any(|a| a == "--help" || a == "-h") {
        print!("{}", config::HELP);
        return ExitCode::SUCCESS;
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error}");
            eprintln!("shop: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Password hashes take their 19 MiB of working memory from the system allocator (glibc's
/// malloc; everything else goes through mimalloc, src/main.rs). glibc raises its mmap
/// threshold after the first large free, after which every hash would land in a per-thread
/// arena and stay there: hundreds of MB for a few dozen sign-ins (measured by `make bench`). A
/// fixed threshold keeps large blocks in mmap, returned to the system as soon as they are freed.
fn return_large_allocations() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

/// A panic is one log line (where, and its message), never a backtrace dump on stderr: with
/// `RUST_BACKTRACE=1` in the environment one panicking request would write megabytes.
fn log_panics_in_one_line() {
    std::panic::set_hook(Box::new(|info| {
        let location = info.location().map(|l| format!("{}:{}", l.file(), l.line())).unwrap_or_default();
        tracing::error!(%location, "panic");
    }));
}

async fn run() -> Result<(), StartError> {
    return_large_allocations();
    log_panics_in_one_line();
    let config = Config::from_env()?;
    let mut leptos_options = get_configuration(None)
        .map_err(|e| config::ConfigError(format!("Leptos settings: {e}")))?
        .leptos_options;
    if leptos_options.output_name.is_empty() {
        leptos_options.output_name = "shop".into();
    }
    let addr = leptos_options.site_addr;
    let app = build_app(config, leptos_options).await?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Bind { addr: addr.to_string(), source })?;
    tracing::info!("listening on http://{addr}");
    serve(listener, app).await;
    tracing::info!("stopped");
    Ok(())
}

/// A client gets this long to send a request's headers (and an idle keep-alive connection
/// this long to start the next request); then the connection is closed. Without it a client
/// sending a header line now and then holds a connection for good (slowloris).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(15);

/// Serves HTTP/1.1 until SIGTERM, then stops accepting, finishes the requests in flight and
/// returns. Like `axum::serve`, plus a timeout for reading headers, `TCP_NODELAY`, and the
/// peer address for the sign-in limits (`ConnectInfo`).
async fn serve(listener: tokio::net::TcpListener, app: Router) {
    use hyper_util::{
        rt::{TokioIo, TokioTimer},
        server::graceful::GracefulShutdown,
    };
    use tower::ServiceExt;
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown_signal());
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(error) => {
                    // Out of file descriptors and the like: wait a moment and go on serving.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service =
            hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
                request.extensions_mut().insert(axum::extract::ConnectInfo(peer));
                app.clone().oneshot(request.map(axum::body::Body::new))
            });
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_READ_TIMEOUT)
            .serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection closed with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// Resolves on SIGTERM or Ctrl-C: the server stops accepting, finishes what is in flight, exits 0.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
