import { expect, type Locator, type Page } from '@playwright/test';

/** Settings > API Keys, as the platform's documentation describes it. */
export class ApiKeysPage {
  readonly heading: Locator;
  readonly addButton: Locator;
  readonly table: Locator;
  readonly dialog: Locator;

  constructor(readonly page: Page) {
    this.heading = page.getByRole('heading', { level: 1, name: 'API Keys' });
    this.addButton = page.getByRole('button', { name: 'Add API Key' });
    this.table = page.getByRole('table', { name: 'API keys' });
    this.dialog = page.getByRole('dialog');
  }

  /** Opens the page and waits until the browser code has taken over the server's HTML. */
  async goto() {
    await this.page.goto('/settings/api-keys');
    await waitForHydration(this.page);
    await expect(this.heading).toBeVisible();
  }

  row(name: string): Locator {
    return this.table.getByRole('row').filter({ has: this.page.getByRole('rowheader', { name, exact: true }) });
  }

  /** Adds a key through the dialog and returns its token, leaving the success dialog open. */
  async addKey(name: string, ipAcl = 'Any address'): Promise<string> {
    await this.addButton.click();
    const dialog = this.page.getByRole('dialog', { name: 'Add API Key' });
    await dialog.getByLabel('API Key Name').fill(name);
    await dialog.getByLabel('IP ACL').selectOption({ label: ipAcl });
    await dialog.getByRole('button', { name: 'Add' }).click();
    const created = this.page.getByRole('dialog', { name: 'API key was created successfully' });
    await expect(created).toBeVisible();
    return await created.getByRole('textbox', { name: 'API key' }).inputValue();
  }

  /** Adds a key and closes the success dialog. */
  async createKey(name: string, ipAcl = 'Any address'): Promise<string> {
    const token = await this.addKey(name, ipAcl);
    await this.page.getByRole('dialog').getByRole('button', { name: 'Close' }).click();
    await expect(this.page.getByRole('dialog')).toBeHidden();
    await expect(this.row(name)).toBeVisible();
    return token;
  }
}

/** What whoami lists for a key with full access: the whole catalogue. */
export const FULL_ACCESS = ['sms:send', 'sms:read', 'inbound:read', 'numbers:read', 'numbers:write', 'usage:read'];

export async function waitForHydration(page: Page) {
  await page.locator('html[data-hydrated="true"]').waitFor({ state: 'attached' });
}

/** A name no other test of this run uses (the database is shared within a run). */
export function unique(prefix: string): string {
  return `${prefix} ${Math.random().toString(36).slice(2, 8)}`;
}

/** Adds keys through the server functions, as a script would: fast, for tests that need many. */
export async function createKeysDirectly(page: Page, names: string[]) {
  const origin = new URL(page.url()).origin;
  const list = await page.request.post('/rpc/list_api_keys', { headers: { Origin: origin }, form: {} });
  expect(list.ok()).toBe(true);
  const acl = (await list.json()).ip_acls.find((a: { name: string }) => a.name === 'Any address').id;
  for (const name of names) {
    const created = await page.request.post('/rpc/create_api_key', {
      headers: { Origin: origin },
      form: { name, ip_acl_id: String(acl) },
    });
    expect(created.ok(), await created.text()).toBe(true);
  }
}
