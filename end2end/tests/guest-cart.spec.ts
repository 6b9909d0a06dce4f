import { expect, test } from '@playwright/test';
import {
  addFromProductPage,
  cartCount,
  cartLine,
  expectCart,
  gotoHydrated,
  headerCartLink,
  productCard,
  showsMoney,
  waitHydrated,
  watchConsole,
} from './helpers';

// JavaScript on: the hydrated app. Each test is a fresh guest with an empty cart.

test('a guest fills, keeps and empties a cart', async ({ page, context, request }) => {
  const consoleWatch = watchConsole(context);
  const fruit = await request.get('/api/v1/products?category=fruit&per_page=100');
  const fruitSlugs: string[] = (await fruit.json()).items.map((product: { slug: string }) => product.slug);

  // Catalogue: the fruit category holds both Bananas and Apples on one page.
  await gotoHydrated(page, '/');
  await expect(cartCount(page)).toHaveText('0');
  await page.getByTestId('category-filter').locator('a[href*="category=fruit"]').click();
  await expect(page).toHaveURL(/[?&]category=fruit(&|$)/);
  // The new listing replaces the old one in place: click only once it has.
  await expect(async () => {
    const shown = await page.getByTestId('product-card').evaluateAll((cards) => cards.map((card) => card.getAttribute('data-product-slug')));
    expect(shown.length).toBeGreaterThan(0);
    expect(shown.filter((slug) => !fruitSlugs.includes(slug ?? '')), 'cards outside the fruit category').toEqual([]);
  }).toPass();

  // Add one banana from its card.
  await productCard(page, 'banana').getByTestId('add-to-cart').click();
  await expect(cartCount(page)).toHaveText('1');

  // Through the Apples card link to its product page, without a full page load.
  await page.evaluate(() => ((window as unknown as { __noReload?: boolean }).__noReload = true));
  await productCard(page, 'apple').locator('a[href="/products/apple"]').first().click();
  await expect(page).toHaveURL(/\/products\/apple$/);
  await expect(page.getByTestId('product-name')).toHaveText('Apples');
  await expect(page.getByTestId('product-price')).toHaveText(showsMoney('$0.89'));
  expect(await page.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload), 'client-side navigation').toBe(true);
  await expect(cartCount(page)).toHaveText('1');

  // Three apples.
  await expect(page.getByTestId('quantity-input')).toHaveValue('1');
  await addFromProductPage(page, 3);
  await expect(cartCount(page)).toHaveText('4');

  // The cart, through the header link.
  await expect(headerCartLink(page)).toHaveAccessibleName(/Cart/);
  await headerCartLink(page).click();
  await expect(page).toHaveURL(/\/cart$/);
  await expectCart(page, { banana: 1, apple: 3 }, '$3.96');

  // A full reload keeps it.
  await page.reload();
  await waitHydrated(page);
  await expectCart(page, { banana: 1, apple: 3 }, '$3.96');
  await expect(cartCount(page)).toHaveText('4');

  // So does a new tab of the same browser.
  const tab = await context.newPage();
  await gotoHydrated(tab, '/cart');
  await expectCart(tab, { banana: 1, apple: 3 }, '$3.96');
  await expect(cartCount(tab)).toHaveText('4');
  await tab.close();

  // And history moves.
  await page.goBack();
  await expect(page).toHaveURL(/\/products\/apple$/);
  await waitHydrated(page);
  await expect(cartCount(page)).toHaveText('4');
  await page.goForward();
  await expect(page).toHaveURL(/\/cart$/);
  await waitHydrated(page);
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

  expect(consoleWatch.hydrationProblems(), `console messages about hydration:\n${consoleWatch.hydrationProblems().join('\n')}`).toEqual([]);
});

test('the main pages hydrate without hydration warnings', async ({ page, context }) => {
  const consoleWatch = watchConsole(context);

  for (const url of ['/', '/?category=fruit&sort=price_asc', '/products/banana', '/cart', '/no-such-page']) {
    await gotoHydrated(page, url);
  }
  // And with something in the cart, whose count is rendered on the server and hydrated.
  await gotoHydrated(page, '/products/banana');
  await page.getByTestId('add-to-cart').click();
  await expect(cartCount(page)).toHaveText('1');
  await gotoHydrated(page, '/cart');
  await expect(cartLine(page, 'banana')).toHaveCount(1);

  expect(consoleWatch.hydrationProblems(), `console messages about hydration:\n${consoleWatch.hydrationProblems().join('\n')}`).toEqual([]);
});
