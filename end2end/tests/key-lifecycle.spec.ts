import { test, expect } from './fixtures';
import type { APIRequestContext } from '@playwright/test';
import { ApiKeysPage, createKeysDirectly, unique, waitForHydration } from './api-keys-page';

/** `GET /api/v1/whoami` with a token: the status and the JSON answer. */
async function whoami(request: APIRequestContext, token: string) {
  const answer = await request.get('/api/v1/whoami', { headers: { Authorization: `Bearer ${token}` } });
  return { status: answer.status(), body: await answer.json() };
}

test.describe('Keys that live and die safely', () => {
  test('roll a key: both tokens work during the grace, and rolling again ends the older one', async ({ page, request }) => {
    const keys = new ApiKeysPage(page);
    await keys.goto();
    const name = unique('Rolling');
    const first = await keys.createKey(name);

    await keys.row(name).getByRole('button', { name: 'Roll' }).click();
    const roll = page.getByRole('dialog', { name: 'Roll API Key' });
    const when = roll.getByLabel('Old token stops working');
    await expect(when).toBeFocused();
    await expect(when.locator('option:checked')).toHaveText('In 24 hours');
    await expect(when.getByRole('option')).toHaveText(['Now', 'In 1 hour', 'In 24 hours', 'In 7 days']);
    await roll.getByRole('button', { name: 'Roll' }).click();

    const rolled = page.getByRole('dialog', { name: 'API key was rolled successfully' });
    await expect(rolled).toBeVisible();
    const second = await rolled.getByRole('textbox', { name: 'API key' }).inputValue();
    expect(second).toMatch(/^tp_[0-9A-Za-z]{49}$/);
    expect(second).not.toBe(first);
    await rolled.getByRole('button', { name: 'Copy' }).click();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(second);
    await rolled.getByRole('button', { name: 'Close' }).click();
    await expect(page.getByRole('dialog')).toBeHidden();

    // Both tokens work; the row says until when the old one does; the eye shows the new one.
    expect((await whoami(request, first)).status).toBe(200);
    expect((await whoami(request, second)).status).toBe(200);
    const row = keys.row(name);
    await expect(row).toContainText(/Old token stops working \d{4}-\d\d-\d\d \d\d:\d\d UTC/);
    await row.getByRole('button', { name: 'Show API key contents' }).click();
    await expect(row).toContainText(second);

    // Rolling again: the dialog warns first, then "Now" ends both older tokens at once.
    await row.getByRole('button', { name: 'Roll' }).click();
    await expect(roll).toContainText('rolling again stops it at once');
    await roll.getByLabel('Old token stops working').selectOption({ label: 'Now' });
    await roll.getByRole('button', { name: 'Roll' }).click();
    const third = await page
      .getByRole('dialog', { name: 'API key was rolled successfully' })
      .getByRole('textbox', { name: 'API key' })
      .inputValue();
    await page.getByRole('dialog').getByRole('button', { name: 'Close' }).click();
    for (const old of [first, second]) {
      expect(await whoami(request, old)).toMatchObject({ status: 401, body: { error: 'token_expired' } });
    }
    expect((await whoami(request, third)).status).toBe(200);
    await expect(keys.row(name)).not.toContainText('Old token stops working');
  });

  test('disable a key during an incident, then enable it with the same token', async ({ page, request }) => {
    const keys = new ApiKeysPage(page);
    await keys.goto();
    const name = unique('Incident');
    const token = await keys.createKey(name);
    const row = keys.row(name);
    await expect(row.getByRole('cell', { name: 'Active' })).toBeVisible();

    await row.getByRole('button', { name: 'Disable' }).click();
    await expect(page.getByRole('status').first()).toHaveText(`Disabled the API key “${name}”.`);
    await expect(row.getByRole('cell', { name: 'Disabled', exact: true })).toBeVisible();
    const enable = row.getByRole('button', { name: 'Enable' });
    await expect(enable).toBeFocused();
    expect(await whoami(request, token)).toMatchObject({ status: 401, body: { error: 'key_disabled' } });

    await enable.click();
    await expect(page.getByRole('status').first()).toHaveText(`Enabled the API key “${name}”.`);
    await expect(row.getByRole('button', { name: 'Disable' })).toBeFocused();
    expect((await whoami(request, token)).status).toBe(200);

    await page.goto('/settings/audit-log');
    await expect(page.getByRole('row').filter({ hasText: name }).first()).toContainText('Enabled API key');
  });

  test('set an expiry date: a date in the past is refused next to the field, a near one shows in Status', async ({ page, request }) => {
    const keys = new ApiKeysPage(page);
    await keys.goto();
    const name = unique('Temporary');
    const token = await keys.createKey(name);
    const expected = (await whoami(request, token)).body;
    expect(expected.expires_at).toBeNull();

    await keys.row(name).getByRole('button', { name: 'Edit' }).click();
    const edit = page.getByRole('dialog', { name: 'Edit API Key' });
    const expires = edit.getByLabel('Expires');
    await expect(expires.locator('option:checked')).toHaveText('Never');
    await expect(edit.getByLabel('Expiry date')).toHaveCount(0);
    await expires.selectOption({ label: 'On a date…' });
    const date = edit.getByLabel('Expiry date');
    await date.fill('2020-01-01');
    await edit.getByRole('button', { name: 'Submit' }).click();
    await expect(date).toHaveAttribute('aria-invalid', 'true');
    await expect(date).toHaveAccessibleDescription(/The expiry date is in the past/);

    const inTenDays = new Date(Date.now() + 10 * 24 * 3600 * 1000).toISOString().slice(0, 10);
    await date.fill(inTenDays);
    await edit.getByRole('button', { name: 'Submit' }).click();
    await expect(edit).toBeHidden();
    // Whole calendar days to the date picked (it works through that day, UTC).
    await expect(keys.row(name)).toContainText('Expires in 10 days');
    const answer = await whoami(request, token);
    expect(answer.status).toBe(200);
    expect(answer.body.expires_at).toBe(`${new Date(Date.parse(inTenDays) + 24 * 3600 * 1000).toISOString().slice(0, 10)}T00:00:00Z`);
  });

  test('search and sort a table of 120 keys, and reload and Back keep the view', async ({ page }) => {
    const keys = new ApiKeysPage(page);
    await keys.goto();
    const fleet = unique('Fleet');
    await createKeysDirectly(page, Array.from({ length: 120 }, (_, i) => `${fleet} ${String(i).padStart(3, '0')}`));
    await page.reload();
    await waitForHydration(page);

    const search = page.getByRole('searchbox', { name: 'Search keys' });
    await search.fill(fleet.toUpperCase());
    await search.press('Enter');
    await expect(page).toHaveURL(new RegExp(`q=${encodeURIComponent(fleet.toUpperCase()).replace(/%20/g, '(%20|\\+)')}`));
    const rows = keys.table.getByRole('row');
    await expect(rows).toHaveCount(51); // 50 keys and the header
    await expect(rows.nth(1)).toContainText(`${fleet} 119`, { useInnerText: true });

    // Sort by Name, A to Z; then Next pages on in that order.
    const nameHeader = keys.table.getByRole('columnheader', { name: 'Name' });
    await nameHeader.getByRole('link').click();
    await expect(nameHeader).toHaveAttribute('aria-sort', 'ascending');
    await expect(rows.nth(1)).toContainText(`${fleet} 000`);
    const pager = page.getByRole('navigation', { name: 'API keys pages' });
    await pager.getByRole('link', { name: 'Next' }).click();
    await expect(rows.nth(1)).toContainText(`${fleet} 050`);
    await expect(page).toHaveURL(/sort=name&dir=asc&after=\d+/);

    // A reload keeps search, sort and page.
    await page.reload();
    await waitForHydration(page);
    await expect(search).toHaveValue(fleet.toUpperCase());
    await expect(nameHeader).toHaveAttribute('aria-sort', 'ascending');
    await expect(rows.nth(1)).toContainText(`${fleet} 050`);
    await pager.getByRole('link', { name: 'Next' }).click();
    await expect(rows).toHaveCount(21);
    await expect(pager.getByRole('link', { name: 'Next' })).toHaveCount(0);

    // Back walks the views in reverse.
    await page.goBack();
    await expect(rows.nth(1)).toContainText(`${fleet} 050`);
    await page.goBack();
    await expect(rows.nth(1)).toContainText(`${fleet} 000`);
    await page.goBack();
    await expect(nameHeader).not.toHaveAttribute('aria-sort', /./);
    await expect(rows.nth(1)).toContainText(`${fleet} 119`);

    // The Status filter: none of the fleet is disabled.
    await page.getByLabel('Status').selectOption({ label: 'Disabled' });
    await expect(page).toHaveURL(/status=disabled/);
    await expect(page.getByText('No API keys match this search or filter.')).toBeVisible();
  });
});
