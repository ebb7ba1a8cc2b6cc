import { spawn } from 'child_process';
import * as path from 'path';

const repo = path.resolve(__dirname, '..', '..');

/** Starts another console process on this run's data folder, as a restart would. */
export async function startSecondServer(port = 3101): Promise<{ url: string; stop: () => Promise<void> }> {
  const url = `http://127.0.0.1:${port}`;
  const server = spawn(path.join(repo, 'target', 'release', 'textpeak'), [], {
    cwd: repo,
    env: {
      ...process.env,
      TEXTPEAK_DATA_DIR: process.env.E2E_DATA_DIR,
      LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
      LEPTOS_SITE_ROOT: path.join(repo, 'target', 'site'),
      LEPTOS_ENV: 'PROD',
      RUST_LOG: 'warn',
    },
    stdio: 'ignore',
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      if ((await fetch(`${url}/api/v1/health`)).ok) break;
    } catch {
      // not listening yet
    }
    if (server.exitCode !== null || Date.now() > deadline) throw new Error('the second server did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    stop: () =>
      new Promise((resolve) => {
        server.once('exit', () => resolve());
        server.kill('SIGTERM');
      }),
  };
}
