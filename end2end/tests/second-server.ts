import { spawn } from 'child_process';
import * as net from 'net';
import * as path from 'path';

const repo = path.resolve(__dirname, '..', '..');

/** A port nothing listens on now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
    probe.on('error', reject);
  });
}

/** Starts another console process on this run's data folder, as a restart would. */
export async function startSecondServer(extraEnv: Record<string, string> = {}): Promise<{ url: string; stop: () => Promise<void> }> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const server = spawn(path.join(repo, 'target', 'release', 'textpeak'), [], {
    cwd: repo,
    env: {
      ...process.env,
      TEXTPEAK_DATA_DIR: process.env.E2E_DATA_DIR,
      ...(process.env.E2E_DATABASE_URL ? { DATABASE_URL: process.env.E2E_DATABASE_URL } : {}),
      LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
      LEPTOS_SITE_ROOT: path.join(repo, 'target', 'site'),
      LEPTOS_ENV: 'PROD',
      RUST_LOG: 'warn',
      ...extraEnv,
    },
    stdio: 'ignore',
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    // Checked first: an answer from some other process must not count as this one's.
    if (server.exitCode !== null || Date.now() > deadline) throw new Error('the second server did not start');
    try {
      if ((await fetch(`${url}/api/v1/health`)).ok) break;
    } catch {
      // not listening yet
    }
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
