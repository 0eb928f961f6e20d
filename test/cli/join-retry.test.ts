// A joiner that cannot be admitted yet asks again (as CCF's do), and each retry says what the
// operator can change: a service certificate that does not endorse the target node is named by
// its configuration field, not by an option of the client SDK; a target that answers 503 is
// quoted (a backup that knows no primary, which the joiner may be needed to elect); a target that
// is a node-to-node port is named as such; a service certificate file that is none is named by its
// field, once, before anything starts. A joiner stopped while it waits to be trusted asks again as
// itself (its keys are kept until it seals its secrets): the service holds one record of it, not two.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort } from '../../src/cli/free-port.js';
import { createService, reply, startServer } from '../client/tls-fixture.js';
import { exitOf } from '../support/child-exit.js';
import { runNode, startJoiner } from '../support/joiner-process.js';
import { startSandbox } from '../support/sandbox-process.js';
import { until } from '../support/until.js';
import { call } from '../support/node-process.js';
import { trustJoiningNodes } from '../../src/client/recover-service.js';

const RETRIES_WAIT_MS = 30_000;

test('a joiner trusting another service certificate names command.service_certificate_file on every retry', async () => {
  const sandbox = await startSandbox(['--nodes', '1']);
  const wrongCertificate = join(sandbox.workspace, '..', 'other_service_cert.pem');
  writeFileSync(wrongCertificate, readFileSync(sandbox.file('user0_cert.pem')));
  const joiner = await startJoiner(sandbox, 'joiner', { serviceCertificateFile: wrongCertificate });
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
    // The file rewritten since the joiner read it (as a recovery under a new identity rewrites it): the field is right, a restart reads it.
    writeFileSync(wrongCertificate, readFileSync(sandbox.file('service_cert.pem')));
    await until('an attempt that says the file changed', RETRIES_WAIT_MS, async () =>
      /, as this node read it when it started, does not endorse \([A-Z_]+\); that file holds another certificate now \(was the service recovered under a new identity\?\): start this node again to read it; retrying/.test(joiner.output()) ? true : undefined);
  } finally {
    joiner.child.kill('SIGKILL');
    await exitOf(joiner.child, 'the joiner');
    await sandbox.stop();
  }
});

/** A joiner of `targetUrl`'s service (whose certificate is `serviceCertPem`), in a directory of its own, asking again every 200 ms. */
async function joinerOf(serviceCertPem: string, targetUrl: string) {
  const dir = mkdtempSync(join(tmpdir(), 'coco-join-'));
  mkdirSync(join(dir, 'node'));
  writeFileSync(join(dir, 'service_cert.pem'), serviceCertPem);
  writeFileSync(join(dir, 'node', 'config.json'), JSON.stringify({
    network: {
      rpc_interfaces: { primary_rpc_interface: { bind_address: `127.0.0.1:${await freePort('127.0.0.1')}` } },
      node_to_node_interface: { bind_address: `127.0.0.1:${await freePort('127.0.0.1')}` },
    },
    command: { type: 'Join', service_certificate_file: join(dir, 'service_cert.pem'), join: { target_rpc_address: new URL(targetUrl).host, retry_timeout_ms: 200 } },
  }));
  return { dir, joiner: runNode(join(dir, 'node')) };
}

test("a joiner whose target answers 503 quotes the target's error on each retry", async () => {
  const service = await createService();
  const target = await startServer(service, (_request, res) =>
    reply(res, 503, { error: { code: 'NodeCannotHandleRequest', message: 'this node is a backup and no primary is known; retry shortly' } }),
  );
  const { dir, joiner } = await joinerOf(service.certPem, target.url);
  try {
    const line = await until('a join attempt', RETRIES_WAIT_MS, async () => joiner.output().split('\n').find((l) => l.includes('join attempt')));
    assert.match(line, /coco node: join attempt \d+: the service answered 503 \(NodeCannotHandleRequest: this node is a backup and no primary is known; retry shortly\); retrying$/);
  } finally {
    joiner.child.kill('SIGKILL');
    await exitOf(joiner.child, 'the joiner');
    await target.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a joiner whose target is a node-to-node port says the target did not answer as an RPC interface', async () => {
  const sandbox = await startSandbox(['--nodes', '1']);
  const node0 = JSON.parse(readFileSync(join(sandbox.workspace, 'sandbox_0', 'config.json'), 'utf8')) as { network: { node_to_node_interface: { bind_address: string } } };
  const targetRpcAddress = node0.network.node_to_node_interface.bind_address;
  const joiner = await startJoiner(sandbox, 'joiner', { targetRpcAddress });
  try {
    const line = await until('a join attempt', RETRIES_WAIT_MS, async () => joiner.output().split('\n').find((l) => l.includes('join attempt')));
    const target = targetRpcAddress.replaceAll('.', '\\.');
    assert.match(line, new RegExp(`coco node: join attempt \\d+: the target ${target} did not answer as an RPC interface \\(.+\\): is command\\.join\\.target_rpc_address a node's RPC interface, not its node_to_node_interface\\?; retrying$`));
  } finally {
    joiner.child.kill('SIGKILL');
    await exitOf(joiner.child, 'the joiner');
    await sandbox.stop();
  }
});

test('a joiner redirected to a primary that breaks the connection blames that node, not its target field', async () => {
  const service = await createService();
  const primary = await startServer(service, (_request, response) => void response.socket?.destroy());
  const target = await startServer(service, (_request, res) => {
    res.writeHead(308, { location: `${primary.url}/node/join`, 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { code: 'NotPrimary', message: 'this node is a backup' } }));
  });
  const { dir, joiner } = await joinerOf(service.certPem, target.url);
  try {
    const line = await until('a join attempt', RETRIES_WAIT_MS, async () => joiner.output().split('\n').find((l) => l.includes('join attempt')));
    const [targetHost, primaryHost] = [target.url, primary.url].map((url) => new URL(url).host.replaceAll('.', '\\.'));
    assert.match(line, new RegExp(`join attempt \\d+: POST /node/join to ${primaryHost}: the connection broke .* \\(the target ${targetHost} redirected the request there, to the primary, which may have stopped: a new one is elected meanwhile\\); retrying$`));
    assert.doesNotMatch(line, /node_to_node_interface/);
  } finally {
    joiner.child.kill('SIGKILL');
    await exitOf(joiner.child, 'the joiner');
    await Promise.all([target.close(), primary.close()]);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a joiner whose service certificate file is not a PEM certificate names the field and the file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'coco-join-cert-'));
  try {
    mkdirSync(join(dir, 'node'));
    const certificateFile = join(dir, 'service_cert.pem');
    writeFileSync(certificateFile, 'not a certificate\n');
    writeFileSync(join(dir, 'node', 'config.json'), JSON.stringify({
      network: {
        rpc_interfaces: { primary_rpc_interface: { bind_address: '127.0.0.1:0' } },
        node_to_node_interface: { bind_address: '127.0.0.1:0' },
      },
      command: { type: 'Join', service_certificate_file: certificateFile, join: { target_rpc_address: '127.0.0.1:1', retry_timeout_ms: 200 } },
    }));
    const joiner = runNode(join(dir, 'node'));
    assert.equal(await exitOf(joiner.child, 'the joiner given no certificate'), 1);
    assert.equal(joiner.output().trim().split('\n').length, 1, joiner.output());
    assert.ok(
      joiner.output().includes(`configuration $.command.service_certificate_file: ${certificateFile} is not a PEM certificate (`),
      joiner.output(),
    );
    assert.match(joiner.output(), /\); set it to the service_cert\.pem of the service this node joins \[InvalidConfig\]$/m);
    assert.doesNotMatch(joiner.output(), /caCertPem/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a joiner killed while it waits Pending asks again with the same identity, and is trusted as that one node', { timeout: 120_000 }, async (t) => {
  const sandbox = await startSandbox(['--nodes', '1']);
  t.after(() => sandbox.stop());
  const certPem = sandbox.pem('service_cert.pem');
  const nodes = async () => (await call(sandbox.url, certPem, 'GET', '/node/network/nodes')).json().nodes as { node_id: string; status: string }[];
  const first = await startJoiner(sandbox, 'joiner');
  const pending = await until('the joiner to be recorded Pending', 30_000, async () => (await nodes()).find((n) => n.status === 'Pending'));
  first.child.kill('SIGKILL');
  await exitOf(first.child, 'the joiner');
  assert.ok(existsSync(join(first.dir, 'sealed_secrets.joining.json')), 'its keys are kept until it seals its secrets');

  const again = runNode(first.dir);
  t.after(async () => {
    again.child.kill('SIGKILL');
    await exitOf(again.child, 'the joiner');
  });
  await until('the restarted joiner to ask again', 30_000, async () => (again.output().includes('joining with the keys an earlier start of this node joined with') ? true : undefined));
  assert.match(again.output(), new RegExp(`node ${pending.node_id}`));
  const member = { certPem: sandbox.pem('member0_cert.pem'), keyPem: sandbox.pem('member0_privk.pem') };
  await trustJoiningNodes({ url: sandbox.url, serviceCertPem: certPem, members: [member], expected: 2, timeoutMs: 60_000 });
  const after = await nodes();
  assert.equal(after.length, 2, 'one record of the joiner, not a second under a new identity');
  assert.equal(after.find((n) => n.node_id === pending.node_id)?.status, 'Trusted');
  await until('the joiner to seal its secrets', 30_000, async () => (existsSync(join(first.dir, 'sealed_secrets.json')) ? true : undefined));
  await until('its kept keys to go', 10_000, async () => (existsSync(join(first.dir, 'sealed_secrets.joining.json')) ? undefined : true));
});
