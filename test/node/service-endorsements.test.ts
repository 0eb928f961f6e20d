// The endorsements a recovered service's receipts carry: none for its own nodes, the previous
// identity endorsed by the current key (made once) for the nodes of the service before the recovery,
// and a refusal by name for a node endorsed by neither.

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
  const endorsements = new ServiceEndorsements(current, () => previous.certPem);
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

test('a node endorsed by neither the current nor the previous identity is refused, saying why', () => {
  const older = createServiceIdentity(VALID_FROM, 10);
  const previous = createServiceIdentity(VALID_FROM, 10);
  const current = createServiceIdentity(VALID_FROM, 10);
  const recorded: { previous?: string } = {};
  const endorsements = new ServiceEndorsements(current, () => recorded.previous);
  const oldNode = nodeOf(previous);
  assert.throws(() => endorsements.for(oldNode), unavailable(/this service has no previous identity/));
  // Read when needed, so a refusal is not kept once the previous identity is known.
  recorded.previous = previous.certPem;
  assert.equal(endorsements.for(oldNode).length, 1);
  assert.throws(() => endorsements.for(nodeOf(older)), unavailable(/recovered more than once/));
});
