import { test as setup } from '@playwright/test';
import { execFileSync } from 'child_process';
import * as path from 'path';
import { ADMIN, BETA, stateFile } from './accounts';
import { signIn } from './sign-in-page';

const repo = path.resolve(__dirname, '..', '..');

setup('onboard a second customer account with textpeak admin add', async () => {
  const output = execFileSync(
    path.join(repo, 'target', 'release', 'textpeak'),
    ['admin', 'add', '--account', BETA.account, '--username', BETA.username],
    {
      cwd: repo,
      input: `${BETA.password}\n`,
      env: {
        ...process.env,
        TEXTPEAK_DATA_DIR: process.env.E2E_DATA_DIR,
        ...(process.env.E2E_DATABASE_URL ? { DATABASE_URL: process.env.E2E_DATABASE_URL } : {}),
      },
    },
  ).toString();
  setup.expect(output).toContain(`Added admin "${BETA.username}"`);
});

for (const who of [ADMIN, BETA]) {
  setup(`sign in as ${who.username}`, async ({ page }) => {
    await signIn(page, who.username, who.password);
    await page.context().storageState({ path: stateFile(who.username) });
  });
}
