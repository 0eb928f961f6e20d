// The endorsement chain of a service recovered twice (I0 created at 2.1, its last signature at 4.20;
// I1 created at 6.21, last signature 8.40; I2 created at 10.41), as CCF's endorse_previous_identity
// writes it: e0 (I0's self-endorsement), e1 (I1 endorses I0 for 2.1-4.20), e2 (I2 endorses I1 for
// 6.21-8.40). It verifies against I2's certificate and gives I1's and I0's keys with their epochs;
// an endorsement altered, forged, left out, out of order or of epochs that do not meet does not.

import assert from 'node:assert/strict';
import test from 'node:test';
import { generateKeyPair, publicKeyDer, type KeyPair } from '../../src/crypto/signing.js';
import { createSelfSignedCertificate } from '../../src/crypto/x509.js';
import { CocoError } from '../../src/errors.js';
import { verifyEndorsementChain } from '../../src/ledger/endorsement-chain.js';
import { signIdentityEndorsement, type IdentityEndorsement } from '../../src/ledger/identity-endorsement.js';
import { parseTxId, type TxId } from '../../src/ledger/tx-id.js';

const ISSUED_AT_SECONDS = 1_743_112_494;
const keys = [generateKeyPair('P-384'), generateKeyPair('P-384'), generateKeyPair('P-384')] as const;
const certOf = (key: KeyPair) => createSelfSignedCertificate({ subjectCn: 'CCF Service', keyPair: key, validFrom: new Date(), validityDays: 1, isCa: true });
const current = certOf(keys[2]);

/** An endorsement by `signer` of `endorsed`, as its record and message say. */
function endorsement(signer: KeyPair, endorsed: KeyPair, epoch: { begin: string; end?: string; previousVersion?: number }): IdentityEndorsement {
  const epochBegin = parseTxId(epoch.begin);
  const epochEnd = epoch.end === undefined ? undefined : parseTxId(epoch.end);
  return {
    endorsement: signIdentityEndorsement({
      serviceKey: signer.privateKeyPem,
      endorsedKey: publicKeyDer(endorsed.publicKeyPem),
      epochBegin,
      ...(epochEnd && { epochEnd, lastSignedRoot: new Uint8Array(32).fill(epochEnd.seqno) }),
      issuedAtSeconds: ISSUED_AT_SECONDS,
    }),
    endorsingKey: publicKeyDer(signer.publicKeyPem),
    epochBegin,
    ...(epochEnd && { epochEnd }),
    ...(epoch.previousVersion !== undefined && { previousVersion: epoch.previousVersion }),
  };
}

const e0 = endorsement(keys[0], keys[0], { begin: '2.1' });
const e1 = endorsement(keys[1], keys[0], { begin: '2.1', end: '4.20', previousVersion: 3 });
const e2 = endorsement(keys[2], keys[1], { begin: '6.21', end: '8.40', previousVersion: 25 });
const I2_CREATED: TxId = parseTxId('10.41');

function refused(chain: IdentityEndorsement[], pattern: RegExp, options: { serviceCreateTxId?: TxId } = { serviceCreateTxId: I2_CREATED }): void {
  assert.throws(() => verifyEndorsementChain(current, chain, options), (e: unknown) => e instanceof CocoError && e.code === 'EndorsementInvalid' && pattern.test(e.message));
}

test("a service recovered twice: the chain verifies against the current certificate and gives each previous key with its epoch", () => {
  const identities = verifyEndorsementChain(current, [e2, e1, e0], { serviceCreateTxId: I2_CREATED });
  assert.deepEqual(
    identities.map((identity) => ({ key: identity.keyDer, begin: identity.epochBegin, end: identity.epochEnd })),
    [
      { key: publicKeyDer(keys[1].publicKeyPem), begin: parseTxId('6.21'), end: parseTxId('8.40') },
      { key: publicKeyDer(keys[0].publicKeyPem), begin: parseTxId('2.1'), end: parseTxId('4.20') },
    ],
  );
  assert.deepEqual(publicKeyDer(identities[1]!.keyPem), publicKeyDer(keys[0].publicKeyPem));
  // Without the self-endorsement, and without the current service's creation, the same keys.
  assert.equal(verifyEndorsementChain(current, [e2, e1]).length, 2);
  // A chain may stop anywhere: the newest endorsement alone gives I1.
  assert.equal(verifyEndorsementChain(current, [e2], { serviceCreateTxId: I2_CREATED }).length, 1);
  // A new service: its own self-endorsement, which vouches for no other key.
  assert.deepEqual(verifyEndorsementChain(certOf(keys[0]), [e0], { serviceCreateTxId: parseTxId('2.1') }), []);
});

test('an altered endorsement fails: its signature, its payload, or its record against what it signed', () => {
  for (const at of [10, 40, e2.endorsement.length - 1]) {
    const altered = e2.endorsement.slice();
    altered[at]! ^= 1;
    assert.throws(() => verifyEndorsementChain(current, [{ ...e2, endorsement: altered }, e1]), (e: unknown) => e instanceof CocoError, `byte ${at}`);
  }
  const lastByte = e2.endorsement.slice();
  lastByte[lastByte.length - 1]! ^= 1;
  refused([{ ...e2, endorsement: lastByte }, e1], /endorsement 1 of 2 \(from 6\.21\) has a signature that does not verify/);
  refused([{ ...e2, epochEnd: parseTxId('8.39') }, e1], /signs the epoch 6\.21 to 8\.40, but its record says 6\.21 to 8\.39/);
  refused([e2, { ...e1, epochBegin: parseTxId('2.2') }], /signs the epoch 2\.1 to 4\.20, but its record says 2\.2 to 4\.20/);
});

test('a forged endorsement fails: by another key, of another key, or a link left out', () => {
  const attacker = generateKeyPair('P-384');
  // The attacker endorses its own key as I1's, signing with its key: not the current service's.
  refused([endorsement(attacker, attacker, { begin: '6.21', end: '8.40', previousVersion: 25 }), e1], /endorsement 1 of 2 \(from 6\.21\) is by the key SHA-256 [0-9a-f]{64}, not by the service certificate's key/);
  // The attacker's endorsement of I0 in I1's place: e2 endorsed I1, not the attacker.
  refused([e2, endorsement(attacker, keys[0], { begin: '2.1', end: '4.20', previousVersion: 3 })], /endorsement 2 of 2 \(from 2\.1\) is by the key SHA-256 [0-9a-f]{64}, not by the key endorsement 1 endorsed/);
  // A record naming the current key as endorsing key over a message signed by another.
  refused([{ ...endorsement(attacker, keys[1], { begin: '6.21', end: '8.40', previousVersion: 25 }), endorsingKey: publicKeyDer(keys[2].publicKeyPem) }], /has a signature that does not verify/);
  // e2 left out: e1 is by I1, not by the current service.
  refused([e1, e0], /endorsement 1 of 2 \(from 2\.1\) is by the key/);
  // Out of order.
  refused([e1, e2], /endorsement 1 of 2 \(from 2\.1\) is by the key/);
  // The self-endorsement (no previous_version) can only end the chain, and endorses its own key.
  refused([e2, { ...e1, previousVersion: undefined }, e0], /is a self-endorsement \(no previous_version\) but older endorsements follow it/);
  refused([e2, e1, { ...endorsement(keys[0], keys[1], { begin: '2.1' }) }], /is a self-endorsement \(no previous_version\) of another key/);
});

test("epochs that do not meet fail: each ends with the last transaction before the newer one's, two views and one seqno earlier", () => {
  refused([e2, e1, e0], /ends at 8\.40, which is not the last transaction before 10\.42, where the current service begins/, { serviceCreateTxId: parseTxId('10.42') });
  refused([e2, e1, e0], /ends at 8\.40, which is not the last transaction before 9\.41/, { serviceCreateTxId: parseTxId('9.41') });
  // Signed by the right keys, with a gap between I0's epoch and I1's.
  const gapped = endorsement(keys[1], keys[0], { begin: '2.1', end: '4.19', previousVersion: 3 });
  refused([e2, gapped], /endorsement 2 of 2 \(from 2\.1\) ends at 4\.19, which is not the last transaction before 6\.21, where the newer endorsement's epoch begins/);
  refused([e2, endorsement(keys[1], keys[0], { begin: '2.1', previousVersion: 3 })], /has no epoch end, though it endorses a previous identity/);
  refused([endorsement(keys[2], keys[1], { begin: '6.21', end: '6.20', previousVersion: 25 })], /ends \(6\.20\) before it begins/, {});
  // The self-endorsement begins where the first service does, which the oldest recovery endorsed from its start.
  refused([e2, e1, endorsement(keys[0], keys[0], { begin: '2.2' })], /begins at 2\.2, not where the first service's epoch does \(2\.1\)/);
  assert.throws(() => verifyEndorsementChain(certOf(keys[0]), [e0], { serviceCreateTxId: parseTxId('2.5') }), /begins at 2\.1, not at the service's creation \(2\.5\)/);
});
