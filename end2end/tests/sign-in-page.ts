import { expect, type Page } from '@playwright/test';
import { waitForHydration } from './api-keys-page';

/** The sign-in page, as an admin uses it. */
export async function signIn(page: Page, username: string, password: string) {
  if (!page.url().includes('/login')) {
    await page.goto('/login');
  }
  await waitForHydration(page);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('button', { name: 'Sign out' })).toBeVisible();
}
