//! The cart in the browser: one shared context (the cart resource and the actions that change
//! it), the header's cart link, the add-to-cart form and the cart page.

use super::{
    add_to_cart, check_added_quantity, check_set_quantity, get_cart, preview_cart, remove_from_cart,
    set_cart_quantity, Cart, CartLine, MAX_LINE_QUANTITY,
};
use crate::{
    app::ErrorMessage,
    auth::{client, pages::AuthContext, AuthMode, GuestLine},
    error::AppError,
    money::format_cents,
};
use leptos::{ev::SubmitEvent, prelude::*};
use leptos_meta::Title;
use leptos_router::hooks::{use_location, use_query_map};

/// One change to the cart.
#[derive(Clone, Debug, PartialEq)]
pub enum CartChange {
    Add { product_id: i64, quantity: i64 },
    Set { product_id: i64, quantity: i64 },
    Remove { product_id: i64 },
}

#[derive(Clone, Copy)]
pub struct CartContext {
    pub cart: Resource<Result<Cart, AppError>>,
    pub change: Action<CartChange, Result<Cart, AppError>>,
    /// The outcome of the latest change made with JavaScript: `None` until one completes.
    last_outcome: RwSignal<Option<Option<AppError>>>,
}

/// Is the cart in the browser? Only for a token-mode guest (there is no token yet).
fn cart_is_local(auth: &AuthContext) -> bool {
    auth.mode.get_untracked() == AuthMode::Token && client::stored_token().is_none()
}

async fn load_cart(local: bool) -> Result<Cart, AppError> {
    if local {
        preview_cart(client::guest_lines(), None).await
    } else {
        get_cart().await
    }
}

/// Applies a change: on the server (a session, or a signed-in token), or to the browser's
/// guest cart, priced and checked by the server with the same rules.
async fn apply(local: bool, change: CartChange) -> Result<Cart, AppError> {
    if !local {
        return match change {
            CartChange::Add { product_id, quantity } => add_to_cart(product_id, quantity).await,
            CartChange::Set { product_id, quantity } => set_cart_quantity(product_id, quantity).await,
            CartChange::Remove { product_id } => remove_from_cart(product_id).await,
        };
    }
    let mut lines = client::guest_lines();
    let changed = match change {
        CartChange::Add { product_id, quantity } => {
            check_added_quantity(quantity)?;
            match lines.iter_mut().find(|l| l.product_id == product_id) {
                Some(line) => line.quantity += quantity,
                None => lines.push(GuestLine { product_id, quantity }),
            }
            Some(product_id)
        }
        CartChange::Set { product_id, quantity } => {
            check_set_quantity(quantity)?;
            lines.retain(|l| l.product_id != product_id);
            if quantity == 0 {
                None
            } else {
                lines.push(GuestLine { product_id, quantity });
                Some(product_id)
            }
        }
        CartChange::Remove { product_id } => {
            lines.retain(|l| l.product_id != product_id);
            None
        }
    };
    let cart = preview_cart(lines, changed).await?;
    let kept: Vec<GuestLine> =
        cart.lines.iter().map(|l| GuestLine { product_id: l.product_id, quantity: l.quantity }).collect();
    client::save_guest_lines(&kept);
    Ok(cart)
}

pub fn provide_cart(auth: AuthContext) {
    let change = Action::new_local(move |change: &CartChange| {
        let change = change.clone();
        let local = cart_is_local(&auth);
        async move { apply(local, change).await }
    });
    let cart = Resource::new(
        move || (change.version().get(), auth.version.get()),
        move |_| load_cart(cart_is_local(&auth)),
    );
    let last_outcome = RwSignal::new(None);
    Effect::new(move |_| {
        if let Some(result) = change.value().get() {
            last_outcome.set(Some(result.err()));
        }
    });
    // An error belongs to the page it happened on.
    let location = use_location();
    Effect::watch(move || location.pathname.get(), move |_, _, _| last_outcome.set(Some(None)), false);
    provide_context(CartContext { cart, change, last_outcome });
}

pub fn use_cart() -> CartContext {
    expect_context::<CartContext>()
}

/// A form that changes the cart: with JavaScript it is handled here (and works in both
/// modes); without, it posts to the server function at `action`, which redirects back.
#[component]
fn CartForm(
    action: &'static str,
    /// Builds the change from the form's `quantity` field (if it has one).
    make: impl Fn(Option<String>) -> Result<CartChange, AppError> + Send + Sync + 'static,
    children: Children,
) -> impl IntoView {
    let ctx = use_cart();
    let on_submit = move |event: SubmitEvent| {
        event.prevent_default();
        let quantity = form_field(&event, "quantity");
        match make(quantity) {
            Ok(change) => {
                ctx.change.dispatch(change);
            }
            Err(error) => ctx.last_outcome.set(Some(Some(error))),
        }
    };
    view! {
        <form method="post" action=action on:submit=on_submit>
            {children()}
        </form>
    }
}

fn form_field(event: &SubmitEvent, name: &str) -> Option<String> {
    use leptos::wasm_bindgen::JsCast;
    let form = event.target()?.dyn_into::<leptos::web_sys::HtmlFormElement>().ok()?;
    leptos::web_sys::FormData::new_with_form(&form).ok()?.get(name).as_string()
}

fn parse_quantity(value: Option<String>) -> Result<i64, AppError> {
    value.as_deref().map(str::trim).and_then(|v| v.parse::<i64>().ok()).ok_or_else(|| {
        AppError::invalid(format!("The quantity must be a whole number from 1 to {MAX_LINE_QUANTITY}."))
    })
}

/// The error to show for the latest cart change: from the action when JavaScript made it, or
/// from the URL when a plain form post was redirected back with it.
#[component]
pub fn CartAlert() -> impl IntoView {
    let ctx = use_cart();
    let query = use_query_map();
    let error = move || match ctx.last_outcome.get() {
        Some(outcome) => outcome,
        None => query.with(|q| q.get("__err")).map(|e| AppError::from_url(&e)),
    };
    move || error().map(|e| view! { <ErrorMessage message=e.to_string()/> })
}

/// The header's link to the cart, with the number of items.
#[component]
pub fn CartLink() -> impl IntoView {
    let ctx = use_cart();
    let count = move || {
        Suspend::new(async move {
            let count = ctx.cart.await.map(|c| c.item_count).unwrap_or(0);
            view! {
                <span class="cart-link__count" data-testid="cart-count">{count}</span>
                <span class="visually-hidden">{if count == 1 { " item" } else { " items" }}</span>
            }
        })
    };
    view! {
        <a class="cart-link" href="/cart">
            <span>"Cart"</span>
            <Transition fallback=|| view! { <span class="cart-link__count" data-testid="cart-count">"0"</span> }>
                {count}
            </Transition>
        </a>
    }
}

/// Adds a product to the cart: one by default, or a chosen quantity.
#[component]
pub fn AddToCartForm(
    product_id: i64,
    #[prop(into)] name: String,
    in_stock: bool,
    #[prop(optional)] with_quantity: bool,
) -> impl IntoView {
    let ctx = use_cart();
    let pending = ctx.change.pending();
    let input_id = format!("quantity-{product_id}");
    view! {
        <CartForm
            action="/fn/cart/add"
            make=move |quantity| {
                let quantity = if with_quantity { parse_quantity(quantity)? } else { 1 };
                Ok(CartChange::Add { product_id, quantity })
            }
        >
            <div class="add-to-cart" class:add-to-cart--with-quantity=with_quantity>
                <input type="hidden" name="product_id" value=product_id/>
                {if with_quantity {
                    view! {
                        <div class="field field--quantity">
                            <label for=input_id.clone()>"Quantity"</label>
                            <input
                                id=input_id
                                type="number"
                                name="quantity"
                                value="1"
                                min="1"
                                max=MAX_LINE_QUANTITY
                                step="1"
                                required
                                inputmode="numeric"
                                data-testid="quantity-input"
                            />
                        </div>
                    }
                        .into_any()
                } else {
                    view! { <input type="hidden" name="quantity" value="1"/> }.into_any()
                }}
                <button
                    type="submit"
                    class="button button--primary"
                    data-testid="add-to-cart"
                    disabled=move || !in_stock || pending.get()
                >
                    {if in_stock {
                        view! { "Add" <span class="visually-hidden">" " {name}</span> " to cart" }.into_any()
                    } else {
                        view! { "Out of stock" <span class="visually-hidden">": " {name}</span> }.into_any()
                    }}
                </button>
            </div>
        </CartForm>
    }
}

#[component]
pub fn CartPage() -> impl IntoView {
    let ctx = use_cart();
    view! {
        <Title text="Your cart"/>
        <section class="cart" aria-labelledby="cart-title">
            <h1 id="cart-title">"Your cart"</h1>
            <Transition fallback=|| view! { <p class="muted">"Loading your cart…"</p> }>
                {move || Suspend::new(async move {
                    match ctx.cart.await {
                        Ok(cart) if cart.lines.is_empty() => view! {
                            <div class="cart-empty" data-testid="cart-empty">
                                <p>"Your cart is empty."</p>
                                <p><a class="button" href="/">"Browse the shop"</a></p>
                            </div>
                        }.into_any(),
                        Ok(cart) => view! { <CartContents cart/> }.into_any(),
                        Err(error) => view! { <ErrorMessage message=error.to_string()/> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn CartContents(cart: Cart) -> impl IntoView {
    view! {
        <ul class="cart-lines">
            {cart.lines.into_iter().map(|line| view! { <CartLineRow line/> }).collect_view()}
        </ul>
        <div class="cart-summary">
            <p class="cart-summary__row">
                <span>"Subtotal"</span>
                <strong data-testid="cart-subtotal">{format_cents(cart.subtotal_cents)}</strong>
            </p>
            <p class="muted">"Shipping is free in this demo shop."</p>
            <a class="button button--primary" href="/checkout" data-testid="checkout-button">"Checkout"</a>
        </div>
    }
}

#[component]
fn CartLineRow(line: CartLine) -> impl IntoView {
    let href = format!("/products/{}", line.slug);
    let input_id = format!("line-quantity-{}", line.product_id);
    let max = line.stock.min(MAX_LINE_QUANTITY);
    let product_id = line.product_id;
    let name = line.name.clone();
    let (name2, name3, name4) = (name.clone(), name.clone(), name.clone());
    view! {
        <li class="cart-line" data-testid="cart-line" data-product-slug=line.slug.clone()>
            <img class="cart-line__image" src=line.image_url.clone() alt="" width="72" height="72"/>
            <div class="cart-line__info">
                <a class="cart-line__name" href=href>{name}</a>
                <span class="muted">{format_cents(line.unit_price_cents)} " each"</span>
            </div>
            <CartForm
                action="/fn/cart/set"
                make=move |quantity| Ok(CartChange::Set { product_id, quantity: parse_quantity(quantity)? })
            >
                <div class="cart-line__quantity">
                    <input type="hidden" name="product_id" value=line.product_id/>
                    <label for=input_id.clone() class="visually-hidden">"Quantity of " {name2}</label>
                    <input
                        id=input_id
                        type="number"
                        name="quantity"
                        value=line.quantity
                        min="0"
                        max=max
                        step="1"
                        required
                        inputmode="numeric"
                        data-testid="line-quantity"
                    />
                    <button type="submit" class="button button--small" data-testid="line-update">
                        "Update" <span class="visually-hidden">" " {name3}</span>
                    </button>
                </div>
            </CartForm>
            <strong class="cart-line__total">{format_cents(line.line_total_cents)}</strong>
            <CartForm action="/fn/cart/remove" make=move |_| Ok(CartChange::Remove { product_id })>
                <input type="hidden" name="product_id" value=line.product_id/>
                <button type="submit" class="button button--ghost button--small" data-testid="line-remove">
                    "Remove" <span class="visually-hidden">" " {name4}</span>
                </button>
            </CartForm>
        </li>
    }
}
