import { test, expect } from './fixtures';
import type { APIRequestContext, Locator, Page } from '@playwright/test';
import { ApiKeysPage, unique } from './api-keys-page';

/** `GET /api/v1/check?permission=…` with a token, as the TextPeak API's services ask. */
async function check(request: APIRequestContext, token: string, permission: string) {
  const answer = await request.get(`/api/v1/check?permission=${encodeURIComponent(permission)}`, {
    headers: { Authorization: `Bearer ${token}` },
  });
  return { status: answer.status(), body: await answer.json(), headers: answer.headers() };
}

/** Fills Add API Key's name, leaving the dialog open for the rest. */
async function startAdding(page: Page, name: string): Promise<Locator> {
  await page.getByRole('button', { name: 'Add API Key' }).click();
  const dialog = page.getByRole('dialog', { name: 'Add API Key' });
  await dialog.getByLabel('API Key Name').fill(name);
  return dialog;
}

/** Adds the key and returns its token, closing the success dialog. */
async function finishAdding(page: Page, dialog: Locator): Promise<string> {
  await dialog.getByRole('button', { name: 'Add' }).click();
  const created = page.getByRole('dialog', { name: 'API key was created successfully' });
  const token = await created.getByRole('textbox', { name: 'API key' }).inputValue();
  await created.getByRole('button', { name: 'Close' }).click();
  await expect(page.getByRole('dialog')).toBeHidden();
  return token;
}

test.describe('What a key may do and how fast', () => {
  test('a key restricted to SMS Write may send but not read numbers, until it is given full access', async ({ page, request }) => {
    const keys = new ApiKeysPage(page);
    await keys.goto();
    const name = unique('Sender');
    const dialog = await startAdding(page, name);
    const permissions = dialog.getByRole('group', { name: 'Permissions' });
    await expect(permissions.getByRole('radio', { name: 'Full access' })).toBeChecked();
    await expect(dialog.getByRole('radiogroup', { name: 'SMS' })).toHaveCount(0);
    await permissions.getByRole('radio', { name: 'Restricted' }).check();

    // Nothing chosen is refused next to the grid, not taken as full access.
    await dialog.getByRole('button', { name: 'Add' }).click();
    await expect(permissions).toHaveAccessibleDescription(/at least one permission/);
    for (const resource of ['SMS', 'Inbound messages', 'Phone numbers', 'Usage']) {
      await expect(dialog.getByRole('radiogroup', { name: resource }).getByRole('radio', { name: 'None' })).toBeChecked();
    }
    await expect(dialog.getByRole('radiogroup', { name: 'Usage' }).getByRole('radio', { name: 'Write' })).toHaveCount(0);
    await dialog.getByRole('radiogroup', { name: 'SMS' }).getByRole('radio', { name: 'Write' }).check();
    const token = await finishAdding(page, dialog);

    const cell = keys.row(name).getByRole('cell').filter({ hasText: 'Restricted' });
    await expect(cell).toHaveText(/Restricted: send SMS/);
    await expect(cell.locator('[title]')).toHaveAttribute('title', 'send SMS, read sent messages and delivery reports');
    expect((await check(request, token, 'sms:send')).status).toBe(200);
    const denied = await check(request, token, 'numbers:read');
    expect(denied.status).toBe(403);
    expect(denied.body).toMatchObject({ error: 'permission_denied', required: 'numbers:read' });

    await keys.row(name).getByRole('button', { name: 'Edit' }).click();
    const edit = page.getByRole('dialog', { name: 'Edit API Key' });
    await expect(edit.getByRole('radiogroup', { name: 'SMS' }).getByRole('radio', { name: 'Write' })).toBeChecked();
    await edit.getByRole('group', { name: 'Permissions' }).getByRole('radio', { name: 'Full access' }).check();
    await edit.getByRole('button', { name: 'Submit' }).click();
    await expect(edit).toBeHidden();
    await expect(keys.row(name)).toContainText('Full access');
    expect((await check(request, token, 'numbers:read')).status).toBe(200);
  });

  test('a limit of 5 per minute lets five through and tells the sixth when to come back', async ({ page, request }) => {
    const keys = new ApiKeysPage(page);
    await keys.goto();
    const name = unique('Limited');
    const token = await keys.createKey(name);
    await keys.row(name).getByRole('button', { name: 'Edit' }).click();
    const edit = page.getByRole('dialog', { name: 'Edit API Key' });
    const limit = edit.getByRole('group', { name: 'Rate limit' });
    await expect(limit.getByRole('radio', { name: 'No limit' })).toBeChecked();
    await limit.getByRole('radio', { name: 'Limited' }).check();
    const requests = edit.getByLabel('Requests');
    await requests.fill('0');
    await edit.getByLabel('Per', { exact: true }).selectOption({ label: 'Minute' });
    await edit.getByRole('button', { name: 'Submit' }).click();
    await expect(requests).toHaveAttribute('aria-invalid', 'true');
    await expect(requests).toHaveAccessibleDescription(/from 1 to 1,000,000/);
    await requests.fill('5');
    await edit.getByRole('button', { name: 'Submit' }).click();
    await expect(edit).toBeHidden();
    await expect(keys.row(name)).toContainText('5 per minute');

    for (let left = 4; left >= 0; left--) {
      const answer = await check(request, token, 'sms:send');
      expect(answer.status).toBe(200);
      expect(answer.headers['ratelimit-limit']).toBe('5');
      expect(answer.headers['ratelimit-remaining']).toBe(String(left));
    }
    const sixth = await check(request, token, 'sms:send');
    expect(sixth.status).toBe(429);
    expect(sixth.body.error).toBe('rate_limited');
    expect(Number(sixth.headers['retry-after'])).toBeGreaterThanOrEqual(1);

    // The key's page counts it as its own kind.
    await keys.row(name).getByRole('link', { name }).click();
    await expect(page.getByRole('heading', { level: 1, name })).toBeVisible();
    await expect(page.getByRole('img', { name: /5 allowed, 0 refused, 1 rate limited/ })).toBeVisible();
    await page.getByRole('button', { name: 'Show as table' }).click();
    const today = page.getByRole('table', { name: 'Requests per day' }).getByRole('row').nth(1);
    await expect(today.getByRole('cell')).toHaveText(['5', '0', '0', '1']);
  });

  test('Permissions used, then Restrict to what it uses: the permission left out is refused', async ({ page, request }) => {
    const keys = new ApiKeysPage(page);
    await keys.goto();
    const name = unique('Busy');
    const token = await keys.createKey(name);
    for (const permission of ['sms:send', 'sms:send', 'sms:read', 'numbers:read']) {
      expect((await check(request, token, permission)).status).toBe(200);
    }
    await keys.row(name).getByRole('link', { name }).click();
    const used = page.getByRole('table', { name: 'Permissions checked in the last 30 days' });
    await expect(used.getByRole('row', { name: /sms:send/ }).getByRole('cell').first()).toHaveText('2');
    await expect(used.getByRole('rowheader')).toHaveText(['sms:send', 'sms:read', 'numbers:read']);

    await page.getByRole('button', { name: 'Restrict to what it uses' }).click();
    const dialog = page.getByRole('dialog', { name: 'Restrict to what it uses' });
    for (const asked of ['sms:send', 'sms:read', 'numbers:read']) {
      await expect(dialog.getByRole('checkbox', { name: asked })).toBeChecked();
    }
    for (const never of ['inbound:read', 'numbers:write', 'usage:read']) {
      await expect(dialog.getByRole('checkbox', { name: never })).not.toBeChecked();
    }
    await dialog.getByRole('checkbox', { name: 'numbers:read' }).uncheck();
    await dialog.getByRole('button', { name: 'Restrict' }).click();
    await expect(dialog).toBeHidden();
    const details = page.getByRole('region', { name: 'Details' });
    await expect(details).toContainText('sms:send');
    await expect(details).not.toContainText('numbers:read');
    await expect(page.getByRole('button', { name: 'Restrict to what it uses' })).toHaveCount(0);

    expect((await check(request, token, 'sms:read')).status).toBe(200);
    const refused = await check(request, token, 'numbers:read');
    expect(refused.status).toBe(403);
    expect(refused.body.required).toBe('numbers:read');
  });

  test('a key no service has checked says there is nothing to restrict it to', async ({ page }) => {
    const keys = new ApiKeysPage(page);
    await keys.goto();
    const name = unique('Quiet');
    await keys.createKey(name);
    await keys.row(name).getByRole('link', { name }).click();
    await expect(page.getByText("No service checked a permission with this key's token in the last 30 days.")).toBeVisible();
    await page.getByRole('button', { name: 'Restrict to what it uses' }).click();
    const dialog = page.getByRole('dialog', { name: 'Restrict to what it uses' });
    await expect(dialog).toContainText('nothing to restrict it to');
    await expect(dialog.getByRole('checkbox')).toHaveCount(0);
    await expect(dialog.getByRole('button', { name: 'Restrict' })).toHaveCount(0);
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await expect(dialog).toBeHidden();
  });
});
