// A node identity the service never recorded, endorsed with the service key (which every host that
// ran a node holds in its sealed secrets), is not heard by nodes that follow a primary: its
// AppendEntries in a high view would otherwise depose the primary, and its forwarded requests would
// read the service's private state without a user's credentials.

import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CocoClient } from '../../src/client/coco-client.js';
import { publicKeyId } from '../../src/crypto/entity-id.js';
import { createNodeIdentity, endorseNode, type ServiceIdentity } from '../../src/node/identities.js';
import { startJoinersSandbox } from '../support/joiner-process.js';
import type { NodeRecord } from '../support/node-record.js';
import { hijack } from '../support/hijacker.js';
import { until } from '../support/until.js';

const WAIT_MS = 60_000;
const HIJACK_VIEW = 100_000;

test("a node identity endorsed with a kept service key is not heard by nodes that follow a primary, and the primary stays", { timeout: 180_000 }, async (t) => {
  const { sandbox, identity, client } = await startJoinersSandbox(t, ['--nodes', '3']);
  const nodes = async () => (await client.request('GET', '/node/network/nodes')).json<{ nodes: NodeRecord[] }>().nodes;
  const view = async (c: CocoClient) => (await c.request('GET', '/node/consensus')).json<{ details: { current_view: number } }>().details.current_view;
  const backup = await until('a backup', WAIT_MS, async () => (await nodes()).find((n) => n.status === 'Trusted' && !n.primary));
  const backupIndex = [0, 1, 2].find((i) => sandbox.nodeUrl(i) === `https://${Object.values(backup.rpc_interfaces)[0]!.published_address}`)!;
  const backupClient = new CocoClient({ url: sandbox.nodeUrl(backupIndex), ...identity });
  t.after(() => backupClient.close());
  const viewBefore = await view(client);

  // A new identity, endorsed with the service key a node's sealed secrets hold.
  const sealed = JSON.parse(readFileSync(join(sandbox.workspace, 'sandbox_0', 'sealed_secrets.json'), 'utf8')) as { service_private_key: string };
  const servicePrivateKeyPem = sealed.service_private_key;
  const servicePublicKeyPem = createPublicKey(createPrivateKey(servicePrivateKeyPem)).export({ type: 'spki', format: 'pem' }) as string;
  const service: ServiceIdentity = { certPem: sandbox.pem('service_cert.pem'), keyPair: { privateKeyPem: servicePrivateKeyPem, publicKeyPem: servicePublicKeyPem } };
  const stranger = createNodeIdentity({ ip: ['127.0.0.1'] }, new Date(), 1);
  const strangerCert = endorseNode(stranger, service, undefined, new Date(Date.now() - 60_000), 1);
  const strangerId = publicKeyId(strangerCert);

  const config = JSON.parse(readFileSync(join(sandbox.workspace, `sandbox_${backupIndex}`, 'config.json'), 'utf8')) as { network: { node_to_node_interface: { bind_address: string } } };
  const port = Number(config.network.node_to_node_interface.bind_address.split(':').at(-1));
  const attacker = hijack(t, { port, nodeId: backup.node_id }, { nodeId: strangerId, certPem: strangerCert, keyPem: stranger.keyPair.privateKeyPem }, HIJACK_VIEW);
  await until("the backup's refusal", WAIT_MS, async () => {
    const log = readFileSync(join(sandbox.workspace, `sandbox_${backupIndex}`, 'out'), 'utf8');
    return log.includes(`refused an inbound connection from node ${strangerId}: not authorized`) ? true : undefined;
  });
  // Writes go on meanwhile, and the service stays in its view with its primary.
  const written = (await client.request('POST', '/app/log/private', { body: { id: 1, msg: 'while a stranger calls' } })).txId!;
  assert.ok(written.seqno > 0);
  attacker.stop();
  assert.equal(await view(client), viewBefore, 'no election');
  assert.ok((await view(backupClient)) < HIJACK_VIEW, "the backup never moved to the stranger's view");
  assert.doesNotMatch(readFileSync(join(sandbox.workspace, `sandbox_${backupIndex}`, 'out'), 'utf8'), new RegExp(`the primary is node ${strangerId.slice(0, 12)}`));
});
