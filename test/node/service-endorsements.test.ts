// The endorsements a recovered service's receipts carry: none for its own nodes, the previous
// identity endorsed by the current key (made once) for the nodes of the service before the recovery,
// an older identity read back from the ledger for a service recovered more than once, and a refusal
// by name for a node endorsed by none of them.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCertificate, verifyCertificateChain } from '../../src/crypto/x509.js';
import { createNodeIdentity, createServiceIdentity, endorseNode, type ServiceIdentity } from '../../src/node/identities.js';
import { ServiceEndorsements } from '../../src/node/service-endorsements.js';

const VALID_FROM = new Date('2025-01-01T00:00:00Z');

function nodeOf(service: ServiceIdentity): string {
  return endorseNode(createNodeIdentity({ dns: ['localhost'] }, VALID_FROM, 10), service, undefined, VALID_FROM, 10);
}

const unavailable = (pattern: RegExp) => (error: unknown) => (error as { code?: string }).code === 'ServiceEndorsementUnavailable' && pattern.test((error as Error).message);

test("a recovered service's own nodes need no endorsement; the previous service's carry the previous identity endorsed by the current key", () => {
  const previous = createServiceIdentity(VALID_FROM, 10);
  const current = createServiceIdentity(new Date('2025-01-05T00:00:00Z'), 30);
  const endorsements = new ServiceEndorsements(current, () => previous.certPem, () => assert.fail('the previous identity is at hand'));
  assert.deepEqual(endorsements.for(nodeOf(current)), []);

  const [oldNode, otherOldNode] = [nodeOf(previous), nodeOf(previous)];
  const [endorsement] = endorsements.for(oldNode);
  assert.ok(endorsement !== undefined);
  assert.equal(endorsements.for(otherOldNode)[0], endorsement, 'one endorsement of the previous identity, made once');
  verifyCertificateChain(oldNode, { trustedRootPem: current.certPem, intermediatesPem: [endorsement], at: 'ignore-validity' });
  const [made, currentCert, previousCert] = [endorsement, current.certPem, previous.certPem].map((pem) => parseCertificate(pem));
  assert.deepEqual(made!.publicKeyDer, previousCert!.publicKeyDer);
  assert.deepEqual([made!.notBefore, made!.notAfter], [currentCert!.notBefore, currentCert!.notAfter], 'valid as the current certificate is');
});

test('a node endorsed by an identity older than the previous one waits for the ledger\'s records, then is endorsed by the current key directly', async () => {
  const [first, second, previous, current] = [1, 2, 3, 4].map(() => createServiceIdentity(VALID_FROM, 10));
  const recorded: { previous?: string } = {};
  let reads = 0;
  // The ledger's identities, newest first, the current one included (its own records come first).
  const endorsements = new ServiceEndorsements(current!, () => recorded.previous, async () => {
    reads += 1;
    return [current!.certPem, previous!.certPem, second!.certPem, first!.certPem];
  });
  const oldNode = nodeOf(previous!);
  assert.throws(() => endorsements.for(oldNode), unavailable(/this service has no previous identity/));
  // Read when needed, so a refusal is not kept once the previous identity is known.
  recorded.previous = previous!.certPem;
  assert.equal(endorsements.for(oldNode).length, 1);
  const firstNode = nodeOf(first!);
  assert.throws(() => endorsements.for(firstNode), (error: unknown) => (error as { code?: string }).code === 'TransactionNotCached');
  const [endorsement] = await endorsements.forSigner(firstNode);
  verifyCertificateChain(firstNode, { trustedRootPem: current!.certPem, intermediatesPem: [endorsement!], at: 'ignore-validity' });
  assert.deepEqual(parseCertificate(endorsement!).publicKeyDer, parseCertificate(first!.certPem).publicKeyDer);
  assert.equal(endorsements.for(nodeOf(second!)).length, 1);
  assert.throws(() => endorsements.for(nodeOf(createServiceIdentity(VALID_FROM, 10))), unavailable(/nor by any identity this service had before \(4 recorded in its ledger\)/));
  assert.equal(reads, 1, 'the ledger is read back once');
});

test('older identities that cannot be read back are named in every refusal after', async () => {
  const [previous, current] = [1, 2].map(() => createServiceIdentity(VALID_FROM, 10));
  const endorsements = new ServiceEndorsements(current!, () => previous!.certPem, () => Promise.reject(new Error('seqno 12 is not in this node\'s ledger files')));
  const olderNode = nodeOf(createServiceIdentity(VALID_FROM, 10));
  await assert.rejects(endorsements.forSigner(olderNode), unavailable(/could not be read back from this node's ledger \(seqno 12 is not in this node's ledger files\): ask a node that holds the whole ledger/));
  assert.throws(() => endorsements.for(olderNode), unavailable(/could not be read back/));
});
