import { expect, test, type BrowserContext, type Page, type Request } from '@playwright/test';
import {
  addFromProductPage,
  apiAddToCart,
  apiRegister,
  apiTokenLogin,
  authMode,
  type AuthMode,
  cartCount,
  cartLine,
  expectCart,
  expectSignedIn,
  expectSignedOut,
  firstNumber,
  formError,
  GUEST_CART_KEY,
  gotoHydrated,
  headerCartLink,
  JWT,
  localStorageItem,
  loginLink,
  logoutButton,
  MODE_COOKIE,
  MODE_KEY,
  newUser,
  productCard,
  productId,
  SESSION_COOKIE,
  sessionCookie,
  signedInAs,
  startInMode,
  storedToken,
  submitLogin,
  submitRegistration,
  toggleMode,
  TOKEN_KEY,
  type TestUser,
  waitHydrated,
  watchConsole,
} from './helpers';

// Accounts, and the two ways of being signed in: a cookie session (`shop_session`, HttpOnly) or a
// JWT kept in localStorage (`shop.auth_token`) and sent as `Authorization: Bearer` on every call
// to the server functions under /fn/. Each test is a fresh browser context and a fresh account.

const MODES: AuthMode[] = ['session', 'token'];
const other = (mode: AuthMode): AuthMode => (mode === 'session' ? 'token' : 'session');

/** Is this a call to a server function? */
const isServerFn = (url: string): boolean => new URL(url).pathname.startsWith('/fn/');

/**
 * Expects the browser to hold exactly the credential of `mode` for a signed-in user:
 * session → the HttpOnly cookie and no token; token → a JWT in localStorage and no session cookie.
 */
async function expectCredential(page: Page, context: BrowserContext, mode: AuthMode, when: string): Promise<void> {
  if (mode === 'session') {
    await expect.poll(() => storedToken(page), `${when}: no ${TOKEN_KEY} in session mode`).toBeNull();
    await expect.poll(async () => (await sessionCookie(context))?.httpOnly, `${when}: an HttpOnly ${SESSION_COOKIE} cookie`).toBe(true);
    const cookie = await sessionCookie(context);
    expect(cookie?.sameSite, `${when}: ${SESSION_COOKIE} is SameSite=Lax`).toBe('Lax');
    expect(cookie?.path, `${when}: ${SESSION_COOKIE} has Path=/`).toBe('/');
    // HttpOnly: nothing for scripts to read.
    expect(await page.evaluate(() => document.cookie), `${when}: document.cookie`).not.toContain(SESSION_COOKIE);
  } else {
    await expect.poll(() => storedToken(page), `${when}: a JWT in ${TOKEN_KEY}`).toMatch(JWT);
    expect(await sessionCookie(context), `${when}: no ${SESSION_COOKIE} cookie in token mode`).toBeUndefined();
  }
}

/** Expects the mode to be remembered as `mode` (cookie for the server, localStorage for other tabs). */
async function expectModeRemembered(page: Page, context: BrowserContext, mode: AuthMode): Promise<void> {
  await expect.poll(async () => (await context.cookies()).find((c) => c.name === MODE_COOKIE)?.value, MODE_COOKIE).toBe(mode);
  await expect.poll(() => localStorageItem(page, MODE_KEY), MODE_KEY).toBe(JSON.stringify(mode));
}

/** Sets up a marker that survives only as long as the document does (no full page load). */
async function markDocument(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { __sameDocument?: boolean; __focusEvents?: number };
    w.__sameDocument = true;
    w.__focusEvents = 0;
    window.addEventListener('focus', () => (w.__focusEvents = (w.__focusEvents ?? 0) + 1));
  });
}

async function documentMarks(page: Page): Promise<{ sameDocument: boolean; focusEvents: number }> {
  return page.evaluate(() => {
    const w = window as unknown as { __sameDocument?: boolean; __focusEvents?: number };
    return { sameDocument: w.__sameDocument === true, focusEvents: w.__focusEvents ?? -1 };
  });
}

/** Registers through the /register page (JavaScript on) and waits until the header shows the user. */
async function registerThroughPage(page: Page, user: TestUser, next?: string): Promise<void> {
  await gotoHydrated(page, next ? `/register?next=${encodeURIComponent(next)}` : '/register');
  await submitRegistration(page, user);
  await expect(page).toHaveURL((url) => url.pathname === (next ?? '/'));
  await expectSignedIn(page, user);
}

for (const mode of MODES) {
  test.describe(`${mode} mode`, () => {
    test(`the journey: guest cart, sign in, reload, switch to ${other(mode)}, sign out`, async ({ page, context, request }) => {
      const consoleWatch = watchConsole(context);
      const [bananaId, appleId] = [await productId(request, 'banana'), await productId(request, 'apple')];

      // An account with a saved cart: one banana, put there from "another device" (the API, token mode).
      const user = newUser('Journey');
      await apiRegister(request, user);
      const apiToken = await apiTokenLogin(request, user);
      await apiAddToCart(request, apiToken, 'banana', 1);

      // A guest, in this mode.
      await startInMode(page, mode);
      await expectSignedOut(page);
      await expect(cartCount(page)).toHaveText('0');
      if (mode === 'token') await expectModeRemembered(page, context, mode);

      // Bananas from the home page's card.
      await productCard(page, 'banana').getByTestId('add-to-cart').click();
      await expect(cartCount(page)).toHaveText('1');

      // Two apples from their product page.
      await productCard(page, 'apple').locator('a[href="/products/apple"]').first().click();
      await expect(page).toHaveURL(/\/products\/apple$/);
      await expect(page.getByTestId('product-name')).toHaveText('Apples');
      await addFromProductPage(page, 2);
      await expect(cartCount(page)).toHaveText('3');

      // Where a guest's cart lives: the session (cookie) or the browser (localStorage).
      if (mode === 'token') {
        await expect
          .poll(async () => JSON.parse((await localStorageItem(page, GUEST_CART_KEY)) ?? 'null'), GUEST_CART_KEY)
          .toEqual([
            { product_id: bananaId, quantity: 1 },
            { product_id: appleId, quantity: 2 },
          ]);
        expect(await sessionCookie(context), 'a token-mode guest has no session cookie').toBeUndefined();
      } else {
        expect(await localStorageItem(page, GUEST_CART_KEY), 'a session-mode guest keeps no cart in localStorage').toBeNull();
        expect(await sessionCookie(context), 'a session-mode guest cart is bound to the session cookie').toBeDefined();
      }
      const guestCookie = (await sessionCookie(context))?.value;

      // Sign in through the header's link; back where we were.
      await loginLink(page).click();
      await expect(page).toHaveURL((url) => url.pathname === '/login' && url.searchParams.get('next') === '/products/apple');
      await waitHydrated(page);
      await submitLogin(page, user.email, user.password);
      await expect(page).toHaveURL(/\/products\/apple$/);
      await expectSignedIn(page, user);
      await expect(authMode(page)).toHaveText(mode);
      await expectCredential(page, context, mode, 'after signing in');
      if (mode === 'session') {
        expect((await sessionCookie(context))?.value, 'signing in gives a new session id').not.toBe(guestCookie);
      } else {
        await expect.poll(() => localStorageItem(page, GUEST_CART_KEY), 'the local guest cart is gone once joined').toBeNull();
      }

      // The guest lines joined the saved cart: 1 + 1 bananas, 2 apples.
      await expect(cartCount(page)).toHaveText('4');
      await headerCartLink(page).click();
      await expect(page).toHaveURL(/\/cart$/);
      await expectCart(page, { banana: 2, apple: 2 }, '$4.36');

      // A full reload: still signed in, same cart, same mode.
      await page.reload();
      await waitHydrated(page);
      await expect(authMode(page)).toHaveText(mode);
      await expectSignedIn(page, user);
      await expectCart(page, { banana: 2, apple: 2 }, '$4.36');
      await expect(cartCount(page)).toHaveText('4');

      // The toggle: the other mode, still signed in, same cart, the other kind of credential.
      const oldToken = await storedToken(page);
      const oldCookie = (await sessionCookie(context))?.value;
      await toggleMode(page);
      await expect(authMode(page)).toHaveText(other(mode));
      await expectSignedIn(page, user);
      await expectCart(page, { banana: 2, apple: 2 }, '$4.36');
      await expect(cartCount(page)).toHaveText('4');
      await expectCredential(page, context, other(mode), 'after switching');
      await expectModeRemembered(page, context, other(mode));

      // The credential given up no longer works.
      const stale =
        mode === 'token'
          ? await request.get('/api/v1/me', { headers: { Authorization: `Bearer ${oldToken}` } })
          : await request.get('/api/v1/me', { headers: { Cookie: `${SESSION_COOKIE}=${oldCookie}` } });
      expect(stale.status(), `GET /api/v1/me with the ${mode} credential given up: ${await stale.text()}`).toBe(401);

      // The new mode is remembered across a reload.
      await page.reload();
      await waitHydrated(page);
      await expect(authMode(page)).toHaveText(other(mode));
      await expectSignedIn(page, user);
      await expectCart(page, { banana: 2, apple: 2 }, '$4.36');

      // Sign out: a guest with an empty cart.
      const lastToken = await storedToken(page);
      await logoutButton(page).click();
      await expectSignedOut(page);
      // Soft: a stale count is reported, and the rest of the sign-out is still checked.
      await expect.soft(cartCount(page), 'the cart count after signing out').toHaveText('0');
      await expect.soft(page.getByTestId('cart-empty'), 'the cart page after signing out').toBeVisible();
      await expect.poll(() => storedToken(page), 'no token after signing out').toBeNull();
      if (other(mode) === 'token') {
        const revoked = await request.get('/api/v1/me', { headers: { Authorization: `Bearer ${lastToken}` } });
        expect(revoked.status(), 'the signed-out token is revoked').toBe(401);
      }
      // The saved cart is still the user's (another device sees it).
      const me = await request.get('/api/v1/cart', { headers: { Authorization: `Bearer ${apiToken}` } });
      expect(me.status()).toBe(200);
      expect((await me.json()).item_count, 'the saved cart after signing out').toBe(4);

      expect(consoleWatch.hydrationProblems(), `console messages about hydration:\n${consoleWatch.messages.join('\n')}`).toEqual([]);
    });

    if (mode === 'token') {
      test('token mode: every server call after sign-in carries the Bearer token, and there is never a session cookie', async ({ page, context, request }) => {
        const user = newUser('Bearer');
        await apiRegister(request, user);
        const noSessionCookie = async (when: string) =>
          expect((await context.cookies()).map((c) => c.name), `${when}: cookies`).not.toContain(SESSION_COOKIE);

        await startInMode(page, 'token');
        await noSessionCookie('after switching to token mode');
        // From here on, no answer may set a session cookie (expiring one is fine).
        const sessionCookiesSet: string[] = [];
        page.on('response', async (response) => {
          for (const { name, value } of await response.headersArray().catch(() => [])) {
            if (name.toLowerCase() !== 'set-cookie' || !value.startsWith(`${SESSION_COOKIE}=`)) continue;
            const expiring = /max-age=0(;|$)/i.test(value) || value.startsWith(`${SESSION_COOKIE}=;`);
            if (!expiring) sessionCookiesSet.push(`${response.request().method()} ${response.url()}: ${value}`);
          }
        });

        // A guest's change to the cart (kept in the browser).
        await productCard(page, 'banana').getByTestId('add-to-cart').click();
        await expect(cartCount(page)).toHaveText('1');
        await noSessionCookie('after a guest change to the cart');

        // Every server-function call from the moment the sign-in is answered.
        let signedIn = false;
        const calls: Request[] = [];
        page.on('response', (response) => {
          if (new URL(response.url()).pathname === '/fn/auth/login' && response.ok()) signedIn = true;
        });
        page.on('request', (req) => {
          if (signedIn && isServerFn(req.url())) calls.push(req);
        });

        await gotoHydrated(page, '/login');
        await submitLogin(page, user.email, user.password);
        await expectSignedIn(page, user);
        await expect(cartCount(page)).toHaveText('1');
        await noSessionCookie('after signing in');

        // Browse and change the cart, signed in.
        await productCard(page, 'apple').getByTestId('add-to-cart').click();
        await expect(cartCount(page)).toHaveText('2');
        await page.goto('/products/carrot');
        await waitHydrated(page);
        await expectSignedIn(page, user);
        await addFromProductPage(page, 3);
        await expect(cartCount(page)).toHaveText('5');
        await headerCartLink(page).click();
        await expect(page).toHaveURL(/\/cart$/);
        await cartLine(page, 'carrot').getByTestId('line-quantity').fill('1');
        await cartLine(page, 'carrot').getByTestId('line-update').click();
        await expect(cartCount(page)).toHaveText('3');
        await cartLine(page, 'apple').getByTestId('line-remove').click();
        await expect(cartCount(page)).toHaveText('2');
        await noSessionCookie('after changing the cart');
        await page.reload();
        await waitHydrated(page);
        await expectSignedIn(page, user);
        await gotoHydrated(page, '/auth');
        await expect(page.getByTestId('auth-page-mode')).toHaveText('token');
        await expect(page.getByTestId('token-value')).toBeVisible();
        await noSessionCookie('after visiting /auth');

        const token = await storedToken(page);
        expect(token).toMatch(JWT);
        expect(calls.length, 'server-function calls recorded after sign-in').toBeGreaterThan(5);
        const missing: string[] = [];
        for (const call of calls) {
          const authorization = (await call.allHeaders())['authorization'];
          if (!authorization?.startsWith('Bearer ')) missing.push(`${call.method()} ${call.url()}: authorization ${JSON.stringify(authorization)}`);
          else expect(authorization, `${call.method()} ${call.url()}`).toBe(`Bearer ${token}`);
        }
        expect(sessionCookiesSet, 'answers that set a session cookie in token mode').toEqual([]);
        expect(missing, 'server-function calls without a Bearer token').toEqual([]);
        expect(calls.every((call) => call.method() === 'POST'), 'server functions are called with POST').toBe(true);
      });
    } else {
      test('session mode: nothing in localStorage, nothing readable by scripts, no Authorization header', async ({ page, context, request }) => {
        const user = newUser('Cookie');
        await apiRegister(request, user);
        const calls: Request[] = [];
        page.on('request', (req) => {
          if (isServerFn(req.url())) calls.push(req);
        });
        const noToken = async (when: string) => expect(await localStorageItem(page, TOKEN_KEY), `${when}: ${TOKEN_KEY}`).toBeNull();

        await startInMode(page, 'session');
        await noToken('as a guest');
        await productCard(page, 'banana').getByTestId('add-to-cart').click();
        await expect(cartCount(page)).toHaveText('1');
        await noToken('after a guest change to the cart');

        await gotoHydrated(page, '/login');
        await submitLogin(page, user.email, user.password);
        await expectSignedIn(page, user);
        await expectCredential(page, context, 'session', 'after signing in');
        await productCard(page, 'apple').getByTestId('add-to-cart').click();
        await expect(cartCount(page)).toHaveText('2');
        await noToken('after a signed-in change to the cart');
        await page.reload();
        await waitHydrated(page);
        await expectSignedIn(page, user);
        await gotoHydrated(page, '/auth');
        await expect(page.getByTestId('auth-page-mode')).toHaveText('session');
        await noToken('after visiting /auth');
        await expect(page.getByTestId('token-value')).toHaveCount(0);
        expect(await page.evaluate(() => Object.keys(window.localStorage)), 'localStorage keys').not.toContain(TOKEN_KEY);

        expect(calls.length).toBeGreaterThan(0);
        for (const call of calls) {
          expect((await call.allHeaders())['authorization'], `${call.method()} ${call.url()} in session mode`).toBeUndefined();
        }
      });
    }

    test('signing out in one tab shows in the other tabs', async ({ context }) => {
      const user = newUser('Tabs');
      const pageA = await context.newPage();
      await startInMode(pageA, mode);
      await registerThroughPage(pageA, user);
      await expectCredential(pageA, context, mode, 'tab A after registering');
      await productCard(pageA, 'banana').getByTestId('add-to-cart').click();
      await expect(cartCount(pageA)).toHaveText('1');

      // Tab B (and, in session mode, tab C), signed in too.
      const pageB = await context.newPage();
      await gotoHydrated(pageB, '/products/banana');
      await expect(authMode(pageB)).toHaveText(mode);
      await expectSignedIn(pageB, user);
      await expect(cartCount(pageB)).toHaveText('1');
      const pageC = mode === 'session' ? await context.newPage() : null;
      if (pageC) {
        await gotoHydrated(pageC, '/products/apple');
        await expectSignedIn(pageC, user);
      }

      // Sign out in tab A.
      await pageA.bringToFront();
      await markDocument(pageB);
      await logoutButton(pageA).click();
      await expectSignedOut(pageA);
      await expect.soft(cartCount(pageA), 'tab A: the cart count after signing out').toHaveText('0');

      if (mode === 'token') {
        // At once, in the background tab: no reload, no focus (the storage event).
        await expectSignedOut(pageB);
        await expect.soft(cartCount(pageB), 'tab B: the cart count after signing out').toHaveText('0');
        expect(await documentMarks(pageB), 'tab B: same document, never focused').toEqual({ sameDocument: true, focusEvents: 0 });
        await expect(authMode(pageB)).toHaveText('token');
      } else {
        // When tab B is next focused.
        await pageB.bringToFront();
        await pageB.evaluate(() => window.dispatchEvent(new Event('focus')));
        await expectSignedOut(pageB);
        await expect.soft(cartCount(pageB), 'tab B: the cart count after signing out').toHaveText('0');
        expect((await documentMarks(pageB)).sameDocument, 'tab B: same document').toBe(true);
        // When tab C is next navigated (a link in the page).
        await headerCartLink(pageC!).click();
        await expect(pageC!).toHaveURL(/\/cart$/);
        await expectSignedOut(pageC!);
        await expect.soft(cartCount(pageC!), 'tab C: the cart count after signing out').toHaveText('0');
      }
    });

    test('a wrong password is refused on /login', async ({ page, request }) => {
      const user = newUser('Wrong');
      await apiRegister(request, user);
      await startInMode(page, mode);
      await gotoHydrated(page, '/login?next=%2Fcart');

      await submitLogin(page, user.email, 'wrong horse battery');
      await expect(formError(page)).toBeVisible();
      await expect(formError(page)).not.toBeEmpty();
      await expect(page).toHaveURL((url) => url.pathname === '/login');
      await expectSignedOut(page);
      await expect(authMode(page)).toHaveText(mode);
      expect(await storedToken(page), 'no token after a refused sign-in').toBeNull();
      const wrongPasswordMessage = await formError(page).textContent();

      // An unknown email is told exactly the same.
      await submitLogin(page, `nobody-${user.email}`, user.password);
      await expect(page).toHaveURL((url) => url.pathname === '/login');
      await expect(formError(page)).toHaveText(wrongPasswordMessage ?? '');
      await expectSignedOut(page);

      // The form still works with the right password.
      await submitLogin(page, user.email, user.password);
      await expect(page).toHaveURL(/\/cart$/);
      await expectSignedIn(page, user);
    });

    test('/auth explains the mode, with the credential in bytes', async ({ page, context }) => {
      const user = newUser('Explain');
      await startInMode(page, mode);
      await registerThroughPage(page, user, '/auth');
      await expect(page.getByTestId('auth-page-mode')).toHaveText(mode);

      const readCookieBytes = async () => {
        await expect(page.getByTestId('auth-page-mode')).toHaveText('session');
        await expect(page.getByTestId('cookie-bytes')).toHaveText(/\d+ bytes/);
        return firstNumber(await page.getByTestId('cookie-bytes').textContent());
      };
      const readToken = async () => {
        await expect(page.getByTestId('auth-page-mode')).toHaveText('token');
        const token = await storedToken(page);
        expect(token).toMatch(JWT);
        await expect(page.getByTestId('token-value')).toHaveText(token!);
        const claimsBox = page.getByTestId('token-claims');
        for (const claim of ['sub', 'iat', 'exp', 'jti']) await expect(claimsBox).toContainText(`"${claim}"`);
        const claimsText = (await claimsBox.textContent()) ?? '';
        expect(claimsText, 'claims hold no email').not.toContain(user.email);
        expect(claimsText, 'claims hold no name').not.toContain(user.name);
        const claims = JSON.parse(claimsText);
        expect(Object.keys(claims).filter((key) => !['sub', 'iat', 'exp', 'jti', 'iss', 'aud', 'nbf'].includes(key)), 'other claims').toEqual([]);
        await expect(page.getByTestId('token-bytes')).toHaveText(/\d+ bytes/);
        const tokenBytes = firstNumber(await page.getByTestId('token-bytes').textContent());
        expect(tokenBytes, 'token-bytes counts "Authorization: Bearer <token>"').toBe('Authorization: Bearer '.length + token!.length);
        return tokenBytes;
      };

      // This mode, then the other one, switched on this page.
      let cookieBytes: number;
      let tokenBytes: number;
      if (mode === 'session') {
        cookieBytes = await readCookieBytes();
        await toggleMode(page);
        tokenBytes = await readToken();
      } else {
        tokenBytes = await readToken();
        await expect(page.getByTestId('cookie-bytes')).not.toHaveText(/\d+ bytes/);
        await toggleMode(page);
        cookieBytes = await readCookieBytes();
      }
      expect(cookieBytes).toBeGreaterThan(0);
      expect(tokenBytes, `token ${tokenBytes} bytes vs cookie ${cookieBytes} bytes`).toBeGreaterThan(cookieBytes);
      await expectSignedIn(page, user);
      await expectCredential(page, context, other(mode), `after switching to ${other(mode)} on /auth`);
    });
  });
}

test.describe('session mode without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('register, sign out, sign in and fill the cart with plain forms', async ({ page, context }) => {
    const user = newUser('NoJS');

    // Register.
    await page.goto('/');
    await expect(authMode(page)).toHaveText('session');
    await expectSignedOut(page);
    await page.goto('/register');
    await submitRegistration(page, user);
    await expect(page).toHaveURL((url) => url.pathname === '/');
    await expectSignedIn(page, user);
    await expect((await sessionCookie(context))?.httpOnly).toBe(true);

    // Sign out: the logout button is a plain form.
    await logoutButton(page).click();
    await expectSignedOut(page);
    await expect(cartCount(page)).toHaveText('0');

    // Sign in on /login, through the header's link.
    await page.goto('/products/apple');
    await loginLink(page).click();
    await expect(page).toHaveURL((url) => url.pathname === '/login');
    await submitLogin(page, user.email, user.password);
    await expect(page).toHaveURL(/\/products\/apple$/);
    await expectSignedIn(page, user);

    // Fill the cart.
    await addFromProductPage(page, 2);
    await expect(cartCount(page)).toHaveText('2');
    await expect(signedInAs(page)).toHaveText(user.name);
    await headerCartLink(page).click();
    await expect(page).toHaveURL(/\/cart$/);
    await expectCart(page, { apple: 2 }, '$1.78');
    await expectSignedIn(page, user);

    // Signed out the cart is a guest's (empty); signed in again it is back.
    await logoutButton(page).click();
    await expectSignedOut(page);
    await expect(cartCount(page)).toHaveText('0');
    await expect(page.getByTestId('cart-empty')).toBeVisible();
    await page.goto('/login?next=%2Fcart');
    await submitLogin(page, user.email, user.password);
    await expect(page).toHaveURL(/\/cart$/);
    await expectCart(page, { apple: 2 }, '$1.78');

    // A wrong password without JavaScript: the error, still on /login.
    await logoutButton(page).click();
    await expectSignedOut(page);
    await page.goto('/login');
    await submitLogin(page, user.email, 'wrong horse battery');
    await expect(formError(page)).toBeVisible();
    await expect(page).toHaveURL((url) => url.pathname === '/login');
    await expectSignedOut(page);
  });
});
