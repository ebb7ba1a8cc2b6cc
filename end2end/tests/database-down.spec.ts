import { test, expect } from './fixtures';
import { execFileSync } from 'child_process';
import * as path from 'path';
import { ApiKeysPage, unique } from './api-keys-page';

const script = path.resolve(__dirname, '..', '..', 'tests', 'postgres.sh');
const cluster = process.env.E2E_PG_DIR;

test.describe('When the database goes away', () => {
  // Stopping the database server is only possible on the PostgreSQL run, whose cluster the tests own.
  test.skip(!cluster, 'PostgreSQL only: the run on SQLite has no database server to stop');

  test('a dialog says the database is unavailable, and the same click works once it is back', async ({ page }) => {
    const keys = new ApiKeysPage(page);
    await keys.goto();
    const name = unique('Patient');
    await keys.addButton.click();
    const dialog = page.getByRole('dialog', { name: 'Add API Key' });
    await dialog.getByLabel('API Key Name').fill(name);

    execFileSync(script, ['pause', cluster!]);
    try {
      await dialog.getByRole('button', { name: 'Add' }).click();
      await expect(dialog.getByRole('alert')).toHaveText('The database is unavailable, try again shortly.', {
        timeout: 10_000,
      });
      await expect(dialog.getByLabel('API Key Name')).toHaveValue(name);
    } finally {
      execFileSync(script, ['resume', cluster!]);
    }
    await dialog.getByRole('button', { name: 'Add' }).click();
    await expect(page.getByRole('dialog', { name: 'API key was created successfully' })).toBeVisible({ timeout: 10_000 });
  });
});
