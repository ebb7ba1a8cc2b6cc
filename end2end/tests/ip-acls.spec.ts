import { test, expect } from './fixtures';
import { ApiKeysPage, unique, waitForHydration } from './api-keys-page';

test.describe('Settings > IP ACLs', () => {
  test('create an ACL, fix a bad line, use it, and delete it once unused', async ({ page, request }) => {
    // The menu leads here, under API Keys.
    await page.goto('/settings/api-keys');
    await waitForHydration(page);
    await page.getByRole('navigation', { name: 'Main menu' }).getByRole('link', { name: 'IP ACLs' }).click();
    await expect(page).toHaveURL(/\/settings\/ip-acls$/);
    await expect(page.getByRole('heading', { level: 1, name: 'IP ACLs' })).toBeVisible();
    const table = page.getByRole('table', { name: 'IP ACLs' });
    const aclRow = (name: string) =>
      table.getByRole('row').filter({ has: page.getByRole('rowheader', { name, exact: true }) });

    // A bad line is refused, and the message names it.
    const aclName = unique('Office');
    await page.getByRole('button', { name: 'Add IP ACL' }).click();
    const add = page.getByRole('dialog', { name: 'Add IP ACL' });
    await add.getByLabel('Name').fill(aclName);
    const entries = add.getByLabel('Entries');
    await entries.fill('127.0.0.2/32\n# the VPN\n10.0.0.300/24');
    await add.getByRole('button', { name: 'Add' }).click();
    await expect(entries).toHaveAccessibleDescription(/line 3: 10\.0\.0\.300\/24 is not an IPv4 or IPv6 address or CIDR/);
    await expect(entries).toHaveAttribute('aria-invalid', 'true');

    // Fixed; host bits are masked and the admin is told.
    await entries.fill('127.0.0.2/32\n# the VPN\n10.1.2.3/8');
    await add.getByRole('button', { name: 'Add' }).click();
    await expect(add).toBeHidden();
    await expect(page.getByRole('status')).toContainText('10.1.2.3/8 has host bits set; stored as 10.0.0.0/8');
    await expect(aclRow(aclName)).toContainText('127.0.0.2/32, 10.0.0.0/8');
    await expect(aclRow(aclName).getByRole('cell').nth(1)).toHaveText('0');

    // Use it for a new key: the API Keys drop-down shows it at once.
    const keys = new ApiKeysPage(page);
    await keys.goto();
    const keyName = unique('Office key');
    const token = await keys.createKey(keyName, aclName);
    await expect(keys.row(keyName).getByRole('cell', { name: aclName })).toBeVisible();
    // The API now refuses this token from 127.0.0.1, where this browser and test run.
    const refused = await request.get('/api/v1/whoami', { headers: { Authorization: `Bearer ${token}` } });
    expect(refused.status()).toBe(403);
    expect(await refused.json()).toMatchObject({ error: 'ip_not_allowed', ip: '127.0.0.1' });

    // Deleting the ACL while the key uses it is refused, naming the key.
    await page.goto('/settings/ip-acls');
    await waitForHydration(page);
    await expect(aclRow(aclName).getByRole('cell').nth(1)).toHaveText('1');
    await aclRow(aclName).getByRole('button', { name: 'Delete' }).click();
    const confirm = page.getByRole('dialog', { name: 'Delete IP ACL' });
    await expect(confirm).toContainText(aclName);
    await confirm.getByRole('button', { name: 'Confirm' }).click();
    await expect(confirm.getByRole('alert')).toContainText(`the API key “${keyName}”`);
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    await expect(aclRow(aclName)).toBeVisible();

    // Move the key to another ACL; the token works again from here.
    await keys.goto();
    await keys.row(keyName).getByRole('button', { name: 'Edit' }).click();
    const edit = page.getByRole('dialog', { name: 'Edit API Key' });
    await expect(edit.getByLabel('IP ACL').locator('option:checked')).toHaveText(aclName);
    await edit.getByLabel('IP ACL').selectOption({ label: 'Any address' });
    await edit.getByRole('button', { name: 'Submit' }).click();
    await expect(edit).toBeHidden();
    await expect(keys.row(keyName).getByRole('cell', { name: 'Any address' })).toBeVisible();
    const allowed = await request.get('/api/v1/whoami', { headers: { Authorization: `Bearer ${token}` } });
    expect(allowed.status()).toBe(200);
    // The use shows in the table: when, and from where.
    await page.reload();
    await waitForHydration(page);
    await expect(keys.row(keyName)).toContainText('from 127.0.0.1');

    // Now unused, the ACL can go.
    await page.goto('/settings/ip-acls');
    await waitForHydration(page);
    await aclRow(aclName).getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('dialog', { name: 'Delete IP ACL' }).getByRole('button', { name: 'Confirm' }).click();
    await expect(page.getByRole('dialog')).toBeHidden();
    await expect(aclRow(aclName)).toHaveCount(0);
    await expect(page.getByRole('status')).toHaveText(`Deleted the IP ACL “${aclName}”.`);
    await expect(page.getByRole('heading', { name: 'IP ACLs', level: 1 })).toBeFocused();
  });

  test('editing an ACL is prefilled and takes effect on the API at once', async ({ page, request }) => {
    await page.goto('/settings/ip-acls');
    await waitForHydration(page);
    const aclName = unique('Loopback');
    await page.getByRole('button', { name: 'Add IP ACL' }).click();
    const add = page.getByRole('dialog', { name: 'Add IP ACL' });
    await add.getByLabel('Name').fill(aclName);
    await add.getByLabel('Entries').fill('127.0.0.1');
    await add.getByRole('button', { name: 'Add' }).click();
    await expect(add).toBeHidden();

    const keys = new ApiKeysPage(page);
    await keys.goto();
    const token = await keys.createKey(unique('Loopback key'), aclName);
    const auth = { headers: { Authorization: `Bearer ${token}` } };
    expect((await request.get('/api/v1/whoami', auth)).status()).toBe(200);

    await page.goto('/settings/ip-acls');
    await waitForHydration(page);
    const row = page.getByRole('table', { name: 'IP ACLs' }).getByRole('row').filter({ hasText: aclName });
    await row.getByRole('button', { name: 'Edit' }).click();
    const edit = page.getByRole('dialog', { name: 'Edit IP ACL' });
    await expect(edit.getByLabel('Name')).toHaveValue(aclName);
    await expect(edit.getByLabel('Entries')).toHaveValue('127.0.0.1/32');
    await edit.getByLabel('Entries').fill('192.0.2.0/24');
    await edit.getByRole('button', { name: 'Submit' }).click();
    await expect(edit).toBeHidden();
    expect((await request.get('/api/v1/whoami', auth)).status()).toBe(403);
  });

  test('a paste too large to send is refused in the dialog, and nothing is saved', async ({ page }) => {
    await page.goto('/settings/ip-acls');
    await waitForHydration(page);
    const aclName = unique('Pasted');
    await page.getByRole('button', { name: 'Add IP ACL' }).click();
    const add = page.getByRole('dialog', { name: 'Add IP ACL' });
    await add.getByLabel('Name').fill(aclName);
    // About 2 MiB of valid, distinct addresses.
    const paste = Array.from({ length: 200_000 }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`).join('\n');
    // Set as a paste sets it: fill() times out on 2 MiB of text.
    await add.getByLabel('Entries').evaluate((area, text) => {
      (area as HTMLTextAreaElement).value = text;
    }, paste);
    await add.getByRole('button', { name: 'Add' }).click();
    await expect(add.getByRole('alert')).toHaveText('This form is too large to send: at most 64 KiB.');
    await add.getByRole('button', { name: 'Cancel' }).click();
    await expect(page.getByRole('table', { name: 'IP ACLs' })).not.toContainText(aclName);
  });
});
