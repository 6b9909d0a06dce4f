//! The `/auth` page: what each mode keeps in the browser and on the server, what it adds to
//! every request, byte for byte, and what that costs.

use super::{client, inspect, pages::use_auth, AuthMode, Inspection, TOKEN_STORAGE_KEY};
use crate::server_time::now_secs;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn AuthPage() -> impl IntoView {
    let auth = use_auth();
    let inspection = Resource::new(move || auth.version.get(), |_| inspect());
    // The token, read from localStorage once the page has hydrated (the server cannot see it).
    let token = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        auth.version.track();
        token.set(client::stored_token());
    });
    // A clock for the token's expiry countdown, ticking in the browser only.
    let now = RwSignal::new(0i64);
    Effect::new(move |_| {
        now.set(now_secs());
        #[cfg(feature = "hydrate")]
        {
            let handle =
                set_interval_with_handle(move || now.set(now_secs()), std::time::Duration::from_secs(1));
            if let Ok(handle) = handle {
                on_cleanup(move || handle.clear());
            }
        }
    });

    view! {
        <Title text="Sessions or tokens?"/>
        <section class="explain">
            <h1>"Cookie sessions or tokens?"</h1>
            <p class="lead">
                "HTTP forgets you between requests. This shop can remember you in two ways, and you can switch between them "
                "at any moment with the toggle in the header. This page shows, for the way you use now, exactly what your "
                "browser holds, what the server keeps, and what each request carries."
            </p>
            <Transition fallback=|| view! { <p class="muted">"Looking…"</p> }>
                {move || Suspend::new(async move {
                    let inspection = inspection.await.unwrap_or_default();
                    view! { <Comparison inspection token now/> }
                })}
            </Transition>
            <TradeOffs/>
        </section>
    }
}

#[component]
fn Comparison(inspection: Inspection, token: RwSignal<Option<String>>, now: RwSignal<i64>) -> impl IntoView {
    let auth = use_auth();
    let mode = move || auth.mode.get();
    let who = match &inspection.user {
        Some(user) => format!("You are signed in as {} ({}).", user.name, user.email),
        None => "You are browsing as a guest.".to_string(),
    };
    let cookie_attributes = format!(
        "HttpOnly; SameSite=Lax; Path=/{}; expires after {} of inactivity",
        if inspection.cookie_secure { "; Secure" } else { "" },
        duration_text(inspection.session_ttl_secs)
    );
    let cookie_bytes = inspection.cookie_header_bytes;
    let session_preview = inspection.session_id_preview.clone();
    let session_keys = inspection.session_keys.join(", ");
    let session_expires = inspection.session_expires_at.clone();
    let revoked = inspection.revoked_tokens;
    let secret_source = inspection.secret_source.clone();
    let token_ttl = duration_text(inspection.token_ttl_secs);
    view! {
        <p class="explain__who">
            "Mode now: " <strong data-testid="auth-page-mode">{move || mode().as_str()}</strong> ". " {who}
        </p>
        <div class="explain__grid">
            <article class="explain__card" data-mode="session" class:explain__card--active=move || mode() == AuthMode::Session>
                <h2>"Cookie session"</h2>
                <h3>"Your browser holds"</h3>
                <p>
                    "A cookie named " <code>"shop_session"</code> " holding only a random session id: "
                    <code>{cookie_attributes}</code> ". Scripts on the page cannot read it (HttpOnly); the browser sends it by itself."
                </p>
                <h3>"Each request carries"</h3>
                <p data-testid="cookie-bytes">
                    {match cookie_bytes {
                        Some(n) => format!("{n} bytes: the header Cookie: shop_session=… as your browser sent it."),
                        None => "Nothing yet: this browser has no session cookie (a guest's is set on the first change to the cart).".to_string(),
                    }}
                </p>
                <h3>"The server keeps"</h3>
                <p>
                    {match session_preview {
                        Some(id) => format!(
                            "A row in the session table, id {id}, holding: {}; it expires {}.",
                            if session_keys.is_empty() { "nothing yet".to_string() } else { session_keys.clone() },
                            session_expires.clone().unwrap_or_default()
                        ),
                        None => "A row in the session table per visitor with a session: the user's id, when they signed in, a guest's cart id, and when it was last used (to keep an idle session alive).".to_string(),
                    }}
                </p>
            </article>
            <article class="explain__card" data-mode="token" class:explain__card--active=move || mode() == AuthMode::Token>
                <h2>"Token (JWT)"</h2>
                <h3>"Your browser holds"</h3>
                {move || match token.get() {
                    Some(token) => view! { <TokenDetails token now/> }.into_any(),
                    None => view! {
                        <p>
                            "Nothing yet. Signed in in token mode, a signed token (JWT, HS256) is kept in localStorage under "
                            <code>{TOKEN_STORAGE_KEY}</code> ", where any script on the page can read it."
                        </p>
                    }.into_any(),
                }}
                <h3>"The server keeps"</h3>
                <p>
                    "No session. Only the signing secret (from the " {secret_source} ") and a list of tokens signed out before "
                    "they expire: " <strong>{revoked}</strong> " for you now. A token lasts " {token_ttl} "."
                </p>
            </article>
        </div>
    }
}

#[component]
fn TokenDetails(token: String, now: RwSignal<i64>) -> impl IntoView {
    let bytes = "Authorization: Bearer ".len() + token.len();
    let decoded = client::decode_token_for_display(&token);
    let exp = decoded.as_ref().and_then(|d| d.exp);
    let countdown = move || match exp {
        Some(exp) => {
            let left = exp - now.get();
            if left > 0 {
                format!("expires in {}", duration_text(left))
            } else {
                "has expired".to_string()
            }
        }
        None => String::new(),
    };
    view! {
        <p>"In localStorage, " <code>{TOKEN_STORAGE_KEY}</code> " (" {token.len()} " bytes); it " <span data-testid="token-countdown">{countdown}</span> ":"</p>
        <pre class="explain__token" data-testid="token-value">{token_parts(&token)}</pre>
        {decoded.map(|d| view! {
            <div class="explain__decoded">
                <div><h4>"Header"</h4><pre>{d.header}</pre></div>
                <div><h4>"Claims"</h4><pre data-testid="token-claims">{d.claims}</pre></div>
            </div>
        })}
        <h3>"Each request carries"</h3>
        <p data-testid="token-bytes">{bytes} " bytes: the header Authorization: Bearer …, added by the app to every call."</p>
    }
}

#[component]
fn TradeOffs() -> impl IntoView {
    view! {
        <section class="explain__tradeoffs">
            <h2>"The trade-offs"</h2>
            <ul>
                <li><strong>"Size. "</strong>"A session cookie is a few dozen bytes; a token is several hundred, sent with every request."</li>
                <li><strong>"Scaling. "</strong>"Sessions must live where every server can read them: here, in the shared database, so any number of instances can serve any request. Tokens need only the shared secret (and, to sign out before expiry, a shared list of revoked tokens)."</li>
                <li><strong>"Other domains and mobile apps. "</strong>"Cookies belong to one site and travel by themselves; a token is a plain header that any client can send to any API."</li>
                <li><strong>"Cross-site scripting. "</strong>"An injected script cannot read an HttpOnly cookie, but it can read localStorage and steal a token. So a token here carries no personal data: only a user id, times and a token id."</li>
                <li><strong>"Cross-site requests. "</strong>"The browser sends cookies by itself, even with requests other sites trigger (SameSite=Lax limits that); a token is only sent by the app's own code."</li>
                <li><strong>"Signing out. "</strong>"Deleting a session ends it at once, everywhere. A token stays valid until it expires unless the server keeps a list of revoked tokens, as this shop does."</li>
            </ul>
        </section>
    }
}

/// The token's three parts, each in its own colour: header, claims, signature.
fn token_parts(token: &str) -> impl IntoView {
    let mut parts = token.splitn(3, '.');
    let (header, claims, signature) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    view! {
        <span class="jwt-header" title="header">{header.to_string()}</span>"."
        <span class="jwt-claims" title="claims">{claims.to_string()}</span>"."
        <span class="jwt-signature" title="signature">{signature.to_string()}</span>
    }
}

fn duration_text(secs: i64) -> String {
    match secs {
        s if s >= 2 * 86400 => format!("{} days", s / 86400),
        s if s >= 2 * 3600 => format!("{} hours", s / 3600),
        s if s >= 120 => format!("{} minutes", s / 60),
        s => format!("{s} seconds"),
    }
}
