// How soon the Add API Key dialog answers in real Chromium, throttled like
// Lighthouse's mobile preset (150 ms round trip, 1.6 Mbit/s, CPU 4x slower).
// Run by benches/hydration.py: node tap.mjs LOADS COOKIE name=url ...
// Prints one JSON line per (moment, variant) with each load's milliseconds:
//   early  from navigation until the dialog's form shows, clicking Add API Key
//          as soon as it is visible and again every 100 ms until it opens;
//   hover  5 s after load, the pointer rests on the button for 100 ms, then
//          clicks: from the click until the form shows;
//   tap    5 s after load, a touch tap (no hover first): from the tap until
//          the form shows.
import { chromium } from '../../end2end/node_modules/playwright-core/index.mjs';

const [loads, cookie, ...variants] = process.argv.slice(2);
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox'] });

async function measure(base, moment) {
  const touch = moment === 'tap';
  const context = await browser.newContext({ viewport: { width: 412, height: 823 }, hasTouch: touch, isMobile: touch });
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
  await page.goto(`${base}/settings/api-keys`, { waitUntil: 'commit' });
  const button = page.getByRole('button', { name: 'Add API Key' });
  const form = page.getByLabel('API Key Name');
  let ms;
  if (moment === 'early') {
    await button.click({ noWaitAfter: true });
    const deadline = Date.now() + 30000;
    while (!(await form.isVisible())) {
      if (Date.now() > deadline) throw new Error(`${base}: the dialog never opened`);
      await page.waitForTimeout(100);
      if (!(await page.locator('dialog[open]').count())) {
        await button.click({ noWaitAfter: true, timeout: 1000 }).catch(() => {});
      }
    }
    ms = Date.now() - start;
  } else {
    await page.waitForLoadState('load');
    await page.waitForTimeout(5000);
    if (!touch) {
      await button.hover();
      await page.waitForTimeout(100);
    }
    const at = Date.now();
    await (touch ? button.tap() : button.click());
    await form.waitFor({ timeout: 30000 });
    ms = Date.now() - at;
  }
  await context.close();
  return ms;
}

for (const moment of ['early', 'hover', 'tap']) {
  const runs = Object.fromEntries(variants.map((v) => [v.split('=')[0], []]));
  for (let i = 0; i < Number(loads); i++) {
    for (const variant of variants) {
      const [name, base] = variant.split('=');
      runs[name].push(await measure(base, moment));
    }
  }
  for (const [name, ms] of Object.entries(runs)) console.log(JSON.stringify({ moment, variant: name, ms }));
}
await browser.close();
