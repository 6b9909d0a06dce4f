//! The catalogue's pages: the home page (search, filter, sort, pages) and a page per product.

use super::{
    get_product, list_categories, list_products, Category, Product, ProductPage, ProductQuery,
    RawProductQuery, Sort,
};
use crate::{
    app::{ErrorMessage, NotFound},
    cart::pages::AddToCartForm,
    error::AppError,
    money::format_cents,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::Form,
    hooks::{use_params_map, use_query_map},
};

#[component]
pub fn HomePage() -> impl IntoView {
    let query_map = use_query_map();
    let query = Memo::new(move |_| {
        query_map.with(|map| {
            ProductQuery::lenient(&RawProductQuery {
                q: map.get("q"),
                category: map.get("category"),
                sort: map.get("sort"),
                page: map.get("page"),
                per_page: None,
            })
        })
    });
    let products = Resource::new(move || query.get(), list_products);
    let categories = Resource::new(|| (), |_| list_categories());

    view! {
        <Title text="Fresh produce"/>
        <section class="catalogue" aria-labelledby="catalogue-title">
            <div class="catalogue__intro">
                <h1 id="catalogue-title">"Fresh from the market"</h1>
                <p class="lead">"Fruit, vegetables, herbs, pantry staples and bread, picked this morning."</p>
            </div>
            <SearchForm query/>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let categories = categories.await.unwrap_or_default();
                    view! { <CategoryFilter categories query/> }
                })}
            </Transition>
            <Transition fallback=|| view! { <p class="muted">"Loading products…"</p> }>
                {move || Suspend::new(async move {
                    match products.await {
                        Ok(page) => view! { <ProductResults page query=query.get_untracked()/> }.into_any(),
                        Err(error) => view! { <ErrorMessage message=error.to_string()/> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// Search text and sort order, as a GET form: it works the same with and without JavaScript.
#[component]
fn SearchForm(query: Memo<ProductQuery>) -> impl IntoView {
    let current = move || query.get();
    view! {
        <Form method="GET" action="/">
            <div class="search" role="search">
                <div class="field field--grow">
                    <label for="search-q">"Search"</label>
                    <input
                        id="search-q"
                        type="search"
                        name="q"
                        maxlength="100"
                        placeholder="Bananas, basil, sourdough…"
                        data-testid="search-input"
                        value=move || current().q
                    />
                </div>
                {move || {
                    let category = current().category;
                    (!category.is_empty())
                        .then(|| view! { <input type="hidden" name="category" value=category/> })
                }}
                <div class="field">
                    <label for="search-sort">"Sort by"</label>
                    <select id="search-sort" name="sort">
                        {Sort::ALL
                            .into_iter()
                            .map(|sort| {
                                view! {
                                    <option value=sort.as_str() selected=move || current().sort == sort>
                                        {sort.label()}
                                    </option>
                                }
                            })
                            .collect_view()}
                    </select>
                </div>
                <button type="submit" class="button">"Search"</button>
            </div>
        </Form>
    }
}

#[component]
fn CategoryFilter(categories: Vec<Category>, query: Memo<ProductQuery>) -> impl IntoView {
    let current = query.get_untracked();
    let link = move |slug: &str, label: String| {
        let active = current.category == slug;
        let href = current.with_category(slug).href();
        view! {
            <li>
                <a class="chip" class:chip--active=active href=href aria-current=active.then_some("page")>
                    {label}
                </a>
            </li>
        }
    };
    let total: i64 = categories.iter().map(|c| c.product_count).sum();
    view! {
        <nav class="categories" aria-label="Categories" data-testid="category-filter">
            <ul>
                {link("", format!("All ({total})"))}
                {categories
                    .into_iter()
                    .map(|c| link(&c.slug, format!("{} ({})", c.name, c.product_count)))
                    .collect_view()}
            </ul>
        </nav>
    }
}

#[component]
fn ProductResults(page: ProductPage, query: ProductQuery) -> impl IntoView {
    let page_count = page.page_count();
    let summary = match page.total {
        0 => "No products match.".to_string(),
        1 => "1 product".to_string(),
        n => format!("{n} products"),
    };
    view! {
        <p class="results-summary" aria-live="polite">{summary}</p>
        {(page.items.is_empty() && page.total > 0).then(|| view! {
            <p class="muted">"There is nothing on this page. " <a href=query.with_page(1).href()>"Go to the first page"</a>"."</p>
        })}
        <ul class="product-grid">
            {page.items.into_iter().map(|product| view! { <li><ProductCard product/></li> }).collect_view()}
        </ul>
        {(page_count > 1).then(|| view! { <Pagination query page_count/> })}
    }
}

#[component]
fn ProductCard(product: Product) -> impl IntoView {
    let href = format!("/products/{}", product.slug);
    let in_stock = product.stock > 0;
    view! {
        <article class="card" data-testid="product-card" data-product-slug=product.slug.clone()>
            <a class="card__image" href=href.clone() tabindex="-1" aria-hidden="true">
                <img src=product.image_url.clone() alt="" width="240" height="240" loading="lazy"/>
            </a>
            <div class="card__body">
                <h2 class="card__title"><a href=href>{product.name.clone()}</a></h2>
                <p class="card__price" data-testid="product-price">{format_cents(product.price_cents)}</p>
            </div>
            <AddToCartForm product_id=product.id name=product.name in_stock/>
        </article>
    }
}

#[component]
fn Pagination(query: ProductQuery, page_count: i64) -> impl IntoView {
    let current = query.page;
    let previous = (current > 1).then(|| query.with_page(current - 1).href());
    let next = (current < page_count).then(|| query.with_page(current + 1).href());
    view! {
        <nav class="pagination" aria-label="Pages" data-testid="pagination">
            {match previous {
                Some(href) => view! { <a class="pagination__step" href=href rel="prev">"Previous"</a> }.into_any(),
                None => view! { <span class="pagination__step pagination__step--off" aria-hidden="true">"Previous"</span> }.into_any(),
            }}
            <ol>
                {super::page_links(current, page_count)
                    .into_iter()
                    .map(|link| match link {
                        Some(n) => {
                            let href = query.with_page(n).href();
                            let is_current = n == current;
                            view! {
                                <li>
                                    <a href=href class:current=is_current aria-current=is_current.then_some("page")>
                                        <span class="visually-hidden">"Page "</span>{n}
                                    </a>
                                </li>
                            }
                            .into_any()
                        }
                        None => view! { <li class="pagination__gap" aria-hidden="true">"…"</li> }.into_any(),
                    })
                    .collect_view()}
            </ol>
            {match next {
                Some(href) => view! { <a class="pagination__step" href=href rel="next">"Next"</a> }.into_any(),
                None => view! { <span class="pagination__step pagination__step--off" aria-hidden="true">"Next"</span> }.into_any(),
            }}
        </nav>
    }
}

#[component]
pub fn ProductPage() -> impl IntoView {
    let params = use_params_map();
    let slug = move || params.with(|p| p.get("slug").unwrap_or_default());
    let product = Resource::new(slug, get_product);
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match product.await {
                    Ok(product) => view! { <ProductDetail product/> }.into_any(),
                    Err(AppError::NotFound(_)) => view! { <NotFound/> }.into_any(),
                    Err(error) => view! { <ErrorMessage message=error.to_string()/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn ProductDetail(product: Product) -> impl IntoView {
    let stock_text = match product.stock {
        0 => "Out of stock".to_string(),
        n if n <= 5 => format!("Only {n} left in stock"),
        n => format!("{n} in stock"),
    };
    let category_href = format!("/?category={}", product.category);
    let in_stock = product.stock > 0;
    let out_of_stock = !in_stock;
    view! {
        <Title text=product.name.clone()/>
        <nav class="breadcrumbs" aria-label="Breadcrumb">
            <a href="/">"Shop"</a>
            <span aria-hidden="true">" / "</span>
            <a href=category_href>{product.category_name.clone()}</a>
        </nav>
        <article class="product">
            <div class="product__image">
                <img src=product.image_url.clone() alt="" width="480" height="480"/>
            </div>
            <div class="product__info">
                <h1 data-testid="product-name">{product.name.clone()}</h1>
                <p class="product__price" data-testid="product-price">{format_cents(product.price_cents)}</p>
                <p
                    class="product__stock"
                    class:product__stock--out=out_of_stock
                    data-testid="product-stock"
                >
                    {stock_text}
                </p>
                <p class="product__description">{product.description.clone()}</p>
                <AddToCartForm
                    product_id=product.id
                    name=product.name.clone()
                    in_stock
                    with_quantity=true
                />
            </div>
        </article>
    }
}
