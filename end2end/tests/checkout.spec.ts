import { expect, test, type APIRequestContext, type Page, type Request, type TestInfo } from '@playwright/test';
import {
  addFromProductPage,
  apiAddToCart,
  apiOrders,
  apiPlaceOrder,
  apiRegister,
  apiTokenLogin,
  type AuthMode,
  authMode,
  cartCount,
  checkoutLine,
  errorMessage,
  expectAlert,
  expectCart,
  expectSignedIn,
  expectSignedOut,
  gotoHydrated,
  headerCartLink,
  isPlaceOrderRequest,
  newUser,
  productCard,
  sessionCookie,
  showsMoney,
  signedInAs,
  startInMode,
  storedToken,
  submitLogin,
  submitRegistration,
  type TestUser,
  waitHydrated,
  watchConsole,
} from './helpers';

// Checkout and orders: /cart → /checkout (signed in only) → /orders/{id}, and /orders.
// Each test is a fresh browser context and a fresh account; the orders are counted through the
// JSON API (GET /api/v1/orders) with a token of the test's own, so the browser is never disturbed.

const MODES: AuthMode[] = ['session', 'token'];

/** Bananas $1.29 + 2 × Apples $0.89. */
const TOTAL = '$3.07';
const ADDRESS = '12 Orchard Row\nAppleton AP1 2BB';

// ---------------------------------------------------------------------------
// Diagnostics: on failure, attach the console errors and the failed server calls.
// ---------------------------------------------------------------------------

const diagnostics = new WeakMap<TestInfo, { console: string[]; network: string[] }>();

test.beforeEach(async ({ context }, testInfo) => {
  const consoleWatch = watchConsole(context);
  const network: string[] = [];
  context.on('response', (response) => {
    const url = new URL(response.url());
    if (response.status() >= 400 && (url.pathname.startsWith('/fn/') || url.pathname.startsWith('/api/'))) {
      network.push(`${response.status()} ${response.request().method()} ${url.pathname}${url.search}`);
    }
  });
  context.on('requestfailed', (request) => network.push(`failed ${request.method()} ${request.url()}: ${request.failure()?.errorText}`));
  diagnostics.set(testInfo, { console: consoleWatch.messages, network });
});

test.afterEach(async ({}, testInfo) => {
  const seen = diagnostics.get(testInfo);
  if (!seen || testInfo.status === testInfo.expectedStatus) return;
  await testInfo.attach('console', { body: seen.console.join('\n') || '(none)', contentType: 'text/plain' });
  await testInfo.attach('failed server calls', { body: seen.network.join('\n') || '(none)', contentType: 'text/plain' });
});

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/** Records every URL (path + query) the page's main frame shows, client-side navigations included. */
function recordNavigations(page: Page): string[] {
  const seen: string[] = [];
  page.on('framenavigated', (frame) => {
    if (frame !== page.mainFrame()) return;
    const url = new URL(frame.url());
    seen.push(`${url.pathname}${url.search}`);
  });
  return seen;
}

const onLoginFor = (next: string) => (url: URL) => url.pathname === '/login' && url.searchParams.get('next') === next;

/** Expects the checkout page to show Bananas and 2 Apples, $3.07, the name prefilled. */
async function expectCheckoutOfBananasAndApples(page: Page, user: TestUser): Promise<void> {
  await expect(page.getByTestId('checkout-total')).toHaveText(showsMoney(TOTAL));
  await expect(page.getByTestId('checkout-line')).toHaveCount(2);
  await expect(checkoutLine(page, 'banana')).toContainText(showsMoney('$1.29'));
  await expect(checkoutLine(page, 'apple')).toContainText(showsMoney('$1.78'));
  await expect(page.getByTestId('shipping-name')).toHaveValue(user.name);
  await expect(page.getByTestId('shipping-address')).toBeVisible();
  await expect(page.getByTestId('place-order')).toBeEnabled();
}

/** Expects the confirmation of an order of Bananas and 2 Apples; returns its id. */
async function expectConfirmation(page: Page): Promise<number> {
  await expect(page).toHaveURL(/\/orders\/\d+$/);
  const confirmation = page.getByTestId('order-confirmation');
  await expect(confirmation).toBeVisible();
  await expect(confirmation).toHaveAttribute('data-order-id', /^\d+$/);
  const id = Number(await confirmation.getAttribute('data-order-id'));
  expect(new URL(page.url()).pathname, 'the confirmation is the order’s own page').toBe(`/orders/${id}`);
  await expect(page.getByTestId('order-line')).toHaveCount(2);
  await expect(page.getByTestId('order-total')).toHaveText(showsMoney(TOTAL));
  await expect(cartCount(page), 'the header cart count after ordering').toHaveText('0');
  return id;
}

/** Expects the user's orders (JSON API) to be exactly one order of Bananas and 2 Apples with this id. */
async function expectOneOrder(request: APIRequestContext, user: TestUser, id: number): Promise<void> {
  const orders = await apiOrders(request, user);
  expect(orders.map((order) => order.id), 'the user’s orders (GET /api/v1/orders)').toEqual([id]);
  expect(orders[0].total_cents).toBe(307);
  expect(orders[0].lines.map((line) => [line.name, line.quantity, line.unit_price_cents]).sort()).toEqual([
    ['Apples', 2, 89],
    ['Bananas', 1, 129],
  ]);
}

/**
 * A registered user whose saved cart holds `lines` (put there through the API), signed in
 * through /login?next=/checkout in `mode`, on the hydrated checkout page.
 */
async function signedInAtCheckout(page: Page, request: APIRequestContext, mode: AuthMode, label: string, lines: Record<string, number>): Promise<{ user: TestUser; apiToken: string }> {
  const user = newUser(label);
  await apiRegister(request, user);
  const apiToken = await apiTokenLogin(request, user);
  for (const [slug, quantity] of Object.entries(lines)) await apiAddToCart(request, apiToken, slug, quantity);

  await startInMode(page, mode);
  await gotoHydrated(page, '/login?next=%2Fcheckout');
  await submitLogin(page, user.email, user.password);
  await expect(page).toHaveURL((url) => url.pathname === '/checkout');
  await expectSignedIn(page, user);
  await expect(authMode(page)).toHaveText(mode);
  await expect(page.getByTestId('checkout-line')).toHaveCount(Object.keys(lines).length);
  return { user, apiToken };
}

/** Holds every place-order call until `release()`; counts them. */
async function holdPlaceOrder(page: Page): Promise<{ calls: () => number; release: () => void }> {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let calls = 0;
  await page.route(
    (url) => url.pathname === '/fn/orders/place',
    async (route) => {
      calls += 1;
      await gate;
      await route.continue();
    },
  );
  return { calls: () => calls, release };
}

// ---------------------------------------------------------------------------
// 1. The journey, in both modes
// ---------------------------------------------------------------------------

for (const mode of MODES) {
  test(`${mode} mode: a guest fills the cart, signs in at checkout, places the order and finds it in /orders`, async ({ page, context, request }) => {
    const user = newUser(`Buyer ${mode}`);
    await apiRegister(request, user);
    const navigations = recordNavigations(page);

    // A guest: Bananas from the home page, 2 Apples from their product page.
    await startInMode(page, mode);
    await expectSignedOut(page);
    await productCard(page, 'banana').getByTestId('add-to-cart').click();
    await expect(cartCount(page)).toHaveText('1');
    await productCard(page, 'apple').locator('a[href="/products/apple"]').first().click();
    await expect(page).toHaveURL(/\/products\/apple$/);
    await expect(page.getByTestId('product-name')).toHaveText('Apples');
    await addFromProductPage(page, 2);
    await expect(cartCount(page)).toHaveText('3');

    // The cart, then its checkout button: a guest is sent to sign in first.
    await headerCartLink(page).click();
    await expect(page).toHaveURL(/\/cart$/);
    await expectCart(page, { banana: 1, apple: 2 }, TOTAL);
    await page.getByTestId('checkout-button').click();
    await expect(page).toHaveURL(onLoginFor('/checkout'));
    await waitHydrated(page);
    await expectSignedOut(page);

    // Signed in, back on /checkout with the guest's lines, and it stays there (no redirect loop).
    const signInAt = navigations.length;
    await submitLogin(page, user.email, user.password);
    await expect(page).toHaveURL((url) => url.pathname === '/checkout');
    await expectSignedIn(page, user);
    await expect(authMode(page)).toHaveText(mode);
    await expectCheckoutOfBananasAndApples(page, user);
    await expect.soft(page.getByText(/demo payment/i), 'the demo payment note').toBeVisible();
    await expect(page).toHaveURL((url) => url.pathname === '/checkout');
    expect(navigations.slice(signInAt), 'where the page went after signing in').toEqual(['/checkout']);
    if (mode === 'token') expect(await sessionCookie(context), 'no session cookie in token mode').toBeUndefined();

    // Place the order.
    const placeRequest = page.waitForRequest((req) => isPlaceOrderRequest(req.url(), req.method()));
    await page.getByTestId('shipping-address').fill(ADDRESS);
    await page.getByTestId('place-order').click();
    const placed: Request = await placeRequest;
    const orderId = await expectConfirmation(page);
    await expect(page.getByTestId('order-confirmation')).toContainText(user.name);
    await expect(page.getByTestId('order-confirmation')).toContainText('12 Orchard Row');
    await expectOneOrder(request, user, orderId);

    // How the place-order call was signed in.
    const authorization = (await placed.allHeaders())['authorization'];
    if (mode === 'token') {
      const token = await storedToken(page);
      expect(authorization, 'POST /fn/orders/place carries the token').toBe(`Bearer ${token}`);
      expect(await sessionCookie(context), 'no session cookie in token mode, after ordering').toBeUndefined();
    } else {
      expect(authorization, 'no Authorization header in session mode').toBeUndefined();
    }

    // A second order, placed from "another device": /orders lists both, newest first.
    const apiToken = await apiTokenLogin(request, user);
    await apiAddToCart(request, apiToken, 'lemon', 1);
    const second = await apiPlaceOrder(request, apiToken, `e2e-${Date.now()}-${Math.random().toString(36).slice(2)}`);
    await gotoHydrated(page, '/orders');
    await expectSignedIn(page, user);
    const rows = page.getByTestId('order-row');
    await expect(rows).toHaveCount(2);
    await expect(page.getByTestId('orders-empty')).toHaveCount(0);
    await expect(rows.nth(0).locator(`a[href="/orders/${second.id}"]`), 'the newest order first').toBeVisible();
    await expect(rows.nth(1).locator(`a[href="/orders/${orderId}"]`)).toBeVisible();
    await expect(rows.nth(1)).toContainText(showsMoney(TOTAL));

    // The row leads back to the order.
    await rows.nth(1).locator(`a[href="/orders/${orderId}"]`).click();
    await expect(page).toHaveURL(new RegExp(`/orders/${orderId}$`));
    await expect(page.getByTestId('order-confirmation')).toHaveAttribute('data-order-id', String(orderId));
    await expect(page.getByTestId('order-total')).toHaveText(showsMoney(TOTAL));
    await expect(cartCount(page)).toHaveText('0');
  });
}

// ---------------------------------------------------------------------------
// 2. One intent, one order
// ---------------------------------------------------------------------------

for (const mode of MODES) {
  test(`${mode} mode: a double click on place-order makes one order (the button is disabled while placing)`, async ({ page, request }) => {
    const { user } = await signedInAtCheckout(page, request, mode, `Double ${mode}`, { banana: 1, apple: 2 });
    await expectCheckoutOfBananasAndApples(page, user);
    await page.getByTestId('shipping-address').fill(ADDRESS);

    // The first call is held, so the state "being placed" can be seen.
    const held = await holdPlaceOrder(page);
    const button = page.getByTestId('place-order');
    await button.dblclick();
    await expect(button, 'place-order while the order is being placed').toBeDisabled();
    // The button is disabled as the call is dispatched; the held route sees it a moment later.
    await expect.poll(() => held.calls(), { message: 'place-order calls sent' }).toBeGreaterThanOrEqual(1);
    held.release();

    const orderId = await expectConfirmation(page);
    await expect(errorMessage(page)).toHaveCount(0);
    await expectOneOrder(request, user, orderId);
    test.info().annotations.push({ type: 'place-order calls', description: String(held.calls()) });
  });

  test(`${mode} mode: two synchronous clicks and a resubmission of the form make one order`, async ({ page, request }) => {
    const { user } = await signedInAtCheckout(page, request, mode, `Twice ${mode}`, { banana: 1, apple: 2 });
    await expectCheckoutOfBananasAndApples(page, user);
    await page.getByTestId('shipping-address').fill(ADDRESS);

    let calls = 0;
    page.on('request', (req) => {
      if (isPlaceOrderRequest(req.url(), req.method())) calls += 1;
    });
    // In one task: the second click lands before anything re-renders, and requestSubmit()
    // submits even if the button is already disabled (the same hidden key each time).
    await page.getByTestId('place-order').evaluate((button: HTMLButtonElement) => {
      button.click();
      button.click();
      button.form?.requestSubmit();
    });

    const orderId = await expectConfirmation(page);
    await expectOneOrder(request, user, orderId);
    test.info().annotations.push({ type: 'place-order calls', description: String(calls) });
  });
}

// ---------------------------------------------------------------------------
// 3. Without JavaScript (session mode)
// ---------------------------------------------------------------------------

test.describe('session mode without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('register, fill the cart, check out and place the order with plain forms', async ({ page, request }) => {
    const user = newUser('NoJS buyer');
    await page.goto('/register');
    await expect(authMode(page)).toHaveText('session');
    await submitRegistration(page, user);
    await expect(page).toHaveURL((url) => url.pathname === '/');
    await expectSignedIn(page, user);

    await productCard(page, 'banana').getByTestId('add-to-cart').click();
    await expect(cartCount(page)).toHaveText('1');
    await page.goto('/products/apple');
    await addFromProductPage(page, 2);
    await expect(cartCount(page)).toHaveText('3');
    await headerCartLink(page).click();
    await expect(page).toHaveURL(/\/cart$/);
    await expectCart(page, { banana: 1, apple: 2 }, TOTAL);

    await page.getByTestId('checkout-button').click();
    await expect(page).toHaveURL((url) => url.pathname === '/checkout');
    await expectCheckoutOfBananasAndApples(page, user);
    await page.getByTestId('shipping-address').fill(ADDRESS);
    await page.getByTestId('place-order').click();

    const orderId = await expectConfirmation(page);
    await expect(signedInAs(page)).toHaveText(user.name);
    await expectOneOrder(request, user, orderId);

    await page.goto('/orders');
    await expect(page.getByTestId('order-row')).toHaveCount(1);
    await expect(page.getByTestId('order-row').locator(`a[href="/orders/${orderId}"]`)).toBeVisible();
  });

  test('a guest who checks out signs in and comes back to /checkout', async ({ page, request }) => {
    const user = newUser('NoJS guest');
    await apiRegister(request, user);
    await page.goto('/products/banana');
    await addFromProductPage(page, 1);
    await expect(cartCount(page)).toHaveText('1');
    await page.goto('/cart');
    await page.getByTestId('checkout-button').click();
    await expect(page).toHaveURL(onLoginFor('/checkout'));
    await submitLogin(page, user.email, user.password);
    await expect(page).toHaveURL((url) => url.pathname === '/checkout');
    await expectSignedIn(page, user);
    await expect(page.getByTestId('checkout-line')).toHaveCount(1);
    await expect(checkoutLine(page, 'banana')).toBeVisible();
    await expect(page.getByTestId('checkout-total')).toHaveText(showsMoney('$1.29'));
  });
});

// ---------------------------------------------------------------------------
// 4. Guests are sent to sign in
// ---------------------------------------------------------------------------

const GUARDED = ['/checkout', '/orders', '/orders/1'];

test('session mode: a guest opening /checkout, /orders or /orders/{id} is redirected by the server to /login?next=…', async ({ page }) => {
  await startInMode(page, 'session');
  const navigations = recordNavigations(page);
  for (const path of GUARDED) {
    const response = await page.goto(path);
    expect(response, `the answer for ${path}`).not.toBeNull();
    // The response chain: the first request was for the guarded page and was answered with a redirect.
    let first = response!.request();
    while (first.redirectedFrom()) first = first.redirectedFrom()!;
    expect(new URL(first.url()).pathname, `the first request of the chain for ${path}`).toBe(path);
    const redirect = await first.response();
    expect(redirect?.status(), `the server's answer to a guest's GET ${path}`).toBeGreaterThanOrEqual(300);
    expect(redirect?.status()).toBeLessThan(400);
    const location = new URL(redirect?.headers()['location'] ?? '', page.url());
    expect(location.pathname, `Location for ${path}`).toBe('/login');
    expect(location.searchParams.get('next'), `Location for ${path}`).toBe(path);

    // It settles on the sign-in page.
    expect(response!.status()).toBe(200);
    await expect(page).toHaveURL(onLoginFor(path));
    const landed = navigations.length;
    await waitHydrated(page);
    await expectSignedOut(page);
    await expect(page.getByTestId('email-input')).toBeVisible();
    await expect(page).toHaveURL(onLoginFor(path));
    expect(navigations.slice(landed), `navigations after landing on /login from ${path}`).toEqual([]);
  }
});

test('token mode without a token: /checkout, /orders and /orders/{id} end on /login?next=… and stay there', async ({ page }) => {
  await startInMode(page, 'token');
  expect(await storedToken(page)).toBeNull();
  const navigations = recordNavigations(page);
  for (const path of GUARDED) {
    const start = navigations.length;
    await page.goto(path);
    await expect(page).toHaveURL(onLoginFor(path));
    await waitHydrated(page);
    await expectSignedOut(page);
    await expect(authMode(page)).toHaveText('token');
    await expect(page.getByTestId('email-input')).toBeVisible();
    await expect(page).toHaveURL(onLoginFor(path));
    const after = navigations.slice(start);
    const loginAt = after.findIndex((entry) => entry.startsWith('/login'));
    expect(after.slice(loginAt + 1), `navigations after reaching /login from ${path} (all: ${after.join(' → ')})`).toEqual([]);
    expect(after.filter((entry) => entry.startsWith(path)).length, `visits to ${path}`).toBeLessThanOrEqual(1);
  }
});

// ---------------------------------------------------------------------------
// 5. Refusals: nothing is ordered
// ---------------------------------------------------------------------------

test('session mode: short stock is refused on /checkout and nothing is ordered', async ({ page, request }) => {
  const productResponse = await request.get('/api/v1/products/watermelon');
  expect(productResponse.status()).toBe(200);
  const stock: number = (await productResponse.json()).stock;
  expect(stock, 'watermelon stock: this test needs a shop with at least 2 (a fresh database has plenty)').toBeGreaterThanOrEqual(2);
  const quantity = Math.min(stock, 99);

  const { user, apiToken } = await signedInAtCheckout(page, request, 'session', 'Short', { watermelon: quantity });
  await expect(page.getByTestId('place-order')).toBeEnabled();

  // Someone else buys one watermelon after the page was shown.
  const rival = newUser('Rival');
  await apiRegister(request, rival);
  const rivalToken = await apiTokenLogin(request, rival);
  await apiAddToCart(request, rivalToken, 'watermelon', 1);
  await apiPlaceOrder(request, rivalToken, `rival-${Date.now()}`);

  await page.getByTestId('shipping-address').fill(ADDRESS);
  await page.getByTestId('place-order').click();
  await expectAlert(page);
  await expect(page).toHaveURL((url) => url.pathname === '/checkout');
  await expect(page.getByTestId('order-confirmation')).toHaveCount(0);
  await expect(page.getByTestId('place-order')).toBeEnabled();

  expect(await apiOrders(request, user), 'orders after a refusal').toEqual([]);
  const cart = await request.get('/api/v1/cart', { headers: { Authorization: `Bearer ${apiToken}` } });
  expect((await cart.json()).item_count, 'the cart after a refusal').toBe(quantity);
  const after = await request.get('/api/v1/products/watermelon');
  expect((await after.json()).stock, 'stock after a refusal').toBe(stock - 1);
});

test('token mode: a total that changed since the page was shown is refused and nothing is ordered', async ({ page, request }) => {
  const { user, apiToken } = await signedInAtCheckout(page, request, 'token', 'Price', { banana: 1, apple: 2 });
  await expectCheckoutOfBananasAndApples(page, user);

  // The page showed $3.07 (and sends it back in the hidden field `expected_total_cents`); the
  // cart then changes behind its back, as from another tab or the JSON API: a second banana.
  const shown = page.locator('input[type="hidden"][name="expected_total_cents"]');
  await expect(shown).toHaveCount(1);
  await expect(shown).toHaveValue('307');
  await apiAddToCart(request, apiToken, 'banana', 1);

  await page.getByTestId('shipping-address').fill(ADDRESS);
  await page.getByTestId('place-order').click();
  await expectAlert(page);
  await expect(page).toHaveURL((url) => url.pathname === '/checkout');
  await expect(page.getByTestId('order-confirmation')).toHaveCount(0);

  expect(await apiOrders(request, user), 'orders after a refusal').toEqual([]);
  const cart = await request.get('/api/v1/cart', { headers: { Authorization: `Bearer ${apiToken}` } });
  expect((await cart.json()).item_count, 'the cart after a refusal').toBe(4);

  // The page now shows the current total, keeps what was typed, and the buyer confirms it.
  await expect(shown).toHaveValue('436');
  await expect(page.getByTestId('checkout-total')).toHaveText(showsMoney('$4.36'));
  await expect(checkoutLine(page, 'banana')).toContainText(showsMoney('$2.58'));
  await expect(page.getByTestId('shipping-address')).toHaveValue(ADDRESS);
  await page.getByTestId('place-order').click();
  await expect(page).toHaveURL(/\/orders\/\d+$/);
  await expect(page.getByTestId('order-total')).toHaveText(showsMoney('$4.36'));
  const orders = await apiOrders(request, user);
  expect(orders.length, 'one order, at the total the buyer confirmed').toBe(1);
  expect(orders[0].total_cents).toBe(436);
  expect(orders[0].lines.map((line) => [line.name, line.quantity]).sort()).toEqual([
    ['Apples', 2],
    ['Bananas', 2],
  ]);
});
