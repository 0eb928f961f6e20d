// The commands the sandbox prints to try the logging sample work as printed, and are the README's:
// the write shows its response headers, where the transaction ID the README's next step asks
// about (GET /app/tx, /app/receipt) is found.

import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../support/paths.js';
import { startSandbox } from '../support/sandbox-process.js';
import { testPortPair } from '../support/test-ports.js';
import { until } from '../support/until.js';

const hasCurl = spawnSync('curl', ['--version']).status === 0;

/** The README's command that writes a message, its continued lines joined. */
function readmeWrite(): string {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8').replace(/ \\\n\s*/g, ' ');
  const line = readme.split('\n').find((l) => l.startsWith('curl ') && l.includes('--data-binary'));
  assert.ok(line !== undefined, 'the README shows a write with curl');
  return line;
}

test('the banner\'s write command, run as printed, shows the transaction ID; the README shows the same command', { skip: !hasCurl && 'needs curl', timeout: 120_000 }, async () => {
  const sandbox = await startSandbox(['--nodes', '1', '--port', String(await testPortPair())]);
  try {
    const write = await until('the banner\'s write command', 10_000, async () =>
      sandbox.output().split('\n').map((l) => l.trim()).find((l) => l.startsWith('curl ') && l.includes('--data-binary')),
    );
    assert.equal(readmeWrite().replace(/https:\/\/127\.0\.0\.1:\d+/, sandbox.url).replaceAll('workspace/sandbox_common/', `${sandbox.common}/`), write);
    const answer = execFileSync('sh', ['-c', write], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    assert.match(answer, /^x-ms-ccf-transaction-id: \d+\.\d+\r?$/m, answer);
  } finally {
    await sandbox.stop();
  }
});
