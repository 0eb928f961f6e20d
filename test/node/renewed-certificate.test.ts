// A node serves a certificate renewed by governance once the write is committed, and only one that
// is its own key's, endorsed by the service, and in date; it says why it serves any other not (yet).

import assert from 'node:assert/strict';
import test from 'node:test';
import { utf8 } from '../../src/crypto/bytes.js';
import { Tables } from '../../src/governance/builtin-tables.js';
import { createNodeIdentity, createServiceIdentity, endorseNode } from '../../src/node/identities.js';
import { recordedCertificate, renewedCertificate } from '../../src/node/renewed-certificate.js';
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
  assert.deepEqual(renewedCertificate(node, served, startedAt), { certPem: renewed });
  assert.equal(renewedCertificate(node, renewed, startedAt), undefined, 'nothing new once served');

  const dayMs = 86_400_000;
  for (const [what, pem, why] of [
    ['an expired one', endorseNode(node.options.node, node.options.service, undefined, new Date(now.getTime() - 3 * dayMs), 1), /validity period ended on .*renew it again/],
    ["another node's key", endorseNode(createNodeIdentity({ ip: ['127.0.0.1'] }, now, 1), node.options.service, undefined, now, 60), /not for this node's key/],
    ['one endorsed by another service', endorseNode(node.options.node, createServiceIdentity(now, 90), undefined, now, 60), /not endorsed by this service/],
    ['no certificate', 'not a PEM', /not a PEM certificate/],
  ] as const) {
    await node.waitForCommit(record(pem).seqno);
    const renewal = renewedCertificate(node, renewed, startedAt);
    assert.equal(renewal?.certPem, pem, what);
    assert.match(renewal.notServed ?? '', why, what);
  }
  // One whose period begins later is served from then on, not before.
  const future = endorseNode(node.options.node, node.options.service, undefined, new Date(now.getTime() + dayMs), 30);
  await node.waitForCommit(record(future).seqno);
  assert.match(renewedCertificate(node, renewed, startedAt)?.notServed ?? '', /valid only from .*served until then/);
  assert.deepEqual(renewedCertificate(node, renewed, startedAt, now.getTime() + 2 * dayMs), { certPem: future });
  // A record from before the node started (it issued itself another since) is not taken.
  const before = renew(20);
  await node.waitForCommit(record(before).seqno);
  assert.deepEqual(renewedCertificate(node, renewed, startedAt), { certPem: before });
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

test('a node resuming keeps the certificate recorded for it while it is in date, and not one out of date', async (t) => {
  const instance = startInProcessNode();
  t.after(() => instance.close());
  const { node } = instance;
  const { service } = node.options;
  const now = Date.now();
  const recorded = (pem: string, at = now) =>
    node.execute((tx) => {
      tx.map(Tables.nodesEndorsedCertificates).set(utf8(node.nodeId), utf8(pem));
      return { result: recordedCertificate(tx, node.nodeId, service.certPem, at), applyWrites: false };
    }).result;
  const governed = endorseNode(node.options.node, service, undefined, new Date(now), 365);
  assert.equal(recorded(governed), governed);
  assert.equal(recorded(governed, now + 400 * 86_400_000), undefined, 'expired by then');
  assert.equal(recorded(endorseNode(node.options.node, service, undefined, new Date(now + 86_400_000), 30)), undefined, 'not valid yet');
  assert.equal(recorded(endorseNode(node.options.node, createServiceIdentity(new Date(now), 90), undefined, new Date(now), 30)), undefined, 'another service');
});
