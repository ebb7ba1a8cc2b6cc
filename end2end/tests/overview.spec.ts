import { test, expect } from './fixtures';
import type { APIRequestContext, Page } from '@playwright/test';
import { ApiKeysPage, unique, waitForHydration } from './api-keys-page';

/** The Overview against keys made and used here (the run's database is shared, so figures are compared before and after). */

async function figure(page: Page, status: string): Promise<number> {
  const link = page.getByRole('region', { name: 'API keys' }).getByRole('link', { name: new RegExp(`^\\d+ ${status}$`) });
  return Number((await link.textContent())!.match(/\d+/)![0]);
}

async function use(request: APIRequestContext, token: string, times: number) {
  for (let i = 0; i < times; i++) {
    const answer = await request.get('/api/v1/whoami', { headers: { Authorization: `Bearer ${token}` } });
    expect(answer.status()).toBe(200);
  }
}

test('the Overview counts keys by status, each linking to the filtered table', async ({ page }) => {
  await page.goto('/');
  await waitForHydration(page);
  const before = { expiring: await figure(page, 'Expiring soon'), disabled: await figure(page, 'Disabled'), active: await figure(page, 'Active') };

  const keys = new ApiKeysPage(page);
  await keys.goto();
  const soon = unique('Soon over');
  await keys.createKey(soon);
  await keys.row(soon).getByRole('button', { name: 'Edit' }).click();
  const edit = page.getByRole('dialog', { name: 'Edit API Key' });
  await edit.getByLabel('Expires').selectOption({ label: 'On a date…' });
  const inFiveDays = new Date(Date.now() + 5 * 86_400_000).toISOString().slice(0, 10);
  await edit.getByLabel('Expiry date').fill(inFiveDays);
  await edit.getByRole('button', { name: 'Submit' }).click();
  await expect(edit).toBeHidden();
  const off = unique('Switched off');
  await keys.createKey(off);
  await keys.row(off).getByRole('button', { name: 'Disable' }).click();
  await expect(keys.row(off).getByRole('cell', { name: 'Disabled', exact: true })).toBeVisible();

  await page.getByRole('navigation', { name: 'Main menu' }).getByRole('link', { name: 'Overview' }).click();
  await expect(page.getByRole('heading', { name: 'Requests' })).toBeVisible();
  expect(await figure(page, 'Expiring soon')).toBe(before.expiring + 1);
  expect(await figure(page, 'Disabled')).toBe(before.disabled + 1);
  expect(await figure(page, 'Active')).toBe(before.active + 1);

  // Each figure's link: the table with that filter, the new key in it.
  await page.getByRole('region', { name: 'API keys' }).getByRole('link', { name: /Expiring soon$/ }).click();
  await expect(page).toHaveURL(/\/settings\/api-keys\?status=expiring$/);
  await expect(page.getByLabel('Status').locator('option:checked')).toHaveText('Expiring soon');
  await expect(keys.row(soon)).toBeVisible();
  await expect(keys.row(off)).toHaveCount(0);
  await page.goBack();
  await page.getByRole('region', { name: 'API keys' }).getByRole('link', { name: /Disabled$/ }).click();
  await expect(page).toHaveURL(/\/settings\/api-keys\?status=disabled$/);
  await expect(keys.row(off)).toBeVisible();
  await expect(keys.row(soon)).toHaveCount(0);
});

test('the Overview shows the requests, the busiest keys and the recent activity', async ({ page, request }) => {
  const keys = new ApiKeysPage(page);
  await keys.goto();
  const busiest = unique('Busiest');
  const runnerUp = unique('Runner-up');
  const busyToken = await keys.createKey(busiest);
  const otherToken = await keys.createKey(runnerUp);
  // More than any other test of the run uses a key.
  await use(request, busyToken, 400);
  await use(request, otherToken, 399);

  await page.goto('/');
  await waitForHydration(page);
  const busy = page.getByRole('region', { name: 'Busiest keys' });
  const items = busy.getByRole('listitem');
  await expect(items.nth(0)).toHaveText(`${busiest} — 400 requests`);
  await expect(items.nth(1)).toHaveText(`${runnerUp} — 399 requests`);
  // Today's bar has them too, and the same figures come as a table.
  const requests = page.getByRole('region', { name: 'Requests' });
  await requests.getByRole('button', { name: 'Show as table' }).click();
  const today = requests.getByRole('table', { name: 'Requests per day' }).getByRole('row').nth(1);
  const allowed = Number(await today.getByRole('cell').nth(0).textContent());
  expect(allowed).toBeGreaterThanOrEqual(799);
  await expect(requests.getByRole('img')).toHaveAttribute('aria-label', /Requests per day over the last 30 days: \d+ allowed/);
  // The bars the server drew, one per day, kept by hydration.
  await expect(requests.getByRole('img').locator('rect.bar.allowed')).toHaveCount(30);
  expect(await requests.getByRole('img').locator('rect.bar.allowed').last().evaluate((bar) => (bar as SVGGraphicsElement).getBBox().height)).toBeGreaterThan(0);

  const recent = page.getByRole('region', { name: 'Recent activity' });
  await expect(recent.getByRole('listitem').first()).toContainText(`Created API key ${runnerUp}`);
  await expect(recent.getByRole('listitem')).toHaveCount(5);

  await items.nth(0).getByRole('link', { name: busiest }).click();
  await expect(page.getByRole('heading', { level: 1, name: busiest })).toBeVisible();
  await page.goBack();
  await page.getByRole('link', { name: 'Open the Audit Log' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Audit Log' })).toBeVisible();
});

test('the Audit Log is searched by admin, action, key and dates, and the URL keeps the view', async ({ page }) => {
  const keys = new ApiKeysPage(page);
  await keys.goto();
  const name = unique('Audited');
  await keys.createKey(name);
  await keys.row(name).getByRole('button', { name: 'Delete' }).click();
  await page.getByRole('dialog', { name: 'Delete API Key' }).getByRole('button', { name: 'Confirm' }).click();
  await expect(keys.row(name)).toHaveCount(0);

  await page.goto('/settings/audit-log');
  await waitForHydration(page);
  const filters = page.getByRole('form', { name: 'Filter the audit log' });
  const rows = page.getByRole('table', { name: 'Audit log' }).getByRole('row');
  await filters.getByLabel('Key or ACL').fill(name.toUpperCase());
  await filters.getByRole('button', { name: 'Filter' }).click();
  await expect(rows).toHaveCount(3); // the header, created, deleted
  await expect(rows.nth(1)).toContainText('Deleted API key');
  await expect(rows.nth(2)).toContainText('Created API key');

  await filters.getByLabel('Action').selectOption({ label: 'Deleted API key' });
  await filters.getByLabel('Admin').selectOption('admin');
  const today = new Date().toISOString().slice(0, 10);
  await filters.getByLabel('From').fill(today);
  await filters.getByLabel('To').fill(today);
  await filters.getByRole('button', { name: 'Filter' }).click();
  await expect(page).toHaveURL(/action=api_key_deleted/);
  await expect(rows).toHaveCount(2);
  await expect(rows.nth(1)).toContainText(name);

  // Reload keeps the view, fields included.
  await page.reload();
  await waitForHydration(page);
  await expect(rows).toHaveCount(2);
  await expect(filters.getByLabel('Action').locator('option:checked')).toHaveText('Deleted API key');
  await expect(filters.getByLabel('Key or ACL')).toHaveValue(name.toUpperCase());
  await expect(filters.getByLabel('From')).toHaveValue(today);

  // A day before: nothing. Back returns to the view before.
  const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
  await filters.getByLabel('From').fill(yesterday);
  await filters.getByLabel('To').fill(yesterday);
  await filters.getByRole('button', { name: 'Filter' }).click();
  await expect(page.getByText('No entry matches these filters.')).toBeVisible();
  await page.goBack();
  await expect(rows).toHaveCount(2);
  await expect(filters.getByLabel('To')).toHaveValue(today);

  // The download takes what the filters select.
  const download = page.waitForEvent('download');
  await page.getByRole('link', { name: 'Download CSV' }).click();
  const file = await (await download).path();
  const text = require('fs').readFileSync(file, 'utf8') as string;
  const lines = text.split('\r\n').filter((l: string) => l.length > 0);
  expect(lines).toHaveLength(2);
  expect(lines[1]).toContain(name);

  // A bad filter says which.
  await filters.getByLabel('To').fill('');
  await page.goto(`/settings/audit-log?from=2026-12-09&to=2026-12-01`);
  await waitForHydration(page);
  await expect(page.getByRole('alert')).toContainText('To is before From');
  await page.getByRole('link', { name: 'Clear filters' }).click();
  await expect(page).toHaveURL(/\/settings\/audit-log$/);
});
