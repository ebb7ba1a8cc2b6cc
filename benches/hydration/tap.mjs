// How soon a dialog answers in real Chromium, throttled with the values
// Lighthouse's mobile preset simulates (150 ms round trip, 1.6 Mbit/s, CPU 4x
// slower; its DevTools-throttling mode would use 562.5 ms and 1.47 Mbit/s).
// Run by benches/hydration.py: TAP_COOKIE=… node tap.mjs LOADS name=url ...
// (TAP_MOMENTS=early,tap limits the moments).
// Prints one JSON line per (moment, variant) with each load's milliseconds and tries:
//   early       API Keys: from navigation until Add API Key's form shows,
//               clicking the button as soon as it is visible and again
//               whenever 100 ms have passed with nothing open (each check is
//               a round trip to the browser, slower while its main thread is
//               busy), so the figure is good to a couple of hundred ms;
//   hover       API Keys, 5 s after load: from the pointer reaching Add API
//               Key, resting 100 ms and clicking, until its form shows;
//   tap         API Keys, 5 s after load: from a touch tap (no hover) on Add
//               API Key until its form shows;
//   ip-acls tap IP ACLs, 5 s after load: the same with Add IP ACL.
// After a click or tap that opened nothing, the same is done again a second
// later, as a person would, and the run counts its tries.
import { chromium } from '../../end2end/node_modules/playwright-core/index.mjs';

const [loads, ...variants] = process.argv.slice(2);
// From the environment, not the command line, which process listings and error reports show.
const cookie = process.env.TAP_COOKIE;
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox'] });
const MOMENTS = {
  early: { path: '/settings/api-keys', button: 'Add API Key', field: 'API Key Name' },
  hover: { path: '/settings/api-keys', button: 'Add API Key', field: 'API Key Name' },
  tap: { path: '/settings/api-keys', button: 'Add API Key', field: 'API Key Name', touch: true },
  'ip-acls tap': { path: '/settings/ip-acls', button: 'Add IP ACL', field: 'Entries', touch: true },
};

// Until `form` shows, `again` is done whenever `every` ms have passed since the
// last try and no dialog is open. Returns the time since `from` and the tries.
async function untilOpen(page, form, again, every, from) {
  let tries = 1;
  let last = Date.now();
  while (!(await form.isVisible())) {
    if (Date.now() - from > 30000) throw new Error(`${page.url()}: the dialog never opened`);
    if (Date.now() - last >= every && !(await page.locator('dialog[open]').count())) {
      tries += 1;
      last = Date.now();
      await again();
    }
    await page.waitForTimeout(50);
  }
  return { ms: Date.now() - from, tries };
}

async function measure(base, moment) {
  const { path, button: name, field, touch = false } = MOMENTS[moment];
  const context = await browser.newContext({ viewport: { width: 412, height: 823 }, hasTouch: touch, isMobile: touch });
  try {
    await context.addCookies(cookie.split('; ').map((pair) => {
      const at = pair.indexOf('=');
      return { name: pair.slice(0, at), value: pair.slice(at + 1), url: base };
    }));
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false, latency: 150, downloadThroughput: 1.6e6 / 8, uploadThroughput: 750e3 / 8,
    });
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });
    const start = Date.now();
    await page.goto(base + path, { waitUntil: 'commit' });
    const button = page.getByRole('button', { name });
    const form = page.getByRole('dialog').getByLabel(field);
    if (moment === 'early') {
      await button.click({ noWaitAfter: true });
      return await untilOpen(page, form, () => button.click({ noWaitAfter: true, timeout: 1000 }).catch(() => {}), 100, start);
    }
    await page.waitForLoadState('load');
    await page.waitForTimeout(5000);
    const at = Date.now();
    if (touch) {
      await button.tap();
    } else {
      await button.hover();
      await page.waitForTimeout(100);
      await button.click();
    }
    // A tap that opened nothing is made again a second later, as a person would.
    return await untilOpen(page, form, () => (touch ? button.tap() : button.click()), 1000, at);
  } finally {
    await context.close();
  }
}

const chosen = process.env.TAP_MOMENTS ? process.env.TAP_MOMENTS.split(',') : Object.keys(MOMENTS);
for (const moment of chosen) {
  const runs = Object.fromEntries(variants.map((v) => [v.split('=')[0], []]));
  for (let i = 0; i < Number(loads); i++) {
    for (const variant of variants) {
      const [name, base] = variant.split('=');
      runs[name].push(await measure(base, moment));
    }
  }
  for (const [name, taken] of Object.entries(runs)) console.log(JSON.stringify({ moment, variant: name, runs: taken }));
}
await browser.close();
