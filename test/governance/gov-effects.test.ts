// The governance effects' JWT key store, as CCF's set_jwt_public_signing_keys writes
// public:ccf.gov.jwt.public_signing_keys_metadata_v2 (src/node/rpc/jwt_management.h in microsoft/CCF),
// and which key of a JWK it stores.

import assert from 'node:assert/strict';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import test from 'node:test';
import { fromUtf8, utf8 } from '../../src/crypto/bytes.js';
import { Tables } from '../../src/governance/builtin-tables.js';
import { jwksPublicKeys, jwtKeysOfKid, storeIssuerPublicKeys, type JwtSigningKey } from '../../src/governance/gov-effects.js';
import { generateKeyPair } from '../../src/crypto/signing.js';
import { createSelfSignedCertificate } from '../../src/crypto/x509.js';
import { Store } from '../../src/kv/store.js';
import { ecCertificate, rsaCertificate } from '../support/idp-certificate.js';

const A = 'https://a.example';
const B = 'https://b.example';
const ED25519_CERTIFICATE_PEM = createSelfSignedCertificate({ subjectCn: 'idp', keyPair: generateKeyPair('Ed25519'), validFrom: new Date(), validityDays: 1, isCa: false });

function stored(store: Store, kid: string): string | undefined {
  const value = store.beginTransaction().map(Tables.jwtPublicSigningKeysMetadata).get(utf8(kid));
  return value === undefined ? undefined : fromUtf8(value);
}

test('storing keys writes only what changed: identical keys write nothing, a changed entry keeps its place, a dropped kid loses the issuer', () => {
  const store = new Store();
  let seqno = 0n;
  const put = (issuer: string, keys: [string, JwtSigningKey][]): boolean => {
    const tx = store.beginTransaction();
    storeIssuerPublicKeys(tx, issuer, new Map(keys));
    const wrote = tx.hasWrites;
    store.commit(tx, ++seqno);
    return wrote;
  };
  assert.equal(put(A, [['k1', { public_key: 'AQ==' }], ['k2', { public_key: 'Ag==', constraint: 'https://a.example/t' }]]), true);
  assert.equal(put(B, [['k1', { public_key: 'Aw==' }]]), true);
  // CCF's encoding: fields in name order, as in a CCF ledger.
  assert.equal(stored(store, 'k1'), '[{"issuer":"https://a.example","public_key":"AQ=="},{"issuer":"https://b.example","public_key":"Aw=="}]');
  assert.equal(stored(store, 'k2'), '[{"constraint":"https://a.example/t","issuer":"https://a.example","public_key":"Ag=="}]');

  assert.equal(put(A, [['k1', { public_key: 'AQ==' }], ['k2', { public_key: 'Ag==', constraint: 'https://a.example/t' }]]), false, 'identical keys: no write');

  assert.equal(put(A, [['k1', { public_key: 'BA==' }]]), true);
  assert.equal(stored(store, 'k1'), '[{"issuer":"https://a.example","public_key":"BA=="},{"issuer":"https://b.example","public_key":"Aw=="}]');
  assert.equal(stored(store, 'k2'), undefined);
});

test("an issuer's keys a ledger holds in CCF's legacy tables go with a rotation of its keys, not another issuer's", () => {
  const store = new Store();
  const certDer = new Uint8Array(Buffer.from(rsaCertificate(2048).x5c, 'base64'));
  const seed = store.beginTransaction();
  // As a service written before `_v2` left them: both legacy layouts, for A and for B.
  seed.map(Tables.jwtLegacyPublicSigningKeysMetadata).set(utf8('old-a'), utf8(JSON.stringify([{ issuer: A, public_key: 'AQ==' }, { issuer: B, public_key: 'Ag==' }])));
  seed.map(Tables.jwtLegacyPublicSigningKey).set(utf8('oldest-a'), certDer);
  seed.map(Tables.jwtLegacyPublicSigningKeyIssuer).set(utf8('oldest-a'), utf8(A));
  seed.map(Tables.jwtLegacyPublicSigningKeysMetadata).set(utf8('old-b'), utf8(JSON.stringify([{ issuer: B, public_key: 'Aw==' }])));
  store.commit(seed, 1n);
  const issuersOf = (kid: string) => jwtKeysOfKid(store.beginTransaction(), kid)?.map((entry) => entry.issuer);
  assert.deepEqual(issuersOf('old-a'), [A, B]);
  assert.deepEqual(issuersOf('oldest-a'), [A]);

  const tx = store.beginTransaction();
  storeIssuerPublicKeys(tx, A, new Map([['new-a', { public_key: 'BA==' }]]));
  store.commit(tx, 2n);
  assert.deepEqual(issuersOf('old-a'), [B], "A's legacy entry went, B's stayed");
  assert.equal(issuersOf('oldest-a'), undefined);
  assert.deepEqual(issuersOf('old-b'), [B]);
  assert.deepEqual(issuersOf('new-a'), [A]);
});

test("a JWK with both n/e and x5c is stored with its n/e key, as CCF's try_parse_raw_rsa comes before try_parse_x5c", () => {
  const [own, certified] = [rsaCertificate(2048), rsaCertificate(2048)];
  const keys = jwksPublicKeys({ keys: [{ ...own.jwk, kid: 'mixed', x5c: [certified.x5c] }, { kty: 'RSA', kid: 'x5c-only', x5c: [certified.x5c] }] }, A);
  assert.equal(keys.get('mixed')?.public_key, own.spkiBase64);
  assert.equal(keys.get('x5c-only')?.public_key, certified.spkiBase64);
});

test('a key set is refused whole, naming the kid, unless every key is what a proposal may register: RSA of 2048 bits or more, EC on P-256/384/521, by n/e, crv/x/y or x5c', () => {
  const rsa = rsaCertificate(2048);
  const small = rsaCertificate(1024);
  const ec = ecCertificate('secp384r1');
  const good = [{ ...rsa.jwk, kid: 'rsa' }, { kty: 'RSA', kid: 'rsa-x5c', x5c: [rsa.x5c] }, { ...ec.jwk, kid: 'ec' }, { kty: 'EC', kid: 'ec-x5c', x5c: [ec.x5c] }];
  const keys = jwksPublicKeys({ keys: good }, A);
  assert.deepEqual([...keys].map(([kid, key]) => [kid, key.public_key]), [['rsa', rsa.spkiBase64], ['rsa-x5c', rsa.spkiBase64], ['ec', ec.spkiBase64], ['ec-x5c', ec.spkiBase64]]);
  const refused: [string, Record<string, unknown>, RegExp][] = [
    ['1024-bit n/e', { ...small.jwk, kid: 'weak' }, /JWK weak is a 1024-bit RSA key: at least 2048 bits are required/],
    ['1024-bit x5c', { kty: 'RSA', kid: 'weak', x5c: [small.x5c] }, /JWK weak is a 1024-bit RSA key: at least 2048 bits are required/],
    ['Ed25519', { ...generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }), kid: 'okp' }, /JWK okp \(kty "OKP"\) has neither an RSA or EC public key nor an x5c certificate of one/],
    ['X25519', { ...generateKeyPairSync('x25519').publicKey.export({ format: 'jwk' }), kid: 'okp' }, /JWK okp \(kty "OKP"\) has neither/],
    ['Ed25519 x5c', { kty: 'OKP', kid: 'okp', x5c: [new X509Certificate(ED25519_CERTIFICATE_PEM).raw.toString('base64')] }, /JWK okp \(kty "OKP"\) has neither/],
    ['no kty', { kid: 'bare', x5c: [rsa.x5c] }, /JWK bare \(kty null\) has neither/],
    ['secp256k1', { ...generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey.export({ format: 'jwk' }), kid: 'k1' }, /JWK k1's crv "secp256k1" is not one of P-256, P-384, P-521/],
    ['crv an Object property', { ...ec.jwk, crv: 'toString', kid: 'proto' }, /JWK proto's crv "toString" is not one of P-256, P-384, P-521/],
    ['secp256k1 x5c', { kty: 'EC', kid: 'k1', x5c: [ecCertificate('secp256k1').x5c] }, /JWK k1's x5c\[0\] certificate holds an EC key on secp256k1, not one of P-256, P-384, P-521/],
    ['RSA kty, EC certificate', { kty: 'RSA', kid: 'mismatch', x5c: [ec.x5c] }, /JWK mismatch has kty "RSA" but its x5c\[0\] certificate holds no RSA key \(its key is ec\)/],
    ['EC kty, Ed25519 certificate', { kty: 'EC', kid: 'mismatch', x5c: [new X509Certificate(ED25519_CERTIFICATE_PEM).raw.toString('base64')] }, /certificate holds no EC key \(its key is ed25519\)/],
  ];
  for (const [what, jwk, reason] of refused) {
    assert.throws(() => jwksPublicKeys({ keys: [...good, jwk] }, A), reason, what);
  }
});
