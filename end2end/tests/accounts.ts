import * as path from 'path';

/** The admins of this run: `admin` is made on first start, `beta` by `textpeak admin add`. */
export const ADMIN = { username: 'admin', password: 'e2e admin password', account: 'Default' };
export const BETA = { username: 'beta', password: 'e2e beta password', account: 'Beta' };

export const stateFile = (who: string) => path.join(process.env.E2E_DATA_DIR!, `${who}.storage.json`);
export const SIGNED_OUT = { cookies: [], origins: [] };
