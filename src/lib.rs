//! shop: a Leptos online shop that shows cookie sessions and tokens side by side.
//!
//! Feature modules (`catalog`, `cart`) each hold their shared types, their server
//! functions and their pages; the server-only parts sit behind `feature = "ssr"`.

pub mod app;
pub mod auth;
pub mod cart;
pub mod catalog;
pub mod error;
pub mod money;
pub mod orders;
pub mod server_time;

#[cfg(feature = "ssr")]
pub mod server;

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
