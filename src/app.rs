//! The HTML shell, the router and the layout every page shares.

use crate::{
    auth::explain::AuthPage,
    auth::pages::{provide_auth, use_auth, AuthControls, LoginPage, RegisterPage},
    cart::pages::{provide_cart, CartAlert, CartLink, CartPage},
    catalog::pages::{HomePage, ProductPage},
    orders::pages::{CheckoutPage, OrderPage, OrdersPage},
};
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Link, Meta, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    path, SsrMode,
};

pub const SHOP_NAME: &str = "Greenleaf Grocer";

pub fn shell(options: LeptosOptions) -> impl IntoView {
    // The page's script policy names the nonce Leptos puts on its own inline scripts.
    #[cfg(feature = "ssr")]
    if let (Some(nonce), Some(response)) =
        (leptos::nonce::use_nonce(), use_context::<leptos_axum::ResponseOptions>())
    {
        response.insert_header(
            axum::http::header::CONTENT_SECURITY_POLICY,
            crate::server::headers::page_policy(&nonce, options.reload_port),
        );
    }
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();

    // Runs in the browser only, once the app has hydrated: end-to-end tests wait for this.
    Effect::new(move |_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });

    view! {
        <Stylesheet id="leptos" href="/pkg/shop.css"/>
        <Link rel="icon" type_="image/svg+xml" href="/favicon.svg"/>
        <Meta name="description" content="Fresh fruit, vegetables, herbs, pantry staples and bread, delivered."/>
        <Title formatter=|title: String| {
            if title.is_empty() { SHOP_NAME.to_string() } else { format!("{title} · {SHOP_NAME}") }
        }/>
        <Router>
            <Layout/>
        </Router>
    }
}

/// Everything inside the router: the cart context needs the router's location.
#[component]
fn Layout() -> impl IntoView {
    provide_auth();
    provide_cart(use_auth());
    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        <header class="site-header">
            <div class="site-header__inner">
                <a class="brand" href="/">
                    <img class="brand__logo" src="/favicon.svg" alt="" width="32" height="32"/>
                    <span class="brand__name">{SHOP_NAME}</span>
                </a>
                <nav class="site-nav" aria-label="Main">
                    <a href="/">"Shop"</a>
                    <a href="/orders">"Orders"</a>
                    <CartLink/>
                </nav>
                <AuthControls/>
            </div>
        </header>
        <main id="main" class="site-main" tabindex="-1">
            <CartAlert/>
            <Routes fallback=NotFound>
                <Route path=path!("/") view=HomePage ssr=SsrMode::Async/>
                <Route path=path!("/products/:slug") view=ProductPage ssr=SsrMode::Async/>
                <Route path=path!("/cart") view=CartPage ssr=SsrMode::Async/>
                <Route path=path!("/login") view=LoginPage ssr=SsrMode::Async/>
                <Route path=path!("/register") view=RegisterPage ssr=SsrMode::Async/>
                <Route path=path!("/auth") view=AuthPage ssr=SsrMode::Async/>
                <Route path=path!("/checkout") view=CheckoutPage ssr=SsrMode::Async/>
                <Route path=path!("/orders") view=OrdersPage ssr=SsrMode::Async/>
                <Route path=path!("/orders/:id") view=OrderPage ssr=SsrMode::Async/>
            </Routes>
        </main>
        <footer class="site-footer">
            <p>
                {SHOP_NAME} " — a demo shop. Prices in US dollars. No real orders are taken."
            </p>
        </footer>
    }
}

/// The page for any path the shop does not know, answered with status 404.
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Not found"/>
        <section class="not-found">
            <h1>"We couldn't find that page"</h1>
            <p>"The page you asked for isn't here. It may have moved, or the link may be wrong."</p>
            <p><a class="button" href="/">"Back to the shop"</a></p>
        </section>
    }
}

/// A message about a failure, announced to assistive technology.
#[component]
pub fn ErrorMessage(#[prop(into)] message: String) -> impl IntoView {
    view! {
        <p class="alert alert--error" role="alert" data-testid="error-message">{message}</p>
    }
}
