// A node that started a service and then lost its ledger and snapshots (a disk replaced, a directory
// deleted) is refused at its next start: it does not found a second service under the same address
// and configuration, and the secrets it sealed, the only copy of its keys, stay as they were. A first
// start that failed before its genesis transaction (a port another process holds) leaves nothing that
// a later start takes for such a node.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { startNodeService } from '../../src/cli/node-service.js';
import { certificateId } from '../../src/crypto/entity-id.js';
import { CocoError } from '../../src/errors.js';
import { parseNodeConfig } from '../../src/node/node-config.js';
import { writeNodeConfig } from '../support/node-process.js';
import { testPort } from '../support/test-ports.js';

const dir = mkdtempSync(join(tmpdir(), 'coco-restart-lost-ledger-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a node whose ledger and snapshots are gone, with its sealed secrets kept, refuses to start a new service over them', async () => {
  const path = await writeNodeConfig(dir);
  const config = parseNodeConfig(JSON.parse(readFileSync(path, 'utf8')), path);
  const first = await startNodeService(config, '1.0.0');
  const serviceCert = first.serviceCertPem;
  await first.stop();
  const sealedBefore = readFileSync(config.sealedSecretsFile);
  rmSync(config.ledgerDirectory, { recursive: true, force: true });
  rmSync(config.snapshots.directory, { recursive: true, force: true });

  // A start that wrongly succeeds is stopped, so that the test fails rather than hangs on its node.
  const again = startNodeService(config, '1.0.0');
  again.then((service) => service.stop(), () => undefined);
  await assert.rejects(again, (error: unknown) => {
    assert.ok(error instanceof CocoError && error.code === 'LedgerMissing', String(error));
    assert.match(error.message, new RegExp(`the service whose certificate has fingerprint ${certificateId(serviceCert)}`));
    assert.match(error.message, /this node's data is lost, and it will not start a new service over it/);
    assert.match(error.message, /Join configuration/);
    return true;
  });
  assert.deepEqual(readFileSync(config.sealedSecretsFile), sealedBefore, 'the sealed secrets are left as they were');
});

test('a first start whose node-to-node port another process holds seals nothing: the next start, on free ports, starts the service', { timeout: 60_000 }, async () => {
  const nodeDir = mkdtempSync(join(dir, 'held-port-'));
  const path = await writeNodeConfig(nodeDir);
  const json = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  const onPorts = async (nodeToNodePort: number) =>
    parseNodeConfig({ ...json, network: { rpc_interfaces: { primary: { bind_address: `127.0.0.1:${await testPort()}` } }, node_to_node_interface: { bind_address: `127.0.0.1:${nodeToNodePort}` } } }, path);
  const heldPort = await testPort();
  const holder = createServer();
  await new Promise<void>((resolve) => holder.listen(heldPort, '127.0.0.1', resolve));
  const held = await onPorts(heldPort);
  try {
    const first = startNodeService(held, '1.0.0');
    first.then((service) => service.stop(), () => undefined);
    await assert.rejects(first, (error: unknown) => {
      assert.ok(error instanceof CocoError && error.code === 'ChannelListenFailed', String(error));
      return true;
    });
  } finally {
    holder.close();
  }
  assert.equal(existsSync(held.sealedSecretsFile), false, 'no secrets sealed for a service that never wrote its genesis');

  const second = await startNodeService(await onPorts(await testPort()), '1.0.0');
  try {
    assert.equal(second.wroteServiceCertificate, true, 'a new service, not a restart');
  } finally {
    await second.stop();
  }
});
