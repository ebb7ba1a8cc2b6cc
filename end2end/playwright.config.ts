import { defineConfig } from '@playwright/test';
import * as fs from 'fs';
import * as path from 'path';
import { ADMIN, stateFile } from './tests/accounts';

// One fresh data folder (SQLite database + master key) per run. Workers
// inherit the environment, so they all agree on it.
const repo = path.resolve(__dirname, '..');
process.env.E2E_DATA_DIR ??= path.join(__dirname, '.tmp', `run-${Date.now()}`);
const port = process.env.E2E_PORT ?? '3100';
// `make test` runs the suite twice: on SQLite (in the data folder), then on
// a throw-away PostgreSQL database (E2E_DATABASE_URL).
const database = process.env.E2E_DATABASE_URL ? { DATABASE_URL: process.env.E2E_DATABASE_URL } : {};
const baseURL = `http://127.0.0.1:${port}`;

// The server's log goes to a file beside the data folder: after the run,
// global-teardown.ts checks that it holds none of the secrets the tests used.
const serverLog = `${process.env.E2E_DATA_DIR}.server.log`;
fs.mkdirSync(path.dirname(serverLog), { recursive: true });

export default defineConfig({
  testDir: './tests',
  globalTeardown: './tests/global-teardown.ts',
  timeout: 30_000,
  expect: { timeout: 5_000 },
  fullyParallel: false,
  workers: 1,
  forbidOnly: !!process.env.CI,
  retries: 0,
  reporter: [['list']],
  use: {
    baseURL,
    trace: 'retain-on-failure',
    permissions: ['clipboard-read', 'clipboard-write'],
    launchOptions: {
      executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
  projects: [
    // Makes the second account and signs both admins in once; the tests reuse those sessions.
    { name: 'setup', testMatch: /.*\.setup\.ts/ },
    {
      name: 'chromium',
      dependencies: ['setup'],
      testIgnore: /phone\.spec\.ts/,
      use: { browserName: 'chromium', storageState: stateFile(ADMIN.username) },
    },
    // A phone beside the desktop window: the documented flow, and every page's checks.
    {
      name: 'phone',
      dependencies: ['setup'],
      testMatch: /(phone|every-page)\.spec\.ts/,
      use: {
        browserName: 'chromium',
        storageState: stateFile(ADMIN.username),
        viewport: { width: 390, height: 844 },
        deviceScaleFactor: 3,
        isMobile: true,
        hasTouch: true,
      },
    },
  ],
  // The release build made by `make test` (cargo leptos build --release).
  webServer: {
    // `tee` keeps the log on Playwright's output too, for a failing run.
    command: `bash -c 'exec "$0" 2> >(tee -a "$1" >&2)' ${JSON.stringify(path.join(repo, 'target', 'release', 'textpeak'))} ${JSON.stringify(serverLog)}`,
    cwd: repo,
    url: `${baseURL}/api/v1/health`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: 'pipe',
    stderr: 'pipe',
    env: {
      TEXTPEAK_DATA_DIR: process.env.E2E_DATA_DIR,
      LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
      LEPTOS_SITE_ROOT: path.join(repo, 'target', 'site'),
      LEPTOS_ENV: 'PROD',
      TEXTPEAK_ADMIN_PASSWORD: ADMIN.password,
      RUST_LOG: 'info',
      // The tests reuse the sessions signed in by the setup project; the suite
      // must not outlast their proof of identity. Confirm access is tested on
      // a server of its own with a window of seconds (security.spec.ts).
      TEXTPEAK_CONFIRM_ACCESS_SECONDS: '3600',
      ...database,
    },
  },
});
