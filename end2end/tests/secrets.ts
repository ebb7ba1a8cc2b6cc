import type { BrowserContext } from '@playwright/test';
import * as fs from 'fs';
import * as path from 'path';

/**
 * The log check (global-teardown.ts): every secret the browser sent or was
 * sent during the run is written to a file beside the server's log, and no
 * line of that log may contain one.
 */
export function secretsFile(): string {
  return `${process.env.E2E_DATA_DIR}.secrets`;
}

export function serverLog(): string {
  return `${process.env.E2E_DATA_DIR}.server.log`;
}

/** Form fields that carry a secret, by name. */
const SECRET_FIELDS = /password|code|token/i;
/** A TextPeak API token anywhere in an answer. */
const TOKEN = /tp_[0-9A-Za-z]{49}/g;

function keep(found: Set<string>, value: string | null | undefined) {
  // Short values (a TOTP code's six digits) are kept too; empty ones say nothing.
  if (value && value.length >= 6) found.add(value);
}

export async function recordSecrets(context: BrowserContext, use: () => Promise<void>) {
  const found = new Set<string>();
  context.on('request', (request) => {
    const body = request.postData();
    if (!body || request.method() !== 'POST') return;
    for (const [name, value] of new URLSearchParams(body)) {
      if (SECRET_FIELDS.test(name)) keep(found, value);
    }
  });
  context.on('response', async (response) => {
    if (!response.url().includes('/rpc/')) return;
    const text = await response.text().catch(() => '');
    for (const token of text.match(TOKEN) ?? []) keep(found, token);
  });
  await use();
  for (const cookie of await context.cookies().catch(() => [])) keep(found, cookie.value);
  if (found.size > 0) {
    fs.mkdirSync(path.dirname(secretsFile()), { recursive: true });
    fs.appendFileSync(secretsFile(), [...found].join('\n') + '\n');
  }
}
