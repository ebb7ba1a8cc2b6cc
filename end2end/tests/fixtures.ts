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
        // A refused sign-in or an expected 4xx answer is logged by the browser as a failed resource.
        if (message.type() === 'error' && !/status of 4\d\d/.test(message.text())) {
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
