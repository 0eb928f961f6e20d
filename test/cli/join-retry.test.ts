// A joiner that cannot be admitted yet asks again (as CCF's do), and each retry says what the
// operator can change: a service certificate that does not endorse the target node is named by
// its configuration field, not by an option of the client SDK.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { exitOf } from '../support/child-exit.js';
import { startJoiner } from '../support/joiner-process.js';
import { startSandbox } from '../support/sandbox-process.js';
import { until } from '../support/until.js';

const RETRIES_WAIT_MS = 30_000;

test('a joiner trusting another service certificate names command.service_certificate_file on every retry', async () => {
  const sandbox = await startSandbox(['--nodes', '1']);
  const wrongCertificate = sandbox.file('user0_cert.pem');
  const joiner = await startJoiner(sandbox, 'joiner', [], wrongCertificate);
  try {
    const attempts = await until('two join attempts', RETRIES_WAIT_MS, async () => {
      const lines = joiner.output().split('\n').filter((line) => line.includes('join attempt'));
      return lines.length >= 2 ? lines : undefined;
    });
    const target = new URL(sandbox.url).host.replaceAll('.', '\\.');
    for (const line of attempts) {
      assert.match(line, new RegExp(`^\\S+Z \\[warn \\] coco node: join attempt \\d+: the target node ${target} presented a certificate that the service certificate in command\\.service_certificate_file \\(\\S+\\) does not endorse \\([A-Z_]+\\); set that field to the service_cert\\.pem of the service this node joins; retrying$`));
      assert.ok(line.includes(`(${wrongCertificate})`), line);
    }
    assert.doesNotMatch(joiner.output(), /caCertPem/);
  } finally {
    joiner.child.kill('SIGKILL');
    await exitOf(joiner.child, 'the joiner');
    await sandbox.stop();
  }
});
