import { test, expect } from './fixtures';
import type { Download, Locator } from '@playwright/test';
import * as fs from 'fs';
import { ApiKeysPage, createKeysDirectly, unique, waitForHydration } from './api-keys-page';

/** The downloaded file's lines, without the trailing empty one. */
async function lines(download: Download): Promise<string[]> {
  const file = await download.path();
  return fs.readFileSync(file, 'utf8').split('\r\n').filter((line) => line !== '');
}

async function download(link: Locator): Promise<Download> {
  const [file] = await Promise.all([link.page().waitForEvent('download'), link.click()]);
  return file;
}

test.describe('Files an admin takes away', () => {
  test('Download CSV on API Keys holds every key the search selects, as the table lists them', async ({ page }) => {
    const keys = new ApiKeysPage(page);
    await keys.goto();
    const fleet = unique('Exported');
    const token = await keys.createKey(`${fleet} first`);
    await createKeysDirectly(page, Array.from({ length: 54 }, (_, i) => `${fleet} ${String(i).padStart(2, '0')}`));
    await page.reload();
    await waitForHydration(page);
    const search = page.getByRole('searchbox', { name: 'Search keys' });
    await search.fill(fleet);
    await search.press('Enter');
    await expect(keys.table.getByRole('row')).toHaveCount(51); // the first page: 50 keys and the header

    const file = await download(page.getByRole('link', { name: 'Download CSV' }));
    expect(file.suggestedFilename()).toBe('api-keys.csv');
    const [header, ...rows] = await lines(file);
    expect(header).toBe('name,status,IP ACL,created,last used,expires');
    expect(rows).toHaveLength(55); // every page, not only the one on screen
    // The same keys, in the table's order (newest first), with the table's words.
    const shown = await keys.table.getByRole('rowheader').allInnerTexts();
    const names = rows.map((row) => row.split(',')[0]);
    expect(names.slice(0, 50)).toEqual(shown.map((name) => name.trim()));
    expect(rows.find((row) => row.startsWith(`${fleet} first,`))).toMatch(/^[^,]+,Active,Any address,\d{4}-\d\d-\d\dT/);
    expect(rows.join('\n')).not.toContain(token.slice(3, 20));
  });

  test('Download CSV on the Audit Log holds what the page lists', async ({ page }) => {
    const keys = new ApiKeysPage(page);
    await keys.goto();
    const name = unique('Audited');
    await keys.createKey(name);
    await page.getByRole('link', { name: 'Audit Log' }).click();
    await expect(page.getByRole('heading', { level: 1, name: 'Audit Log' })).toBeVisible();
    const firstRow = page.getByRole('table', { name: 'Audit log' }).getByRole('row').nth(1);
    await expect(firstRow).toContainText(name);

    const file = await download(page.getByRole('link', { name: 'Download CSV' }));
    expect(file.suggestedFilename()).toBe('audit-log.csv');
    const [header, newest] = await lines(file);
    expect(header).toBe('time,admin,action,key or ACL,details,client address');
    expect(newest).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\dT[^,]+,admin,Created API key,${name},`));
  });
});
