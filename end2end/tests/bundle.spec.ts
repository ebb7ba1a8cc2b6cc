import { test, expect } from './fixtures';
import * as fs from 'fs';
import type { Page } from '@playwright/test';
import { ApiKeysPage, unique, waitForHydration } from './api-keys-page';
import { ADMIN, SIGNED_OUT } from './accounts';
import { signIn } from './sign-in-page';

/**
 * What a first visit to Settings > API Keys may transfer of the browser bundle
 * (wasm, JS and CSS together, as served: compressed where the browser accepts
 * it), in bytes. Issue 11 aims at 160 KB; until the bundle gets there this is
 * the ceiling it has reached, so a change that makes it heavier fails here.
 */
const BUDGET_BYTES = Number(process.env.BUNDLE_BUDGET_BYTES ?? 300_000);
const TARGET_BYTES = 160_000;

test('a first visit to API Keys stays within the bundle budget', async ({ page }) => {
  const pending: Promise<{ url: string; bytes: number; encoding: string }>[] = [];
  page.on('requestfinished', (request) => {
    if (!new URL(request.url()).pathname.startsWith('/pkg/')) return;
    pending.push(
      (async () => {
        const [sizes, response] = await Promise.all([request.sizes(), request.response()]);
        return {
          url: new URL(request.url()).pathname,
          bytes: sizes.responseBodySize,
          encoding: (await response?.headerValue('content-encoding')) ?? 'identity',
        };
      })(),
    );
  });

  await page.goto('/settings/api-keys');
  await waitForHydration(page);
  await expect(page.getByRole('button', { name: 'Add API Key' })).toBeEnabled();
  await page.waitForLoadState('networkidle');
  const files = await Promise.all(pending);
  const total = files.reduce((sum, file) => sum + file.bytes, 0);

  for (const file of files) console.log(`${file.url}: ${file.bytes} bytes (${file.encoding})`);
  console.log(`first visit: ${total} bytes of wasm, JS and CSS; budget ${BUDGET_BYTES}, target ${TARGET_BYTES}`);
  if (process.env.BUNDLE_REPORT) {
    fs.writeFileSync(process.env.BUNDLE_REPORT, JSON.stringify({ files, total, budget: BUDGET_BYTES, target: TARGET_BYTES }));
  }
  expect(files.map((file) => file.url)).toEqual(expect.arrayContaining(['/pkg/textpeak.wasm', '/pkg/textpeak.js']));
  // Counted as sent: the precompressed brotli file, and not nothing.
  const wasm = files.find((file) => file.url === '/pkg/textpeak.wasm')!;
  expect(wasm.encoding).toBe('br');
  expect(wasm.bytes).toBeGreaterThan(10_000);
  expect(total).toBeLessThanOrEqual(BUDGET_BYTES);
});

test('each console page comes from the server with its data in place, no placeholder to replace', async ({ page }) => {
  const keys = new ApiKeysPage(page);
  await keys.goto();
  const name = unique('In order');
  await keys.createKey(name);
  const keyPage = (await keys.row(name).getByRole('link', { name }).getAttribute('href'))!;

  // Streamed out of order, a page came with a "Loading…" placeholder that a later chunk
  // replaced, moving the page down as it landed. Each page's placeholder, and what replaces it:
  const pages: [string, string, string | RegExp][] = [
    ['/', 'Looking at your keys', /Nothing needs attention|Expiring within 14 days|Old tokens still working|Not used in 90 days/],
    ['/settings/api-keys', 'Loading API keys', `>${name}<`],
    [keyPage, 'Loading the API key', `>${name}<`],
    ['/settings/ip-acls', 'Loading IP ACLs', '>Any address<'],
    ['/settings/audit-log', 'Loading the audit log', `>${name}<`],
  ];
  for (const [path, placeholder, data] of pages) {
    const response = await page.request.get(path, { headers: { 'Sec-Fetch-Site': 'same-origin' } });
    expect(response.status(), path).toBe(200);
    const html = await response.text();
    expect(html, path).toContain('Signed in as');
    expect(html, path).toMatch(data);
    expect(html, path).not.toContain(placeholder);
  }
});

test("the dialogs' code is fetched when a button that opens one is reached, not with the page", async ({ page }) => {
  const fetched: { path: string; request: import('@playwright/test').Request }[] = [];
  page.on('requestfinished', (request) => {
    const path = new URL(request.url()).pathname;
    if (path.startsWith('/pkg/')) fetched.push({ path, request });
  });
  const addBody = () => fetched.filter(({ path }) => path.includes('add_api_key_dialog'));
  await page.goto('/settings/api-keys');
  await waitForHydration(page);
  await page.waitForLoadState('networkidle');
  expect(addBody()).toEqual([]);
  const withPage = fetched.length;

  // The pointer reaching the button is enough: a click is likely to follow.
  await page.getByRole('button', { name: 'Add API Key' }).hover();
  await expect.poll(() => addBody().length).toBe(1);
  await page.getByRole('button', { name: 'Add API Key' }).click();
  const dialog = page.getByRole('dialog', { name: 'Add API Key' });
  await expect(dialog.getByLabel('API Key Name')).toBeFocused();
  expect(addBody()).toHaveLength(1);
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  // The second opening has it already.
  await page.getByRole('button', { name: 'Add API Key' }).click();
  await expect(dialog.getByLabel('API Key Name')).toBeFocused();
  expect(addBody()).toHaveLength(1);

  if (process.env.BUNDLE_REPORT) {
    const opening = fetched.slice(withPage);
    const sizes = await Promise.all(opening.map(({ request }) => request.sizes()));
    const bytes = sizes.reduce((sum, size) => sum + size.responseBodySize, 0);
    fs.writeFileSync(`${process.env.BUNDLE_REPORT}.dialog`, JSON.stringify({ files: opening.length, bytes }));
  }
});

test('while its code is on the way, a dialog already has its name and says it is loading', async ({ page }) => {
  let release = () => {};
  let heldBack = 0;
  const held = new Promise<void>((resolve) => (release = resolve));
  await page.route(/split_add_api_key_dialog[^/]*\.wasm$/, async (route) => {
    heldBack += 1;
    await held;
    await route.continue();
  });
  await page.goto('/settings/api-keys');
  await waitForHydration(page);
  const add = page.getByRole('button', { name: 'Add API Key' });
  await add.click();
  const dialog = page.getByRole('dialog', { name: 'Add API Key' });
  await expect(dialog.getByRole('status')).toHaveText('Loading…');
  // Focus is in the dialog, on its name, rather than left behind on the page.
  await expect(dialog.getByRole('heading', { name: 'Add API Key' })).toBeFocused();
  expect(heldBack).toBe(1);

  // A download that stalls does not hold the admin: Cancel closes, and focus goes back.
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(dialog).toBeHidden();
  await expect(add).toBeFocused();
  // Opening again while the first download is still under way waits for it, not a second one.
  await add.click();
  await expect(dialog.getByRole('status')).toHaveText('Loading…');
  release();
  // The form arrives after the dialog opened; focus still goes to its first field.
  await expect(dialog.getByLabel('API Key Name')).toBeFocused();
  await expect(dialog.getByRole('status')).toHaveCount(0);
  expect(heldBack).toBe(1);
});

/** Refuses every download of `file` from now on, as a dropped connection would; counts the attempts. */
async function refusing(page: Page, file: RegExp): Promise<() => number> {
  let refused = 0;
  await page.route(file, (route) => {
    refused += 1;
    return route.abort('internetdisconnected');
  });
  return () => refused;
}

/** Opens API Keys with every download of `file` refused; counts the attempts. */
async function onApiKeysRefusing(page: Page, file: RegExp): Promise<() => number> {
  const refused = await refusing(page, file);
  await page.goto('/settings/api-keys');
  await waitForHydration(page);
  return refused;
}

test.describe('with the connection dropping', () => {
  // The refused download, as the browser and the loader report it (the loader can leave
  // its fetch's rejection unhandled for a moment); a panic would still fail the test.
  test.use({ expectedConsoleErrors: /net::ERR_INTERNET_DISCONNECTED|^(TypeError: )?Failed to fetch/ });

  test('a dialog whose code cannot be fetched says so, and Try again fetches it', async ({ page }) => {
    const file = /split_add_api_key_dialog[^/]*\.wasm$/;
    const refused = await onApiKeysRefusing(page, file);
    const add = page.getByRole('button', { name: 'Add API Key' });
    const dialog = page.getByRole('dialog', { name: 'Add API Key' });
    await add.click();
    await expect(dialog.getByRole('alert')).toHaveText(
      'This dialog could not be loaded. Check the connection, then try again.',
    );
    await expect(dialog.getByRole('button', { name: 'Try again' })).toBeFocused();
    expect(refused()).toBeGreaterThan(0);

    // The page lives on: Cancel closes the dialog, and the next opening asks again.
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await expect(dialog).toBeHidden();
    const before = refused();
    await add.click();
    await expect.poll(refused).toBeGreaterThan(before);
    await expect(dialog.getByRole('button', { name: 'Try again' })).toBeFocused();

    // The connection is back: Try again brings the form, its first field focused.
    await page.unroute(file);
    await dialog.getByRole('button', { name: 'Try again' }).click();
    await expect(dialog.getByLabel('API Key Name')).toBeFocused();
    await expect(dialog.getByRole('alert')).toHaveCount(0);
  });

  // The same two code paths as Add API Key's, for the dialogs a row opens.
  for (const { button, title, field, file } of [
    { button: 'Edit', title: 'Edit API Key', field: 'Name', file: /split_edit_api_key_dialog[^/]*\.wasm$/ },
    { button: 'Roll', title: 'Roll API Key', field: 'Old token stops working', file: /split_roll_api_key_dialog[^/]*\.wasm$/ },
  ]) {
    test(`${title} says so when its code cannot be fetched, and Try again brings it`, async ({ page }) => {
      const refused = await onApiKeysRefusing(page, file);
      const keys = new ApiKeysPage(page);
      const name = unique(`${button} offline`);
      await keys.createKey(name);
      await keys.row(name).getByRole('button', { name: button }).click();
      const dialog = page.getByRole('dialog', { name: title });
      await expect(dialog.getByRole('alert')).toHaveText(
        'This dialog could not be loaded. Check the connection, then try again.',
      );
      await expect(dialog.getByRole('button', { name: 'Try again' })).toBeFocused();
      expect(refused()).toBeGreaterThan(0);
      await page.unroute(file);
      await dialog.getByRole('button', { name: 'Try again' }).click();
      await expect(dialog.getByLabel(field)).toBeFocused();
      await expect(dialog.getByRole('alert')).toHaveCount(0);
    });
  }

  test('a page whose code cannot be fetched says so, and the console keeps working', async ({ page }) => {
    const file = /split_ip_acls_page[^/]*\.wasm$/;
    const refused = await onApiKeysRefusing(page, file);
    const menu = page.getByRole('navigation', { name: 'Main menu' });
    await menu.getByRole('link', { name: 'IP ACLs' }).click();
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Page not loaded');
    await expect(page.getByRole('alert')).toHaveText('This page could not be loaded. Check the connection, then try again.');
    await expect(page.getByRole('link', { name: 'Try again' })).toHaveAttribute('href', '/settings/ip-acls');
    expect(refused()).toBeGreaterThan(0);

    // The rest of the console works: its code is alive, and the menu navigates
    // in the page (a full load would drop the mark).
    await page.evaluate(() => ((window as unknown as { stillHere: boolean }).stillHere = true));
    await menu.getByRole('link', { name: 'API Keys' }).click();
    await expect(page.getByRole('button', { name: 'Add API Key' })).toBeVisible();
    expect(await page.evaluate(() => (window as unknown as { stillHere?: boolean }).stillHere)).toBe(true);
    // The connection is back: the page loads without a reload.
    await page.unroute(file);
    await menu.getByRole('link', { name: 'IP ACLs' }).click();
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('IP ACLs');
    await expect(page.getByRole('button', { name: 'Add IP ACL' })).toBeVisible();
  });

  // The same path for the other pages with a file of their own.
  test('the Audit Log and a key page say so when their code cannot be fetched', async ({ page }) => {
    const keyFile = /split_key_page[^/]*\.wasm$/;
    const auditLogFile = /split_audit_log_page[^/]*\.wasm$/;
    const keys = new ApiKeysPage(page);
    await keys.goto();
    const name = unique('Page offline');
    await keys.createKey(name);
    const keyPageRefused = await refusing(page, keyFile);
    const auditLogRefused = await refusing(page, auditLogFile);
    const heading = page.getByRole('heading', { level: 1 });
    await keys.row(name).getByRole('link', { name }).click();
    await expect(heading).toHaveText('Page not loaded');
    await expect(page.getByRole('link', { name: 'Try again' })).toHaveAttribute('href', /\/settings\/api-keys\/\d+$/);
    expect(keyPageRefused()).toBeGreaterThan(0);
    const menu = page.getByRole('navigation', { name: 'Main menu' });
    await menu.getByRole('link', { name: 'Audit Log' }).click();
    await expect(heading).toHaveText('Page not loaded');
    await expect(page.getByRole('link', { name: 'Try again' })).toHaveAttribute('href', '/settings/audit-log');
    expect(auditLogRefused()).toBeGreaterThan(0);

    await page.unroute(auditLogFile);
    await page.getByRole('link', { name: 'Try again' }).click();
    await expect(heading).toHaveText('Audit Log');
    await waitForHydration(page);
  });

  test.describe('with a session of its own', () => {
    test.use({ storageState: SIGNED_OUT });

    // Sign out goes to the sign-in page inside the console, so its code is fetched then.
    test('Sign out signs out even when the sign-in page cannot be loaded', async ({ page }) => {
      await signIn(page, ADMIN.username, ADMIN.password);
      await waitForHydration(page);
      const file = /split_login_page[^/]*\.wasm$/;
      const refused = await refusing(page, file);
      await page.getByRole('button', { name: 'Sign out' }).click();
      await expect(page).toHaveURL(/\/login$/);
      await expect(page.getByRole('heading', { level: 1 })).toHaveText('Page not loaded');
      expect(refused()).toBeGreaterThan(0);

      // The session ended all the same, and Try again loads the sign-in form from the server.
      await page.unroute(file);
      await page.getByRole('link', { name: 'Try again' }).click();
      await expect(page.getByLabel('Username')).toBeVisible();
      await page.goto('/settings/api-keys');
      await expect(page).toHaveURL(/\/login\?next=%2Fsettings%2Fapi-keys$/);
    });
  });

  // Lighthouse's model of the largest paint counted every file named in the head: a lazy
  // page's 25-odd chunks put it at 900-980 ms. They are asked for once the page painted.
  test("a page loaded from the server asks for its own code after it painted, and only once", async ({ page }) => {
    const fetched = new Map<string, number>();
    page.on('request', (request) => {
      const path = new URL(request.url()).pathname;
      if (path.startsWith('/pkg/') && path.endsWith('.wasm')) fetched.set(path, (fetched.get(path) ?? 0) + 1);
    });
    const response = await page.goto('/settings/ip-acls');
    const html = await response!.text();
    expect(html).not.toMatch(/<link[^>]+split_ip_acls_page\.wasm/);
    expect(html).toMatch(/split_ip_acls_page\.wasm.*requestAnimationFrame/);
    await waitForHydration(page);
    await page.getByRole('button', { name: 'Add IP ACL' }).click();
    await expect(page.getByRole('dialog', { name: 'Add IP ACL' })).toBeVisible();
    await page.waitForLoadState('networkidle');
    // Each file's preload and the split loader's fetch of it are one request.
    expect(fetched.get('/pkg/split_ip_acls_page.wasm')).toBe(1);
    expect([...fetched].filter(([, count]) => count > 1)).toEqual([]);
    await expect(page.locator('link[rel="preload"][href$="/split_ip_acls_page.wasm"]')).toHaveCount(1);
  });

  // A background tab runs no animation frame until it is shown: there the links go in at once.
  test('a page opened in a background tab asks for its code without waiting for a frame', async ({ page }) => {
    await page.addInitScript(() => {
      Object.defineProperty(document, 'visibilityState', { get: () => 'hidden' });
      window.requestAnimationFrame = () => 0;
    });
    await page.goto('/settings/ip-acls');
    await expect(page.locator('link[rel="preload"][href$="/split_ip_acls_page.wasm"]')).toHaveCount(1);
  });

  test('a page loaded from the server whose code cannot be fetched reloads once and works', async ({ page }) => {
    const file = /split_ip_acls_page[^/]*\.wasm$/;
    let navigations = 0;
    page.on('framenavigated', (frame) => {
      if (frame === page.mainFrame()) navigations += 1;
    });
    let refused = 0;
    // Refused throughout the first load (the server's early fetch and the loader's), served after.
    await page.route(file, (route) => {
      if (navigations > 1) return route.continue();
      refused += 1;
      return route.abort('internetdisconnected');
    });
    await page.goto('/settings/ip-acls');
    await waitForHydration(page);
    expect(refused).toBeGreaterThan(0);
    expect(navigations).toBe(2);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('IP ACLs');
    await page.getByRole('button', { name: 'Add IP ACL' }).click();
    await expect(page.getByRole('dialog', { name: 'Add IP ACL' })).toBeVisible();
    // The page asks for its file early (a preload link, added once it painted).
    await expect(page.locator('link[href$="/split_ip_acls_page.wasm"]').first()).toBeAttached();
    // The tab forgets that it reloaded, so a later failure may reload once again.
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
  });

  test('a page whose code stays missing reloads only once, says so, and its links still work', async ({ page }) => {
    const file = /split_ip_acls_page[^/]*\.wasm$/;
    let navigations = 0;
    page.on('framenavigated', (frame) => {
      if (frame === page.mainFrame()) navigations += 1;
    });
    await page.route(file, (route) => route.abort('internetdisconnected'));
    const gaveUp = page.waitForEvent('console', (message) =>
      message.text().includes('could not be fetched after a reload either'),
    );
    await page.goto('/settings/ip-acls');
    await gaveUp;
    expect(navigations).toBe(2);
    // As the server drew it, without a crash (the fixture fails the test on one), and saying why.
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('IP ACLs');
    await expect(page.getByRole('alert')).toHaveText(
      'This page could not be loaded completely, so its buttons do nothing. Check the connection, then reload the page.',
    );
    // The menu's links load pages from the server.
    await page.getByRole('navigation', { name: 'Main menu' }).getByRole('link', { name: 'API Keys' }).click();
    await expect(page).toHaveURL(/\/settings\/api-keys$/);
    await waitForHydration(page);
    await expect(page.getByRole('button', { name: 'Add API Key' })).toBeVisible();
    expect(navigations).toBe(3);
  });
});

/**
 * Not a check, a figure for `benches/bundle.py`: how long Add API Key takes
 * to show its focused form on Lighthouse's mobile conditions (150 ms round
 * trips, 1.6 Mbit/s, a 4x slower CPU), the first time (its code fetched as
 * the click's pointer arrives, the worst case: a person's hover starts it
 * earlier) and the second (already there, as when it came with the page).
 */
test('how long Add API Key takes to open on a slow connection', async ({ page }) => {
  test.skip(!process.env.BUNDLE_REPORT, 'a measurement for benches/bundle.py');
  await page.goto('/settings/api-keys');
  await waitForHydration(page);
  await page.waitForLoadState('networkidle');
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false,
    latency: 150,
    downloadThroughput: (1.6 * 1024 * 1024) / 8,
    uploadThroughput: (750 * 1024) / 8,
  });
  await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });
  const dialog = page.getByRole('dialog', { name: 'Add API Key' });
  const open = async () => {
    const start = Date.now();
    await page.getByRole('button', { name: 'Add API Key' }).click();
    await expect(dialog.getByLabel('API Key Name')).toBeFocused({ timeout: 20_000 });
    const took = Date.now() - start;
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await expect(dialog).toBeHidden();
    return took;
  };
  const first = await open();
  const second = await open();
  fs.writeFileSync(`${process.env.BUNDLE_REPORT}.slow`, JSON.stringify({ first_ms: first, second_ms: second }));
});
