//! The cart in the browser: one shared context (the cart resource and the actions that change
//! it), the header's cart link, the add-to-cart form and the cart page.

use super::{get_cart, AddToCart, Cart, CartLine, RemoveFromCart, SetCartQuantity, MAX_LINE_QUANTITY};
use crate::{app::ErrorMessage, error::AppError, money::format_cents};
use leptos::{prelude::*, server_fn::error::ServerFnUrlError};
use leptos_meta::Title;
use leptos_router::hooks::{use_location, use_query_map};

#[derive(Clone, Copy)]
pub struct CartContext {
    pub cart: Resource<Result<Cart, AppError>>,
    pub add: ServerAction<AddToCart>,
    pub set: ServerAction<SetCartQuantity>,
    pub remove: ServerAction<RemoveFromCart>,
    /// The outcome of the latest change made with JavaScript: `None` until one completes.
    last_outcome: RwSignal<Option<Option<AppError>>>,
}

pub fn provide_cart() {
    let add = ServerAction::<AddToCart>::new();
    let set = ServerAction::<SetCartQuantity>::new();
    let remove = ServerAction::<RemoveFromCart>::new();
    let cart = Resource::new(
        move || (add.version().get(), set.version().get(), remove.version().get()),
        |_| get_cart(),
    );
    let last_outcome = RwSignal::new(None);
    // Remember each completed change's outcome, to show its error (or clear an old one).
    for value in [add.value(), set.value(), remove.value()] {
        Effect::new(move |_| {
            if let Some(result) = value.get() {
                last_outcome.set(Some(result.err()));
            }
        });
    }
    // An error belongs to the page it happened on.
    let location = use_location();
    Effect::watch(
        move || location.pathname.get(),
        move |_, _, _| last_outcome.set(Some(None)),
        false,
    );
    provide_context(CartContext { cart, add, set, remove, last_outcome });
}

pub fn use_cart() -> CartContext {
    expect_context::<CartContext>()
}

/// The error to show for the latest cart change: from the action when JavaScript made it, or
/// from the URL when a plain form post was redirected back with it.
#[component]
pub fn CartAlert() -> impl IntoView {
    let ctx = use_cart();
    let query = use_query_map();
    let error = move || match ctx.last_outcome.get() {
        Some(outcome) => outcome,
        None => query.with(|q| q.get("__err")).map(|e| ServerFnUrlError::<AppError>::decode_err(&e)),
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
    let pending = ctx.add.pending();
    let input_id = format!("quantity-{product_id}");
    view! {
        <ActionForm action=ctx.add>
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
        </ActionForm>
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
            <p class="muted">"Shipping and taxes are worked out at checkout."</p>
        </div>
    }
}

#[component]
fn CartLineRow(line: CartLine) -> impl IntoView {
    let ctx = use_cart();
    let href = format!("/products/{}", line.slug);
    let input_id = format!("line-quantity-{}", line.product_id);
    let max = line.stock.min(MAX_LINE_QUANTITY);
    let name = line.name.clone();
    let (name2, name3, name4) = (name.clone(), name.clone(), name.clone());
    view! {
        <li class="cart-line" data-testid="cart-line" data-product-slug=line.slug.clone()>
            <img class="cart-line__image" src=line.image_url.clone() alt="" width="72" height="72"/>
            <div class="cart-line__info">
                <a class="cart-line__name" href=href>{name}</a>
                <span class="muted">{format_cents(line.unit_price_cents)} " each"</span>
            </div>
            <ActionForm action=ctx.set>
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
            </ActionForm>
            <strong class="cart-line__total">{format_cents(line.line_total_cents)}</strong>
            <ActionForm action=ctx.remove>
                <input type="hidden" name="product_id" value=line.product_id/>
                <button type="submit" class="button button--ghost button--small" data-testid="line-remove">
                    "Remove" <span class="visually-hidden">" " {name4}</span>
                </button>
            </ActionForm>
        </li>
    }
}
