import { expect, test } from '@playwright/test';
import { addFromProductPage, cartCount, cartLine, errorMessage, expectAlert, expectCart, visit } from './helpers';

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

    test('81 apples (80 in stock) cannot be added', async ({ page }) => {
      await visit(page, '/products/apple', javaScriptEnabled);
      await expect(page.getByTestId('product-stock')).toContainText('80');

      await addFromProductPage(page, 81);
      await expectAlert(page);
      await expect(cartCount(page)).toHaveText('0');

      await visit(page, '/cart', javaScriptEnabled);
      await expect(cartLine(page, 'apple')).toHaveCount(0);
      await expect(page.getByTestId('cart-empty')).toBeVisible();
    });

    test('a refused add keeps the apples already in the cart', async ({ page }) => {
      await visit(page, '/products/apple', javaScriptEnabled);
      await addFromProductPage(page, 3);
      await expect(cartCount(page)).toHaveText('3');
      await expect(errorMessage(page)).toHaveCount(0);

      // 3 + 78 = 81 > 80 in stock.
      await addFromProductPage(page, 78);
      await expectAlert(page);
      await expect(cartCount(page)).toHaveText('3');

      await visit(page, '/cart', javaScriptEnabled);
      await expectCart(page, { apple: 3 }, '$2.67');
    });
  });
}
