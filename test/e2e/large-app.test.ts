// An app bundle larger than a node accepts in one request: the sandbox, which proposes it in one
// request, stops with the reason and the option that fixes it, leaving no node running; with
// --max-http-body-size raised the same bundle is deployed and serves.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CocoClient } from '../../src/client/coco-client.js';
import { startSandbox } from '../support/sandbox-process.js';

/** A bundle of about 1.5 MB: one module carrying a large constant. */
function largeBundle(dir: string): string {
  const app = join(dir, 'large-app');
  mkdirSync(join(app, 'src'), { recursive: true });
  writeFileSync(join(app, 'app.json'), JSON.stringify({
    endpoints: { '/size': { get: { js_module: 'size.js', js_function: 'size', forwarding_required: 'sometimes', authn_policies: ['user_cert'], mode: 'readonly', openapi: {} } } },
  }));
  writeFileSync(join(app, 'src', 'size.js'), `const TABLE = "${'0123456789abcdef'.repeat(96 * 1024)}";\nexport function size() { return { body: { length: TABLE.length } }; }\n`);
  return app;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('a bundle over the request limit stops the sandbox with the option to raise it; raised, the bundle serves', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'coco-large-app-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const app = largeBundle(dir);

  // A workspace of the test's own: the one startSandbox would make goes with a sandbox that fails to open.
  const refused = await startSandbox(['--nodes', '1', '--app', app], join(dir, 'refused')).then(
    async (sandbox) => {
      await sandbox.stop();
      return undefined;
    },
    (error: Error) => error.message,
  );
  assert.ok(refused !== undefined, 'the sandbox does not open');
  assert.match(refused, /exited with 1/);
  assert.match(refused, /RequestBodyTooLarge: the request body exceeds this node's limit of 1048576 bytes \(http\.max_body_size/);
  assert.match(refused, /start again with --max-http-body-size BYTES above 1048576/);
  const workspace = /remove (\S+) and start again/.exec(refused)![1]!;
  const pidFile = join(workspace, 'sandbox_0', 'node.pid');
  assert.ok(existsSync(pidFile), 'the node had started');
  assert.equal(isRunning(Number(readFileSync(pidFile, 'utf8'))), false, 'and was stopped');

  const sandbox = await startSandbox(['--nodes', '1', '--app', app, '--max-http-body-size', '4000000']);
  const client = new CocoClient({ url: sandbox.url, caCertPem: sandbox.pem('service_cert.pem'), certPem: sandbox.pem('user0_cert.pem'), keyPem: sandbox.pem('user0_privk.pem') });
  t.after(async () => {
    client.close();
    await sandbox.stop();
  });
  assert.deepEqual((await client.request('GET', '/app/size')).json(), { length: 16 * 96 * 1024 });
  // Another app than the logging sample: the banner shows no logging command, which would answer 404.
  assert.doesNotMatch(sandbox.output(), /\/app\/log\/private/);
  assert.match(sandbox.output(), /The deployed app's endpoints, as user0: curl https:\/\/\S+\/app\/api --cacert /);
  const config = JSON.parse(readFileSync(join(sandbox.workspace, 'sandbox_0', 'config.json'), 'utf8')) as { http: { max_body_size: number } };
  assert.equal(config.http.max_body_size, 4_000_000);
});
