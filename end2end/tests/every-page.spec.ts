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
  // axe takes seconds a page on the phone's emulation: seven pages and five dialogs.
  test.setTimeout(180_000);
  const pages = await consolePages(page);
  for (const path of pages) {
    await page.goto(path);
    await waitForHydration(page);
    expect(await violations(page), path).toEqual([]);
  }
  // A dialog on each page that opens one: forms, and a confirmation.
  const keyPage = pages[2];
  const dialogs: [string, string, string][] = [
    ['/settings/api-keys', 'Add API Key', 'Add API Key'],
    [keyPage, 'Restrict to what it uses', 'Restrict to what it uses'],
    ['/settings/ip-acls', 'Add IP ACL', 'Add IP ACL'],
    ['/settings/team', 'Invite Admin', 'Invite Admin'],
  ];
  for (const [path, button, title] of dialogs) {
    await page.goto(path);
    await waitForHydration(page);
    await page.getByRole('button', { name: button, exact: true }).click();
    await expect(page.getByRole('dialog', { name: title })).toBeVisible();
    expect(await violations(page), title).toEqual([]);
  }
  const keys = new ApiKeysPage(page);
  await keys.goto();
  await page.getByRole('row').filter({ hasText: 'Every page' }).first().getByRole('button', { name: 'Delete' }).click();
  await expect(page.getByRole('dialog', { name: 'Delete API Key' })).toBeVisible();
  expect(await violations(page), 'Delete API Key').toEqual([]);
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
