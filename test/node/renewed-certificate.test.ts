// A node serves a certificate renewed by governance once the write is committed, and only one that
// is its own key's, endorsed by the service, and not expired.

import assert from 'node:assert/strict';
import test from 'node:test';
import { utf8 } from '../../src/crypto/bytes.js';
import { Tables } from '../../src/governance/builtin-tables.js';
import { createNodeIdentity, createServiceIdentity, endorseNode } from '../../src/node/identities.js';
import { renewedCertificate } from '../../src/node/renewed-certificate.js';
import { startInProcessNode } from '../support/in-process-node.js';
import { writeRecord } from '../support/records.js';

test('a renewed certificate is served once committed, and only an unexpired one of this node, endorsed by this service', async (t) => {
  const instance = startInProcessNode();
  t.after(() => instance.close());
  const { node } = instance;
  const served = node.options.endorsedNodeCertPem;
  const startedAt = node.lastTxId.seqno;
  const now = new Date();
  const record = (pem: string) =>
    node.execute((tx) => {
      tx.map(Tables.nodesEndorsedCertificates).set(utf8(node.nodeId), utf8(pem));
      return { result: undefined, applyWrites: true };
    }).txId!;
  const renew = (days: number) => endorseNode(node.options.node, node.options.service, undefined, now, days);

  const renewed = renew(30);
  const written = record(renewed);
  assert.equal(renewedCertificate(node, served, startedAt), undefined, 'not while the write is uncommitted');
  await node.waitForCommit(written.seqno);
  assert.equal(renewedCertificate(node, served, startedAt), renewed);
  assert.equal(renewedCertificate(node, renewed, startedAt), undefined, 'nothing new once served');

  for (const [what, pem] of [
    ['an expired one', endorseNode(node.options.node, node.options.service, undefined, new Date(now.getTime() - 3 * 86_400_000), 1)],
    ["another node's key", endorseNode(createNodeIdentity({ ip: ['127.0.0.1'] }, now, 1), node.options.service, undefined, now, 60)],
    ['one endorsed by another service', endorseNode(node.options.node, createServiceIdentity(now, 90), undefined, now, 60)],
    ['no certificate', 'not a PEM'],
  ] as const) {
    await node.waitForCommit(record(pem).seqno);
    assert.equal(renewedCertificate(node, renewed, startedAt), undefined, what);
  }
  // A record from before the node started (it issued itself another since) is not taken.
  const before = renew(20);
  await node.waitForCommit(record(before).seqno);
  assert.equal(renewedCertificate(node, renewed, startedAt), before);
  assert.equal(renewedCertificate(node, renewed, node.lastTxId.seqno), undefined);
});

test('after a renewal, receipts of transactions signed later carry the renewed certificate, earlier ones the old', async (t) => {
  const instance = startInProcessNode({ signatureTxCount: 1 });
  t.after(() => instance.close());
  const { node } = instance;
  const started = node.options.endorsedNodeCertPem;
  const before = writeRecord(node, 'before', 'v');
  await node.waitForCommit(before.seqno);
  const renewed = endorseNode(node.options.node, node.options.service, undefined, new Date(), 30);
  node.signWithCertificate(renewed);
  const after = writeRecord(node, 'after', 'v');
  await node.waitForCommit(after.seqno);
  assert.equal((node.receipt(before) as { cert: string }).cert, started);
  assert.equal((node.receipt(after) as { cert: string }).cert, renewed);
  const other = endorseNode(createNodeIdentity({ ip: ['127.0.0.1'] }, new Date(), 1), node.options.service, undefined, new Date(), 30);
  assert.throws(() => node.signWithCertificate(other), { code: 'InvalidArgument' });
});
