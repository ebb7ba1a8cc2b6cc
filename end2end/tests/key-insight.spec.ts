import { test, expect } from './fixtures';
import AxeBuilder from '@axe-core/playwright';
import * as http from 'http';
import { ApiKeysPage, unique, waitForHydration } from './api-keys-page';

/** `GET /api/v1/whoami` from a chosen loopback address, as a customer's server elsewhere would call. */
function whoamiFrom(baseURL: string, token: string, localAddress: string): Promise<{ status: number; reportOnly?: string }> {
  const url = new URL('/api/v1/whoami', baseURL);
  return new Promise((resolve, reject) => {
    const request = http.get(
      { host: url.hostname, port: url.port, path: url.pathname, localAddress, headers: { Authorization: `Bearer ${token}` } },
      (response) => {
        response.resume();
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, reportOnly: response.headers['textpeak-ip-acl'] as string | undefined }),
        );
      },
    );
    request.on('error', reject);
  });
}

test.describe("A key's page", () => {
  test('shows what the key does, and locks it to its addresses after watching in report-only mode', async ({ page, baseURL }) => {
    const keys = new ApiKeysPage(page);
    await keys.goto();
    const name = unique('Insight');
    const token = await keys.createKey(name);
    for (let i = 0; i < 3; i++) {
      expect((await whoamiFrom(baseURL!, token, '127.0.0.1')).status).toBe(200);
    }

    // The name in the table leads to the key's page.
    await keys.row(name).getByRole('link', { name }).click();
    await expect(page).toHaveURL(/\/settings\/api-keys\/\d+$/);
    await waitForHydration(page);
    await expect(page.getByRole('heading', { level: 1, name })).toBeVisible();
    await expect(page.getByRole('button', { name: 'Edit' })).toBeVisible();
    await expect(page.getByRole('button', { name: 'Delete' })).toBeVisible();

    // The chart, and the same figures as a table.
    const chart = page.getByRole('img', { name: /Requests per day over the last 30 days: 3 allowed\b/ });
    await expect(chart).toBeVisible();
    // Reached by a link inside the console, the page was drawn in the browser:
    // the bars are SVG (the chart's markup is set as one element's content), and
    // today's, the only day with traffic, stands at full height.
    const bars = chart.locator('rect.bar.allowed');
    await expect(bars).toHaveCount(30);
    expect(await bars.last().evaluate((bar) => bar.namespaceURI)).toBe('http://www.w3.org/2000/svg');
    expect(await bars.last().evaluate((bar) => (bar as SVGGraphicsElement).getBBox().height)).toBe(138);
    const perDay = page.getByRole('table', { name: 'Requests per day' });
    await expect(perDay).toBeHidden();
    await page.getByRole('button', { name: 'Show as table' }).click();
    await expect(perDay).toBeVisible();
    await expect(perDay.getByRole('row')).toHaveCount(31);
    await expect(perDay.getByRole('row').nth(1).getByRole('cell').first()).toHaveText('3');

    // The address the calls came from, current before any flush.
    const addresses = page.getByRole('table', { name: 'Addresses in the last 30 days' });
    // Columns after the address: Requests, Refused, Would be refused, Last seen.
    const seen = addresses.getByRole('row').filter({ hasText: '127.0.0.1' }).getByRole('cell');
    await expect(seen.nth(0)).toHaveText('3');
    await expect(seen.nth(1)).toHaveText('0');
    await expect(page.getByText('Nothing refused.')).toBeVisible();

    // Lock the key to it, reporting first.
    await page.getByRole('button', { name: 'Lock to these addresses' }).click();
    const lock = page.getByRole('dialog', { name: 'Lock to these addresses' });
    await expect(lock.getByRole('checkbox', { name: '127.0.0.1' })).toBeChecked();
    await expect(lock.getByLabel('Name')).toHaveValue(`${name} observed`);
    await expect(lock.getByRole('checkbox', { name: 'Report only first' })).toBeChecked();
    expect(
      (await new AxeBuilder({ page }).analyze()).violations.filter((v) => v.impact === 'serious' || v.impact === 'critical'),
    ).toEqual([]);
    await lock.getByRole('button', { name: 'Create and use' }).click();
    await expect(lock).toBeHidden();
    const details = page.getByRole('region', { name: 'Details' });
    await expect(details).toContainText(`${name} observed (report only)`);

    // A call from elsewhere is let through, and recorded as one that would be
    // refused; the caller is told nothing of the list.
    const outside = await whoamiFrom(baseURL!, token, '127.0.0.2');
    expect(outside).toEqual({ status: 200, reportOnly: undefined });
    await page.reload();
    await waitForHydration(page);
    const refused = page.getByRole('table', { name: 'The last refused requests' });
    await expect(refused.getByRole('row').filter({ hasText: '127.0.0.2' })).toContainText('would be refused');

    // Switch report-only off: the next call from elsewhere is refused.
    await page.goto('/settings/ip-acls');
    await waitForHydration(page);
    const row = page.getByRole('table', { name: 'IP ACLs' }).getByRole('row').filter({ hasText: `${name} observed` });
    await expect(row).toContainText('Report only');
    await row.getByRole('button', { name: 'Edit' }).click();
    const edit = page.getByRole('dialog', { name: 'Edit IP ACL' });
    await edit.getByRole('checkbox', { name: 'Report only' }).uncheck();
    await edit.getByRole('button', { name: 'Submit' }).click();
    await expect(edit).toBeHidden();
    await expect(row).toContainText('Enforced');
    expect((await whoamiFrom(baseURL!, token, '127.0.0.2')).status).toBe(403);
    expect((await whoamiFrom(baseURL!, token, '127.0.0.1')).status).toBe(200);

    await page.goBack();
    await page.reload();
    await waitForHydration(page);
    await expect(page.getByRole('heading', { level: 1, name })).toBeVisible();
    const lastRefusal = page.getByRole('table', { name: 'The last refused requests' }).getByRole('row').nth(1);
    await expect(lastRefusal).toContainText('127.0.0.2');
    await expect(lastRefusal).toContainText('ip_not_allowed');
    await expect(lastRefusal).not.toContainText('would be refused');
    const violations = (await new AxeBuilder({ page }).analyze()).violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
    expect(violations).toEqual([]);
  });

  test('locking an enforced key offers only what it let through, and warns before loosening it', async ({ page, baseURL }) => {
    const keys = new ApiKeysPage(page);
    await keys.goto();
    const acl = unique('Enforced');
    const made = await page.request.post('/rpc/create_ip_acl', {
      headers: { Origin: new URL(page.url()).origin },
      form: { name: acl, entries: '127.0.0.1/32' },
    });
    expect(made.ok(), await made.text()).toBe(true);
    await keys.goto();
    const name = unique('Enforced key');
    const token = await keys.createKey(name, acl);
    expect((await whoamiFrom(baseURL!, token, '127.0.0.1')).status).toBe(200);
    expect((await whoamiFrom(baseURL!, token, '127.0.0.3')).status).toBe(403);

    await keys.row(name).getByRole('link', { name }).click();
    await waitForHydration(page);
    await expect(page.getByRole('table', { name: 'Addresses in the last 30 days' })).toContainText('127.0.0.3 (refused only)');
    await page.getByRole('button', { name: 'Lock to these addresses' }).click();
    const lock = page.getByRole('dialog', { name: 'Lock to these addresses' });
    await expect(lock.getByRole('checkbox', { name: '127.0.0.1', exact: true })).toBeChecked();
    await expect(lock.getByRole('checkbox', { name: '127.0.0.3 (refused only)' })).not.toBeChecked();
    const reportFirst = lock.getByRole('checkbox', { name: 'Report only first' });
    await expect(reportFirst).not.toBeChecked();
    await expect(lock.getByText('will be let through until you switch Report only off')).toHaveCount(0);
    await reportFirst.check();
    await expect(reportFirst).toHaveAccessibleDescription(/addresses it refuses will be let through until you switch Report only off/);
    await reportFirst.uncheck();
    await lock.getByRole('button', { name: 'Create and use' }).click();
    await expect(lock).toBeHidden();
    expect((await whoamiFrom(baseURL!, token, '127.0.0.3')).status).toBe(403);
    expect((await whoamiFrom(baseURL!, token, '127.0.0.1')).status).toBe(200);
  });

  test("a key's page that no longer exists says so", async ({ page }) => {
    await page.goto('/settings/api-keys/999999');
    await waitForHydration(page);
    await expect(page.getByRole('heading', { level: 1, name: 'API key not found' })).toBeVisible();
    await expect(page.getByRole('link', { name: 'Back to API Keys' })).toBeVisible();
  });
});
