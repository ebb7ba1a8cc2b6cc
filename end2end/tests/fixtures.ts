import { test as base, expect } from '@playwright/test';

/**
 * Every test fails if the page logs an error or throws: a Content-Security-Policy
 * violation, a failed hydration or a missing file shows up here first.
 */
export const test = base.extend<{ consoleErrors: void }>({
  consoleErrors: [
    async ({ page }, use) => {
      const errors: string[] = [];
      page.on('console', (message) => {
        // A refused sign-in, an expected 4xx, or a 503 while the database is down is logged by the browser as a failed resource.
        if (message.type() === 'error' && !/status of (4\d\d|503)/.test(message.text())) {
          errors.push(message.text());
        }
      });
      page.on('pageerror', (error) => errors.push(error.message));
      await use();
      expect(errors, 'errors in the browser console').toEqual([]);
    },
    { auto: true },
  ],
});

export { expect };
