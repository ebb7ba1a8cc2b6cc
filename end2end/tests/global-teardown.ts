import * as fs from 'fs';
import { ADMIN, BETA } from './accounts';
import { secretsFile, serverLog } from './secrets';

/**
 * After the whole run: no token, password, code or cookie that the tests
 * used appears in any line the server logged.
 */
export default function checkTheLogsHoldNoSecret() {
  const log = fs.readFileSync(serverLog(), 'utf8');
  if (!log.includes('listening on')) throw new Error(`the server's log was not captured: ${serverLog()}`);
  const secrets = new Set([ADMIN.password, BETA.password]);
  if (fs.existsSync(secretsFile())) {
    for (const line of fs.readFileSync(secretsFile(), 'utf8').split('\n')) if (line) secrets.add(line);
  }
  const tokens = [...secrets].filter((s) => s.startsWith('tp_')).length;
  if (tokens < 5) throw new Error(`only ${tokens} tokens were recorded: the check would prove little`);
  const leaked = [...secrets].filter((secret) => {
    // A six-digit code must stand alone to count: it is not part of a longer number.
    if (/^\d+$/.test(secret)) return new RegExp(`(^|\\D)${secret}(\\D|$)`).test(log);
    return log.includes(secret);
  });
  if (leaked.length > 0) {
    throw new Error(`the server logged ${leaked.length} secret(s) used by the tests, e.g. one starting ${leaked[0].slice(0, 4)}…`);
  }
  console.log(`log check: none of ${secrets.size} secrets (${tokens} tokens) in ${log.split('\n').length} log lines`);
}
