import { test, expect } from './fixtures';
import * as fs from 'fs';
import { waitForHydration } from './api-keys-page';

/**
 * What a first visit to Settings > API Keys may transfer of the browser bundle
 * (wasm, JS and CSS together, as served: compressed where the browser accepts
 * it), in bytes. Issue 11 aims at 160 KB; until the bundle gets there this is
 * the ceiling it has reached, so a change that makes it heavier fails here.
 */
const BUDGET_BYTES = Number(process.env.BUNDLE_BUDGET_BYTES ?? 330_000);
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
