import { expect, test } from '@playwright/test';
import { addFromProductPage, cartCount, cartLine, errorMessage, expectAlert, expectCart, visit } from './helpers';

// Other tests place orders on the same server, so stock is read when the test runs, not assumed.
async function appleStock(request: import('@playwright/test').APIRequestContext): Promise<number> {
  const response = await request.get('/api/v1/products/apple');
  expect(response.status()).toBe(200);
  return (await response.json()).stock;
}

// A refused change shows an alert (role "alert") and leaves the cart as it was.
// Without JavaScript the form post redirects back to the page, which shows the same alert.

for (const javaScriptEnabled of [true, false]) {
  test.describe(`refused changes, JavaScript ${javaScriptEnabled ? 'on' : 'off'}`, () => {
    test.use({ javaScriptEnabled });

    test('Saffron, out of stock, cannot be added', async ({ page }) => {
      await visit(page, '/products/saffron', javaScriptEnabled);
      await expect(page.getByTestId('product-stock')).toContainText(/out of stock/i);
      await expect(errorMessage(page)).toHaveCount(0);
      // A shop does not offer what it cannot sell: the button is there, but disabled.
      // (The server's own refusal, a 409, is covered by the Rust tests.)
      await expect(page.getByTestId('add-to-cart')).toBeDisabled();
      await expect(page.getByTestId('add-to-cart')).toContainText(/out of stock/i);

      await visit(page, '/cart', javaScriptEnabled);
      await expect(page.getByTestId('cart-empty')).toBeVisible();
      await expect(cartCount(page)).toHaveText('0');
    });

    test('one more apple than in stock cannot be added', async ({ page, request }) => {
      await visit(page, '/products/apple', javaScriptEnabled);
      const stock = await appleStock(request);
      await expect(page.getByTestId('product-stock')).toContainText(/\d+ in stock/);

      await addFromProductPage(page, stock + 1);
      await expectAlert(page);
      await expect(cartCount(page)).toHaveText('0');

      await visit(page, '/cart', javaScriptEnabled);
      await expect(cartLine(page, 'apple')).toHaveCount(0);
      await expect(page.getByTestId('cart-empty')).toBeVisible();
    });

    test('a refused add keeps the apples already in the cart', async ({ page, request }) => {
      await visit(page, '/products/apple', javaScriptEnabled);
      await addFromProductPage(page, 3);
      await expect(cartCount(page)).toHaveText('3');
      await expect(errorMessage(page)).toHaveCount(0);

      // 3 + (stock - 2) is one more than in stock.
      await addFromProductPage(page, (await appleStock(request)) - 2);
      await expectAlert(page);
      await expect(cartCount(page)).toHaveText('3');

      await visit(page, '/cart', javaScriptEnabled);
      await expectCart(page, { apple: 3 }, '$2.67');
    });
  });
}
