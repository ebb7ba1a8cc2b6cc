import { test, expect } from './fixtures';
import type { Browser, Page } from '@playwright/test';
import * as fs from 'fs';
import { ApiKeysPage, unique, waitForHydration } from './api-keys-page';
import { SIGNED_OUT, addOwner } from './accounts';
import { signIn } from './sign-in-page';
import { startSecondServer } from './second-server';
import { totp } from './totp';

const PASSWORD = 'a security test password';

/** A new account with its own Owner, signed in in a fresh browser: these tests change passwords and codes. */
async function newOwner(browser: Browser, baseURL?: string): Promise<{ page: Page; username: string }> {
  const username = unique('sec').replace(' ', '-');
  addOwner(unique('Security'), username, PASSWORD);
  const context = await browser.newContext({ storageState: SIGNED_OUT, ...(baseURL ? { baseURL } : {}) });
  const page = await context.newPage();
  await signIn(page, username, PASSWORD);
  return { page, username };
}

async function openSecurity(page: Page) {
  await page.goto('/settings/security');
  await waitForHydration(page);
  await expect(page.getByRole('heading', { level: 1, name: 'Security' })).toBeVisible();
}

async function signOut(page: Page) {
  await page.getByRole('banner').getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/login$/);
}

test.describe('Settings › Security', () => {
  test('two-factor: set up from the Setup key, sign in with a code, then with a recovery code once', async ({ browser }) => {
    const { page, username } = await newOwner(browser);
    await openSecurity(page);
    await page.getByRole('button', { name: 'Set up two-factor authentication' }).click();
    await expect(page.getByRole('img', { name: 'QR code for your authenticator app' })).toBeVisible();
    const key = await page.getByLabel('Setup key').inputValue();
    expect(key).toMatch(/^[A-Z2-7]{32}$/);
    await page.getByLabel('Authentication code').fill('000000' === totp(key) ? '111111' : '000000');
    await page.getByRole('button', { name: 'Turn on' }).click();
    await expect(page.getByText('That code is not right.')).toBeVisible();
    await page.getByLabel('Authentication code').fill(totp(key));
    await page.getByRole('button', { name: 'Turn on' }).click();

    await expect(page.getByRole('heading', { name: 'Recovery codes' })).toBeVisible();
    const codes = await page.getByRole('list', { name: 'Recovery codes' }).getByRole('listitem').allTextContents();
    expect(codes).toHaveLength(10);
    const download = page.waitForEvent('download');
    await page.getByRole('link', { name: 'Download' }).click();
    const file = await (await download).path();
    expect(fs.readFileSync(file!, 'utf8').trim().split('\n')).toEqual(codes);
    await page.getByRole('button', { name: 'Copy' }).click();
    expect((await page.evaluate(() => navigator.clipboard.readText())).trim().split('\n')).toEqual(codes);
    await page.getByRole('button', { name: 'Done' }).click();
    await expect(page.getByText('10 recovery codes left')).toBeVisible();

    // Sign in again: the password, then a code (the next step's: the one that turned it on is spent).
    await signOut(page);
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('heading', { name: 'Two-factor authentication' })).toBeVisible();
    await page.getByLabel('Authentication code').fill(totp(key, 1));
    await page.getByRole('button', { name: 'Verify' }).click();
    await expect(page.getByText(`Signed in as ${username}`)).toBeVisible();

    // And with a recovery code, which works once.
    for (const expected of ['in', 'refused']) {
      await signOut(page);
      await page.getByLabel('Username').fill(username);
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('link', { name: 'Use a recovery code' }).click();
      await page.getByLabel('Recovery code').fill(codes[0]);
      await page.getByRole('button', { name: 'Verify' }).click();
      if (expected === 'in') {
        await expect(page.getByText(`Signed in as ${username}`)).toBeVisible();
      } else {
        await expect(page.getByRole('alert')).toHaveText('That recovery code is not right, or was used already.');
        await expect(page.getByLabel('Recovery code')).toBeVisible();
      }
    }
    await page.context().close();
  });

  test('a new password signs out the other browser', async ({ browser }) => {
    const { page, username } = await newOwner(browser);
    const other = await browser.newContext({ storageState: SIGNED_OUT });
    const elsewhere = await other.newPage();
    await signIn(elsewhere, username, PASSWORD);

    await openSecurity(page);
    await page.getByLabel('Current password').fill('not my password');
    await page.getByLabel('New password', { exact: true }).fill('an even longer password');
    await page.getByLabel('Confirm new password').fill('an even longer password');
    await page.getByRole('button', { name: 'Change password' }).click();
    await expect(page.getByLabel('Current password')).toHaveAccessibleDescription('That is not your current password.');
    await page.getByLabel('Current password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Change password' }).click();
    await expect(page.getByText('Your password was changed')).toBeVisible();

    await elsewhere.goto('/settings/api-keys');
    await expect(elsewhere).toHaveURL(/\/login\?next=/);
    await signIn(elsewhere, username, 'an even longer password');
    await other.close();
    await page.context().close();
  });

  test('Sign out everywhere else ends the other sessions, which the table lists', async ({ browser }) => {
    const { page, username } = await newOwner(browser);
    const other = await browser.newContext({ storageState: SIGNED_OUT });
    const elsewhere = await other.newPage();
    await signIn(elsewhere, username, PASSWORD);

    await openSecurity(page);
    const sessions = page.getByRole('table', { name: 'Sessions' });
    await expect(sessions.getByRole('row')).toHaveCount(3);
    await expect(sessions).toContainText('Chrome on Linux');
    await expect(sessions).toContainText('127.0.0.1');
    await expect(sessions.getByText('This browser')).toHaveCount(1);
    await page.getByRole('button', { name: 'Sign out everywhere else' }).click();
    await expect(sessions.getByRole('row')).toHaveCount(2);

    await elsewhere.goto('/');
    await expect(elsewhere).toHaveURL(/\/login/);
    await other.close();
    await page.context().close();
  });

  test('Confirm access: after the window, the eye asks for the password and then shows the token', async ({ browser }) => {
    const server = await startSecondServer({ TEXTPEAK_CONFIRM_ACCESS_SECONDS: '2' });
    try {
      const { page } = await newOwner(browser, server.url);
      const keys = new ApiKeysPage(page);
      await keys.goto();
      const name = unique('Confirmed');
      const token = await keys.createKey(name);
      await page.waitForTimeout(2500);
      await keys.row(name).getByRole('button', { name: 'Show API key contents' }).click();
      const confirm = page.getByRole('dialog', { name: 'Confirm access' });
      await expect(confirm).toBeVisible();
      await confirm.getByLabel('Password').fill('not my password');
      await confirm.getByRole('button', { name: 'Confirm' }).click();
      await expect(confirm.getByLabel('Password')).toHaveAccessibleDescription('That is not your password.');
      await confirm.getByLabel('Password').fill(PASSWORD);
      await confirm.getByRole('button', { name: 'Confirm' }).click();
      await expect(confirm).toBeHidden();
      // No second click: the reveal went ahead.
      await expect(keys.row(name)).toContainText(token);

      // Delete after the window: Confirm access, then the delete goes ahead.
      await page.waitForTimeout(2500);
      await keys.row(name).getByRole('button', { name: 'Delete' }).click();
      await page.getByRole('dialog', { name: 'Delete API Key' }).getByRole('button', { name: 'Confirm' }).click();
      await confirm.getByLabel('Password').fill(PASSWORD);
      await confirm.getByRole('button', { name: 'Confirm' }).click();
      await expect(keys.row(name)).toHaveCount(0);
      await page.context().close();
    } finally {
      await server.stop();
    }
  });
});
