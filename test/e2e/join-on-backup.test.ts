// As in CCF, a node the service already trusts is answered its join (with the network's secrets)
// by any node, a backup included, once that trust is committed: a joiner trusted just before the
// primary died must still start, or the configuration that counts it may have no majority to elect
// another primary. A node the service does not know is still sent to the primary.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { virtualQuote } from '../../src/attestation/virtual-attestation.js';
import { hostData } from '../../src/cli/node-service.js';
import { CocoClient } from '../../src/client/coco-client.js';
import { GovernanceClient } from '../../src/client/governance-client.js';
import { passProposal } from '../../src/client/open-service.js';
import { createNodeIdentity, type NodeIdentity } from '../../src/node/identities.js';
import { startJoinersSandbox, validFromNow } from '../support/joiner-process.js';
import type { NodeRecord } from '../support/node-record.js';
import { repoRoot } from '../support/paths.js';
import { until } from '../support/until.js';

const WAIT_MS = 30_000;
const version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;

test('a backup answers the join of a node the service trusts; an unknown node it sends to the primary', { timeout: 180_000 }, async (t) => {
  const { sandbox, identity, client } = await startJoinersSandbox(t, ['--nodes', '3']);
  const member = new GovernanceClient(client, { member: { certPem: sandbox.pem('member0_cert.pem'), keyPem: sandbox.pem('member0_privk.pem') } });
  const nodes = async () => (await client.request('GET', '/node/network/nodes')).json<{ nodes: NodeRecord[] }>().nodes;
  const backup = await until('a backup', WAIT_MS, async () => (await nodes()).find((n) => n.status === 'Trusted' && !n.primary));
  const backupUrl = `https://${Object.values(backup.rpc_interfaces)[0]!.published_address}`;

  // A joiner's request, as `coco node` makes it; its addresses are never listened on (the node is never started).
  let port = 40_000 + Math.floor(Math.random() * 10_000);
  const joinRequest = (node: NodeIdentity) => {
    port += 2;
    return {
      node_info_network: {
        node_to_node_interface: { bind_address: `127.0.0.1:${port}` },
        rpc_interfaces: { primary_rpc_interface: { bind_address: `127.0.0.1:${port + 1}` } },
      },
      quote_info: virtualQuote(node.keyPair.publicKeyPem, hostData(version)),
      certificate_signing_request: node.csrPem,
      node_data: {},
    };
  };
  /** How `node` asks `url` to join with `body`: again and again, redirects not followed. */
  const joinAs = (node: NodeIdentity, body: ReturnType<typeof joinRequest>, url: string) => {
    const joiner = new CocoClient({ url, caCertPem: identity.caCertPem, certPem: node.selfSignedCertPem, keyPem: node.keyPair.privateKeyPem, redirectsMax: 0 });
    t.after(() => joiner.close());
    return () => joiner.request('POST', '/node/join', { body, allowError: true });
  };

  const trustedNode = createNodeIdentity({ ip: ['127.0.0.1'] }, new Date(), 1);
  const request = joinRequest(trustedNode);
  const viaPrimary = joinAs(trustedNode, request, sandbox.url);
  const first = await viaPrimary();
  assert.equal(first.status, 200, first.text());
  assert.equal(first.json<{ node_status: string }>().node_status, 'Pending');
  const nodeId = first.json<{ node_id: string }>().node_id;
  // Pending, it is sent to the primary by a backup, as any joiner is.
  const viaBackup = joinAs(trustedNode, request, backupUrl);
  assert.equal((await viaBackup()).status, 308);

  await passProposal(client, [member], [{ name: 'transition_node_to_trusted', args: { node_id: nodeId, valid_from: validFromNow() } }]);
  const answered = await until('the backup to answer the trusted node', WAIT_MS, async () => {
    const response = await viaBackup();
    return response.status === 200 ? response : undefined;
  });
  const { node_status: status, node_id: answeredId, network_info: info } = answered.json<{ node_status: string; node_id: string; network_info: { endorsed_certificate: string; ledger_secrets: unknown[]; identity: { cert: string } } }>();
  assert.deepEqual([status, answeredId], ['Trusted', nodeId]);
  assert.equal(info.identity.cert.trim(), identity.caCertPem.trim());
  assert.ok(info.ledger_secrets.length >= 1);
  assert.match(info.endorsed_certificate, /^-----BEGIN CERTIFICATE-----/);

  // A node the service does not know is still sent to the primary.
  const strangerNode = createNodeIdentity({ ip: ['127.0.0.1'] }, new Date(), 1);
  const stranger = await joinAs(strangerNode, joinRequest(strangerNode), backupUrl)();
  assert.equal(stranger.status, 308);
  assert.match(String(stranger.headers.location), /\/node\/join$/);
});
