import { test, expect } from './fixtures';
import type { Locator, Page } from '@playwright/test';
import { ApiKeysPage, unique, waitForHydration } from './api-keys-page';

/**
 * The documented flow on a phone (the `phone` project: 390 × 844, touch,
 * a mobile browser): the main menu behind **Menu**, then Settings > API Keys
 * and every row action, with nothing out of reach.
 */

/** Fails if the box is smaller than `min` CSS pixels either way (WCAG 2.5.8 asks 24). */
async function atLeast(target: Locator, min: number) {
  const box = (await target.boundingBox())!;
  expect(box.width, await target.textContent() ?? '').toBeGreaterThanOrEqual(min);
  expect(box.height, await target.textContent() ?? '').toBeGreaterThanOrEqual(min);
}

/** The dialog fits the window, and its buttons are on screen without scrolling the page behind. */
async function fitsTheScreen(page: Page, dialog: Locator) {
  const window = page.viewportSize()!;
  const box = (await dialog.boundingBox())!;
  expect(box.x).toBeGreaterThanOrEqual(0);
  expect(box.x + box.width).toBeLessThanOrEqual(window.width + 0.5);
  for (const button of await dialog.getByRole('button').all()) {
    await expect(button).toBeInViewport();
  }
}

test('on a phone: Menu, then Settings › API Keys, Add API Key, Copy, the eye, Roll, Disable and Delete', async ({ page, request }) => {
  await page.goto('/');
  await waitForHydration(page);
  const menuButton = page.getByRole('button', { name: 'Menu' });
  const menu = page.getByRole('navigation', { name: 'Main menu' });
  await expect(menuButton).toHaveAttribute('aria-expanded', 'false');
  await expect(menuButton).toHaveAttribute('aria-controls', 'main-menu');
  await expect(menu.getByRole('link', { name: 'Overview' })).toBeHidden();
  await atLeast(menuButton, 44);

  // Escape closes the menu and gives focus back to the button.
  await menuButton.tap();
  await expect(menuButton).toHaveAttribute('aria-expanded', 'true');
  await expect(menu.getByRole('link', { name: 'Overview' })).toBeVisible();
  await menu.getByRole('link', { name: 'Overview' }).focus();
  await page.keyboard.press('Escape');
  await expect(menuButton).toHaveAttribute('aria-expanded', 'false');
  await expect(menuButton).toBeFocused();
  await expect(menu.getByRole('link', { name: 'Overview' })).toBeHidden();

  // A choice closes it too.
  await menuButton.tap();
  await menu.getByRole('button', { name: 'Settings' }).tap();
  await menu.getByRole('link', { name: 'API Keys' }).tap();
  await expect(page).toHaveURL(/\/settings\/api-keys$/);
  await expect(menuButton).toHaveAttribute('aria-expanded', 'false');
  await expect(menuButton).toBeFocused();
  // Who is signed in, and Sign out, on one line.
  const signedIn = (await page.locator('.signed-in').boundingBox())!;
  const signOut = (await page.getByRole('button', { name: 'Sign out' }).boundingBox())!;
  expect(signedIn.height).toBeLessThan(30);
  expect(Math.abs(signedIn.y + signedIn.height / 2 - (signOut.y + signOut.height / 2))).toBeLessThan(8);

  const keys = new ApiKeysPage(page);
  await expect(keys.heading).toBeVisible();
  const name = unique('Pocket key with a long name');
  await keys.addButton.tap();
  const add = page.getByRole('dialog', { name: 'Add API Key' });
  await expect(add.getByLabel('API Key Name')).toBeFocused();
  await fitsTheScreen(page, add);
  await add.getByLabel('API Key Name').fill(name);
  await add.getByRole('button', { name: 'Add' }).tap();
  const created = page.getByRole('dialog', { name: 'API key was created successfully' });
  await expect(created).toBeVisible();
  await fitsTheScreen(page, created);
  const token = await created.getByRole('textbox', { name: 'API key' }).inputValue();
  await created.getByRole('button', { name: 'Copy' }).tap();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(token);
  await created.getByRole('button', { name: 'Close' }).tap();
  await expect(page.getByRole('dialog')).toBeHidden();

  const row = keys.row(name);
  await expect(row).toBeVisible();
  // The name wraps between words, not a letter at a time.
  const nameCell = row.getByRole('rowheader');
  const lineHeight = await nameCell.evaluate((cell) => parseFloat(getComputedStyle(cell).lineHeight) || 20);
  expect((await nameCell.boundingBox())!.height).toBeLessThan(lineHeight * 6);
  for (const label of ['Show API key contents', 'Roll', 'Edit', 'Disable', 'Delete']) {
    await atLeast(row.getByRole('button', { name: label }), 24);
  }

  await row.getByRole('button', { name: 'Show API key contents' }).tap();
  await expect(row).toContainText(token);

  await row.getByRole('button', { name: 'Roll' }).tap();
  const roll = page.getByRole('dialog', { name: 'Roll API Key' });
  await fitsTheScreen(page, roll);
  await roll.getByRole('button', { name: 'Roll' }).tap();
  const rolled = page.getByRole('dialog', { name: 'API key was rolled successfully' });
  const second = await rolled.getByRole('textbox', { name: 'API key' }).inputValue();
  expect(second).not.toBe(token);
  await rolled.getByRole('button', { name: 'Close' }).tap();

  await row.getByRole('button', { name: 'Disable' }).tap();
  await expect(row.getByRole('cell', { name: 'Disabled', exact: true })).toBeVisible();
  const answer = await request.get('/api/v1/whoami', { headers: { Authorization: `Bearer ${second}` } });
  expect(answer.status()).toBe(401);

  await row.getByRole('button', { name: 'Delete' }).tap();
  const confirm = page.getByRole('dialog', { name: 'Delete API Key' });
  await fitsTheScreen(page, confirm);
  await confirm.getByRole('button', { name: 'Confirm' }).tap();
  await expect(row).toHaveCount(0);
  // The page never scrolled sideways along the way.
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
});

test('on a phone the tallest form, Add API Key with Restricted permissions and a rate limit, stays on screen', async ({ page }) => {
  const keys = new ApiKeysPage(page);
  await keys.goto();
  await keys.addButton.tap();
  const dialog = page.getByRole('dialog', { name: 'Add API Key' });
  await dialog.getByRole('group', { name: 'Permissions' }).getByRole('radio', { name: 'Restricted' }).check();
  await dialog.getByRole('group', { name: 'Rate limit' }).getByRole('radio', { name: 'Limited' }).check();
  await expect(dialog.getByRole('radiogroup', { name: 'SMS' })).toBeVisible();
  const viewport = page.viewportSize()!;
  const box = (await dialog.boundingBox())!;
  expect(box.x).toBeGreaterThanOrEqual(0);
  expect(box.x + box.width).toBeLessThanOrEqual(viewport.width + 0.5);
  expect(box.y).toBeGreaterThanOrEqual(0);
  expect(box.y + box.height, 'the dialog is no taller than the window').toBeLessThanOrEqual(viewport.height + 0.5);
  // Taller content scrolls inside the dialog; the page behind stays put.
  const pageScroll = await page.evaluate(() => window.scrollY);
  const add = dialog.getByRole('button', { name: 'Add', exact: true });
  await add.scrollIntoViewIfNeeded();
  await expect(add).toBeInViewport();
  await atLeast(add, 24);
  expect(await page.evaluate(() => window.scrollY)).toBe(pageScroll);
});
