import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';
import { cartCount, cartLine, gotoHydrated } from './helpers';

type AxeResults = Awaited<ReturnType<AxeBuilder['analyze']>>;
type Violation = AxeResults['violations'][number];

/** Runs axe on the current page and returns the violations of impact serious or critical. */
async function seriousViolations(page: Page): Promise<Violation[]> {
  const results = await new AxeBuilder({ page }).analyze();
  return results.violations.filter((violation) => violation.impact === 'serious' || violation.impact === 'critical');
}

function describeViolations(violations: Violation[]): string {
  return violations
    .map((violation) => {
      const nodes = violation.nodes.map((node) => `    ${node.target.join(' ')}\n      ${node.failureSummary?.replace(/\n/g, '\n      ') ?? ''}`);
      return `[${violation.impact}] ${violation.id}: ${violation.help}\n  ${violation.helpUrl}\n${nodes.join('\n')}`;
    })
    .join('\n\n');
}

async function expectNoSeriousViolations(page: Page): Promise<void> {
  const violations = await seriousViolations(page);
  expect(violations.map((violation) => violation.id), `accessibility violations on ${page.url()}:\n${describeViolations(violations)}`).toEqual([]);
}

test('the home page has no serious accessibility violations', async ({ page }) => {
  await gotoHydrated(page, '/');
  await expectNoSeriousViolations(page);
});

test('a product page has no serious accessibility violations', async ({ page }) => {
  await gotoHydrated(page, '/products/banana');
  await expect(page.getByTestId('product-name')).toHaveText('Bananas');
  await expectNoSeriousViolations(page);
});

test('the cart with an item in it has no serious accessibility violations', async ({ page }) => {
  await gotoHydrated(page, '/products/banana');
  await page.getByTestId('add-to-cart').click();
  await expect(cartCount(page)).toHaveText('1');

  await gotoHydrated(page, '/cart');
  await expect(cartLine(page, 'banana')).toHaveCount(1);
  await expectNoSeriousViolations(page);
});
