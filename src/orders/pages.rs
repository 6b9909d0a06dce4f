//! Checkout, the order confirmation and the order history.

use super::{checkout_key, get_order, list_orders, Order, PlaceOrder};
use crate::{
    app::{ErrorMessage, NotFound},
    auth::pages::{use_auth, RequireUser},
    cart::pages::use_cart,
    error::AppError,
    money::format_cents,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};

#[component]
pub fn CheckoutPage() -> impl IntoView {
    view! {
        <Title text="Checkout"/>
        <section class="checkout" aria-labelledby="checkout-title">
            <h1 id="checkout-title">"Checkout"</h1>
            <RequireUser next="/checkout" children=|user| view! { <CheckoutForm user_name=user.name/> }/>
        </section>
    }
}

#[component]
fn CheckoutForm(user_name: String) -> impl IntoView {
    let cart = use_cart();
    let auth = use_auth();
    let place = ServerAction::<PlaceOrder>::new();
    // One key per visit to this page: a double click, a retry or a resubmission reuses it.
    let key = Resource::new(|| (), |_| checkout_key());
    let query = use_query_map();
    let error = move || match place.value().get() {
        Some(Err(error)) => Some(error),
        Some(Ok(_)) => None,
        None => query.with(|q| q.get("__err")).map(|e| AppError::from_url(&e)),
    };
    // A refused order (prices or stock changed) shows the cart as it is now. Only the cart is
    // refetched: refreshing the sign-in would rebuild this form and lose the error message.
    Effect::new(move |_| {
        if let Some(Err(_)) = place.value().get() {
            cart.cart.refetch();
        }
    });
    // What the buyer typed survives the cart being shown again.
    let address = RwSignal::new(String::new());
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(order)) = place.value().get() {
            auth.refresh();
            navigate(&format!("/orders/{}", order.id), Default::default());
        }
    });
    view! {
        {move || error().map(|e| view! { <ErrorMessage message=e.to_string()/> })}
        <Transition fallback=|| view! { <p class="muted">"Loading your cart…"</p> }>
            {move || {
                let user_name = user_name.clone();
                Suspend::new(async move {
                    let cart = cart.cart.await;
                    let key = key.await;
                    match (cart, key) {
                        (Ok(cart), _) if cart.lines.is_empty() => view! {
                            <div class="cart-empty" data-testid="cart-empty">
                                <p>"Your cart is empty: there is nothing to check out."</p>
                                <p><a class="button" href="/">"Browse the shop"</a></p>
                            </div>
                        }.into_any(),
                        (Ok(cart), Ok(key)) => view! {
                            <div class="checkout__grid">
                                <div class="checkout__summary">
                                    <h2>"Your order"</h2>
                                    <ul class="checkout__lines">
                                        {cart.lines.iter().map(|line| view! {
                                            <li class="checkout__line" data-testid="checkout-line" data-product-slug=line.slug.clone()>
                                                <span>{line.quantity} " × " {line.name.clone()}</span>
                                                <span class="muted">{format_cents(line.unit_price_cents)} " each"</span>
                                                <strong>{format_cents(line.line_total_cents)}</strong>
                                            </li>
                                        }).collect_view()}
                                    </ul>
                                    <p class="cart-summary__row">
                                        <span>"Total"</span>
                                        <strong data-testid="checkout-total">{format_cents(cart.subtotal_cents)}</strong>
                                    </p>
                                    <p class="muted">"Shipping is free in this demo shop."</p>
                                </div>
                                <ActionForm action=place>
                                    <div class="checkout__form">
                                        <input type="hidden" name="idempotency_key" value=key/>
                                        <input type="hidden" name="expected_total_cents" value=cart.subtotal_cents/>
                                        <h2>"Shipping"</h2>
                                        <div class="field">
                                            <label for="shipping-name">"Name"</label>
                                            <input id="shipping-name" name="name" required maxlength="100" autocomplete="name" value=user_name data-testid="shipping-name"/>
                                        </div>
                                        <div class="field">
                                            <label for="shipping-address">"Address"</label>
                                            <textarea
                                                id="shipping-address" name="address" required maxlength="500" rows="3"
                                                autocomplete="street-address" data-testid="shipping-address"
                                                prop:value=move || address.get()
                                                on:input=move |ev| address.set(event_target_value(&ev))
                                            ></textarea>
                                        </div>
                                        <h2>"Payment"</h2>
                                        <p class="checkout__demo" role="note">
                                            <strong>"Demo payment. "</strong>
                                            "No card is needed and nothing is charged: this is where a payment provider would plug in."
                                        </p>
                                        <button
                                            type="submit"
                                            class="button button--primary"
                                            data-testid="place-order"
                                            disabled=move || place.pending().get()
                                        >
                                            {move || if place.pending().get() { "Placing your order…".to_string() } else { format!("Place order · {}", format_cents(cart.subtotal_cents)) }}
                                        </button>
                                    </div>
                                </ActionForm>
                            </div>
                        }.into_any(),
                        (Err(error), _) | (_, Err(error)) => view! { <ErrorMessage message=error.to_string()/> }.into_any(),
                    }
                })
            }}
        </Transition>
    }
}

#[component]
pub fn OrderPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").and_then(|id| id.parse::<i64>().ok()));
    let next = move || format!("/orders/{}", params.with(|p| p.get("id").unwrap_or_default()));
    view! {
        <Title text="Your order"/>
        <RequireUser next=next() children=move |_user| {
            let order = Resource::new(id, |id| async move {
                match id {
                    Some(id) => get_order(id).await,
                    None => Err(AppError::NotFound("Order".into())),
                }
            });
            view! {
                <Transition fallback=|| view! { <p class="muted">"Loading your order…"</p> }>
                    {move || Suspend::new(async move {
                        match order.await {
                            Ok(order) => view! { <OrderDetail order/> }.into_any(),
                            Err(AppError::NotFound(_)) => view! { <NotFound/> }.into_any(),
                            Err(error) => view! { <ErrorMessage message=error.to_string()/> }.into_any(),
                        }
                    })}
                </Transition>
            }
        }/>
    }
}

#[component]
fn OrderDetail(order: Order) -> impl IntoView {
    view! {
        <section class="order" data-testid="order-confirmation" data-order-id=order.id>
            <h1>"Thank you! Order #" {order.id}</h1>
            <p class="lead">"Placed " {order.created_at.replace('T', " ").replace('Z', " UTC")} ". Status: " {order.status.clone()} "."</p>
            <ul class="checkout__lines">
                {order.lines.into_iter().map(|line| view! {
                    <li class="checkout__line" data-testid="order-line">
                        <span>{line.quantity} " × " {line.name}</span>
                        <span class="muted">{format_cents(line.unit_price_cents)} " each"</span>
                        <strong>{format_cents(line.line_total_cents)}</strong>
                    </li>
                }).collect_view()}
            </ul>
            <p class="cart-summary__row"><span>"Total"</span><strong data-testid="order-total">{format_cents(order.total_cents)}</strong></p>
            <p>"Shipping to " <strong>{order.shipping.name}</strong> ", " {order.shipping.address} "."</p>
            <p><a href="/orders">"All your orders"</a> " · " <a href="/">"Keep shopping"</a></p>
        </section>
    }
}

#[component]
pub fn OrdersPage() -> impl IntoView {
    view! {
        <Title text="Your orders"/>
        <section class="orders">
            <h1>"Your orders"</h1>
            <RequireUser next="/orders" children=|_user| {
                let orders = Resource::new(|| (), |_| list_orders());
                view! {
                    <Transition fallback=|| view! { <p class="muted">"Loading your orders…"</p> }>
                        {move || Suspend::new(async move {
                            match orders.await {
                                Ok(orders) if orders.is_empty() => view! { <p data-testid="orders-empty">"You have no orders yet."</p> }.into_any(),
                                Ok(orders) => view! {
                                    <ul class="orders__list">
                                        {orders.into_iter().map(|order| view! {
                                            <li class="orders__item" data-testid="order-row">
                                                <a href=format!("/orders/{}", order.id)>"Order #" {order.id}</a>
                                                <span class="muted">{order.created_at.replace('T', " ").replace('Z', " UTC")}</span>
                                                <span>{order.lines.iter().map(|l| l.quantity).sum::<i64>()} " items"</span>
                                                <strong>{format_cents(order.total_cents)}</strong>
                                            </li>
                                        }).collect_view()}
                                    </ul>
                                }.into_any(),
                                Err(error) => view! { <ErrorMessage message=error.to_string()/> }.into_any(),
                            }
                        })}
                    </Transition>
                }
            }/>
        </section>
    }
}
