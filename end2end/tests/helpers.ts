import { expect, type APIRequestContext, type BrowserContext, type Locator, type Page, type Response } from '@playwright/test';

/** How long a page may take to hydrate (a debug WASM bundle on a busy 2-core machine is slow). */
const HYDRATION_TIMEOUT = 30_000;

// ---------------------------------------------------------------------------
// Navigation
// ---------------------------------------------------------------------------

/** Waits until the WASM app has hydrated the current document. Only with JavaScript on. */
export async function waitHydrated(page: Page): Promise<void> {
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true', { timeout: HYDRATION_TIMEOUT });
}

/** `page.goto`, then waits for hydration. Use with JavaScript on. */
export async function gotoHydrated(page: Page, url: string): Promise<Response | null> {
  const response = await page.goto(url);
  await waitHydrated(page);
  return response;
}

/**
 * Opens `url` in a spec that runs both with JavaScript on and off:
 * waits for hydration only when JavaScript is on.
 */
export async function visit(page: Page, url: string, javaScriptEnabled: boolean): Promise<Response | null> {
  const response = await page.goto(url);
  if (javaScriptEnabled) await waitHydrated(page);
  return response;
}

/** After a reload or history move: waits for hydration only when JavaScript is on. */
export async function settle(page: Page, javaScriptEnabled: boolean): Promise<void> {
  if (javaScriptEnabled) await waitHydrated(page);
}

// ---------------------------------------------------------------------------
// Locators
// ---------------------------------------------------------------------------

/** The header's item count. */
export const cartCount = (page: Page): Locator => page.getByTestId('cart-count');

/** The header's link to the cart (the one holding the item count). */
export const headerCartLink = (page: Page): Locator =>
  page.locator('a[href="/cart"]').filter({ has: page.getByTestId('cart-count') });

/** A catalogue card, by product slug. */
export const productCard = (page: Page, slug: string): Locator =>
  page.locator(`[data-testid="product-card"][data-product-slug="${slug}"]`);

/** All catalogue cards on the page. */
export const productCards = (page: Page): Locator => page.getByTestId('product-card');

/** A cart line, by product slug. */
export const cartLine = (page: Page, slug: string): Locator =>
  page.locator(`[data-testid="cart-line"][data-product-slug="${slug}"]`);

/** The user-facing failure message. */
export const errorMessage = (page: Page): Locator => page.getByTestId('error-message');

/** The slugs of the catalogue cards, in page order. */
export async function cardSlugs(page: Page): Promise<string[]> {
  return productCards(page).evaluateAll((cards) => cards.map((card) => card.getAttribute('data-product-slug') ?? ''));
}

/** The prices shown on the catalogue cards, in page order, as `$x.yy` strings. */
export async function cardPrices(page: Page): Promise<string[]> {
  const texts = await productCards(page).getByTestId('product-price').allTextContents();
  return texts.map((text) => text.match(/\$\d[\d,]*\.\d{2}/)?.[0] ?? `unparsed: ${text.trim()}`);
}

// ---------------------------------------------------------------------------
// Money
// ---------------------------------------------------------------------------

/** 129 → `$1.29`. */
export function dollars(cents: number): string {
  return `$${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
}

/** `$x.yy` → cents. */
export function cents(money: string): number {
  const match = money.match(/\$(\d[\d,]*)\.(\d{2})/);
  if (!match) throw new Error(`not a dollar amount: ${money}`);
  return Number(match[1].replace(/,/g, '')) * 100 + Number(match[2]);
}

/**
 * Matches a text that shows exactly this amount somewhere (`$3.96` matches "Subtotal: $3.96"
 * but not "$13.96" or "$3.961").
 */
export function showsMoney(amount: string): RegExp {
  const escaped = amount.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(?<![\\d.,])${escaped}(?!\\d)`);
}

// ---------------------------------------------------------------------------
// Cart actions and checks
// ---------------------------------------------------------------------------

/**
 * Expects the cart page to hold exactly these lines (slug → quantity) and this subtotal.
 * The subtotal is checked first: after a change it is what tells the new state has arrived
 * (without JavaScript, the old page still shows the quantity just typed until the post's redirect lands).
 */
export async function expectCart(page: Page, lines: Record<string, number>, subtotal: string): Promise<void> {
  await expect(page.getByTestId('cart-subtotal')).toHaveText(showsMoney(subtotal));
  await expect(page.getByTestId('cart-line')).toHaveCount(Object.keys(lines).length);
  for (const [slug, quantity] of Object.entries(lines)) {
    await expect(cartLine(page, slug).getByTestId('line-quantity')).toHaveValue(String(quantity));
  }
}

/** On a product page: sets the quantity and presses "add to cart". */
export async function addFromProductPage(page: Page, quantity: number): Promise<void> {
  await page.getByTestId('quantity-input').fill(String(quantity));
  await page.getByTestId('add-to-cart').click();
}

/** Expects the failure alert to be shown. */
export async function expectAlert(page: Page): Promise<void> {
  const alert = errorMessage(page);
  await expect(alert).toBeVisible();
  await expect(alert).toHaveAttribute('role', 'alert');
  await expect(alert).not.toBeEmpty();
}

// ---------------------------------------------------------------------------
// Catalogue
// ---------------------------------------------------------------------------

/** Chooses a sort order and submits the form that holds the sort select. */
export async function sortBy(page: Page, sort: 'name' | 'price_asc' | 'price_desc'): Promise<void> {
  const select = page.locator('select[name="sort"]');
  await select.selectOption(sort);
  // With JavaScript off only a submit applies the choice; with it on, submitting again is harmless.
  const form = page.locator('form').filter({ has: select });
  await form.locator('button:not([type]), button[type="submit"], input[type="submit"]').first().click();
  await expect(page).toHaveURL(new RegExp(`[?&]sort=${sort}(&|$)`));
}

export interface ApiProduct {
  slug: string;
  name: string;
  price_cents: number;
  stock: number;
  /** The contract leaves its shape open: a slug, a name, or an object with a slug. */
  category: string | { slug?: string; name?: string };
}

/** A product's category slug, whatever shape the API gives it. */
export function categoryOf(product: ApiProduct): string {
  const category = product.category;
  return (typeof category === 'string' ? category : (category.slug ?? category.name ?? '')).toLowerCase();
}

/** The catalogue as the JSON API lists it (`/api/v1/products`). */
export async function apiProducts(request: APIRequestContext, params: Record<string, string | number>): Promise<{ items: ApiProduct[]; total: number }> {
  const query = new URLSearchParams(Object.entries(params).map(([key, value]) => [key, String(value)]));
  const response = await request.get(`/api/v1/products?${query}`);
  expect(response.status(), `GET /api/v1/products?${query}`).toBe(200);
  return response.json();
}

// ---------------------------------------------------------------------------
// Console
// ---------------------------------------------------------------------------

/**
 * Collects console errors and warnings from every page of the context, and uncaught page errors.
 * `hydrationProblems()` lists those that mention hydration.
 */
export function watchConsole(context: BrowserContext): { messages: string[]; hydrationProblems: () => string[] } {
  const messages: string[] = [];
  const watchPage = (page: Page) => {
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') {
        messages.push(`[${message.type()}] ${page.url()}: ${message.text()}`);
      }
    });
    page.on('pageerror', (error) => messages.push(`[pageerror] ${page.url()}: ${error.message}`));
  };
  context.pages().forEach(watchPage);
  context.on('page', watchPage);
  return { messages, hydrationProblems: () => messages.filter((message) => /hydrat/i.test(message)) };
}

// ---------------------------------------------------------------------------
// Accounts and the auth mode
// ---------------------------------------------------------------------------

export type AuthMode = 'session' | 'token';

/** The password every test account uses. */
export const PASSWORD = 'correct horse battery';

/** The browser's names for what it keeps (see CONTRACT.md). */
export const SESSION_COOKIE = 'shop_session';
export const MODE_COOKIE = 'shop_auth_mode';
export const TOKEN_KEY = 'shop.auth_token';
export const MODE_KEY = 'shop.auth_mode';
export const GUEST_CART_KEY = 'shop.guest_cart';

/** A JWT: three base64url parts. */
export const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

export interface TestUser {
  email: string;
  password: string;
  name: string;
}

/** A new account's details, unique to the call (tests run in parallel on one database). */
export function newUser(label = 'Tester'): TestUser {
  const unique = `${Date.now()}-${Math.random().toString(36).slice(2, 10)}`;
  return { email: `user-${unique}@example.com`, password: PASSWORD, name: `${label} ${unique.slice(-6)}` };
}

/** The header's auth controls. */
export const authMode = (page: Page): Locator => page.getByTestId('auth-mode');
export const authModeToggle = (page: Page): Locator => page.getByTestId('auth-mode-toggle');
export const signedInAs = (page: Page): Locator => page.getByTestId('signed-in-as');
export const loginLink = (page: Page): Locator => page.getByTestId('login-link');
export const logoutButton = (page: Page): Locator => page.getByTestId('logout-button');
export const formError = (page: Page): Locator => page.getByTestId('form-error');

/** Presses the header's toggle and waits until the header shows the other mode. JavaScript on. */
export async function toggleMode(page: Page): Promise<AuthMode> {
  const from = (await authMode(page).textContent())?.trim();
  if (from !== 'session' && from !== 'token') throw new Error(`auth-mode shows ${JSON.stringify(from)}`);
  const to: AuthMode = from === 'session' ? 'token' : 'session';
  await expect(authModeToggle(page)).toBeEnabled();
  await authModeToggle(page).click();
  await expect(authMode(page)).toHaveText(to);
  return to;
}

/** Opens the home page (hydrated) and switches to `mode` with the toggle if needed. */
export async function startInMode(page: Page, mode: AuthMode): Promise<void> {
  await gotoHydrated(page, '/');
  await expect(authMode(page)).toHaveText(/^(session|token)$/);
  if ((await authMode(page).textContent())?.trim() !== mode) await toggleMode(page);
  await expect(authMode(page)).toHaveText(mode);
}

/** Expects the header to show `user` signed in. */
export async function expectSignedIn(page: Page, user: TestUser): Promise<void> {
  await expect(signedInAs(page)).toHaveText(user.name);
  await expect(logoutButton(page)).toBeVisible();
  await expect(loginLink(page)).toHaveCount(0);
}

/** Expects the header to show a guest. */
export async function expectSignedOut(page: Page): Promise<void> {
  await expect(loginLink(page)).toBeVisible();
  await expect(signedInAs(page)).toHaveCount(0);
  await expect(logoutButton(page)).toHaveCount(0);
}

/** Fills and submits the /login form the page shows. */
export async function submitLogin(page: Page, email: string, password: string): Promise<void> {
  await page.getByTestId('email-input').fill(email);
  await page.getByTestId('password-input').fill(password);
  await page.getByTestId('submit-button').click();
}

/** Fills and submits the /register form the page shows. */
export async function submitRegistration(page: Page, user: TestUser): Promise<void> {
  await page.getByTestId('name-input').fill(user.name);
  await page.getByTestId('email-input').fill(user.email);
  await page.getByTestId('password-input').fill(user.password);
  await page.getByTestId('submit-button').click();
}

/** Creates an account through the JSON API. */
export async function apiRegister(request: APIRequestContext, user: TestUser): Promise<{ id: number }> {
  const response = await request.post('/api/v1/auth/register', { data: user });
  expect(response.status(), `POST /api/v1/auth/register: ${await response.text()}`).toBe(201);
  return (await response.json()).user;
}

/** Signs in through the JSON API in token mode; returns the token. */
export async function apiTokenLogin(request: APIRequestContext, user: TestUser): Promise<string> {
  const response = await request.post('/api/v1/auth/login', { data: { email: user.email, password: user.password, mode: 'token' } });
  expect(response.status(), `POST /api/v1/auth/login: ${await response.text()}`).toBe(200);
  const body = await response.json();
  expect(body.token).toMatch(JWT);
  return body.token;
}

/** A product's id, from the JSON API. */
export async function productId(request: APIRequestContext, slug: string): Promise<number> {
  const response = await request.get(`/api/v1/products/${slug}`);
  expect(response.status(), `GET /api/v1/products/${slug}`).toBe(200);
  return (await response.json()).id;
}

/** Adds to the cart of the token's user through the JSON API. */
export async function apiAddToCart(request: APIRequestContext, token: string, slug: string, quantity: number): Promise<void> {
  const response = await request.post('/api/v1/cart/items', {
    data: { product_id: await productId(request, slug), quantity },
    headers: { Authorization: `Bearer ${token}` },
  });
  expect(response.status(), `POST /api/v1/cart/items: ${await response.text()}`).toBe(200);
}

/** The token kept in localStorage (gloo-storage keeps it as a JSON string), or null. */
export async function storedToken(page: Page): Promise<string | null> {
  const raw = await page.evaluate((key) => window.localStorage.getItem(key), TOKEN_KEY);
  if (raw === null) return null;
  try {
    return JSON.parse(raw);
  } catch {
    return `not JSON: ${raw}`;
  }
}

/** A localStorage value as the page sees it (raw), or null. */
export async function localStorageItem(page: Page, key: string): Promise<string | null> {
  return page.evaluate((k) => window.localStorage.getItem(k), key);
}

/** The session cookie of the context, if any. */
export async function sessionCookie(context: BrowserContext) {
  return (await context.cookies()).find((cookie) => cookie.name === SESSION_COOKIE);
}

/** The first number in a text: `"123 bytes: …"` → 123. */
export function firstNumber(text: string | null): number {
  const match = (text ?? '').match(/\d+/);
  if (!match) throw new Error(`no number in ${JSON.stringify(text)}`);
  return Number(match[0]);
}

// ---------------------------------------------------------------------------
// Checkout and orders
// ---------------------------------------------------------------------------

/** A checkout line, by product slug. */
export const checkoutLine = (page: Page, slug: string): Locator =>
  page.locator(`[data-testid="checkout-line"][data-product-slug="${slug}"]`);

/** Is this the request that places an order from the checkout page? */
export const isPlaceOrderRequest = (url: string, method: string): boolean =>
  method === 'POST' && new URL(url).pathname === '/fn/orders/place';

export interface ApiOrder {
  id: number;
  created_at: string;
  status: string;
  lines: { product_id: number; name: string; unit_price_cents: number; quantity: number; line_total_cents: number }[];
  total_cents: number;
  currency: string;
}

/** The user's orders as the JSON API lists them (newest first), read with a token of its own. */
export async function apiOrders(request: APIRequestContext, user: TestUser): Promise<ApiOrder[]> {
  const token = await apiTokenLogin(request, user);
  const response = await request.get('/api/v1/orders', { headers: { Authorization: `Bearer ${token}` } });
  expect(response.status(), `GET /api/v1/orders: ${await response.text()}`).toBe(200);
  return response.json();
}

/** Places an order through the JSON API for the token's user. */
export async function apiPlaceOrder(request: APIRequestContext, token: string, key: string, shipping = { name: 'API Buyer', address: '1 Test Street' }): Promise<ApiOrder> {
  const response = await request.post('/api/v1/orders', {
    data: { shipping },
    headers: { Authorization: `Bearer ${token}`, 'Idempotency-Key': key },
  });
  expect(response.status(), `POST /api/v1/orders: ${await response.text()}`).toBe(201);
  return response.json();
}
