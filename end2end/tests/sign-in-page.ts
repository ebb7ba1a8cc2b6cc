import { expect, type Page } from '@playwright/test';

/**
 * The sign-in page, as an admin uses it. It is a plain form with no wasm to
 * wait for: it works as soon as it is shown.
 */
export async function signIn(page: Page, username: string, password: string) {
  if (!page.url().includes('/login')) {
    await page.goto('/login');
  }
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('button', { name: 'Sign out' })).toBeVisible();
}
