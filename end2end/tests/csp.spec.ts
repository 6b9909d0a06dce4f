import { expect, test, type Page } from '@playwright/test';
import { addFromProductPage, cartCount, visit } from './helpers';

// The page's Content-Security-Policy allows scripts from the site itself and inline scripts
// that carry this answer's nonce, nothing else (no 'unsafe-inline'). Leptos must still hydrate
// and stream under it, and a script injected without the nonce must not run.

declare global {
  interface Window {
    __violations: string[];
    __injected?: number;
  }
}

async function recordViolations(page: Page): Promise<void> {
  await page.addInitScript(() => {
    window.__violations = [];
    document.addEventListener('securitypolicyviolation', (event) => {
      window.__violations.push(`${event.violatedDirective} ${event.blockedURI}`);
    });
  });
}

const violations = (page: Page) => page.evaluate(() => window.__violations);

test('every page hydrates under the script policy, with a fresh nonce each time', async ({ page }) => {
  await recordViolations(page);
  const nonces = new Set<string>();
  for (const path of ['/', '/products/banana', '/cart', '/login', '/register', '/auth', '/no-such-page']) {
    const response = await visit(page, path, true);
    const policy = response?.headers()['content-security-policy'] ?? '';
    expect(policy, path).toMatch(/script-src 'self' 'nonce-[A-Za-z0-9_-]{16,}' 'wasm-unsafe-eval'/);
    expect(policy, path).not.toContain('unsafe-inline');
    expect(policy, path).toContain("object-src 'none'");
    const nonce = /'nonce-([^']+)'/.exec(policy)![1];
    nonces.add(nonce);
    // Every inline script Leptos wrote carries the nonce (the browser hides it from the DOM
    // attribute once it has checked it, but keeps it in the `nonce` property).
    const scripts = await page.evaluate(() =>
      Array.from(document.querySelectorAll('script')).map((s) => ({ src: s.src, nonce: s.nonce })),
    );
    for (const script of scripts) {
      if (!script.src) expect(script.nonce, `${path}: an inline script without the nonce`).toBe(nonce);
    }
    expect(await violations(page), path).toEqual([]);
  }
  expect(nonces.size, 'one nonce per answer').toBe(7);

  // Client-side navigation and a server call after hydration work under the policy too.
  await visit(page, '/products/banana', true);
  await addFromProductPage(page, 1);
  await expect(cartCount(page)).toHaveText('1');
  await page.locator('a[href="/cart"]').first().click();
  await expect(page.getByTestId('cart-line')).toHaveCount(1);
  expect(await violations(page)).toEqual([]);
});

test('a script injected without the nonce does not run', async ({ page }) => {
  await recordViolations(page);
  await visit(page, '/', true);
  await page.evaluate(() => {
    const script = document.createElement('script');
    script.textContent = 'window.__injected = 1;';
    document.body.append(script);
  });
  await expect.poll(() => violations(page)).toContainEqual(expect.stringMatching(/^script-src/));
  expect(await page.evaluate(() => window.__injected)).toBeUndefined();
});
