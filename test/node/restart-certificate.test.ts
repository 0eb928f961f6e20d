import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { Store } from '../../src/kv/store.js';
import { createNodeIdentity, createServiceIdentity, endorseNode } from '../../src/node/identities.js';
import { lastSignatureTime, restartCertificateWindow } from '../../src/node/restart-certificate.js';
import { appWriteSet, genesisWriteSet, makeWriter } from '../ledger/writer-fixture.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const lastSigned = new Date('2027-03-01T12:00:00Z');

/** The period of the certificate a restarted node issues itself with the window for `now`. */
function issuedPeriod(now: Date): { from: number; to: number; warning: string | undefined } {
  const window = restartCertificateWindow(now, lastSigned, 1);
  const service = createServiceIdentity(lastSigned, 10);
  const cert = new X509Certificate(endorseNode(createNodeIdentity({ ip: ['127.0.0.1'] }, now, 1), service, undefined, window.validFrom, window.validityDays));
  return { from: Date.parse(cert.validFrom), to: Date.parse(cert.validTo), warning: window.clockWarning };
}

test('a node whose clock is 400 days ahead issues itself a certificate clients with a right clock accept', () => {
  const now = new Date(lastSigned.getTime() + 400 * DAY_MS);
  const period = issuedPeriod(now);
  // A client whose clock is right reads about the ledger's last signature: inside the period.
  assert.ok(period.from <= lastSigned.getTime(), `valid from ${new Date(period.from).toISOString()}`);
  assert.ok(period.to >= now.getTime() + DAY_MS - 1000, 'and for its whole period after the node\'s clock');
  assert.equal(period.warning, undefined, 'a clock ahead cannot be told from a service stopped that long');
});

test('a node whose clock is behind its ledger issues a certificate valid at the ledger\'s time, and says its clock is wrong', () => {
  const now = new Date(lastSigned.getTime() - 10 * DAY_MS);
  const period = issuedPeriod(now);
  assert.ok(period.from <= now.getTime());
  assert.ok(period.to >= lastSigned.getTime() + DAY_MS - 1000, `valid to ${new Date(period.to).toISOString()}`);
  assert.match(period.warning ?? '', /clock reads 2027-02-19T12:00:00\.000Z, before the last signature in its ledger \(2027-03-01T12:00:00\.000Z\): its clock is wrong/);
});

test('with a right clock, the period ends its configured length after now; a few seconds behind the ledger is no warning', () => {
  const now = new Date(lastSigned.getTime() + 3 * 60 * 60 * 1000);
  const period = issuedPeriod(now);
  assert.ok(period.from <= lastSigned.getTime());
  assert.equal(period.to, Math.floor(now.getTime() / 1000) * 1000 + DAY_MS - 1000);
  assert.equal(restartCertificateWindow(new Date(lastSigned.getTime() - 5_000), lastSigned, 1).clockWarning, undefined);
  assert.deepEqual(restartCertificateWindow(now, undefined, 3), { validFrom: now, validityDays: 3 });
});

test("the period stays within the service's maximum_node_certificate_validity_days, and a clock ahead by more than it can cover is named", () => {
  const now = new Date(lastSigned.getTime() + 400 * DAY_MS);
  const window = restartCertificateWindow(now, lastSigned, 1, 365);
  assert.equal(window.validityDays, 365);
  // Ending a day after the node's clock: the certificate is good if that clock is right.
  assert.equal(window.validFrom.getTime(), now.getTime() - 364 * DAY_MS);
  assert.match(window.clockWarning ?? '', /clock reads 2028-04-04T12:00:00\.000Z, 400 days after the last signature in its ledger \(2027-03-01T12:00:00\.000Z\).*maximum_node_certificate_validity_days, 365\) cannot cover both: if the service did not stop that long, its clock is wrong/);
  // The configured period itself is bounded too; a clock ahead that the period covers is no warning.
  assert.deepEqual(restartCertificateWindow(now, undefined, 500, 365), { validFrom: now, validityDays: 365 });
  assert.equal(restartCertificateWindow(new Date(lastSigned.getTime() + 30 * DAY_MS), lastSigned, 1, 365).clockWarning, undefined);
});

test("the ledger's last signature time is the iat of the service's COSE signature", () => {
  const writer = makeWriter();
  const store = new Store();
  assert.equal(lastSignatureTime(store.beginTransaction()), undefined, 'no signature yet');
  for (const [i, writeSet] of [genesisWriteSet(), appWriteSet('a')].entries()) store.applyWriteSet(writer.appendTransaction(writeSet).writeSet, BigInt(i + 1));
  const signature = writer.appendSignature(1_803_902_400);
  store.applyWriteSet(signature.writeSet, BigInt(signature.txId.seqno));
  assert.deepEqual(lastSignatureTime(store.beginTransaction()), new Date(1_803_902_400_000));
});
