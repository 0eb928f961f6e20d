// Specification of the COSE Sign1 request bodies that CCF accepts: tagged Sign1, payload = the
// request body, protected header with alg from the key, kid = the signer's ID as ASCII hex bytes,
// the ccf.gov.msg.* (or ccf.msg.*) headers and nothing else, and a signature that verifies with the
// signer's certificate and with no other.

import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { fromUtf8, toHex, utf8 } from '../../src/crypto/bytes.js';
import { cborUnsignedBigInt, COSE_ALG_ES256, COSE_ALG_ES384, COSE_HEADER_ALG, COSE_HEADER_KID, decodeCoseSign1, protectedHeaderValues, verifyCoseSign1 } from '../../src/crypto/cose-sign1.js';
import type { CurveName } from '../../src/crypto/signing.js';
import {
  CREATED_AT_SECONDS_MAX,
  GOVERNANCE_MSG_TYPES,
  signGovernanceRequest,
  signUserRequest,
  type GovernanceMsgType,
  type GovernanceRequestInput,
} from '../../src/client/cose-signing.js';
import { CocoError } from '../../src/errors.js';
import { createIdentity, type Identity } from './tls-fixture.js';
import { cborTags } from '../support/cbor-tags.js';

const CREATED_AT = 1_700_000_000;
/** CBOR unsigned integer 1700000000: major type 0, 4-byte argument. */
const CREATED_AT_CBOR = '1a6553f100';
const PROPOSAL_ID = 'a'.repeat(64);
const CONTENT = utf8('{"actions":[{"name":"set_constitution","args":{"constitution":"x"}}]}');
const COSE_SIGN1_TAG_BYTE = 0xd2;

const identities = {} as Record<CurveName, Identity>;
let other: Identity;
let ed25519: Identity;

before(async () => {
  [identities['P-384'], identities['P-256'], other, ed25519] = await Promise.all([
    createIdentity('member0', 'P-384'),
    createIdentity('member1', 'P-256'),
    createIdentity('member2', 'P-384'),
    createIdentity('edwards', 'Ed25519'),
  ]);
});

function governanceInput(msgType: GovernanceMsgType, signer: Identity, extra: Partial<GovernanceRequestInput> = {}): GovernanceRequestInput {
  return {
    content: CONTENT,
    msgType,
    createdAt: CREATED_AT,
    ...(msgType === 'ballot' || msgType === 'withdrawal' ? { proposalId: PROPOSAL_ID } : {}),
    signerCertPem: signer.certPem,
    signerKeyPem: signer.keyPem,
    ...extra,
  };
}

function assertCode(fn: () => unknown, code: string, mentions?: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof CocoError, `expected a CocoError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    if (mentions !== undefined) assert.match(error.message, mentions);
    return true;
  });
}

describe('signGovernanceRequest', () => {
  const algs: [CurveName, number][] = [['P-384', COSE_ALG_ES384], ['P-256', COSE_ALG_ES256]];
  for (const [curve, alg] of algs) {
    for (const msgType of GOVERNANCE_MSG_TYPES) {
      it(`signs a '${msgType}' request with a ${curve} key: every CCF header, the body as payload, a valid signature`, () => {
        const signer = identities[curve];
        const bytes = signGovernanceRequest(governanceInput(msgType, signer));
        assert.equal(bytes[0], COSE_SIGN1_TAG_BYTE, 'tagged COSE_Sign1 (tag 18)');
        const message = decodeCoseSign1(bytes);
        // Plain byte strings, as CCF's CDDL has them: no tag 64, which CCF's own tools refuse.
        assert.deepEqual(cborTags(bytes), [18]);
        assert.deepEqual(cborTags(message.protectedBytes), []);
        const expected = new Map<number | string, unknown>([
          [COSE_HEADER_ALG, alg],
          [COSE_HEADER_KID, utf8(signer.id)],
          ['ccf.gov.msg.type', msgType],
          ['ccf.gov.msg.created_at', CREATED_AT],
        ]);
        if (msgType === 'ballot' || msgType === 'withdrawal') expected.set('ccf.gov.msg.proposal_id', PROPOSAL_ID);
        assert.deepEqual([...message.protectedHeader.keys()].sort(), [...expected.keys()].sort());
        for (const [key, value] of expected) {
          const actual = message.protectedHeader.get(key);
          assert.deepEqual(actual instanceof Uint8Array ? new Uint8Array(actual) : actual, value, `header ${String(key)}`);
        }
        assert.equal(fromUtf8(message.protectedHeader.get(COSE_HEADER_KID) as Uint8Array), signer.id, 'kid is the ASCII hex member ID');
        assert.ok(toHex(message.protectedBytes).includes(CREATED_AT_CBOR), 'created_at is a CBOR integer');
        assert.equal(message.unprotectedHeader.size, 0);
        assert.deepEqual(message.payload && new Uint8Array(message.payload), CONTENT);
        assert.equal(verifyCoseSign1(message, signer.certPem), true);
      });
    }
  }

  it('adds the proposal ID to any message type when given', () => {
    const message = decodeCoseSign1(signGovernanceRequest(governanceInput('proposal', identities['P-384'], { proposalId: PROPOSAL_ID })));
    assert.equal(message.protectedHeader.get('ccf.gov.msg.proposal_id'), PROPOSAL_ID);
  });

  it('signs an empty body as an empty payload', () => {
    const signer = identities['P-256'];
    const message = decodeCoseSign1(signGovernanceRequest(governanceInput('state_digest', signer, { content: new Uint8Array() })));
    assert.equal(message.payload?.length, 0);
    assert.equal(verifyCoseSign1(message, signer.certPem), true);
  });

  it('produces a signature that fails for a tampered payload, header or signature, and for another member', () => {
    const signer = identities['P-384'];
    const message = decodeCoseSign1(signGovernanceRequest(governanceInput('proposal', signer)));
    const payload = new Uint8Array(CONTENT);
    payload[0] = 0x5b;
    assert.equal(verifyCoseSign1({ ...message, payload }, signer.certPem), false);
    const protectedBytes = new Uint8Array(message.protectedBytes);
    protectedBytes[protectedBytes.length - 1] = (protectedBytes.at(-1) ?? 0) ^ 0x01;
    assert.equal(verifyCoseSign1({ ...message, protectedBytes }, signer.certPem), false);
    const signature = new Uint8Array(message.signature);
    signature[5] = (signature[5] ?? 0) ^ 0x01;
    assert.equal(verifyCoseSign1({ ...message, signature }, signer.certPem), false);
    assert.equal(verifyCoseSign1(message, other.certPem), false);
  });

  it('requires the proposal ID for ballots and withdrawals', () => {
    for (const msgType of ['ballot', 'withdrawal'] as const) {
      const input = governanceInput(msgType, identities['P-384']);
      delete input.proposalId;
      assertCode(() => signGovernanceRequest(input), 'InvalidArgument', /proposalId/);
    }
  });

  const invalidInputs: [string, () => Partial<GovernanceRequestInput>, string][] = [
    ['a proposal ID that is not 64 lowercase hex digits', () => ({ proposalId: 'A'.repeat(64) }), 'InvalidArgument'],
    ['a negative created_at', () => ({ createdAt: -1 }), 'InvalidArgument'],
    ['a fractional created_at', () => ({ createdAt: CREATED_AT + 0.5 }), 'InvalidArgument'],
    ['a created_at in milliseconds', () => ({ createdAt: CREATED_AT * 1000 }), 'InvalidArgument'],
    ['a created_at past CCF\'s limit', () => ({ createdAt: CREATED_AT_SECONDS_MAX + 1 }), 'InvalidArgument'],
    ['a created_at that is not a number', () => ({ createdAt: Number.NaN }), 'InvalidArgument'],
    ['an unknown message type', () => ({ msgType: 'vote' as GovernanceMsgType }), 'InvalidArgument'],
    ['content that is not bytes', () => ({ content: '{}' as unknown as Uint8Array }), 'InvalidArgument'],
    ['a key that is not the certificate\'s', () => ({ signerKeyPem: other.keyPem }), 'InvalidKey'],
    ['a key that is not PEM', () => ({ signerKeyPem: 'secret' }), 'InvalidKey'],
  ];
  for (const [what, extra, code] of invalidInputs) {
    it(`rejects ${what} with ${code}`, () => {
      assertCode(() => signGovernanceRequest(governanceInput('ballot', identities['P-384'], extra())), code);
    });
  }

  it('names an encrypted key as encrypted, which Coco cannot use without a passphrase', () => {
    const signer = identities['P-384'];
    const encrypted = createPrivateKey(signer.keyPem).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'locked' }) as string;
    assertCode(() => signGovernanceRequest(governanceInput('proposal', signer, { signerKeyPem: encrypted })), 'InvalidKey', /signerKeyPem is an encrypted private key, and Coco takes no passphrase: .*ExternalSigner/);
  });

  it('rejects an Ed25519 key: CCF accepts ECDSA only', () => {
    assertCode(() => signGovernanceRequest(governanceInput('proposal', ed25519)), 'InvalidKey', /ECDSA/);
  });

  it('accepts the largest created_at CCF accepts, and signs it as a CBOR integer, not a float', () => {
    const message = decodeCoseSign1(signGovernanceRequest(governanceInput('ack', identities['P-256'], { createdAt: CREATED_AT_SECONDS_MAX })));
    const encoded = protectedHeaderValues(message.protectedBytes).get('ccf.gov.msg.created_at');
    assert.equal(cborUnsignedBigInt(encoded!), BigInt(CREATED_AT_SECONDS_MAX));
  });
});

describe('signUserRequest', () => {
  it('signs with ccf.msg.type and ccf.msg.created_at, kid = the user ID, and nothing of governance', () => {
    const signer = identities['P-256'];
    const message = decodeCoseSign1(
      signUserRequest({ content: utf8('{"x":1}'), msgType: 'write', createdAt: CREATED_AT, signerCertPem: signer.certPem, signerKeyPem: signer.keyPem }),
    );
    assert.deepEqual([...message.protectedHeader.keys()].sort(), [COSE_HEADER_ALG, COSE_HEADER_KID, 'ccf.msg.created_at', 'ccf.msg.type'].sort());
    assert.equal(message.protectedHeader.get(COSE_HEADER_ALG), COSE_ALG_ES256);
    assert.equal(fromUtf8(message.protectedHeader.get(COSE_HEADER_KID) as Uint8Array), signer.id);
    assert.equal(message.protectedHeader.get('ccf.msg.type'), 'write');
    assert.equal(message.protectedHeader.get('ccf.msg.created_at'), CREATED_AT);
    assert.deepEqual(message.payload && new Uint8Array(message.payload), utf8('{"x":1}'));
    assert.equal(verifyCoseSign1(message, signer.certPem), true);
  });

  it('rejects an empty message type, a bad created_at and a mismatched key', () => {
    const signer = identities['P-384'];
    const base = { content: new Uint8Array(), msgType: 'write', createdAt: CREATED_AT, signerCertPem: signer.certPem, signerKeyPem: signer.keyPem };
    assertCode(() => signUserRequest({ ...base, msgType: '' }), 'InvalidArgument');
    assertCode(() => signUserRequest({ ...base, createdAt: -5 }), 'InvalidArgument');
    assertCode(() => signUserRequest({ ...base, signerKeyPem: other.keyPem }), 'InvalidKey');
  });
});
