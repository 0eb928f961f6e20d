// Where the CLI reaches a sandbox's service: its first node, or another when that one is down, and
// what it says when none is up.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { reachableEndpoint } from '../../src/cli/service-connection.js';
import { generateKeyPair } from '../../src/crypto/signing.js';
import { createSelfSignedCertificate } from '../../src/crypto/x509.js';
import { freePort } from '../../src/cli/free-port.js';
import { CocoError } from '../../src/errors.js';
import { runCoco } from '../support/run-cli.js';

test('without --url, the CLI turns to the next node of the sandbox that accepts connections when the first does not', async (t) => {
  const workspace = mkdtempSync(join(tmpdir(), 'coco-service-connection-'));
  const listening = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => listening.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    listening.close();
    rmSync(workspace, { recursive: true, force: true });
  });
  const up = (listening.address() as AddressInfo).port;
  const down = await freePort('127.0.0.1'); // nothing listens there
  const common = join(workspace, 'sandbox_common');
  mkdirSync(common);
  const key = generateKeyPair('P-384');
  writeFileSync(join(common, 'service_cert.pem'), createSelfSignedCertificate({ subjectCn: 'CCF Service', keyPair: key, validFrom: new Date(), validityDays: 1, isCa: true }));
  writeFileSync(join(common, 'service_url'), `https://127.0.0.1:${down}\n`);
  const nodes: [string, Record<string, unknown>][] = [
    ['sandbox_0', { network: { rpc_interfaces: { primary_rpc_interface: { bind_address: `127.0.0.1:${down}` } } } }],
    ['sandbox_1', { network: { rpc_interfaces: { primary_rpc_interface: { bind_address: `127.0.0.1:${down}`, published_address: `127.0.0.1:${down}` } } } }],
    ['sandbox_10', { network: { rpc_interfaces: { primary_rpc_interface: { bind_address: '0.0.0.0:1', published_address: `127.0.0.1:${up}` } } } }],
  ];
  // As the sandbox writes them, with what a node's configuration needs besides its addresses.
  const command = { type: 'Join', service_certificate_file: '../sandbox_common/service_cert.pem', join: { target_rpc_address: '127.0.0.1:1' } };
  for (const [name, config] of nodes) {
    mkdirSync(join(workspace, name));
    writeFileSync(join(workspace, name, 'config.json'), JSON.stringify({ ...config, command }));
  }
  mkdirSync(join(workspace, 'sandbox_2')); // no configuration: skipped

  assert.equal((await reachableEndpoint({ workspace })).url, `https://127.0.0.1:${up}`, 'the published address of the first node that accepts');
  assert.equal((await reachableEndpoint({ workspace, url: `https://127.0.0.1:${down}` })).url, `https://127.0.0.1:${down}`, '--url is used as given');
  listening.close();
  await new Promise((resolve) => setTimeout(resolve, 50));
  await assert.rejects(reachableEndpoint({ workspace }), (error: unknown) => {
    assert.ok(error instanceof CocoError && error.code === 'ConnectionFailed', String(error));
    assert.equal(error.message, `no node of the sandbox in ${workspace} accepts connections (tried 127.0.0.1:${down}, 127.0.0.1:${up}): restart it (coco sandbox --workspace ${workspace}), or, if the service's nodes are elsewhere now (replaced by new ones, or moved), pass --url https://HOST:PORT of one of them`);
    return true;
  }, 'none answers: each node tried is named, with --url for a service whose nodes were replaced');
});

test('when no node of the sandbox answers (all replaced, say), coco gov says so in one line and points to --url', async (t) => {
  const workspace = mkdtempSync(join(tmpdir(), 'coco-service-connection-'));
  t.after(() => rmSync(workspace, { recursive: true, force: true }));
  const common = join(workspace, 'sandbox_common');
  mkdirSync(common);
  const key = generateKeyPair('P-384');
  writeFileSync(join(common, 'service_cert.pem'), createSelfSignedCertificate({ subjectCn: 'CCF Service', keyPair: key, validFrom: new Date(), validityDays: 1, isCa: true }));
  assert.equal(runCoco(['keygen', '--name', 'member0', '--dir', common]).status, 0);
  const ports = [await freePort('127.0.0.1'), await freePort('127.0.0.1')]; // nothing listens there
  writeFileSync(join(common, 'service_url'), `https://127.0.0.1:${ports[0]}\n`);
  ports.forEach((port, i) => {
    mkdirSync(join(workspace, `sandbox_${i}`));
    const config = { network: { rpc_interfaces: { primary_rpc_interface: { bind_address: `127.0.0.1:${port}` } } }, command: { type: 'Join', service_certificate_file: '../sandbox_common/service_cert.pem', join: { target_rpc_address: '127.0.0.1:1' } } };
    writeFileSync(join(workspace, `sandbox_${i}`, 'config.json'), JSON.stringify(config));
  });

  const result = runCoco(['gov', 'status', '--workspace', workspace]);
  assert.equal(result.status, 1, result.stderr);
  assert.equal(result.stderr, `coco: no node of the sandbox in ${workspace} accepts connections (tried ${ports.map((port) => `127.0.0.1:${port}`).join(', ')}): restart it (coco sandbox --workspace ${workspace}), or, if the service's nodes are elsewhere now (replaced by new ones, or moved), pass --url https://HOST:PORT of one of them [ConnectionFailed]\n`);
});
