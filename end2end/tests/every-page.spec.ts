import { test, expect } from './fixtures';
import AxeBuilder from '@axe-core/playwright';
import type { Page } from '@playwright/test';
import { ApiKeysPage, unique, waitForHydration } from './api-keys-page';

/**
 * Every console page, in the size of the project that runs this file (a
 * desktop window, and a phone): no serious accessibility failure (axe), with
 * a dialog open as well as closed; and, at 360 px, no page wider than the window.
 */

async function violations(page: Page): Promise<string[]> {
  const found = (await new AxeBuilder({ page }).analyze()).violations;
  return found
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
}

async function consolePages(page: Page): Promise<string[]> {
  const keys = new ApiKeysPage(page);
  await keys.goto();
  const name = unique('Every page');
  await keys.createKey(name);
  const keyPage = (await keys.row(name).getByRole('link', { name }).getAttribute('href'))!;
  return ['/', '/settings/api-keys', keyPage, '/settings/ip-acls', '/settings/audit-log', '/settings/team', '/settings/security'];
}

test('no console page has a serious accessibility failure, with or without a dialog open', async ({ page }) => {
  // axe takes seconds a page on the phone's emulation: seven pages and two dialogs.
  test.setTimeout(120_000);
  for (const path of await consolePages(page)) {
    await page.goto(path);
    await waitForHydration(page);
    expect(await violations(page), path).toEqual([]);
  }
  // A dialog of each kind: a form, and a confirmation.
  const keys = new ApiKeysPage(page);
  await keys.goto();
  await keys.addButton.click();
  await expect(page.getByRole('dialog', { name: 'Add API Key' }).getByLabel('API Key Name')).toBeFocused();
  expect(await violations(page), 'Add API Key').toEqual([]);
  await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
  await page.goto('/settings/ip-acls');
  await waitForHydration(page);
  await page.getByRole('button', { name: 'Add IP ACL' }).click();
  await expect(page.getByRole('dialog', { name: 'Add IP ACL' })).toBeVisible();
  expect(await violations(page), 'Add IP ACL').toEqual([]);
});

test('at 360 px wide no console page scrolls sideways', async ({ page }) => {
  test.setTimeout(60_000);
  const pages = await consolePages(page);
  await page.setViewportSize({ width: 360, height: 740 });
  for (const path of pages) {
    await page.goto(path);
    await waitForHydration(page);
    const [scrollWidth, innerWidth] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
    expect(scrollWidth, `${path} is ${scrollWidth} px wide`).toBeLessThanOrEqual(innerWidth);
  }
});
