import { test, expect } from './fixtures';
import AxeBuilder from '@axe-core/playwright';
import { ApiKeysPage, FULL_ACCESS, unique, waitForHydration } from './api-keys-page';
import { startSecondServer } from './second-server';

test.describe('Settings > API Keys, as the documentation describes it', () => {
  test('1. the main menu leads to the API Keys page', async ({ page }) => {
    await page.goto('/');
    await waitForHydration(page);
    const menu = page.getByRole('navigation', { name: 'Main menu' });
    const settings = menu.getByRole('button', { name: 'Settings' });
    await expect(settings).toHaveAttribute('aria-expanded', 'false');
    await expect(menu.getByRole('link', { name: 'API Keys' })).toBeHidden();
    await settings.click();
    await expect(settings).toHaveAttribute('aria-expanded', 'true');
    await menu.getByRole('link', { name: 'API Keys' }).click();
    await expect(page).toHaveURL(/\/settings\/api-keys$/);
    await expect(page.getByRole('heading', { level: 1, name: 'API Keys' })).toBeVisible();
    await expect(page).toHaveTitle(/API Keys/);
    await expect(menu.getByRole('link', { name: 'API Keys' })).toHaveAttribute('aria-current', 'page');
  });

  test('2. Add API Key opens a modal dialog with a name, an IP ACL, Add and Cancel', async ({ page }) => {
    const keys = new ApiKeysPage(page);
    await keys.goto();
    await keys.addButton.click();
    const dialog = page.getByRole('dialog', { name: 'Add API Key' });
    await expect(dialog).toBeVisible();
    const name = dialog.getByLabel('API Key Name');
    await expect(name).toBeFocused();
    const acl = dialog.getByLabel('IP ACL');
    await expect(acl.getByRole('option', { name: 'Any address' })).toHaveCount(1);
    await expect(dialog.getByRole('button', { name: 'Add' })).toBeVisible();
    // A modal: the page behind it cannot be clicked.
    const clickedBehind = await keys.addButton.click({ timeout: 1000, trial: true }).then(() => true, () => false);
    expect(clickedBehind).toBe(false);
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await expect(dialog).toBeHidden();
    await expect(keys.addButton).toBeFocused();
  });

  test('3. Add creates the key and shows its token once, with Copy and Close', async ({ page }) => {
    const keys = new ApiKeysPage(page);
    await keys.goto();
    const name = unique('Billing');
    const token = await keys.addKey(name);
    expect(token).toMatch(/^tp_[0-9A-Za-z]{49}$/);
    const created = page.getByRole('dialog', { name: 'API key was created successfully' });
    const copy = created.getByRole('button', { name: 'Copy' });
    await expect(copy).toBeFocused();
    await copy.click();
    await expect(created.getByRole('button', { name: 'Copied' })).toBeVisible();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(token);
    await created.getByRole('button', { name: 'Close' }).click();
    await expect(page.getByRole('dialog')).toBeHidden();
    await expect(keys.addButton).toBeFocused();
    await expect(keys.row(name)).toBeVisible();
  });

  test('4. the table lists each key with eye, Edit and Delete', async ({ page }) => {
    const keys = new ApiKeysPage(page);
    await keys.goto();
    const name = unique('Reports');
    const token = await keys.createKey(name);
    const row = keys.row(name);
    await expect(row.getByRole('cell', { name: 'Any address' })).toBeVisible();
    await expect(row).toContainText(`tp_••••••••${token.slice(-4)}`);
    await expect(row).not.toContainText(token);
    for (const column of ['Name', 'IP ACL', 'API Key', 'Created']) {
      await expect(keys.table.getByRole('columnheader', { name: column, exact: true })).toBeVisible();
    }

    // The eye fetches the token only when clicked.
    await page.reload();
    await waitForHydration(page);
    expect(await page.content()).not.toContain(token);
    const show = row.getByRole('button', { name: 'Show API key contents' });
    await show.click();
    await expect(row).toContainText(token);
    await row.getByRole('button', { name: 'Hide API key contents' }).click();
    await expect(row).not.toContainText(token);
    await expect(row.getByRole('button', { name: 'Show API key contents' })).toBeVisible();

    // Edit: prefilled, Submit saves.
    await row.getByRole('button', { name: 'Edit' }).click();
    const edit = page.getByRole('dialog', { name: 'Edit API Key' });
    await expect(edit.getByLabel('Name')).toHaveValue(name);
    await expect(edit.getByLabel('IP ACL')).toHaveValue(/\d+/);
    await expect(edit.getByLabel('IP ACL').locator('option:checked')).toHaveText('Any address');
    const renamed = unique('Reports renamed');
    await edit.getByLabel('Name').fill(renamed);
    await edit.getByRole('button', { name: 'Submit' }).click();
    await expect(edit).toBeHidden();
    await expect(keys.row(renamed)).toBeVisible();
    await expect(keys.row(name)).toHaveCount(0);

    // Delete: Cancel keeps the key, Confirm removes it.
    await keys.row(renamed).getByRole('button', { name: 'Delete' }).click();
    const confirm = page.getByRole('dialog', { name: 'Delete API Key' });
    await expect(confirm).toContainText(renamed);
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    await expect(confirm).toBeHidden();
    await expect(keys.row(renamed)).toBeVisible();
    await keys.row(renamed).getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('dialog', { name: 'Delete API Key' }).getByRole('button', { name: 'Confirm' }).click();
    await expect(page.getByRole('dialog')).toBeHidden();
    await expect(keys.row(renamed)).toHaveCount(0);
    // The row's buttons are gone: the page says what happened and keeps focus
    // on the page rather than dropping it to the top of the document.
    await expect(page.getByRole('status')).toHaveText(`Deleted the API key “${renamed}”.`);
    await expect(page.getByRole('heading', { name: 'API Keys', level: 1 })).toBeFocused();
  });

  test('5. everything persists across a reload', async ({ page }) => {
    const keys = new ApiKeysPage(page);
    await keys.goto();
    const name = unique('Persistent');
    const token = await keys.createKey(name);
    await page.reload();
    await waitForHydration(page);
    await expect(keys.row(name)).toBeVisible();
    await expect(keys.row(name)).toContainText(token.slice(-4));
  });

  test('5. everything persists across a server restart, sessions included', async ({ page }) => {
    const keys = new ApiKeysPage(page);
    await keys.goto();
    const name = unique('Survivor');
    const token = await keys.createKey(name);
    // A new server process on the same database: nothing it shows can come from the first one's memory.
    const restarted = await startSecondServer();
    try {
      await page.goto(`${restarted.url}/settings/api-keys`);
      await waitForHydration(page);
      await expect(page).toHaveURL(/\/settings\/api-keys$/);
      await expect(keys.row(name)).toContainText(token.slice(-4));
      await keys.row(name).getByRole('button', { name: 'Show API key contents' }).click();
      await expect(keys.row(name)).toContainText(token);
    } finally {
      await restarted.stop();
    }
  });

  test('6. the token authenticates /api/v1/whoami until the key is deleted', async ({ page, request }) => {
    const keys = new ApiKeysPage(page);
    await keys.goto();
    const name = unique('Whoami');
    const token = await keys.createKey(name);
    const ok = await request.get('/api/v1/whoami', { headers: { Authorization: `Bearer ${token}` } });
    expect(ok.status()).toBe(200);
    expect(await ok.json()).toEqual({ name, permissions: FULL_ACCESS, expires_at: null });

    const missing = await request.get('/api/v1/whoami');
    expect(missing.status()).toBe(401);
    expect((await missing.json()).error).toBe('missing_token');
    // Its last character changed, never to itself (1 token in 62 ends in "x"): the checksum refuses it.
    const changed = token.endsWith('x') ? 'y' : 'x';
    const wrong = await request.get('/api/v1/whoami', {
      headers: { Authorization: `Bearer ${token.slice(0, -1)}${changed}` },
    });
    expect(wrong.status()).toBe(401);

    await keys.row(name).getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('dialog', { name: 'Delete API Key' }).getByRole('button', { name: 'Confirm' }).click();
    await expect(keys.row(name)).toHaveCount(0);
    const deleted = await request.get('/api/v1/whoami', { headers: { Authorization: `Bearer ${token}` } });
    expect(deleted.status()).toBe(401);
    expect((await deleted.json()).error).toBe('invalid_token');
  });
});

test.describe('Bad input gets a clear message and loses nothing', () => {
  test('names that are empty, too long or already used are refused next to the field', async ({ page }) => {
    const keys = new ApiKeysPage(page);
    await keys.goto();
    const taken = unique('Taken');
    await keys.createKey(taken);

    await keys.addButton.click();
    const dialog = page.getByRole('dialog', { name: 'Add API Key' });
    const name = dialog.getByLabel('API Key Name');
    const add = dialog.getByRole('button', { name: 'Add' });

    await name.fill('   ');
    await add.click();
    await expect(name).toHaveAccessibleDescription(/cannot be empty/);
    await expect(name).toHaveAttribute('aria-invalid', 'true');

    await name.fill('x'.repeat(101));
    await add.click();
    await expect(name).toHaveAccessibleDescription(/at most 100 characters/);

    await name.fill(taken.toUpperCase());
    await add.click();
    await expect(name).toHaveAccessibleDescription(/already has that name/);
    // The typed text stays, so nothing is lost.
    await expect(name).toHaveValue(taken.toUpperCase());
    await expect(dialog).toBeVisible();

    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await expect(keys.table.getByRole('rowheader', { name: taken, exact: false })).toHaveCount(1);
  });

  test('a name with markup is shown as text, never run', async ({ page }) => {
    const keys = new ApiKeysPage(page);
    await keys.goto();
    let alerted = false;
    page.on('dialog', async (d) => {
      alerted = true;
      await d.dismiss();
    });
    const name = `<img src=x onerror=alert(1)> ${unique('xss')}`;
    await keys.createKey(name);
    await page.reload();
    await waitForHydration(page);
    await expect(keys.row(name)).toBeVisible();
    await expect(keys.table.locator('img')).toHaveCount(0);
    expect(alerted).toBe(false);
  });

  test('editing or deleting a key deleted in another tab says it no longer exists and refreshes', async ({ page, context }) => {
    const keys = new ApiKeysPage(page);
    await keys.goto();
    const first = unique('Gone soon');
    const second = unique('Also gone');
    await keys.createKey(first);
    await keys.createKey(second);

    const other = new ApiKeysPage(await context.newPage());
    await other.goto();
    const deleteInOtherTab = async (name: string) => {
      await other.row(name).getByRole('button', { name: 'Delete' }).click();
      await other.page.getByRole('dialog', { name: 'Delete API Key' }).getByRole('button', { name: 'Confirm' }).click();
      await expect(other.row(name)).toHaveCount(0);
    };

    await deleteInOtherTab(first);
    await keys.row(first).getByRole('button', { name: 'Edit' }).click();
    const edit = page.getByRole('dialog', { name: 'Edit API Key' });
    await edit.getByRole('button', { name: 'Submit' }).click();
    await expect(edit.getByRole('alert')).toHaveText(/This API key no longer exists/);
    await expect(keys.row(first)).toHaveCount(0);
    await expect(keys.row(second)).toBeVisible();
    await edit.getByRole('button', { name: 'Cancel' }).click();
    // Focus does not go back to an Edit button: that row is gone.
    await expect(page.getByRole('heading', { name: 'API Keys', level: 1 })).toBeFocused();

    await deleteInOtherTab(second);
    await keys.row(second).getByRole('button', { name: 'Delete' }).click();
    const confirm = page.getByRole('dialog', { name: 'Delete API Key' });
    await confirm.getByRole('button', { name: 'Confirm' }).click();
    await expect(confirm.getByRole('alert')).toHaveText(/This API key no longer exists/);
    await expect(keys.row(second)).toHaveCount(0);
    // The Delete button that opened the dialog went with its row.
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    await expect(page.getByRole('heading', { name: 'API Keys', level: 1 })).toBeFocused();
  });
});

test.describe('Dialogs are real modals', () => {
  test('Escape closes each dialog and focus returns to its button', async ({ page }) => {
    const keys = new ApiKeysPage(page);
    await keys.goto();
    const name = unique('Escape');
    await keys.createKey(name);

    await keys.addButton.click();
    await expect(page.getByRole('dialog', { name: 'Add API Key' })).toBeVisible();
    await page.keyboard.press('Escape');
    await expect(page.getByRole('dialog')).toBeHidden();
    await expect(keys.addButton).toBeFocused();

    for (const [button, title] of [['Edit', 'Edit API Key'], ['Delete', 'Delete API Key']]) {
      const opener = keys.row(name).getByRole('button', { name: button });
      await opener.click();
      await expect(page.getByRole('dialog', { name: title })).toBeVisible();
      await page.keyboard.press('Escape');
      await expect(page.getByRole('dialog')).toBeHidden();
      await expect(opener).toBeFocused();
    }
    await expect(keys.row(name)).toBeVisible();
  });

  test('the page has no serious accessibility violations, with and without a dialog', async ({ page }) => {
    const keys = new ApiKeysPage(page);
    await keys.goto();
    await keys.createKey(unique('Axe'));
    const serious = async () =>
      (await new AxeBuilder({ page }).analyze()).violations
        .filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
    expect(await serious()).toEqual([]);
    await keys.addButton.click();
    await expect(page.getByRole('dialog', { name: 'Add API Key' })).toBeVisible();
    expect(await serious()).toEqual([]);
    await page.getByRole('dialog').getByRole('button', { name: 'Add' }).click();
    await expect(page.getByRole('dialog', { name: 'Add API Key' }).getByLabel('API Key Name')).toHaveAttribute('aria-invalid', 'true');
    expect(await serious()).toEqual([]);
  });
});
