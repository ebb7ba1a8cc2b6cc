import { test, expect } from './fixtures';
import { ApiKeysPage, unique, waitForHydration } from './api-keys-page';
import { ADMIN, BETA, SIGNED_OUT, stateFile } from './accounts';
import { signIn } from './sign-in-page';

test.describe('Signing in and out', () => {
  test.use({ storageState: SIGNED_OUT });

  test('a page visited without a session lands on the sign-in page, and signing in returns to it', async ({ page }) => {
    await page.goto('/settings/ip-acls');
    await expect(page).toHaveURL(/\/login\?next=%2Fsettings%2Fip-acls$/);
    await expect(page.getByRole('heading', { name: 'Sign in to TextPeak Console' })).toBeVisible();
    await signIn(page, ADMIN.username, ADMIN.password);
    await expect(page).toHaveURL(/\/settings\/ip-acls$/);
    await expect(page.getByRole('heading', { name: 'IP ACLs', level: 1 })).toBeVisible();
  });

  test('sign in, then the console shows who is signed in', async ({ page }) => {
    await signIn(page, ADMIN.username, ADMIN.password);
    await expect(page.getByText(`Signed in as ${ADMIN.username}`)).toBeVisible();
    const keys = new ApiKeysPage(page);
    await keys.goto();
    await expect(keys.addButton).toBeVisible();
  });

  test('a wrong password or username gets one message that does not say which', async ({ page }) => {
    await page.goto('/login');
    for (const [username, password] of [[ADMIN.username, 'not the password'], ['nobody', ADMIN.password]]) {
      await page.getByLabel('Username').fill(username);
      await page.getByLabel('Password').fill(password);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await expect(page.getByRole('alert')).toHaveText('Wrong username or password');
      await expect(page).toHaveURL(/\/login$/);
      // The username stays, and the password is where the cursor waits.
      await expect(page.getByLabel('Username')).toHaveValue(username);
      await expect(page.getByLabel('Password')).toBeFocused();
      await expect(page.getByLabel('Password')).toHaveAccessibleDescription('Wrong username or password');
    }
  });

  test('the sign-in page downloads no wasm, and the console page after it does', async ({ page }) => {
    const bundle: string[] = [];
    page.on('request', (request) => {
      const path = new URL(request.url()).pathname;
      if (path.endsWith('.wasm') || path.endsWith('.js')) bundle.push(path);
    });
    await page.goto('/login?next=%2Fsettings%2Fapi-keys');
    await expect(page.getByLabel('Username')).toBeFocused();
    expect(bundle).toEqual([]);
    await signIn(page, ADMIN.username, ADMIN.password);
    await expect(page).toHaveURL(/\/settings\/api-keys$/);
    await waitForHydration(page);
    expect(bundle).toEqual(expect.arrayContaining(['/pkg/textpeak.js', '/pkg/textpeak.wasm']));
  });

  test('Sign out ends the session', async ({ page }) => {
    await signIn(page, ADMIN.username, ADMIN.password);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await expect(page).toHaveURL(/\/login$/);
    await page.goto('/settings/api-keys');
    await expect(page).toHaveURL(/\/login\?next=%2Fsettings%2Fapi-keys$/);
  });
});

test.describe('Two accounts', () => {
  test("the second account's admin sees none of the first's keys", async ({ page, browser }) => {
    const admin = new ApiKeysPage(page);
    await admin.goto();
    const adminKey = unique('Admin only');
    await admin.createKey(adminKey);

    const betaContext = await browser.newContext({ storageState: stateFile(BETA.username) });
    const beta = new ApiKeysPage(await betaContext.newPage());
    await beta.goto();
    await expect(beta.page.getByText(`Signed in as ${BETA.username}`)).toBeVisible();
    await expect(beta.page.getByText('No API keys yet')).toBeVisible();
    await expect(beta.page.getByText(adminKey)).toHaveCount(0);

    const betaKey = unique('Beta only');
    await beta.createKey(betaKey);
    await page.reload();
    await waitForHydration(page);
    await expect(admin.row(adminKey)).toBeVisible();
    await expect(admin.row(betaKey)).toHaveCount(0);
    await betaContext.close();
  });
});

test.describe('Settings > Audit Log', () => {
  test('shows who revealed which key, and never the token', async ({ page }) => {
    const keys = new ApiKeysPage(page);
    await keys.goto();
    const name = unique('Audited');
    const token = await keys.createKey(name);
    await keys.row(name).getByRole('button', { name: 'Show API key contents' }).click();
    await expect(keys.row(name)).toContainText(token);

    await page.getByRole('navigation', { name: 'Main menu' }).getByRole('link', { name: 'Audit Log' }).click();
    await expect(page.getByRole('heading', { level: 1, name: 'Audit Log' })).toBeVisible();
    const log = page.getByRole('table', { name: 'Audit log' });
    const reveal = log.getByRole('row').filter({ hasText: name }).filter({ hasText: 'Revealed API key' });
    await expect(reveal).toHaveCount(1);
    await expect(reveal).toContainText(ADMIN.username);
    await expect(reveal).toContainText('127.0.0.1');
    await expect(log.getByRole('row').nth(1)).toContainText('Revealed API key');
    expect(await page.content()).not.toContain(token);
  });
});
