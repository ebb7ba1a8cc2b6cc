import { test, expect } from './fixtures';
import type { Browser, Page } from '@playwright/test';
import { ApiKeysPage, unique, waitForHydration } from './api-keys-page';
import { ADMIN, BETA, SIGNED_OUT, addOwner, stateFile } from './accounts';
import { signIn } from './sign-in-page';

const PASSWORD = 'a team member password';

/** Settings › Team, as an Owner uses it. */
async function openTeam(page: Page) {
  await page.goto('/settings/team');
  await waitForHydration(page);
  await expect(page.getByRole('heading', { level: 1, name: 'Team' })).toBeVisible();
}

/** Invites `username` as `role` and returns the link, as the dialog shows it once. */
async function invite(page: Page, username: string, role: string): Promise<string> {
  await page.getByRole('button', { name: 'Invite Admin' }).click();
  const dialog = page.getByRole('dialog', { name: 'Invite Admin' });
  await dialog.getByLabel('Username').fill(username);
  await dialog.getByLabel('Role').selectOption({ label: role });
  await dialog.getByRole('button', { name: 'Invite' }).click();
  const created = page.getByRole('dialog', { name: 'Invitation created' });
  await expect(created).toBeVisible();
  const link = await created.getByRole('textbox', { name: 'Invitation link' }).inputValue();
  await created.getByRole('button', { name: 'Copy' }).click();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(link);
  await created.getByRole('button', { name: 'Close' }).click();
  await expect(page.getByRole('dialog')).toBeHidden();
  return link;
}

/** Opens an invitation link in a new, signed-out browser and joins. */
async function join(browser: Browser, link: string, account: string): Promise<Page> {
  const context = await browser.newContext({ storageState: SIGNED_OUT });
  const page = await context.newPage();
  await page.goto(link);
  await expect(page.getByRole('heading', { level: 1, name: `Join ${account}` })).toBeVisible();
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByLabel('Confirm password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Join' }).click();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByRole('button', { name: 'Sign out' })).toBeVisible();
  return page;
}

function teamRow(page: Page, username: string) {
  return page.getByRole('table', { name: 'Team' }).getByRole('row').filter({ has: page.getByRole('rowheader', { name: new RegExp(`^${username}`) }) });
}

test.describe('Settings › Team', () => {
  test('invite each role and join through the link, which then works no more', async ({ page, browser }) => {
    await openTeam(page);
    for (const role of ['Owner', 'Admin', 'Viewer']) {
      const username = unique(role.toLowerCase()).replace(' ', '-');
      const link = await invite(page, username, role);
      await expect(teamRow(page, username)).toContainText('Invited');
      const joined = await join(browser, link, ADMIN.account);
      await expect(joined.getByText(`Signed in as ${username}`)).toBeVisible();
      await page.reload();
      await waitForHydration(page);
      await expect(teamRow(page, username)).toContainText(role);
      await expect(teamRow(page, username)).toContainText('Off');
      await expect(teamRow(page, username)).not.toContainText('Invited');
      // The link is spent.
      const again = await browser.newContext({ storageState: SIGNED_OUT });
      const stale = await again.newPage();
      await stale.goto(link);
      await expect(stale.getByRole('heading', { name: 'This invitation is no longer valid' })).toBeVisible();
      await expect(stale.getByText(ADMIN.account)).toHaveCount(0);
      await again.close();
      await joined.context().close();
    }
  });

  test('a cancelled invitation lets nobody in', async ({ page, browser }) => {
    await openTeam(page);
    const username = unique('cancelled').replace(' ', '-');
    const link = await invite(page, username, 'Admin');
    await teamRow(page, username).getByRole('button', { name: 'Cancel invitation' }).click();
    await expect(teamRow(page, username)).toHaveCount(0);
    const context = await browser.newContext({ storageState: SIGNED_OUT });
    const stranger = await context.newPage();
    await stranger.goto(link);
    await expect(stranger.getByRole('heading', { name: 'This invitation is no longer valid' })).toBeVisible();
    await context.close();
  });

  test('a Viewer sees no changing button, and is refused when it replays an Admin call', async ({ page, browser }) => {
    await openTeam(page);
    const keys = new ApiKeysPage(page);
    const name = unique('Viewed');
    await keys.goto();
    await keys.createKey(name);
    const keyId = (await keys.row(name).getByRole('link', { name }).getAttribute('href'))!.split('/').pop()!;
    await openTeam(page);
    const username = unique('viewer').replace(' ', '-');
    const viewer = await join(browser, await invite(page, username, 'Viewer'), ADMIN.account);

    const asViewer = new ApiKeysPage(viewer);
    await asViewer.goto();
    await expect(asViewer.row(name)).toBeVisible();
    await expect(asViewer.addButton).toHaveCount(0);
    for (const button of ['Roll', 'Edit', 'Disable', 'Delete', 'Show API key contents']) {
      await expect(asViewer.row(name).getByRole('button', { name: button })).toHaveCount(0);
    }
    await asViewer.row(name).getByRole('link', { name }).click();
    await expect(viewer.getByRole('heading', { level: 2, name: 'Requests', exact: true })).toBeVisible();
    for (const button of ['Edit', 'Delete', 'Lock to these addresses']) {
      await expect(viewer.getByRole('button', { name: button })).toHaveCount(0);
    }
    await viewer.getByRole('navigation', { name: 'Main menu' }).getByRole('link', { name: 'IP ACLs' }).click();
    await expect(viewer.getByRole('heading', { level: 1, name: 'IP ACLs' })).toBeVisible();
    await expect(viewer.getByRole('button', { name: 'Add IP ACL' })).toHaveCount(0);
    await expect(viewer.getByRole('button', { name: 'Edit' })).toHaveCount(0);

    // The calls an Admin's page makes, replayed from the Viewer's browser.
    for (const [fn, body] of [
      ['delete_api_key', `id=${keyId}`],
      ['reveal_api_key', `id=${keyId}`],
      ['set_api_key_enabled', `id=${keyId}&enabled=false`],
    ]) {
      const answer = await viewer.evaluate(
        async ([fn, body]) => {
          const r = await fetch(`/rpc/${fn}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
          return { status: r.status, body: await r.json() };
        },
        [fn, body],
      );
      expect(answer, fn).toEqual({ status: 403, body: { not_allowed: { role: 'viewer' } } });
    }
    await keys.goto();
    await expect(keys.row(name)).toContainText('Active');
    await viewer.context().close();
  });

  test("a removed admin's open page lands on sign-in at the next click", async ({ page, browser }) => {
    await openTeam(page);
    const username = unique('removed').replace(' ', '-');
    const member = await join(browser, await invite(page, username, 'Admin'), ADMIN.account);
    const keys = new ApiKeysPage(member);
    await keys.goto();

    await page.reload();
    await waitForHydration(page);
    await teamRow(page, username).getByRole('button', { name: 'Remove' }).click();
    const confirm = page.getByRole('dialog', { name: 'Remove Admin' });
    await expect(confirm).toContainText(`Remove the admin ${username}?`);
    await confirm.getByRole('button', { name: 'Confirm' }).click();
    await expect(page.getByRole('status')).toContainText(`Removed the admin \u201c${username}\u201d.`);
    await expect(teamRow(page, username)).toHaveCount(0);

    await member.getByRole('navigation', { name: 'Main menu' }).getByRole('link', { name: 'IP ACLs' }).click();
    await expect(member).toHaveURL(/\/login/);
    await expect(member.getByRole('heading', { name: 'Sign in to TextPeak Console' })).toBeVisible();
    await member.context().close();
  });

  test('the last Owner cannot be removed or made an Admin', async ({ browser }) => {
    const context = await browser.newContext({ storageState: stateFile(BETA.username) });
    const page = await context.newPage();
    await openTeam(page);
    await teamRow(page, BETA.username).getByRole('button', { name: 'Remove' }).click();
    const confirm = page.getByRole('dialog', { name: 'Remove Admin' });
    await confirm.getByRole('button', { name: 'Confirm' }).click();
    await expect(confirm.getByRole('alert')).toHaveText('An account needs at least one owner.');
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    await teamRow(page, BETA.username).getByRole('button', { name: 'Edit' }).click();
    const edit = page.getByRole('dialog', { name: 'Edit Admin' });
    await edit.getByLabel('Role').selectOption({ label: 'Admin' });
    await edit.getByRole('button', { name: 'Submit' }).click();
    await expect(edit.getByRole('alert')).toHaveText('An account needs at least one owner.');
    await edit.getByRole('button', { name: 'Cancel' }).click();
    await expect(teamRow(page, BETA.username)).toContainText('Owner');
    await context.close();
  });

  test('an Owner without two-factor cannot require it, and says why', async ({ browser }) => {
    const account = unique('Policy');
    const owner = unique('policy').replace(' ', '-');
    addOwner(account, owner, PASSWORD);
    const context = await browser.newContext({ storageState: SIGNED_OUT });
    const page = await context.newPage();
    await signIn(page, owner, PASSWORD);
    await openTeam(page);
    const policy = page.getByLabel('Require two-factor authentication');
    await expect(policy).toBeDisabled();
    await expect(policy).toHaveAccessibleDescription(/Turn on two-factor authentication for yourself first/);
    await context.close();
  });
});
