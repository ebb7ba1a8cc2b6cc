import * as path from 'path';

/** The admins of this run: `admin` is made on first start, `beta` by `textpeak admin add`. */
export const ADMIN = { username: 'admin', password: 'e2e admin password', account: 'Default' };
export const BETA = { username: 'beta', password: 'e2e beta password', account: 'Beta' };

export const stateFile = (who: string) => path.join(process.env.E2E_DATA_DIR!, `${who}.storage.json`);
export const SIGNED_OUT = { cookies: [], origins: [] };

import { execFileSync } from 'child_process';

const repo = path.resolve(__dirname, '..', '..');

/** The environment of the run's server: its data folder, and its database. */
export function serverEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    TEXTPEAK_DATA_DIR: process.env.E2E_DATA_DIR,
    ...(process.env.E2E_DATABASE_URL ? { DATABASE_URL: process.env.E2E_DATABASE_URL } : {}),
  };
}

/** `textpeak admin add`: a new Owner in `account` (made if missing), as an operator onboards one. */
export function addOwner(account: string, username: string, password: string): string {
  return execFileSync(path.join(repo, 'target', 'release', 'textpeak'), ['admin', 'add', '--account', account, '--username', username], {
    cwd: repo,
    input: `${password}\n`,
    env: serverEnv(),
  }).toString();
}
