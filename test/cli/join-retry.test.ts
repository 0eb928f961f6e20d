// A joiner that cannot be admitted yet asks again (as CCF's do), and each retry says what the
// operator can change: a service certificate that does not endorse the target node is named by
// its configuration field, not by an option of the client SDK; a target that answers 503 is
// quoted (a backup that knows no primary, which the joiner may be needed to elect); a target that
// is a node-to-node port is named as such; a service certificate file that is none is named by its
// field, once, before anything starts.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort } from '../../src/cli/free-port.js';
import { createService, reply, startServer } from '../client/tls-fixture.js';
import { exitOf } from '../support/child-exit.js';
import { runNode, startJoiner } from '../support/joiner-process.js';
import { startSandbox } from '../support/sandbox-process.js';
import { until } from '../support/until.js';

const RETRIES_WAIT_MS = 30_000;

test('a joiner trusting another service certificate names command.service_certificate_file on every retry', async () => {
  const sandbox = await startSandbox(['--nodes', '1']);
  const wrongCertificate = sandbox.file('user0_cert.pem');
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
  } finally {
    joiner.child.kill('SIGKILL');
    await exitOf(joiner.child, 'the joiner');
    await sandbox.stop();
  }
});

test("a joiner whose target answers 503 quotes the target's error on each retry", async () => {
  const service = await createService();
  const target = await startServer(service, (_request, res) =>
    reply(res, 503, { error: { code: 'NodeCannotHandleRequest', message: 'this node is a backup and no primary is known; retry shortly' } }),
  );
  const dir = mkdtempSync(join(tmpdir(), 'coco-join-503-'));
  mkdirSync(join(dir, 'node'));
  writeFileSync(join(dir, 'service_cert.pem'), service.certPem);
  writeFileSync(join(dir, 'node', 'config.json'), JSON.stringify({
    network: {
      rpc_interfaces: { primary_rpc_interface: { bind_address: `127.0.0.1:${await freePort('127.0.0.1')}` } },
      node_to_node_interface: { bind_address: `127.0.0.1:${await freePort('127.0.0.1')}` },
    },
    command: { type: 'Join', service_certificate_file: join(dir, 'service_cert.pem'), join: { target_rpc_address: new URL(target.url).host, retry_timeout_ms: 200 } },
  }));
  const joiner = runNode(join(dir, 'node'));
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
