import { test as base, expect } from '@playwright/test';
import { recordSecrets } from './secrets';

/**
 * Every test fails if the page logs an error or throws: a Content-Security-Policy
 * violation, a failed hydration or a missing file shows up here first.
 */
export const test = base.extend<{
  consoleErrors: void;
  expectedConsoleErrors: RegExp | undefined;
  secretsSeen: void;
}>({
  /** Every token, password, code and cookie the browser sends or is sent, kept for the log check after the run. */
  secretsSeen: [
    async ({ context }, use) => {
      await recordSecrets(context, use);
    },
    { auto: true },
  ],
  /** Errors a test causes on purpose (a download it refuses), as one pattern. */
  expectedConsoleErrors: [undefined, { option: true }],
  consoleErrors: [
    async ({ page, expectedConsoleErrors }, use) => {
      const errors: string[] = [];
      page.on('console', (message) => {
        // A refused sign-in, an expected 4xx, or a 503 while the database is down is logged by the browser as a failed resource.
        const text = message.text();
        const expected = /status of (4\d\d|503)/.test(text) || expectedConsoleErrors?.test(text) === true;
        if (message.type() === 'error' && !expected) {
          errors.push(message.text());
        }
      });
      page.on('pageerror', (error) => {
        if (expectedConsoleErrors?.test(error.message) !== true) errors.push(error.message);
      });
      await use();
      expect(errors, 'errors in the browser console').toEqual([]);
    },
    { auto: true },
  ],
});

export { expect };
