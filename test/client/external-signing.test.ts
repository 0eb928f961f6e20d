// Specification of governance requests signed where the key is (an HSM, a key vault): the prepared
// request says what to sign (the ToBeSigned bytes and their digest, by the certificate's curve),
// the signature comes back as DER or raw r‖s, and the finished envelope is the one signing with the
// key PEM gives, once its signature verifies with the certificate; anything else is refused.

import assert from 'node:assert/strict';
import { createHash, createPrivateKey, sign } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { decodeCoseSign1, sigStructure, verifyCoseSign1 } from '../../src/crypto/cose-sign1.js';
import type { CurveName } from '../../src/crypto/signing.js';
import { prepareGovernanceRequest, signGovernanceRequest, type GovernanceRequestFields } from '../../src/client/cose-signing.js';
import { finishPreparedRequest, type ExternalSigner, type SignatureRequest } from '../../src/client/external-signing.js';
import { utf8 } from '../../src/crypto/bytes.js';
import { CocoError } from '../../src/errors.js';
import { createIdentity, type Identity } from './tls-fixture.js';

const FIELDS: GovernanceRequestFields = {
  content: utf8('{"ballot":"export function vote (proposal, proposerId) { return true }"}'),
  msgType: 'ballot',
  createdAt: 1_700_000_000,
  proposalId: 'c'.repeat(64),
};

const CURVES: { curve: CurveName; algorithm: string; hash: string; signatureBytes: number }[] = [
  { curve: 'P-256', algorithm: 'ES256', hash: 'sha256', signatureBytes: 64 },
  { curve: 'P-384', algorithm: 'ES384', hash: 'sha384', signatureBytes: 96 },
];

const members = {} as Record<string, Identity>;
let stranger: Identity;
let ed25519: Identity;

before(async () => {
  [members['P-256'], members['P-384'], stranger, ed25519] = await Promise.all([
    createIdentity('member-p256', 'P-256'),
    createIdentity('member-p384', 'P-384'),
    createIdentity('stranger', 'P-384'),
    createIdentity('edwards', 'Ed25519'),
  ]);
});

/** Bytes as a plain Uint8Array: decoded CBOR byte strings carry more properties. */
function plain(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}

/** The HSM: signs what it is given with node:crypto, outside the SDK. */
function hsmSignature(member: Identity, toBeSigned: Uint8Array, hash: string, form: 'der' | 'ieee-p1363'): Uint8Array {
  return sign(hash, toBeSigned, { key: createPrivateKey(member.keyPem), dsaEncoding: form });
}

async function rejects(promise: Promise<unknown>, code: string, mentions: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof CocoError, String(error));
    assert.equal(error.code, code, error.message);
    assert.match(error.message, mentions);
    return true;
  });
}

function throws(fn: () => unknown, code: string, mentions: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof CocoError, String(error));
    assert.equal(error.code, code, error.message);
    assert.match(error.message, mentions);
    return true;
  });
}

describe('prepareGovernanceRequest and finishPreparedRequest', () => {
  for (const { curve, algorithm, hash, signatureBytes } of CURVES) {
    it(`asks a ${curve} signer for ${algorithm} over the ToBeSigned, and finishes a DER or raw signature into the envelope a key PEM makes`, () => {
      const member = members[curve]!;
      const prepared = prepareGovernanceRequest({ ...FIELDS, signerCertPem: member.certPem });
      assert.equal(prepared.algorithm, algorithm);
      const signedWithKey = decodeCoseSign1(signGovernanceRequest({ ...FIELDS, signerCertPem: member.certPem, signerKeyPem: member.keyPem }));
      assert.deepEqual(prepared.protectedBytes, plain(signedWithKey.protectedBytes), 'the same protected header, byte for byte');
      assert.deepEqual(prepared.toBeSigned, sigStructure(signedWithKey.protectedBytes, FIELDS.content));
      assert.deepEqual(prepared.digest, new Uint8Array(createHash(hash).update(prepared.toBeSigned).digest()));
      for (const form of ['der', 'ieee-p1363'] as const) {
        const envelope = finishPreparedRequest(prepared, hsmSignature(member, prepared.toBeSigned, hash, form));
        const message = decodeCoseSign1(envelope, { requireTag: true });
        assert.deepEqual(plain(message.protectedBytes), plain(signedWithKey.protectedBytes), form);
        assert.deepEqual(message.payload && plain(message.payload), FIELDS.content, form);
        assert.equal(message.unprotectedHeader.size, 0, form);
        assert.equal(message.signature.length, signatureBytes, `${form}: raw r‖s in the envelope`);
        assert.equal(verifyCoseSign1(message, member.certPem), true, form);
      }
    });
  }

  it('refuses a signature by another key, over another request, or of neither form, with InvalidSignature', () => {
    const member = members['P-384']!;
    const prepared = prepareGovernanceRequest({ ...FIELDS, signerCertPem: member.certPem });
    throws(() => finishPreparedRequest(prepared, hsmSignature(stranger, prepared.toBeSigned, 'sha384', 'der')), 'InvalidSignature', /does not verify with the key of member [0-9a-f]{64}'s certificate/);
    const other = prepareGovernanceRequest({ ...FIELDS, createdAt: FIELDS.createdAt + 1, signerCertPem: member.certPem });
    throws(() => finishPreparedRequest(prepared, hsmSignature(member, other.toBeSigned, 'sha384', 'ieee-p1363')), 'InvalidSignature', /does not verify/);
    throws(() => finishPreparedRequest(prepared, new Uint8Array(64).fill(1)), 'InvalidSignature', /64 bytes: neither a DER ECDSA signature nor ES384's raw r‖s \(96 bytes\)/);
  });

  it('refuses a certificate whose key is not ECDSA: CCF takes no other signature on requests', () => {
    throws(() => prepareGovernanceRequest({ ...FIELDS, signerCertPem: ed25519.certPem }), 'InvalidKey', /only ECDSA signatures on requests \(ES256, ES384, ES512\), and this key is Ed25519/);
  });
});

describe('signGovernanceRequest with an ExternalSigner', () => {
  it('asks the signer once, with the algorithm, the ToBeSigned and its digest, and gives the envelope', async () => {
    const member = members['P-256']!;
    const asked: SignatureRequest[] = [];
    const signer: ExternalSigner = {
      certPem: member.certPem,
      sign: async (request) => {
        asked.push(request);
        return hsmSignature(member, request.toBeSigned, 'sha256', 'der');
      },
    };
    const message = decodeCoseSign1(await signGovernanceRequest({ ...FIELDS, signer }));
    assert.equal(asked.length, 1);
    const prepared = prepareGovernanceRequest({ ...FIELDS, signerCertPem: member.certPem });
    assert.deepEqual(asked[0], { algorithm: 'ES256', toBeSigned: prepared.toBeSigned, digest: prepared.digest });
    assert.equal(verifyCoseSign1(message, member.certPem), true);
  });

  it('rejects what a signer answers wrongly, and a signer that is no signer, as a rejected promise', async () => {
    const member = members['P-384']!;
    const answering = (answer: unknown): ExternalSigner => ({ certPem: member.certPem, sign: async () => answer as Uint8Array });
    await rejects(signGovernanceRequest({ ...FIELDS, signer: answering('MEUCIQ...') }), 'InvalidArgument', /must resolve to the signature's bytes \(a Uint8Array\), got string/);
    await rejects(signGovernanceRequest({ ...FIELDS, signer: answering(hsmSignature(stranger, utf8('x'), 'sha384', 'der')) }), 'InvalidSignature', /does not verify/);
    await rejects(signGovernanceRequest({ ...FIELDS, signer: { certPem: 'not a certificate', sign: async () => new Uint8Array() } }), 'InvalidCertificate', /signer\.certPem is not a PEM certificate/);
    await rejects(signGovernanceRequest({ ...FIELDS, signer: { certPem: member.certPem } as ExternalSigner }), 'InvalidArgument', /signer\.sign must be a function/);
  });
});
