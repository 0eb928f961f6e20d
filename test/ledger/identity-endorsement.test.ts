// The service identity endorsement against the one a real CCF service wrote (genesis-14, at its
// opening, 2.13): it parses, its signature verifies with that service's key, its record re-encodes
// to the same bytes, and Coco's endorsement of the same epoch has the same protected header byte
// for byte when issued at the same second. Malformed records and messages are refused by name.

import assert from 'node:assert/strict';
import test from 'node:test';
import { fromUtf8, toHex, utf8 } from '../../src/crypto/bytes.js';
import { COSE_ALG_ES384, decodeCoseSign1, encodeCbor, signCoseSign1, verifyCoseSign1 } from '../../src/crypto/cose-sign1.js';
import { generateKeyPair, publicKeyDer } from '../../src/crypto/signing.js';
import { CocoError } from '../../src/errors.js';
import { decodeChunk } from '../../src/ledger/chunk-file.js';
import { verifyEndorsementChain } from '../../src/ledger/endorsement-chain.js';
import {
  decodeEndorsementRecord,
  encodeEndorsementRecord,
  PREVIOUS_SERVICE_IDENTITY_ENDORSEMENT_MAP,
  readEndorsementClaims,
  signIdentityEndorsement,
} from '../../src/ledger/identity-endorsement.js';
import { singletonWrite } from '../../src/ledger/signature.js';
import { parseTxId } from '../../src/ledger/tx-id.js';
import { cborTags } from '../support/cbor-tags.js';
import { realChunks } from '../support/real-ledgers.js';

const entries = realChunks('genesis-14').flatMap((chunk) => decodeChunk(chunk.bytes, chunk.name).entries);
const written = entries.flatMap((entry) => {
  const value = singletonWrite(entry.publicMaps, PREVIOUS_SERVICE_IDENTITY_ENDORSEMENT_MAP);
  return value === undefined ? [] : [{ txId: entry.txId, value }];
});
const serviceInfo = JSON.parse(fromUtf8(entries.map((entry) => singletonWrite(entry.publicMaps, 'public:ccf.gov.service.info')).filter((v) => v !== undefined).at(-1)!)) as {
  cert: string;
  current_service_create_txid: string;
};

test("CCF's endorsement of a new service's identity parses, verifies with the service key and is a self-endorsement of its epoch", () => {
  assert.deepEqual(written.map((w) => `${w.txId.view}.${w.txId.seqno}`), ['2.13'], 'written once, by the opening');
  const record = decodeEndorsementRecord(written[0]!.value);
  assert.deepEqual(record.epochBegin, parseTxId(serviceInfo.current_service_create_txid));
  assert.equal(record.epochEnd, undefined);
  assert.equal(record.previousVersion, undefined);
  assert.deepEqual(record.endorsingKey, publicKeyDer(serviceInfo.cert));
  const claims = readEndorsementClaims(record.endorsement);
  assert.deepEqual(claims.endorsedKey, record.endorsingKey, 'its payload is its own key');
  assert.equal(claims.alg, COSE_ALG_ES384);
  assert.equal(claims.epochBegin, '2.1');
  assert.equal(claims.epochEnd, undefined);
  assert.equal(claims.lastSignedRoot, undefined);
  assert.ok(verifyCoseSign1(claims.message, serviceInfo.cert), "it verifies with the service certificate's key");
  assert.deepEqual(verifyEndorsementChain(serviceInfo.cert, [record], { serviceCreateTxId: record.epochBegin }), [], 'a chain of one self-endorsement vouches for no other key');
  // The record re-encodes to CCF's bytes: the same field names, order and encodings.
  assert.equal(fromUtf8(encodeEndorsementRecord(record)), fromUtf8(written[0]!.value));
});

test("Coco's endorsement of the same epoch at the same second has CCF's protected header byte for byte, and CCF's message shape", () => {
  const real = readEndorsementClaims(decodeEndorsementRecord(written[0]!.value).endorsement);
  const key = generateKeyPair('P-384');
  const coco = signIdentityEndorsement({ serviceKey: key.privateKeyPem, endorsedKey: publicKeyDer(key.publicKeyPem), epochBegin: parseTxId(real.epochBegin), issuedAtSeconds: real.issuedAtSeconds });
  const message = decodeCoseSign1(coco, { requireTag: true });
  assert.equal(toHex(message.protectedBytes), toHex(real.message.protectedBytes));
  assert.equal(message.unprotectedHeader.size, 0);
  assert.deepEqual(message.payload, publicKeyDer(key.publicKeyPem));
  assert.equal(message.signature.length, real.message.signature.length);
  assert.deepEqual(cborTags(coco), [18], 'tagged COSE_Sign1, plain byte strings');
  // The whole message but the payload and signature lengths, which depend on the key, is CCF's shape: tag, array of 4, bstr header, empty map.
  assert.deepEqual([...coco.subarray(0, 4 + message.protectedBytes.length + 1)], [...decodeEndorsementRecord(written[0]!.value).endorsement.subarray(0, 4 + message.protectedBytes.length + 1)]);
});

test('a recovery endorsement carries the end of the epoch and its Merkle root in the "ccf.v1" map, in that order', () => {
  const key = generateKeyPair('P-384');
  const root = new Uint8Array(32).fill(7);
  const coco = signIdentityEndorsement({ serviceKey: key.privateKeyPem, endorsedKey: publicKeyDer(generateKeyPair('P-384').publicKeyPem), epochBegin: parseTxId('2.1'), epochEnd: parseTxId('4.20'), lastSignedRoot: root, issuedAtSeconds: 1_743_112_494 });
  const claims = readEndorsementClaims(coco);
  assert.deepEqual([claims.epochBegin, claims.epochEnd, claims.lastSignedRoot], ['2.1', '4.20', root]);
  const ccf = new Map<string, unknown>([['epoch.start.txid', '2.1'], ['epoch.end.txid', '4.20'], ['epoch.end.merkle.root', root]]);
  const expected = encodeCbor(new Map<number | string, unknown>([[1, COSE_ALG_ES384], [15, new Map([[6, 1_743_112_494]])], ['ccf.v1', ccf]]));
  assert.equal(toHex(claims.message.protectedBytes), toHex(expected));
});

test('malformed endorsement records and messages are refused, saying what is wrong', () => {
  const refused = (run: () => unknown, pattern: RegExp) => assert.throws(run, (e: unknown) => e instanceof CocoError && e.code === 'EndorsementMalformed' && pattern.test(e.message));
  const real = JSON.parse(fromUtf8(written[0]!.value)) as Record<string, unknown>;
  refused(() => decodeEndorsementRecord(utf8('{')), /not JSON/);
  refused(() => decodeEndorsementRecord(utf8(JSON.stringify({ ...real, endorsement_epoch_begin: '2-1' }))), /endorsement_epoch_begin "2-1" is not a TxID/);
  refused(() => decodeEndorsementRecord(utf8(JSON.stringify({ ...real, endorsing_key: 5 }))), /endorsing_key must be a string/);
  refused(() => decodeEndorsementRecord(utf8(JSON.stringify({ ...real, previous_version: -1 }))), /previous_version must be a positive seqno/);
  const key = generateKeyPair('P-384');
  const noCcfMap = signCoseSign1({ privateKey: key.privateKeyPem, protectedHeader: new Map([[15, new Map([[6, 1]])]]), payload: utf8('key') });
  refused(() => readEndorsementClaims(noCcfMap), /no "ccf.v1" map/);
  const noIat = signCoseSign1({ privateKey: key.privateKeyPem, protectedHeader: new Map([['ccf.v1', new Map([['epoch.start.txid', '2.1']])]]), payload: utf8('key') });
  refused(() => readEndorsementClaims(noIat), /no CWT claims \(15\) with an integer iat \(6\)/);
  const detached = signCoseSign1({ privateKey: key.privateKeyPem, protectedHeader: new Map<number | string, unknown>([[15, new Map([[6, 1]])], ['ccf.v1', new Map([['epoch.start.txid', '2.1']])]]), payload: utf8('key'), detached: true });
  refused(() => readEndorsementClaims(detached), /payload is empty or detached/);
});
