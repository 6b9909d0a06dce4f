import { expect, test } from '@playwright/test';
import { addFromProductPage, cartCount, cartLine, expectCart, headerCartLink, productCard, showsMoney } from './helpers';

// JavaScript off: plain links and form posts, each answered by a server-rendered page.
// Never wait for hydration here.
test.use({ javaScriptEnabled: false });

test('a guest fills, keeps and empties a cart without JavaScript', async ({ page, context }) => {
  // Catalogue: the fruit category holds both Bananas and Apples on one page.
  await page.goto('/');
  await expect(cartCount(page)).toHaveText('0');
  await page.getByTestId('category-filter').locator('a[href*="category=fruit"]').click();
  await expect(page).toHaveURL(/[?&]category=fruit(&|$)/);

  // Add one banana from its card: the post redirects back to the same catalogue page.
  await productCard(page, 'banana').getByTestId('add-to-cart').click();
  await expect(cartCount(page)).toHaveText('1');
  await expect(page).toHaveURL(/[?&]category=fruit(&|$)/);

  // Through the Apples card link to its product page.
  await productCard(page, 'apple').locator('a[href="/products/apple"]').first().click();
  await expect(page).toHaveURL(/\/products\/apple$/);
  await expect(page.getByTestId('product-name')).toHaveText('Apples');
  await expect(page.getByTestId('product-price')).toHaveText(showsMoney('$0.89'));
  await expect(cartCount(page)).toHaveText('1');

  // Three apples: the post redirects back to the product page.
  await expect(page.getByTestId('quantity-input')).toHaveValue('1');
  await addFromProductPage(page, 3);
  await expect(cartCount(page)).toHaveText('4');
  await expect(page).toHaveURL(/\/products\/apple(\?.*)?$/);

  // The cart, through the header link.
  await expect(headerCartLink(page)).toHaveAccessibleName(/Cart/);
  await headerCartLink(page).click();
  await expect(page).toHaveURL(/\/cart$/);
  await expectCart(page, { banana: 1, apple: 3 }, '$3.96');

  // A full reload keeps it.
  await page.reload();
  await expectCart(page, { banana: 1, apple: 3 }, '$3.96');
  await expect(cartCount(page)).toHaveText('4');

  // So does a new tab of the same browser.
  const tab = await context.newPage();
  await tab.goto('/cart');
  await expectCart(tab, { banana: 1, apple: 3 }, '$3.96');
  await expect(cartCount(tab)).toHaveText('4');
  await tab.close();

  // And history moves.
  await page.goBack();
  await expect(page).toHaveURL(/\/products\/apple(\?.*)?$/);
  await expect(cartCount(page)).toHaveText('4');
  await page.goForward();
  await expect(page).toHaveURL(/\/cart$/);
  await expect(cartCount(page)).toHaveText('4');
  await expectCart(page, { banana: 1, apple: 3 }, '$3.96');

  // Two apples instead of three.
  await cartLine(page, 'apple').getByTestId('line-quantity').fill('2');
  await cartLine(page, 'apple').getByTestId('line-update').click();
  await expectCart(page, { banana: 1, apple: 2 }, '$3.07');
  await expect(cartCount(page)).toHaveText('3');

  // No bananas.
  await cartLine(page, 'banana').getByTestId('line-remove').click();
  await expect(cartLine(page, 'banana')).toHaveCount(0);
  await expectCart(page, { apple: 2 }, '$1.78');
  await expect(cartCount(page)).toHaveText('2');

  // Nothing.
  await cartLine(page, 'apple').getByTestId('line-remove').click();
  await expect(page.getByTestId('cart-line')).toHaveCount(0);
  await expect(page.getByTestId('cart-empty')).toBeVisible();
  await expect(cartCount(page)).toHaveText('0');
});
