//! Authentication in the browser: the shared auth context, the header's controls (mode toggle,
//! who is signed in, sign in / sign out), the sign-in and registration pages.

use super::{
    client, current_user, export_guest_cart, import_guest_cart, merge_cart, switch_mode, AuthMode, Login,
    Logout, LogoutAll, Me, Register, SignedIn,
};
use crate::{app::ErrorMessage, error::AppError};
use leptos::{prelude::*, task::spawn_local};
use leptos_meta::Title;
use leptos_router::{
    components::Redirect,
    hooks::{use_location, use_navigate, use_query_map},
};

#[derive(Clone, Copy)]
pub struct AuthContext {
    /// The mode the browser uses: the server renders it from the `shop_auth_mode` cookie, the
    /// browser starts from the same cookie, so both agree at hydration.
    pub mode: RwSignal<AuthMode>,
    /// Bumped whenever who-is-signed-in may have changed; the user and the cart refetch.
    pub version: RwSignal<u64>,
    pub me: Resource<Result<Me, AppError>>,
    pub logout: ServerAction<Logout>,
    pub logout_all: ServerAction<LogoutAll>,
    /// A failed switch of mode, shown in the header.
    pub switch_error: RwSignal<Option<AppError>>,
    pub switching: RwSignal<bool>,
    /// True once the browser has looked for a stored token (never on the server, which cannot).
    pub token_checked: RwSignal<bool>,
}

impl AuthContext {
    pub fn refresh(&self) {
        self.version.update(|v| *v += 1);
    }
}

pub fn use_auth() -> AuthContext {
    expect_context::<AuthContext>()
}

/// The mode as this request's `shop_auth_mode` cookie names it (server) or as the browser
/// remembers it (the same cookie).
fn initial_mode() -> AuthMode {
    #[cfg(feature = "ssr")]
    {
        use_context::<axum::http::request::Parts>()
            .and_then(|parts| {
                parts
                    .headers
                    .get(axum::http::header::COOKIE)?
                    .to_str()
                    .ok()
                    .map(client::mode_from_cookie_header)
            })
            .unwrap_or_default()
    }
    #[cfg(not(feature = "ssr"))]
    {
        client::stored_mode()
    }
}

pub fn provide_auth() {
    let mode = RwSignal::new(initial_mode());
    let version = RwSignal::new(0u64);
    let logout = ServerAction::<Logout>::new();
    let logout_all = ServerAction::<LogoutAll>::new();
    let me = Resource::new(move || version.get(), |_| current_user());
    let ctx = AuthContext {
        mode,
        version,
        me,
        logout,
        logout_all,
        switch_error: RwSignal::new(None),
        switching: RwSignal::new(false),
        token_checked: RwSignal::new(false),
    };

    // After hydration: the token (token mode) and the local guest cart can only be read now.
    Effect::new(move |_| {
        if mode.get_untracked() == AuthMode::Token {
            ctx.refresh();
        }
        ctx.token_checked.set(true);
    });
    // A token the server refuses (expired, revoked elsewhere) is forgotten.
    Effect::new(move |_| {
        if let Some(Err(AppError::Unauthenticated)) = me.get() {
            client::clear_token();
            ctx.refresh();
        }
    });

    // Signing out (with JavaScript) also forgets the token in this browser; then the user and
    // the cart are fetched again, as a guest.
    for action in [logout.value(), logout_all.value()] {
        Effect::new(move |_| {
            if let Some(Ok(())) = action.get() {
                client::clear_token();
                ctx.refresh();
            }
        });
    }

    // Another tab signed in or out, or switched mode: follow it at once (token mode: the
    // storage event), and re-check on focus (session mode).
    #[cfg(feature = "hydrate")]
    {
        use leptos::ev;
        let storage = window_event_listener(ev::storage, move |event| {
            let key = event.key().unwrap_or_default();
            if key == super::TOKEN_STORAGE_KEY || key == super::GUEST_CART_STORAGE_KEY {
                ctx.refresh();
            } else if key == client::MODE_STORAGE_KEY {
                mode.set(client::stored_mode());
                ctx.refresh();
            }
        });
        let focus = window_event_listener(ev::focus, move |_| ctx.refresh());
        on_cleanup(move || {
            storage.remove();
            focus.remove();
        });
    }

    // Navigating re-checks too: no page acts as a user the server no longer knows.
    let location = use_location();
    Effect::watch(move || location.pathname.get(), move |_, _, _| ctx.refresh(), false);

    provide_context(ctx);
}

/// Shows `children` to a signed-in user; sends a guest to sign in and back to `next`. In token
/// mode the server cannot know (the token is in the browser), so the decision waits for the
/// browser: no redirect from the server, no redirect loop.
#[component]
pub fn RequireUser<F, IV>(#[prop(into)] next: String, children: F) -> impl IntoView
where
    F: Fn(super::User) -> IV + Clone + Send + Sync + 'static,
    IV: IntoView + 'static,
{
    let ctx = use_auth();
    let login = format!("/login?next={}", crate::catalog::encode_query_value(&next));
    view! {
        <Transition fallback=|| view! { <p class="muted">"Checking your sign-in…"</p> }>
            {move || {
                let children = children.clone();
                let login = login.clone();
                Suspend::new(async move {
                    let user = ctx.me.await.ok().and_then(|m| m.user);
                    let undecided = ctx.mode.get() == AuthMode::Token && !ctx.token_checked.get();
                    match user {
                        Some(user) => children(user).into_any(),
                        None if undecided => view! { <p class="muted">"Checking your sign-in…"</p> }.into_any(),
                        None => view! { <Redirect path=login/> }.into_any(),
                    }
                })
            }}
        </Transition>
    }
}

/// Switches between cookie sessions and tokens, exchanging the credential (signed in) or
/// moving the guest cart along (guest).
async fn switch(ctx: AuthContext) -> Result<(), AppError> {
    let from = ctx.mode.get_untracked();
    let to = from.other();
    // Ask the server (not the page's copy): who this credential belongs to right now.
    let signed_in = current_user().await?.user.is_some();
    if signed_in {
        let SignedIn { token, .. } = switch_mode(to.as_str().to_string()).await?;
        match token {
            Some(token) => client::store_token(&token.token),
            None => client::clear_token(),
        }
    } else if from == AuthMode::Session {
        let lines = export_guest_cart().await?;
        client::save_guest_lines(&lines);
    } else {
        let lines = client::guest_lines();
        if !lines.is_empty() {
            import_guest_cart(lines).await?;
        }
        client::save_guest_lines(&[]);
        client::clear_token();
    }
    client::store_mode(to);
    ctx.mode.set(to);
    Ok(())
}

/// The header's authentication controls.
#[component]
pub fn AuthControls() -> impl IntoView {
    let ctx = use_auth();
    let location = use_location();
    let on_toggle = move |_| {
        if ctx.switching.get_untracked() {
            return;
        }
        ctx.switching.set(true);
        ctx.switch_error.set(None);
        spawn_local(async move {
            if let Err(error) = switch(ctx).await {
                ctx.switch_error.set(Some(error));
            }
            ctx.switching.set(false);
            ctx.refresh();
        });
    };
    let login_href = move || {
        let here = location.pathname.get();
        if here == "/login" || here == "/register" {
            "/login".to_string()
        } else {
            format!("/login?next={}", crate::catalog::encode_query_value(&here))
        }
    };
    let user = move || {
        Suspend::new(async move {
            match ctx.me.await.ok().and_then(|m| m.user) {
                Some(user) => view! {
                    <span class="auth__user" data-testid="signed-in-as" title=user.email.clone()>{user.name}</span>
                    <ActionForm action=ctx.logout>
                        <button type="submit" class="button button--ghost button--small" data-testid="logout-button">
                            "Sign out"
                        </button>
                    </ActionForm>
                }
                .into_any(),
                None => view! {
                    <a class="auth__login" href=login_href data-testid="login-link">"Sign in"</a>
                }
                .into_any(),
            }
        })
    };
    view! {
        <div class="auth">
            <div class="mode-toggle" data-mode=move || ctx.mode.get().as_str()>
                <a class="mode-toggle__label" href="/auth">"Auth: "</a>
                <span class="mode-toggle__mode" data-testid="auth-mode">{move || ctx.mode.get().as_str()}</span>
                <button
                    type="button"
                    class="button button--small mode-toggle__button"
                    data-testid="auth-mode-toggle"
                    title=move || format!("Switch to {}", ctx.mode.get().other().label())
                    disabled=move || ctx.switching.get()
                    on:click=on_toggle
                >
                    {move || format!("Use {}", ctx.mode.get().other().as_str())}
                </button>
            </div>
            <Transition fallback=move || view! { <a class="auth__login" href="/login" data-testid="login-link">"Sign in"</a> }>
                {user}
            </Transition>
        </div>
        {move || ctx.switch_error.get().map(|e| view! { <ErrorMessage message=e.to_string()/> })}
    }
}

/// After a sign-in or registration made with JavaScript: keep the token (token mode), bring
/// the browser's guest cart along, and go where the user was going.
fn after_sign_in(
    ctx: AuthContext,
    signed_in: SignedIn,
    next: String,
    navigate: impl Fn(&str, leptos_router::NavigateOptions) + 'static,
) {
    spawn_local(async move {
        if let Some(token) = &signed_in.token {
            client::store_token(&token.token);
            let lines = client::guest_lines();
            if !lines.is_empty() && merge_cart(lines).await.is_ok() {
                client::save_guest_lines(&[]);
            }
        }
        client::store_mode(signed_in.mode);
        ctx.mode.set(signed_in.mode);
        ctx.refresh();
        navigate(&next, Default::default());
    });
}

fn next_target() -> Memo<String> {
    let query = use_query_map();
    Memo::new(move |_| super::safe_next(query.with(|q| q.get("next")).as_deref()))
}

/// The error of a sign-in/registration form: from the action (JavaScript) or from the URL
/// (a plain form post, redirected back).
fn form_error<T>(
    value: impl Fn() -> Option<Result<T, AppError>> + Copy + 'static,
) -> impl Fn() -> Option<AppError> + Copy {
    let query = use_query_map();
    move || match value() {
        Some(Err(error)) => Some(error),
        Some(Ok(_)) => None,
        None => query.with(|q| q.get("__err")).map(|e| AppError::from_url(&e)),
    }
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let ctx = use_auth();
    let action = ServerAction::<Login>::new();
    let next = next_target();
    let error = form_error(move || action.value().get());
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(signed_in)) = action.value().get() {
            after_sign_in(ctx, signed_in, next.get_untracked(), navigate.clone());
        }
    });
    let register_href = move || format!("/register?next={}", crate::catalog::encode_query_value(&next.get()));
    view! {
        <Title text="Sign in"/>
        <section class="auth-form">
            <h1>"Sign in"</h1>
            <p class="muted">
                "You will be signed in with a " <strong>{move || ctx.mode.get().label()}</strong>
                ". Switch in the header to try the other way."
            </p>
            {move || error().map(|e| view! { <p class="alert alert--error" role="alert" data-testid="form-error">{e.to_string()}</p> })}
            <ActionForm action>
                <input type="hidden" name="mode" value=move || ctx.mode.get().as_str()/>
                <input type="hidden" name="next" value=next/>
                <div class="field">
                    <label for="login-email">"Email"</label>
                    <input id="login-email" type="email" name="email" autocomplete="username" required data-testid="email-input"/>
                </div>
                <div class="field">
                    <label for="login-password">"Password"</label>
                    <input id="login-password" type="password" name="password" autocomplete="current-password" required data-testid="password-input"/>
                </div>
                <button type="submit" class="button button--primary" data-testid="submit-button" disabled=move || action.pending().get()>
                    "Sign in"
                </button>
            </ActionForm>
            <p>"New here? " <a href=register_href>"Create an account"</a></p>
        </section>
    }
}

#[component]
pub fn RegisterPage() -> impl IntoView {
    let ctx = use_auth();
    let action = ServerAction::<Register>::new();
    let next = next_target();
    let error = form_error(move || action.value().get());
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(signed_in)) = action.value().get() {
            after_sign_in(ctx, signed_in, next.get_untracked(), navigate.clone());
        }
    });
    let login_href = move || format!("/login?next={}", crate::catalog::encode_query_value(&next.get()));
    view! {
        <Title text="Create an account"/>
        <section class="auth-form">
            <h1>"Create an account"</h1>
            {move || error().map(|e| view! { <p class="alert alert--error" role="alert" data-testid="form-error">{e.to_string()}</p> })}
            <ActionForm action>
                <input type="hidden" name="mode" value=move || ctx.mode.get().as_str()/>
                <input type="hidden" name="next" value=next/>
                <div class="field">
                    <label for="register-name">"Name"</label>
                    <input id="register-name" type="text" name="name" autocomplete="name" required maxlength="100" data-testid="name-input"/>
                </div>
                <div class="field">
                    <label for="register-email">"Email"</label>
                    <input id="register-email" type="email" name="email" autocomplete="email" required data-testid="email-input"/>
                </div>
                <div class="field">
                    <label for="register-password">"Password"</label>
                    <input id="register-password" type="password" name="password" autocomplete="new-password" required minlength="8" maxlength="128" aria-describedby="register-password-hint" data-testid="password-input"/>
                    <p class="muted" id="register-password-hint">"8 to 128 characters."</p>
                </div>
                <button type="submit" class="button button--primary" data-testid="submit-button" disabled=move || action.pending().get()>
                    "Create account"
                </button>
            </ActionForm>
            <p>"Already have an account? " <a href=login_href>"Sign in"</a></p>
        </section>
    }
}
