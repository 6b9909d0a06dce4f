import { expect, test } from '@playwright/test';
import {
  apiProducts,
  cardPrices,
  cardSlugs,
  cartCount,
  categoryOf,
  cents,
  dollars,
  productCard,
  productCards,
  sortBy,
  visit,
} from './helpers';

const PER_PAGE = 12;

for (const javaScriptEnabled of [true, false]) {
  test.describe(`catalogue, JavaScript ${javaScriptEnabled ? 'on' : 'off'}`, () => {
    test.use({ javaScriptEnabled });

    test('search finds Apples', async ({ page }) => {
      await visit(page, '/', javaScriptEnabled);
      await page.getByTestId('search-input').fill('apple');
      await page.getByRole('button', { name: 'Search', exact: true }).click();

      await expect(page).toHaveURL(/[?&]q=apple(&|$)/);
      await expect(productCard(page, 'apple')).toBeVisible();
      await expect(productCard(page, 'apple')).toContainText('Apples');
      await expect(page.getByTestId('search-input')).toHaveValue('apple');
    });

    test('the Fruit filter shows only fruit', async ({ page, request }) => {
      // Which products are fruit, from each product's own category (not from the filter under test).
      const all = await apiProducts(request, { per_page: 100 });
      const fruitSlugs = all.items.filter((product) => categoryOf(product) === 'fruit').map((product) => product.slug);
      expect(fruitSlugs).toEqual(expect.arrayContaining(['banana', 'apple']));

      await visit(page, '/', javaScriptEnabled);
      const fruitLink = page.getByTestId('category-filter').locator('a[href*="category=fruit"]');
      await expect(fruitLink).toContainText('Fruit');
      await fruitLink.click();

      await expect(page).toHaveURL(/[?&]category=fruit(&|$)/);
      await expect(productCard(page, 'banana')).toBeVisible();
      await expect(productCard(page, 'apple')).toBeVisible();
      await expect(productCards(page)).toHaveCount(Math.min(PER_PAGE, fruitSlugs.length));
      await expect(async () => {
        const shown = await cardSlugs(page);
        expect(shown.filter((slug) => !fruitSlugs.includes(slug)), 'cards outside the fruit category').toEqual([]);
      }).toPass();

      // "All" brings the other categories back.
      await page.getByTestId('category-filter').getByRole('link', { name: 'All' }).click();
      await expect(page).not.toHaveURL(/[?&]category=fruit(&|$)/);
      await expect(async () => {
        const shown = await cardSlugs(page);
        expect(shown.some((slug) => !fruitSlugs.includes(slug)), `cards after "All": ${shown.join(', ')}`).toBe(true);
      }).toPass();
    });

    test('sorting by price puts the cheapest first, and the dearest first the other way', async ({ page, request }) => {
      const cheapest = await apiProducts(request, { sort: 'price_asc', per_page: PER_PAGE });
      const dearest = await apiProducts(request, { sort: 'price_desc', per_page: PER_PAGE });

      await visit(page, '/', javaScriptEnabled);
      await sortBy(page, 'price_asc');
      await expect(page.locator('select[name="sort"]')).toHaveValue('price_asc');
      await expect.poll(() => cardPrices(page)).toEqual(cheapest.items.map((product) => dollars(product.price_cents)));
      const [first, second] = await cardPrices(page);
      expect(cents(first)).toBeLessThanOrEqual(cents(second));

      await sortBy(page, 'price_desc');
      await expect.poll(() => cardPrices(page)).toEqual(dearest.items.map((product) => dollars(product.price_cents)));
      const [top, next] = await cardPrices(page);
      expect(cents(top)).toBeGreaterThanOrEqual(cents(next));
    });

    test('pagination: page 2 shows other products than page 1', async ({ page }) => {
      await visit(page, '/', javaScriptEnabled);
      await expect(productCards(page)).toHaveCount(PER_PAGE);
      const firstPage = await cardSlugs(page);

      const pagination = page.getByTestId('pagination');
      await pagination.getByRole('link', { name: /^\s*(page\s*)?2\s*$/i }).click();
      await expect(page).toHaveURL(/[?&]page=2(&|$)/);
      await expect(async () => {
        const secondPage = await cardSlugs(page);
        expect(secondPage).toHaveLength(PER_PAGE);
        expect(secondPage.filter((slug) => firstPage.includes(slug)), 'products on both pages').toEqual([]);
      }).toPass();
      const secondPage = await cardSlugs(page);

      await pagination.getByRole('link', { name: /previous/i }).click();
      await expect(page).not.toHaveURL(/[?&]page=2(&|$)/);
      await expect.poll(() => cardSlugs(page)).toEqual(firstPage);

      await pagination.getByRole('link', { name: /next/i }).click();
      await expect(page).toHaveURL(/[?&]page=2(&|$)/);
      await expect.poll(() => cardSlugs(page)).toEqual(secondPage);
    });

    test('unknown pages answer 404 with a page', async ({ page }) => {
      for (const url of ['/no-such-page', '/products/no-such-thing']) {
        const response = await visit(page, url, javaScriptEnabled);
        expect(response?.status(), url).toBe(404);
        await expect(cartCount(page), `${url} has the header`).toBeVisible();
        await expect(page.locator('body'), `${url} says something`).not.toBeEmpty();
      }
    });
  });
}
